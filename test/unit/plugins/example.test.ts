/**
 * The example "notary" plugin through a simulated flow: every hook runs, the label is recorded in
 * part 1 and its digest answered, the fiduciary refuses an unlabelled part 1 and a transfer.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createHash } from 'node:crypto'
import { hexToBytes } from '@noble/hashes/utils.js'
import type { Extension } from '../../../src/ports/common.ts'
import { toHex } from '../../../src/crypto/hash.ts'
import { secpPublicKey } from '../../../src/crypto/secp256k1.ts'
import { labelDigest, notaryPlugin } from '../../../src/plugins/example/index.ts'
import { completeRedemption, network, placeOrder, rejectsCode, requestRedemption } from './harness.ts'
import type { Network } from './harness.ts'

describe('example plugin (notary)', () => {
  let net: Network
  before(async () => { net = await network(notaryPlugin()) })
  after(async () => { await net.close() })

  it('labels an order, answers the digest at order and at redemption, and releases the order key', async () => {
    const order = await placeOrder(net, { label: 'deed 42' })
    assert.deepEqual(order.view.extension, { label: 'deed 42' }, 'the label is recorded in part 1')
    const expected = createHash('sha256').update(`${order.view.reference}\0deed 42`).digest('hex')
    assert.equal(labelDigest(order.view.reference, 'deed 42'), expected)
    assert.deepEqual(order.result, { commitment: toHex(order.view.part2!.commitmentPublicKey), extension: { labelDigest: expected } })
    assert.equal(await net.principal.ctx.store.get(`digest/${order.view.reference}`), expected)

    const r = await completeRedemption(net, await requestRedemption(net, order), order.orderSeed, net.principal)
    assert.deepEqual(r.extension, { labelDigest: expected })
    assert.equal(r.commitment, order.result.commitment)
    assert.equal(toHex(secpPublicKey(hexToBytes(r.secret))), r.commitment)

    // a beneficiary named at order time redeems on its own node (no store entry there)
    const forB = await placeOrder(net, { label: 'for B' }, { beneficiary: net.beneficiary })
    const rb = await completeRedemption(net, await requestRedemption(net, forB), forB.orderSeed, net.beneficiary)
    assert.equal(rb.extension.labelDigest, labelDigest(forB.view.reference, 'for B'))
  })

  it('refuses a missing or bad label, unknown fields, an unlabelled part 1, a transfer and an altered label', async () => {
    const bad: Extension[] = [{}, { label: '' }, { label: 'x'.repeat(257) }, { label: 'x', other: 'y' }]
    for (const extension of bad) {
      await rejectsCode(net.plugin.prepareOrder(net.principal.ctx, { reference: 'r', extension }), 'PLUGIN_BAD_EXTENSION')
    }
    const order = await placeOrder(net, { label: 'ok' })
    await rejectsCode(net.plugin.checkOrder(net.fiduciary.ctx, { ...order.view, extension: {} }), 'PLUGIN_REFUSED')
    await rejectsCode(net.plugin.prepareRedemption(net.principal.ctx, { order: order.view, extension: { x: '1' } }), 'PLUGIN_BAD_EXTENSION')
    await rejectsCode(requestRedemption(net, order, { beneficiary: net.stranger }), 'PLUGIN_REFUSED')
    const view = await requestRedemption(net, order)
    await rejectsCode(completeRedemption(net, { ...view, extension: { label: 'changed' } }, order.orderSeed, net.principal), 'ORDER_BAD_DOCUMENT')
  })
})
