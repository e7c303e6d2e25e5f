/**
 * The log key of a node and how it is published.
 *
 * The key: an Ed25519 key whose 32-byte seed is HKDF-SHA256 of the node identity's root seed
 * with the identity salt and its own label (core/identity.ts derives the identity's other keys
 * the same way, each with a distinct label), so it is never stored, every replica of a node
 * derives the same key, and it is as safe as the identity's other keys (sealed by custody).
 *
 * Its publication: a *log key statement*, an envelope with a plaintext LogKeyDocument body (body
 * type LOG_KEY_DOCUMENT) — the origin and the public key — signed by the node identity. Why not a
 * field of the identity document: an identity document's CID is the identity, so an existing
 * identity cannot gain a field without becoming another identity (every order and every config
 * naming the node would break), and the original D-TA's identity shape stays as it is. The
 * statement is bound the other way round: it is signed by the identity and names it through its
 * origin (`milagro-dta/log/<identity CID>`), so whoever holds the identity document can check it.
 * Its timestamp is the identity's creation time, so a node's statement has one byte form and one
 * CID. docs/log.md gives the full argument.
 * @module
 */
import { DtaError } from '../../errors.ts'
import { ed25519FromSeed, ED25519_PUBLIC_KEY_BYTES } from '../../crypto/ed25519.ts'
import type { Ed25519Signer } from '../../crypto/ed25519.ts'
import { hkdfSha256, utf8, wipe } from '../../crypto/hash.ts'
import { decode, encode, toMillis } from '../../envelope/codec.ts'
import { DocumentType, parseEnvelope, sealEnvelope, verifyParsedEnvelope } from '../../envelope/envelope.ts'
import type { Signer, Verifier } from '../../envelope/envelope.ts'
import { LogKeyDocumentSchema } from '../../envelope/gen/dta_pb.ts'
import { originOf } from './checkpoint.ts'
import { noteVerifier } from './note.ts'
import type { NoteVerifier } from './note.ts'

const SALT = utf8('milagro-dta/identity/v1')
const INFO_LOG_KEY = utf8('ed25519 transparency log key')
const INFO_WITNESS_KEY = utf8('ed25519 transparency log witness key')

function derive (rootSeed: Uint8Array, info: Uint8Array): Ed25519Signer {
  const seed = hkdfSha256(rootSeed, SALT, info, 32)
  try {
    return ed25519FromSeed(seed)
  } finally {
    wipe(seed)
  }
}

/** The log signing key of an identity root seed (the caller wipes the seed). */
export function deriveLogSigner (rootSeed: Uint8Array): Ed25519Signer {
  return derive(rootSeed, INFO_LOG_KEY)
}

/** The key a node cosigns other logs' checkpoints with as a witness (cosignature.ts): another label, another key. */
export function deriveWitnessSigner (rootSeed: Uint8Array): Ed25519Signer {
  return derive(rootSeed, INFO_WITNESS_KEY)
}

/** A node's log key statement: deterministic for (identity, key, createdAt). */
export function createLogKeyDocument (input: { identity: Signer, publicKey: Uint8Array, createdAt: number }): Uint8Array {
  const body = encode(LogKeyDocumentSchema, {
    origin: originOf(input.identity.cid),
    ed25519PublicKey: input.publicKey,
    timestamp: BigInt(input.createdAt),
  })
  return sealEnvelope({ signer: input.identity, bodyType: DocumentType.LOG_KEY_DOCUMENT, body, createdAt: input.createdAt })
}

export interface LogKey {
  /** The node identity that signed the statement. */
  readonly nodeCID: string
  readonly origin: string
  readonly verifier: NoteVerifier
  readonly createdAt: number
}

/**
 * Opens a log key statement that must be signed by `identity` (the node's verified identity
 * document): LOG_BAD_KEY_DOCUMENT if it is not one, names another origin, or is signed by another.
 */
export function openLogKeyDocument (bytes: Uint8Array, identity: Verifier): LogKey {
  let parsed
  try {
    parsed = parseEnvelope(bytes)
    verifyParsedEnvelope(parsed, identity)
  } catch (err) {
    throw new DtaError('LOG_BAD_KEY_DOCUMENT', `not signed by ${identity.cid}`, { cause: err })
  }
  if (parsed.header.bodyType !== DocumentType.LOG_KEY_DOCUMENT || parsed.hasEncryptedBody) throw new DtaError('LOG_BAD_KEY_DOCUMENT', 'not a log key statement')
  const doc = decode(LogKeyDocumentSchema, parsed.body, 'LOG_BAD_KEY_DOCUMENT', 'log key statement')
  const origin = originOf(identity.cid)
  if (doc.origin !== origin) throw new DtaError('LOG_BAD_KEY_DOCUMENT', `the statement names the origin ${JSON.stringify(doc.origin.slice(0, 100))}, not ${origin}`)
  if (doc.ed25519PublicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw new DtaError('LOG_BAD_KEY_DOCUMENT', 'an Ed25519 key is 32 bytes')
  return { nodeCID: identity.cid, origin, verifier: noteVerifier(origin, doc.ed25519PublicKey), createdAt: toMillis(doc.timestamp, 'LOG_BAD_KEY_DOCUMENT', 'timestamp') }
}
