/**
 * secp256k1 helpers: Trezor BIP39 and BIP-0032 vectors, the 2019 order-key derivation, P2PKH known
 * answers, key addition, and the commitment proof of possession.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { HDKey } from '@scure/bip32'
import { entropyToMnemonic, mnemonicToSeedSync } from '@scure/bip39'
import { wordlist as english } from '@scure/bip39/wordlists/english.js'
import { isDtaError } from '../../../src/core/errors.ts'
import type { ErrorCode } from '../../../src/core/errors.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import {
  bip32Derive, bip39Seed, commitmentPopMessage, commitmentPopSign, commitmentPopVerify, mnemonicFromSeed,
  orderKeyFromSeed, p2pkhAddress, secpAddPrivateKeys, secpAddPublicKeys, secpPublicKey,
} from '../../../src/crypto/secp256k1.ts'
import bip32Vectors from '../../vectors/bip32.json' with { type: 'json' }
import bip39Vectors from '../../vectors/bip39-trezor.json' with { type: 'json' }
import p2pkh from '../../vectors/p2pkh.json' with { type: 'json' }

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isDtaError(err, code), `expected DtaError ${code}`)
}

const N = secp256k1.Point.Fn.ORDER
const scalarBytes = (n: bigint): Uint8Array => hexToBytes(n.toString(16).padStart(64, '0'))

// ── BIP39 ──────────────────────────────────────────────────────────────────────────────────

test('BIP39 Trezor vectors: entropy → mnemonic → seed (passphrase "TREZOR"), and the master xprv', () => {
  for (const [entropy, mnemonic, seed, xprv] of bip39Vectors.english) {
    assert.ok(entropy !== undefined && mnemonic !== undefined && seed !== undefined && xprv !== undefined)
    if (entropy.length === 64) assert.equal(mnemonicFromSeed(hexToBytes(entropy)), mnemonic)
    const ours = bip39Seed(mnemonic, bip39Vectors.passphrase)
    assert.equal(bytesToHex(ours), seed)
    assert.deepEqual(ours, mnemonicToSeedSync(mnemonic, bip39Vectors.passphrase))
    assert.equal(HDKey.fromMasterSeed(ours).privateExtendedKey, xprv)
    assert.deepEqual(bip32Derive(ours, 'm').privateKey, HDKey.fromExtendedKey(xprv).privateKey)
  }
})

test('bip39Seed: empty passphrase by default, NFKD normalisation, agrees with @scure/bip39', () => {
  const mnemonic = mnemonicFromSeed(randomBytes(32))
  assert.equal(mnemonic.split(' ').length, 24)
  assert.deepEqual(bip39Seed(mnemonic), mnemonicToSeedSync(mnemonic))
  assert.deepEqual(bip39Seed(mnemonic), bip39Seed(mnemonic, ''))
  const composed = 'caf\u00e9'
  const decomposed = 'cafe\u0301'
  assert.deepEqual(bip39Seed(mnemonic, composed), bip39Seed(mnemonic, decomposed))
  assert.deepEqual(bip39Seed(mnemonic, composed), mnemonicToSeedSync(mnemonic, composed))
  assert.notDeepEqual(bip39Seed(mnemonic, composed), bip39Seed(mnemonic))
})

test('mnemonicFromSeed agrees with @scure/bip39 entropyToMnemonic (random seeds, all-zero, all-one)', () => {
  const seeds = [new Uint8Array(32), new Uint8Array(32).fill(0xff), ...Array.from({ length: 200 }, () => randomBytes(32))]
  for (const seed of seeds) assert.equal(mnemonicFromSeed(seed), entropyToMnemonic(seed, english))
})

test('mnemonicFromSeed needs exactly 32 bytes', () => {
  throwsCode(() => mnemonicFromSeed(new Uint8Array(16)), 'CRYPTO_BAD_SEED')
  throwsCode(() => mnemonicFromSeed(new Uint8Array(33)), 'CRYPTO_BAD_SEED')
})

// ── BIP32 ──────────────────────────────────────────────────────────────────────────────────

for (const [i, v] of bip32Vectors.vectors.entries()) {
  test(`BIP32 test vector ${i + 1}`, () => {
    for (const c of v.chains) {
      const { privateKey, publicKey } = bip32Derive(hexToBytes(v.seed), c.path)
      assert.deepEqual(privateKey, HDKey.fromExtendedKey(c.xprv).privateKey, c.path)
      assert.deepEqual(publicKey, HDKey.fromExtendedKey(c.xpub).publicKey, c.path)
      assert.equal(publicKey.length, 33)
    }
  })
}

test('bip32Derive agrees with @scure/bip32 HDKey on random seeds and paths', () => {
  for (let i = 0; i < 40; i++) {
    const seed = randomBytes(16 + (i % 49))
    const steps = Array.from({ length: i % 7 }, (_, j) => `${(seed[j] ?? 0) * 7919 + j}${(seed[j + 1] ?? 0) & 1 ? "'" : ''}`)
    const path = ['m', ...steps].join('/')
    const ours = bip32Derive(seed, path)
    const reference = HDKey.fromMasterSeed(seed).derive(path)
    assert.deepEqual(ours.privateKey, reference.privateKey, path)
    assert.deepEqual(ours.publicKey, reference.publicKey, path)
  }
  assert.deepEqual(bip32Derive(hexToBytes(bip32Vectors.vectors[0]!.seed), "m/2147483647'/2147483647").privateKey,
    HDKey.fromMasterSeed(hexToBytes(bip32Vectors.vectors[0]!.seed)).derive("m/2147483647'/2147483647").privateKey)
})

test('bip32Derive keeps leading zero bytes of a parent private key (BIP32 vector 3\'s concern)', () => {
  let seed: Uint8Array
  do seed = randomBytes(32)
  while (HDKey.fromMasterSeed(seed).privateKey![0] !== 0)
  for (const path of ['m', "m/0'", "m/0'/1", 'm/1']) {
    const ours = bip32Derive(seed, path)
    assert.deepEqual(ours.privateKey, HDKey.fromMasterSeed(seed).derive(path).privateKey, path)
    assert.equal(ours.privateKey.length, 32)
  }
})

test('bip32Derive refuses malformed paths with CRYPTO_BAD_KEY', () => {
  const seed = randomBytes(32)
  for (const path of ['', 'x', 'M/0', 'm/', 'm//0', "m/0''", 'm/-1', 'm/1.5', 'm/2147483648', "m/2147483648'", 'm/0x1', "m/0h", ' m/0']) {
    throwsCode(() => bip32Derive(seed, path), 'CRYPTO_BAD_KEY')
  }
  throwsCode(() => bip32Derive(seed, null as unknown as string), 'CRYPTO_BAD_KEY')
})

test('bip32Derive rejects seeds outside 16–64 bytes', () => {
  throwsCode(() => bip32Derive(new Uint8Array(15)), 'CRYPTO_BAD_SEED')
  throwsCode(() => bip32Derive(new Uint8Array(65)), 'CRYPTO_BAD_SEED')
})

test('orderKeyFromSeed is the 2019 derivation: mnemonic → BIP39 seed (no passphrase) → m/44\'/0\'/0\'/0/0', () => {
  const seed = randomBytes(32)
  const ours = orderKeyFromSeed(seed)
  const reference = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonicFromSeed(seed))).derive("m/44'/0'/0'/0/0")
  assert.deepEqual(ours.privateKey, reference.privateKey)
  assert.deepEqual(ours.publicKey, reference.publicKey)
  assert.deepEqual(secpPublicKey(ours.privateKey), ours.publicKey)
  assert.notDeepEqual(orderKeyFromSeed(randomBytes(32)).privateKey, ours.privateKey)
  // Trezor 256-bit vector: its mnemonic and seed, then the default path, all through our code
  const [entropy, mnemonic] = bip39Vectors.english[2] ?? []
  assert.ok(entropy !== undefined && mnemonic !== undefined)
  const viaVector = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic)).derive("m/44'/0'/0'/0/0")
  assert.deepEqual(orderKeyFromSeed(hexToBytes(entropy)).privateKey, viaVector.privateKey)
})

// ── keys and addresses ─────────────────────────────────────────────────────────────────────

test('P2PKH known answers for private key 1', () => {
  for (const v of p2pkh.vectors) {
    const sk = hexToBytes(v.privateKey)
    assert.equal(bytesToHex(secpPublicKey(sk, false)), v.publicKeyUncompressed)
    assert.equal(bytesToHex(secpPublicKey(sk)), v.publicKeyCompressed)
    assert.equal(p2pkhAddress(hexToBytes(v.publicKeyUncompressed), 'mainnet'), v.mainnetUncompressed)
    assert.equal(p2pkhAddress(hexToBytes(v.publicKeyCompressed), 'mainnet'), v.mainnetCompressed)
    assert.equal(p2pkhAddress(hexToBytes(v.publicKeyCompressed), 'testnet'), v.testnetCompressed)
  }
})

test('p2pkhAddress rejects invalid keys and networks', () => {
  const pk = secpPublicKey(randomBytes(32).fill(1, 0, 1))
  throwsCode(() => p2pkhAddress(pk.subarray(1), 'mainnet'), 'CRYPTO_BAD_KEY')
  const offCurve = new Uint8Array(33); offCurve[0] = 2; offCurve[32] = 5
  throwsCode(() => p2pkhAddress(offCurve, 'mainnet'), 'CRYPTO_BAD_KEY')
  throwsCode(() => p2pkhAddress(pk, 'regtest' as 'mainnet'), 'BAD_REQUEST')
})

test('key addition: (a + b)G == aG + bG, in either encoding', () => {
  for (let i = 0; i < 10; i++) {
    const a = secp256k1.utils.randomSecretKey()
    const b = secp256k1.utils.randomSecretKey()
    const sum = secpAddPrivateKeys(a, b)
    assert.equal(sum.length, 32)
    const expected = secpPublicKey(sum)
    assert.deepEqual(secpAddPublicKeys(secpPublicKey(a), secpPublicKey(b)), expected)
    assert.deepEqual(secpAddPublicKeys(secpPublicKey(a, false), secpPublicKey(b)), expected)
    const aN = BigInt('0x' + bytesToHex(a))
    const bN = BigInt('0x' + bytesToHex(b))
    assert.deepEqual(sum, scalarBytes((aN + bN) % N))
  }
  // wrap-around mod n
  assert.deepEqual(secpAddPrivateKeys(scalarBytes(N - 1n), scalarBytes(2n)), scalarBytes(1n))
})

test('key addition refuses zero results and invalid inputs', () => {
  const a = secp256k1.utils.randomSecretKey()
  const negA = scalarBytes(N - BigInt('0x' + bytesToHex(a)))
  throwsCode(() => secpAddPrivateKeys(a, negA), 'CRYPTO_BAD_KEY')
  throwsCode(() => secpAddPublicKeys(secpPublicKey(a), secpPublicKey(negA)), 'CRYPTO_BAD_KEY')
  throwsCode(() => secpAddPrivateKeys(new Uint8Array(32), a), 'CRYPTO_BAD_KEY')
  throwsCode(() => secpAddPrivateKeys(scalarBytes(N), a), 'CRYPTO_BAD_KEY')
  throwsCode(() => secpAddPrivateKeys(a.subarray(1), a), 'CRYPTO_BAD_KEY')
  throwsCode(() => secpAddPublicKeys(new Uint8Array(33), secpPublicKey(a)), 'CRYPTO_BAD_KEY')
  throwsCode(() => secpPublicKey(new Uint8Array(32)), 'CRYPTO_BAD_KEY')
})

// ── commitment proof of possession ─────────────────────────────────────────────────────────

test('commitment PoP round trip, randomized, 64 bytes', () => {
  for (let i = 0; i < 8; i++) { // covers keys with both parities of Y
    const sk = secp256k1.utils.randomSecretKey()
    const pk = secpPublicKey(sk)
    const sig = commitmentPopSign(sk, 'ref-0123456789abcdef', 'QmPart1')
    assert.equal(sig.length, 64)
    assert.equal(commitmentPopVerify(pk, 'ref-0123456789abcdef', 'QmPart1', sig), true)
    const again = commitmentPopSign(sk, 'ref-0123456789abcdef', 'QmPart1')
    assert.notDeepEqual(again, sig) // fresh aux randomness
    assert.equal(commitmentPopVerify(pk, 'ref-0123456789abcdef', 'QmPart1', again), true)
  }
})

test('commitment PoP rejects wrong reference, CID, key or signature; never throws', () => {
  const sk = secp256k1.utils.randomSecretKey()
  const pk = secpPublicKey(sk)
  const sig = commitmentPopSign(sk, 'ref', 'QmA')
  assert.equal(commitmentPopVerify(pk, 'reF', 'QmA', sig), false)
  assert.equal(commitmentPopVerify(pk, 'ref', 'QmB', sig), false)
  // the length prefixes make the encoding injective: moving a character between fields changes the message
  assert.equal(commitmentPopVerify(pk, 'refQ', 'mA', sig), false)
  assert.notDeepEqual(commitmentPopMessage('ab', 'c'), commitmentPopMessage('a', 'bc'))
  assert.equal(commitmentPopVerify(secpPublicKey(secp256k1.utils.randomSecretKey()), 'ref', 'QmA', sig), false)
  const flipped = sig.slice()
  flipped[40] ^= 1
  assert.equal(commitmentPopVerify(pk, 'ref', 'QmA', flipped), false)
  assert.equal(commitmentPopVerify(pk, 'ref', 'QmA', sig.subarray(1)), false)
  assert.equal(commitmentPopVerify(pk.subarray(1), 'ref', 'QmA', sig), false)
  assert.equal(commitmentPopVerify(secpPublicKey(sk, false), 'ref', 'QmA', sig), false)
  const offCurve = new Uint8Array(33); offCurve[0] = 2; offCurve[32] = 5
  assert.equal(commitmentPopVerify(offCurve, 'ref', 'QmA', sig), false)
  assert.equal(commitmentPopVerify(pk, 'ref', 'QmA', new Uint8Array(64)), false)
  assert.equal(commitmentPopVerify(pk, 'ref', 'QmA', new Uint8Array(64).fill(0xff)), false)
  assert.equal(commitmentPopVerify(undefined as unknown as Uint8Array, 'ref', 'QmA', sig), false)
  assert.equal(commitmentPopVerify(pk, undefined as unknown as string, 'QmA', sig), false)
  assert.equal(commitmentPopVerify(pk, 'ref', 'QmA', sig), true)
  throwsCode(() => commitmentPopSign(new Uint8Array(32), 'ref', 'QmA'), 'CRYPTO_BAD_KEY')
})

test('commitment PoP is ECDSA over SHA-256, r ‖ s, low-S: an independent verifier agrees', () => {
  for (let i = 0; i < 8; i++) {
    const sk = secp256k1.utils.randomSecretKey()
    const pk = secpPublicKey(sk)
    const sig = commitmentPopSign(sk, `ref-${i}`, 'QmPart1')
    const digest = commitmentPopMessage(`ref-${i}`, 'QmPart1')
    assert.equal(secp256k1.verify(sig, digest, pk, { prehash: false, lowS: true }), true)
    const s = BigInt('0x' + bytesToHex(sig.subarray(32)))
    assert.ok(s > 0n && s <= N >> 1n)
  }
})

test('commitment PoP refuses the high-S twin of a valid signature, and s = 0', () => {
  const sk = secp256k1.utils.randomSecretKey()
  const pk = secpPublicKey(sk)
  const sig = commitmentPopSign(sk, 'ref', 'QmA')
  const s = BigInt('0x' + bytesToHex(sig.subarray(32)))
  const twin = Uint8Array.from([...sig.subarray(0, 32), ...scalarBytes(N - s)])
  // the twin is a valid ECDSA signature for a verifier that allows high S …
  assert.equal(secp256k1.verify(twin, commitmentPopMessage('ref', 'QmA'), pk, { prehash: false, lowS: false }), true)
  // … and refused here
  assert.equal(commitmentPopVerify(pk, 'ref', 'QmA', twin), false)
  assert.equal(commitmentPopVerify(pk, 'ref', 'QmA', Uint8Array.from([...sig.subarray(0, 32), ...new Uint8Array(32)])), false)
  assert.equal(commitmentPopVerify(pk, 'ref', 'QmA', sig), true)
})

test('commitment PoP message: SHA-256 of the tagged, length-prefixed encoding', () => {
  const enc = new TextEncoder()
  const lp = (s: string): number[] => { const b = enc.encode(s); return [0, 0, (b.length >> 8) & 0xff, b.length & 0xff, ...b] }
  const expected = sha256(Uint8Array.from([...lp('milagro-dta/commitment-pop/v1'), ...lp('r'), ...lp('Qm')]))
  assert.deepEqual(commitmentPopMessage('r', 'Qm'), expected)
})
