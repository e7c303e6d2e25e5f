/**
 * The encrypted envelope (PROTOCOL §4): a signed document with a plaintext body anyone can read
 * and an encrypted body only its listed recipients can read.
 *
 * Sealing: a fresh 256-bit content key (CEK) → HKDF gives the AES-256-GCM body key and a key
 * commitment key; the commitment (HMAC over a fixed label) goes into the header; the CEK is
 * wrapped for each recipient with HPKE base mode (X-Wing, HKDF-SHA256, AES-256-GCM) whose `info`
 * binds the suite and the recipient's CID; the serialized header is the body's associated data;
 * the BLS signature covers a label, the signer's CID and the whole Envelope message.
 *
 * Opening checks, in this order, and stops at the first failure with a typed error: size, protobuf
 * shape (every layer, every length), signer and signature, suite, then — only for a recipient —
 * key unwrap, key commitment and body decryption. Nothing is returned before the signature holds.
 * @module
 */
import { DtaError } from '../errors.ts'
import { aes256GcmDecrypt, aes256GcmEncrypt, AES_GCM_NONCE_BYTES, AES_GCM_TAG_BYTES } from '../crypto/aead.ts'
import { blsSign, blsVerify } from '../crypto/bls.ts'
import type { BlsSecretKey } from '../crypto/bls.ts'
import { concatBytes, hkdfSha256, hmacSha256, timingSafeEqual, utf8, wipe } from '../crypto/hash.ts'
import { hpkeOpen, hpkeSeal } from '../crypto/hpke.ts'
import { randomBytes } from '../crypto/random.ts'
import { XWING_CIPHERTEXT_BYTES, XWING_PUBLIC_KEY_BYTES } from '../crypto/xwing.ts'
import type { XWingSecretKey } from '../crypto/xwing.ts'
import { MAX_DOCUMENT_BYTES } from '../ports/document-store.ts'
import { toBinary } from '@bufbuild/protobuf'
import { decode, encode, toMillis } from './codec.ts'
import { accounted } from '../accounting.ts'
import { EnvelopeSchema, HeaderSchema, SignedEnvelopeSchema } from './gen/dta_pb.ts'

/** The canonical-encoding check's re-encoding (protobuf: codec, for the bench's accounting). */
const reencode = accounted('codec', (signed: Parameters<typeof toBinary<typeof SignedEnvelopeSchema>>[1]): Uint8Array => toBinary(SignedEnvelopeSchema, signed))

export const ENVELOPE_VERSION = 1
export const SUITE_1 = 1
export const MAX_RECIPIENTS = 20
export const BLS_SIGNATURE_BYTES = 96
export const CEK_BYTES = 32
export const KEY_COMMITMENT_BYTES = 32
/** HPKE enc (the X-Wing ciphertext) followed by the HPKE-sealed CEK. */
export const ENCAPSULATION_BYTES = XWING_CIPHERTEXT_BYTES + CEK_BYTES + AES_GCM_TAG_BYTES
/** CIDs are CIDv0 strings (46 characters); anything much longer is not a CID. */
const MAX_CID_CHARS = 128

const SIGNING_LABEL = utf8('milagro-dta/signed-envelope/v1')
const HPKE_INFO_LABEL = utf8('milagro-dta/suite/1/recipient\0')
const BODY_KEY_INFO = utf8('milagro-dta/suite/1/body-key')
const COMMIT_KEY_INFO = utf8('milagro-dta/suite/1/key-commitment-key')
const COMMIT_LABEL = utf8('milagro-dta/suite/1/key-commitment')
const EMPTY = new Uint8Array(0)

/** Document type codes carried in the header (integers, frozen once released). */
export const DocumentType = {
  NONE: 0,
  ID_DOCUMENT: 1,
  ORDER_DOCUMENT: 2,
  /** A node's transparency log key statement (src/core/log/key.ts). */
  LOG_KEY_DOCUMENT: 3,
  /** A threshold order's round-1 package (src/core/threshold.ts). */
  THRESHOLD_ROUND1: 4,
  /** A threshold order's round-2 share, to one fiduciary (src/core/threshold.ts). */
  THRESHOLD_SHARE: 5,
} as const

export interface Signer { readonly cid: string, readonly secretKey: BlsSecretKey }
export interface Verifier { readonly cid: string, readonly blsPublicKey: Uint8Array }
export interface RecipientPublicKey { readonly cid: string, readonly kemPublicKey: Uint8Array }
export interface RecipientSecretKey { readonly cid: string, readonly kemSecretKey: XWingSecretKey }

export interface SealInput {
  signer: Signer
  bodyType?: number
  body?: Uint8Array
  /** When present the envelope has an encrypted body readable by `recipients` (at least one). */
  encryptedBodyType?: number
  encryptedBody?: Uint8Array
  recipients?: readonly RecipientPublicKey[]
  previousCID?: string
  /** Milliseconds since the epoch; defaults to now. */
  createdAt?: number
}

export interface EnvelopeHeader {
  suite: number
  createdAt: number
  previousCID: string
  bodyType: number
  encryptedBodyType: number
  recipients: string[]
}

/** An envelope whose shape has been checked but whose signature has NOT: use only for routing. */
export interface ParsedEnvelope {
  readonly signerCID: string
  readonly header: EnvelopeHeader
  readonly body: Uint8Array
  readonly hasEncryptedBody: boolean
  /** @internal the exact bytes needed to verify and decrypt */
  readonly raw: RawParts
}

interface RawParts {
  message: Uint8Array
  signature: Uint8Array
  headerBytes: Uint8Array
  nonce: Uint8Array
  keyCommitment: Uint8Array
  encryptedBody: Uint8Array
  encapsulations: Map<string, Uint8Array>
}

export interface OpenedEnvelope {
  signerCID: string
  header: EnvelopeHeader
  body: Uint8Array
  /** The decrypted body, when a recipient key was given and the envelope has one. */
  decryptedBody?: Uint8Array
}

export interface ExpectTypes { bodyType?: number, encryptedBodyType?: number }

function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

function signingInput (signerCID: string, message: Uint8Array): Uint8Array {
  const cid = utf8(signerCID)
  const len = new Uint8Array(4)
  new DataView(len.buffer).setUint32(0, cid.length)
  return concatBytes(SIGNING_LABEL, len, cid, message)
}

function hpkeInfo (recipientCID: string): Uint8Array {
  return concatBytes(HPKE_INFO_LABEL, utf8(recipientCID))
}

function contentKeys (cek: Uint8Array): { bodyKey: Uint8Array, commitment: Uint8Array } {
  const bodyKey = hkdfSha256(cek, EMPTY, BODY_KEY_INFO, 32)
  const commitKey = hkdfSha256(cek, EMPTY, COMMIT_KEY_INFO, 32)
  const commitment = hmacSha256(commitKey, COMMIT_LABEL)
  wipe(commitKey)
  return { bodyKey, commitment }
}

function checkCID (cid: string, what: string): void {
  if (cid.length === 0 || cid.length > MAX_CID_CHARS) throw new DtaError('ENVELOPE_MALFORMED', `${what} is not a CID`)
}

/** Builds, encrypts and signs an envelope; returns its wire bytes (at most 1 MiB). */
export function sealEnvelope (input: SealInput): Uint8Array {
  const recipients = input.recipients ?? []
  const encrypted = input.encryptedBody !== undefined
  if (recipients.length > MAX_RECIPIENTS) throw new DtaError('ENVELOPE_TOO_MANY_RECIPIENTS', `${recipients.length} recipients`)
  if (encrypted && recipients.length === 0) throw new DtaError('ENVELOPE_MALFORMED', 'an encrypted body needs at least one recipient')
  if (!encrypted && recipients.length > 0) throw new DtaError('ENVELOPE_MALFORMED', 'recipients given without an encrypted body')
  const seen = new Set<string>()
  for (const r of recipients) {
    checkCID(r.cid, 'recipient')
    if (seen.has(r.cid)) throw new DtaError('ENVELOPE_DUPLICATE_RECIPIENT', r.cid)
    seen.add(r.cid)
    if (r.kemPublicKey.length !== XWING_PUBLIC_KEY_BYTES) throw new DtaError('CRYPTO_BAD_KEY', `recipient ${r.cid} KEM public key`)
  }
  if (input.signer.cid.length > MAX_CID_CHARS) throw new DtaError('ENVELOPE_MALFORMED', 'signer is not a CID')
  const body = input.body ?? EMPTY
  const plaintext = input.encryptedBody ?? EMPTY
  if (body.length + plaintext.length > MAX_DOCUMENT_BYTES) throw new DtaError('ENVELOPE_TOO_LARGE')

  let nonce: Uint8Array = EMPTY
  let keyCommitment: Uint8Array = EMPTY
  let bodyKey: Uint8Array = EMPTY
  const wrapped: Array<{ cid: string, encapsulation: Uint8Array }> = []
  if (encrypted) {
    const cek = randomBytes(CEK_BYTES)
    const keys = contentKeys(cek)
    bodyKey = keys.bodyKey
    keyCommitment = keys.commitment
    nonce = randomBytes(AES_GCM_NONCE_BYTES)
    for (const r of recipients) {
      const { enc, ciphertext } = hpkeSeal(r.kemPublicKey, hpkeInfo(r.cid), EMPTY, cek)
      wrapped.push({ cid: r.cid, encapsulation: concatBytes(enc, ciphertext) })
    }
    wipe(cek)
  }

  const headerBytes = encode(HeaderSchema, {
    suite: SUITE_1,
    createdAt: BigInt(input.createdAt ?? Date.now()),
    previousCid: input.previousCID ?? '',
    bodyType: input.bodyType ?? DocumentType.NONE,
    encryptedBodyType: encrypted ? (input.encryptedBodyType ?? DocumentType.NONE) : DocumentType.NONE,
    nonce,
    keyCommitment,
    recipients: wrapped,
  })
  const encryptedBody = encrypted ? aes256GcmEncrypt(bodyKey, nonce, plaintext, headerBytes) : EMPTY
  wipe(bodyKey)
  const message = encode(EnvelopeSchema, { header: headerBytes, body, encryptedBody })
  const signature = blsSign(input.signer.secretKey, signingInput(input.signer.cid, message))
  const bytes = encode(SignedEnvelopeSchema, { version: ENVELOPE_VERSION, signerCid: input.signer.cid, message, signature })
  if (bytes.length > MAX_DOCUMENT_BYTES) throw new DtaError('ENVELOPE_TOO_LARGE', `${bytes.length} bytes`)
  return bytes
}

/** Checks size and shape of every layer; verifies nothing cryptographic. Throws typed errors. */
export function parseEnvelope (bytes: Uint8Array): ParsedEnvelope {
  if (bytes.length > MAX_DOCUMENT_BYTES) throw new DtaError('ENVELOPE_TOO_LARGE', `${bytes.length} bytes`)
  const signed = decode(SignedEnvelopeSchema, bytes, 'ENVELOPE_MALFORMED', 'signed envelope')
  // The outer layer is not signed, and protobuf decoders accept several encodings of one message
  // (protobuf-es even ignores a tag's wire type). Only the canonical encoding is accepted, so one
  // signed envelope has exactly one byte form and therefore exactly one CID.
  if (!bytesEqual(reencode(signed), bytes)) throw new DtaError('ENVELOPE_MALFORMED', 'non-canonical encoding')
  if (signed.version !== ENVELOPE_VERSION) throw new DtaError('ENVELOPE_MALFORMED', `unknown envelope version ${signed.version}`)
  if (signed.signature.length !== BLS_SIGNATURE_BYTES) throw new DtaError('ENVELOPE_MALFORMED', 'signature length')
  if (signed.signerCid.length > MAX_CID_CHARS) throw new DtaError('ENVELOPE_MALFORMED', 'signer is not a CID')
  const envelope = decode(EnvelopeSchema, signed.message, 'ENVELOPE_MALFORMED', 'envelope')
  const header = decode(HeaderSchema, envelope.header, 'ENVELOPE_MALFORMED', 'header')
  if (header.recipients.length > MAX_RECIPIENTS) throw new DtaError('ENVELOPE_TOO_MANY_RECIPIENTS', `${header.recipients.length} recipients`)

  const hasEncryptedBody = header.recipients.length > 0
  if (hasEncryptedBody) {
    if (header.nonce.length !== AES_GCM_NONCE_BYTES) throw new DtaError('ENVELOPE_MALFORMED', 'nonce length')
    if (header.keyCommitment.length !== KEY_COMMITMENT_BYTES) throw new DtaError('ENVELOPE_MALFORMED', 'key commitment length')
    if (envelope.encryptedBody.length < AES_GCM_TAG_BYTES) throw new DtaError('ENVELOPE_MALFORMED', 'encrypted body length')
  } else if (header.nonce.length !== 0 || header.keyCommitment.length !== 0 || envelope.encryptedBody.length !== 0 || header.encryptedBodyType !== 0) {
    throw new DtaError('ENVELOPE_MALFORMED', 'encrypted body fields without recipients')
  }
  const encapsulations = new Map<string, Uint8Array>()
  for (const r of header.recipients) {
    checkCID(r.cid, 'recipient')
    if (r.encapsulation.length !== ENCAPSULATION_BYTES) throw new DtaError('ENVELOPE_MALFORMED', 'encapsulation length')
    if (encapsulations.has(r.cid)) throw new DtaError('ENVELOPE_DUPLICATE_RECIPIENT', r.cid)
    encapsulations.set(r.cid, r.encapsulation)
  }
  return {
    signerCID: signed.signerCid,
    header: {
      suite: header.suite,
      createdAt: toMillis(header.createdAt, 'ENVELOPE_MALFORMED', 'createdAt'),
      previousCID: header.previousCid,
      bodyType: header.bodyType,
      encryptedBodyType: header.encryptedBodyType,
      recipients: [...encapsulations.keys()],
    },
    body: envelope.body,
    hasEncryptedBody,
    raw: {
      message: signed.message,
      signature: signed.signature,
      headerBytes: envelope.header,
      nonce: header.nonce,
      keyCommitment: header.keyCommitment,
      encryptedBody: envelope.encryptedBody,
      encapsulations,
    },
  }
}

/** Checks that `parsed` is signed by `signer` (its CID bound in the signed bytes) and uses suite 1. */
export function verifyParsedEnvelope (parsed: ParsedEnvelope, signer: Verifier): void {
  if (parsed.signerCID !== signer.cid) throw new DtaError('ENVELOPE_WRONG_SIGNER', `signed by ${parsed.signerCID || 'itself'}, expected ${signer.cid || 'itself'}`)
  if (!blsVerify(signer.blsPublicKey, signingInput(parsed.signerCID, parsed.raw.message), parsed.raw.signature)) {
    throw new DtaError('ENVELOPE_BAD_SIGNATURE')
  }
  if (parsed.header.suite !== SUITE_1) throw new DtaError('ENVELOPE_UNSUPPORTED_SUITE', `suite ${parsed.header.suite}`)
}

/** Decrypts the body of a verified envelope for `recipient`. */
export function decryptParsedEnvelope (parsed: ParsedEnvelope, recipient: RecipientSecretKey): Uint8Array {
  const encapsulation = parsed.raw.encapsulations.get(recipient.cid)
  if (encapsulation === undefined) throw new DtaError('ENVELOPE_NOT_A_RECIPIENT', recipient.cid)
  let cek: Uint8Array
  try {
    cek = hpkeOpen(recipient.kemSecretKey, encapsulation.subarray(0, XWING_CIPHERTEXT_BYTES), hpkeInfo(recipient.cid), EMPTY, encapsulation.subarray(XWING_CIPHERTEXT_BYTES))
  } catch (err) {
    throw new DtaError('ENVELOPE_DECRYPT_FAILED', 'content key unwrap', { cause: err })
  }
  const { bodyKey, commitment } = contentKeys(cek)
  wipe(cek)
  try {
    if (!timingSafeEqual(commitment, parsed.raw.keyCommitment)) throw new DtaError('ENVELOPE_KEY_COMMITMENT')
    return aes256GcmDecrypt(bodyKey, parsed.raw.nonce, parsed.raw.encryptedBody, parsed.raw.headerBytes)
  } catch (err) {
    if (err instanceof DtaError && err.code === 'ENVELOPE_KEY_COMMITMENT') throw err
    throw new DtaError('ENVELOPE_DECRYPT_FAILED', 'body', { cause: err })
  } finally {
    wipe(bodyKey)
  }
}

function checkTypes (parsed: ParsedEnvelope, expect: ExpectTypes | undefined): void {
  if (expect?.bodyType !== undefined && parsed.header.bodyType !== expect.bodyType) {
    throw new DtaError('ENVELOPE_WRONG_TYPE', `body type ${parsed.header.bodyType}, expected ${expect.bodyType}`)
  }
  if (expect?.encryptedBodyType !== undefined && parsed.header.encryptedBodyType !== expect.encryptedBodyType) {
    throw new DtaError('ENVELOPE_WRONG_TYPE', `encrypted body type ${parsed.header.encryptedBodyType}, expected ${expect.encryptedBodyType}`)
  }
}

/**
 * Parses, verifies against the expected signer, checks types and — when `recipient` is given and
 * the envelope has an encrypted body — decrypts it. A recipient that is not listed gets
 * ENVELOPE_NOT_A_RECIPIENT.
 */
export function openEnvelope (bytes: Uint8Array, options: { signer: Verifier, recipient?: RecipientSecretKey, expect?: ExpectTypes }): OpenedEnvelope {
  const parsed = parseEnvelope(bytes)
  verifyParsedEnvelope(parsed, options.signer)
  checkTypes(parsed, options.expect)
  const opened: OpenedEnvelope = { signerCID: parsed.signerCID, header: parsed.header, body: parsed.body }
  if (options.recipient !== undefined && parsed.hasEncryptedBody) {
    opened.decryptedBody = decryptParsedEnvelope(parsed, options.recipient)
  }
  return opened
}
