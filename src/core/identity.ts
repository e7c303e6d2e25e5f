/**
 * Identities (PROTOCOL §3). One random 32-byte root seed gives every key of an identity through
 * HKDF-SHA256 with distinct labels: the BLS signing key, the X-Wing KEM key and a 64-byte BIP32
 * seed whose m/44'/0'/0'/0/0 key is the identity's secp256k1 key (`beneficiaryECPublicKey`).
 *
 * The identity document is a self-signed envelope (signer CID "", as a document cannot contain
 * its own CID) whose plaintext body is an IDDocument carrying the public keys and an IETF BLS
 * proof of possession. Its CID, given by the document store, is the identity's ID. Decoding
 * verifies shape, the self-signature and the proof of possession before any key is returned.
 * @module
 */
import { DtaError } from '../errors.ts'
import { blsKeyGen, blsPopProve, blsPopVerify, blsPublicKey } from '../crypto/bls.ts'
import type { BlsSecretKey } from '../crypto/bls.ts'
import { hkdfSha256, utf8, wipe } from '../crypto/hash.ts'
import { bip32Derive } from '../crypto/secp256k1.ts'
import { xwingKeyPair, XWING_PUBLIC_KEY_BYTES, XWING_SEED_BYTES } from '../crypto/xwing.ts'
import type { XWingSecretKey } from '../crypto/xwing.ts'
import { decode, encode, toMillis } from '../envelope/codec.ts'
import { DocumentType, parseEnvelope, sealEnvelope, verifyParsedEnvelope } from '../envelope/envelope.ts'
import type { RecipientSecretKey, Signer } from '../envelope/envelope.ts'
import { IDDocumentSchema } from '../envelope/gen/dta_pb.ts'

export const ROOT_SEED_BYTES = 32
export const BLS_PUBLIC_KEY_BYTES = 48
export const BLS_POP_BYTES = 96
export const EC_PUBLIC_KEY_BYTES = 33
export const MAX_NAME_CHARS = 256

const SALT = utf8('milagro-dta/identity/v1')
const INFO_BLS = utf8('bls12-381 signing key')
const INFO_KEM = utf8('x-wing kem seed')
const INFO_EC = utf8('secp256k1 bip32 seed')
export const IDENTITY_EC_PATH = "m/44'/0'/0'/0/0"

/** The secret keys of an identity, all derived from its root seed. Never logged, never stored. */
export interface IdentityKeys {
  readonly bls: BlsSecretKey
  readonly blsPublicKey: Uint8Array
  readonly kem: XWingSecretKey
  readonly kemPublicKey: Uint8Array
  readonly ecPrivateKey: Uint8Array
  readonly ecPublicKey: Uint8Array
}

export interface IdentityDocument {
  readonly authenticationReference: string
  readonly beneficiaryECPublicKey: Uint8Array
  readonly kemPublicKey: Uint8Array
  readonly blsPublicKey: Uint8Array
  readonly proofOfPossession: Uint8Array
  /** Milliseconds since the epoch. */
  readonly timestamp: number
}

export function deriveIdentityKeys (rootSeed: Uint8Array): IdentityKeys {
  if (rootSeed.length !== ROOT_SEED_BYTES) throw new DtaError('CRYPTO_BAD_SEED', `root seed must be ${ROOT_SEED_BYTES} bytes`)
  const blsIkm = hkdfSha256(rootSeed, SALT, INFO_BLS, 32)
  const kemSeed = hkdfSha256(rootSeed, SALT, INFO_KEM, XWING_SEED_BYTES)
  const ecSeed = hkdfSha256(rootSeed, SALT, INFO_EC, 64)
  try {
    const bls = blsKeyGen(blsIkm)
    const kem = xwingKeyPair(kemSeed)
    const ec = bip32Derive(ecSeed, IDENTITY_EC_PATH)
    return { bls, blsPublicKey: blsPublicKey(bls), kem: kem.secretKey, kemPublicKey: kem.publicKey, ecPrivateKey: ec.privateKey, ecPublicKey: ec.publicKey }
  } finally {
    wipe(blsIkm); wipe(kemSeed); wipe(ecSeed)
  }
}

export function checkName (name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS) {
    throw new DtaError('IDENTITY_MALFORMED', `name must be 1 to ${MAX_NAME_CHARS} characters`)
  }
}

/** Builds and self-signs the identity document of `rootSeed`. The caller stores `bytes`; their CID is the ID. */
export function createIdentityDocument (rootSeed: Uint8Array, name: string, options: { now?: number } = {}): { bytes: Uint8Array, document: IdentityDocument, keys: IdentityKeys } {
  checkName(name)
  const keys = deriveIdentityKeys(rootSeed)
  const timestamp = options.now ?? Date.now()
  const document: IdentityDocument = {
    authenticationReference: name,
    beneficiaryECPublicKey: keys.ecPublicKey,
    kemPublicKey: keys.kemPublicKey,
    blsPublicKey: keys.blsPublicKey,
    proofOfPossession: blsPopProve(keys.bls),
    timestamp,
  }
  const body = encode(IDDocumentSchema, {
    authenticationReference: name,
    beneficiaryEcPublicKey: document.beneficiaryECPublicKey,
    kemPublicKey: document.kemPublicKey,
    blsPublicKey: document.blsPublicKey,
    proofOfPossession: document.proofOfPossession,
    timestamp: BigInt(timestamp),
  })
  const bytes = sealEnvelope({ signer: { cid: '', secretKey: keys.bls }, bodyType: DocumentType.ID_DOCUMENT, body, createdAt: timestamp })
  return { bytes, document, keys }
}

/**
 * Decodes and fully verifies identity document bytes: envelope shape, body shape and key lengths,
 * the self-signature, then the BLS proof of possession. Throws ENVELOPE_* / IDENTITY_* errors.
 */
export function decodeIdentityDocument (bytes: Uint8Array): IdentityDocument {
  const parsed = parseEnvelope(bytes)
  if (parsed.header.bodyType !== DocumentType.ID_DOCUMENT || parsed.hasEncryptedBody) {
    throw new DtaError('ENVELOPE_WRONG_TYPE', 'not an identity document')
  }
  const doc = decode(IDDocumentSchema, parsed.body, 'IDENTITY_MALFORMED', 'identity document')
  if (doc.blsPublicKey.length !== BLS_PUBLIC_KEY_BYTES) throw new DtaError('IDENTITY_MALFORMED', 'BLS public key length')
  if (doc.kemPublicKey.length !== XWING_PUBLIC_KEY_BYTES) throw new DtaError('IDENTITY_MALFORMED', 'KEM public key length')
  if (doc.beneficiaryEcPublicKey.length !== EC_PUBLIC_KEY_BYTES) throw new DtaError('IDENTITY_MALFORMED', 'EC public key length')
  if (doc.proofOfPossession.length !== BLS_POP_BYTES) throw new DtaError('IDENTITY_MALFORMED', 'proof of possession length')
  if (doc.authenticationReference.length === 0 || doc.authenticationReference.length > MAX_NAME_CHARS) throw new DtaError('IDENTITY_MALFORMED', 'name length')
  verifyParsedEnvelope(parsed, { cid: '', blsPublicKey: doc.blsPublicKey })
  if (!blsPopVerify(doc.blsPublicKey, doc.proofOfPossession)) throw new DtaError('IDENTITY_BAD_PROOF_OF_POSSESSION')
  return {
    authenticationReference: doc.authenticationReference,
    beneficiaryECPublicKey: doc.beneficiaryEcPublicKey,
    kemPublicKey: doc.kemPublicKey,
    blsPublicKey: doc.blsPublicKey,
    proofOfPossession: doc.proofOfPossession,
    timestamp: toMillis(doc.timestamp, 'IDENTITY_MALFORMED', 'timestamp'),
  }
}

/** The signing and receiving handles of an identity held by this node. */
export function identitySigner (cid: string, keys: IdentityKeys): Signer {
  return { cid, secretKey: keys.bls }
}

export function identityRecipient (cid: string, keys: IdentityKeys): RecipientSecretKey {
  return { cid, kemSecretKey: keys.kem }
}
