/**
 * Hash, MAC and HKDF helpers against published known answers (FIPS 180/202, RFC 4231, RFC 5869)
 * and @noble/hashes, plus the byte utilities.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { sha3_256 as nobleSha3, shake256 as nobleShake } from '@noble/hashes/sha3.js'
import {
  concatBytes, hkdfExpandSha256, hkdfExtractSha256, hkdfSha256, hmacSha256, sha256, sha3_256, shake256,
  timingSafeEqual, toHex, utf8, wipe,
} from '../../../src/crypto/hash.ts'
import hkdf from '../../vectors/rfc5869-hkdf-sha256.json' with { type: 'json' }

test('sha256 and sha3-256 of "abc" (FIPS 180-2 / FIPS 202 examples)', () => {
  assert.equal(bytesToHex(sha256(utf8('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  assert.equal(bytesToHex(sha3_256(utf8('abc'))), '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532')
})

test('sha3-256 and shake256 agree with @noble/hashes', () => {
  const data = utf8('milagro')
  assert.deepEqual(sha3_256(data), nobleSha3(data))
  assert.deepEqual(shake256(data, 96), nobleShake(data, { dkLen: 96 }))
})

test('hmacSha256: RFC 4231 test case 2', () => {
  const mac = hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?'))
  assert.equal(bytesToHex(mac), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
})

for (const v of hkdf.vectors) {
  test(`HKDF-SHA256 ${v.name}`, () => {
    const ikm = hexToBytes(v.ikm)
    const salt = hexToBytes(v.salt)
    const info = hexToBytes(v.info)
    assert.equal(bytesToHex(hkdfSha256(ikm, salt, info, v.length)), v.okm)
    const prk = hkdfExtractSha256(salt, ikm)
    assert.equal(bytesToHex(prk), v.prk)
    assert.equal(bytesToHex(hkdfExpandSha256(prk, info, v.length)), v.okm)
  })
}

test('hkdfSha256 accepts strings as UTF-8 salt and info', () => {
  const ikm = new Uint8Array(32).fill(7)
  assert.deepEqual(hkdfSha256(ikm, 'salt', 'info', 32), hkdfSha256(ikm, utf8('salt'), utf8('info'), 32))
  assert.notDeepEqual(hkdfSha256(ikm, 'salt', 'info', 32), hkdfSha256(ikm, 'salt', 'other', 32))
})

test('hkdfExpandSha256 rejects lengths beyond 255 blocks', () => {
  assert.throws(() => hkdfExpandSha256(new Uint8Array(32), new Uint8Array(0), 255 * 32 + 1), RangeError)
  assert.equal(hkdfExpandSha256(new Uint8Array(32), new Uint8Array(0), 255 * 32).length, 255 * 32)
})

test('outputs are plain Uint8Arrays, not pooled Buffers', () => {
  for (const out of [sha256(utf8('x')), hmacSha256(utf8('k'), utf8('x')), hkdfSha256(utf8('k'), '', '', 16)]) {
    assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype)
    assert.equal(out.byteOffset, 0)
    assert.equal(out.buffer.byteLength, out.length)
  }
})

test('concatBytes, utf8, toHex', () => {
  assert.deepEqual(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)), Uint8Array.of(1, 2, 3))
  assert.deepEqual(concatBytes(), new Uint8Array(0))
  assert.deepEqual(utf8('é'), Uint8Array.of(0xc3, 0xa9))
  assert.equal(toHex(Uint8Array.of(0, 255, 16).subarray(1)), 'ff10')
})

test('timingSafeEqual: equal, different, different lengths', () => {
  assert.equal(timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true)
  assert.equal(timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false)
  assert.equal(timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3)), false)
  assert.equal(timingSafeEqual(new Uint8Array(0), new Uint8Array(0)), true)
})

test('wipe zeroes the buffer in place', () => {
  const b = Uint8Array.of(1, 2, 3)
  wipe(b)
  assert.deepEqual(b, new Uint8Array(3))
})
