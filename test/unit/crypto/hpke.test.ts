/**
 * HPKE: the generic labelled key schedule against RFC 9180 A.1.1, and our X-Wing suite round trip,
 * typed failures and interop both ways with @hpke/core + @hpke/hybridkem-x-wing.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createCipheriv, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto'
import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core'
import { XWing } from '@hpke/hybridkem-x-wing'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import {
  HPKE_AEAD_AES_256_GCM, HPKE_KDF_HKDF_SHA256, HPKE_KEM_XWING, hpkeOpen, hpkeSeal, hpkeSuiteId, keyScheduleBase,
  kemSuiteId, labeledExpand, labeledExtract,
} from '../../../src/crypto/hpke.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import { xwingKeyPair } from '../../../src/crypto/xwing.ts'
import rfc9180 from '../../vectors/rfc9180-a1-x25519-aes128gcm.json' with { type: 'json' }

const enc = new TextEncoder()
const EMPTY = new Uint8Array(0)

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isDtaError(err, code), `expected DtaError ${code}`)
}

test('suite ids', () => {
  assert.equal(HPKE_KEM_XWING, 0x647a)
  assert.equal(bytesToHex(hpkeSuiteId(HPKE_KEM_XWING, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_256_GCM)), bytesToHex(enc.encode('HPKE')) + '647a00010002')
  assert.equal(bytesToHex(kemSuiteId(0x0020)), bytesToHex(enc.encode('KEM')) + '0020')
})

// ── RFC 9180 A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM ─────────────────────

function x25519 (sk: Uint8Array, pk: Uint8Array): Uint8Array {
  const privateKey = createPrivateKey({ key: Buffer.from(sk), format: 'raw-private', asymmetricKeyType: 'x25519' })
  const publicKey = createPublicKey({ key: Buffer.from(pk), format: 'raw-public', asymmetricKeyType: 'x25519' })
  return new Uint8Array(diffieHellman({ privateKey, publicKey }))
}

function aes128GcmSeal (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: 16 })
  c.setAAD(aad)
  return new Uint8Array(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]))
}

for (const v of rfc9180.vectors) {
  const kemSuite = kemSuiteId(v.kem_id)
  const suiteId = hpkeSuiteId(v.kem_id, v.kdf_id, v.aead_id)
  const nk = v.aead_id === 1 ? 16 : 32

  test(`RFC 9180 A.1.1 (kem ${v.kem_id}, kdf ${v.kdf_id}, aead ${v.aead_id}): labelled DHKEM DeriveKeyPair and Encap`, () => {
    // DeriveKeyPair: dkp_prk = LabeledExtract("", "dkp_prk", ikm); sk = LabeledExpand(dkp_prk, "sk", "", 32)
    for (const [ikm, sk] of [[v.ikmE, v.skEm], [v.ikmR, v.skRm]] as const) {
      const dkpPrk = labeledExtract(kemSuite, EMPTY, 'dkp_prk', hexToBytes(ikm))
      assert.equal(bytesToHex(labeledExpand(kemSuite, dkpPrk, 'sk', EMPTY, 32)), sk)
    }
    // Encap/Decap: eae_prk = LabeledExtract("", "eae_prk", dh); shared_secret = LabeledExpand(eae_prk, "shared_secret", enc ‖ pkRm, 32)
    const dh = x25519(hexToBytes(v.skEm), hexToBytes(v.pkRm))
    assert.deepEqual(x25519(hexToBytes(v.skRm), hexToBytes(v.pkEm)), dh)
    const eaePrk = labeledExtract(kemSuite, EMPTY, 'eae_prk', dh)
    const kemContext = Uint8Array.from([...hexToBytes(v.enc), ...hexToBytes(v.pkRm)])
    assert.equal(bytesToHex(labeledExpand(kemSuite, eaePrk, 'shared_secret', kemContext, 32)), v.shared_secret)
  })

  test(`RFC 9180 A.1.1: key schedule, encryptions and exports from shared_secret and info`, () => {
    const sharedSecret = hexToBytes(v.shared_secret)
    const ks = keyScheduleBase(suiteId, sharedSecret, hexToBytes(v.info), nk, 12)
    assert.equal(bytesToHex(ks.keyScheduleContext), v.key_schedule_context)
    assert.equal(bytesToHex(labeledExtract(suiteId, sharedSecret, 'secret', EMPTY)), v.secret)
    assert.equal(bytesToHex(ks.key), v.key)
    assert.equal(bytesToHex(ks.baseNonce), v.base_nonce)
    assert.equal(bytesToHex(ks.exporterSecret), v.exporter_secret)

    for (const e of v.encryptions) {
      const nonce = ks.baseNonce.slice()
      nonce[11] ^= e.sequence_number // sequence numbers < 256 only touch the last byte
      assert.equal(bytesToHex(nonce), e.nonce)
      assert.equal(bytesToHex(aes128GcmSeal(ks.key, nonce, hexToBytes(e.aad), hexToBytes(e.pt))), e.ct)
    }
    // Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L)
    for (const x of v.exports) {
      assert.equal(bytesToHex(labeledExpand(suiteId, ks.exporterSecret, 'sec', hexToBytes(x.exporter_context), x.L)), x.exported_value)
    }
  })
}

test('the key schedule depends on the suite id, shared secret and info', () => {
  const suite = hpkeSuiteId(HPKE_KEM_XWING, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_256_GCM)
  const other = hpkeSuiteId(0x0020, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_256_GCM)
  const ss = randomBytes(32)
  const base = keyScheduleBase(suite, ss, enc.encode('a'), 32, 12)
  assert.notDeepEqual(keyScheduleBase(other, ss, enc.encode('a'), 32, 12).key, base.key)
  assert.notDeepEqual(keyScheduleBase(suite, randomBytes(32), enc.encode('a'), 32, 12).key, base.key)
  assert.notDeepEqual(keyScheduleBase(suite, ss, enc.encode('b'), 32, 12).key, base.key)
  assert.deepEqual(keyScheduleBase(suite, ss, enc.encode('a'), 32, 12).key, base.key)
})

// ── our suite ─────────────────────────────────────────────────────────────────────────────

test('seal/open round trip', () => {
  const { publicKey, secretKey } = xwingKeyPair(randomBytes(32))
  const info = enc.encode('milagro-dta/test/info')
  const aad = enc.encode('header')
  for (const pt of [EMPTY, enc.encode('a content key, 32 bytes long....'), randomBytes(10_000)]) {
    const { enc: encapsulated, ciphertext } = hpkeSeal(publicKey, info, aad, pt)
    assert.equal(encapsulated.length, 1120)
    assert.equal(ciphertext.length, pt.length + 16)
    assert.deepEqual(hpkeOpen(secretKey, encapsulated, info, aad, ciphertext), pt)
  }
})

test('open fails with typed errors: bad enc length, wrong info/aad/recipient, tampering', () => {
  const { publicKey, secretKey } = xwingKeyPair(randomBytes(32))
  const info = enc.encode('info')
  const aad = enc.encode('aad')
  const sealed = hpkeSeal(publicKey, info, aad, enc.encode('secret'))
  throwsCode(() => hpkeOpen(secretKey, sealed.enc.subarray(1), info, aad, sealed.ciphertext), 'CRYPTO_BAD_CIPHERTEXT')
  throwsCode(() => hpkeOpen(secretKey, new Uint8Array(1121), info, aad, sealed.ciphertext), 'CRYPTO_BAD_CIPHERTEXT')
  throwsCode(() => hpkeOpen(secretKey, sealed.enc, enc.encode('inf0'), aad, sealed.ciphertext), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => hpkeOpen(secretKey, sealed.enc, info, enc.encode('aaD'), sealed.ciphertext), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => hpkeOpen(xwingKeyPair(randomBytes(32)).secretKey, sealed.enc, info, aad, sealed.ciphertext), 'CRYPTO_DECRYPT_FAILED')
  const badEnc = sealed.enc.slice()
  badEnc[7] ^= 1
  throwsCode(() => hpkeOpen(secretKey, badEnc, info, aad, sealed.ciphertext), 'CRYPTO_DECRYPT_FAILED')
  const badCt = sealed.ciphertext.slice()
  badCt[0] ^= 1
  throwsCode(() => hpkeOpen(secretKey, sealed.enc, info, aad, badCt), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => hpkeOpen(secretKey, sealed.enc, info, aad, sealed.ciphertext.subarray(0, 10)), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => hpkeSeal(publicKey.subarray(0, 1215), info, aad, EMPTY), 'CRYPTO_BAD_KEY')
  assert.deepEqual(hpkeOpen(secretKey, sealed.enc, info, aad, sealed.ciphertext), enc.encode('secret'))
})

// ── interop with @hpke/core + @hpke/hybridkem-x-wing (same kem/kdf/aead ids) ──────────────────

function theirSuite (): CipherSuite {
  return new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Aes256Gcm() })
}

test('interop: @hpke seals → we open', async () => {
  const seed = randomBytes(32)
  const { publicKey, secretKey } = xwingKeyPair(seed)
  const suite = theirSuite()
  const recipientPublicKey = await suite.kem.importKey('raw', publicKey.slice().buffer, true)
  const info = enc.encode('info: suite 1 / recipient Qm...')
  const aad = enc.encode('aad')
  const pt = randomBytes(32)
  const sealed = await suite.seal({ recipientPublicKey, info: info.slice().buffer }, pt.slice().buffer, aad.slice().buffer)
  const opened = hpkeOpen(secretKey, new Uint8Array(sealed.enc), info, aad, new Uint8Array(sealed.ct))
  assert.deepEqual(opened, pt)
})

test('interop: we seal → @hpke opens', async () => {
  const seed = randomBytes(32)
  const { publicKey } = xwingKeyPair(seed)
  const suite = theirSuite()
  const recipientKey = await suite.kem.importKey('raw', seed.slice().buffer, false)
  const info = enc.encode('another info')
  const aad = enc.encode('another aad')
  const pt = randomBytes(48)
  const sealed = hpkeSeal(publicKey, info, aad, pt)
  const opened = await suite.open({ recipientKey, enc: sealed.enc.slice().buffer, info: info.slice().buffer }, sealed.ciphertext.slice().buffer, aad.slice().buffer)
  assert.deepEqual(new Uint8Array(opened), pt)
  // and their open fails when we bind a different info
  const other = hpkeSeal(publicKey, enc.encode('different'), aad, pt)
  await assert.rejects(suite.open({ recipientKey, enc: other.enc.slice().buffer, info: info.slice().buffer }, other.ciphertext.slice().buffer, aad.slice().buffer))
})
