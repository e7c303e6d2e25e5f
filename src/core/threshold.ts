/**
 * Threshold orders as documents (docs/threshold.md): the part 1 section naming the n fiduciaries
 * and t, each fiduciary's part 2 section (its verifying share and the transcript hash), and the two
 * DKG messages — a dealer's round-1 package and its round-2 share for one recipient — as signed
 * envelopes bound to the order (reference and part 1 CID). Pure functions, no I/O; the DKG
 * arithmetic is src/crypto/frost-dkg.ts.
 *
 * Opening a message checks, in order: the envelope (size, shape, the expected signer's signature,
 * the document type), then every binding — reference, part 1 CID, the sender's position, and for a
 * share its recipient and transcript hash. A message lifted from another order, another round or
 * another transcript is THRESHOLD_BAD_MESSAGE; one signed by anyone but the expected fiduciary is
 * ENVELOPE_WRONG_SIGNER.
 * @module
 */
import { create } from '@bufbuild/protobuf'
import { DtaError } from '../errors.ts'
import { timingSafeEqual, wipe } from '../crypto/hash.ts'
import { checkPackageShape, checkThresholdParameters, POINT_BYTES, SHARE_BYTES, TRANSCRIPT_HASH_BYTES } from '../crypto/frost-dkg.ts'
import type { DkgPackage } from '../crypto/frost-dkg.ts'
import { decode, encode } from '../envelope/codec.ts'
import { decryptParsedEnvelope, DocumentType, parseEnvelope, sealEnvelope, verifyParsedEnvelope } from '../envelope/envelope.ts'
import type { RecipientPublicKey, RecipientSecretKey, Signer, Verifier } from '../envelope/envelope.ts'
import { ThresholdOrderSchema, ThresholdPart2Schema, ThresholdRound1Schema, ThresholdShareSchema } from '../envelope/gen/dta_pb.ts'
import type { OrderDocument, ThresholdOrder, ThresholdPart2 } from '../envelope/gen/dta_pb.ts'
import { isCIDv0 as isCID } from '../ports/common.ts'

/** What every DKG message is bound to. */
export interface ThresholdBinding {
  reference: string
  part1CID: string
}

/** The threshold section of part 1, or undefined for an ordinary order. */
export function thresholdOf (doc: OrderDocument): { t: number, fiduciaryCIDs: string[] } | undefined {
  const th = doc.threshold
  return th === undefined ? undefined : { t: th.threshold, fiduciaryCIDs: [...th.fiduciaryCids] }
}

export function thresholdOrder (t: number, fiduciaryCIDs: readonly string[]): ThresholdOrder {
  checkThresholdSet(t, fiduciaryCIDs)
  return create(ThresholdOrderSchema, { threshold: t, fiduciaryCids: [...fiduciaryCIDs] })
}

/** THRESHOLD_BAD_PARAMETERS unless 2 ≤ t ≤ n ≤ 18 and the n CIDs are distinct CIDs. */
export function checkThresholdSet (t: number, fiduciaryCIDs: readonly string[]): void {
  checkThresholdParameters(t, fiduciaryCIDs.length)
  if (!fiduciaryCIDs.every(isCID)) throw new DtaError('THRESHOLD_BAD_PARAMETERS', 'a fiduciary is not a CID')
  if (new Set(fiduciaryCIDs).size !== fiduciaryCIDs.length) throw new DtaError('THRESHOLD_BAD_PARAMETERS', 'a fiduciary is named twice')
}

/**
 * The order-document checks of a threshold order (called by core/order.ts validateOrder): part 1
 * names no single fiduciary and a valid set; from part 2 on, the part 2 section has a position in
 * the set, a 33-byte verifying share and a 32-byte transcript hash. An ordinary order has neither.
 */
export function validateThresholdSections (doc: OrderDocument, part: number, bad: (detail: string) => never): void {
  const th = doc.threshold
  const p2t = doc.orderPart2?.threshold
  if (th === undefined) {
    if (p2t !== undefined) bad('part 2 of an ordinary order carries a threshold section')
    return
  }
  if (doc.fiduciaryCid !== '') bad('a threshold order names no single fiduciary')
  try {
    checkThresholdSet(th.threshold, th.fiduciaryCids)
  } catch (err) {
    bad(`threshold set: ${(err as Error).message}`)
  }
  if (part >= 2) {
    if (p2t === undefined) bad('part 2 of a threshold order lacks its threshold section')
    if (p2t.index < 1 || p2t.index > th.fiduciaryCids.length) bad('part 2 threshold index')
    if (p2t.verifyingShare.length !== POINT_BYTES) bad('part 2 verifying share length')
    if (p2t.transcriptHash.length !== TRANSCRIPT_HASH_BYTES) bad('part 2 transcript hash length')
  }
}

export function thresholdPart2 (f: { index: number, verifyingShare: Uint8Array, transcriptHash: Uint8Array }): ThresholdPart2 {
  return create(ThresholdPart2Schema, { index: f.index, verifyingShare: f.verifyingShare, transcriptHash: f.transcriptHash })
}

function badMessage (detail: string): never {
  throw new DtaError('THRESHOLD_BAD_MESSAGE', detail)
}

function checkBinding (got: ThresholdBinding, want: ThresholdBinding, what: string): void {
  if (got.reference !== want.reference) badMessage(`${what} is for another order`)
  if (got.part1CID !== want.part1CID) badMessage(`${what} follows another part 1`)
}

/** Opens an envelope of `type` signed by `signer` as `recipient`: parse, verify, decrypt. */
function openTyped (bytes: Uint8Array, type: number, signer: Verifier, recipient: RecipientSecretKey): Uint8Array {
  const parsed = parseEnvelope(bytes)
  verifyParsedEnvelope(parsed, signer)
  if (parsed.header.bodyType !== DocumentType.NONE || parsed.header.encryptedBodyType !== type) throw new DtaError('ENVELOPE_WRONG_TYPE', `not a document of type ${type}`)
  if (parsed.header.previousCID !== '') badMessage('a key-generation message has no previous document')
  return decryptParsedEnvelope(parsed, recipient)
}

// ── round 1 ──────────────────────────────────────────────────────────────────────────────────

/** A dealer's round-1 package, signed by it, sealed to the principal and all n fiduciaries. */
export function sealRound1 (input: { signer: Signer, recipients: RecipientPublicKey[], binding: ThresholdBinding, package: DkgPackage, now?: number }): Uint8Array {
  const body = encode(ThresholdRound1Schema, {
    reference: input.binding.reference,
    part1Cid: input.binding.part1CID,
    index: input.package.index,
    commitments: input.package.commitments,
    proofOfKnowledge: input.package.proofOfKnowledge,
  })
  return sealEnvelope({ signer: input.signer, encryptedBodyType: DocumentType.THRESHOLD_ROUND1, encryptedBody: body, recipients: input.recipients, previousCID: '', createdAt: input.now })
}

/**
 * The round-1 package of the fiduciary at position `index` of this order, from its signed
 * envelope: signed by `signer` (that fiduciary), bound to this order and position, well formed
 * for (t, n) with a proof of knowledge that verifies.
 */
export function openRound1 (bytes: Uint8Array, expect: { signer: Verifier, recipient: RecipientSecretKey, binding: ThresholdBinding, index: number, t: number, n: number }): DkgPackage {
  const plain = openTyped(bytes, DocumentType.THRESHOLD_ROUND1, expect.signer, expect.recipient)
  const msg = decode(ThresholdRound1Schema, plain, 'THRESHOLD_BAD_MESSAGE', 'round-1 package')
  checkBinding({ reference: msg.reference, part1CID: msg.part1Cid }, expect.binding, 'the round-1 package')
  if (msg.index !== expect.index) badMessage(`the round-1 package of position ${expect.index} claims position ${msg.index}`)
  const pkg: DkgPackage = { index: msg.index, commitments: msg.commitments, proofOfKnowledge: msg.proofOfKnowledge }
  checkPackageShape(pkg, expect.t, expect.n)
  return pkg
}

// ── round 2 ──────────────────────────────────────────────────────────────────────────────────

export interface ShareAddress extends ThresholdBinding {
  transcriptHash: Uint8Array
  from: number
  to: number
}

/** A dealer's share for one fiduciary, sealed to that fiduciary alone and signed by the dealer. The plaintext is wiped. */
export function sealShare (input: { signer: Signer, recipient: RecipientPublicKey, address: ShareAddress, share: Uint8Array, now?: number }): Uint8Array {
  const a = input.address
  const body = encode(ThresholdShareSchema, { reference: a.reference, part1Cid: a.part1CID, transcriptHash: a.transcriptHash, fromIndex: a.from, toIndex: a.to, share: input.share })
  try {
    return sealEnvelope({ signer: input.signer, encryptedBodyType: DocumentType.THRESHOLD_SHARE, encryptedBody: body, recipients: [input.recipient], previousCID: '', createdAt: input.now })
  } finally {
    wipe(body)
  }
}

/**
 * The share a dealer sent this fiduciary: signed by the dealer (`signer`), addressed to this
 * fiduciary alone, bound to this order, to sender and recipient positions, and to the transcript
 * hash this fiduciary computed itself (a share made under another view of round 1 is refused).
 */
export function openShare (bytes: Uint8Array, expect: { signer: Verifier, recipient: RecipientSecretKey, address: ShareAddress }): Uint8Array {
  const parsed = parseEnvelope(bytes)
  if (parsed.header.recipients.length !== 1 || parsed.header.recipients[0] !== expect.recipient.cid) badMessage('a share must be sealed to its one recipient')
  const plain = openTyped(bytes, DocumentType.THRESHOLD_SHARE, expect.signer, expect.recipient)
  try {
    const msg = decode(ThresholdShareSchema, plain, 'THRESHOLD_BAD_MESSAGE', 'round-2 share')
    const a = expect.address
    checkBinding({ reference: msg.reference, part1CID: msg.part1Cid }, a, 'the share')
    if (msg.fromIndex !== a.from || msg.toIndex !== a.to) badMessage(`the share claims ${msg.fromIndex} → ${msg.toIndex}, not ${a.from} → ${a.to}`)
    if (msg.transcriptHash.length !== TRANSCRIPT_HASH_BYTES || !timingSafeEqual(msg.transcriptHash, a.transcriptHash)) {
      throw new DtaError('THRESHOLD_TRANSCRIPT_MISMATCH', `the share from position ${a.from} was made under other round-1 packages`)
    }
    if (msg.share.length !== SHARE_BYTES) badMessage('share length')
    return msg.share.slice()
  } finally {
    wipe(plain)
  }
}
