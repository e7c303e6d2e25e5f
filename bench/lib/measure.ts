/**
 * Load and windows: `window` runs full order cycles (POST /v1/order then POST /v1/order/secret) at
 * a concurrency for a few seconds and reads the servers' CPU — total and by component — just before
 * and just after, when they are idle, so both figures cover the same cycles in the same processes.
 * `level` repeats windows after a discarded warm-up one, alternating the sides (A B B A A B …),
 * until each side's figure has a narrow 95% CI or the time cap is reached.
 * @module
 */
import { COMPONENTS, json, sample } from './servers.ts'
import type { Component, Sample, Side } from './servers.ts'
import { readFileSync } from 'node:fs'
import { ciHalfWidthRelative } from './stats.ts'

export interface Window {
  cycles: number
  wallS: number
  latencies: number[]
  cpuMs: number
  componentMs?: Record<Component, number>
  calls: Record<Component, number>
  measuringMs: number
  /** CPU the rest of the machine spent meanwhile (every CPU's busy time − the side's servers − this process), ms. */
  othersMs: number
}

/** Busy time of the whole machine (every CPU: all but idle and iowait), ms, from /proc/stat. */
function machineBusyMs (): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  return (f.reduce((s, x) => s + x, 0) - f[3]! - f[4]! - (f[8] ?? 0) - (f[9] ?? 0)) * 10 // USER_HZ 100; guest time is already in user
}

function ownCpuMs (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function cycle (principal: string, plugin: string): Promise<void> {
  const order = await json(`${principal}/v1/order`, { extension: plugin === 'bitcoinwallet' ? { coin: '1' } : plugin === 'safeguardsecret' ? { plainText: 'bench' } : {} })
  const ext = plugin === 'safeguardsecret' ? order.extension : undefined
  const secret = await json(`${principal}/v1/order/secret`, { orderReference: order.orderReference, extension: ext })
  if (secret.commitment !== order.commitment) throw new Error('commitment changed')
}

export async function warmUp (side: Side, plugin: string, cycles = 20): Promise<void> {
  for (let i = 0; i < cycles; i++) await cycle(side.principals[i % side.principals.length]!, plugin)
}

async function load (principals: string[], plugin: string, concurrency: number, seconds: number): Promise<number[]> {
  const latencies: number[] = []
  const end = performance.now() + seconds * 1000
  await Promise.all(Array.from({ length: concurrency }, async (_, i) => {
    while (performance.now() < end) {
      const t = performance.now()
      await cycle(principals[i % principals.length]!, plugin)
      latencies.push(performance.now() - t)
    }
  }))
  return latencies
}

function minus (a: Sample, b: Sample): Pick<Window, 'cpuMs' | 'componentMs' | 'calls' | 'measuringMs'> {
  const componentMs = a.componentMs === undefined || b.componentMs === undefined
    ? undefined
    : Object.fromEntries(COMPONENTS.map(c => [c, a.componentMs![c] - b.componentMs![c]])) as Record<Component, number>
  const calls = Object.fromEntries(COMPONENTS.map(c => [c, a.calls[c] - b.calls[c]])) as Record<Component, number>
  return { cpuMs: a.cpuMs - b.cpuMs, componentMs, calls, measuringMs: a.measuringMs - b.measuringMs }
}

export async function window (side: Side, plugin: string, concurrency: number, seconds: number): Promise<Window> {
  const before = await sample(side)
  const busy0 = machineBusyMs()
  const own0 = ownCpuMs()
  const t0 = performance.now()
  const latencies = await load(side.principals, plugin, concurrency, seconds)
  const wallS = (performance.now() - t0) / 1000
  const own = ownCpuMs() - own0
  const busy = machineBusyMs() - busy0
  const after = await sample(side)
  const delta = minus(after, before)
  return { cycles: latencies.length, wallS, latencies, ...delta, othersMs: Math.max(0, busy - delta.cpuMs - own) }
}

/** The figure a side's windows are judged by: the overhead ratio, or CPU per cycle without accounting. */
export function figure (w: Window): number {
  return w.componentMs === undefined ? w.cpuMs / w.cycles : w.cpuMs / w.componentMs.crypto
}

export interface LevelOptions { plugin: string, windowSeconds: number, minWindows: number, ci: number, capSeconds: number }

/** The kept windows of each side at one concurrency (the warm-up window of each side discarded). */
export async function level (sides: readonly Side[], concurrency: number, o: LevelOptions): Promise<Window[][]> {
  for (const side of sides) await window(side, o.plugin, concurrency, o.windowSeconds)
  const kept: Window[][] = sides.map(() => [])
  const start = performance.now()
  for (let round = 0; ; round++) {
    // A B, then B A, …: neither side always follows the other (whatever a window leaves behind —
    // a busier machine, the other side's background work — falls on both alike)
    const order = round % 2 === 0 ? [...sides.keys()] : [...sides.keys()].reverse()
    for (const i of order) kept[i]!.push(await window(sides[i]!, o.plugin, concurrency, o.windowSeconds))
    const narrow = kept.every(ws => ws.length >= o.minWindows && ciHalfWidthRelative(ws.map(figure)) <= o.ci)
    if (narrow || (performance.now() - start) / 1000 + o.windowSeconds * sides.length > o.capSeconds * sides.length) return kept
  }
}
