/**
 * The example "notary" plugin through the real services: every hook runs, the label is recorded in
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
import { network, rejectsCode } from '../services/network.ts'
import type { Network } from '../services/network.ts'

describe('example plugin (notary)', () => {
  let net: Network
  before(async () => { net = await network(notaryPlugin()) })
  after(async () => { await net.close() })

  it('labels an order, answers the digest at order and at redemption, and releases the order key', async () => {
    const order = await net.place({ label: 'deed 42' })
    const view = await net.viewOf(order)
    assert.deepEqual(view.extension, { label: 'deed 42' }, 'the label is recorded in part 1')
    const expected = createHash('sha256').update(`${order.orderReference}\0deed 42`).digest('hex')
    assert.equal(labelDigest(order.orderReference, 'deed 42'), expected)
    assert.equal(order.commitment, toHex(view.part2!.commitmentPublicKey))
    assert.deepEqual(order.extension, { labelDigest: expected })
    assert.equal(await net.principal.ctx.store.get(`digest/${order.orderReference}`), expected)

    const r = await net.redeem(order.orderReference)
    assert.deepEqual(r.extension, { labelDigest: expected })
    assert.equal(r.commitment, order.commitment)
    assert.equal(toHex(secpPublicKey(hexToBytes(r.secret!))), r.commitment)

    // a beneficiary named at order time redeems on its own node (no store entry there)
    const forB = await net.place({ label: 'for B' }, { beneficiary: net.beneficiary })
    const released = await net.redeem(forB.orderReference)
    const rb = await net.redeemOn(net.beneficiary, released.orderPart4CID)
    assert.equal(rb.extension.labelDigest, labelDigest(forB.orderReference, 'for B'))
  })

  it('refuses a missing or bad label, unknown fields, an unlabelled part 1, a transfer and an altered label', async () => {
    const bad: Extension[] = [{}, { label: '' }, { label: 'x'.repeat(257) }, { label: 'x', other: 'y' }]
    for (const extension of bad) {
      await rejectsCode(net.plugin.prepareOrder(net.principal.ctx, { reference: 'r', extension }), 'PLUGIN_BAD_EXTENSION')
    }
    const order = await net.place({ label: 'ok' })
    const view = await net.viewOf(order)
    await rejectsCode(net.plugin.checkOrder(net.fiduciary.ctx, { ...view, extension: {} }), 'PLUGIN_REFUSED')
    await rejectsCode(net.redeem(order.orderReference, { extension: { x: '1' } }), 'PLUGIN_BAD_EXTENSION')
    // a transfer: the fiduciary's plugin refuses a part 3 naming a new beneficiary
    await rejectsCode(net.redeem(order.orderReference, { beneficiary: net.stranger }), 'PLUGIN_REFUSED')
    // the recorded label is checked against the principal's store at redemption
    await net.principal.ctx.store.put(`digest/${order.orderReference}`, labelDigest(order.orderReference, 'changed'))
    await rejectsCode(net.redeem(order.orderReference), 'ORDER_BAD_DOCUMENT')
  })
})
