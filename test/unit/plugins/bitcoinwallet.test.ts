/**
 * The bitcoinwallet plugin through whole simulated flows (harness.ts): the split key with a
 * beneficiary named at order time, named at redemption, or none — always with the principal's
 * share (PROTOCOL §7); the addresses, networks and commitments; who can and cannot complete the
 * key; shares bound to their order; the extension and beneficiary refusals.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { hexToBytes } from '@noble/hashes/utils.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import type { Extension } from '../../../src/ports/common.ts'
import { isDtaError } from '../../../src/errors.ts'
import { toHex } from '../../../src/crypto/hash.ts'
import {
  orderKeyFromSeed, p2pkhAddress, secpAddPrivateKeys, secpAddPublicKeys, secpPublicKey,
} from '../../../src/crypto/secp256k1.ts'

import { bitcoinWalletPlugin, principalShareKey } from '../../../src/plugins/bitcoinwallet/index.ts'
import { decryptForIdentity } from '../../../src/services/identities.ts'
import { bindingOf, completeRedemption, network, placeOrder, rejectsCode, requestRedemption } from './harness.ts'
import type { Network, TestNode } from './harness.ts'

const N = secp256k1.Point.Fn.ORDER
const scalar = (hex: string): bigint => BigInt('0x' + hex)

describe('bitcoinwallet plugin', () => {
  let net: Network
  before(async () => { net = await network(bitcoinWalletPlugin()) })
  after(async () => { await net.close() })

  function checkRedeemed (secret: string, commitment: string, address: string, orderCommitment: string, orderAddress: string, coin: '0' | '1'): void {
    assert.equal(commitment, orderCommitment)
    assert.equal(address, orderAddress)
    const sk = hexToBytes(secret)
    assert.equal(toHex(secpPublicKey(sk)), orderCommitment, 'the final private key belongs to the committed public key')
    assert.equal(p2pkhAddress(secpPublicKey(sk, false), coin === '0' ? 'mainnet' : 'testnet'), orderAddress, 'P2PKH of the uncompressed key')
    if (coin === '0') assert.match(address, /^1/)
    else assert.match(address, /^[mn]/)
  }

  for (const coin of ['0', '1'] as const) {
    it(`coin ${coin}, no beneficiary: the principal's sealed share completes the key`, async () => {
      const order = await placeOrder(net, { coin })
      assert.equal(order.view.coin, Number(coin))
      assert.deepEqual(order.view.extension, {}, 'nothing but coin goes into part 1')
      const { commitment, extension } = order.result
      assert.deepEqual(Object.keys(extension), ['address'])
      assert.equal(commitment.length, 66)

      // the share is stored sealed under the plugin's scope, never raw
      const sealed = await net.principal.ctx.store.get(principalShareKey(order.view.reference))
      assert.ok(sealed instanceof Uint8Array)
      const share = await net.principal.ctx.unseal(principalShareKey(order.view.reference), sealed)
      assert.equal(share.length, 32)
      assert.equal(Buffer.from(sealed).includes(Buffer.from(share)), false)
      await assert.rejects(net.principal.custody.unseal(principalShareKey(order.view.reference), sealed), 'sealed under the plugin-scoped record id')
      // commitment = K_f + K_p
      assert.equal(commitment, toHex(secpAddPublicKeys(order.view.part2!.commitmentPublicKey, secpPublicKey(share))))

      const view = await requestRedemption(net, order)
      assert.equal(view.part3!.beneficiaryEncryptedData.length, 0)
      const r = await completeRedemption(net, view, order.orderSeed, net.principal)
      checkRedeemed(r.secret, r.commitment, r.extension.address!, commitment, extension.address!, coin)
      assert.equal(r.secret, toHex(secpAddPrivateKeys(orderKeyFromSeed(order.orderSeed).privateKey, share)))
      assert.notEqual(r.secret, toHex(orderKeyFromSeed(order.orderSeed).privateKey), 'the fiduciary share alone is not the key')

      // completing again gives the same answer; the order side is idempotent too
      assert.deepEqual(await completeRedemption(net, view, order.orderSeed, net.principal), r)
      assert.deepEqual(await net.plugin.completeOrder(net.principal.ctx, { order: order.view, requestExtension: { coin } }), order.result)
    })
  }

  async function storedShare (reference: string): Promise<Uint8Array> {
    const sealed = await net.principal.ctx.store.get(principalShareKey(reference))
    assert.ok(sealed instanceof Uint8Array, 'the principal keeps a sealed share')
    return await net.principal.ctx.unseal(principalShareKey(reference), sealed)
  }

  it('beneficiary named at order time: fiduciary share + principal share + its identity key; it completes on its own node', async () => {
    const order = await placeOrder(net, { coin: '0' }, { beneficiary: net.beneficiary })
    const { commitment, extension } = order.result
    const share = await storedShare(order.view.reference)
    const expectedKey = secpAddPublicKeys(secpAddPublicKeys(order.view.part2!.commitmentPublicKey, secpPublicKey(share)), net.beneficiary.info.ecPublicKey)
    assert.equal(commitment, toHex(expectedKey))
    assert.notEqual(commitment, toHex(secpAddPublicKeys(order.view.part2!.commitmentPublicKey, net.beneficiary.info.ecPublicKey)), 'not k_f + k_b alone')

    const view = await requestRedemption(net, order)
    assert.equal(view.part3!.beneficiaryCID, undefined, 'part 3 names no one new')
    assert.ok(view.part3!.beneficiaryEncryptedData.length > 32, 'the principal share travels to the beneficiary')
    const r = await completeRedemption(net, view, order.orderSeed, net.beneficiary)
    checkRedeemed(r.secret, r.commitment, r.extension.address!, commitment, extension.address!, '0')
    const expected = (scalar(toHex(orderKeyFromSeed(order.orderSeed).privateKey)) + scalar(toHex(share)) + scalar(toHex(net.beneficiary.held.keys.ecPrivateKey))) % N
    assert.equal(scalar(r.secret), expected)

    // the same beneficiary named again at redemption is not a change
    const again = await requestRedemption(net, order, { beneficiary: net.beneficiary })
    assert.equal(again.part3!.beneficiaryCID, undefined)
    // the principal (or anyone without the beneficiary's key) cannot complete it
    await rejectsCode(completeRedemption(net, view, order.orderSeed, net.principal), 'PLUGIN_REFUSED')
  })

  it('beneficiary named at redemption: the principal share travels encrypted to it alone', async () => {
    const order = await placeOrder(net, { coin: '1' })
    const { commitment, extension } = order.result
    const view = await requestRedemption(net, order, { beneficiary: net.beneficiary })
    const data = view.part3!.beneficiaryEncryptedData
    assert.equal(view.part3!.beneficiaryCID, net.beneficiary.held.cid)
    assert.ok(data.length > 32)
    // part 3 is readable by the fiduciary and the principal, but this field is for the beneficiary only
    for (const other of [net.fiduciary, net.principal, net.stranger] as TestNode[]) {
      assert.throws(() => decryptForIdentity(other.held, bindingOf(view), data), (err: unknown) => isDtaError(err))
    }
    // and bound to this order: the beneficiary cannot open it for another reference or part 2
    assert.deepEqual(decryptForIdentity(net.beneficiary.held, bindingOf(view), data), await storedShare(order.view.reference))
    for (const binding of [{ ...bindingOf(view), reference: '0'.repeat(32) }, { ...bindingOf(view), part2CID: view.part1CID }]) {
      assert.throws(() => decryptForIdentity(net.beneficiary.held, binding, data), (err: unknown) => isDtaError(err, 'CRYPTO_DECRYPT_FAILED'))
    }
    const r = await completeRedemption(net, view, order.orderSeed, net.beneficiary)
    checkRedeemed(r.secret, r.commitment, r.extension.address!, commitment, extension.address!, '1')

    // the beneficiary's node has no store entry of its own: the share came only through part 3
    assert.equal(await net.beneficiary.ctx.store.get(principalShareKey(order.view.reference)), undefined)
    // a recipient that is not the beneficiary cannot use the beneficiary's part 3
    await rejectsCode(completeRedemption(net, view, order.orderSeed, net.principal), 'PLUGIN_REFUSED')
  })

  it('refuses to replace an order-time beneficiary (principal and fiduciary), and a redemption for a beneficiary without the share', async () => {
    const order = await placeOrder(net, { coin: '0' }, { beneficiary: net.beneficiary })
    await rejectsCode(net.plugin.prepareRedemption(net.principal.ctx, { order: order.view, extension: {}, beneficiary: net.stranger.info }), 'PLUGIN_REFUSED')
    const forged = { ...order.view, part3: { cid: order.view.part1CID, beneficiaryCID: net.stranger.held.cid, beneficiaryEncryptedData: new Uint8Array(0), extension: {} } }
    await rejectsCode(net.plugin.checkRedemption(net.fiduciary.ctx, { order: forged }), 'PLUGIN_REFUSED')
    const orderTimeNoShare = { ...order.view, part3: { cid: order.view.part1CID, beneficiaryEncryptedData: new Uint8Array(0), extension: {} } }
    await rejectsCode(net.plugin.checkRedemption(net.fiduciary.ctx, { order: orderTimeNoShare }), 'PLUGIN_REFUSED')

    const plain = await placeOrder(net, { coin: '0' })
    const noShare = { ...plain.view, part3: { cid: plain.view.part1CID, beneficiaryCID: net.stranger.held.cid, beneficiaryEncryptedData: new Uint8Array(0), extension: {} } }
    await rejectsCode(net.plugin.checkRedemption(net.fiduciary.ctx, { order: noShare }), 'PLUGIN_REFUSED')
    const withExtension = { ...plain.view, part3: { cid: plain.view.part1CID, beneficiaryEncryptedData: new Uint8Array(0), extension: { x: '1' } } }
    await rejectsCode(net.plugin.checkRedemption(net.fiduciary.ctx, { order: withExtension }), 'PLUGIN_BAD_EXTENSION')
  })

  it('a node without the principal share cannot complete an order without beneficiary', async () => {
    const order = await placeOrder(net, { coin: '0' })
    const view = await requestRedemption(net, order)
    await rejectsCode(completeRedemption(net, view, order.orderSeed, net.stranger), 'PLUGIN_REFUSED')
    await rejectsCode(net.plugin.prepareRedemption(net.stranger.ctx, { order: order.view, extension: {}, beneficiary: net.beneficiary.info }), 'PLUGIN_REFUSED')
  })

  it('bad coin, missing coin and unknown fields are PLUGIN_BAD_EXTENSION; the fiduciary refuses a bad part 1', async () => {
    const bad: Extension[] = [{}, { coin: '2' }, { coin: '' }, { coin: ' 0' }, { coin: '00' }, { coin: 'mainnet' }, { coin: '0', address: 'x' }, { plainText: 'x' }, { coin: 0 as unknown as string }]
    for (const extension of bad) {
      await rejectsCode(net.plugin.prepareOrder(net.principal.ctx, { reference: 'r', extension }), 'PLUGIN_BAD_EXTENSION')
    }
    assert.deepEqual(await net.plugin.prepareOrder(net.principal.ctx, { reference: 'r', extension: { coin: '1' } }), { coin: 1 })
    const order = await placeOrder(net, { coin: '0' })
    await rejectsCode(net.plugin.checkOrder(net.fiduciary.ctx, { ...order.view, coin: 2 }), 'PLUGIN_REFUSED')
    await rejectsCode(net.plugin.checkOrder(net.fiduciary.ctx, { ...order.view, extension: { plainText: 'leak' } }), 'PLUGIN_BAD_EXTENSION')
    await rejectsCode(net.plugin.prepareRedemption(net.principal.ctx, { order: order.view, extension: { coin: '0' } }), 'PLUGIN_BAD_EXTENSION')
    const view = await requestRedemption(net, order)
    await rejectsCode(completeRedemption(net, view, order.orderSeed, net.principal, { x: 'y' }), 'PLUGIN_BAD_EXTENSION')
  })
})
