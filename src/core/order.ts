/**
 * Order documents as state transitions (PROTOCOL §2, §4): pure functions, no I/O. Each part is an
 * envelope whose encrypted body is the whole OrderDocument so far (part N holds parts 1..N),
 * signed by its author and chained to the previous part by `previousCID`:
 *
 *   part 1  principal → fiduciary   the request                      previous ""
 *   part 2  fiduciary → principal   commitment key + its proof       previous part 1
 *   part 3  principal → fiduciary   the redemption request           previous part 2
 *   part 4  fiduciary → recipient   the released seed                previous part 3
 *
 * Decoding validates every field before a service may act on it; a bad order is ORDER_BAD_DOCUMENT.
 * @module
 */
import { clone, create, equals } from '@bufbuild/protobuf'
import { isCIDv0 as isCID, isOrderReference } from '../ports/common.ts'
import { validateThresholdSections } from './threshold.ts'
import { DtaError } from '../errors.ts'
import { concatBytes, timingSafeEqual, toHex, wipe } from '../crypto/hash.ts'
import { randomBytes } from '../crypto/random.ts'
import { orderKeyFromSeed, ORDER_SEED_BYTES, SECP_PRIVATE_KEY_BYTES, secpPublicKey } from '../crypto/secp256k1.ts'
import { decode, encode, toMillis } from '../envelope/codec.ts'
import { decryptParsedEnvelope, DocumentType, parseEnvelope, sealEnvelope, verifyParsedEnvelope } from '../envelope/envelope.ts'
import type { ParsedEnvelope, RecipientPublicKey, RecipientSecretKey, Signer, Verifier } from '../envelope/envelope.ts'
import { OrderDocumentSchema, OrderPart2Schema, OrderPart3Schema, OrderPart4Schema } from '../envelope/gen/dta_pb.ts'
import type { OrderDocument, ThresholdOrder, ThresholdPart2 } from '../envelope/gen/dta_pb.ts'
import type { Extension } from '../ports/common.ts'
import type { OrderView } from '../ports/plugin.ts'

export const ORDER_TYPE_SAFEGUARD = 1
const COMMITMENT_KEY_BYTES = 33
const COMMITMENT_POP_BYTES = 64
const MAX_EXTENSION_ENTRIES = 32

/** 128 random bits, hex: unguessable and not time-based (PROTOCOL §6). */
export function newOrderReference (): string {
  return toHex(randomBytes(16))
}

export type Part1Fields = Pick<OrderView, 'reference' | 'plugin' | 'coin' | 'principalCID' | 'fiduciaryCID' | 'beneficiaryCID' | 'extension'> & {
  timestamp: number
  /** A threshold order (docs/threshold.md): `fiduciaryCID` is then "". */
  threshold?: ThresholdOrder
}

/** The decoded order with the CID of the part it was read from. */
export interface OrderState {
  document: OrderDocument
  view: OrderView
  /** Part 4's secret (the order seed) when the reader could decrypt part 4. */
  secret?: Uint8Array
}

function bad (detail: string): never {
  throw new DtaError('ORDER_BAD_DOCUMENT', detail)
}

function checkExtension (ext: Record<string, string>, where: string): void {
  if (Object.keys(ext).length > MAX_EXTENSION_ENTRIES) bad(`${where} extension has too many entries`)
}

/** Validates an OrderDocument for the given part number (1..4) and builds its view. */
export function validateOrder (doc: OrderDocument, part: 1 | 2 | 3 | 4, part1CID: string): OrderView {
  if (!isOrderReference(doc.reference)) bad('reference')
  if (doc.type !== ORDER_TYPE_SAFEGUARD) bad(`order type ${doc.type}`)
  if (!isCID(doc.principalCid)) bad('principal CID')
  if (doc.threshold === undefined && !isCID(doc.fiduciaryCid)) bad('fiduciary CID')
  validateThresholdSections(doc, part, bad)
  if (doc.beneficiaryCid !== '' && !isCID(doc.beneficiaryCid)) bad('beneficiary CID')
  if (doc.plugin.length === 0 || doc.plugin.length > 64) bad('plugin')
  checkExtension(doc.extension, 'part 1')
  const view: OrderView = {
    reference: doc.reference,
    plugin: doc.plugin,
    coin: doc.coin,
    principalCID: doc.principalCid,
    fiduciaryCID: doc.fiduciaryCid,
    createdAt: toMillis(doc.timestamp, 'ORDER_BAD_DOCUMENT', 'timestamp'),
    extension: { ...doc.extension },
    part1CID,
  }
  if (doc.beneficiaryCid !== '') view.beneficiaryCID = doc.beneficiaryCid
  const p2 = doc.orderPart2
  if (part >= 2) {
    if (p2 === undefined) bad('part 2 missing')
    if (p2.commitmentPublicKey.length !== COMMITMENT_KEY_BYTES) bad('commitment key length')
    if (p2.proofOfPossession.length !== COMMITMENT_POP_BYTES) bad('commitment proof length')
    if (p2.previousOrderCid !== part1CID) bad('part 2 does not follow part 1')
    checkExtension(p2.extension, 'part 2')
  } else if (p2 !== undefined) bad('part 1 carries part 2')
  const p3 = doc.orderPart3
  if (part >= 3) {
    if (p3 === undefined) bad('part 3 missing')
    if (!isCID(p3.previousOrderCid)) bad('part 3 previous CID')
    if (p3.beneficiaryCid !== '' && !isCID(p3.beneficiaryCid)) bad('part 3 beneficiary CID')
    if (p3.beneficiaryEncryptedData.length > 4096) bad('part 3 beneficiary data length')
    checkExtension(p3.extension, 'part 3')
  } else if (p3 !== undefined) bad(`part ${part} carries part 3`)
  const p4 = doc.orderPart4
  if (part === 4) {
    if (p4 === undefined) bad('part 4 missing')
    if (!isCID(p4.previousOrderCid)) bad('part 4 previous CID')
    checkExtension(p4.extension, 'part 4')
  } else if (p4 !== undefined) bad(`part ${part} carries part 4`)
  return view
}

/** Completes the view's part 2 / part 3 sections, which need the CIDs the caller knows. */
export function withPartCIDs (view: OrderView, doc: OrderDocument, cids: { part2?: string, part3?: string }): OrderView {
  const out = { ...view }
  if (doc.orderPart2 !== undefined && cids.part2 !== undefined) {
    out.part2 = { cid: cids.part2, commitmentPublicKey: doc.orderPart2.commitmentPublicKey, extension: { ...doc.orderPart2.extension } }
  }
  const p3 = doc.orderPart3
  if (p3 !== undefined && cids.part3 !== undefined) {
    out.part3 = { cid: cids.part3, beneficiaryEncryptedData: p3.beneficiaryEncryptedData, extension: { ...p3.extension } }
    if (p3.beneficiaryCid !== '') out.part3.beneficiaryCID = p3.beneficiaryCid
  }
  return out
}

export function part1Document (f: Part1Fields): OrderDocument {
  return decode(OrderDocumentSchema, encode(OrderDocumentSchema, {
    type: ORDER_TYPE_SAFEGUARD,
    coin: f.coin,
    principalCid: f.principalCID,
    beneficiaryCid: f.beneficiaryCID ?? '',
    reference: f.reference,
    timestamp: BigInt(f.timestamp),
    fiduciaryCid: f.fiduciaryCID,
    plugin: f.plugin,
    extension: f.extension,
    threshold: f.threshold,
  }), 'ORDER_BAD_DOCUMENT', 'order')
}

/** Part 2: the fiduciary's commitment to part 1 — the commitment key and its proof of possession. */
export function part2Document (doc1: OrderDocument, f: { part1CID: string, commitmentPublicKey: Uint8Array, proofOfPossession: Uint8Array, timestamp: number, threshold?: ThresholdPart2 }): OrderDocument {
  const doc = orderUpTo(doc1, 1)
  doc.orderPart2 = create(OrderPart2Schema, {
    commitmentPublicKey: f.commitmentPublicKey,
    proofOfPossession: f.proofOfPossession,
    previousOrderCid: f.part1CID,
    timestamp: BigInt(f.timestamp),
    threshold: f.threshold,
  })
  return doc
}

/**
 * Part 3: the redemption request on part 2. `beneficiaryCID` is a beneficiary named now (only for
 * an order without one); `beneficiaryEncryptedData` what the plugin hands it (sealed to it alone).
 */
export function part3Document (doc2: OrderDocument, f: { part2CID: string, beneficiaryCID?: string, beneficiaryEncryptedData?: Uint8Array, extension?: Extension, timestamp: number }): OrderDocument {
  const doc = orderUpTo(doc2, 2)
  doc.orderPart3 = create(OrderPart3Schema, {
    previousOrderCid: f.part2CID,
    beneficiaryCid: f.beneficiaryCID ?? '',
    beneficiaryEncryptedData: f.beneficiaryEncryptedData ?? new Uint8Array(0),
    timestamp: BigInt(f.timestamp),
    extension: f.extension ?? {},
  })
  return doc
}

/** Part 4: the released seed, answering part 3. The caller wipes `seed` once part 4 is sealed. */
export function part4Document (doc3: OrderDocument, f: { part3CID: string, seed: Uint8Array, orderKey: Uint8Array, timestamp: number }): OrderDocument {
  const doc = orderUpTo(doc3, 3)
  doc.orderPart4 = create(OrderPart4Schema, { secret: f.seed, orderKey: f.orderKey, previousOrderCid: f.part3CID, timestamp: BigInt(f.timestamp) })
  return doc
}

/**
 * The fiduciary's sealed record of an order: the seed and the order key it derives to, derived
 * once when the order is placed (BIP39 PBKDF2 + BIP32 is most of a cycle's crypto), so neither a
 * repeat of part 1 nor the release derives it again. Sealed together, under the seed's record id.
 */
export function orderSecretRecord (seed: Uint8Array, orderKey: Uint8Array): Uint8Array {
  if (seed.length !== ORDER_SEED_BYTES || orderKey.length !== SECP_PRIVATE_KEY_BYTES) throw new DtaError('INTERNAL', 'order secret record: wrong lengths')
  return concatBytes(seed, orderKey)
}

/**
 * The seed and order key of an opened order record (fresh copies; the caller wipes them and the
 * record). A record of the seed alone (written before the key was kept) derives the key now.
 */
export function parseOrderSecretRecord (record: Uint8Array): { seed: Uint8Array, orderKey: Uint8Array } {
  if (record.length === ORDER_SEED_BYTES) {
    const seed = record.slice()
    return { seed, orderKey: orderKeyFromSeed(seed).privateKey }
  }
  if (record.length !== ORDER_SEED_BYTES + SECP_PRIVATE_KEY_BYTES) throw new DtaError('INTERNAL', 'an order record holds a seed and its key')
  return { seed: record.slice(0, ORDER_SEED_BYTES), orderKey: record.slice(ORDER_SEED_BYTES) }
}

/**
 * Who part 4 of an order is released to (PROTOCOL §6): the beneficiary named at order time, else
 * the one part 3 names, else the principal — never anyone else.
 */
export function releaseRecipient (doc3: OrderDocument): string {
  if (doc3.beneficiaryCid !== '') return doc3.beneficiaryCid
  const named = doc3.orderPart3?.beneficiaryCid ?? ''
  return named !== '' ? named : doc3.principalCid
}

/**
 * The order as it stood at part `part`: a copy without the later parts. Every part carries the
 * whole order so far, so part N's copy of parts 1..N−1 must equal what was written before.
 */
export function orderUpTo (doc: OrderDocument, part: 1 | 2 | 3): OrderDocument {
  const copy = clone(OrderDocumentSchema, doc)
  if (part < 2) copy.orderPart2 = undefined
  if (part < 3) copy.orderPart3 = undefined
  copy.orderPart4 = undefined
  return copy
}

/** True if `later`'s copy of parts 1..`part` is exactly `earlier` (a document with those parts only). */
export function sameOrder (later: OrderDocument, earlier: OrderDocument, part: 1 | 2 | 3): boolean {
  return equals(OrderDocumentSchema, orderUpTo(later, part), orderUpTo(earlier, part))
}

/** ORDER_CHAIN_BROKEN unless `later` repeats `earlier` (parts 1..`part`) unchanged. */
export function assertSameOrder (later: OrderDocument, earlier: OrderDocument, part: 1 | 2 | 3, detail: string): void {
  if (!sameOrder(later, earlier, part)) throw new DtaError('ORDER_CHAIN_BROKEN', detail)
}

/**
 * The order key pair that part 4's seed gives, checked against `commitmentPublicKey` — the
 * commitment this node verified (the part 2 it stored when it placed the order, or the chain a
 * beneficiary's node verified), never the copy of part 2 that part 4 itself carries (PROTOCOL §7).
 * ORDER_SECRET_MISMATCH if the fiduciary released a seed for another key.
 */
export function releasedOrderKey (doc4: OrderDocument, commitmentPublicKey: Uint8Array): { privateKey: Uint8Array, publicKey: Uint8Array } {
  const seed = doc4.orderPart4?.secret
  if (seed === undefined || seed.length !== ORDER_SEED_BYTES) throw new DtaError('ORDER_BAD_DOCUMENT', 'part 4 holds no seed')
  // The key the fiduciary derived once, when it is there: checking it against the commitment is one
  // scalar multiplication instead of PBKDF2 + BIP32 (a fiduciary of an earlier version sends the seed only).
  const given = doc4.orderPart4!.orderKey
  let key: { privateKey: Uint8Array, publicKey: Uint8Array }
  if (given.length === 0) key = orderKeyFromSeed(seed)
  else {
    if (given.length !== SECP_PRIVATE_KEY_BYTES) throw new DtaError('ORDER_BAD_DOCUMENT', 'part 4 holds a malformed order key')
    let publicKey: Uint8Array
    try {
      publicKey = secpPublicKey(given)
    } catch (err) {
      throw new DtaError('ORDER_SECRET_MISMATCH', doc4.reference, { cause: err })
    }
    key = { privateKey: given.slice(), publicKey }
  }
  if (!timingSafeEqual(key.publicKey, commitmentPublicKey)) {
    wipe(key.privateKey)
    throw new DtaError('ORDER_SECRET_MISMATCH', doc4.reference)
  }
  return key
}

/**
 * Seals an order part: encrypted body = the order document, to the given recipients. The
 * plaintext encoding (part 4's holds the seed) is wiped once sealed.
 */
export function sealOrderPart (input: { signer: Signer, document: OrderDocument, recipients: RecipientPublicKey[], previousCID?: string, now?: number }): Uint8Array {
  const body = encode(OrderDocumentSchema, input.document)
  try {
    return sealEnvelope({
      signer: input.signer,
      encryptedBodyType: DocumentType.ORDER_DOCUMENT,
      encryptedBody: body,
      recipients: input.recipients,
      previousCID: input.previousCID ?? '',
      createdAt: input.now,
    })
  } finally {
    wipe(body)
  }
}

export interface OpenedOrderPart { document: OrderDocument, previousCID: string, createdAt: number, recipients: string[] }

/**
 * Decrypts and decodes an order part that was already parsed — and either verified by the caller
 * or read back from this node's own store under a CID this node recorded (its own documents need
 * no second signature check). The document's byte fields are views into the decrypted plaintext:
 * wiping part 4's `secret` after use wipes the seed there too.
 */
export function decodeOrderPart (parsed: ParsedEnvelope, recipient: RecipientSecretKey): OpenedOrderPart {
  if (parsed.header.bodyType !== DocumentType.NONE || parsed.header.encryptedBodyType !== DocumentType.ORDER_DOCUMENT) {
    throw new DtaError('ENVELOPE_WRONG_TYPE', 'not an order part')
  }
  const document = decode(OrderDocumentSchema, decryptParsedEnvelope(parsed, recipient), 'ORDER_BAD_DOCUMENT', 'order document')
  return { document, previousCID: parsed.header.previousCID, createdAt: parsed.header.createdAt, recipients: parsed.header.recipients }
}

/** Opens an order part signed by `signer` as `recipient`: parse, verify the signature, decrypt, decode. */
export function openOrderPart (bytes: Uint8Array, signer: Verifier, recipient: RecipientSecretKey): OpenedOrderPart {
  const parsed = parseEnvelope(bytes)
  verifyParsedEnvelope(parsed, signer)
  return decodeOrderPart(parsed, recipient)
}

/** The original D-TA's name of our order type 1 (its OrderDocument.Type was a string). */
const ORIGINAL_ORDER_TYPES: Record<number, string> = { [ORDER_TYPE_SAFEGUARD]: 'Safeguard_Secret' }
const seconds = (ms: bigint): number => Math.floor(Number(ms) / 1000)

/**
 * An order document in the original D-TA's JSON shape, for GET /v1/order/{ref} (PROTOCOL §8): the
 * keys and types of its protobuf OrderDocument as Go's encoding/json wrote them — `Type` a string,
 * `BeneficiaryType` 1 (named at order time) or 2 (not), timestamps in Unix seconds, the commitment
 * key as hex, `BeneficiaryEncryptedData` as base64 — so its clients read it unchanged, and
 * `OrderPart4.Secret` the released secret when the caller passes it (the node that can read part
 * 4). The caller adds its own keys beside these. The seed itself is never in it.
 */
export function originalOrderJSON (doc: OrderDocument, options: { secret?: string } = {}): Record<string, unknown> {
  const p2 = doc.orderPart2; const p3 = doc.orderPart3; const p4 = doc.orderPart4
  const out: Record<string, unknown> = {
    Type: ORIGINAL_ORDER_TYPES[doc.type] ?? String(doc.type),
    BeneficiaryType: doc.beneficiaryCid === '' ? 2 : 1,
    Coin: doc.coin,
    PrincipalCID: doc.principalCid,
    BeneficiaryCID: doc.beneficiaryCid,
    Reference: doc.reference,
    Timestamp: seconds(doc.timestamp),
  }
  if (p2 !== undefined) {
    out.OrderPart2 = { CommitmentPublicKey: toHex(p2.commitmentPublicKey), PreviousOrderCID: p2.previousOrderCid, Timestamp: seconds(p2.timestamp), Extension: { ...p2.extension } }
  }
  if (p3 !== undefined) {
    out.OrderPart3 = {
      Redemption: '',
      PreviousOrderCID: p3.previousOrderCid,
      BeneficiaryEncryptedData: Buffer.from(p3.beneficiaryEncryptedData).toString('base64'),
      Timestamp: seconds(p3.timestamp),
    }
  }
  if (p4 !== undefined) {
    out.OrderPart4 = { ...(options.secret === undefined ? {} : { Secret: options.secret }), PreviousOrderCID: p4.previousOrderCid, Timestamp: seconds(p4.timestamp), Extension: { ...p4.extension } }
  }
  return out
}
