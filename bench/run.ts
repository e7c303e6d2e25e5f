/**
 * `npm run bench`: full order cycles (POST /v1/order then POST /v1/order/secret) against a
 * Principal and a Fiduciary running as two separate processes on this machine, over HTTP and
 * IPFS on 127.0.0.1. Prints cycles/s and p50/p99 latency at concurrency 1, 8 and 32, and the CPU
 * time both servers spent per cycle next to the "crypto floor" — the sum of the crypto operations
 * a cycle must do, measured in this same run. CPU per cycle ÷ floor is the figure we steer by.
 * Asserts nothing.
 *
 * Options (env): BENCH_SECONDS (per concurrency level, default 8), BENCH_PLUGIN (default milagro),
 * BENCH_STATE (sqlite, the default, or postgres: a throwaway PostgreSQL 15 cluster on a unix
 * socket, as the tests start it), BENCH_REPLICAS (with postgres: that many fiduciary replicas on the
 * one database, each with its own principal, the load spread over the principals; CPU counts every
 * process, the database server's included),
 * BENCH_PROFILE_DIR (write V8 CPU profiles of both servers there), BENCH_HOME_DIR (where the two
 * node homes are created, default the OS temp folder). Where the homes live matters on ext4
 * without a journal: creating a file there skips every inode freed in the last minutes, so in a
 * temp folder that other test runs keep filling and emptying, each new block file can cost
 * ~0.3–1 ms of kernel CPU instead of ~20 µs (`perf` shows it as `recently_deleted`).
 * @module
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { deriveIdentityKeys } from '../src/core/identity.ts'
import { commitmentPopSign, commitmentPopVerify, orderKeyFromSeed, secpPublicKey } from '../src/crypto/secp256k1.ts'
import { randomBytes } from '../src/crypto/random.ts'
import { openEnvelope, sealEnvelope } from '../src/envelope/envelope.ts'
import { cidV0Of } from '../src/adapters/ipfs/unixfs.ts'
import { startPostgres } from '../test/helpers/postgres.ts'
import type { TestPostgres } from '../test/helpers/postgres.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const CLI = path.join(ROOT, 'bin', 'milagro.js')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const PLUGIN = process.env.BENCH_PLUGIN ?? 'milagro'
const STATE = process.env.BENCH_STATE ?? 'sqlite'
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 1)
if (STATE !== 'sqlite' && STATE !== 'postgres') throw new Error('BENCH_STATE is sqlite or postgres')
if (!Number.isSafeInteger(REPLICAS) || REPLICAS < 1 || (REPLICAS > 1 && STATE !== 'postgres')) throw new Error('BENCH_REPLICAS is 1, or more with BENCH_STATE=postgres')
const CLOCK_TICKS = 100 // Linux USER_HZ

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

interface Node { home: string, url: string, child?: ChildProcess, env: Record<string, string> }

async function run (args: string[], env: Record<string, string>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
    child.once('exit', (code) => { code === 0 ? resolve() : reject(new Error(`milagro ${args.join(' ')} exited ${code}`)) })
  })
}

async function json (url: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const payload = await res.json() as Record<string, unknown>
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(payload)}`)
  return payload
}

/** `keyFrom`: the home of the node this one is a replica of (its custody key is copied in first). */
async function startNode (name: string, args: string[], extraEnv: Record<string, string> = {}, keyFrom?: string): Promise<Node> {
  const home = mkdtempSync(path.join(process.env.BENCH_HOME_DIR ?? tmpdir(), `dta-bench-${name}-`))
  if (keyFrom !== undefined) copyFileSync(path.join(keyFrom, 'custody.key'), path.join(home, 'custody.key'))
  const port = await freePort()
  const env = {
    MILAGRO_HOME: home,
    MILAGRO_HTTP_LISTENADDR: `127.0.0.1:${port}`,
    MILAGRO_HTTP_METRICSLISTENADDR: '',
    MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0',
    MILAGRO_LOG_LEVEL: 'warn',
    // BENCH_PROFILE_DIR=/tmp/prof writes a V8 CPU profile of each server when it stops.
    ...(process.env.BENCH_PROFILE_DIR === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}` }),
    ...extraEnv,
  }
  await run(['init', '--nodename', name, '--service', PLUGIN, ...args], env)
  const node: Node = { home, url: `http://127.0.0.1:${port}`, env }
  node.child = spawn(process.execPath, [CLI, 'daemon'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'] })
  const deadline = Date.now() + 30_000
  for (;;) {
    try { await json(`${node.url}/v1/status`); return node } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise(r => setTimeout(r, 100))
    }
  }
}

function cpuMs (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS
}

/** CPU of the PostgreSQL server: every process of the cluster (postmaster, backends, writers), exited backends included via the postmaster's cutime. */
function postgresCpuMs (pg: TestPostgres | undefined): number {
  if (pg === undefined) return 0
  const pid = Number(readFileSync(path.join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
  let total = 0
  for (const task of readdirSync('/proc').filter(d => /^\d+$/.test(d))) {
    try {
      const fields = readFileSync(`/proc/${task}/stat`, 'utf8').split(') ')[1].split(' ')
      if (Number(task) === pid || Number(fields[1]) === pid) total += (Number(fields[11]) + Number(fields[12]) + (Number(task) === pid ? Number(fields[13]) + Number(fields[14]) : 0)) * 1000 / CLOCK_TICKS
    } catch { /* the process ended */ }
  }
  return total
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

async function cycle (principal: string): Promise<void> {
  const order = await json(`${principal}/v1/order`, { extension: PLUGIN === 'bitcoinwallet' ? { coin: '1' } : PLUGIN === 'safeguardsecret' ? { plainText: 'bench' } : {} })
  const ext = PLUGIN === 'safeguardsecret' ? order.extension : undefined
  const secret = await json(`${principal}/v1/order/secret`, { orderReference: order.orderReference, extension: ext })
  if (secret.commitment !== order.commitment) throw new Error('commitment changed')
}

async function load (principals: string[], concurrency: number, seconds: number): Promise<number[]> {
  const latencies: number[] = []
  const end = performance.now() + seconds * 1000
  await Promise.all(Array.from({ length: concurrency }, async (_, i) => {
    while (performance.now() < end) {
      const t = performance.now()
      await cycle(principals[i % principals.length]!)
      latencies.push(performance.now() - t)
    }
  }))
  return latencies
}

/** µs per call of `fn`, after a warm-up, over at least `ms` milliseconds. */
function time (fn: () => unknown, ms = 400): number {
  for (let i = 0; i < 5; i++) fn()
  let n = 0
  const start = performance.now()
  while (performance.now() - start < ms) { fn(); n++ }
  return (performance.now() - start) * 1000 / n
}

async function cryptoFloor (): Promise<{ total: number, parts: Array<[string, number, number]> }> {
  const a = deriveIdentityKeys(randomBytes(32)); const b = deriveIdentityKeys(randomBytes(32))
  const aCid = 'QmBenchPrincipal00000000000000000000000000000'; const bCid = 'QmBenchFiduciary00000000000000000000000000000'
  const body = randomBytes(700)
  const seal = (): Uint8Array => sealEnvelope({ signer: { cid: aCid, secretKey: a.bls }, encryptedBodyType: 2, encryptedBody: body, recipients: [{ cid: aCid, kemPublicKey: a.kemPublicKey }, { cid: bCid, kemPublicKey: b.kemPublicKey }] })
  const sealed = seal()
  const seed = randomBytes(32)
  const key = orderKeyFromSeed(seed)
  const pop = commitmentPopSign(key.privateKey, { reference: 'ref', part1CID: aCid, plugin: PLUGIN })
  let cidUs = 0
  { const t = performance.now(); for (let i = 0; i < 200; i++) await cidV0Of(sealed); cidUs = (performance.now() - t) * 1000 / 200 }
  // What one cycle does: 4 parts sealed (2 recipients) and opened once by their reader, the order key
  // derived once (by the fiduciary, for the commitment) and checked once (by the recipient of part 4:
  // its public key from the released private key), one PoP signed and verified, and each of the 4
  // parts hashed to its CID by its writer and by its reader.
  const parts: Array<[string, number, number]> = [
    ['seal+sign, 2 recipients', time(seal), 4],
    ['open+verify as recipient', time(() => openEnvelope(sealed, { signer: { cid: aCid, blsPublicKey: a.blsPublicKey }, recipient: { cid: bCid, kemSecretKey: b.kem } })), 4],
    ['order key from seed', time(() => orderKeyFromSeed(seed)), 1],
    ['released key checked', time(() => secpPublicKey(key.privateKey)), 1],
    ['commitment PoP sign', time(() => commitmentPopSign(key.privateKey, { reference: 'ref', part1CID: aCid, plugin: PLUGIN })), 1],
    ['commitment PoP verify', time(() => commitmentPopVerify(key.publicKey, { reference: 'ref', part1CID: aCid, plugin: PLUGIN }, pop)), 1],
    ['CIDv0 of a part', cidUs, 8],
  ]
  return { total: parts.reduce((sum, [, us, n]) => sum + us * n, 0) / 1000, parts }
}

async function main (): Promise<void> {
  console.log(`D-TA full-cycle benchmark: plugin ${PLUGIN}, state ${STATE}${STATE === 'postgres' ? `, ${REPLICAS} fiduciary replica(s)` : ''}, ${SECONDS} s per level, Node ${process.version}, every server in its own process`)
  const pg = STATE === 'postgres' ? await startPostgres() : undefined
  const nodes: Node[] = []
  try {
    const db = await pg?.createDatabase()
    const stateEnv: Record<string, string> = db === undefined ? {} : { MILAGRO_NODE_DATASTORE: 'postgres', MILAGRO_NODE_DATABASEURL: db.url, MILAGRO_NODE_DATABASEPASSWORD: db.password }
    const first = await startNode('fid', ['--nodetype', 'fiduciary'], stateEnv)
    nodes.push(first)
    const fidStatus = await json(`${first.url}/v1/status`)
    const fidAddr = (fidStatus.listenAddrs as string[])[0]!
    const fiduciaries = [first]
    for (let i = 1; i < REPLICAS; i++) {
      const replica = await startNode(`fid${i + 1}`, ['--nodetype', 'fiduciary', '--join', db!.url, '--peer', fidAddr], { ...stateEnv, MILAGRO_IPFS_PEERS: fidAddr }, first.home)
      nodes.push(replica)
      fiduciaries.push(replica)
    }
    const principals: Node[] = []
    for (const [i, fid] of fiduciaries.entries()) {
      const peers = await Promise.all(fiduciaries.map(async f => ((await json(`${f.url}/v1/status`)).listenAddrs as string[])[0]!))
      const principal = await startNode(`principal${i + 1}`, ['--nodetype', 'principal', '--masterfiduciarynode', `${String(fidStatus.nodeCID)},${fid.url}`], { MILAGRO_IPFS_PEERS: peers.join(',') })
      nodes.push(principal)
      principals.push(principal)
    }
    const urls = principals.map(p => p.url)
    for (let i = 0; i < 20; i++) await cycle(urls[i % urls.length]!)
    const floor = await cryptoFloor()
    const cpuNow = (): number => nodes.reduce((sum, n) => sum + cpuMs(n.child!.pid!), 0) + postgresCpuMs(pg)
    console.log(`\nconcurrency  cycles/s   p50 ms   p99 ms   CPU ms/cycle (${STATE === 'postgres' ? 'all servers + PostgreSQL' : 'principal + fiduciary'})   ÷ crypto floor`)
    for (const c of [1, 8, 32]) {
      const cpu0 = cpuNow()
      const t0 = performance.now()
      const lat = await load(urls, c, SECONDS)
      const wall = (performance.now() - t0) / 1000
      const cpu = cpuNow() - cpu0
      lat.sort((x, y) => x - y)
      const perCycle = cpu / lat.length
      console.log(`${String(c).padStart(11)}  ${(lat.length / wall).toFixed(1).padStart(8)}  ${percentile(lat, 0.5).toFixed(1).padStart(7)}  ${percentile(lat, 0.99).toFixed(1).padStart(7)}  ${perCycle.toFixed(2).padStart(38)}  ${(perCycle / floor.total).toFixed(2).padStart(14)}`)
    }
    console.log(`\ncrypto floor per cycle: ${floor.total.toFixed(2)} ms`)
    for (const [name, us, n] of floor.parts) console.log(`  ${name.padEnd(28)} ${us.toFixed(1).padStart(8)} µs × ${n}`)
  } finally {
    for (const node of nodes.reverse()) {
      if (node.child !== undefined && node.child.exitCode === null) {
        node.child.kill('SIGTERM')
        await new Promise(r => node.child!.once('exit', r))
      }
      rmSync(node.home, { recursive: true, force: true })
    }
    await pg?.stop()
  }
}

await main()
