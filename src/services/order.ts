/**
 * The principal side (PROTOCOL §2): places orders with the fiduciary and redeems them, and — on
 * a beneficiary's own node — redeems from a part 4 CID alone.
 *
 * Everything that comes back from the fiduciary is checked before it is used or stored: part 2
 * and part 4 must be signed by the fiduciary the order names, chained to the part this node
 * wrote, and repeat exactly the order this node asked for; the commitment's proof of possession
 * must verify; part 4 must be addressed to the entitled recipient (and the fiduciary) only; and
 * the released seed must give the commitment key of the part 2 this node verified when it placed
 * the order — never the copy part 4 carries. Documents travel inline with the RPCs
 * (src/services/inline.ts: hash-checked, stored only once accepted), so a cycle needs no IPFS
 * round trip; the same documents are also served to peers over bitswap.
 *
 * A beneficiary's node redeems a part 4 only if its fiduciary is one this node trusts
 * (`trustedFiduciaries`) and part 1 or part 3 names an identity this node holds; it verifies the
 * whole chain (signatures, links, part 4 repeating the principal's part 3, the proof of
 * possession) and opens key shares only with the order's binding (PROTOCOL §7). Without the
 * trust rule, anyone running its own principal and fiduciary could hand this node a made-up chain
 * and learn the secret it computes — with a bitcoinwallet order, the beneficiary's identity key.
 *
 * Each placed order and each redemption is told to `components.events` (order.placed,
 * secret.released: to whom, and whether it was handed off to another node), each failure too
 * (order.refused, release.refused: the code and why).
 * @module
 */
import type { AbortOptions, Extension } from '../ports/common.ts'
import { DtaError } from '../errors.ts'
import {
  assertSameOrder, decodeOrderPart, newOrderReference, openOrderPart, originalOrderJSON, part1Document, part3Document, releasedOrderKey,
  sealOrderPart, validateOrder, withPartCIDs,
} from '../core/order.ts'
import { toHex, wipe } from '../crypto/hash.ts'
import { commitmentPopVerify } from '../crypto/secp256k1.ts'
import { parseEnvelope, verifyParsedEnvelope } from '../envelope/envelope.ts'
import type { ParsedEnvelope } from '../envelope/envelope.ts'
import type { OrderDocument } from '../envelope/gen/dta_pb.ts'
import type { DocumentReader, DocumentStore } from '../ports/document-store.ts'
import { NO_EVENTS } from '../ports/events.ts'
import type { DomainEvents } from '../ports/events.ts'
import type { FiduciaryClient } from '../ports/peer.ts'
import type { IdentityInfo, OrderBinding, OrderView, Plugin, PluginContext, RedemptionKeys } from '../ports/plugin.ts'
import type { StateRepository } from '../ports/state.ts'
import type { ListQuery, OrderRequest, OrderResponse, OrderSecretRequest, OrderSecretResponse, OrderService } from '../ports/api.ts'
import { Part2Cache, refusalOf } from './context.ts'
import { decryptForIdentity, recipientOf, signerOf } from './identities.ts'
import type { HeldIdentity, Identities } from './identities.ts'
import { Inbound, inline } from './inline.ts'
import type { CidOf } from './inline.ts'

/** What the principal side needs, and nothing more — no custody (src/node.ts wires it). */
export interface OrderComponents {
  documents: DocumentStore
  /** Its orders (principal rows). */
  state: Pick<StateRepository, 'createOrder' | 'getOrder' | 'setOrderPart3' | 'setOrderPart4' | 'listOrders'>
  identities: Identities
  plugin: Plugin
  pluginContext: PluginContext
  /** The principal identity this node acts as. */
  node: HeldIdentity
  cidOf: CidOf
  fiduciary: FiduciaryClient
  /** The fiduciary's identity CID (the node's own in `multi` mode). */
  fiduciaryCID: string
  /**
   * The fiduciaries whose orders this node redeems from a part 4 alone (a beneficiary's own node,
   * `POST /v1/order/secret {orderPart4CID}`): `node.trustedFiduciaries`, by default the node's
   * master fiduciary (itself in `multi` mode).
   */
  trustedFiduciaries: ReadonlySet<string>
  /** Where placed orders, redemptions and their failures are told (default: nowhere). */
  events?: DomainEvents
  /**
   * A beneficiary's node: checks that a part 4 redeemed from its CID is in its fiduciary's
   * transparency log (src/services/log/hooks.ts), once the chain is verified and before the
   * secret is computed.
   */
  checkPart4?: (part4CID: string, fiduciaryCID: string, options: AbortOptions) => Promise<void>
}

export function createOrderService (components: OrderComponents): OrderService {
  const { documents, state, identities, plugin, pluginContext, node, cidOf } = components
  const part2s = new Part2Cache()
  const events = components.events ?? NO_EVENTS

  /** The RPC's own document plus the identity documents the fiduciary needs (this node's, a beneficiary's). */
  async function withIdentityDocuments (entries: Array<[string, Uint8Array]>, cids: Array<string | undefined>, options: AbortOptions): Promise<Array<[string, Uint8Array]>> {
    for (const cid of new Set(cids)) if (cid !== undefined) entries.push([cid, await documents.get(cid, options)])
    return entries
  }

  /** Parses a part from `from` and checks its signature by `signerCID` and that it follows `previousCID`. */
  async function verifiedPart (cid: string, signerCID: string, previousCID: string, from: DocumentReader, options: AbortOptions): Promise<ParsedEnvelope> {
    const parsed = parseEnvelope(await from.get(cid, options))
    verifyParsedEnvelope(parsed, await identities.verifier(signerCID, options))
    if (parsed.header.previousCID !== previousCID) throw new DtaError('ORDER_CHAIN_BROKEN', `${cid} does not follow ${previousCID}`)
    return parsed
  }

  function checkCommitment (doc: OrderDocument, part1CID: string): void {
    const p2 = doc.orderPart2
    if (p2 === undefined || !commitmentPopVerify(p2.commitmentPublicKey, { reference: doc.reference, part1CID, plugin: doc.plugin }, p2.proofOfPossession)) {
      throw new DtaError('ORDER_BAD_COMMITMENT', doc.reference)
    }
  }

  async function beneficiaryInfo (cid: string | undefined, options: AbortOptions): Promise<IdentityInfo | undefined> {
    return cid === undefined ? undefined : await identities.info(cid, options)
  }

  async function create_ (request: OrderRequest, options: AbortOptions = {}): Promise<OrderResponse> {
    try {
      return await place(request, options)
    } catch (err) {
      events.emit({ type: 'order.refused', role: 'principal', plugin: plugin.name, ...refusalOf(err) })
      throw err
    }
  }

  async function place (request: OrderRequest, options: AbortOptions): Promise<OrderResponse> {
    const requestExtension = request.extension ?? {}
    const beneficiary = await beneficiaryInfo(request.beneficiaryIDDocumentCID, options)
    const reference = newOrderReference()
    const prepared = await plugin.prepareOrder(pluginContext, { reference, extension: requestExtension, beneficiary }, options)
    const doc1 = part1Document({
      reference,
      plugin: plugin.name,
      coin: prepared.coin ?? 0,
      principalCID: node.cid,
      fiduciaryCID: components.fiduciaryCID,
      beneficiaryCID: beneficiary?.cid,
      extension: prepared.extension ?? {},
      timestamp: Date.now(),
    })
    const recipients = await identities.recipients([node.cid, components.fiduciaryCID, beneficiary?.cid], options)
    const bytes1 = sealOrderPart({ signer: signerOf(node), document: doc1, recipients })
    const part1CID = await documents.put(bytes1, options)

    const answer = await components.fiduciary.fulfillOrder({
      orderPart1CID: part1CID,
      documentCID: node.cid,
      documents: inline(await withIdentityDocuments([[part1CID, bytes1]], [node.cid, beneficiary?.cid], options)),
    }, options)
    const inbound = new Inbound(documents, cidOf, answer.documents)
    const part2 = await verifiedPart(answer.orderPart2CID, components.fiduciaryCID, part1CID, inbound, options)
    const doc2 = decodeOrderPart(part2, recipientOf(node)).document
    const view2 = validateOrder(doc2, 2, part1CID)
    assertSameOrder(doc2, doc1, 1, 'part 2 alters the order')
    checkCommitment(doc2, part1CID)
    await inbound.persist(options)
    part2s.set(answer.orderPart2CID, doc2)

    const order = withPartCIDs(view2, doc2, { part2: answer.orderPart2CID })
    const result = await plugin.completeOrder(pluginContext, { order, requestExtension, beneficiary }, options)
    // The order is recorded once it is complete: a failed order leaves no half-written row.
    await state.createOrder({
      role: 'principal', reference, plugin: plugin.name, principalCid: node.cid, fiduciaryCid: components.fiduciaryCID,
      beneficiaryCid: beneficiary?.cid ?? null, part1Cid: part1CID, part2Cid: answer.orderPart2CID,
      commitment: result.commitment, extension: result.extension, createdAt: order.createdAt,
    }, options)
    events.emit({
      type: 'order.placed', role: 'principal', plugin: plugin.name, orderReference: reference, principalCID: node.cid, fiduciaryCID: components.fiduciaryCID,
      ...(beneficiary === undefined ? {} : { beneficiaryCID: beneficiary.cid }), orderPart1CID: part1CID, orderPart2CID: answer.orderPart2CID,
    })
    return {
      orderReference: reference,
      commitment: result.commitment,
      createdAt: Math.floor(order.createdAt / 1000),
      extension: result.extension,
      orderPart1CID: part1CID,
      orderPart2CID: answer.orderPart2CID,
    }
  }

  /** The identity `cid` if this node holds its keys. */
  async function heldIdentity (cid: string, options: AbortOptions): Promise<HeldIdentity | undefined> {
    if (cid === node.cid) return node
    return await identities.keys(cid, options) === undefined ? undefined : await identities.held(cid, options)
  }

  /**
   * Part 4's key material for the plugin on the recipient's node: the seed, the order key checked
   * against `commitmentPublicKey` (the commitment this node verified), the beneficiary's EC key
   * when the reader is the beneficiary, and a decryption bound to this order.
   */
  function redemptionKeys (doc4: OrderDocument, commitmentPublicKey: Uint8Array, reader: HeldIdentity, beneficiaryCID: string | undefined, binding: OrderBinding): RedemptionKeys {
    const orderKey = releasedOrderKey(doc4, commitmentPublicKey)
    const keys: RedemptionKeys = { orderKey, decrypt: (data) => decryptForIdentity(reader, binding, data) }
    if (beneficiaryCID !== undefined && reader.cid === beneficiaryCID) keys.beneficiaryECPrivateKey = reader.keys.ecPrivateKey
    return keys
  }

  /** Runs the plugin's completeRedemption, then wipes the order key (callers wipe the seed, a view into part 4's plaintext). */
  async function complete (order: OrderView, requestExtension: Extension, keys: RedemptionKeys, options: AbortOptions): Promise<{ secret: string, commitment: string, extension: Extension }> {
    try {
      return await plugin.completeRedemption(pluginContext, { order, requestExtension, keys }, options)
    } finally {
      wipe(keys.orderKey.privateKey)
    }
  }

  async function secret (request: OrderSecretRequest, options: AbortOptions = {}): Promise<OrderSecretResponse> {
    try {
      return await redeem(request, options)
    } catch (err) {
      events.emit({
        type: 'release.refused', role: 'principal', plugin: plugin.name, ...refusalOf(err),
        ...(request.orderReference === undefined ? {} : { orderReference: request.orderReference }),
      })
      throw err
    }
  }

  /** The secret event of a redemption that answered: to `recipientCID`, or handed off to its node. */
  function released (reference: string, recipientCID: string, part4CID: string, handedOff: boolean): void {
    events.emit({ type: 'secret.released', role: 'principal', plugin: plugin.name, orderReference: reference, recipientCID, orderPart4CID: part4CID, handedOff })
  }

  async function redeem (request: OrderSecretRequest, options: AbortOptions): Promise<OrderSecretResponse> {
    if (request.orderReference === undefined) {
      if (request.orderPart4CID === undefined) throw new DtaError('REQUEST_INVALID', 'orderReference is required')
      return await redeemFromPart4(request.orderPart4CID, request.extension ?? {}, options)
    }
    const reference = request.orderReference
    const row = await state.getOrder('principal', reference, options)
    if (row === undefined) throw new DtaError('ORDER_NOT_FOUND', reference)
    if (row.part1Cid === null || row.part2Cid === null) throw new DtaError('ORDER_BAD_DOCUMENT', 'the order has no commitment yet')
    // Part 2 was verified when the order was placed; read back under the CID we recorded, it needs decrypting only.
    const doc2 = part2s.get(row.part2Cid) ?? decodeOrderPart(parseEnvelope(await documents.get(row.part2Cid, options)), recipientOf(node)).document
    const view2 = withPartCIDs(validateOrder(doc2, 2, row.part1Cid), doc2, { part2: row.part2Cid })
    const requestExtension = request.extension ?? {}
    const named = request.beneficiaryIDDocumentCID
    if (named !== undefined && view2.beneficiaryCID !== undefined && named !== view2.beneficiaryCID) {
      throw new DtaError('ORDER_NOT_ENTITLED', 'the beneficiary named at order time cannot be replaced')
    }
    // Part 4 goes to the beneficiary named at order time, else the one named now, else to this principal.
    const beneficiaryCID = view2.beneficiaryCID ?? named
    const beneficiary = await beneficiaryInfo(beneficiaryCID, options)
    const prepared = await plugin.prepareRedemption(pluginContext, { order: view2, extension: requestExtension, beneficiary }, options)
    const redemptionBeneficiaryCID = view2.beneficiaryCID === undefined ? named : undefined

    const doc3 = part3Document(doc2, {
      part2CID: row.part2Cid,
      beneficiaryCID: redemptionBeneficiaryCID,
      beneficiaryEncryptedData: prepared.beneficiaryEncryptedData,
      extension: prepared.extension,
      timestamp: Date.now(),
    })
    const recipients = await identities.recipients([node.cid, row.fiduciaryCid, beneficiaryCID], options)
    const bytes3 = sealOrderPart({ signer: signerOf(node), document: doc3, recipients, previousCID: row.part2Cid })
    const part3CID = await documents.put(bytes3, options)

    const answer = await components.fiduciary.fulfillOrderSecret({
      orderPart3CID: part3CID,
      documentCID: node.cid,
      // part 2 too: a replica of the fiduciary other than the one that wrote it reads it from here
      documents: inline(await withIdentityDocuments([[part3CID, bytes3], [row.part2Cid, await documents.get(row.part2Cid, options)]], [node.cid, beneficiaryCID], options)),
    }, options)
    const inbound = new Inbound(documents, cidOf, answer.documents)
    const part4CID = answer.orderPart4CID
    const parsed4 = await verifiedPart(part4CID, row.fiduciaryCid, part3CID, inbound, options)
    // Part 4 must be addressed to the entitled recipient (the beneficiary if any, else this
    // principal) and to nobody but it and the fiduciary.
    const entitled = beneficiaryCID ?? node.cid
    const addressed = parsed4.header.recipients
    if (!addressed.includes(entitled)) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 4 is not addressed to the entitled recipient')
    if (addressed.some(cid => cid !== entitled && cid !== row.fiduciaryCid)) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 4 is addressed to someone not entitled')
    await inbound.persist(options)
    // Part 3 is recorded only once the fiduciary has answered it: a refused redemption must not
    // replace the part 3 / part 4 of an earlier, successful one.
    await state.setOrderPart3('principal', reference, { part3Cid: part3CID, beneficiaryCid: redemptionBeneficiaryCID ?? null }, options)
    await state.setOrderPart4('principal', reference, { part4Cid: part4CID }, options)

    const reader = await heldIdentity(entitled, options)
    const base = { orderReference: reference, orderPart3CID: part3CID, orderPart4CID: part4CID }
    if (reader === undefined) {
      // The secret is for a beneficiary on another node; it redeems there with orderPart4CID.
      released(reference, entitled, part4CID, true)
      return { ...base, commitment: row.commitment ?? '', extension: { beneficiaryIDDocumentCID: beneficiaryCID ?? '' } }
    }
    const doc4 = decodeOrderPart(parsed4, recipientOf(reader)).document
    try {
      assertSameOrder(doc4, doc3, 3, 'part 4 alters the order')
      if (doc4.orderPart4?.previousOrderCid !== part3CID) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 4 does not follow part 3')
      const view4 = withPartCIDs(validateOrder(doc4, 4, row.part1Cid), doc4, { part2: row.part2Cid, part3: part3CID })
      const keys = redemptionKeys(doc4, doc2.orderPart2!.commitmentPublicKey, reader, beneficiaryCID, { reference, part2CID: row.part2Cid })
      const result = await complete(view4, requestExtension, keys, options)
      released(reference, entitled, part4CID, false)
      return { ...base, secret: result.secret, commitment: result.commitment, extension: result.extension }
    } finally {
      if (doc4.orderPart4 !== undefined) wipe(doc4.orderPart4.secret)
    }
  }

  /**
   * A beneficiary's own node: fetch part 4 by CID; refuse it unless its fiduciary is trusted and an
   * identity this node holds is the order's beneficiary; verify the whole chain (every part signed
   * by its author, each following the previous, part 4 repeating the principal's part 3, the
   * commitment proof), then let the plugin build the secret.
   */
  async function redeemFromPart4 (part4CID: string, requestExtension: Extension, options: AbortOptions): Promise<OrderSecretResponse> {
    const parsed4 = parseEnvelope(await documents.get(part4CID, options))
    const fiduciaryCID = parsed4.signerCID
    if (!components.trustedFiduciaries.has(fiduciaryCID)) throw new DtaError('ORDER_FIDUCIARY_NOT_TRUSTED', fiduciaryCID)
    let reader: HeldIdentity | undefined
    for (const cid of parsed4.header.recipients.filter(cid => cid !== fiduciaryCID)) reader ??= await heldIdentity(cid, options)
    if (reader === undefined) throw new DtaError('ENVELOPE_NOT_A_RECIPIENT', 'no identity on this node can read that part 4')
    verifyParsedEnvelope(parsed4, await identities.verifier(fiduciaryCID, options))
    const part3CID = parsed4.header.previousCID
    const doc4 = decodeOrderPart(parsed4, recipientOf(reader)).document
    try {
      const p2 = doc4.orderPart2; const p3 = doc4.orderPart3
      if (p2 === undefined || p3 === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'part 4 lacks parts 2 and 3')
      const part1CID = p2.previousOrderCid
      const part2CID = p3.previousOrderCid
      const view4 = withPartCIDs(validateOrder(doc4, 4, part1CID), doc4, { part2: part2CID, part3: part3CID })
      if (view4.fiduciaryCID !== fiduciaryCID) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 4 is not signed by the order fiduciary')
      if (doc4.orderPart4?.previousOrderCid !== part3CID) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 4 does not follow part 3')
      // Part 1 or part 3 must name the identity this node holds as the beneficiary.
      const beneficiaryCID = view4.beneficiaryCID ?? view4.part3?.beneficiaryCID
      if (reader.cid !== beneficiaryCID) throw new DtaError('ORDER_NOT_ENTITLED', 'this node holds no beneficiary of that order')
      // The chain, by signatures, links and content: part 3 by the principal (or the beneficiary) —
      // part 4 must repeat it —, part 2 by the fiduciary, part 1 by the principal.
      const part3 = parseEnvelope(await documents.get(part3CID, options))
      if (part3.signerCID !== view4.principalCID && part3.signerCID !== view4.beneficiaryCID) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 3 signer')
      verifyParsedEnvelope(part3, await identities.verifier(part3.signerCID, options))
      if (part3.header.previousCID !== part2CID) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 3 does not follow part 2')
      const doc3 = decodeOrderPart(part3, recipientOf(reader)).document
      assertSameOrder(doc4, doc3, 3, 'part 4 alters part 3')
      const part2 = await verifiedPart(part2CID, fiduciaryCID, part1CID, documents, options)
      if (part2.header.recipients.includes(reader.cid)) assertSameOrder(doc3, decodeOrderPart(part2, recipientOf(reader)).document, 2, 'part 3 alters part 2')
      const part1 = await verifiedPart(part1CID, view4.principalCID, '', documents, options)
      if (part1.header.recipients.includes(reader.cid)) assertSameOrder(doc3, decodeOrderPart(part1, recipientOf(reader)).document, 1, 'part 3 alters part 1')
      checkCommitment(doc3, part1CID)
      await components.checkPart4?.(part4CID, fiduciaryCID, options)
      const keys = redemptionKeys(doc4, doc3.orderPart2!.commitmentPublicKey, reader, beneficiaryCID, { reference: view4.reference, part2CID })
      const result = await complete(view4, requestExtension, keys, options)
      released(view4.reference, reader.cid, part4CID, false)
      return { secret: result.secret, commitment: result.commitment, orderReference: view4.reference, extension: result.extension, orderPart3CID: part3CID, orderPart4CID: part4CID }
    } finally {
      if (doc4.orderPart4 !== undefined) wipe(doc4.orderPart4.secret)
    }
  }

  async function list (query: ListQuery, options: AbortOptions = {}): Promise<string[]> {
    const rows = await state.listOrders('principal', { page: query.page + 1, perPage: query.perPage, sortBy: query.sortBy }, options)
    return rows.map(row => row.reference)
  }

  /**
   * GET /v1/order/{ref}: the newest part this node can read, in the original D-TA's shape
   * (`originalOrderJSON`) — with `OrderPart4.Secret`, the secret a redemption answered, when part 4
   * was released to this node (to its identity, or to a beneficiary identity it holds) — and
   * beside it the chain of part CIDs, the commitment, each part's signer and recipients, the
   * plugin and its part 1 extension.
   */
  async function get (reference: string, options: AbortOptions = {}): Promise<{ orderCID: string, order: string }> {
    const row = await state.getOrder('principal', reference, options)
    if (row === undefined || row.part1Cid === null) throw new DtaError('ORDER_NOT_FOUND', reference)
    const cids = [row.part1Cid, row.part2Cid, row.part3Cid, row.part4Cid]
    // parts 1 and 3 are this principal's, parts 2 and 4 the fiduciary's
    const parts = await Promise.all(cids.filter((cid): cid is string => cid !== null).map(async (cid, i) => {
      const parsed = parseEnvelope(await documents.get(cid, options))
      return { cid, signerCID: parsed.signerCID, recipients: parsed.header.recipients, parsed, author: i % 2 === 0 ? node.cid : row.fiduciaryCid }
    }))
    // The newest part this node can read — part 4 only when the secret was released to it (to the
    // entitled recipient: a beneficiary identity it holds, else its own), not merely because a
    // multi node was part 4's fiduciary.
    const entitled = row.beneficiaryCid ?? node.cid
    let opened: { cid: string, document: OrderDocument, reader: HeldIdentity } | undefined
    for (const part of [...parts].reverse()) {
      const candidates = part.cid === row.part4Cid ? [entitled] : [node.cid, row.beneficiaryCid]
      let reader: HeldIdentity | undefined
      for (const cid of candidates) if (cid !== null && part.recipients.includes(cid)) reader ??= await heldIdentity(cid, options)
      if (reader === undefined) continue
      verifyParsedEnvelope(part.parsed, await identities.verifier(part.author, options))
      opened = { cid: part.cid, document: decodeOrderPart(part.parsed, recipientOf(reader)).document, reader }
      break
    }
    if (opened === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'this node can read no part of the order')
    const { document, reader } = opened
    try {
      let secret: string | undefined
      if (document.orderPart4 !== undefined && row.part2Cid !== null && row.part3Cid !== null) {
        // the secret the redemption answered, computed the same way (the plugin, with no request extension)
        const doc2 = part2s.get(row.part2Cid) ?? decodeOrderPart(parseEnvelope(await documents.get(row.part2Cid, options)), recipientOf(node)).document
        const view4 = withPartCIDs(validateOrder(document, 4, row.part1Cid), document, { part2: row.part2Cid, part3: row.part3Cid })
        const keys = redemptionKeys(document, doc2.orderPart2!.commitmentPublicKey, reader, row.beneficiaryCid ?? undefined, { reference, part2CID: row.part2Cid })
        secret = (await complete(view4, {}, keys, options)).secret
      }
      const order = {
        ...originalOrderJSON(document, { secret }),
        chain: { orderPart1CID: row.part1Cid, orderPart2CID: row.part2Cid, orderPart3CID: row.part3Cid, orderPart4CID: row.part4Cid },
        commitment: row.commitment,
        plugin: document.plugin,
        fiduciaryCID: document.fiduciaryCid,
        extension: { ...document.extension },
        ...(document.orderPart2 === undefined ? {} : { proofOfPossession: toHex(document.orderPart2.proofOfPossession) }),
        ...(document.orderPart3 === undefined ? {} : { redemptionBeneficiaryCID: document.orderPart3.beneficiaryCid }),
        parts: parts.map(p => ({ cid: p.cid, signerCID: p.signerCID, recipients: p.recipients })),
      }
      return { orderCID: opened.cid, order: JSON.stringify(order) }
    } finally {
      if (document.orderPart4 !== undefined) wipe(document.orderPart4.secret)
    }
  }

  return { create: create_, list, get, secret }
}
