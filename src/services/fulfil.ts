/**
 * The fiduciary side (PROTOCOL §2, §6): answers part 1 with a commitment (part 2) and part 3
 * with the released seed (part 4).
 *
 * fulfill/order: part 1 must verify against the identity named in `documentCID`, which must be
 * the order's principal; this node must be the order's fiduciary. The order seed is generated
 * here, sealed by custody and committed durably with the order row BEFORE part 2 exists, so a
 * crash never loses a seed whose commitment was returned. The same part 1 again returns the same
 * part 2; another part 1 reusing a known reference is refused.
 *
 * fulfill/order/secret: part 3 must be signed by the principal or the order-time beneficiary;
 * its previous CID must be the part 2 this node issued (from its own store, never from the
 * caller); the order it carries must be exactly the one this node committed to; the plugin's
 * beneficiary rules must hold. The seed goes in part 4 encrypted only to this node and the
 * entitled recipient: the beneficiary if there is one, else the principal. Which recipient that
 * is, is decided by the database before part 4 exists (`claimRelease`, a conditional update): of
 * two concurrent part 3s naming different recipients exactly one gets a part 4, and once
 * released the recipient never changes. A repeat of the same part 3 returns the same part 4.
 *
 * Documents that come inline with a request (src/services/inline.ts) are read from memory and
 * stored only once every check has passed, and only those the request used: a refused request
 * leaves nothing stored.
 *
 * Each new commitment and each release is told to `components.events` (order.placed,
 * secret.released: to whom), each refusal too (order.refused, release.refused: the code and why);
 * a repeat of an answered request tells nothing new.
 * @module
 */
import type { AbortOptions } from '../ports/common.ts'
import { DtaError, isDtaError } from '../errors.ts'
import {
  decodeOrderPart, openOrderPart, orderSecretRecord, parseOrderSecretRecord, part2Document, part4Document, releaseRecipient, sameOrder, sealOrderPart,
  validateOrder, withPartCIDs,
} from '../core/order.ts'
import { toHex, wipe } from '../crypto/hash.ts'
import { randomBytes } from '../crypto/random.ts'
import { commitmentPopSign, orderKeyFromSeed, ORDER_SEED_BYTES, secpPublicKey } from '../crypto/secp256k1.ts'
import { parseEnvelope } from '../envelope/envelope.ts'
import type { Custody } from '../ports/custody.ts'
import { NO_EVENTS } from '../ports/events.ts'
import type { DomainEvents } from '../ports/events.ts'
import type { DocumentStore } from '../ports/document-store.ts'
import type { Plugin, PluginContext } from '../ports/plugin.ts'
import { orderSeedRecordId } from '../ports/state.ts'
import type { StateRepository } from '../ports/state.ts'
import type {
  FulfilService, FulfillOrderRequest, FulfillOrderResponse, FulfillOrderSecretRequest, FulfillOrderSecretResponse,
} from '../ports/api.ts'
import { Part2Cache, refusalOf } from './context.ts'
import { recipientOf, signerOf } from './identities.ts'
import type { HeldIdentity, Identities } from './identities.ts'
import { Inbound, inline } from './inline.ts'
import type { CidOf } from './inline.ts'

/** What the fiduciary side needs, and nothing more (src/node.ts wires it). */
export interface FulfilComponents {
  documents: DocumentStore
  /** Its orders, their sealed seeds and the audit trail. */
  state: Pick<StateRepository, 'getOrder' | 'createFiduciaryOrder' | 'setOrderPart2' | 'claimRelease' | 'setOrderPart4' | 'getSeed' | 'appendAudit'>
  /** Seals the order seeds it generates, and opens one to release it. */
  custody: Pick<Custody, 'seal' | 'unseal'>
  identities: Identities
  plugin: Plugin
  pluginContext: PluginContext
  /** The fiduciary identity this node acts as. */
  node: HeldIdentity
  cidOf: CidOf
  /** When non-empty, only these principal identity CIDs may place orders. */
  allowPrincipals?: readonly string[]
  /** Where commitments, releases and refusals are told (default: nowhere). */
  events?: DomainEvents
}

export function createFulfilService (components: FulfilComponents): FulfilService {
  const { documents, state, custody, identities, plugin, pluginContext, node, cidOf } = components
  const allow = new Set(components.allowPrincipals ?? [])
  const part2s = new Part2Cache()
  const events = components.events ?? NO_EVENTS

  async function issuedPart2 (part2Cid: string, options: AbortOptions): Promise<FulfillOrderResponse> {
    const bytes = await documents.get(part2Cid, options)
    return { orderPart2CID: part2Cid, extension: {}, documents: inline([[part2Cid, bytes]]) }
  }

  async function order (request: FulfillOrderRequest, options: AbortOptions = {}): Promise<FulfillOrderResponse> {
    try {
      return await commit(request, options)
    } catch (err) {
      events.emit({ type: 'order.refused', role: 'fiduciary', plugin: plugin.name, ...refusalOf(err), principalCID: request.documentCID })
      throw err
    }
  }

  async function commit (request: FulfillOrderRequest, options: AbortOptions): Promise<FulfillOrderResponse> {
    if (allow.size > 0 && !allow.has(request.documentCID)) {
      await state.appendAudit({ op: 'order.refused', actor: request.documentCID, detail: 'principal not on the allow-list' }, options)
      throw new DtaError('ORDER_NOT_ENTITLED', 'principal not on the allow-list')
    }
    const inbound = new Inbound(documents, cidOf, request.documents)
    const from = { ...options, from: inbound }
    const principal = await identities.verifier(request.documentCID, from)
    const part1 = openOrderPart(await inbound.get(request.orderPart1CID, options), principal, recipientOf(node))
    const doc1 = part1.document
    const view = validateOrder(doc1, 1, request.orderPart1CID)
    if (part1.previousCID !== '') throw new DtaError('ORDER_BAD_DOCUMENT', 'part 1 must not have a previous document')
    if (doc1.principalCid !== request.documentCID) throw new DtaError('ORDER_NOT_PRINCIPAL', 'documentCID is not the order principal')
    if (doc1.fiduciaryCid !== node.cid) throw new DtaError('ORDER_BAD_DOCUMENT', 'the order names another fiduciary')
    if (doc1.plugin !== plugin.name) throw new DtaError('PLUGIN_REFUSED', `this fiduciary runs the ${plugin.name} plugin, not ${doc1.plugin}`)

    const existing = await state.getOrder('fiduciary', doc1.reference, options)
    if (existing !== undefined) {
      if (existing.part1Cid !== request.orderPart1CID) throw new DtaError('ORDER_REFERENCE_REUSED', doc1.reference)
      if (existing.part2Cid !== null) return await issuedPart2(existing.part2Cid, options)
    } else {
      await plugin.checkOrder(pluginContext, view, options)
    }
    const recipients = await identities.recipients([doc1.principalCid, node.cid, view.beneficiaryCID], from)
    // Accepted: keep part 1 and the identity documents it needed (and nothing else that came with it).
    await inbound.persist(options)

    // The seed is durable (sealed, committed with the order row) before any commitment exists; its
    // order key is derived once, here, and sealed with it (core/order.ts orderSecretRecord).
    const recordId = orderSeedRecordId('fiduciary', doc1.reference)
    const seed = randomBytes(ORDER_SEED_BYTES)
    let key = orderKeyFromSeed(seed)
    const record = orderSecretRecord(seed, key.privateKey)
    wipe(seed)
    const { order: row, created } = await state.createFiduciaryOrder({
      reference: doc1.reference,
      plugin: doc1.plugin,
      principalCid: doc1.principalCid,
      fiduciaryCid: node.cid,
      beneficiaryCid: doc1.beneficiaryCid === '' ? null : doc1.beneficiaryCid,
      part1Cid: request.orderPart1CID,
      createdAt: view.createdAt,
      sealedSeed: await custody.seal(recordId, record, options).finally(() => { wipe(record) }),
    }, options)
    if (!created) {
      // A repeat (or a concurrent twin, perhaps on another replica) of this part 1: use what was stored first.
      wipe(key.privateKey)
      if (row.part2Cid !== null) return await issuedPart2(row.part2Cid, options)
      const stored = await state.getSeed(recordId, options)
      if (stored === undefined) throw new DtaError('INTERNAL', 'order row without its seed')
      const opened = await custody.unseal(recordId, stored.sealed, options)
      try {
        const { seed: storedSeed, orderKey } = parseOrderSecretRecord(opened)
        wipe(storedSeed)
        key = { privateKey: orderKey, publicKey: secpPublicKey(orderKey) }
      } finally {
        wipe(opened)
      }
    }

    const doc2 = part2Document(doc1, {
      part1CID: request.orderPart1CID,
      commitmentPublicKey: key.publicKey,
      proofOfPossession: commitmentPopSign(key.privateKey, { reference: doc1.reference, part1CID: request.orderPart1CID, plugin: doc1.plugin }),
      timestamp: Date.now(),
    })
    wipe(key.privateKey)
    const bytes2 = sealOrderPart({ signer: signerOf(node), document: doc2, recipients, previousCID: request.orderPart1CID })
    const part2Cid = await documents.put(bytes2, options)
    try {
      await state.setOrderPart2('fiduciary', doc1.reference, { part2Cid, commitment: toHex(key.publicKey) }, options)
    } catch (err) {
      // A concurrent twin recorded its part 2 first: answer with that one.
      if (!isDtaError(err, 'STATE_ORDER_CONFLICT')) throw err
      const winner = await state.getOrder('fiduciary', doc1.reference, options)
      if (winner?.part2Cid == null) throw err
      return await issuedPart2(winner.part2Cid, options)
    }
    part2s.set(part2Cid, doc2)
    events.emit({
      type: 'order.placed', role: 'fiduciary', plugin: plugin.name, orderReference: doc1.reference, principalCID: doc1.principalCid, fiduciaryCID: node.cid,
      ...(view.beneficiaryCID === undefined ? {} : { beneficiaryCID: view.beneficiaryCID }), orderPart1CID: request.orderPart1CID, orderPart2CID: part2Cid,
    })
    return { orderPart2CID: part2Cid, extension: {}, documents: inline([[part2Cid, bytes2]]) }
  }

  async function refuse (reference: string, actor: string, code: 'ORDER_NOT_ENTITLED' | 'ORDER_CHAIN_BROKEN' | 'ORDER_ALREADY_REDEEMED_ELSEWHERE' | 'ORDER_BAD_DOCUMENT', detail: string, options: AbortOptions): Promise<never> {
    await state.appendAudit({ op: 'release.refused', reference, actor, detail: `${code}: ${detail}` }, options)
    throw new DtaError(code, detail)
  }

  async function part4Answer (part4Cid: string, options: AbortOptions): Promise<FulfillOrderSecretResponse> {
    return { orderPart4CID: part4Cid, extension: {}, documents: inline([[part4Cid, await documents.get(part4Cid, options)]]) }
  }

  async function secret (request: FulfillOrderSecretRequest, options: AbortOptions = {}): Promise<FulfillOrderSecretResponse> {
    const seen: { reference?: string } = {}
    try {
      return await release(request, seen, options)
    } catch (err) {
      events.emit({
        type: 'release.refused', role: 'fiduciary', plugin: plugin.name, ...refusalOf(err),
        ...(seen.reference === undefined ? {} : { orderReference: seen.reference }), requesterCID: request.documentCID,
      })
      throw err
    }
  }

  /** `seen.reference`: the order's reference, once part 3 is open (for the refusal event). */
  async function release (request: FulfillOrderSecretRequest, seen: { reference?: string }, options: AbortOptions): Promise<FulfillOrderSecretResponse> {
    const inbound = new Inbound(documents, cidOf, request.documents)
    const requester = await identities.verifier(request.documentCID, { ...options, from: inbound })
    const bytes3 = await inbound.get(request.orderPart3CID, options)
    const part3 = openOrderPart(bytes3, requester, recipientOf(node))
    const doc3 = part3.document
    const reference = doc3.reference
    seen.reference = reference
    const row = await state.getOrder('fiduciary', reference, options)
    if (row === undefined || row.part2Cid === null || row.part1Cid === null) throw new DtaError('ORDER_NOT_FOUND', reference)

    // The chain: part 3 must follow the part 2 THIS node issued, by header and by content.
    if (part3.previousCID !== row.part2Cid || doc3.orderPart3?.previousOrderCid !== row.part2Cid) {
      return await refuse(reference, request.documentCID, 'ORDER_CHAIN_BROKEN', 'part 3 does not follow the issued part 2', options)
    }
    const view3 = validateOrder(doc3, 3, row.part1Cid)
    // Our own part 2, read back under the CID we recorded: decrypt only, no second signature check.
    // Read from the request first (its bytes must hash to the recorded CID): the replica that
    // wrote part 2 may be down, and the principal sends it with part 3.
    const issued = part2s.get(row.part2Cid) ?? decodeOrderPart(parseEnvelope(await inbound.get(row.part2Cid, options)), recipientOf(node)).document
    if (!sameOrder(doc3, issued, 2)) {
      return await refuse(reference, request.documentCID, 'ORDER_CHAIN_BROKEN', 'part 3 alters the committed order', options)
    }

    // Entitlement: the principal, or the beneficiary named at order time, may ask.
    const orderBeneficiary = issued.beneficiaryCid
    if (request.documentCID !== issued.principalCid && (orderBeneficiary === '' || request.documentCID !== orderBeneficiary)) {
      return await refuse(reference, request.documentCID, 'ORDER_NOT_ENTITLED', 'neither principal nor beneficiary', options)
    }
    const redemptionBeneficiary = doc3.orderPart3!.beneficiaryCid
    if (orderBeneficiary !== '' && redemptionBeneficiary !== '' && redemptionBeneficiary !== orderBeneficiary) {
      return await refuse(reference, request.documentCID, 'ORDER_NOT_ENTITLED', 'the beneficiary named at order time cannot be replaced', options)
    }
    const recipientCid = releaseRecipient(doc3)
    if (row.releasedTo === null && row.part4Cid !== null) {
      // Released before the database recorded the recipient (schema v1): read it from that part 4.
      const previous = parseEnvelope(await documents.get(row.part4Cid, options)).header.recipients
      if (!previous.includes(recipientCid)) {
        return await refuse(reference, request.documentCID, 'ORDER_ALREADY_REDEEMED_ELSEWHERE', 'released before to another recipient', options)
      }
    }
    await plugin.checkRedemption(pluginContext, { order: withPartCIDs(view3, doc3, { part2: row.part2Cid, part3: request.orderPart3CID }) }, options)
    const recipients = await identities.recipients([node.cid, recipientCid], { ...options, from: inbound })
    await inbound.persist(options)

    // The release decision, made by the database before any part 4 exists.
    let claimed
    try {
      claimed = await state.claimRelease(reference, { part3Cid: request.orderPart3CID, beneficiaryCid: redemptionBeneficiary === '' ? null : redemptionBeneficiary, releasedTo: recipientCid }, options)
    } catch (err) {
      if (!isDtaError(err, 'ORDER_ALREADY_REDEEMED_ELSEWHERE')) throw err
      return await refuse(reference, request.documentCID, 'ORDER_ALREADY_REDEEMED_ELSEWHERE', 'released to another recipient', options)
    }
    if (claimed.part4Cid !== null) return await part4Answer(claimed.part4Cid, options) // the same part 3 again

    const recordId = orderSeedRecordId('fiduciary', reference)
    const stored = await state.getSeed(recordId, options)
    if (stored === undefined) throw new DtaError('INTERNAL', 'order without its seed')
    const opened = await custody.unseal(recordId, stored.sealed, options)
    // a threshold order (docs/threshold.md): the record is this fiduciary's share s_j, released as order_key, with no seed
    const { seed, orderKey } = issued.orderPart2?.threshold === undefined ? parseOrderSecretRecord(opened) : { seed: new Uint8Array(0), orderKey: opened.slice() }
    wipe(opened)
    const doc4 = part4Document(doc3, { part3CID: request.orderPart3CID, seed, orderKey, timestamp: Date.now() })
    let bytes4: Uint8Array
    try {
      bytes4 = sealOrderPart({ signer: signerOf(node), document: doc4, recipients, previousCID: request.orderPart3CID })
    } finally {
      wipe(seed)
      wipe(orderKey)
      doc4.orderPart4!.secret = new Uint8Array(0)
      doc4.orderPart4!.orderKey = new Uint8Array(0)
    }
    const part4Cid = await documents.put(bytes4, options)
    const recorded = await state.setOrderPart4('fiduciary', reference, { part4Cid, part3Cid: request.orderPart3CID, releasedTo: recipientCid }, options)
    // A twin of this part 3 (another replica, the same moment) recorded its part 4 first: answer with that one.
    if (recorded.part3Cid === request.orderPart3CID && recorded.part4Cid !== null && recorded.part4Cid !== part4Cid) return await part4Answer(recorded.part4Cid, options)
    events.emit({ type: 'secret.released', role: 'fiduciary', plugin: plugin.name, orderReference: reference, recipientCID: recipientCid, orderPart4CID: part4Cid })
    return { orderPart4CID: part4Cid, extension: {}, documents: inline([[part4Cid, bytes4]]) }
  }

  return { order, secret }
}
