/**
 * The order service (the principal side) in process, wired as src/node.ts wires it
 * (network.ts): orders and redemptions, list and get, a beneficiary at order time and at
 * redemption redeeming on its own node, and the refusals the service itself makes.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { hexToBytes } from '@noble/hashes/utils.js'
import { toHex } from '../../../src/crypto/hash.ts'
import { orderKeyFromSeed, secpPublicKey } from '../../../src/crypto/secp256k1.ts'
import { milagroPlugin } from '../../../src/plugins/milagro/index.ts'
import { network, rejectsCode } from './network.ts'
import type { Network } from './network.ts'

describe('order service', () => {
  let net: Network
  before(async () => { net = await network(milagroPlugin()) })
  after(async () => { await net.close() })

  it('places an order and redeems it: the secret is the committed key, released by the fiduciary', async () => {
    const order = await net.place({})
    assert.match(order.orderReference, /^[0-9a-f]{32}$/)
    assert.ok(Math.abs(order.createdAt - Date.now() / 1000) < 60, 'createdAt in Unix seconds')
    const r = await net.redeem(order.orderReference)
    assert.equal(r.orderReference, order.orderReference)
    assert.equal(r.commitment, order.commitment)
    assert.equal(toHex(secpPublicKey(hexToBytes(r.secret!))), order.commitment)
    assert.equal(r.secret, toHex(orderKeyFromSeed(await net.seedOf(order.orderReference)).privateKey))
    // the row records the chain
    const row = await net.principal.state.getOrder('principal', order.orderReference)
    assert.deepEqual([row?.part1Cid, row?.part2Cid, row?.part3Cid, row?.part4Cid], [order.orderPart1CID, order.orderPart2CID, r.orderPart3CID, r.orderPart4CID])
  })

  it('lists its orders in either order and shows one; unknown references are ORDER_NOT_FOUND', async () => {
    const a = await net.place({})
    const b = await net.place({})
    const desc = await net.principal.order.list({ page: 0, perPage: 100, sortBy: 'dateCreatedDesc' })
    const asc = await net.principal.order.list({ page: 0, perPage: 100, sortBy: 'dateCreatedAsc' })
    assert.ok(desc.indexOf(b.orderReference) < desc.indexOf(a.orderReference))
    assert.ok(asc.indexOf(a.orderReference) < asc.indexOf(b.orderReference))
    const got = await net.principal.order.get(a.orderReference)
    assert.equal(got.orderCID, a.orderPart2CID)
    assert.equal(JSON.parse(got.order).Reference, a.orderReference)
    assert.equal(JSON.parse(got.order).OrderPart4, undefined)
    // once redeemed, the original shape shows the released secret as OrderPart4.Secret
    const redeemed = await net.redeem(a.orderReference)
    const shown = JSON.parse((await net.principal.order.get(a.orderReference)).order)
    assert.equal(shown.OrderPart4.Secret, redeemed.secret)
    assert.equal(shown.OrderPart2.CommitmentPublicKey, a.commitment)
    await rejectsCode(net.principal.order.get('0'.repeat(32)), 'ORDER_NOT_FOUND')
    await rejectsCode(net.redeem('0'.repeat(32)), 'ORDER_NOT_FOUND')
    assert.deepEqual(await net.stranger.order.list({ page: 0, perPage: 10, sortBy: 'dateCreatedDesc' }), [], 'another node has no order')
  })

  it('a beneficiary on another node: the principal gets no secret, the beneficiary redeems from part 4 on its own node', async () => {
    for (const atOrderTime of [true, false]) {
      const order = await net.place({}, atOrderTime ? { beneficiary: net.beneficiary } : {})
      const released = await net.redeem(order.orderReference, { beneficiary: net.beneficiary })
      assert.equal(released.secret, undefined)
      assert.deepEqual(released.extension, { beneficiaryIDDocumentCID: net.beneficiary.cid })
      const r = await net.redeemOn(net.beneficiary, released.orderPart4CID)
      assert.equal(r.commitment, order.commitment)
      assert.equal(toHex(secpPublicKey(hexToBytes(r.secret!))), order.commitment)
      // the principal cannot read it, nor a stranger's node
      await rejectsCode(net.redeemOn(net.principal, released.orderPart4CID), 'ENVELOPE_NOT_A_RECIPIENT')
      await rejectsCode(net.redeemOn(net.stranger, released.orderPart4CID), 'ENVELOPE_NOT_A_RECIPIENT')
    }
  })

  it('refuses to replace the beneficiary named at order time, and a request without reference or part 4', async () => {
    const order = await net.place({}, { beneficiary: net.beneficiary })
    await rejectsCode(net.redeem(order.orderReference, { beneficiary: net.stranger }), 'ORDER_NOT_ENTITLED')
    await rejectsCode(net.principal.order.secret({}), 'REQUEST_INVALID')
  })
})
