/**
 * The safeguardsecret plugin: the round trip through the real services (test/unit/services/network.ts), the original
 * D-TA's ECIES vector through the plugin's own decryption helper, where the text never goes,
 * tampering, and the extension checks.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { hexToBytes } from '@noble/hashes/utils.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import type { Extension } from '../../../src/ports/common.ts'
import { isDtaError } from '../../../src/errors.ts'
import { eciesEncrypt } from '../../../src/crypto/ecies.ts'
import { toHex } from '../../../src/crypto/hash.ts'
import { orderKeyFromSeed, secpPublicKey } from '../../../src/crypto/secp256k1.ts'
import { MAX_EXTENSION_VALUE_CHARS } from '../../../src/ports/api.ts'
import {
  checkCiphertextExtension, decryptPlainText, encryptPlainText, MAX_FIELD_CHARS, MAX_PLAINTEXT_BYTES, safeguardSecretPlugin,
} from '../../../src/plugins/safeguardsecret/index.ts'
import amcl from '../../vectors/amcl-ecies.json' with { type: 'json' }
import { network, rejectsCode } from '../services/network.ts'
import type { Network } from '../services/network.ts'

const TEXT = 'The Qu1ck Br0wn F0x — ünïcödé ✓ 🦊'

function flipHex (hex: string, at: number): string {
  const c = hex[at] === '0' ? '1' : '0'
  return hex.slice(0, at) + c + hex.slice(at + 1)
}

describe('safeguardsecret plugin', () => {
  let net: Network
  before(async () => { net = await network(safeguardSecretPlugin()) })
  after(async () => { await net.close() })

  it('the original D-TA vector decrypts through the plugin\'s decryption path', () => {
    const fields = { cypherText: amcl.cypherText, v: amcl.v, t: amcl.t }
    assert.equal(decryptPlainText(hexToBytes(amcl.privateKey), fields), amcl.plainText)
    assert.equal(decryptPlainText(hexToBytes(amcl.privateKey), { cypherText: amcl.cypherText.toUpperCase(), v: amcl.v, t: amcl.t }), amcl.plainText)
    // and the plugin's encryption to the vector's key decrypts with that key
    const mine = encryptPlainText(hexToBytes(amcl.publicKey), amcl.plainText)
    assert.equal(decryptPlainText(hexToBytes(amcl.privateKey), { ...mine }), amcl.plainText)
    assert.notEqual(mine.v, amcl.v)
  })

  it('round trip: order → {cypherText, v, t}; redemption with them → plainText; secret is the commitment\'s key', async () => {
    const order = await net.place({ plainText: TEXT })
    const view = await net.viewOf(order)
    assert.deepEqual(view.extension, {}, 'the text is not recorded in part 1')
    const { commitment, extension } = order
    assert.deepEqual(Object.keys(extension).sort(), ['cypherText', 't', 'v'])
    assert.equal(commitment, toHex(view.part2!.commitmentPublicKey))
    assert.equal(extension.v!.length, 130)
    assert.equal(extension.t!.length, 24)
    assert.equal(JSON.stringify(order).includes('Qu1ck'), false)
    // the ciphertext decrypts under the order key (as the original's would)
    assert.equal(decryptPlainText(orderKeyFromSeed(await net.seedOf(order.orderReference)).privateKey, extension), TEXT)

    const r = await net.redeem(order.orderReference, { extension })
    const part3 = (await net.openAsFiduciary(r.orderPart3CID)).orderPart3!
    assert.deepEqual(part3.extension, {}, 'the ciphertext never goes to the fiduciary, which holds the order key')
    assert.equal(part3.beneficiaryEncryptedData.length, 0)
    assert.deepEqual(r.extension, { plainText: TEXT })
    assert.equal(r.commitment, commitment)
    assert.equal(toHex(secpPublicKey(hexToBytes(r.secret!))), commitment)

    // without the fields the redemption answers the key only
    const keyOnly = await net.redeem(order.orderReference)
    assert.deepEqual(keyOnly.extension, {})
    assert.equal(keyOnly.secret, r.secret)
  })

  it('a beneficiary redeems on its own node with the fields its client hands it', async () => {
    const order = await net.place({ plainText: 'for the beneficiary' }, { beneficiary: net.beneficiary })
    const released = await net.redeem(order.orderReference)
    assert.equal(released.secret, undefined)
    const r = await net.redeemOn(net.beneficiary, released.orderPart4CID, order.extension)
    assert.equal(r.extension.plainText, 'for the beneficiary')
    assert.equal(r.commitment, order.commitment)
  })

  it('the longest accepted text round trips, and its hex cypherText fits one API extension value; one byte more is refused', async () => {
    assert.equal(MAX_FIELD_CHARS, MAX_EXTENSION_VALUE_CHARS, 'the plugin and the HTTP schema agree on the longest field')
    const big = 'é'.repeat((MAX_PLAINTEXT_BYTES - 1) / 2) + 'a' // 2 bytes per é in UTF-8
    assert.equal(Buffer.byteLength(big), MAX_PLAINTEXT_BYTES)
    const order = await net.place({ plainText: big })
    assert.equal(order.extension.cypherText!.length, MAX_EXTENSION_VALUE_CHARS)
    const r = await net.redeem(order.orderReference, { extension: order.extension })
    assert.equal(r.extension.plainText, big)
    await rejectsCode(net.plugin.prepareOrder(net.principal.ctx, { reference: 'r', extension: { plainText: big + 'a' } }), 'PLUGIN_BAD_EXTENSION')
    await rejectsCode(net.plugin.prepareOrder(net.principal.ctx, { reference: 'r', extension: { plainText: 'é'.repeat(MAX_PLAINTEXT_BYTES / 2 + 1) } }), 'PLUGIN_BAD_EXTENSION')
  })

  it('a tampered cypherText, v or t is CRYPTO_DECRYPT_FAILED, and nothing is answered', async () => {
    const order = await net.place({ plainText: TEXT })
    const ext = order.extension
    for (const field of ['cypherText', 'v', 't'] as const) {
      for (const at of field === 'v' ? [2, 70, 129] : [0, ext[field]!.length - 1]) {
        const bad = { ...ext, [field]: flipHex(ext[field]!, at) }
        await rejectsCode(net.redeem(order.orderReference, { extension: bad }), 'CRYPTO_DECRYPT_FAILED')
      }
    }
    // another order's key does not open it
    const other = await net.place({ plainText: 'other' })
    await rejectsCode(net.redeem(other.orderReference, { extension: ext }), 'CRYPTO_DECRYPT_FAILED')
    // authentic bytes that are not UTF-8 text
    const sk = secp256k1.utils.randomSecretKey()
    const raw = encryptPlainText(secp256k1.getPublicKey(sk), 'x')
    assert.equal(decryptPlainText(sk, raw), 'x')
    const c = eciesEncrypt(secp256k1.getPublicKey(sk), Uint8Array.of(0x61, 0xff, 0x62))
    assert.throws(() => decryptPlainText(sk, { cypherText: toHex(c.cypherText), v: toHex(c.v), t: toHex(c.t) }),
      (err: unknown) => isDtaError(err, 'CRYPTO_DECRYPT_FAILED') && /UTF-8/.test((err as Error).message))
  })

  it('order extension: plainText required, non-empty, nothing else; the fiduciary refuses a part 1 with any field', async () => {
    const bad: Extension[] = [{}, { plainText: '' }, { plainText: 'x', coin: '0' }, { text: 'x' }, { plainText: 5 as unknown as string }]
    for (const extension of bad) {
      await rejectsCode(net.plugin.prepareOrder(net.principal.ctx, { reference: 'r', extension }), 'PLUGIN_BAD_EXTENSION')
    }
    assert.deepEqual(await net.plugin.prepareOrder(net.principal.ctx, { reference: 'r', extension: { plainText: 'x' } }), {})
    const view = await net.viewOf(await net.place({ plainText: 'x' }))
    await rejectsCode(net.plugin.checkOrder(net.fiduciary.ctx, { ...view, extension: { plainText: 'leaked' } }), 'PLUGIN_BAD_EXTENSION')
  })

  it('redemption extension: all three hex fields with the right lengths, or none', async () => {
    const order = await net.place({ plainText: TEXT })
    const view = await net.viewOf(order)
    const ext = order.extension as { cypherText: string, v: string, t: string }
    const bad: Extension[] = [
      { cypherText: ext.cypherText },
      { cypherText: ext.cypherText, v: ext.v },
      { ...ext, plainText: 'x' },
      { ...ext, cypherText: ext.cypherText + '0' },
      { ...ext, cypherText: ext.cypherText.slice(0, -2) },
      { ...ext, cypherText: '' },
      { ...ext, cypherText: 'zz' + ext.cypherText.slice(2) },
      { ...ext, v: ext.v.slice(0, -2) },
      { ...ext, v: '02' + ext.v.slice(2) },
      { ...ext, t: ext.t + '00' },
      { ...ext, t: ' ' + ext.t.slice(1) },
      { ...ext, cypherText: '00'.repeat(MAX_PLAINTEXT_BYTES + 17) },
    ]
    for (const extension of bad) {
      assert.throws(() => checkCiphertextExtension(extension), (err: unknown) => isDtaError(err, 'PLUGIN_BAD_EXTENSION'), JSON.stringify(extension).slice(0, 80))
      await rejectsCode(net.plugin.prepareRedemption(net.principal.ctx, { order: view, extension }), 'PLUGIN_BAD_EXTENSION')
      await rejectsCode(net.redeem(order.orderReference, { extension }), 'PLUGIN_BAD_EXTENSION')
    }
    const part3 = { cid: view.part1CID, beneficiaryEncryptedData: new Uint8Array(0), extension: { ...ext } }
    await rejectsCode(net.plugin.checkRedemption(net.fiduciary.ctx, { order: { ...view, part3 } }), 'PLUGIN_BAD_EXTENSION')
    assert.equal(checkCiphertextExtension({}), undefined)
  })
})
