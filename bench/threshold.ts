/**
 * `npm run bench:threshold`: the cost of threshold custody (docs/threshold.md). For (t, n) =
 * (2, 3) and (3, 5), n fiduciary daemons and one principal daemon as separate processes on
 * 127.0.0.1 (the e2e harness, test/e2e/server/harness.ts); then, one at a time, BENCH_ORDERS
 * orders (default 20) placed with POST /v1/order {extension: {fiduciaries, threshold}} and
 * redeemed with POST /v1/order/secret. Prints per operation the wall time (p50, p90, mean) and
 * the CPU time all the daemons spent on it (from /proc/<pid>/stat, user + system), next to an
 * ordinary single-fiduciary order on the same principal and the first fiduciary. Asserts nothing.
 * @module
 */
import { readFileSync } from 'node:fs'
import { createCluster } from '../test/e2e/server/harness.ts'
import type { ServerNode } from '../test/e2e/server/harness.ts'

const ORDERS = Number(process.env.BENCH_ORDERS ?? 20)
if (!Number.isSafeInteger(ORDERS) || ORDERS < 1) throw new Error('BENCH_ORDERS is a positive integer')
const CLOCK_TICKS = 100 // Linux USER_HZ
const SETS: Array<[number, number]> = [[2, 3], [3, 5]]

/** CPU ms (user + system) a process has used so far. */
function cpuMs (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS
}
const cpuOf = (nodes: ServerNode[]): number => nodes.reduce((sum, n) => sum + cpuMs(n.pid!), 0)

interface Sample { wallMs: number, cpuMs: number }

async function measure (nodes: ServerNode[], fn: () => Promise<void>): Promise<Sample> {
  const cpu0 = cpuOf(nodes); const t0 = performance.now()
  await fn()
  return { wallMs: performance.now() - t0, cpuMs: cpuOf(nodes) - cpu0 }
}

function summary (samples: Sample[]): string {
  const wall = samples.map(s => s.wallMs).sort((a, b) => a - b)
  const at = (q: number): number => wall[Math.min(wall.length - 1, Math.floor(q * wall.length))]!
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  return `wall p50 ${at(0.5).toFixed(0).padStart(5)} ms  p90 ${at(0.9).toFixed(0).padStart(5)} ms  mean ${mean(wall).toFixed(0).padStart(5)} ms   CPU ${mean(samples.map(s => s.cpuMs)).toFixed(0).padStart(5)} ms/op`
}

async function bench (n: number, ts: number[]): Promise<void> {
  const cluster = await createCluster(undefined, 'milagro-bench-threshold-')
  try {
    const fiduciaries = await Promise.all(Array.from({ length: n }, async (_, i) => await cluster.init(`fiduciary${i + 1}`, { nodeType: 'fiduciary', service: 'milagro' })))
    for (const f of fiduciaries) await f.start()
    const principal = await cluster.init('principal', {
      nodeType: 'principal', service: 'milagro', masterFiduciary: { cid: fiduciaries[0]!.cid, url: fiduciaries[0]!.url },
      env: { MILAGRO_NODE_THRESHOLDFIDUCIARIES: fiduciaries.map(f => `${f.cid}=${f.url}`).join(',') },
    })
    await principal.start({ peers: fiduciaries.flatMap(f => f.multiaddrs) })
    const nodes = [principal, ...fiduciaries]
    const runs: Array<{ label: string, extension: Record<string, string> | undefined, nodes: ServerNode[] }> = [
      { label: 'ordinary (1 fiduciary)', extension: undefined, nodes: [principal, fiduciaries[0]!] },
      ...ts.map(t => ({ label: `threshold (t, n) = (${t}, ${n})`, extension: { fiduciaries: fiduciaries.map(f => f.cid).join(','), threshold: String(t) }, nodes })),
    ]
    for (const run of runs) {
      // one warm-up cycle, not counted
      const warm = await principal.ok('/v1/order', { extension: run.extension })
      await principal.ok('/v1/order/secret', { orderReference: warm.orderReference })
      const order: Sample[] = []; const redeem: Sample[] = []
      for (let i = 0; i < ORDERS; i++) {
        let reference = ''
        order.push(await measure(run.nodes, async () => { reference = (await principal.ok('/v1/order', { extension: run.extension })).orderReference }))
        redeem.push(await measure(run.nodes, async () => { await principal.ok('/v1/order/secret', { orderReference: reference }) }))
      }
      console.log(`${run.label}, ${ORDERS} orders, ${run.nodes.length} daemons counted`)
      console.log(`  order   ${summary(order)}`)
      console.log(`  redeem  ${summary(redeem)}`)
    }
  } finally {
    await cluster.close()
  }
}

console.log(`bench:threshold — milagro plugin, SQLite, local custody, one operation at a time; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
for (const [t, n] of SETS) await bench(n, [t])
