/**
 * secp256k1 for order keys and the plugins: the 2019 D-TA derivation of an order key from its
 * 32-byte order seed (seed → BIP39 English 24-word mnemonic → BIP39 seed with an empty passphrase
 * → BIP32 m/44'/0'/0'/0/0), key arithmetic for split keys, P2PKH addresses, and the commitment
 * proof of possession of PROTOCOL §5.
 *
 * Speed (an order costs one derivation on the fiduciary and one per redemption): BIP39's
 * PBKDF2-HMAC-SHA512 (2048 rounds) and BIP32's HMAC-SHA512 run on `node:crypto`; the mnemonic is
 * encoded here from the @scure/bip39 English wordlist (the library re-validates all 2048 words on
 * every call); and BIP32 is derived here with private-key arithmetic only, computing a point only
 * where the path needs one — before each non-hardened step and for the result (3 point
 * multiplications for m/44'/0'/0'/0/0 where @scure/bip32's HDKey computes 6, one per level, plus
 * fingerprints). The BIP32 and BIP39 published vectors and @scure/bip32 itself check it
 * (test/unit/crypto/secp256k1.test.ts). @noble/curves gives the curve arithmetic, @scure/base the
 * base58check, @noble/hashes RIPEMD-160 (OpenSSL 3 may leave it to the legacy provider).
 *
 * Commitment proof of possession (PROTOCOL §5): a BIP-340 Schnorr signature by the commitment key
 * over the 32-byte message
 *   m = taggedHash("milagro-dta/commitment-pop/v2", len ‖ reference ‖ len ‖ part1Cid ‖ len ‖ plugin)
 * (BIP-340's tagged hash SHA-256(SHA-256(tag) ‖ SHA-256(tag) ‖ data); each len the 4-byte
 * big-endian UTF-8 length, `lengthPrefixed`). Why Schnorr and not ECDSA: BIP-340's challenge
 * e = H(R ‖ P ‖ m) hashes the public key, so a signature is bound to the key it proves; ECDSA's
 * verification equation is not, and for a fixed (r, s) one can solve for a key that verifies —
 * which let a fiduciary answer K_f = xG − K_b with a valid-looking proof and own a split key alone
 * (test/adversary/fiduciary.test.ts replays that attack). Naming the plugin keeps a proof made for
 * one plugin's order from being presented in another's.
 *
 * BIP-340 keys are x-only: the proof binds x(K_f), i.e. the key up to its sign, and knowing the
 * discrete log of K_f or of −K_f is the same knowledge. The verifier additionally requires the
 * 33-byte compressed encoding (02/03 prefix) of a point on the curve.
 *
 * Implementation: `tiny-secp256k1` (bitcoinjs' WebAssembly build of Bitcoin Core's libsecp256k1)
 * signs and verifies; measured in bench/crypto.ts at ~0.2 ms per verification against ~0.46 ms
 * for the OpenSSL ECDSA it replaces and ~1.3 ms for @noble/curves' pure-JS schnorr, which the
 * tests keep as an independent cross-check (with BIP-340's published vectors).
 * @module
 */
import { createHmac, pbkdf2Sync } from 'node:crypto'
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js'
import { ripemd160 } from '@noble/hashes/legacy.js'
import { createBase58check } from '@scure/base'
import { wordlist as english } from '@scure/bip39/wordlists/english.js'
import { pointFromScalar, signSchnorr, verifySchnorr } from 'tiny-secp256k1'
import { DtaError } from '../errors.ts'
import { concatBytes, fromBuffer, lengthPrefixed, sha256, utf8, wipe } from './hash.ts'
import { randomBytes } from './random.ts'
import { accounted } from '../accounting.ts'

export const ORDER_SEED_BYTES = 32
export const SECP_PRIVATE_KEY_BYTES = 32
export const SECP_COMPRESSED_PUBLIC_KEY_BYTES = 33
export const SECP_UNCOMPRESSED_PUBLIC_KEY_BYTES = 65
/** The commitment proof of possession: a BIP-340 signature, R.x ‖ s, 32 bytes each. */
export const COMMITMENT_POP_BYTES = 64
/** BIP44 path of the first receiving key of account 0, coin 0 — what the 2019 D-TA used. */
export const DEFAULT_BIP32_PATH = "m/44'/0'/0'/0/0"
export const COMMITMENT_POP_TAG = 'milagro-dta/commitment-pop/v2'

const Point = secp256k1.Point
const Fn = Point.Fn
const N = Fn.ORDER
const base58check = createBase58check(sha256)

function bigintOf (bytes: Uint8Array): bigint {
  return BigInt('0x' + (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') || '0'))
}

// ── BIP39 / BIP32 ───────────────────────────────────────────────────────────────────────────

/** The BIP39 English mnemonic of 32 bytes of entropy (24 words: 256 bits + an 8-bit SHA-256 checksum, 11 bits a word). */
export const mnemonicFromSeed = accounted('crypto', function mnemonicFromSeed (seed32: Uint8Array): string {
  if (!(seed32 instanceof Uint8Array) || seed32.length !== ORDER_SEED_BYTES) throw new DtaError('CRYPTO_BAD_SEED', `order seed must be ${ORDER_SEED_BYTES} bytes`)
  const checksum = sha256(seed32)
  const bits = concatBytes(seed32, checksum.subarray(0, 1))
  const words: string[] = []
  for (let i = 0; i < 24; i++) {
    const bit = i * 11
    const byte = bit >> 3
    // 11 bits starting at `bit` always lie within 3 bytes; bits past the end read as 0 (never needed here)
    const window = (bits[byte]! << 16) | ((bits[byte + 1] ?? 0) << 8) | (bits[byte + 2] ?? 0)
    words.push(english[(window >> (13 - (bit & 7))) & 0x7ff]!)
  }
  wipe(bits)
  wipe(checksum)
  return words.join(' ')
})

/** BIP39 mnemonic → 64-byte seed: PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" ‖ passphrase, both NFKD. */
export const bip39Seed = accounted('crypto', function bip39Seed (mnemonic: string, passphrase = ''): Uint8Array {
  const password = utf8(mnemonic.normalize('NFKD'))
  const salt = utf8(`mnemonic${passphrase.normalize('NFKD')}`)
  const out = pbkdf2Sync(password, salt, 2048, 64, 'sha512')
  try {
    return fromBuffer(out)
  } finally {
    out.fill(0)
    wipe(password)
  }
})

const BIP32_MASTER_KEY = utf8('Bitcoin seed')
const HARDENED = 0x80000000
const PATH_INDEX = /^(\d{1,10})(')?$/

function parseBip32Path (path: string): number[] {
  const parts = typeof path === 'string' ? path.split('/') : []
  if (parts[0] !== 'm') throw new DtaError('CRYPTO_BAD_KEY', 'BIP32 path must start with m')
  return parts.slice(1).map(part => {
    const match = PATH_INDEX.exec(part)
    const index = match === null ? NaN : Number(match[1])
    if (!(index < HARDENED)) throw new DtaError('CRYPTO_BAD_KEY', 'BIP32 path index must be below 2^31')
    return match?.[2] === "'" ? index + HARDENED : index
  })
}

function hmacSha512 (key: Uint8Array, data: Uint8Array): Uint8Array {
  const out = createHmac('sha512', key).update(data).digest()
  const copy = fromBuffer(out)
  out.fill(0)
  return copy
}

/**
 * BIP32 derivation from a 16–64-byte seed along `path` ("m", then "/i" or "/i'" steps): the private
 * key and the 33-byte compressed public key. An invalid master or child key (probability ~2^-127)
 * is CRYPTO_BAD_SEED / CRYPTO_BAD_KEY rather than BIP32's skip to the next index, as before.
 */
export const bip32Derive = accounted('crypto', function bip32Derive (seed: Uint8Array, path = DEFAULT_BIP32_PATH): { privateKey: Uint8Array, publicKey: Uint8Array } {
  if (!(seed instanceof Uint8Array) || seed.length < 16 || seed.length > 64) throw new DtaError('CRYPTO_BAD_SEED', 'BIP32 seed must be 16 to 64 bytes')
  const indices = parseBip32Path(path)
  let i = hmacSha512(BIP32_MASTER_KEY, seed)
  let k = bigintOf(i.subarray(0, 32))
  let chainCode = i.slice(32)
  wipe(i)
  if (k === 0n || k >= N) throw new DtaError('CRYPTO_BAD_SEED', 'BIP32 seed gives an invalid master key')
  const data = new Uint8Array(37)
  const view = new DataView(data.buffer)
  try {
    for (const index of indices) {
      if (index >= HARDENED) {
        data[0] = 0
        data.set(Fn.toBytes(k), 1)
      } else {
        data.set(Point.BASE.multiply(k).toBytes(true), 0)
      }
      view.setUint32(33, index, false)
      i = hmacSha512(chainCode, data)
      const tweak = bigintOf(i.subarray(0, 32))
      wipe(chainCode)
      chainCode = i.slice(32)
      wipe(i)
      if (tweak >= N) throw new DtaError('CRYPTO_BAD_KEY', 'BIP32 derivation gave an invalid child key')
      k = Fn.add(k, tweak)
      if (k === 0n) throw new DtaError('CRYPTO_BAD_KEY', 'BIP32 derivation gave an invalid child key')
    }
    return { privateKey: Fn.toBytes(k), publicKey: Point.BASE.multiply(k).toBytes(true) }
  } finally {
    wipe(data)
    wipe(chainCode)
  }
})

/** The 2019 D-TA order key: bip32Derive(bip39Seed(mnemonicFromSeed(seed))) at m/44'/0'/0'/0/0. */
export const orderKeyFromSeed = accounted('crypto', function orderKeyFromSeed (seed32: Uint8Array): { privateKey: Uint8Array, publicKey: Uint8Array } {
  const seed = bip39Seed(mnemonicFromSeed(seed32))
  try {
    return bip32Derive(seed)
  } finally {
    wipe(seed)
  }
})

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
export const secpPublicKey = accounted('crypto', function secpPublicKey (privateKey: Uint8Array, compressed = true): Uint8Array {
  scalarOf(privateKey)
  // libsecp256k1 (tiny-secp256k1): ~40 µs, against ~500 µs for @noble/curves' getPublicKey, which the tests cross-check
  const point = pointFromScalar(privateKey, compressed)
  if (point === null) throw new DtaError('CRYPTO_BAD_KEY', 'not a valid secp256k1 private key')
  return fromBuffer(point)
})

/** The 65-byte uncompressed encoding of a public key given in either SEC1 encoding. */
export const secpUncompressedPublicKey = accounted('crypto', function secpUncompressedPublicKey (publicKey: Uint8Array): Uint8Array {
  return pointOf(publicKey).toBytes(false)
})

/** A fresh random private key (a uniform scalar in [1, n-1]), from `node:crypto`. */
export function secpRandomPrivateKey (): Uint8Array {
  for (;;) {
    const candidate = randomBytes(SECP_PRIVATE_KEY_BYTES)
    if (secp256k1.utils.isValidSecretKey(candidate)) return candidate
    wipe(candidate) // probability ~2^-128
  }
}

/** (a + b) mod n as a 32-byte private key; CRYPTO_BAD_KEY if an input is invalid or the sum is zero. */
export const secpAddPrivateKeys = accounted('crypto', function secpAddPrivateKeys (a: Uint8Array, b: Uint8Array): Uint8Array {
  const sum = Fn.add(scalarOf(a), scalarOf(b))
  if (Fn.is0(sum)) throw new DtaError('CRYPTO_BAD_KEY', 'the private keys sum to zero')
  return Fn.toBytes(sum)
})

/** A + B as a 33-byte compressed public key; inputs in any SEC1 encoding. CRYPTO_BAD_KEY for the point at infinity. */
export const secpAddPublicKeys = accounted('crypto', function secpAddPublicKeys (a: Uint8Array, b: Uint8Array): Uint8Array {
  const sum = pointOf(a).add(pointOf(b))
  if (sum.is0()) throw new DtaError('CRYPTO_BAD_KEY', 'the public keys sum to the point at infinity')
  return sum.toBytes(true)
})

// ── addresses ───────────────────────────────────────────────────────────────────────────────

/**
 * Base58check P2PKH address of a public key: version 0x00 (mainnet) or 0x6f (testnet) ‖
 * RIPEMD160(SHA256(pk)). The key is hashed in the encoding given — the 2019 D-TA used the
 * uncompressed key, so pass the 65-byte form for compatibility with its addresses.
 */
export const p2pkhAddress = accounted('crypto', function p2pkhAddress (publicKey: Uint8Array, network: 'mainnet' | 'testnet'): string {
  pointOf(publicKey)
  const version = network === 'mainnet' ? 0x00 : network === 'testnet' ? 0x6f : undefined
  if (version === undefined) throw new DtaError('BAD_REQUEST', 'network must be mainnet or testnet')
  const hash160 = ripemd160(sha256(publicKey))
  return base58check.encode(concatBytes(Uint8Array.of(version), hash160))
})

// ── commitment proof of possession (PROTOCOL §5) ───────────────────────────────────────────

/** What a commitment proof of possession states: this key answers this order of this plugin. */
export interface CommitmentStatement {
  reference: string
  part1CID: string
  plugin: string
}

/** The 32-byte message a commitment proof of possession signs (BIP-340 tagged hash of the statement). */
export function commitmentPopMessage (statement: CommitmentStatement): Uint8Array {
  const { reference, part1CID, plugin } = statement
  if (typeof reference !== 'string' || typeof part1CID !== 'string' || typeof plugin !== 'string') {
    throw new DtaError('BAD_REQUEST', 'reference, part 1 CID and plugin must be strings')
  }
  return schnorr.utils.taggedHash(COMMITMENT_POP_TAG, lengthPrefixed(reference, part1CID, plugin))
}

/** BIP-340 signature (64 bytes) by the commitment key over the statement, with 32 fresh bytes of auxiliary randomness. */
export const commitmentPopSign = accounted('crypto', function commitmentPopSign (privateKey: Uint8Array, statement: CommitmentStatement): Uint8Array {
  scalarOf(privateKey)
  const aux = randomBytes(32)
  try {
    return fromBuffer(signSchnorr(commitmentPopMessage(statement), privateKey, aux))
  } finally {
    wipe(aux)
  }
})

/**
 * Checks a commitment proof of possession against the 33-byte compressed commitment key: a
 * 64-byte BIP-340 signature over the statement under x(key). Never throws.
 */
export const commitmentPopVerify = accounted('crypto', function commitmentPopVerify (publicKey33: Uint8Array, statement: CommitmentStatement, sig: Uint8Array): boolean {
  try {
    if (!(publicKey33 instanceof Uint8Array) || publicKey33.length !== SECP_COMPRESSED_PUBLIC_KEY_BYTES) return false
    if (publicKey33[0] !== 0x02 && publicKey33[0] !== 0x03) return false
    if (!(sig instanceof Uint8Array) || sig.length !== COMMITMENT_POP_BYTES) return false
    // libsecp256k1 refuses an x that is not on the curve, r ≥ p, s ≥ n, and R with odd y (BIP-340 Verify)
    return verifySchnorr(commitmentPopMessage(statement), publicKey33.subarray(1), sig)
  } catch {
    return false
  }
})
