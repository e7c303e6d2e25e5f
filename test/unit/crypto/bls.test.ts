/**
 * BLS (POP ciphersuite): Ethereum's published sign vectors, EIP-2333 KeyGen vectors, byte-for-byte
 * agreement of blst and @noble/curves under the same DST, never-throwing verification, and the
 * proof of possession (pairing check, domain separation from ordinary signatures).
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hkdfSync } from 'node:crypto'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import {
  _blsPublicKeyCacheSize, BLS_DST_POP, BLS_DST_SIGN, blsKeyGen, blsPopProve, blsPopVerify, blsPublicKey,
  blsSecretKeyFromBytes, blsSecretKeyToBytes, blsSign, blsVerify,
} from '../../../src/crypto/bls.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import vectors from '../../vectors/bls12381-pop.json' with { type: 'json' }

const noble = bls12_381.longSignatures
const h = (s: string): Uint8Array => hexToBytes(s.replace(/^0x/, ''))
const enc = new TextEncoder()

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isDtaError(err, code), `expected DtaError ${code}`)
}

test('ciphersuite constants', () => {
  assert.equal(BLS_DST_SIGN, 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_')
  assert.equal(BLS_DST_POP, 'BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_')
})

// ── published vectors ──────────────────────────────────────────────────────────────────────

for (const c of vectors.sign) {
  test(`Ethereum BLS sign vector ${c.name ?? '(zero private key)'}`, () => {
    if (c.output === null) {
      throwsCode(() => blsSecretKeyFromBytes(h(c.privkey)), 'CRYPTO_BAD_KEY')
      return
    }
    const sk = blsSecretKeyFromBytes(h(c.privkey))
    const sig = blsSign(sk, h(c.message))
    assert.equal(bytesToHex(sig), c.output.slice(2))
    assert.equal(blsVerify(blsPublicKey(sk), h(c.message), sig), true)
  })
}

test('published secret key → public key pairs', () => {
  for (const c of vectors.publicKeys) {
    const sk = blsSecretKeyFromBytes(h(c.privkey))
    assert.equal(bytesToHex(blsPublicKey(sk)), c.pubkey.slice(2))
    assert.equal(bytesToHex(blsSecretKeyToBytes(sk)), c.privkey.slice(2))
  }
})

test('KeyGen: EIP-2333 derive_master_SK vectors (IETF KeyGen with empty key_info)', () => {
  for (const c of vectors.keygenEip2333) {
    const sk = blsKeyGen(h(c.seed))
    assert.equal(BigInt('0x' + bytesToHex(blsSecretKeyToBytes(sk))), BigInt(c.master_SK))
  }
})

// Independent KeyGen per draft-irtf-cfrg-bls-signature-05 §2.3, to check the key_info parameter.
function referenceKeyGen (ikm: Uint8Array, keyInfo: Uint8Array): bigint {
  const r = bls12_381.fields.Fr.ORDER
  let salt: Uint8Array = enc.encode('BLS-SIG-KEYGEN-SALT-')
  for (;;) {
    salt = sha256(salt)
    const okm = new Uint8Array(hkdfSync('sha256', Buffer.concat([ikm, Uint8Array.of(0)]), salt, Buffer.concat([keyInfo, Uint8Array.of(0, 48)]), 48))
    const sk = BigInt('0x' + bytesToHex(okm)) % r
    if (sk !== 0n) return sk
  }
}

test('KeyGen with key_info matches an independent implementation, and key_info separates keys', () => {
  const ikm = randomBytes(32)
  for (const info of [new Uint8Array(0), enc.encode('milagro'), randomBytes(5)]) {
    const ours = BigInt('0x' + bytesToHex(blsSecretKeyToBytes(blsKeyGen(ikm, info))))
    assert.equal(ours, referenceKeyGen(ikm, info))
  }
  assert.notDeepEqual(blsSecretKeyToBytes(blsKeyGen(ikm)), blsSecretKeyToBytes(blsKeyGen(ikm, enc.encode('x'))))
})

test('KeyGen rejects short IKM with CRYPTO_BAD_SEED; bad secret key bytes are CRYPTO_BAD_KEY', () => {
  throwsCode(() => blsKeyGen(new Uint8Array(31)), 'CRYPTO_BAD_SEED')
  throwsCode(() => blsSecretKeyFromBytes(new Uint8Array(31)), 'CRYPTO_BAD_KEY')
  throwsCode(() => blsSecretKeyFromBytes(new Uint8Array(32).fill(0xff)), 'CRYPTO_BAD_KEY') // ≥ r
})

// ── cross-check blst against noble with the same DST ──────────────────────────────────────

test('blst and @noble/curves (same DST) agree byte for byte and verify each other', () => {
  for (let i = 0; i < 5; i++) {
    const sk = blsKeyGen(randomBytes(32))
    const skBytes = blsSecretKeyToBytes(sk)
    const msg = randomBytes(i * 17)
    const ours = blsSign(sk, msg)
    const theirsPoint = noble.sign(noble.hash(msg, BLS_DST_SIGN), skBytes)
    const theirs = noble.Signature.toBytes(theirsPoint)
    assert.deepEqual(ours, theirs)
    const pk = blsPublicKey(sk)
    assert.deepEqual(pk, noble.getPublicKey(skBytes).toBytes(true))
    assert.equal(noble.verify(noble.Signature.fromBytes(ours), noble.hash(msg, BLS_DST_SIGN), pk), true)
    assert.equal(blsVerify(pk, msg, theirs), true)
    // and a signature under noble's default (NUL) DST is a different signature
    assert.notDeepEqual(noble.Signature.toBytes(noble.sign(noble.hash(msg), skBytes)), ours)
  }
})

// ── verification failures never throw ──────────────────────────────────────────────────────

/** A compressed G1 encoding of a point on the curve but outside the prime-order subgroup. */
function nonSubgroupG1 (): Uint8Array {
  const Fp = bls12_381.fields.Fp
  for (let x = 1n; ; x++) {
    const y2 = Fp.add(Fp.mul(Fp.sqr(x), x), 4n)
    let y: bigint
    try { y = Fp.sqrt(y2) } catch { continue }
    if (Fp.sqr(y) !== y2) continue
    const bytes = hexToBytes(x.toString(16).padStart(96, '0'))
    bytes[0] |= 0x80 // compressed
    if (y > (Fp.ORDER - 1n) / 2n) bytes[0] |= 0x20 // sign of y
    return bytes
  }
}

test('blsVerify returns false (never throws) for bad keys, signatures and messages', () => {
  const sk = blsKeyGen(randomBytes(32))
  const pk = blsPublicKey(sk)
  const msg = enc.encode('hello')
  const sig = blsSign(sk, msg)
  assert.equal(blsVerify(pk, msg, sig), true)

  assert.equal(blsVerify(pk, enc.encode('hellO'), sig), false)
  assert.equal(blsVerify(blsPublicKey(blsKeyGen(randomBytes(32))), msg, sig), false)
  const flipped = sig.slice()
  flipped[50] ^= 1
  assert.equal(blsVerify(pk, msg, flipped), false)
  assert.equal(blsVerify(pk, msg, sig.subarray(0, 95)), false)
  assert.equal(blsVerify(pk.subarray(0, 47), msg, sig), false)
  assert.equal(blsVerify(new Uint8Array(48), msg, sig), false)
  assert.equal(blsVerify(pk, msg, new Uint8Array(96)), false)
  // point at infinity as public key and signature (KeyValidate / infinity checks)
  const infPk = new Uint8Array(48); infPk[0] = 0xc0
  const infSig = new Uint8Array(96); infSig[0] = 0xc0
  assert.equal(blsVerify(infPk, msg, infSig), false)
  assert.equal(blsVerify(pk, msg, infSig), false)
  // uncompressed (96-byte) public key encodings are not accepted
  assert.equal(blsVerify(noble.getPublicKey(blsSecretKeyToBytes(sk)).toBytes(false), msg, sig), false)
  // an on-curve public key outside the subgroup is rejected
  const bad = nonSubgroupG1()
  assert.throws(() => bls12_381.G1.Point.fromBytes(bad)) // noble agrees it is invalid
  assert.equal(blsVerify(bad, msg, sig), false)
  assert.equal(blsPopVerify(bad, blsPopProve(sk)), false)
  // nonsense types
  assert.equal(blsVerify(undefined as unknown as Uint8Array, msg, sig), false)
  assert.equal(blsVerify(pk, null as unknown as Uint8Array, sig), false)
  assert.equal(blsVerify(pk, msg, 'sig' as unknown as Uint8Array), false)
})

test('the validated public-key cache is bounded', () => {
  const msg = enc.encode('m')
  const junk = new Uint8Array(96)
  for (let i = 0; i < 300; i++) blsVerify(blsPublicKey(blsKeyGen(randomBytes(32))), msg, junk)
  const size = _blsPublicKeyCacheSize()
  assert.ok(size > 0 && size <= 256, `cache size ${size}`)
  // a cached key still verifies correctly
  const sk = blsKeyGen(randomBytes(32))
  const pk = blsPublicKey(sk)
  const sig = blsSign(sk, msg)
  assert.equal(blsVerify(pk, msg, sig), true)
  assert.equal(blsVerify(pk, msg, sig), true)
  assert.equal(blsVerify(pk, enc.encode('other'), sig), false)
})

// ── proof of possession ────────────────────────────────────────────────────────────────────

test('PoP round trip, and it is the IETF PopProve (pairing check with H_pop(pk))', () => {
  const sk = blsKeyGen(randomBytes(32))
  const pk = blsPublicKey(sk)
  const pop = blsPopProve(sk)
  assert.equal(pop.length, 96)
  assert.equal(blsPopVerify(pk, pop), true)
  // e(pk, H_pop(pk)) == e(G1, pop)
  const lhs = bls12_381.pairing(bls12_381.G1.Point.fromBytes(pk), noble.hash(pk, BLS_DST_POP))
  const rhs = bls12_381.pairing(bls12_381.G1.Point.BASE, noble.Signature.fromBytes(pop))
  assert.equal(bls12_381.fields.Fp12.eql(lhs, rhs), true)
  // deterministic
  assert.deepEqual(blsPopProve(sk), pop)
})

test('PoP domain separation: a signature on pk under the SIGN DST is not a PoP, and a PoP is not a signature', () => {
  const sk = blsKeyGen(randomBytes(32))
  const pk = blsPublicKey(sk)
  const signedPk = blsSign(sk, pk)
  assert.equal(blsVerify(pk, pk, signedPk), true)
  assert.equal(blsPopVerify(pk, signedPk), false)
  const pop = blsPopProve(sk)
  assert.equal(blsVerify(pk, pk, pop), false)
  assert.notDeepEqual(pop, signedPk)
})

test('PopVerify rejects other keys and malformed input with false, never throws', () => {
  const sk = blsKeyGen(randomBytes(32))
  const pk = blsPublicKey(sk)
  const pop = blsPopProve(sk)
  const other = blsPublicKey(blsKeyGen(randomBytes(32)))
  assert.equal(blsPopVerify(other, pop), false)
  const flipped = pop.slice()
  flipped[10] ^= 0x40
  assert.equal(blsPopVerify(pk, flipped), false)
  const infPk = new Uint8Array(48); infPk[0] = 0xc0
  const infSig = new Uint8Array(96); infSig[0] = 0xc0
  assert.equal(blsPopVerify(infPk, infSig), false)
  assert.equal(blsPopVerify(pk, infSig), false)
  assert.equal(blsPopVerify(pk, new Uint8Array(96)), false)
  assert.equal(blsPopVerify(pk, new Uint8Array(96).fill(0xff)), false)
  assert.equal(blsPopVerify(pk, pop.subarray(1)), false)
  assert.equal(blsPopVerify(pk.subarray(1), pop), false)
  assert.equal(blsPopVerify(undefined as unknown as Uint8Array, pop), false)
  assert.equal(blsPopVerify(pk, undefined as unknown as Uint8Array), false)
  assert.equal(blsPopVerify(pk, pop), true)
})

test('PopVerify remembers only proofs that verified (a failed proof stays failed)', () => {
  const sk = blsKeyGen(randomBytes(32))
  const pk = blsPublicKey(sk)
  const pop = blsPopProve(sk)
  const forged = blsSign(sk, pk) // right key, wrong DST
  for (let i = 0; i < 3; i++) {
    assert.equal(blsPopVerify(pk, forged), false)
    assert.equal(blsPopVerify(pk, pop), true)
  }
  const other = blsPublicKey(blsKeyGen(randomBytes(32)))
  assert.equal(blsPopVerify(other, pop), false) // the cache is keyed by key and proof together
})
