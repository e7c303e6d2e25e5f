/**
 * X-Wing: the draft-10 vectors, interop both ways with @noble/post-quantum, implicit rejection, and
 * typed errors for malformed keys and ciphertexts.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ml_kem768_x25519 as nobleXWing } from '@noble/post-quantum/hybrid.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import {
  xwingDecapsulate, xwingEncapsulate, xwingKeyPair,
  XWING_CIPHERTEXT_BYTES, XWING_PUBLIC_KEY_BYTES, XWING_SEED_BYTES, XWING_SHARED_SECRET_BYTES,
} from '../../../src/crypto/xwing.ts'
import type { XWingSecretKey } from '../../../src/crypto/xwing.ts'
import draft from '../../vectors/xwing-draft10.json' with { type: 'json' }

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isDtaError(err, code), `expected DtaError ${code}`)
}

test('sizes', () => {
  assert.equal(XWING_SEED_BYTES, 32)
  assert.equal(XWING_PUBLIC_KEY_BYTES, 1216)
  assert.equal(XWING_CIPHERTEXT_BYTES, 1120)
  assert.equal(XWING_SHARED_SECRET_BYTES, 32)
})

test('the vector file is the draft-10 format (32-byte seed = sk, 64-byte eseed)', () => {
  assert.ok(draft.source.includes('xwing-kem-10'))
  for (const v of draft.vectors) {
    assert.equal(v.seed, v.sk)
    assert.equal(v.seed.length, 64)
    assert.equal(v.eseed.length, 128)
    assert.equal(v.pk.length, 2 * 1216)
    assert.equal(v.ct.length, 2 * 1120)
  }
})

for (const [i, v] of draft.vectors.entries()) {
  test(`draft-10 Appendix C vector ${i + 1}: public key from seed, shared secret from the vector ciphertext`, () => {
    const { publicKey, secretKey } = xwingKeyPair(hexToBytes(v.seed))
    assert.equal(bytesToHex(publicKey), v.pk)
    assert.equal(bytesToHex(xwingDecapsulate(secretKey, hexToBytes(v.ct))), v.ss)
  })

  test(`draft-10 vector ${i + 1}: deterministic encapsulation with the vector's eseed (via noble) matches, and we decapsulate it`, () => {
    const { publicKey, secretKey } = xwingKeyPair(hexToBytes(v.seed))
    const { cipherText, sharedSecret } = nobleXWing.encapsulate(publicKey, hexToBytes(v.eseed))
    assert.equal(bytesToHex(cipherText), v.ct)
    assert.equal(bytesToHex(sharedSecret), v.ss)
    assert.deepEqual(xwingDecapsulate(secretKey, cipherText), sharedSecret)
  })
}

test('interop with @noble/post-quantum X-Wing: same public key; noble → ours and ours → noble', () => {
  for (let i = 0; i < 3; i++) {
    const seed = randomBytes(32)
    const { publicKey, secretKey } = xwingKeyPair(seed)
    assert.deepEqual(publicKey, nobleXWing.getPublicKey(seed))

    const fromNoble = nobleXWing.encapsulate(publicKey)
    assert.deepEqual(xwingDecapsulate(secretKey, fromNoble.cipherText), fromNoble.sharedSecret)

    const ours = xwingEncapsulate(publicKey)
    assert.equal(ours.ciphertext.length, 1120)
    assert.equal(ours.sharedSecret.length, 32)
    assert.deepEqual(nobleXWing.decapsulate(ours.ciphertext, seed), ours.sharedSecret)
    assert.deepEqual(xwingDecapsulate(secretKey, ours.ciphertext), ours.sharedSecret)
  }
})

test('encapsulation is randomized', () => {
  const { publicKey } = xwingKeyPair(randomBytes(32))
  const a = xwingEncapsulate(publicKey)
  const b = xwingEncapsulate(publicKey)
  assert.notDeepEqual(a.ciphertext, b.ciphertext)
  assert.notDeepEqual(a.sharedSecret, b.sharedSecret)
})

test('a tampered ciphertext gives a different secret, exactly as the reference (ML-KEM implicit rejection)', () => {
  const seed = randomBytes(32)
  const { publicKey, secretKey } = xwingKeyPair(seed)
  const { ciphertext, sharedSecret } = xwingEncapsulate(publicKey)
  for (const pos of [0, 500, 1087, 1088, 1119]) {
    const bad = ciphertext.slice()
    bad[pos] ^= 0x01
    const ss = xwingDecapsulate(secretKey, bad)
    assert.notDeepEqual(ss, sharedSecret)
    assert.deepEqual(ss, nobleXWing.decapsulate(bad, seed))
  }
  // the wrong secret key also decapsulates to something else
  assert.notDeepEqual(xwingDecapsulate(xwingKeyPair(randomBytes(32)).secretKey, ciphertext), sharedSecret)
})

test('wrong sizes and invalid keys are typed errors', () => {
  const { publicKey, secretKey } = xwingKeyPair(randomBytes(32))
  throwsCode(() => xwingKeyPair(new Uint8Array(31)), 'CRYPTO_BAD_SEED')
  throwsCode(() => xwingKeyPair(new Uint8Array(64)), 'CRYPTO_BAD_SEED')
  throwsCode(() => xwingEncapsulate(publicKey.subarray(1)), 'CRYPTO_BAD_KEY')
  throwsCode(() => xwingEncapsulate(new Uint8Array(1217)), 'CRYPTO_BAD_KEY')
  throwsCode(() => xwingDecapsulate(secretKey, new Uint8Array(1119)), 'CRYPTO_BAD_CIPHERTEXT')
  throwsCode(() => xwingDecapsulate(secretKey, new Uint8Array(1121)), 'CRYPTO_BAD_CIPHERTEXT')
  throwsCode(() => xwingDecapsulate({ kind: 'nope' } as unknown as XWingSecretKey, new Uint8Array(1120)), 'CRYPTO_BAD_KEY')

  // ML-KEM encapsulation-key check (FIPS 203 §7.2): coefficients ≥ q are refused
  const badMlKem = publicKey.slice()
  badMlKem.fill(0xff, 0, 384)
  throwsCode(() => xwingEncapsulate(badMlKem), 'CRYPTO_BAD_KEY')
  // a low-order X25519 component (all zero) cannot give a shared secret
  const lowOrder = publicKey.slice()
  lowOrder.fill(0, 1184)
  throwsCode(() => xwingEncapsulate(lowOrder), 'CRYPTO_BAD_KEY')
  // ... and neither can a low-order ct_X
  const ct = xwingEncapsulate(publicKey).ciphertext.slice()
  ct.fill(0, 1088)
  throwsCode(() => xwingDecapsulate(secretKey, ct), 'CRYPTO_BAD_CIPHERTEXT')
})

test('the secret key object holds no raw seed bytes and cannot be mistaken for data', () => {
  const seed = randomBytes(32)
  const { secretKey } = xwingKeyPair(seed)
  assert.equal(secretKey.kind, 'xwing-secret-key')
  assert.ok(Object.isFrozen(secretKey))
  const json = JSON.stringify(secretKey)
  assert.ok(!json.includes(bytesToHex(seed)))
  assert.equal(secretKey.x25519PublicKey.length, 32)
})

test('imported public key cache follows the bytes: an array changed after use encapsulates to its new key', async () => {
    const { xwingKeyPair: kp, xwingEncapsulate: enc, xwingDecapsulate: dec } = await import('../../../src/crypto/xwing.ts')
    const a = kp(new Uint8Array(32).fill(1)); const b = kp(new Uint8Array(32).fill(2))
    const pk = Uint8Array.from(a.publicKey)
    const first = enc(pk)
    assert.deepEqual(dec(a.secretKey, first.ciphertext), first.sharedSecret)
    pk.set(b.publicKey)
    const second = enc(pk)
    assert.deepEqual(dec(b.secretKey, second.ciphertext), second.sharedSecret)
    assert.notDeepEqual(dec(a.secretKey, second.ciphertext), second.sharedSecret)
})
