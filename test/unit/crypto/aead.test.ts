/**
 * AES-256-GCM: the GCM specification's AES-256 test cases, round trips, and one error code for
 * every kind of tampering (including truncated tags).
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { aes256GcmDecrypt, aes256GcmEncrypt, AES_GCM_NONCE_BYTES, AES_GCM_TAG_BYTES } from '../../../src/crypto/aead.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import gcm from '../../vectors/aes-256-gcm.json' with { type: 'json' }

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isDtaError(err, code), `expected DtaError ${code}`)
}

test('constants', () => {
  assert.equal(AES_GCM_NONCE_BYTES, 12)
  assert.equal(AES_GCM_TAG_BYTES, 16)
})

for (const v of gcm.vectors) {
  test(`AES-256-GCM known answer: GCM specification ${v.name}`, () => {
    const key = hexToBytes(v.key)
    const iv = hexToBytes(v.iv)
    const aad = hexToBytes(v.aad)
    const ct = aes256GcmEncrypt(key, iv, hexToBytes(v.pt), aad)
    assert.equal(bytesToHex(ct), v.ct + v.tag)
    assert.equal(bytesToHex(aes256GcmDecrypt(key, iv, hexToBytes(v.ct + v.tag), aad)), v.pt)
  })
}

test('round trip, including an empty plaintext and empty AAD', () => {
  const key = randomBytes(32)
  const nonce = randomBytes(12)
  for (const pt of [new Uint8Array(0), Uint8Array.of(1, 2, 3), randomBytes(100_000)]) {
    const ct = aes256GcmEncrypt(key, nonce, pt, new Uint8Array(0))
    assert.equal(ct.length, pt.length + 16)
    assert.deepEqual(aes256GcmDecrypt(key, nonce, ct, new Uint8Array(0)), pt)
  }
})

test('any tampering fails with CRYPTO_DECRYPT_FAILED', () => {
  const key = randomBytes(32)
  const nonce = randomBytes(12)
  const aad = Uint8Array.of(9, 9)
  const ct = aes256GcmEncrypt(key, nonce, Uint8Array.of(1, 2, 3, 4), aad)
  for (let i = 0; i < ct.length; i++) {
    const bad = ct.slice()
    bad[i] ^= 0x01
    throwsCode(() => aes256GcmDecrypt(key, nonce, bad, aad), 'CRYPTO_DECRYPT_FAILED')
  }
  throwsCode(() => aes256GcmDecrypt(key, nonce, ct, Uint8Array.of(9)), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => aes256GcmDecrypt(randomBytes(32), nonce, ct, aad), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => aes256GcmDecrypt(key, randomBytes(12), ct, aad), 'CRYPTO_DECRYPT_FAILED')
  // truncated tags must not be accepted (Node would accept a short tag unless the length is pinned)
  throwsCode(() => aes256GcmDecrypt(key, nonce, ct.subarray(0, ct.length - 4), aad), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => aes256GcmDecrypt(key, nonce, ct.subarray(0, 15), aad), 'CRYPTO_DECRYPT_FAILED')
  throwsCode(() => aes256GcmDecrypt(key, nonce.subarray(0, 8), ct, aad), 'CRYPTO_DECRYPT_FAILED')
  assert.deepEqual(aes256GcmDecrypt(key, nonce, ct, aad), Uint8Array.of(1, 2, 3, 4))
})

test('wrong key length is CRYPTO_BAD_KEY, wrong nonce length on encrypt is INTERNAL (a bug)', () => {
  throwsCode(() => aes256GcmEncrypt(randomBytes(16), randomBytes(12), new Uint8Array(1), new Uint8Array(0)), 'CRYPTO_BAD_KEY')
  throwsCode(() => aes256GcmDecrypt(randomBytes(31), randomBytes(12), new Uint8Array(32), new Uint8Array(0)), 'CRYPTO_BAD_KEY')
  throwsCode(() => aes256GcmEncrypt(randomBytes(32), randomBytes(16), new Uint8Array(1), new Uint8Array(0)), 'INTERNAL')
})

test('the same key and nonce with different plaintexts give different ciphertexts (sanity)', () => {
  const key = randomBytes(32)
  const nonce = randomBytes(12)
  assert.notDeepEqual(aes256GcmEncrypt(key, nonce, Uint8Array.of(1), new Uint8Array(0)), aes256GcmEncrypt(key, nonce, Uint8Array.of(2), new Uint8Array(0)))
})
