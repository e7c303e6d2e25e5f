/**
 * secp256k1 helpers: Trezor BIP39 and BIP-0032 vectors, the 2019 order-key derivation, P2PKH known
 * answers, key addition, and the commitment proof of possession (BIP-340, checked against the
 * published BIP-340 vectors by libsecp256k1 and by @noble/curves independently).
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js'
import { signSchnorr, verifySchnorr } from 'tiny-secp256k1'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { HDKey } from '@scure/bip32'
import { entropyToMnemonic, mnemonicToSeedSync } from '@scure/bip39'
import { wordlist as english } from '@scure/bip39/wordlists/english.js'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import {
  bip32Derive, bip39Seed, commitmentPopMessage, commitmentPopSign, commitmentPopVerify, mnemonicFromSeed,
  orderKeyFromSeed, p2pkhAddress, secpAddPrivateKeys, secpAddPublicKeys, secpPublicKey,
} from '../../../src/crypto/secp256k1.ts'
import type { CommitmentStatement } from '../../../src/crypto/secp256k1.ts'
import bip32Vectors from '../../vectors/bip32.json' with { type: 'json' }
import bip340 from '../../vectors/bip340.json' with { type: 'json' }
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
  for (let i = 0; i < 64; i++) {
    const sk = secp256k1.utils.randomSecretKey()
    assert.deepEqual(secpPublicKey(sk), secp256k1.getPublicKey(sk, true), 'libsecp256k1 and @noble/curves agree (compressed)')
    assert.deepEqual(secpPublicKey(sk, false), secp256k1.getPublicKey(sk, false), 'libsecp256k1 and @noble/curves agree (uncompressed)')
  }
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

const statement = (reference = 'ref-0123456789abcdef', part1CID = 'QmPart1', plugin = 'milagro'): CommitmentStatement => ({ reference, part1CID, plugin })

test('BIP-340 published vectors: libsecp256k1 (tiny-secp256k1) and @noble/curves agree with every one', () => {
  for (const v of bip340.vectors) {
    const pk = hexToBytes(v.publicKey); const m = hexToBytes(v.message); const sig = hexToBytes(v.signature)
    const native = (() => { try { return verifySchnorr(m, pk, sig) } catch { return false } })()
    assert.equal(native, v.valid, `vector ${v.index} (libsecp256k1)`)
    assert.equal(schnorr.verify(sig, m, pk), v.valid, `vector ${v.index} (noble)`)
    if (v.secretKey !== undefined) {
      assert.equal(bytesToHex(signSchnorr(m, hexToBytes(v.secretKey), hexToBytes(v.aux!))).toUpperCase(), v.signature, `vector ${v.index} signs`)
    }
  }
})

test('commitment PoP round trip, randomized, 64 bytes; @noble/curves verifies it independently', () => {
  for (let i = 0; i < 8; i++) { // covers keys with both parities of Y
    const sk = secp256k1.utils.randomSecretKey()
    const pk = secpPublicKey(sk)
    const sig = commitmentPopSign(sk, statement())
    assert.equal(sig.length, 64)
    assert.equal(commitmentPopVerify(pk, statement(), sig), true)
    assert.equal(schnorr.verify(sig, commitmentPopMessage(statement()), pk.subarray(1)), true)
    const again = commitmentPopSign(sk, statement())
    assert.notDeepEqual(again, sig) // fresh aux randomness
    assert.equal(commitmentPopVerify(pk, statement(), again), true)
  }
})

test('commitment PoP rejects another reference, CID, plugin, key or signature; never throws', () => {
  const sk = secp256k1.utils.randomSecretKey()
  const pk = secpPublicKey(sk)
  const sig = commitmentPopSign(sk, statement('ref', 'QmA', 'milagro'))
  assert.equal(commitmentPopVerify(pk, statement('reF', 'QmA', 'milagro'), sig), false)
  assert.equal(commitmentPopVerify(pk, statement('ref', 'QmB', 'milagro'), sig), false)
  assert.equal(commitmentPopVerify(pk, statement('ref', 'QmA', 'bitcoinwallet'), sig), false)
  // the length prefixes make the encoding injective: moving a character between fields changes the message
  assert.equal(commitmentPopVerify(pk, statement('refQ', 'mA', 'milagro'), sig), false)
  assert.notDeepEqual(commitmentPopMessage(statement('ab', 'c', 'p')), commitmentPopMessage(statement('a', 'bc', 'p')))
  assert.equal(commitmentPopVerify(secpPublicKey(secp256k1.utils.randomSecretKey()), statement('ref', 'QmA', 'milagro'), sig), false)
  const good = statement('ref', 'QmA', 'milagro')
  const flipped = sig.slice()
  flipped[40] ^= 1
  assert.equal(commitmentPopVerify(pk, good, flipped), false)
  assert.equal(commitmentPopVerify(pk, good, sig.subarray(1)), false)
  assert.equal(commitmentPopVerify(pk.subarray(1), good, sig), false)
  assert.equal(commitmentPopVerify(secpPublicKey(sk, false), good, sig), false)
  const badPrefix = pk.slice(); badPrefix[0] = 0x04
  assert.equal(commitmentPopVerify(badPrefix, good, sig), false)
  const offCurve = new Uint8Array(33); offCurve[0] = 2; offCurve[32] = 5
  assert.equal(commitmentPopVerify(offCurve, good, sig), false)
  assert.equal(commitmentPopVerify(pk, good, new Uint8Array(64)), false)
  assert.equal(commitmentPopVerify(pk, good, new Uint8Array(64).fill(0xff)), false)
  assert.equal(commitmentPopVerify(undefined as unknown as Uint8Array, good, sig), false)
  assert.equal(commitmentPopVerify(pk, { ...good, reference: undefined as unknown as string }, sig), false)
  assert.equal(commitmentPopVerify(pk, good, sig), true)
  throwsCode(() => commitmentPopSign(new Uint8Array(32), good), 'CRYPTO_BAD_KEY')
})

test('commitment PoP binds x(K): the key of the other Y parity (−K) verifies too, which proves the same knowledge', () => {
  const sk = secp256k1.utils.randomSecretKey()
  const pk = secpPublicKey(sk)
  const negated = pk.slice(); negated[0] ^= 0x01 // 02 <-> 03: the point −K
  const sig = commitmentPopSign(sk, statement())
  assert.equal(commitmentPopVerify(negated, statement(), sig), true)
  // … and the signer of −K holds n − sk, the same discrete log up to sign
  assert.deepEqual(secpPublicKey(scalarBytes(N - BigInt('0x' + bytesToHex(sk)))), negated)
})

test('commitment PoP message: BIP-340 tagged hash of the length-prefixed (reference, part 1 CID, plugin)', () => {
  const enc = new TextEncoder()
  const lp = (s: string): number[] => { const b = enc.encode(s); return [0, 0, (b.length >> 8) & 0xff, b.length & 0xff, ...b] }
  const tag = sha256(enc.encode('milagro-dta/commitment-pop/v2'))
  const expected = sha256(Uint8Array.from([...tag, ...tag, ...lp('r'), ...lp('Qm'), ...lp('milagro')]))
  assert.deepEqual(commitmentPopMessage(statement('r', 'Qm', 'milagro')), expected)
})
