/**
 * The bitcoinwallet plugin through the real services (test/unit/services/network.ts): the split
 * key with a beneficiary named at order time, named at redemption, or none — always with the
 * principal's share (PROTOCOL §7); the addresses, networks and commitments; who can and cannot
 * complete the key; shares bound to their order; the extension and beneficiary refusals.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { hexToBytes } from '@noble/hashes/utils.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { isDtaError } from '../../../src/errors.ts'
import { toHex } from '../../../src/crypto/hash.ts'
import { orderKeyFromSeed, p2pkhAddress, secpAddPublicKeys, secpPublicKey } from '../../../src/crypto/secp256k1.ts'
import type { Extension } from '../../../src/ports/common.ts'
import { bitcoinWalletPlugin, principalShareKey } from '../../../src/plugins/bitcoinwallet/index.ts'
import { decryptForIdentity } from '../../../src/services/identities.ts'
import { network, rejectsCode } from '../services/network.ts'
import type { Network, Node } from '../services/network.ts'

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

  async function storedShare (reference: string): Promise<Uint8Array> {
    const sealed = await net.principal.ctx.store.get(principalShareKey(reference))
    assert.ok(sealed instanceof Uint8Array, 'the principal keeps a sealed share')
    return await net.principal.ctx.unseal(principalShareKey(reference), sealed)
  }

  for (const coin of ['0', '1'] as const) {
    it(`coin ${coin}, no beneficiary: the principal's sealed share completes the key`, async () => {
      const order = await net.place({ coin })
      const view = await net.viewOf(order)
      assert.equal(view.coin, Number(coin))
      assert.deepEqual(view.extension, {}, 'nothing but coin goes into part 1')
      assert.deepEqual(Object.keys(order.extension), ['address'])
      assert.equal(order.commitment.length, 66)

      // the share is stored sealed under the plugin's scope, never raw
      const sealed = await net.principal.ctx.store.get(principalShareKey(order.orderReference))
      assert.ok(sealed instanceof Uint8Array)
      const share = await storedShare(order.orderReference)
      assert.equal(share.length, 32)
      assert.equal(Buffer.from(sealed).includes(Buffer.from(share)), false)
      await assert.rejects(net.principal.custody.unseal(principalShareKey(order.orderReference), sealed), 'sealed under the plugin-scoped record id')
      // commitment = K_f + K_p
      assert.equal(order.commitment, toHex(secpAddPublicKeys(view.part2!.commitmentPublicKey, secpPublicKey(share))))

      const r = await net.redeem(order.orderReference)
      checkRedeemed(r.secret!, r.commitment, r.extension.address!, order.commitment, order.extension.address!, coin)
      const kf = orderKeyFromSeed(await net.seedOf(order.orderReference)).privateKey
      assert.equal(scalar(r.secret!), (scalar(toHex(kf)) + scalar(toHex(share))) % N)
      assert.notEqual(r.secret, toHex(kf), 'the fiduciary share alone is not the key')
      // redeeming again gives the same key
      assert.equal((await net.redeem(order.orderReference)).secret, r.secret)
    })
  }

  it('beneficiary named at order time: fiduciary share + principal share + its identity key; it completes on its own node', async () => {
    const order = await net.place({ coin: '0' }, { beneficiary: net.beneficiary })
    const view = await net.viewOf(order)
    const share = await storedShare(order.orderReference)
    const expectedKey = secpAddPublicKeys(secpAddPublicKeys(view.part2!.commitmentPublicKey, secpPublicKey(share)), net.beneficiary.info.ecPublicKey)
    assert.equal(order.commitment, toHex(expectedKey))
    assert.notEqual(order.commitment, toHex(secpAddPublicKeys(view.part2!.commitmentPublicKey, net.beneficiary.info.ecPublicKey)), 'not k_f + k_b alone')

    // the principal's redemption releases to the beneficiary: no secret for the principal
    const atPrincipal = await net.redeem(order.orderReference, { beneficiary: net.beneficiary }) // the same beneficiary again is no change
    assert.equal(atPrincipal.secret, undefined)
    const part3 = await net.openAsFiduciary(atPrincipal.orderPart3CID)
    assert.equal(part3.orderPart3!.beneficiaryCid, '', 'part 3 names no one new')
    assert.ok(part3.orderPart3!.beneficiaryEncryptedData.length > 32, 'the principal share travels to the beneficiary')
    const r = await net.redeemOn(net.beneficiary, atPrincipal.orderPart4CID)
    checkRedeemed(r.secret!, r.commitment, r.extension.address!, order.commitment, order.extension.address!, '0')
    const kf = orderKeyFromSeed(await net.seedOf(order.orderReference)).privateKey
    assert.equal(scalar(r.secret!), (scalar(toHex(kf)) + scalar(toHex(share)) + scalar(toHex(net.beneficiary.held.keys.ecPrivateKey))) % N)
    // nobody else's node can open that part 4
    await rejectsCode(net.redeemOn(net.stranger, atPrincipal.orderPart4CID), 'ENVELOPE_NOT_A_RECIPIENT')
  })

  it('beneficiary named at redemption: the principal share travels encrypted to it alone, for this order alone', async () => {
    const order = await net.place({ coin: '1' })
    const released = await net.redeem(order.orderReference, { beneficiary: net.beneficiary })
    assert.equal(released.secret, undefined)
    const part3 = (await net.openAsFiduciary(released.orderPart3CID)).orderPart3!
    assert.equal(part3.beneficiaryCid, net.beneficiary.cid)
    const data = part3.beneficiaryEncryptedData
    const binding = { reference: order.orderReference, part2CID: order.orderPart2CID }
    // part 3 is readable by the fiduciary and the principal, but this field is for the beneficiary only
    for (const other of [net.fiduciary, net.principal, net.stranger] as Array<Pick<Node, 'held'>>) {
      assert.throws(() => decryptForIdentity(other.held, binding, data), (err: unknown) => isDtaError(err))
    }
    assert.deepEqual(decryptForIdentity(net.beneficiary.held, binding, data), await storedShare(order.orderReference))
    for (const other of [{ ...binding, reference: '0'.repeat(32) }, { ...binding, part2CID: order.orderPart1CID }]) {
      assert.throws(() => decryptForIdentity(net.beneficiary.held, other, data), (err: unknown) => isDtaError(err, 'CRYPTO_DECRYPT_FAILED'))
    }
    const r = await net.redeemOn(net.beneficiary, released.orderPart4CID)
    checkRedeemed(r.secret!, r.commitment, r.extension.address!, order.commitment, order.extension.address!, '1')
    // the beneficiary's node has no store entry of its own: the share came only through part 3
    assert.equal(await net.beneficiary.ctx.store.get(principalShareKey(order.orderReference)), undefined)
  })

  it('refuses to replace an order-time beneficiary (service, plugin, fiduciary), and a redemption for a beneficiary without the share', async () => {
    const order = await net.place({ coin: '0' }, { beneficiary: net.beneficiary })
    await rejectsCode(net.redeem(order.orderReference, { beneficiary: net.stranger }), 'ORDER_NOT_ENTITLED')
    const view = await net.viewOf(order)
    await rejectsCode(net.plugin.prepareRedemption(net.principal.ctx, { order: view, extension: {}, beneficiary: net.stranger.info }), 'PLUGIN_REFUSED')
    const forged = { ...view, part3: { cid: view.part1CID, beneficiaryCID: net.stranger.cid, beneficiaryEncryptedData: new Uint8Array(0), extension: {} } }
    await rejectsCode(net.plugin.checkRedemption(net.fiduciary.ctx, { order: forged }), 'PLUGIN_REFUSED')
    const orderTimeNoShare = { ...view, part3: { cid: view.part1CID, beneficiaryEncryptedData: new Uint8Array(0), extension: {} } }
    await rejectsCode(net.plugin.checkRedemption(net.fiduciary.ctx, { order: orderTimeNoShare }), 'PLUGIN_REFUSED')

    const plain = await net.viewOf(await net.place({ coin: '0' }))
    const noShare = { ...plain, part3: { cid: plain.part1CID, beneficiaryCID: net.stranger.cid, beneficiaryEncryptedData: new Uint8Array(0), extension: {} } }
    await rejectsCode(net.plugin.checkRedemption(net.fiduciary.ctx, { order: noShare }), 'PLUGIN_REFUSED')
    const withExtension = { ...plain, part3: { cid: plain.part1CID, beneficiaryEncryptedData: new Uint8Array(0), extension: { x: '1' } } }
    await rejectsCode(net.plugin.checkRedemption(net.fiduciary.ctx, { order: withExtension }), 'PLUGIN_BAD_EXTENSION')
  })

  it('a node without the principal share cannot hand it to a beneficiary', async () => {
    const view = await net.viewOf(await net.place({ coin: '0' }))
    await rejectsCode(net.plugin.prepareRedemption(net.stranger.ctx, { order: view, extension: {}, beneficiary: net.beneficiary.info }), 'PLUGIN_REFUSED')
  })

  it('bad coin, missing coin and unknown fields are PLUGIN_BAD_EXTENSION; the fiduciary refuses a bad part 1', async () => {
    const bad: Extension[] = [{}, { coin: '2' }, { coin: '' }, { coin: ' 0' }, { coin: '00' }, { coin: 'mainnet' }, { coin: '0', address: 'x' }, { plainText: 'x' }, { coin: 0 as unknown as string }]
    for (const extension of bad) await rejectsCode(net.place(extension), 'PLUGIN_BAD_EXTENSION')
    assert.deepEqual(await net.plugin.prepareOrder(net.principal.ctx, { reference: 'r', extension: { coin: '1' } }), { coin: 1 })
    const order = await net.place({ coin: '0' })
    const view = await net.viewOf(order)
    await rejectsCode(net.plugin.checkOrder(net.fiduciary.ctx, { ...view, coin: 2 }), 'PLUGIN_REFUSED')
    await rejectsCode(net.plugin.checkOrder(net.fiduciary.ctx, { ...view, extension: { plainText: 'leak' } }), 'PLUGIN_BAD_EXTENSION')
    await rejectsCode(net.redeem(order.orderReference, { extension: { coin: '0' } }), 'PLUGIN_BAD_EXTENSION')
  })
})
