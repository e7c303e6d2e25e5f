/**
 * `npm run bench [-- --compare <git-ref>]`: full order cycles (POST /v1/order then POST
 * /v1/order/secret) against a Principal and a Fiduciary running as two separate processes on this
 * machine, over HTTP and IPFS on 127.0.0.1, at concurrency 1, 8 and 32. How to read what it prints:
 * docs/performance.md.
 *
 * The figure we steer by is the overhead ratio: the CPU both servers spent per cycle ÷ the crypto
 * CPU they spent per cycle, both taken inside the same server processes over the same windows (the
 * servers run with MILAGRO_BENCH_ACCOUNTING=1, src/accounting.ts), with the breakdown by component.
 * Each level runs windows of BENCH_WINDOW seconds after a discarded warm-up window until the 95% CI
 * of the ratio is within ±BENCH_CI of its median (at least BENCH_MIN_WINDOWS windows) or the level
 * has run BENCH_SECONDS. The micro-benchmark crypto floor (bench/lib/floor.ts) is the second line:
 * the minimum of short samples taken between the levels. Asserts nothing.
 *
 * `--compare <ref>` checks the ref out in a temporary git worktree (node_modules linked from this
 * one), starts its servers beside this tree's, alternates windows between the two at every level
 * and prints both with the difference; the worktree is removed at the end. A ref without
 * src/accounting.ts is compared on CPU per cycle only.
 *
 * Options (env): BENCH_SECONDS (cap per level, default 90), BENCH_WINDOW (seconds, default 5),
 * BENCH_MIN_WINDOWS (default 6), BENCH_CI (default 0.025), BENCH_LEVELS (default 1,8,32),
 * BENCH_PLUGIN (default milagro), BENCH_STATE (sqlite, the default, or postgres: a throwaway
 * PostgreSQL 15 cluster on a unix socket, as the tests start it), BENCH_REPLICAS (with postgres:
 * that many fiduciary replicas on the one database, each with its own principal, the load spread
 * over the principals; CPU counts every process, the database server's included),
 * BENCH_PROFILE_DIR (write V8 CPU profiles of the servers there), BENCH_HOME_DIR (where the node
 * homes are created, default the OS temp folder), BENCH_JSON (write every kept window there, as JSON). Where the homes live matters on ext4 without a
 * journal: creating a file there skips every inode freed in the last minutes, so in a temp folder
 * that other test runs keep filling and emptying, each new block file can cost ~0.3–1 ms of kernel
 * CPU instead of ~20 µs (`perf` shows it as `recently_deleted`).
 * @module
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { floorMin, floorSample, floorTotal } from './lib/floor.ts'
import type { FloorPart } from './lib/floor.ts'
import { level, warmUp } from './lib/measure.ts'
import type { Window } from './lib/measure.ts'
import { startSide, stopSide } from './lib/servers.ts'
import type { BenchOptions, Side } from './lib/servers.ts'
import { printLevel, printSummary } from './lib/report.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

function numberEnv (name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`)
  return v
}

const options: BenchOptions = {
  plugin: process.env.BENCH_PLUGIN ?? 'milagro',
  state: (process.env.BENCH_STATE ?? 'sqlite') as BenchOptions['state'],
  replicas: Number(process.env.BENCH_REPLICAS ?? 1),
  homeDir: process.env.BENCH_HOME_DIR,
  profileDir: process.env.BENCH_PROFILE_DIR,
}
if (options.state !== 'sqlite' && options.state !== 'postgres') throw new Error('BENCH_STATE is sqlite or postgres')
if (!Number.isSafeInteger(options.replicas) || options.replicas < 1 || (options.replicas > 1 && options.state !== 'postgres')) throw new Error('BENCH_REPLICAS is 1, or more with BENCH_STATE=postgres')
const levelOptions = {
  plugin: options.plugin,
  capSeconds: numberEnv('BENCH_SECONDS', 90),
  windowSeconds: numberEnv('BENCH_WINDOW', 5),
  minWindows: numberEnv('BENCH_MIN_WINDOWS', 6),
  ci: numberEnv('BENCH_CI', 0.025),
}
const LEVELS = (process.env.BENCH_LEVELS ?? '1,8,32').split(',').map(Number)
if (LEVELS.some(c => !Number.isSafeInteger(c) || c < 1)) throw new Error('BENCH_LEVELS is a comma-separated list of concurrencies')

function compareRef (argv: string[]): string | undefined {
  const i = argv.indexOf('--compare')
  if (i === -1) return undefined
  const ref = argv[i + 1]
  if (ref === undefined || ref.startsWith('-')) throw new Error('--compare needs a git ref')
  return ref
}

function git (args: string[], cwd = ROOT): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

/** A temporary worktree of `ref` with this tree's node_modules; `remove` deletes it. */
function checkout (ref: string): { dir: string, commit: string, remove: () => void } {
  const commit = git(['rev-parse', '--verify', `${ref}^{commit}`])
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'dta-bench-compare-')), 'tree')
  git(['worktree', 'add', '--detach', dir, commit])
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'))
  return {
    dir,
    commit,
    remove: () => {
      try { git(['worktree', 'remove', '--force', dir]) } finally { rmSync(path.dirname(dir), { recursive: true, force: true }); git(['worktree', 'prune']) }
    },
  }
}

function loadAverage (): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
}

async function main (): Promise<void> {
  const ref = compareRef(process.argv.slice(2))
  const head = git(['rev-parse', '--short', 'HEAD'])
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) === '' ? '' : ' + uncommitted changes'
  console.log(`D-TA full-cycle benchmark: plugin ${options.plugin}, state ${options.state}${options.state === 'postgres' ? `, ${options.replicas} fiduciary replica(s)` : ''}, Node ${process.version}, every server in its own process`)
  console.log(`windows of ${levelOptions.windowSeconds} s after 1 warm-up window, until the 95% CI of the overhead ratio is within ±${(levelOptions.ci * 100).toFixed(1)}% of its median (at least ${levelOptions.minWindows} windows) or ${levelOptions.capSeconds} s per level${ref === undefined ? '' : ' per side'}`)
  console.log(`load average at the start: ${loadAverage()}`)
  const tree = ref === undefined ? undefined : checkout(ref)
  const sides: Side[] = []
  const floorSamples: FloorPart[][] = []
  try {
    sides.push(await startSide('A', ROOT, `this tree (${head}${dirty})`, options))
    if (tree !== undefined) sides.push(await startSide('B', tree.dir, `${ref} (${tree.commit.slice(0, 7)})`, options))
    for (const side of sides) {
      console.log(`${side.label}: ${side.description}${side.accounting ? '' : ' — no CPU accounting in that tree: CPU per cycle only'}`)
      await warmUp(side, options.plugin)
    }
    floorSamples.push(await floorSample(options.plugin))
    const results: Array<{ concurrency: number, windows: Window[][] }> = []
    for (const c of LEVELS) {
      const windows = await level(sides, c, levelOptions)
      results.push({ concurrency: c, windows })
      printLevel(sides, c, windows, loadAverage())
      floorSamples.push(await floorSample(options.plugin))
    }
    const floor = floorMin(floorSamples)
    printSummary(sides, results, floorTotal(floor))
    if (process.env.BENCH_JSON !== undefined) {
      writeFileSync(process.env.BENCH_JSON, JSON.stringify({ sides: sides.map(s => ({ label: s.label, description: s.description, accounting: s.accounting })), floor, levels: results.map(r => ({ concurrency: r.concurrency, windows: r.windows.map(ws => ws.map(w => ({ ...w, latencies: undefined }))) })) }, null, 1))
    }
    console.log(`\nmicro-benchmark crypto floor (this tree, in the bench process, min of ${floorSamples.length} samples taken between the levels): ${floorTotal(floor).toFixed(2)} ms per cycle`)
    for (const [name, us, n] of floor) console.log(`  ${name.padEnd(28)} ${us.toFixed(1).padStart(8)} µs × ${n}`)
    console.log(`load average at the end: ${loadAverage()}`)
  } finally {
    for (const side of sides.reverse()) await stopSide(side)
    tree?.remove()
  }
}

await main()
