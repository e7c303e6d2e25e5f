/**
 * Bench-only CPU accounting (issue 17, docs/performance.md): with MILAGRO_BENCH_ACCOUNTING=1 in a
 * server's environment, the synchronous operations wrapped with `accounted(component, fn)` — the
 * crypto primitives, protobuf and JSON, the SQLite calls, the block writes, the HTTP dispatch — add
 * the CPU they take to their component, so `npm run bench` can divide the CPU both servers spent by
 * the crypto CPU they spent, in the same processes over the same moments.
 *
 * Zero cost when off: the switch is read once, when this module loads, and `accounted` then returns
 * the function it was given (no wrapper, no signal handler, no snapshot). A leaf module (like
 * errors.ts), so the crypto layer can import it.
 *
 * How a call is measured: `process.cpuUsage()` before and after, capped at the `performance.now()` wall
 * time of the call. On Linux getrusage(RUSAGE_SELF) brings the calling thread's own runtime up to
 * date (precise to the µs) but the process's other threads (V8's GC helpers, the libuv pool) only at
 * their last tick, so a call can be credited a lump of another thread's time; capping at the wall
 * time bounds that, and the cpuUsage part keeps out the time the thread was preempted (which
 * performance.now() alone would count — on a loaded 2-core machine, often). RUSAGE_THREAD
 * (process.threadCpuUsage) is not precise here: it moves only at ticks. The clock reads cost ~1–5 µs
 * a call (a syscall; more on a loaded VM), timed at start-up and reported (`costPerCallUs`), so the
 * bench can say how much of `other` is the measuring itself.
 *
 * Nesting does not double count: the wrappers keep a stack, and an inner call's time is subtracted
 * from its caller's (a call of the component already on top of the stack is not measured again:
 * hpkeSeal's AES-GCM is crypto inside crypto). Only synchronous functions may be wrapped: a wrapper
 * around an async function would count only the part before its first await.
 *
 * The snapshot: with MILAGRO_BENCH_ACCOUNTING_FILE set too, SIGUSR2 writes the totals as JSON to
 * that file (written to a temporary name, then renamed), with the process's whole CPU taken at the
 * same moment. Public numbers only.
 * @module
 */
import { renameSync, writeFileSync } from 'node:fs'

export const COMPONENTS = ['crypto', 'http', 'state', 'ipfs', 'codec'] as const
export type Component = typeof COMPONENTS[number]

/** True when this process accounts its CPU (MILAGRO_BENCH_ACCOUNTING=1 when the module loaded). */
export const ACCOUNTING_ON: boolean = process.env.MILAGRO_BENCH_ACCOUNTING === '1'

export interface AccountingSnapshot {
  /** Increases by one at every snapshot written. */
  seq: number
  pid: number
  /** process.cpuUsage() (every thread, user + system) at the snapshot, ms. */
  processCpuMs: number
  /** Per component: CPU ms of its own (its nested components' time not included). */
  componentMs: Record<Component, number>
  /** How many measured calls each component had. */
  calls: Record<Component, number>
  /** What measuring one call costs in this process (its clock reads, timed at start-up), µs. */
  costPerCallUs: number
}

const INDEX: Record<Component, number> = { crypto: 0, http: 1, state: 2, ipfs: 3, codec: 4 }
const selfUs = new Float64Array(COMPONENTS.length)
const callCount = new Float64Array(COMPONENTS.length)
// the stack: component index and the time the calls nested in that frame took, per depth
const stackComponent = new Int8Array(64)
const stackChildUs = new Float64Array(64)
let depth = 0

function cpuUs (): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

function measured<A extends unknown[], R> (index: number, fn: (this: unknown, ...args: A) => R): (this: unknown, ...args: A) => R {
  return function (this: unknown, ...args: A): R {
    if (depth > 0 && stackComponent[depth - 1] === index) return fn.apply(this, args)
    if (depth >= stackComponent.length) return fn.apply(this, args) // pathological recursion: the caller's frame keeps it
    const d = depth++
    stackComponent[d] = index
    stackChildUs[d] = 0
    const wall0 = performance.now()
    const cpu0 = cpuUs()
    try {
      return fn.apply(this, args)
    } finally {
      const spent = Math.min(cpuUs() - cpu0, (performance.now() - wall0) * 1000)
      depth = d
      selfUs[index]! += Math.max(0, spent - stackChildUs[d]!)
      callCount[index]!++
      if (d > 0) stackChildUs[d - 1]! += spent
    }
  }
}

/**
 * `fn`, accounted to `component` when the switch is on; `fn` itself when it is off. For
 * synchronous functions only (see the module comment).
 */
export function accounted<F extends (...args: never[]) => unknown> (component: Component, fn: F): F {
  if (!ACCOUNTING_ON) return fn
  return measured(INDEX[component], fn as unknown as (...args: unknown[]) => unknown) as unknown as F
}

let seq = 0

/** The totals so far (also when off: all zero). */
export function accountingSnapshot (): AccountingSnapshot {
  const componentMs = {} as Record<Component, number>
  const calls = {} as Record<Component, number>
  for (const c of COMPONENTS) {
    componentMs[c] = selfUs[INDEX[c]]! / 1000
    calls[c] = callCount[INDEX[c]]!
  }
  return { seq, pid: process.pid, processCpuMs: cpuUs() / 1000, componentMs, calls, costPerCallUs }
}

/**
 * The clock reads of one measured call (two of each): the least of 5 rounds of 400, each timed
 * like a call (CPU capped at wall), so a start-up on a busy machine does not inflate it.
 */
function calibrate (): number {
  let best = Infinity
  let sink = 0
  for (let round = 0; round < 5; round++) {
    const wall0 = performance.now()
    const cpu0 = cpuUs()
    for (let i = 0; i < 400; i++) sink += cpuUs() + performance.now() + cpuUs() + performance.now()
    best = Math.min(best, Math.min(cpuUs() - cpu0, (performance.now() - wall0) * 1000) / 400)
  }
  return sink === -1 ? 0 : best
}

/** Writes the snapshot to `file` (temporary name, then rename, so a reader never sees half of it). */
export function writeAccountingSnapshot (file: string): void {
  seq++
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(accountingSnapshot()))
  renameSync(tmp, file)
}

/** Patches JSON.parse/stringify (only when on): every JSON encode and decode of the process is codec. */
function accountJson (): void {
  JSON.parse = accounted('codec', JSON.parse)
  JSON.stringify = accounted('codec', JSON.stringify)
}

let costPerCallUs = 0
const FILE = process.env.MILAGRO_BENCH_ACCOUNTING_FILE
if (ACCOUNTING_ON) {
  costPerCallUs = calibrate()
  accountJson()
  if (FILE !== undefined && FILE !== '') {
    process.on('SIGUSR2', () => {
      try { writeAccountingSnapshot(FILE) } catch { /* the bench sees no new snapshot and says so */ }
    })
  }
}
