/**
 * Documents across the private network, as servers (issue 10, part 3): a principal that peers
 * only with its fiduciary orders for a beneficiary whose identity document lives only on a
 * third node — the beneficiary's node, which also peers only with the fiduciary. The principal
 * has to read that document to encrypt the order to the beneficiary, and no connected peer has
 * it: with `ipfs.contentRouting: dht` (the default) the DHT names the beneficiary's node and the
 * order succeeds, and the beneficiary then redeems on its own node; with `none` the same order
 * fails cleanly — 404 IDENTITY_NOT_FOUND at the fetch deadline, nothing logged as an error.
 * Three servers as separate processes (harness.ts), everything on 127.0.0.1.
 * @module
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createCluster, show } from './harness.ts'
import type { Cluster, ServerNode } from './harness.ts'
import { checkRedeemed, checkWithheld, placeOrder, redeem } from './flows.ts'

const FETCH_TIMEOUT_MS = 3000

/** Fiduciary, then the beneficiary's node and the principal, each peering with the fiduciary only. */
async function startTriangle (cluster: Cluster, contentRouting: 'dht' | 'none'): Promise<{ fiduciary: ServerNode, beneficiaryNode: ServerNode, principal: ServerNode }> {
  const env = { MILAGRO_IPFS_CONTENTROUTING: contentRouting, MILAGRO_IPFS_FETCHTIMEOUTMS: String(FETCH_TIMEOUT_MS) }
  const fiduciary = await cluster.init('fiduciary', { nodeType: 'fiduciary', service: 'milagro' })
  await fiduciary.start({ env })
  const master = { cid: fiduciary.cid, url: fiduciary.url }
  const [beneficiaryNode, principal] = await Promise.all([
    cluster.init('beneficiary', { nodeType: 'principal', service: 'milagro', masterFiduciary: master }),
    cluster.init('principal', { nodeType: 'principal', service: 'milagro', masterFiduciary: master })
  ])
  await Promise.all([beneficiaryNode.start({ peers: fiduciary.multiaddrs, env }), principal.start({ peers: fiduciary.multiaddrs, env })])
  await Promise.all([beneficiaryNode.waitForPeers(1), principal.waitForPeers(1)])
  return { fiduciary, beneficiaryNode, principal }
}

describe('a beneficiary whose identity lives on a node the principal does not peer with', () => {
  test('with the DHT (default): the order succeeds and the beneficiary redeems on its own node', { timeout: 120_000 }, async (t) => {
    const cluster = await createCluster(t, 'milagro-e2e-dht-')
    const { fiduciary, beneficiaryNode, principal } = await startTriangle(cluster, 'dht')

    const placed = await placeOrder(principal, 'milagro', { beneficiary: beneficiaryNode.cid })
    const withheld = await redeem(principal, placed)
    checkWithheld(placed, withheld, beneficiaryNode.cid)
    const got = await beneficiaryNode.ok<typeof withheld>('/v1/order/secret', { orderPart4CID: withheld.orderPart4CID })
    checkRedeemed(placed, got)
    assert.equal(got.orderPart4CID, withheld.orderPart4CID)

    for (const node of [principal, fiduciary, beneficiaryNode]) assert.deepEqual(node.errorLines(), [], `no error logged by ${node.name}`)
  })

  test('with contentRouting: none: the order fails cleanly at the fetch deadline', { timeout: 120_000 }, async (t) => {
    const cluster = await createCluster(t, 'milagro-e2e-nodht-')
    const { fiduciary, beneficiaryNode, principal } = await startTriangle(cluster, 'none')

    const started = Date.now()
    const r = await principal.post('/v1/order', { beneficiaryIDDocumentCID: beneficiaryNode.cid })
    const ms = Date.now() - started
    // the services read a document no peer gave in time as the identity's absence
    assert.equal(r.status, 404, show(r.body))
    assert.equal(r.body.code, 'IDENTITY_NOT_FOUND', show(r.body))
    assert.ok(String(r.body.message).includes(beneficiaryNode.cid), show(r.body))
    assert.ok(ms >= FETCH_TIMEOUT_MS - 100 && ms < FETCH_TIMEOUT_MS + 10_000, `answered after ${ms} ms`)

    // the principal still works: an order without that beneficiary goes through
    await placeOrder(principal, 'milagro')
    for (const node of [principal, fiduciary, beneficiaryNode]) assert.deepEqual(node.errorLines(), [], `no error logged by ${node.name}`)
  })
})
