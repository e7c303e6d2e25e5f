/**
 * Content-routing benchmark (prints numbers, asserts nothing):
 *   npm run bench:dht            (or: npx node bench/dht.ts)
 *
 * Five nodes, each its own OS process, in a chain A–B–C–D–E where each is connected to its
 * neighbours only (each lists the one before it in `peers`), on 127.0.0.1:
 * - fetch across the chain: E puts a fresh 2 KiB document, A gets it; timed inside A around `get`,
 *   back to back (each put and fetch is announced 1 s later, so announcements run under the
 *   next fetches) and 1.5 s apart (they do not). Once the DHT has filled the routing tables
 *   every node is connected to every other (a lookup in a network of ≤ 20 servers visits all of
 *   them), so this is bitswap from a peer that became connected through the DHT;
 * - DHT lookup: A asks the DHT who holds a document E just put (`providers`, the whole lookup);
 * - first fetch by a newcomer: a sixth node F starts peering with A only and at once gets a
 *   document E holds — its connection to A, its self-lookup, the provider lookup, the dial to E
 *   and bitswap: the fetch a node cannot make at all without the DHT (timed inside F, and
 *   F's spawn → ready apart);
 * - idle cost, measured first: CPU time (ms per minute) and RSS of node C, with the DHT, with
 *   `contentRouting: none` (a second chain), and without the DHT but with every node listing
 *   every other (the connections the DHT makes in a small network: a third set of five), all
 *   over the same window, once the DHT's routing tables are full and before any document exists.
 *
 * Options (env): BENCH_SAMPLES (back-to-back fetches and lookups, default 200; half as many spaced), BENCH_NEWCOMERS (default 20),
 * BENCH_IDLE_SECONDS (default 60; kad-dht's own self-lookup and table refresh run every 5 min,
 * so use 330 or more to include one).
 * The same file is the child process: `bench/dht.ts child '<init json>'` runs one node and answers
 * JSON lines on stdin (put/get/providers/waitPeers/usage/stop).
 * @module
 */

import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

const SELF = fileURLToPath(import.meta.url)
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200)
const NEWCOMERS = Number(process.env.BENCH_NEWCOMERS ?? 20)
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60)
/** The pause between spaced samples: longer than the 1 s after which a document is announced. */
const GAP_MS = 1500

// ── child: one node ──────────────────────────────────────────────────────────────────────────────

async function child (init: Record<string, unknown>): Promise<void> {
  const { createHeliaDocumentStore } = await import('../src/adapters/ipfs/helia/index.ts')
  const store = createHeliaDocumentStore(init as never)
  await store.start()
  const out = (m: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(m) + '\n') }
  out({ type: 'ready', peerId: store.peerId(), multiaddrs: store.multiaddrs() })
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    const request = JSON.parse(line) as { id: number, op: string, data?: string, cid?: string, peers?: string[], count?: number }
    void (async () => {
      switch (request.op) {
        case 'put':
          return { cid: await store.put(Buffer.from(request.data ?? '', 'base64')) }
        case 'get': {
          const t = performance.now()
          await store.get(request.cid ?? '')
          return { ms: performance.now() - t }
        }
        case 'providers': {
          const t = performance.now()
          const providers = await store.providers(request.cid ?? '')
          return { ms: performance.now() - t, providers }
        }
        case 'waitPeers': {
          const deadline = performance.now() + 30_000
          while (store.connectedPeers().length < (request.count ?? 0) || !(request.peers ?? []).every(p => store.connectedPeers().includes(p))) {
            if (performance.now() > deadline) throw new Error('peers not connected in time')
            await new Promise(resolve => setTimeout(resolve, 20))
          }
          return { routingTable: store.contentRouting().routingTable }
        }
        case 'usage': {
          const cpu = process.cpuUsage()
          return { cpuMs: (cpu.user + cpu.system) / 1000, rss: process.memoryUsage().rss, routing: store.contentRouting() }
        }
        case 'stop':
          await store.stop()
          lines.close()
          return {}
        default:
          throw new Error(`unknown op ${request.op}`)
      }
    })().then(
      reply => { out({ id: request.id, ok: true, ...reply }) },
      (err: unknown) => { out({ id: request.id, ok: false, error: String(err) }) }
    )
  })
  // the parent went away: stop rather than linger
  lines.on('close', () => { void store.stop() })
}

// ── parent ───────────────────────────────────────────────────────────────────────────────────────

interface Node {
  peerId: string
  multiaddrs: string[]
  request: (op: string, args?: Record<string, unknown>) => Promise<Record<string, any>>
  kill: () => void
}

const children = new Set<ChildProcessWithoutNullStreams>()
process.once('exit', () => { for (const c of children) c.kill('SIGKILL') })

async function prepareHome (path: string): Promise<string> {
  mkdirSync(path, { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  writeFileSync(join(path, 'peer.key'), privateKeyToProtobuf(key), { mode: 0o600 })
  return peerIdFromPrivateKey(key).toString()
}

async function startNode (init: Record<string, unknown>): Promise<Node> {
  const c = spawn(process.execPath, [SELF, 'child', JSON.stringify(init)], { stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(c)
  c.once('exit', () => children.delete(c))
  let stderr = ''
  c.stderr.setEncoding('utf8')
  c.stderr.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
  const pending = new Map<number, (m: Record<string, any>) => void>()
  let ready: ((m: Record<string, any>) => void) | undefined
  const first = new Promise<Record<string, any>>((resolve, reject) => {
    ready = resolve
    c.once('exit', (code) => { reject(new Error(`node exited (${String(code)}) before it was ready:\n${stderr}`)) })
  })
  c.once('exit', () => { for (const resolve of pending.values()) resolve({ ok: false, error: `node exited:\n${stderr}` }) })
  createInterface({ input: c.stdout }).on('line', (line) => {
    const m = JSON.parse(line) as Record<string, any>
    if (m.type === 'ready') { ready?.(m); return }
    pending.get(m.id)?.(m)
    pending.delete(m.id)
  })
  const { peerId, multiaddrs } = await first
  let next = 1
  return {
    peerId,
    multiaddrs,
    kill: () => { c.kill('SIGKILL') },
    request: async (op, args = {}) => {
      const id = next++
      const reply = new Promise<Record<string, any>>(resolve => pending.set(id, resolve))
      c.stdin.write(JSON.stringify({ ...args, id, op }) + '\n')
      const m = await reply
      if (m.ok !== true) throw new Error(`${op}: ${String(m.error)}`)
      return m
    }
  }
}

interface Chain { nodes: Node[], addresses: string[] }

/**
 * Five nodes started one after the other on port 0, each listing the one before it (a connection
 * serves both ways, so each is connected to its neighbours only): no port is chosen in advance,
 * so none can be taken meanwhile by another connection's local port.
 */
async function startChain (root: string, contentRouting: 'dht' | 'none', shape: 'chain' | 'mesh' = 'chain'): Promise<Chain> {
  const nodes: Node[] = []
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    await prepareHome(join(root, name))
    const before = shape === 'mesh' ? nodes : nodes.slice(-1)
    nodes.push(await startNode({ path: join(root, name), listen: ['/ip4/127.0.0.1/tcp/0'], peers: before.map(n => n.multiaddrs[0]), fetchTimeoutMs: 10_000, contentRouting }))
  }
  await Promise.all(nodes.map(async (node, i) => node.request('waitPeers', { count: shape === 'mesh' ? 4 : i === 0 || i === 4 ? 1 : 2 })))
  return { nodes, addresses: nodes.map(n => n.multiaddrs[0]) }
}

/** Waits (bounded) until every node of a DHT chain knows the other four. */
async function settle (chain: Chain): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const sizes = await Promise.all(chain.nodes.map(async n => (await n.request('usage')).routing.routingTable as number))
    if (sizes.every(s => s === chain.nodes.length - 1)) return
    if (Date.now() > deadline) throw new Error(`routing tables did not fill: ${sizes.join(', ')}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

function percentiles (values: number[]): string {
  const sorted = values.toSorted((x, y) => x - y)
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
  return `p50 ${at(0.5).toFixed(1)} ms  p90 ${at(0.9).toFixed(1)} ms  p99 ${at(0.99).toFixed(1)} ms  (n=${values.length})`
}

const doc = (): string => randomBytes(2048).toString('base64')

async function main (): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'dta-bench-dht-'))
  try {
    console.log(`bench/dht.ts — Node ${process.version}, 5-node chain A–B–C–D–E on 127.0.0.1, 2 KiB documents`)
    const dht = await startChain(join(root, 'dht'), 'dht')
    const none = await startChain(join(root, 'none'), 'none')
    // the DHT connects every node of a small network to every other: the same mesh without it
    const mesh = await startChain(join(root, 'mesh'), 'none', 'mesh')
    await settle(dht)
    const [a, , , , e] = dht.nodes

    // first, while nothing else runs: both chains idle, the DHT's tables full
    await new Promise(resolve => setTimeout(resolve, 5000)) // the last self-lookups end
    const c = { none: none.nodes[2], mesh: mesh.nodes[2], dht: dht.nodes[2] }
    const labels = { none: 'contentRouting none, chain (2 peers)', mesh: 'contentRouting none, mesh  (4 peers)', dht: 'contentRouting dht,  chain (4 peers)' }
    const usage = async (): Promise<Record<keyof typeof c, Record<string, any>>> =>
      ({ none: await c.none.request('usage'), mesh: await c.mesh.request('usage'), dht: await c.dht.request('usage') })
    const before = await usage()
    await new Promise(resolve => setTimeout(resolve, IDLE_SECONDS * 1000))
    const after = await usage()
    for (const mode of ['none', 'mesh', 'dht'] as const) {
      const perMinute = (after[mode].cpuMs - before[mode].cpuMs) / IDLE_SECONDS * 60
      console.log(`idle node C, ${labels[mode]}: CPU ${perMinute.toFixed(1)} ms/min over ${IDLE_SECONDS} s, RSS ${(after[mode].rss / 1048576).toFixed(0)} MiB`)
    }
    for (const node of mesh.nodes) await node.request('stop')

    for (const gapMs of [0, GAP_MS]) {
      const fetches: number[] = []
      for (let i = 0; i < (gapMs === 0 ? SAMPLES : Math.ceil(SAMPLES / 2)); i++) {
        const { cid } = await e.request('put', { data: doc() })
        fetches.push((await a.request('get', { cid })).ms as number)
        await new Promise(resolve => setTimeout(resolve, gapMs))
      }
      console.log(`fetch on A of a document put on E, ${gapMs === 0 ? 'back to back:     ' : `${gapMs} ms apart:     `} ${percentiles(fetches)}`)
    }

    const lookups: number[] = []
    for (let i = 0; i < SAMPLES; i++) {
      const { cid } = await e.request('put', { data: doc() })
      const found = await a.request('providers', { cid })
      if (!(found.providers as string[]).includes(e.peerId)) throw new Error('the lookup did not name E')
      lookups.push(found.ms as number)
    }
    console.log(`DHT lookup on A (whole lookup):          ${percentiles(lookups)}`)

    const starts: number[] = []
    const firsts: number[] = []
    for (let i = 0; i < NEWCOMERS; i++) {
      const { cid } = await e.request('put', { data: doc() })
      const home = join(root, `f${i}`)
      await prepareHome(home)
      const started = performance.now()
      const f = await startNode({ path: home, listen: ['/ip4/127.0.0.1/tcp/0'], peers: [dht.addresses[0]], fetchTimeoutMs: 10_000 })
      starts.push(performance.now() - started)
      firsts.push((await f.request('get', { cid })).ms as number)
      await f.request('stop')
      f.kill()
      await new Promise(resolve => setTimeout(resolve, GAP_MS))
    }
    console.log(`newcomer F peering with A only: spawn → ready ${percentiles(starts)}`)
    console.log(`  then its first fetch of a document E holds:  ${percentiles(firsts)}`)

    for (const node of [...dht.nodes, ...none.nodes]) await node.request('stop')
  } finally {
    for (const c of children) c.kill('SIGKILL')
    rmSync(root, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'child') await child(JSON.parse(process.argv[3] ?? '{}'))
else await main()
