/**
 * IPFS document store benchmark (prints numbers, asserts nothing):
 *   npx node bench/ipfs.ts [samples]
 *
 * - cross-process first-fetch latency of a 2 KiB document (the size of an order envelope): node A
 *   puts a fresh document, node B (another OS process, already connected over 127.0.0.1) gets it;
 *   the time is measured inside B around `get`. Repeated for several bitswap want-list debounces,
 *   Helia's default (10 ms) first. A D-TA order makes several such fetches in sequence.
 * - node start-up: process spawn → ready, and `start()` alone; idle RSS of a started node.
 * - the cost of importing the `helia` entry point versus the adapter (which avoids it).
 *
 * The same file is the child process: `bench/ipfs.ts child '<init json>'` runs one node and answers
 * JSON lines on stdin (put/get/waitPeers/rss/stop).
 * @module
 */

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const SELF = fileURLToPath(import.meta.url)

if (process.argv[2] === 'child') await child(JSON.parse(process.argv[3] ?? '{}'))
else if (process.argv[2] === 'import-cost') await importCost(process.argv[3] ?? '')
else await main(Number(process.argv[2] ?? 300))

// ── child: one node ──────────────────────────────────────────────────────────────────────────────

async function child (init: Record<string, unknown>): Promise<void> {
  const { createHeliaDocumentStore } = await import('../src/adapters/ipfs/helia/index.ts')
  const store = createHeliaDocumentStore(init as never)
  const started = performance.now()
  await store.start()
  const startMs = performance.now() - started
  const out = (m: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(m) + '\n') }
  out({ type: 'ready', peerId: store.peerId(), multiaddrs: store.multiaddrs(), startMs, sinceProcessStartMs: performance.now() })
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    const request = JSON.parse(line) as { id: number, op: string, data?: string, cid?: string, peers?: string[] }
    void (async () => {
      switch (request.op) {
        case 'put': {
          const t = performance.now()
          const cid = await store.put(Buffer.from(request.data ?? '', 'base64'))
          return { cid, ms: performance.now() - t }
        }
        case 'get': {
          const t = performance.now()
          const bytes = await store.get(request.cid ?? '')
          return { ms: performance.now() - t, length: bytes.length }
        }
        case 'waitPeers':
          while (!(request.peers ?? []).every(p => store.connectedPeers().includes(p))) await new Promise(resolve => setTimeout(resolve, 10))
          return {}
        case 'rss':
          return { rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed }
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
}

async function importCost (which: string): Promise<void> {
  const t = performance.now()
  if (which === 'helia') await import('helia')
  else await import('../src/adapters/ipfs/helia/index.ts')
  const { createHeliaDocumentStore } = await import('../src/adapters/ipfs/helia/index.ts')
  void createHeliaDocumentStore
  process.stdout.write(JSON.stringify({ ms: performance.now() - t, rss: process.memoryUsage().rss }) + '\n')
}

// ── parent ───────────────────────────────────────────────────────────────────────────────────────

interface Child {
  ready: Record<string, unknown>
  spawnToReadyMs: number
  call (op: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>
  done: Promise<void>
}

async function spawnNode (init: Record<string, unknown>): Promise<Child> {
  const t = performance.now()
  const proc = spawn(process.execPath, [SELF, 'child', JSON.stringify(init)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const pending = new Map<number, (m: Record<string, unknown>) => void>()
  let id = 0
  let onReady: (m: Record<string, unknown>) => void = () => {}
  const ready = new Promise<Record<string, unknown>>(resolve => { onReady = resolve })
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const m = JSON.parse(line) as Record<string, unknown>
    if (m.type === 'ready') onReady(m)
    else pending.get(m.id as number)?.(m)
  })
  const done = new Promise<void>(resolve => proc.once('exit', () => { resolve() }))
  const readyMessage = await ready
  return {
    ready: readyMessage,
    spawnToReadyMs: performance.now() - t,
    done,
    async call (op, args = {}) {
      const n = ++id
      const reply = new Promise<Record<string, unknown>>(resolve => pending.set(n, resolve))
      proc.stdin.write(JSON.stringify({ ...args, id: n, op }) + '\n')
      const m = await reply
      if (m.ok !== true) throw new Error(String(m.error))
      return m
    }
  }
}

function stats (values: number[]): string {
  const sorted = values.toSorted((x, y) => x - y)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  const mean = values.reduce((s, v) => s + v, 0) / values.length
  return `p50 ${at(0.5).toFixed(2)} ms  p90 ${at(0.9).toFixed(2)} ms  p99 ${at(0.99).toFixed(2)} ms  mean ${mean.toFixed(2)} ms  (n=${values.length})`
}

async function main (samples: number): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'dta-bench-ipfs-'))
  let run = 0
  const node = async (extra: Record<string, unknown>): Promise<Child> => spawnNode({
    path: join(home, `n${run++}`), listen: ['/ip4/127.0.0.1/tcp/0'], peers: [], fetchTimeoutMs: 10_000, ...extra
  })
  try {
    console.log(`IPFS document store benchmark — Node ${process.version}, ${samples} samples per setting\n`)

    console.log('first fetch of a 2 KiB document from another process (already connected, 127.0.0.1):')
    for (const debounce of [10, 5, 1, 0]) {
      const a = await node({ wantlistDebounceMs: debounce })
      const b = await node({ wantlistDebounceMs: debounce, peers: a.ready.multiaddrs })
      await b.call('waitPeers', { peers: [a.ready.peerId] })
      const times: number[] = []
      for (let i = 0; i < samples + 20; i++) {
        const { cid } = await a.call('put', { data: randomBytes(2048).toString('base64') })
        const { ms } = await b.call('get', { cid })
        if (i >= 20) times.push(ms as number) // the first 20 warm up the JIT and the streams
      }
      const label = debounce === 10 ? 'want-list debounce 10 ms (Helia default)' : `want-list debounce ${debounce} ms`
      console.log(`  ${label.padEnd(42)} ${stats(times)}`)
      await a.call('stop')
      await b.call('stop')
      await Promise.all([a.done, b.done])
    }

    console.log('\nnode start-up and memory:')
    const spawnTimes: number[] = []
    const startTimes: number[] = []
    for (let i = 0; i < 5; i++) {
      const n = await node({})
      spawnTimes.push(n.spawnToReadyMs)
      startTimes.push(n.ready.startMs as number)
      if (i === 4) {
        await new Promise(resolve => setTimeout(resolve, 2000))
        const { rss, heapUsed } = await n.call('rss')
        console.log(`  idle RSS of a started node after 2 s: ${((rss as number) / 2 ** 20).toFixed(0)} MiB (heap used ${((heapUsed as number) / 2 ** 20).toFixed(0)} MiB)`)
      }
      await n.call('stop')
      await n.done
    }
    console.log(`  process spawn → ready (Node boot + imports + start): ${stats(spawnTimes)}`)
    console.log(`  start() alone (key, blockstore, datastore, libp2p listen): ${stats(startTimes)}`)

    console.log('\nimport cost (separate processes):')
    for (const which of ['adapter', 'helia']) {
      const results: Array<{ ms: number, rss: number }> = []
      for (let i = 0; i < 3; i++) {
        const proc = spawn(process.execPath, [SELF, 'import-cost', which], { stdio: ['ignore', 'pipe', 'inherit'] })
        let text = ''
        proc.stdout.on('data', (c: Buffer) => { text += c.toString() })
        await new Promise(resolve => proc.once('exit', resolve))
        results.push(JSON.parse(text) as { ms: number, rss: number })
      }
      const label = which === 'helia' ? "import('helia') entry point + adapter" : 'adapter only (Helia class module)'
      console.log(`  ${label.padEnd(40)} ${stats(results.map(r => r.ms))}  RSS ${(results[0].rss / 2 ** 20).toFixed(0)} MiB`)
    }
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}
