/**
 * Issue 14, item 12: the metrics.
 * - prom-client's process and Node.js metrics keep their standard names (no prefix), so the usual
 *   dashboards work;
 * - the event-loop delay gauges never report the empty histogram (9.2e9 s, NaN): not right after
 *   start, not for two scrapes in a row;
 * - the /docs UI and its assets are not counted as API requests;
 * - a real node counts its domain events: orders and releases by role, plugin and result,
 *   refusals by code, identities created; custody seal/unseal latency by backend; IPFS connected
 *   peers and network fetches — and no label holds a CID or a reference.
 * @module
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { loadConfig } from '../../../src/config/load.ts'
import { buildApp } from '../../../src/http/app.ts'
import { createMetrics } from '../../../src/http/metrics.ts'
import { createNode, initNode } from '../../../src/node.ts'
import type { NodeServices } from '../../../src/ports/api.ts'

/** `name{labels} value` lines of a scrape, comments left out. */
function samples (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

const LAG_GAUGES = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map(s => `nodejs_eventloop_lag_${s}_seconds`)

describe('process metrics', () => {
  it('keep prom-client\'s standard names', async () => {
    const metrics = createMetrics()
    const text = await metrics.registry.metrics()
    for (const name of ['process_cpu_user_seconds_total', 'process_cpu_seconds_total', 'process_start_time_seconds', 'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes', 'nodejs_version_info', 'nodejs_eventloop_lag_seconds', ...LAG_GAUGES, 'nodejs_gc_duration_seconds_count']) {
      assert.match(text, new RegExp(`^# TYPE ${name.replace(/_count$/, '')} `, 'm'), name)
    }
    assert.doesNotMatch(text, /^milagro_(process|nodejs)_/m, 'no prefixed copies of the standard names')
  })

  it('the event-loop delay gauges are finite right after start and for back-to-back scrapes', async () => {
    const metrics = createMetrics()
    const check = async (when: string): Promise<void> => {
      const values = samples(await metrics.registry.metrics())
      for (const name of LAG_GAUGES) {
        const value = values.get(name)
        assert.ok(value !== undefined && Number.isFinite(value) && value >= 0 && value < 60, `${when}: ${name} = ${String(value)}`)
      }
    }
    await check('right after start')
    await new Promise(resolve => setTimeout(resolve, 120))
    await check('after some samples')
    await check('a second scrape at once')
    const values = samples(await metrics.registry.metrics())
    assert.ok(values.get('nodejs_eventloop_lag_mean_seconds')! > 0, 'the last values with samples stay')
  })
})

describe('API request metrics', () => {
  it('count API routes by pattern, not the /docs UI or its assets', async () => {
    const metrics = createMetrics()
    const none = async (): Promise<never> => { throw new Error('not called') }
    const services = { nodeType: 'multi', status: none, identity: { create: none, get: none, list: none } } as unknown as NodeServices
    const app = await buildApp({ services, metrics, bodyLimit: 1000, requestTimeoutMs: 0, version: 'test', allowedHosts: [] })
    try {
      for (const url of ['/docs', '/docs/', '/docs/static/index.css', '/docs/static/swagger-ui-bundle.js', '/docs/json']) {
        assert.ok((await app.inject({ url })).statusCode < 400, url)
      }
      assert.equal((await app.inject({ url: '/openapi.json' })).statusCode, 200)
      assert.equal((await app.inject({ url: '/v1/identity?perPage=0' })).statusCode, 422)
      const text = await metrics.registry.metrics()
      assert.match(text, /milagro_http_requests_total\{method="GET",route="\/v1\/identity",status="422"\} 1/)
      assert.match(text, /milagro_http_requests_total\{method="GET",route="\/openapi.json",status="200"\} 1/)
      assert.doesNotMatch(text, /route="\/docs/)
    } finally {
      await app.close()
    }
  })
})

describe('domain metrics of a node', () => {
  it('orders, releases, refusals by code, identities, custody latency by backend, IPFS peers and fetches', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'dta-domain-metrics-'))
    const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '300', MILAGRO_HTTP_LISTENADDR: '127.0.0.1:0', MILAGRO_HTTP_METRICSLISTENADDR: '127.0.0.1:0' }
    try {
      await initNode({ home, nodeName: 'metrics-node', env })
      const node = await createNode({ home, config: await loadConfig({ home, env }) })
      try {
        await node.start()
        const call = async (method: 'GET' | 'POST', url: string, payload?: object): Promise<{ status: number, body: Record<string, string> }> => {
          const res = await node.app.inject({ method, url, ...(payload === undefined ? {} : { payload }) })
          return { status: res.statusCode, body: res.json() }
        }
        const bob = await call('POST', '/v1/identity', { name: 'bob' })
        assert.equal(bob.status, 200)
        const order = await call('POST', '/v1/order', {})
        assert.equal(order.status, 200)
        const redeemed = await call('POST', '/v1/order/secret', { orderReference: order.body.orderReference })
        assert.equal(redeemed.status, 200)
        assert.equal((await call('POST', '/v1/order/secret', { orderReference: '0'.repeat(32) })).body.code, 'ORDER_NOT_FOUND')
        assert.equal((await call('POST', '/v1/order', { extension: { nope: 'x' } })).body.code, 'PLUGIN_BAD_EXTENSION')
        assert.equal((await call('GET', '/v1/identity/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o')).body.code, 'IDENTITY_NOT_FOUND')

        const text = await (await fetch(`http://${String(node.metricsAddress())}/metrics`)).text()
        const values = samples(text)
        const expect = (name: string, value: number): void => { assert.equal(values.get(name), value, `${name} in:\n${text.split('\n').filter(l => l.startsWith(name.split('{')[0]!)).join('\n')}`) }
        expect('milagro_identities_created_total', 1)
        expect('milagro_orders_total{role="principal",plugin="milagro",result="ok"}', 1)
        expect('milagro_orders_total{role="fiduciary",plugin="milagro",result="ok"}', 1)
        expect('milagro_orders_total{role="principal",plugin="milagro",result="refused"}', 1)
        expect('milagro_releases_total{role="principal",plugin="milagro",result="ok"}', 1)
        expect('milagro_releases_total{role="fiduciary",plugin="milagro",result="ok"}', 1)
        expect('milagro_releases_total{role="principal",plugin="milagro",result="refused"}', 1)
        expect('milagro_refusals_total{role="principal",operation="release",code="ORDER_NOT_FOUND"}', 1)
        expect('milagro_refusals_total{role="principal",operation="order",code="PLUGIN_BAD_EXTENSION"}', 1)
        expect('milagro_ipfs_connected_peers', 0)
        expect('milagro_ipfs_fetch_duration_seconds_count{result="DOCUMENT_NOT_FOUND"}', 1)
        // bob's root seed and the order seed sealed; the order seed unsealed for the release
        assert.ok(values.get('milagro_custody_operation_duration_seconds_count{backend="local",operation="seal"}')! >= 2, text)
        assert.ok(values.get('milagro_custody_operation_duration_seconds_count{backend="local",operation="unseal"}')! >= 1, text)
        for (const value of [node.nodeCID, bob.body.idDocumentCID, order.body.orderReference, order.body.orderPart1CID, order.body.orderPart2CID, redeemed.body.orderPart4CID]) {
          assert.ok(!text.includes(String(value)), `${String(value)} in a label`)
        }
      } finally {
        await node.stop()
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
