/**
 * Prometheus metrics on their own listener (PROTOCOL §8, default 127.0.0.1:5557), so scraping
 * never shares a port, limits or authentication with the API. Counts requests by route and
 * status, times them, and adds the process's default metrics. Nothing secret is ever a label:
 * labels are route patterns (never concrete CIDs or references), methods and status codes.
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
import type { FastifyInstance } from 'fastify'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { hostRefusal } from './host-check.ts'

export interface Metrics {
  readonly registry: Registry
  /**
   * Instruments an app: call before its routes are registered. The metrics listener answers to
   * the app's host names (`allowedHosts` as in AppOptions; until then, only the defaults).
   */
  instrument (app: FastifyInstance, hosts: { allowedHosts: readonly string[] }): void
  /** Starts the metrics listener; resolves with its address (host:port). */
  listen (host: string, port: number): Promise<string>
  close (): Promise<void>
}

export function createMetrics (): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'milagro_' })
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
    instrument (app, hosts) {
      allowedHosts = hosts.allowedHosts
      app.addHook('onResponse', async (request, reply) => {
        const route = request.routeOptions.url ?? 'unmatched'
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
