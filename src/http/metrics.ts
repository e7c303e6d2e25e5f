/**
 * Prometheus metrics on their own listener (PROTOCOL §8, default 127.0.0.1:5557), so scraping
 * never shares a port, limits or authentication with the API. What is measured:
 * - the process and Node.js metrics of prom-client (`collectDefaultMetrics`) under their standard
 *   names (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …: no prefix, so the usual
 *   dashboards work), except that the event-loop delay gauges are our own, with the same names:
 *   prom-client's read a histogram that is empty when two scrapes come within its 10 ms
 *   resolution (or right after start) and then report 9.2e9 s and NaN; ours keep the last values;
 * - API requests by method, route pattern and status, and their duration (not the /docs assets);
 * - the domain events (`events`, src/ports/events.ts): orders and releases by role, plugin and
 *   result (ok, refused: a 4xx code, failed: a 5xx code), refusals and failures by code,
 *   identities created;
 * - custody seal/unseal latency by backend (`timeCustody`), IPFS connected peers
 *   (`watchPeers`) and the latency of document fetches that asked the network (`ipfsFetched`).
 * Nothing secret is ever a label, nor anything unbounded: labels are route patterns (never a
 * concrete CID or reference), methods, status and error codes, plugin names, roles, backends.
 *
 * The listener applies the API's DNS-rebinding guard (src/http/host-check.ts) with the host names
 * of the app it instruments (`http.allowedHosts`): a request whose Host is not a name of the node,
 * or whose Origin is another site's, gets 403 with the error body `{statusCode, code, message}`
 * — so a web page cannot read the metrics through a rebound name either.
 * @module
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { ERRORS } from '../errors.ts'
import type { Custody } from '../ports/custody.ts'
import type { DomainEvents } from '../ports/events.ts'
import { hostRefusal } from './host-check.ts'

export interface Metrics {
  readonly registry: Registry
  /**
   * Instruments an app: call before its routes are registered. The metrics listener answers to
   * the app's host names (`allowedHosts` as in AppOptions; until then, only the defaults).
   */
  instrument (app: FastifyInstance, hosts: { allowedHosts: readonly string[] }): void
  /** The domain events sink that counts orders, releases, refusals and identities. */
  readonly events: DomainEvents
  /** `custody` with its seal and unseal timed (by `custody.backend`). */
  timeCustody (custody: Custody): Custody
  /** Reads the number of connected IPFS peers at each scrape. */
  watchPeers (count: () => number): void
  /** A document fetch that asked the network: how long it took and how it ended ('ok' or its error code). */
  ipfsFetched (seconds: number, result: string): void
  /** Starts the metrics listener; resolves with its address (host:port). */
  listen (host: string, port: number): Promise<string>
  close (): Promise<void>
}

export function createMetrics (): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  replaceEventLoopDelayGauges(registry)
  const domain = domainMetrics(registry)
  const requests = new Counter({ name: 'milagro_http_requests_total', help: 'API requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] })
  const duration = new Histogram({
    name: 'milagro_http_request_duration_seconds',
    help: 'API request duration by route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  })
  let server: Server | undefined
  let allowedHosts: readonly string[] = []
  return {
    registry,
    ...domain,
    instrument (app, hosts) {
      allowedHosts = hosts.allowedHosts
      app.addHook('onResponse', async (request, reply) => {
        const route = request.routeOptions.url ?? 'unmatched'
        if (route === '/docs' || route.startsWith('/docs/')) return // the docs UI and its assets are not the API
        requests.inc({ method: request.method, route, status: String(reply.statusCode) })
        duration.observe({ method: request.method, route }, reply.elapsedTime / 1000)
      })
    },
    async listen (host, port) {
      server = createServer((req, res) => {
        const refusal = hostRefusal(req.method ?? '', req.headers, allowedHosts)
        if (refusal !== undefined) {
          res.writeHead(refusal.statusCode, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(refusal.toJSON()))
          return
        }
        if (req.method !== 'GET' || req.url !== '/metrics') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
          return
        }
        registry.metrics().then(
          (text) => { res.writeHead(200, { 'content-type': registry.contentType }).end(text) },
          () => { res.writeHead(500).end() },
        )
      })
      const s = server
      await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, host, () => { resolve() }) })
      const address = s.address() as AddressInfo
      return `${address.address}:${address.port}`
    },
    async close () {
      const s = server
      server = undefined
      if (s !== undefined) await new Promise<void>((resolve) => { s.close(() => { resolve() }); s.closeAllConnections() })
    },
  }
}

// ── the event-loop delay gauges ──────────────────────────────────────────────────────────────

const LAG = 'nodejs_eventloop_lag_seconds'
const LAG_STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const

/**
 * prom-client's event-loop gauges, replaced under the same names and help. The delay histogram
 * (`monitorEventLoopDelay`, 10 ms resolution, as prom-client's default) is read and reset at
 * each scrape only when it holds samples: an empty one has min 2^63 ns and mean NaN, which is what
 * prom-client reports for a scrape that follows another within 10 ms. Then the values of the last
 * scrape that had samples stay (0 before the first). `nodejs_eventloop_lag_seconds` is measured
 * as prom-client does: the delay of a setImmediate started at the scrape (shown by the next one).
 */
function replaceEventLoopDelayGauges (registry: Registry): void {
  for (const stat of ['', ...LAG_STATS]) registry.removeSingleMetric(stat === '' ? LAG : `nodejs_eventloop_lag_${stat}_seconds`)
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  const help: Record<(typeof LAG_STATS)[number], string> = {
    min: 'The minimum recorded event loop delay.',
    max: 'The maximum recorded event loop delay.',
    mean: 'The mean of the recorded event loop delays.',
    stddev: 'The standard deviation of the recorded event loop delays.',
    p50: 'The 50th percentile of the recorded event loop delays.',
    p90: 'The 90th percentile of the recorded event loop delays.',
    p99: 'The 99th percentile of the recorded event loop delays.',
  }
  const read: Record<(typeof LAG_STATS)[number], () => number> = {
    min: () => histogram.min,
    max: () => histogram.max,
    mean: () => histogram.mean,
    stddev: () => histogram.stddev,
    p50: () => histogram.percentile(50),
    p90: () => histogram.percentile(90),
    p99: () => histogram.percentile(99),
  }
  // registered first, so its collect runs before the others are read
  const lag: Gauge = new Gauge({
    name: LAG,
    help: 'Lag of event loop in seconds.',
    registers: [registry],
    collect () {
      const start = process.hrtime.bigint()
      setImmediate(() => { lag.set(Number(process.hrtime.bigint() - start) / 1e9) })
      if (histogram.count === 0) return
      for (const stat of LAG_STATS) stats[stat].set(read[stat]() / 1e9)
      histogram.reset()
    },
  })
  const stats = Object.fromEntries(LAG_STATS.map(stat => [stat, new Gauge({ name: `nodejs_eventloop_lag_${stat}_seconds`, help: help[stat], registers: [registry] })])) as Record<(typeof LAG_STATS)[number], Gauge>
}

// ── the domain metrics ───────────────────────────────────────────────────────────────────────

/** ok, or refused (the code is a 4xx: the request was refused), or failed (5xx, or unknown). */
function resultOf (code: string | undefined): 'ok' | 'refused' | 'failed' {
  if (code === undefined) return 'ok'
  const status = (ERRORS as Record<string, { status: number } | undefined>)[code]?.status ?? 500
  return status >= 400 && status < 499 ? 'refused' : 'failed'
}

function domainMetrics (registry: Registry): Pick<Metrics, 'events' | 'timeCustody' | 'watchPeers' | 'ipfsFetched'> {
  const registers = [registry]
  const orders = new Counter({ name: 'milagro_orders_total', help: 'Orders placed (principal) and accepted (fiduciary), by role, plugin and result (ok, refused, failed)', labelNames: ['role', 'plugin', 'result'], registers })
  const releases = new Counter({ name: 'milagro_releases_total', help: 'Secrets redeemed (principal) and released (fiduciary), by role, plugin and result (ok, refused, failed)', labelNames: ['role', 'plugin', 'result'], registers })
  const refusals = new Counter({ name: 'milagro_refusals_total', help: 'Orders and releases refused or failed, by role, operation (order, release) and error code', labelNames: ['role', 'operation', 'code'], registers })
  const identities = new Counter({ name: 'milagro_identities_created_total', help: 'Identities created through the API', registers })
  const custody = new Histogram({
    name: 'milagro_custody_operation_duration_seconds',
    help: 'Custody seal and unseal latency by backend (local, pkcs11)',
    labelNames: ['backend', 'operation'],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers,
  })
  const fetches = new Histogram({
    name: 'milagro_ipfs_fetch_duration_seconds',
    help: 'Document fetches that asked the IPFS network, by result (ok or the error code)',
    labelNames: ['result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  })
  let peers: (() => number) | undefined
  const connected: Gauge = new Gauge({
    name: 'milagro_ipfs_connected_peers',
    help: 'IPFS peers this node is connected to',
    registers,
    collect () { if (peers !== undefined) connected.set(peers()) },
  })

  async function timed<T> (backend: string, operation: 'seal' | 'unseal', run: () => Promise<T>): Promise<T> {
    const stop = custody.startTimer({ backend, operation })
    try {
      return await run()
    } finally {
      stop()
    }
  }

  return {
    events: {
      emit (event) {
        switch (event.type) {
          case 'identity.created': identities.inc(); break
          case 'order.placed': orders.inc({ role: event.role, plugin: event.plugin, result: 'ok' }); break
          case 'secret.released': releases.inc({ role: event.role, plugin: event.plugin, result: 'ok' }); break
          case 'order.refused':
          case 'release.refused': {
            const operation = event.type === 'order.refused' ? 'order' : 'release'
            ;(operation === 'order' ? orders : releases).inc({ role: event.role, plugin: event.plugin, result: resultOf(event.code) })
            refusals.inc({ role: event.role, operation, code: event.code in ERRORS ? event.code : 'INTERNAL' })
            break
          }
        }
      },
    },
    timeCustody (inner) {
      return {
        get backend () { return inner.backend },
        get keyId () { return inner.keyId },
        seal: async (recordId, plaintext, options) => await timed(inner.backend, 'seal', async () => await inner.seal(recordId, plaintext, options)),
        unseal: async (recordId, sealed, options) => await timed(inner.backend, 'unseal', async () => await inner.unseal(recordId, sealed, options)),
        close: async () => { await inner.close() },
      }
    },
    watchPeers (count) { peers = count },
    ipfsFetched (seconds, result) { fetches.observe({ result: result === 'ok' || result in ERRORS ? result : 'INTERNAL' }, seconds) },
  }
}
