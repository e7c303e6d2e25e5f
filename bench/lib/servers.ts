/**
 * The servers of one side of `npm run bench`: a Fiduciary (and, with PostgreSQL, its replicas) and
 * a Principal per fiduciary, each in its own process, started from the `bin/milagro.js` of a given
 * tree (this one, or the temporary worktree of `--compare <ref>`), over HTTP and IPFS on 127.0.0.1.
 *
 * `sample` reads, for every server of the side at one moment, the CPU its process spent and — when
 * the tree has src/accounting.ts — the CPU each component spent (MILAGRO_BENCH_ACCOUNTING=1, the
 * snapshot written on SIGUSR2). A tree without it is never sent SIGUSR2 (that would kill it): its
 * CPU comes from /proc, with no breakdown.
 * @module
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startPostgres } from '../../test/helpers/postgres.ts'
import type { TestPostgres } from '../../test/helpers/postgres.ts'

export const COMPONENTS = ['crypto', 'http', 'state', 'ipfs', 'codec'] as const
export type Component = typeof COMPONENTS[number]
const CLOCK_TICKS = 100 // Linux USER_HZ

export interface BenchOptions { plugin: string, state: 'sqlite' | 'postgres', replicas: number, homeDir: string | undefined, profileDir: string | undefined }

interface Node { home: string, url: string, child?: ChildProcess, snapshotFile?: string, seq: number }

export interface Side {
  /** "A" (this tree) or "B" (the --compare ref). */
  label: string
  /** What it runs: a path, or the ref and its commit. */
  description: string
  /** True when its servers account their CPU by component. */
  accounting: boolean
  principals: string[]
  nodes: Node[]
  pg?: TestPostgres
}

export interface Sample {
  /** CPU of every server of the side (and of PostgreSQL), ms, since it started. */
  cpuMs: number
  /** Per component, ms since it started; undefined without accounting. */
  componentMs?: Record<Component, number>
  /** Accounted calls so far, per component (all zero without accounting). */
  calls: Record<Component, number>
  /** The servers' estimate of what measuring those calls cost, ms. */
  measuringMs: number
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => { resolve(port) })
    })
  })
}

async function run (cli: string, args: string[], env: Record<string, string>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
    child.once('exit', (code) => { code === 0 ? resolve() : reject(new Error(`milagro ${args.join(' ')} exited ${code}`)) })
  })
}

export async function json (url: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const payload = await res.json() as Record<string, unknown>
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(payload)}`)
  return payload
}

/** `keyFrom`: the home of the node this one is a replica of (its custody key is copied in first). */
async function startNode (side: Side, cli: string, o: BenchOptions, name: string, args: string[], extraEnv: Record<string, string> = {}, keyFrom?: string): Promise<Node> {
  const home = mkdtempSync(path.join(o.homeDir ?? tmpdir(), `dta-bench-${side.label}-${name}-`))
  if (keyFrom !== undefined) copyFileSync(path.join(keyFrom, 'custody.key'), path.join(home, 'custody.key'))
  const port = await freePort()
  const snapshotFile = side.accounting ? path.join(home, 'accounting.json') : undefined
  const env: Record<string, string> = {
    MILAGRO_HOME: home,
    MILAGRO_HTTP_LISTENADDR: `127.0.0.1:${port}`,
    MILAGRO_HTTP_METRICSLISTENADDR: '',
    MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0',
    MILAGRO_LOG_LEVEL: 'warn',
    MILAGRO_BENCH_ACCOUNTING: snapshotFile === undefined ? '0' : '1',
    MILAGRO_BENCH_ACCOUNTING_FILE: snapshotFile ?? '',
    // BENCH_PROFILE_DIR=/tmp/prof writes a V8 CPU profile of each server when it stops.
    ...(o.profileDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${o.profileDir}` }),
    ...extraEnv,
  }
  await run(cli, ['init', '--nodename', name, '--service', o.plugin, ...args], env)
  const node: Node = { home, url: `http://127.0.0.1:${port}`, snapshotFile, seq: 0 }
  side.nodes.push(node)
  node.child = spawn(process.execPath, [cli, 'daemon'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'] })
  const deadline = Date.now() + 60_000
  for (;;) {
    try { await json(`${node.url}/v1/status`); return node } catch (err) {
      if (Date.now() > deadline || node.child.exitCode !== null) throw err
      await new Promise(r => setTimeout(r, 100))
    }
  }
}

/** Starts the servers of a side from the tree at `root` (`account` false: without the accounting switch). */
export async function startSide (label: string, root: string, description: string, o: BenchOptions, account = true): Promise<Side> {
  const cli = path.join(root, 'bin', 'milagro.js')
  const side: Side = { label, description, accounting: account && existsSync(path.join(root, 'src', 'accounting.ts')), principals: [], nodes: [] }
  try {
    side.pg = o.state === 'postgres' ? await startPostgres() : undefined
    const db = await side.pg?.createDatabase()
    const stateEnv: Record<string, string> = db === undefined ? {} : { MILAGRO_NODE_DATASTORE: 'postgres', MILAGRO_NODE_DATABASEURL: db.url, MILAGRO_NODE_DATABASEPASSWORD: db.password }
    const first = await startNode(side, cli, o, 'fid', ['--nodetype', 'fiduciary'], stateEnv)
    const fidStatus = await json(`${first.url}/v1/status`)
    const fidAddr = (fidStatus.listenAddrs as string[])[0]!
    const fiduciaries = [first]
    for (let i = 1; i < o.replicas; i++) {
      fiduciaries.push(await startNode(side, cli, o, `fid${i + 1}`, ['--nodetype', 'fiduciary', '--join', db!.url, '--peer', fidAddr], { ...stateEnv, MILAGRO_IPFS_PEERS: fidAddr }, first.home))
    }
    for (const [i, fid] of fiduciaries.entries()) {
      const peers = await Promise.all(fiduciaries.map(async f => ((await json(`${f.url}/v1/status`)).listenAddrs as string[])[0]!))
      const principal = await startNode(side, cli, o, `principal${i + 1}`, ['--nodetype', 'principal', '--masterfiduciarynode', `${String(fidStatus.nodeCID)},${fid.url}`], { MILAGRO_IPFS_PEERS: peers.join(',') })
      side.principals.push(principal.url)
    }
    return side
  } catch (err) {
    await stopSide(side)
    throw err
  }
}

export async function stopSide (side: Side): Promise<void> {
  for (const node of [...side.nodes].reverse()) {
    if (node.child !== undefined && node.child.exitCode === null) {
      node.child.kill('SIGTERM')
      await new Promise(r => node.child!.once('exit', r))
    }
    rmSync(node.home, { recursive: true, force: true })
  }
  side.nodes.length = 0
  await side.pg?.stop()
}

function procCpuMs (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS
}

/** CPU of the PostgreSQL server: every process of the cluster (postmaster, backends, writers), exited backends included via the postmaster's cutime. */
function postgresCpuMs (pg: TestPostgres | undefined): number {
  if (pg === undefined) return 0
  const pid = Number(readFileSync(path.join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
  let total = 0
  for (const task of readdirSync('/proc').filter(d => /^\d+$/.test(d))) {
    try {
      const fields = readFileSync(`/proc/${task}/stat`, 'utf8').split(') ')[1]!.split(' ')
      if (Number(task) === pid || Number(fields[1]) === pid) total += (Number(fields[11]) + Number(fields[12]) + (Number(task) === pid ? Number(fields[13]) + Number(fields[14]) : 0)) * 1000 / CLOCK_TICKS
    } catch { /* the process ended */ }
  }
  return total
}

interface Snapshot { seq: number, processCpuMs: number, componentMs: Record<Component, number>, calls: Record<Component, number>, costPerCallUs: number }

function readSnapshot (file: string): Snapshot | undefined {
  try { return JSON.parse(readFileSync(file, 'utf8')) as Snapshot } catch { return undefined }
}

/** Asks every server of the side for its snapshot (SIGUSR2) and waits for all of them (bounded). */
export async function sample (side: Side): Promise<Sample> {
  const result: Sample = { cpuMs: postgresCpuMs(side.pg), calls: Object.fromEntries(COMPONENTS.map(c => [c, 0])) as Record<Component, number>, measuringMs: 0 }
  if (!side.accounting) {
    for (const n of side.nodes) result.cpuMs += procCpuMs(n.child!.pid!)
    return result
  }
  for (const n of side.nodes) n.child!.kill('SIGUSR2')
  const componentMs = Object.fromEntries(COMPONENTS.map(c => [c, 0])) as Record<Component, number>
  const deadline = Date.now() + 20_000
  for (const n of side.nodes) {
    let s: Snapshot | undefined
    while ((s = readSnapshot(n.snapshotFile!)) === undefined || s.seq <= n.seq) {
      if (Date.now() > deadline) throw new Error(`no accounting snapshot from ${n.url} (is MILAGRO_BENCH_ACCOUNTING honoured?)`)
      await new Promise(r => setTimeout(r, 2))
    }
    n.seq = s.seq
    result.cpuMs += s.processCpuMs
    for (const c of COMPONENTS) { componentMs[c] += s.componentMs[c]; result.calls[c] += s.calls[c]; result.measuringMs += s.calls[c] * s.costPerCallUs / 1000 }
  }
  result.componentMs = componentMs
  return result
}
