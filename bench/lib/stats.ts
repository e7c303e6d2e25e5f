/**
 * The few statistics `npm run bench` needs: median, percentiles, and the 95% confidence interval
 * of a mean (Student's t, the windows being few), given relative to the median.
 * @module
 */

export function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** The p-quantile of an ascending array (nearest rank). */
export function percentile (sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

// two-sided 95% Student t quantiles for 1..30 degrees of freedom
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
  2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]

/** Half-width of the 95% CI of the mean of `xs`, as a fraction of their median (Infinity below 2 values). */
export function ciHalfWidthRelative (xs: readonly number[]): number {
  const n = xs.length
  if (n < 2) return Infinity
  const mean = xs.reduce((s, x) => s + x, 0) / n
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1))
  return (T95[n - 2] ?? 1.96) * sd / Math.sqrt(n) / median(xs)
}

export interface Spread { min: number, median: number, max: number }

export function spread (xs: readonly number[]): Spread {
  return { min: Math.min(...xs), median: median(xs), max: Math.max(...xs) }
}

/** Least-squares line y = intercept + slope·x (slope 0 when every x is the same). */
export function linearFit (xs: readonly number[], ys: readonly number[]): { intercept: number, slope: number } {
  const n = xs.length
  const mx = xs.reduce((s, x) => s + x, 0) / n
  const my = ys.reduce((s, y) => s + y, 0) / n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) { sxy += (xs[i]! - mx) * (ys[i]! - my); sxx += (xs[i]! - mx) ** 2 }
  const slope = sxx === 0 ? 0 : sxy / sxx
  return { intercept: my - slope * mx, slope }
}
