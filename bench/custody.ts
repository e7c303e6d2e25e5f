/**
 * Custody benchmark (prints numbers, asserts nothing):
 *   npx node bench/custody.ts [seconds per measurement, default 2] [--orders N]
 *
 * - seal and unseal of a 32-byte seed, `local` (AES-256-GCM in process) versus `pkcs11` (the same
 *   in SoftHSM2 through pkcs11js, C_EncryptInit + C_Encrypt on a worker thread), one call at a
 *   time (latency) and 64 in flight (throughput; the pkcs11 pool has 4 sessions by default);
 * - with --orders N: the time of one order (POST /v1/order, then POST /v1/order/secret) on two
 *   in-process multi nodes (milagro plugin), one with local and one with pkcs11 custody, taking
 *   turns so that machine noise hits both alike; median of N each — the difference is the latency
 *   pkcs11 custody adds per order.
 *
 * SoftHSM2 runs from a token directory in a temp folder (SOFTHSM2_CONF), removed at the end.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalKeyFile, openLocalCustody } from '../src/adapters/custody/local.ts'
import { createPkcs11Key, DEFAULT_PKCS11_MODULE, openPkcs11Custody } from '../src/adapters/custody/pkcs11/index.ts'
import type { Custody } from '../src/ports/custody.ts'

const args = process.argv.slice(2)
const ordersAt = args.indexOf('--orders')
const orders = ordersAt >= 0 ? Number(args[ordersAt + 1] ?? 50) : 0
const seconds = Number(args.find((a, i) => /^\d+(\.\d+)?$/.test(a) && args[i - 1] !== '--orders') ?? 2)
const PIN = '5432'

const dir = await mkdtemp(join(tmpdir(), 'dta-bench-custody-'))
try {
  await mkdir(join(dir, 'tokens'))
  const conf = join(dir, 'softhsm2.conf')
  await writeFile(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`)
  process.env.SOFTHSM2_CONF = conf
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', PIN, '--so-pin', '98765'], { stdio: 'ignore' })
  const hsmOptions = { module: DEFAULT_PKCS11_MODULE, tokenLabel: 'bench', keyLabel: 'bench-kek', pin: PIN }
  await createPkcs11Key(hsmOptions)
  await createLocalKeyFile(join(dir, 'local.key'))

  console.log(`custody seal/unseal of a 32-byte seed, ${seconds} s per measurement (node ${process.version}, ${process.arch})`)
  console.log('backend  op       in flight   ops/s     mean µs/op')
  for (const [name, open] of [
    ['local', async () => await openLocalCustody({ keyFile: join(dir, 'local.key') })],
    ['pkcs11', async () => await openPkcs11Custody(hsmOptions)],
  ] as Array<[string, () => Promise<Custody>]>) {
    const custody = await open()
    try {
      for (const inFlight of [1, 64]) {
        const seed = new Uint8Array(32).fill(7)
        const sealed = await custody.seal('bench/record', seed)
        for (const op of ['seal', 'unseal'] as const) {
          const call = op === 'seal'
            ? async (): Promise<unknown> => await custody.seal('bench/record', seed)
            : async (): Promise<unknown> => await custody.unseal('bench/record', sealed)
          for (let i = 0; i < 200; i++) await call() // warm up
          const { ops, elapsed } = await measure(call, inFlight, seconds)
          console.log(`${name.padEnd(8)} ${op.padEnd(8)} ${String(inFlight).padStart(9)}   ${Math.round(ops / elapsed).toString().padStart(7)}   ${(elapsed * 1e6 / ops * inFlight).toFixed(1).padStart(10)}`)
        }
      }
    } finally {
      await custody.close()
    }
  }

  if (orders > 0) await orderLatency(dir, hsmOptions, orders)
} finally {
  await rm(dir, { recursive: true, force: true })
}

/** Runs `call` with `inFlight` concurrent loops for `seconds`; returns completed calls and seconds. */
async function measure (call: () => Promise<unknown>, inFlight: number, secs: number): Promise<{ ops: number, elapsed: number }> {
  let ops = 0
  const start = performance.now()
  const deadline = start + secs * 1000
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < deadline) {
      await call()
      ops++
    }
  }))
  return { ops, elapsed: (performance.now() - start) / 1000 }
}

async function orderLatency (root: string, hsm: { module: string, tokenLabel: string, keyLabel: string, pin: string }, n: number): Promise<void> {
  const { initNode, createNode } = await import('../src/node.ts')
  console.log(`\none order + redemption on an in-process multi node (milagro plugin), local and pkcs11 nodes alternating, median of ${n}`)
  console.log('custody  order ms  secret ms  total ms')
  type Node = Awaited<ReturnType<typeof createNode>>
  const nodes: Array<[string, Node]> = []
  try {
    for (const custody of ['local', 'pkcs11'] as const) {
      const home = join(root, `home-${custody}`)
      const env = {
        MILAGRO_NODE_CUSTODY: custody,
        MILAGRO_NODE_PKCS11TOKENLABEL: hsm.tokenLabel,
        MILAGRO_NODE_PKCS11KEYLABEL: hsm.keyLabel,
        MILAGRO_NODE_PKCS11PIN: hsm.pin,
        MILAGRO_HTTP_LISTENADDR: '127.0.0.1:0',
        MILAGRO_HTTP_METRICSLISTENADDR: '',
        MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0',
        MILAGRO_LOG_LEVEL: 'error',
      }
      const config = await initNode({ home, nodeName: `bench-${custody}`, env })
      nodes.push([custody, await createNode({ home, config: { ...config, node: { ...config.node, pkcs11Pin: hsm.pin } } })])
    }
    const times = new Map(nodes.map(([name]) => [name, { order: [] as number[], secret: [] as number[] }]))
    for (let i = 0; i < n + 5; i++) {
      for (const [name, node] of i % 2 === 0 ? nodes : [...nodes].reverse()) {
        const post = async (url: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> => {
          const r = await node.app.inject({ method: 'POST', url, payload })
          if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`)
          return r.json() as Record<string, unknown>
        }
        const t0 = performance.now()
        const placed = await post('/v1/order', {})
        const t1 = performance.now()
        await post('/v1/order/secret', { orderReference: placed.orderReference })
        const t2 = performance.now()
        if (i >= 5) { times.get(name)!.order.push(t1 - t0); times.get(name)!.secret.push(t2 - t1) }
      }
    }
    const totals: Record<string, number> = {}
    for (const [name, t] of times) {
      const o = median(t.order)
      const s = median(t.secret)
      totals[name] = median(t.order.map((x, i) => x + t.secret[i]))
      console.log(`${name.padEnd(8)} ${o.toFixed(2).padStart(8)}  ${s.toFixed(2).padStart(9)}  ${totals[name].toFixed(2).padStart(8)}`)
    }
    console.log(`pkcs11 minus local: ${(totals.pkcs11 - totals.local).toFixed(2)} ms per order + redemption (medians)`)
  } finally {
    for (const [, node] of nodes) await node.stop()
  }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
