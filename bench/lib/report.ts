/**
 * What `npm run bench` prints: per level, each side's figures with their spread over the windows
 * (min · median · max) and the breakdown by component, B's difference to A in % when comparing;
 * at the end, one summary line per level and side. docs/performance.md explains each number.
 * @module
 */
import { COMPONENTS } from './servers.ts'
import type { Side } from './servers.ts'
import { figure } from './measure.ts'
import type { Window } from './measure.ts'
import { ciHalfWidthRelative, linearFit, percentile, spread } from './stats.ts'
import type { Spread } from './stats.ts'

export interface Figures {
  windows: number
  cyclesPerSecond: number
  p50: number
  p99: number
  cpuPerCycle: number
  cpuSpread: Spread
  cryptoPerCycle?: number
  ratio?: Spread
  /** Half-width of the 95% CI of the judged figure (ratio, or CPU per cycle), relative. */
  ci: number
  /** ms per cycle by component, `other` = total − the rest. */
  breakdown?: Array<[string, number]>
  /** Measured calls per cycle, by component (as in `breakdown`, other's left undefined). */
  callsPerCycle: Array<number | undefined>
  /** The servers' estimate of what the measuring cost per cycle (inside `other` and the components). */
  measuringPerCycle: number
  /** The rest of the machine's CPU during the windows, in cores (0–2 here). */
  othersCores: number
  /** The windows' ratio against the others' cores, fitted to a line: its value at 0 (a quiet machine) and its slope per core. */
  quietFit?: { intercept: number, slope: number }
}

export function figures (ws: readonly Window[]): Figures {
  const cycles = ws.reduce((s, w) => s + w.cycles, 0)
  const wall = ws.reduce((s, w) => s + w.wallS, 0)
  const cpu = ws.reduce((s, w) => s + w.cpuMs, 0)
  const lat = ws.flatMap(w => w.latencies).sort((a, b) => a - b)
  const out: Figures = {
    windows: ws.length,
    cyclesPerSecond: cycles / wall,
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    cpuPerCycle: cpu / cycles,
    cpuSpread: spread(ws.map(w => w.cpuMs / w.cycles)),
    ci: ciHalfWidthRelative(ws.map(figure)),
    callsPerCycle: [...COMPONENTS.map(c => ws.reduce((s, w) => s + w.calls[c], 0) / cycles), undefined],
    measuringPerCycle: ws.reduce((s, w) => s + w.measuringMs, 0) / cycles,
    othersCores: ws.reduce((s, w) => s + w.othersMs, 0) / wall / 1000,
  }
  if (ws.every(w => w.componentMs !== undefined)) {
    const perCycle = (c: typeof COMPONENTS[number]): number => ws.reduce((s, w) => s + w.componentMs![c], 0) / cycles
    out.cryptoPerCycle = perCycle('crypto')
    out.ratio = spread(ws.map(figure))
    const parts: Array<[string, number]> = COMPONENTS.map(c => [c, perCycle(c)])
    parts.push(['other', out.cpuPerCycle - parts.reduce((s, [, v]) => s + v, 0)])
    out.breakdown = parts
    out.quietFit = linearFit(ws.map(w => w.othersMs / w.wallS / 1000), ws.map(figure))
  }
  return out
}

const COL = 40
const f2 = (x: number): string => x.toFixed(2)
const sp = (s: Spread, d = 2): string => `${s.median.toFixed(d)} [${s.min.toFixed(d)} · ${s.median.toFixed(d)} · ${s.max.toFixed(d)}]`
const pct = (b: number | undefined, a: number | undefined): string => a === undefined || b === undefined ? '' : `${b >= a ? '+' : ''}${((b / a - 1) * 100).toFixed(1)}%`

function row (name: string, cells: string[], diff = ''): void {
  console.log(`  ${name.padEnd(22)}${cells.map(c => c.padEnd(COL)).join('')}${diff}`)
}

export function printLevel (sides: readonly Side[], concurrency: number, windows: readonly Window[][], load: string): void {
  const fs = windows.map(figures)
  const cmp = fs.length === 2
  const d = (get: (f: Figures) => number | undefined): string => cmp ? pct(get(fs[1]!), get(fs[0]!)) : ''
  console.log(`\nconcurrency ${concurrency} (load average ${load})`)
  row('', sides.map((s, i) => `${s.label}: ${fs[i]!.windows} windows, CI ±${(fs[i]!.ci * 100).toFixed(1)}%`), cmp ? 'B vs A' : '')
  row('cycles/s', fs.map(f => f.cyclesPerSecond.toFixed(1)), d(f => f.cyclesPerSecond))
  row('p50 / p99 ms', fs.map(f => `${f.p50.toFixed(1)} / ${f.p99.toFixed(1)}`), d(f => f.p50))
  row('CPU ms/cycle', fs.map(f => `${f2(f.cpuPerCycle)} [${f2(f.cpuSpread.min)} · ${f2(f.cpuSpread.median)} · ${f2(f.cpuSpread.max)}]`), d(f => f.cpuPerCycle))
  row('crypto ms/cycle', fs.map(f => f.cryptoPerCycle === undefined ? 'n/a' : f2(f.cryptoPerCycle)), d(f => f.cryptoPerCycle))
  row('overhead ratio', fs.map(f => f.ratio === undefined ? 'n/a' : sp(f.ratio)), d(f => f.ratio?.median))
  for (const [i, name] of [...COMPONENTS, 'other'].entries()) {
    row(`  ${name}`, fs.map(f => {
      const part = f.breakdown?.[i]
      const calls = f.callsPerCycle[i]
      return part === undefined ? '' : `${f2(part[1])} ms/cycle (${(part[1] / f.cpuPerCycle * 100).toFixed(1)}%)${calls === undefined ? '' : `, ${calls.toFixed(0)} calls`}`
    }), d(f => f.breakdown?.[i]?.[1]))
  }
  row('ratio fitted to quiet', fs.map(f => f.quietFit === undefined ? 'n/a' : `${f2(f.quietFit.intercept)} (${f.quietFit.slope >= 0 ? '+' : ''}${f2(f.quietFit.slope)} per busy core)`), d(f => f.quietFit?.intercept))
  row('others on the machine', fs.map(f => `${f.othersCores.toFixed(2)} cores busy`))
  row('measuring ms/cycle', fs.map(f => f.breakdown === undefined ? 'n/a' : f2(f.measuringPerCycle)), d(f => f.breakdown === undefined ? undefined : f.measuringPerCycle))
}

export function printSummary (sides: readonly Side[], results: ReadonlyArray<{ concurrency: number, windows: Window[][] }>, floorMs: number): void {
  console.log('\nconcurrency side  cycles/s   p50 ms   p99 ms  CPU ms/cycle  crypto ms/cycle  overhead ratio [min · median · max]  CI      CPU ÷ floor  others (cores)')
  for (const { concurrency, windows } of results) {
    for (const [i, side] of sides.entries()) {
      const f = figures(windows[i]!)
      console.log(`${String(concurrency).padStart(11)} ${side.label.padStart(4)}  ${f.cyclesPerSecond.toFixed(1).padStart(8)}  ${f.p50.toFixed(1).padStart(7)}  ${f.p99.toFixed(1).padStart(7)}  ${f2(f.cpuPerCycle).padStart(12)}  ${(f.cryptoPerCycle === undefined ? 'n/a' : f2(f.cryptoPerCycle)).padStart(15)}  ${(f.ratio === undefined ? 'n/a' : `${f2(f.ratio.min)} · ${f2(f.ratio.median)} · ${f2(f.ratio.max)}`).padStart(35)}  ${('±' + (f.ci * 100).toFixed(1) + '%').padStart(6)}  ${(f.cpuPerCycle / floorMs).toFixed(2).padStart(11)}  ${f.othersCores.toFixed(2).padStart(14)}`)
    }
  }
}
