/**
 * Issue 4, test 2: Principal and Fiduciary as two servers with separate homes and stores, one
 * pair per plugin (both run the same plugin). The principal runs the same tour as a multi node
 * (flows.ts); each server exposes only its own endpoints; afterwards each store holds only its
 * own side of every order, and the fiduciary's seeds and releases match what the principal saw.
 * @module
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createCluster, startPair } from './harness.ts'
import { ALL_PLUGINS, checkStores, exerciseOrderFlows } from './flows.ts'

describe('principal and fiduciary as two servers', () => {
  for (const plugin of ALL_PLUGINS) {
    test(`${plugin}: the same flows across two processes`, { timeout: 90_000 }, async (t) => {
      const cluster = await createCluster(t)
      const { fiduciary, principal } = await startPair(cluster, plugin)
      assert.notEqual(principal.home, fiduciary.home)

      const pStatus = await principal.ok('/v1/status')
      const fStatus = await fiduciary.ok('/v1/status')
      assert.equal(pStatus.nodeType, 'principal')
      assert.equal(fStatus.nodeType, 'fiduciary')
      assert.equal(pStatus.plugin, plugin)
      assert.equal(fStatus.plugin, plugin)
      // Endpoints per node type.
      assert.equal((await principal.post('/v1/fulfill/order', {})).status, 404)
      assert.equal((await fiduciary.post('/v1/order', {})).status, 404)
      assert.equal((await fiduciary.get('/v1/order')).body.code, 'ROUTE_NOT_FOUND')

      const { orders } = await exerciseOrderFlows(principal, plugin)

      assert.deepEqual(principal.errorLines(), [], 'no error logged by the principal')
      assert.deepEqual(fiduciary.errorLines(), [], 'no error logged by the fiduciary')
      assert.equal(await principal.stop(), 'graceful')
      assert.equal(await fiduciary.stop(), 'graceful')
      checkStores(principal.home, fiduciary.home, orders)
    })
  }
})
