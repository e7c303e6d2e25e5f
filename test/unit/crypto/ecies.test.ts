/**
 * The 2019 D-TA ECIES: the original's vector decrypts, the documented format re-derived
 * independently, round trips, and a single error code for any damaged field.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createDecipheriv, createHmac } from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { eciesDecrypt, eciesEncrypt } from '../../../src/crypto/ecies.ts'
import type { EciesCiphertext } from '../../../src/crypto/ecies.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import amcl from '../../vectors/amcl-ecies.json' with { type: 'json' }

const enc = new TextEncoder()
const dec = new TextDecoder()

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isDtaError(err, code), `expected DtaError ${code}`)
}

const vector: EciesCiphertext = { v: hexToBytes(amcl.v), cypherText: hexToBytes(amcl.cypherText), t: hexToBytes(amcl.t) }

test('the original D-TA (AMCL) vector decrypts to its plainText', () => {
  assert.ok(amcl.source.length > 0)
  assert.equal(dec.decode(eciesDecrypt(hexToBytes(amcl.privateKey), vector)), amcl.plainText)
  assert.equal(Buffer.from(secp256k1.getPublicKey(hexToBytes(amcl.privateKey), false)).toString('hex'), amcl.publicKey)
})

test('an independent re-derivation of the vector agrees with the documented format', () => {
  // Z = x(u·W) = x(w·V); K = SHA-256(V ‖ Z ‖ 00000001 ‖ 000102); t = HMAC(K2, C)[0..12); AES-128-CBC, zero IV
  const z = secp256k1.getSharedSecret(hexToBytes(amcl.privateKey), vector.v, true).subarray(1)
  const k = sha256(Uint8Array.from([...vector.v, ...z, 0, 0, 0, 1, 0, 1, 2]))
  const t = createHmac('sha256', k.subarray(16)).update(vector.cypherText).digest().subarray(0, 12)
  assert.deepEqual(new Uint8Array(t), vector.t)
  const d = createDecipheriv('aes-128-cbc', k.subarray(0, 16), new Uint8Array(16))
  assert.equal(Buffer.concat([d.update(vector.cypherText), d.final()]).toString(), amcl.plainText)
})

test('round trip to compressed and uncompressed public keys, many lengths', () => {
  const sk = secp256k1.utils.randomSecretKey()
  for (const pk of [secp256k1.getPublicKey(sk, true), secp256k1.getPublicKey(sk, false)]) {
    for (const len of [0, 1, 15, 16, 17, 100]) {
      const pt = randomBytes(len)
      const c = eciesEncrypt(pk, pt)
      assert.equal(c.v.length, 65)
      assert.equal(c.v[0], 0x04)
      assert.equal(c.t.length, 12)
      assert.equal(c.cypherText.length, (Math.floor(len / 16) + 1) * 16) // PKCS#7 always pads
      assert.deepEqual(eciesDecrypt(sk, c), pt)
    }
  }
  const a = eciesEncrypt(secp256k1.getPublicKey(sk), enc.encode('x'))
  const b = eciesEncrypt(secp256k1.getPublicKey(sk), enc.encode('x'))
  assert.notDeepEqual(a.v, b.v) // fresh ephemeral key each time
})

test('a flipped byte anywhere in v, cypherText or t is CRYPTO_DECRYPT_FAILED', () => {
  const sk = hexToBytes(amcl.privateKey)
  for (const field of ['v', 'cypherText', 't'] as const) {
    for (let i = 0; i < vector[field].length; i++) {
      const bad = { ...vector, [field]: vector[field].slice() }
      bad[field][i] ^= 0x01
      throwsCode(() => eciesDecrypt(sk, bad), 'CRYPTO_DECRYPT_FAILED')
    }
  }
  assert.equal(dec.decode(eciesDecrypt(sk, vector)), amcl.plainText)
})

test('wrong key and malformed fields are CRYPTO_DECRYPT_FAILED; bad own keys are CRYPTO_BAD_KEY', () => {
  const sk = hexToBytes(amcl.privateKey)
  throwsCode(() => eciesDecrypt(secp256k1.utils.randomSecretKey(), vector), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => eciesDecrypt(sk, { ...vector, t: vector.t.subarray(0, 11) }), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => eciesDecrypt(sk, { ...vector, cypherText: vector.cypherText.subarray(0, 47) }), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => eciesDecrypt(sk, { ...vector, cypherText: new Uint8Array(0) }), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => eciesDecrypt(sk, { ...vector, v: vector.v.subarray(0, 64) }), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => eciesDecrypt(sk, { ...vector, v: secp256k1.getPublicKey(sk, true) }), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => eciesDecrypt(sk, { ...vector, v: 'zz' as unknown as Uint8Array }), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => eciesDecrypt(sk.subarray(1), vector), 'CRYPTO_BAD_KEY')
  throwsCode(() => eciesDecrypt(new Uint8Array(32), vector), 'CRYPTO_BAD_KEY')
  throwsCode(() => eciesEncrypt(new Uint8Array(64), enc.encode('x')), 'CRYPTO_BAD_KEY')
  const offCurve = new Uint8Array(65); offCurve[0] = 4; offCurve[64] = 1
  throwsCode(() => eciesEncrypt(offCurve, enc.encode('x')), 'CRYPTO_BAD_KEY')
})
