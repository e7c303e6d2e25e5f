/**
 * BLS signatures, IETF draft-irtf-cfrg-bls-signature-05 ciphersuite
 * `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`: public keys in G1 (48 bytes compressed),
 * signatures in G2 (96 bytes compressed), with proofs of possession against rogue keys.
 *
 * Sign and Verify use `@chainsafe/blst` (native, ~10× faster than pure JS); its binding hard-codes
 * exactly this ciphersuite's DST. The binding cannot take another DST, so PopProve/PopVerify
 * (hash_to_point of the serialized public key under `BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`)
 * use `@noble/curves` `bls12_381.longSignatures` with that DST; they run once per identity
 * document, so pure JS is fast enough there. Public-key validation (KeyValidate: on curve, in the
 * subgroup, not the identity) is always blst's.
 *
 * Verification never throws: malformed, off-curve, wrong-subgroup or identity inputs give `false`.
 * Deserialised and validated public keys are kept in a small bounded cache keyed by their hex,
 * because the same few identities are verified over and over; proofs of possession that verified
 * are remembered the same way (public data only in both; no secret is cached).
 * @module
 */
import { PublicKey, SecretKey, Signature, verify as blstVerify } from '@chainsafe/blst'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { DtaError } from '../errors.ts'
import { toHex, wipe } from './hash.ts'
import { accounted } from '../accounting.ts'

export const BLS_DST_SIGN = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_'
export const BLS_DST_POP = 'BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_'
export const BLS_SECRET_KEY_BYTES = 32
export const BLS_PUBLIC_KEY_BYTES = 48
export const BLS_SIGNATURE_BYTES = 96
/** The IETF KeyGen requires at least 32 bytes of input keying material. */
export const BLS_KEYGEN_MIN_IKM_BYTES = 32

/** A BLS secret key. Opaque: only this module looks inside. */
export type BlsSecretKey = { readonly kind: 'bls-secret-key', readonly key: SecretKey }

function wrap (key: SecretKey): BlsSecretKey {
  return Object.freeze({ kind: 'bls-secret-key', key })
}

/** IETF KeyGen(IKM, key_info) (HKDF-SHA256 based, "BLS-SIG-KEYGEN-SALT-"), via blst. */
export const blsKeyGen = accounted('crypto', function blsKeyGen (ikm: Uint8Array, keyInfo?: Uint8Array): BlsSecretKey {
  if (ikm.length < BLS_KEYGEN_MIN_IKM_BYTES) {
    throw new DtaError('CRYPTO_BAD_SEED', `BLS KeyGen needs at least ${BLS_KEYGEN_MIN_IKM_BYTES} bytes of IKM`)
  }
  return wrap(SecretKey.fromKeygen(ikm, keyInfo))
})

/** A secret key from its 32-byte big-endian encoding (must be in [1, r-1]). */
export function blsSecretKeyFromBytes (b32: Uint8Array): BlsSecretKey {
  if (b32.length !== BLS_SECRET_KEY_BYTES) throw new DtaError('CRYPTO_BAD_KEY', `BLS secret key must be ${BLS_SECRET_KEY_BYTES} bytes`)
  try {
    return wrap(SecretKey.fromBytes(b32))
  } catch (err) {
    throw new DtaError('CRYPTO_BAD_KEY', 'BLS secret key out of range', { cause: err })
  }
}

/** The 32-byte big-endian encoding of a secret key. The caller owns (and should wipe) the result. */
export function blsSecretKeyToBytes (sk: BlsSecretKey): Uint8Array {
  return sk.key.toBytes()
}

/** SkToPk: the 48-byte compressed G1 public key. */
export const blsPublicKey = accounted('crypto', function blsPublicKey (sk: BlsSecretKey): Uint8Array {
  return sk.key.toPublicKey().toBytes(true)
})

/** Sign(SK, message) with the POP ciphersuite's signing DST: a 96-byte compressed G2 signature. */
export const blsSign = accounted('crypto', function blsSign (sk: BlsSecretKey, msg: Uint8Array): Uint8Array {
  return sk.key.sign(msg).toBytes(true)
})

// ── validated public-key cache ─────────────────────────────────────────────────────────────
const PK_CACHE_MAX = 256
const pkCache = new Map<string, PublicKey>()

/** KeyValidate + deserialise, memoised. Returns undefined for anything that is not a valid key. */
function validatedPublicKey (pk: Uint8Array): PublicKey | undefined {
  if (!(pk instanceof Uint8Array) || pk.length !== BLS_PUBLIC_KEY_BYTES) return undefined
  const id = toHex(pk)
  const hit = pkCache.get(id)
  if (hit !== undefined) {
    // Refresh recency: Map iteration order is insertion order, so the first key is the oldest.
    pkCache.delete(id)
    pkCache.set(id, hit)
    return hit
  }
  let key: PublicKey
  try {
    key = PublicKey.fromBytes(pk, true) // infinity and subgroup checks
  } catch {
    return undefined
  }
  if (pkCache.size >= PK_CACHE_MAX) {
    const oldest = pkCache.keys().next().value
    if (oldest !== undefined) pkCache.delete(oldest)
  }
  pkCache.set(id, key)
  return key
}

/** For tests: how many validated public keys are cached. */
export function _blsPublicKeyCacheSize (): number {
  return pkCache.size
}

/** CoreVerify with KeyValidate and a subgroup check of the signature. Never throws. */
export const blsVerify = accounted('crypto', function blsVerify (pk48: Uint8Array, msg: Uint8Array, sig96: Uint8Array): boolean {
  try {
    if (!(msg instanceof Uint8Array) || !(sig96 instanceof Uint8Array) || sig96.length !== BLS_SIGNATURE_BYTES) return false
    const pk = validatedPublicKey(pk48)
    if (pk === undefined) return false
    const sig = Signature.fromBytes(sig96, true) // subgroup (and infinity) check
    return blstVerify(msg, pk, sig, false, false)
  } catch {
    return false
  }
})

// ── proof of possession (noble, because blst's binding has no DST parameter) ──────────────
const noble = bls12_381.longSignatures

/** PopProve(SK): signature over hash_to_point(SkToPk(SK), BLS_DST_POP). 96 bytes. */
export const blsPopProve = accounted('crypto', function blsPopProve (sk: BlsSecretKey): Uint8Array {
  const skBytes = sk.key.toBytes()
  try {
    const pk = sk.key.toPublicKey().toBytes(true)
    const point = noble.sign(noble.hash(pk, BLS_DST_POP), skBytes)
    return noble.Signature.toBytes(point)
  } finally {
    wipe(skBytes)
  }
})

// PopVerify in pure JS costs ~25 ms, and the same identity documents are decoded again and again,
// so proofs that verified are remembered (public data only; a bounded set, oldest evicted first).
const POP_CACHE_MAX = 256
const verifiedPops = new Set<string>()

/** PopVerify(PK, proof): KeyValidate(PK) and the pairing check under BLS_DST_POP. Never throws. */
export const blsPopVerify = accounted('crypto', function blsPopVerify (pk48: Uint8Array, pop96: Uint8Array): boolean {
  try {
    if (!(pop96 instanceof Uint8Array) || pop96.length !== BLS_SIGNATURE_BYTES) return false
    if (validatedPublicKey(pk48) === undefined) return false
    const id = toHex(pk48) + toHex(pop96)
    if (verifiedPops.has(id)) return true
    // Signature.fromBytes checks the encoding, that the point is on the curve and in G2.
    const sig = noble.Signature.fromBytes(pop96)
    if (sig.is0()) return false
    const pkPoint = bls12_381.G1.Point.fromBytes(pk48)
    if (!noble.verify(sig, noble.hash(pk48, BLS_DST_POP), pkPoint)) return false
    if (verifiedPops.size >= POP_CACHE_MAX) {
      const oldest = verifiedPops.values().next().value
      if (oldest !== undefined) verifiedPops.delete(oldest)
    }
    verifiedPops.add(id)
    return true
  } catch {
    return false
  }
})
