/**
 * Issue 4, test 3: Principal, Fiduciary and Beneficiary as three servers (three homes, three
 * stores, peered over IPFS). The beneficiary is named at order time (the beneficiary node's own
 * identity) and, on another order, at redemption (an identity created on the beneficiary node).
 * The principal's redemption answers without `secret`; the beneficiary redeems on its own node
 * with POST /v1/order/secret {orderPart4CID}, from the CIDs alone, and gets the secret; the
 * principal cannot obtain it by any request it can make, and neither its answers, its GET
 * /v1/order/{ref} nor its or the fiduciary's logs contain it.
 * @module
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createCluster, show } from './harness.ts'
import type { PluginName, ServerNode } from './harness.ts'
import { assertNotContains, beneficiaryExtension, checkOrderDocument, checkRedeemed, checkWithheld, placeOrder, redeem, redemptionBody } from './flows.ts'
import type { Placed, Redeemed } from './flows.ts'

const PLUGINS: PluginName[] = ['milagro', 'bitcoinwallet', 'safeguardsecret']

/** The beneficiary redeems on its own node from the part 4 CID alone. */
async function redeemOnBeneficiary (node: ServerNode, placed: Placed, part4CID: string): Promise<Redeemed> {
  const body: Record<string, unknown> = { orderPart4CID: part4CID }
  const extension = beneficiaryExtension(placed)
  if (extension !== undefined) body.extension = extension
  return await node.ok<Redeemed>('/v1/order/secret', body)
}

describe('principal, fiduciary and beneficiary as three servers', () => {
  for (const plugin of PLUGINS) {
    test(`${plugin}: the beneficiary redeems on its own node; the principal never sees the secret`, { timeout: 120_000 }, async (t) => {
      const cluster = await createCluster(t)
      const fiduciary = await cluster.init('fiduciary', { nodeType: 'fiduciary', service: plugin })
      await fiduciary.start()
      const master = { cid: fiduciary.cid, url: fiduciary.url }
      // The beneficiary's node is a principal-type node of the same custodian: it has the order
      // endpoints, which is where a beneficiary redeems.
      const [beneficiaryNode, principal] = await Promise.all([
        cluster.init('beneficiary', { nodeType: 'principal', service: plugin, masterFiduciary: master }),
        cluster.init('principal', { nodeType: 'principal', service: plugin, masterFiduciary: master }),
      ])
      await beneficiaryNode.start({ peers: fiduciary.multiaddrs })
      await principal.start({ peers: [...fiduciary.multiaddrs, ...beneficiaryNode.multiaddrs] })
      await principal.waitForPeers(2)
      await beneficiaryNode.waitForPeers(2)

      const principalAnswers: unknown[] = []
      const secrets: string[] = []

      // ── beneficiary named at order time: the beneficiary node's own identity ──────────────────
      const atOrder = await placeOrder(principal, plugin, { beneficiary: beneficiaryNode.cid })
      principalAnswers.push(atOrder)
      const withheld = await redeem(principal, atOrder)
      principalAnswers.push(withheld)
      checkWithheld(atOrder, withheld, beneficiaryNode.cid)
      assert.equal(withheld.commitment, atOrder.commitment)

      const got = await redeemOnBeneficiary(beneficiaryNode, atOrder, withheld.orderPart4CID)
      checkRedeemed(atOrder, got)
      assert.equal(got.orderPart4CID, withheld.orderPart4CID)
      assert.equal(got.orderPart3CID, withheld.orderPart3CID)
      secrets.push(got.secret!)
      // The beneficiary can ask again and gets the same secret.
      const gotAgain = await redeemOnBeneficiary(beneficiaryNode, atOrder, withheld.orderPart4CID)
      assert.ok(gotAgain.secret === got.secret, 'the same secret again')

      // What the principal can try: naming itself as beneficiary, redeeming again, reading part 4.
      const selfNamed = await principal.post('/v1/order/secret', redemptionBody(atOrder, { beneficiary: principal.cid }))
      principalAnswers.push(selfNamed.body)
      assert.equal(selfNamed.status, 403, show(selfNamed.body))
      assert.equal(selfNamed.body.code, 'ORDER_NOT_ENTITLED')
      const repeat = await redeem(principal, atOrder)
      principalAnswers.push(repeat)
      checkWithheld(atOrder, repeat, beneficiaryNode.cid)
      const byPart4 = await principal.post('/v1/order/secret', { orderPart4CID: withheld.orderPart4CID, extension: beneficiaryExtension(atOrder) })
      principalAnswers.push(byPart4.body)
      assert.equal(byPart4.status, 403, show(byPart4.body))
      assert.equal(byPart4.body.code, 'ENVELOPE_NOT_A_RECIPIENT')
      const shown = await principal.ok(`/v1/order/${atOrder.reference}`)
      principalAnswers.push(shown)
      await checkOrderDocument(principal, atOrder, repeat, { secretReadable: false })

      // ── beneficiary named at redemption: an identity created on the beneficiary node ────────
      const named = (await beneficiaryNode.ok<{ idDocumentCID: string }>('/v1/identity', { name: 'named-at-redemption' })).idDocumentCID
      const atRedemption = await placeOrder(principal, plugin)
      principalAnswers.push(atRedemption)
      const withheld2 = await redeem(principal, atRedemption, { beneficiary: named })
      principalAnswers.push(withheld2)
      checkWithheld(atRedemption, withheld2, named)
      assert.equal(withheld2.commitment, atRedemption.commitment)
      const got2 = await redeemOnBeneficiary(beneficiaryNode, atRedemption, withheld2.orderPart4CID)
      checkRedeemed(atRedemption, got2)
      secrets.push(got2.secret!)

      // Once released to the beneficiary, the principal cannot have it released to itself.
      for (const body of [redemptionBody(atRedemption), redemptionBody(atRedemption, { beneficiary: principal.cid })]) {
        const r = await principal.post('/v1/order/secret', body)
        principalAnswers.push(r.body)
        assert.equal(r.status, 409, show(r.body))
        assert.equal(r.body.code, 'ORDER_ALREADY_REDEEMED_ELSEWHERE')
      }
      const shown2 = await principal.ok(`/v1/order/${atRedemption.reference}`)
      principalAnswers.push(shown2)
      await checkOrderDocument(principal, atRedemption, withheld2, { secretReadable: false, redemptionBeneficiary: named })

      // The beneficiary node cannot redeem an order that is not addressed to it (the first
      // order's part 4 is for its node identity, so try the principal's own order instead).
      const own = await placeOrder(principal, plugin)
      const ownRedeemed = await redeem(principal, own)
      checkRedeemed(own, ownRedeemed)
      const foreign = await beneficiaryNode.post('/v1/order/secret', { orderPart4CID: ownRedeemed.orderPart4CID, extension: beneficiaryExtension(own) })
      assert.equal(foreign.status, 403, show(foreign.body))
      assertNotContains(foreign.body, ownRedeemed.secret!, 'the refusal')

      // Nothing the principal answered, and no log line of the principal or the fiduciary,
      // contains a secret released to the beneficiary.
      for (const secret of secrets) {
        assertNotContains(principalAnswers, secret, 'the principal\'s answers')
        assert.ok(!principal.logTail(400).includes(secret), 'the principal\'s log does not contain the secret')
        assert.ok(!fiduciary.logTail(400).includes(secret), 'the fiduciary\'s log does not contain the secret')
      }
      for (const node of [principal, fiduciary, beneficiaryNode]) assert.deepEqual(node.errorLines(), [], `no error logged by ${node.name}`)
    })
  }
})
