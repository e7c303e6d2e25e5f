/**
 * Issue 4, test 1: one `multi` node per plugin, as a real process. Order then order/secret give the
 * same commitment (and the plugin's own guarantees, see flows.ts); a beneficiary created on the
 * same node with POST /v1/identity can be named at order time and at redemption; the order list
 * pages and sorts; GET /v1/order/{ref} shows the full decoded chain after redemption.
 * @module
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createCluster } from './harness.ts'
import { ALL_PLUGINS, checkStores, exerciseOrderFlows } from './flows.ts'

describe('one multi node', () => {
  for (const plugin of ALL_PLUGINS) {
    test(`${plugin}: order, redemption, beneficiaries, list and chain`, { timeout: 90_000 }, async (t) => {
      const cluster = await createCluster(t)
      const node = await cluster.init(`multi-${plugin}`, { service: plugin })
      await node.start()
      const status = await node.ok('/v1/status')
      assert.equal(status.nodeType, 'multi')
      assert.equal(status.plugin, plugin)
      assert.equal(status.nodeCID, node.cid)

      const { orders } = await exerciseOrderFlows(node, plugin)

      assert.deepEqual(node.errorLines(), [], 'no error logged')
      assert.equal(await node.stop(), 'graceful')
      checkStores(node.home, node.home, orders)
    })
  }
})
