/**
 * secp256k1 for order keys and the plugins: the 2019 D-TA derivation of an order key from its
 * 32-byte order seed (seed → BIP39 English 24-word mnemonic → BIP39 seed with an empty passphrase
 * → BIP32 m/44'/0'/0'/0/0), key arithmetic for split keys, P2PKH addresses, and the commitment
 * proof of possession of PROTOCOL §5.
 *
 * BIP39's PBKDF2-HMAC-SHA512 (2048 rounds) runs on `node:crypto` (native, several times faster than
 * the pure-JS path); @scure/bip39 gives the wordlist encoding, @scure/bip32 the derivation,
 * @noble/curves the curve arithmetic and BIP-340 Schnorr, @scure/base the base58check, and
 * @noble/hashes RIPEMD-160 (OpenSSL 3 may leave it to the legacy provider, so not node:crypto).
 *
 * Commitment proof of possession: a BIP-340 Schnorr signature by the commitment key over
 *   SHA-256( len ‖ "milagro-dta/commitment-pop/v1" ‖ len ‖ reference ‖ len ‖ part1Cid )
 * where each len is the UTF-8 byte length as a 4-byte big-endian integer. The length prefixes make
 * the encoding injective; the tag separates it from every other signature this key could make.
 * BIP-340 verifies against the x-only key, i.e. the 33-byte key without its parity byte; a proof
 * of the discrete log of −P is one of P, so this loses nothing for the split-key check.
 * @module
 */
import { pbkdf2Sync } from 'node:crypto'
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js'
import { ripemd160 } from '@noble/hashes/legacy.js'
import { createBase58check } from '@scure/base'
import { HDKey } from '@scure/bip32'
import { entropyToMnemonic } from '@scure/bip39'
import { wordlist as english } from '@scure/bip39/wordlists/english.js'
import { DtaError } from '../core/errors.ts'
import { concatBytes, fromBuffer, sha256, utf8, wipe } from './hash.ts'
import { randomBytes } from './random.ts'

export const ORDER_SEED_BYTES = 32
export const SECP_PRIVATE_KEY_BYTES = 32
export const SECP_COMPRESSED_PUBLIC_KEY_BYTES = 33
export const SECP_UNCOMPRESSED_PUBLIC_KEY_BYTES = 65
export const SCHNORR_SIGNATURE_BYTES = 64
/** BIP44 path of the first receiving key of account 0, coin 0 — what the 2019 D-TA used. */
export const DEFAULT_BIP32_PATH = "m/44'/0'/0'/0/0"
export const COMMITMENT_POP_TAG = 'milagro-dta/commitment-pop/v1'

const Point = secp256k1.Point
const Fn = Point.Fn
const base58check = createBase58check(sha256)

// ── BIP39 / BIP32 ───────────────────────────────────────────────────────────────────────────

/** The BIP39 English mnemonic of 32 bytes of entropy (24 words). */
export function mnemonicFromSeed (seed32: Uint8Array): string {
  if (seed32.length !== ORDER_SEED_BYTES) throw new DtaError('CRYPTO_BAD_SEED', `order seed must be ${ORDER_SEED_BYTES} bytes`)
  return entropyToMnemonic(seed32, english)
}

/** BIP39 mnemonic → 64-byte seed: PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" ‖ passphrase, both NFKD. */
export function bip39Seed (mnemonic: string, passphrase = ''): Uint8Array {
  const password = utf8(mnemonic.normalize('NFKD'))
  const salt = utf8(`mnemonic${passphrase.normalize('NFKD')}`)
  const out = pbkdf2Sync(password, salt, 2048, 64, 'sha512')
  try {
    return fromBuffer(out)
  } finally {
    out.fill(0)
    wipe(password)
  }
}

/** BIP32 derivation from a 16–64-byte seed along `path`: the private key and the 33-byte compressed public key. */
export function bip32Derive (seed: Uint8Array, path = DEFAULT_BIP32_PATH): { privateKey: Uint8Array, publicKey: Uint8Array } {
  let root: HDKey
  try {
    root = HDKey.fromMasterSeed(seed)
  } catch (err) {
    throw new DtaError('CRYPTO_BAD_SEED', 'BIP32 seed must be 16 to 64 bytes', { cause: err })
  }
  let child: HDKey
  try {
    child = root.derive(path)
  } catch (err) {
    root.wipePrivateData()
    // A malformed path is a caller bug; an invalid child key has probability ~2^-127.
    throw new DtaError('CRYPTO_BAD_KEY', 'BIP32 derivation failed', { cause: err })
  }
  const privateKey = child.privateKey
  const publicKey = child.publicKey
  if (privateKey === null || publicKey === null) throw new DtaError('INTERNAL', 'BIP32 derivation gave no private key')
  const out = { privateKey: new Uint8Array(privateKey), publicKey: new Uint8Array(publicKey) }
  child.wipePrivateData()
  root.wipePrivateData()
  return out
}

/** The 2019 D-TA order key: bip32Derive(bip39Seed(mnemonicFromSeed(seed))) at m/44'/0'/0'/0/0. */
export function orderKeyFromSeed (seed32: Uint8Array): { privateKey: Uint8Array, publicKey: Uint8Array } {
  const seed = bip39Seed(mnemonicFromSeed(seed32))
  try {
    return bip32Derive(seed)
  } finally {
    wipe(seed)
  }
}

// ── key arithmetic ──────────────────────────────────────────────────────────────────────────

function scalarOf (privateKey: Uint8Array): bigint {
  if (privateKey.length !== SECP_PRIVATE_KEY_BYTES || !secp256k1.utils.isValidSecretKey(privateKey)) {
    throw new DtaError('CRYPTO_BAD_KEY', 'not a valid secp256k1 private key')
  }
  return Fn.fromBytes(privateKey)
}

function pointOf (publicKey: Uint8Array): InstanceType<typeof Point> {
  if (publicKey.length !== SECP_COMPRESSED_PUBLIC_KEY_BYTES && publicKey.length !== SECP_UNCOMPRESSED_PUBLIC_KEY_BYTES) {
    throw new DtaError('CRYPTO_BAD_KEY', 'secp256k1 public key must be 33 or 65 bytes')
  }
  try {
    return Point.fromBytes(publicKey)
  } catch (err) {
    throw new DtaError('CRYPTO_BAD_KEY', 'not a valid secp256k1 public key', { cause: err })
  }
}

/** The public key of a private key: 33 bytes compressed (default) or 65 bytes uncompressed. */
export function secpPublicKey (privateKey: Uint8Array, compressed = true): Uint8Array {
  scalarOf(privateKey)
  return secp256k1.getPublicKey(privateKey, compressed)
}

/** (a + b) mod n as a 32-byte private key; CRYPTO_BAD_KEY if an input is invalid or the sum is zero. */
export function secpAddPrivateKeys (a: Uint8Array, b: Uint8Array): Uint8Array {
  const sum = Fn.add(scalarOf(a), scalarOf(b))
  if (Fn.is0(sum)) throw new DtaError('CRYPTO_BAD_KEY', 'the private keys sum to zero')
  return Fn.toBytes(sum)
}

/** A + B as a 33-byte compressed public key; inputs in any SEC1 encoding. CRYPTO_BAD_KEY for the point at infinity. */
export function secpAddPublicKeys (a: Uint8Array, b: Uint8Array): Uint8Array {
  const sum = pointOf(a).add(pointOf(b))
  if (sum.is0()) throw new DtaError('CRYPTO_BAD_KEY', 'the public keys sum to the point at infinity')
  return sum.toBytes(true)
}

// ── addresses ───────────────────────────────────────────────────────────────────────────────

/**
 * Base58check P2PKH address of a public key: version 0x00 (mainnet) or 0x6f (testnet) ‖
 * RIPEMD160(SHA256(pk)). The key is hashed in the encoding given — the 2019 D-TA used the
 * uncompressed key, so pass the 65-byte form for compatibility with its addresses.
 */
export function p2pkhAddress (publicKey: Uint8Array, network: 'mainnet' | 'testnet'): string {
  pointOf(publicKey)
  const version = network === 'mainnet' ? 0x00 : network === 'testnet' ? 0x6f : undefined
  if (version === undefined) throw new DtaError('BAD_REQUEST', 'network must be mainnet or testnet')
  const hash160 = ripemd160(sha256(publicKey))
  return base58check.encode(concatBytes(Uint8Array.of(version), hash160))
}

// ── commitment proof of possession (PROTOCOL §5) ───────────────────────────────────────────

function lengthPrefixed (s: string): Uint8Array {
  const bytes = utf8(s)
  const len = new Uint8Array(4)
  new DataView(len.buffer).setUint32(0, bytes.length, false)
  return concatBytes(len, bytes)
}

/** The 32-byte message the commitment proof of possession signs. */
export function commitmentPopMessage (reference: string, part1Cid: string): Uint8Array {
  if (typeof reference !== 'string' || typeof part1Cid !== 'string') throw new DtaError('BAD_REQUEST', 'reference and CID must be strings')
  return sha256(concatBytes(lengthPrefixed(COMMITMENT_POP_TAG), lengthPrefixed(reference), lengthPrefixed(part1Cid)))
}

/** BIP-340 Schnorr signature (64 bytes) by the commitment key over the tagged (reference, part 1 CID). */
export function commitmentPopSign (privateKey: Uint8Array, reference: string, part1Cid: string): Uint8Array {
  scalarOf(privateKey)
  const aux = randomBytes(32)
  return schnorr.sign(commitmentPopMessage(reference, part1Cid), privateKey, aux)
}

/** Checks a commitment proof of possession against the 33-byte compressed commitment key. Never throws. */
export function commitmentPopVerify (publicKey33: Uint8Array, reference: string, part1Cid: string, sig: Uint8Array): boolean {
  try {
    if (!(publicKey33 instanceof Uint8Array) || publicKey33.length !== SECP_COMPRESSED_PUBLIC_KEY_BYTES) return false
    if (!(sig instanceof Uint8Array) || sig.length !== SCHNORR_SIGNATURE_BYTES) return false
    Point.fromBytes(publicKey33) // a valid point, not just 32 bytes of x
    return schnorr.verify(sig, commitmentPopMessage(reference, part1Cid), publicKey33.subarray(1))
  } catch {
    return false
  }
}
