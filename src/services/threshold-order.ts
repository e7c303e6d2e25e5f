/**
 * The principal side of threshold orders (docs/threshold.md), behind the ordinary order API:
 * `POST /v1/order` with `extension.fiduciaries` (comma-separated identity CIDs) and
 * `extension.threshold` (t) places one; every other request goes to the ordinary order service.
 *
 * Placing: part 1 names the n fiduciaries and t; the principal relays round 1 → round 2 → round 3
 * between them (they need not reach each other). It opens every round-1 package itself, computes
 * the transcript hash, the group key and every verifying share Y_j from the public commitments
 * (plain point arithmetic, src/crypto/frost-dkg.ts groupPublic), refuses to relay shares unless
 * all n fiduciaries report its transcript hash, and accepts the order only when every fiduciary's
 * part 2 carries that hash, that group key, its own Y_j and a proof of possession under Y_j. Any
 * failure names the fiduciary (THRESHOLD_DKG_FAILED); no row is written, no key exists.
 *
 * Redeeming asks every fiduciary (one part 3 each, following its own part 2, on the ordinary
 * fulfil/order/secret), checks each released share against Y_j, names the fiduciaries whose share
 * is wrong or who did not answer, combines t good shares and checks the result against the group
 * key before the plugin sees it. When the recipient is held on another node, this node answers the
 * part 4 CIDs instead, and the recipient's node combines the shares (threshold-redeem.ts).
 *
 * What the principal keeps of a threshold order, beside its ordinary row (first fiduciary, first
 * part 2), is one JSON record in its own store (`node-threshold`): t, each fiduciary's position,
 * part 2 CID and Y_j, the group key and the transcript hash — all public values.
 * @module
 */
import type { AbortOptions, Extension } from '../ports/common.ts'
import { DtaError, isDtaError } from '../errors.ts'
import { assertSameOrder, decodeOrderPart, newOrderReference, originalOrderJSON, part1Document, part3Document, sealOrderPart, validateOrder, withPartCIDs } from '../core/order.ts'
import { checkThresholdSet, openRound1, thresholdOrder } from '../core/threshold.ts'
import { checkCombined, combineShares, groupPublic, shareMatches, transcriptHash } from '../crypto/frost-dkg.ts'
import type { DkgPackage } from '../crypto/frost-dkg.ts'
import { timingSafeEqual, toHex, wipe } from '../crypto/hash.ts'
import { commitmentPopVerify } from '../crypto/secp256k1.ts'
import { parseEnvelope, verifyParsedEnvelope } from '../envelope/envelope.ts'
import type { OrderDocument } from '../envelope/gen/dta_pb.ts'
import type { DocumentReader, DocumentStore } from '../ports/document-store.ts'
import { NO_EVENTS } from '../ports/events.ts'
import type { DomainEvents } from '../ports/events.ts'
import type { ThresholdFiduciaryClient } from '../ports/peer.ts'
import type { Plugin, PluginContext, RedemptionKeys } from '../ports/plugin.ts'
import type { PluginStore, StateRepository } from '../ports/state.ts'
import type { OrderRequest, OrderResponse, OrderSecretRequest, OrderSecretResponse, OrderService } from '../ports/api.ts'
import { refusalOf } from './context.ts'
import { decryptForIdentity, recipientOf, signerOf } from './identities.ts'
import type { HeldIdentity, Identities } from './identities.ts'
import { Inbound, inline } from './inline.ts'
import type { CidOf } from './inline.ts'
import { EXTENSION_PART4_CIDS, thresholdRedeemer } from './threshold-redeem.ts'

export interface ThresholdOrderComponents {
  documents: DocumentStore
  state: Pick<StateRepository, 'createOrder' | 'getOrder' | 'pluginStore'>
  identities: Identities
  plugin: Plugin
  pluginContext: PluginContext
  node: HeldIdentity
  cidOf: CidOf
  /** How this node reaches each fiduciary it may name (node.thresholdFiduciaries). */
  fiduciaries: ReadonlyMap<string, ThresholdFiduciaryClient>
  /** node.thresholdDefault over node.thresholdFiduciaries: what an order that does not name its fiduciaries uses. */
  defaultSet?: { t: number, fiduciaryCIDs: readonly string[] }
  /** Whose part 4 a beneficiary's redemption on this node accepts; by default the fiduciaries above. */
  trusted?: ReadonlySet<string>
  events?: DomainEvents
}

/** What the principal keeps of a threshold order (public values only). */
interface ThresholdRecord {
  t: number
  groupKey: string
  transcriptHash: string
  fiduciaries: Array<{ cid: string, index: number, part2CID: string, verifyingShare: string, part3CID?: string, part4CID?: string, released?: 'good' | 'wrong' | string }>
}

const EXTENSION_FIDUCIARIES = 'fiduciaries'
const EXTENSION_THRESHOLD = 'threshold'

/** The error of one fiduciary, as its code. */
const codeOf = (err: unknown): string => (isDtaError(err) ? err.code : 'INTERNAL')
/** A fiduciary CID that a peer's refusal names (THRESHOLD_BAD_SHARE "from <CID>"), if it is one of `set`. */
function namedIn (err: unknown, set: readonly string[]): string | undefined {
  const m = isDtaError(err) ? /Qm[1-9A-HJ-NP-Za-km-z]{44}/.exec(err.message) : null
  return m !== null && set.includes(m[0]) ? m[0] : undefined
}

export function withThresholdOrders (single: OrderService, components: ThresholdOrderComponents): OrderService {
  const { documents, state, identities, plugin, pluginContext, node, cidOf } = components
  const events = components.events ?? NO_EVENTS
  const store: PluginStore = state.pluginStore('node-threshold')
  const key = (reference: string): string => `order/${reference}`
  const redeemer = thresholdRedeemer({ documents, identities, plugin, pluginContext, node, trusted: components.trusted ?? new Set(components.fiduciaries.keys()) })

  async function record (reference: string, options: AbortOptions): Promise<ThresholdRecord | undefined> {
    const v = await store.get(key(reference), options)
    return typeof v === 'string' ? JSON.parse(v) as ThresholdRecord : undefined
  }

  function client (cid: string): ThresholdFiduciaryClient {
    const c = components.fiduciaries.get(cid)
    if (c === undefined) throw new DtaError('THRESHOLD_FIDUCIARY_UNKNOWN', cid)
    return c
  }

  /** Runs `fn` for every fiduciary at once; THRESHOLD_DKG_FAILED naming each that failed (and whom it names). */
  async function everyone<T> (fids: readonly string[], round: string, fn: (cid: string, index: number) => Promise<T>): Promise<T[]> {
    const settled = await Promise.allSettled(fids.map(async (cid, i) => await fn(cid, i + 1)))
    const failed = settled.flatMap((r, i) => {
      if (r.status === 'fulfilled') return []
      const named = namedIn(r.reason, fids)
      return [`${fids[i]!} ${codeOf(r.reason)}${named === undefined ? '' : ` (names ${named})`}`]
    })
    if (failed.length > 0) {
      const first = settled.find(r => r.status === 'rejected') as PromiseRejectedResult
      throw new DtaError('THRESHOLD_DKG_FAILED', `${round}: ${failed.join('; ')}`, { cause: first.reason })
    }
    return settled.map(r => (r as PromiseFulfilledResult<T>).value)
  }

  async function create (request: OrderRequest, options: AbortOptions = {}): Promise<OrderResponse> {
    const ext = { ...request.extension }
    const defaults = components.defaultSet
    if (ext[EXTENSION_FIDUCIARIES] === undefined && defaults !== undefined && defaults.fiduciaryCIDs.length > 0) {
      // the configured set (node.thresholdFiduciaries), with the configured t unless the request gives one
      if (ext[EXTENSION_THRESHOLD] !== undefined || defaults.t > 0) {
        ext[EXTENSION_FIDUCIARIES] = defaults.fiduciaryCIDs.join(',')
        ext[EXTENSION_THRESHOLD] ??= String(defaults.t)
      }
    }
    if (ext[EXTENSION_FIDUCIARIES] === undefined && ext[EXTENSION_THRESHOLD] === undefined) return await single.create(request, options)
    try {
      return await place(request, ext, options)
    } catch (err) {
      events.emit({ type: 'order.refused', role: 'principal', plugin: plugin.name, ...refusalOf(err) })
      throw err
    }
  }

  async function place (request: OrderRequest, ext: Extension, options: AbortOptions): Promise<OrderResponse> {
    const fids = (ext[EXTENSION_FIDUCIARIES] ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
    const t = Number(ext[EXTENSION_THRESHOLD] ?? 'missing')
    checkThresholdSet(t, fids)
    for (const cid of fids) client(cid)
    const { [EXTENSION_FIDUCIARIES]: _f, [EXTENSION_THRESHOLD]: _t, ...pluginExtension } = ext
    const n = fids.length
    const beneficiaryCID = request.beneficiaryIDDocumentCID
    const beneficiary = beneficiaryCID === undefined ? undefined : await identities.info(beneficiaryCID, options)
    const reference = newOrderReference()
    const prepared = await plugin.prepareOrder(pluginContext, { reference, extension: pluginExtension, beneficiary }, options)
    const doc1 = part1Document({
      reference, plugin: plugin.name, coin: prepared.coin ?? 0, principalCID: node.cid, fiduciaryCID: '', beneficiaryCID,
      extension: prepared.extension ?? {}, timestamp: Date.now(), threshold: thresholdOrder(t, fids),
    })
    const bytes1 = sealOrderPart({ signer: signerOf(node), document: doc1, recipients: await identities.recipients([node.cid, ...fids, beneficiaryCID], options) })
    const part1CID = await documents.put(bytes1, options)
    const binding = { reference, part1CID }
    // every fiduciary needs the principal's (and beneficiary's) identity document, and the others' to check their messages
    const ids: Array<[string, Uint8Array]> = []
    for (const cid of new Set([node.cid, ...(beneficiaryCID === undefined ? [] : [beneficiaryCID]), ...fids])) ids.push([cid, await documents.get(cid, options)])
    const base = { orderPart1CID: part1CID, documentCID: node.cid }

    // round 1: each dealer's package, opened and checked here too
    const inbound: Inbound[] = []
    const r1 = await everyone(fids, 'round 1', async (cid, index) => {
      const answer = await client(cid).thresholdRound1({ ...base, documents: inline([[part1CID, bytes1], ...ids]) }, options)
      const from = new Inbound(documents, cidOf, answer.documents)
      inbound.push(from)
      const bytes = await from.get(answer.round1CID, options)
      const pkg = openRound1(bytes, { signer: await identities.verifier(cid, options), recipient: recipientOf(node), binding, index, t, n })
      return { cid: answer.round1CID, bytes, pkg }
    })
    const packages: DkgPackage[] = r1.map(r => r.pkg)
    const hash = transcriptHash({ reference, part1CID, t, fiduciaryCIDs: fids, packages })
    const pub = groupPublic(packages, n)
    const round1CIDs = r1.map(r => r.cid)
    const round1Docs = r1.map((r): [string, Uint8Array] => [r.cid, r.bytes])

    // round 2: every fiduciary must have seen exactly these packages
    const r2 = await everyone(fids, 'round 2', async (cid) => {
      const answer = await client(cid).thresholdRound2({ ...base, round1CIDs, documents: inline([...round1Docs, ...ids]) }, options)
      return { answer, from: new Inbound(documents, cidOf, answer.documents) }
    })
    const disagree = fids.filter((_, i) => r2[i]!.answer.transcriptHash !== toHex(hash))
    if (disagree.length > 0) throw new DtaError('THRESHOLD_TRANSCRIPT_MISMATCH', `${disagree.join(', ')} saw other round-1 packages`)
    // the shares, sealed to their recipients: each signed by its sender and addressed to that one fiduciary only
    const shareTo = new Map<number, Array<[string, Uint8Array]>>(fids.map((_, j) => [j + 1, []]))
    for (const [i, { answer, from }] of r2.entries()) {
      if (answer.shareCIDs.length !== n) throw new DtaError('THRESHOLD_DKG_FAILED', `${fids[i]!} answered ${answer.shareCIDs.length} shares`)
      for (let j = 1; j <= n; j++) {
        if (j === i + 1) continue
        const cid = answer.shareCIDs[j - 1]!
        const bytes = await from.get(cid, options)
        // its signature is checked by its recipient in round 3, which names the sender of a bad one
        const parsed = parseEnvelope(bytes)
        if (parsed.signerCID !== fids[i]) throw new DtaError('THRESHOLD_DKG_FAILED', `${fids[i]!}: a share signed by ${parsed.signerCID}`)
        if (parsed.header.recipients.length !== 1 || parsed.header.recipients[0] !== fids[j - 1]) throw new DtaError('THRESHOLD_DKG_FAILED', `${fids[i]!}: a share not sealed to its one recipient`)
        shareTo.get(j)!.push([cid, bytes])
      }
      inbound.push(from)
    }

    // round 3: each fiduciary's part 2, checked against what this node computed
    const part2s = await everyone(fids, 'round 3', async (cid, j) => {
      const mine = shareTo.get(j)!
      const answer = await client(cid).thresholdRound3({ ...base, shareCIDs: mine.map(([c]) => c), documents: inline([...mine, ...ids]) }, options)
      const from = new Inbound(documents, cidOf, answer.documents)
      inbound.push(from)
      const doc2 = await checkedPart2(answer.orderPart2CID, from, { cid, j, doc1, part1CID, groupKey: pub.groupKey, verifyingShare: pub.verifyingShares.get(j)!, hash }, options)
      return { cid: answer.orderPart2CID, doc2 }
    })
    for (const from of inbound) await from.persist(options)

    const first = part2s[0]!
    const view2 = withPartCIDs(validateOrder(first.doc2, 2, part1CID), first.doc2, { part2: first.cid })
    const result = await plugin.completeOrder(pluginContext, { order: view2, requestExtension: pluginExtension, beneficiary }, options)
    const rec: ThresholdRecord = {
      t, groupKey: toHex(pub.groupKey), transcriptHash: toHex(hash),
      fiduciaries: fids.map((cid, i) => ({ cid, index: i + 1, part2CID: part2s[i]!.cid, verifyingShare: toHex(pub.verifyingShares.get(i + 1)!) })),
    }
    await store.put(key(reference), JSON.stringify(rec), options)
    await state.createOrder({
      role: 'principal', reference, plugin: plugin.name, principalCid: node.cid, fiduciaryCid: fids[0]!, beneficiaryCid: beneficiaryCID ?? null,
      part1Cid: part1CID, part2Cid: first.cid, commitment: result.commitment, extension: result.extension, createdAt: view2.createdAt,
    }, options)
    events.emit({
      type: 'order.placed', role: 'principal', plugin: plugin.name, orderReference: reference, principalCID: node.cid, fiduciaryCID: fids[0]!,
      ...(beneficiaryCID === undefined ? {} : { beneficiaryCID }), orderPart1CID: part1CID, orderPart2CID: first.cid,
    })
    return {
      orderReference: reference, commitment: result.commitment, createdAt: Math.floor(view2.createdAt / 1000),
      extension: { ...result.extension, threshold: String(t), fiduciaries: fids.join(','), groupKey: toHex(pub.groupKey), orderPart2CIDs: part2s.map(p => p.cid).join(',') },
      orderPart1CID: part1CID, orderPart2CID: first.cid,
    }
  }

  /** Fiduciary `j`'s part 2: signed by it, following part 1, the same order, our group key, Y_j and transcript hash, a proof under Y_j. */
  async function checkedPart2 (cid: string, from: DocumentReader, e: { cid: string, j: number, doc1: OrderDocument, part1CID: string, groupKey: Uint8Array, verifyingShare: Uint8Array, hash: Uint8Array }, options: AbortOptions): Promise<OrderDocument> {
    const parsed = parseEnvelope(await from.get(cid, options))
    verifyParsedEnvelope(parsed, await identities.verifier(e.cid, options))
    if (parsed.header.previousCID !== e.part1CID) throw new DtaError('ORDER_CHAIN_BROKEN', `${cid} does not follow ${e.part1CID}`)
    const doc2 = decodeOrderPart(parsed, recipientOf(node)).document
    validateOrder(doc2, 2, e.part1CID)
    assertSameOrder(doc2, e.doc1, 1, 'part 2 alters the order')
    const p2 = doc2.orderPart2!; const th = p2.threshold!
    const ok = th.index === e.j && timingSafeEqual(p2.commitmentPublicKey, e.groupKey) && timingSafeEqual(th.verifyingShare, e.verifyingShare) && timingSafeEqual(th.transcriptHash, e.hash)
    if (!ok) throw new DtaError('ORDER_BAD_COMMITMENT', 'part 2 disagrees with the group key, verifying share or transcript computed from round 1')
    if (!commitmentPopVerify(th.verifyingShare, { reference: doc2.reference, part1CID: e.part1CID, plugin: doc2.plugin }, p2.proofOfPossession)) throw new DtaError('ORDER_BAD_COMMITMENT', 'the proof of possession of the verifying share')
    return doc2
  }

  async function part2Of (cid: string, options: AbortOptions): Promise<OrderDocument> {
    return decodeOrderPart(parseEnvelope(await documents.get(cid, options)), recipientOf(node)).document
  }

  async function secret (request: OrderSecretRequest, options: AbortOptions = {}): Promise<OrderSecretResponse> {
    const part4CIDs = request.extension?.[EXTENSION_PART4_CIDS]
    if (request.orderReference === undefined && part4CIDs !== undefined) {
      const { [EXTENSION_PART4_CIDS]: _, ...requestExtension } = request.extension!
      const cids = part4CIDs.split(',').map(s => s.trim()).filter(s => s !== '')
      if (request.orderPart4CID !== undefined && !cids.includes(request.orderPart4CID)) cids.unshift(request.orderPart4CID)
      return await redeemer.redeem(cids, requestExtension, options)
    }
    const rec = request.orderReference === undefined ? undefined : await record(request.orderReference, options)
    if (rec === undefined) return await single.secret(request, options)
    try {
      return await redeem(request.orderReference!, rec, request, options)
    } catch (err) {
      events.emit({ type: 'release.refused', role: 'principal', plugin: plugin.name, ...refusalOf(err), orderReference: request.orderReference! })
      throw err
    }
  }

  async function redeem (reference: string, rec: ThresholdRecord, request: OrderSecretRequest, options: AbortOptions): Promise<OrderSecretResponse> {
    const row = await state.getOrder('principal', reference, options)
    if (row === undefined || row.part1Cid === null) throw new DtaError('ORDER_NOT_FOUND', reference)
    const part1CID = row.part1Cid
    const doc2s = await Promise.all(rec.fiduciaries.map(async f => await part2Of(f.part2CID, options)))
    const first = rec.fiduciaries[0]!
    const view2 = withPartCIDs(validateOrder(doc2s[0]!, 2, part1CID), doc2s[0]!, { part2: first.part2CID })
    const named = request.beneficiaryIDDocumentCID
    if (named !== undefined && view2.beneficiaryCID !== undefined && named !== view2.beneficiaryCID) throw new DtaError('ORDER_NOT_ENTITLED', 'the beneficiary named at order time cannot be replaced')
    const beneficiaryCID = view2.beneficiaryCID ?? named
    const entitled = beneficiaryCID ?? node.cid
    // undefined: the recipient is held on another node, which combines the shares (threshold-redeem.ts)
    const reader = entitled === node.cid ? node : (await identities.keys(entitled, options)) === undefined ? undefined : await identities.held(entitled, options)
    const beneficiary = beneficiaryCID === undefined ? undefined : await identities.info(beneficiaryCID, options)
    const requestExtension = request.extension ?? {}
    const prepared = await plugin.prepareRedemption(pluginContext, { order: view2, extension: requestExtension, beneficiary }, options)
    const redemptionBeneficiaryCID = view2.beneficiaryCID === undefined ? named : undefined
    const ids: Array<[string, Uint8Array]> = []
    for (const cid of new Set([node.cid, ...(beneficiaryCID === undefined ? [] : [beneficiaryCID])])) ids.push([cid, await documents.get(cid, options)])

    const asked = await Promise.allSettled(rec.fiduciaries.map(async (f, i) => {
      const doc3 = part3Document(doc2s[i]!, { part2CID: f.part2CID, beneficiaryCID: redemptionBeneficiaryCID, beneficiaryEncryptedData: prepared.beneficiaryEncryptedData, extension: prepared.extension, timestamp: Date.now() })
      const bytes3 = sealOrderPart({ signer: signerOf(node), document: doc3, recipients: await identities.recipients([node.cid, f.cid, beneficiaryCID], options), previousCID: f.part2CID })
      const part3CID = await documents.put(bytes3, options)
      f.part3CID = part3CID
      const answer = await client(f.cid).fulfillOrderSecret({ orderPart3CID: part3CID, documentCID: node.cid, documents: inline([[part3CID, bytes3], [f.part2CID, await documents.get(f.part2CID, options)], ...ids]) }, options)
      const from = new Inbound(documents, cidOf, answer.documents)
      const parsed4 = parseEnvelope(await from.get(answer.orderPart4CID, options))
      verifyParsedEnvelope(parsed4, await identities.verifier(f.cid, options))
      const addressed = parsed4.header.recipients
      if (parsed4.header.previousCID !== part3CID || !addressed.includes(entitled) || addressed.some(c => c !== entitled && c !== f.cid)) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 4 chain or recipients')
      // a recipient held elsewhere reads part 4 there (threshold-redeem.ts checks the rest)
      const doc4 = reader === undefined ? undefined : decodeOrderPart(parsed4, recipientOf(reader)).document
      if (doc4 !== undefined) {
        assertSameOrder(doc4, doc3, 3, 'part 4 alters the order')
        if (doc4.orderPart4?.previousOrderCid !== part3CID) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 4 does not follow part 3')
      }
      // inline documents are kept only once checked
      await from.persist(options)
      f.part4CID = answer.orderPart4CID
      return doc4?.orderPart4?.orderKey
    }))
    if (reader === undefined) return await handOff(reference, rec, asked, { entitled, commitment: row.commitment ?? '' }, options)
    const good: Array<{ index: number, share: Uint8Array }> = []
    const wrong: string[] = []; const missing: string[] = []
    asked.forEach((r, i) => {
      const f = rec.fiduciaries[i]!
      if (r.status === 'rejected') { missing.push(`${f.cid}:${codeOf(r.reason)}`); f.released = codeOf(r.reason); return }
      if (r.value === undefined) return
      if (shareMatches(r.value, Buffer.from(f.verifyingShare, 'hex'))) { good.push({ index: f.index, share: r.value }); f.released = 'good' } else { wrong.push(f.cid); f.released = 'wrong'; wipe(r.value) }
    })
    await store.put(key(reference), JSON.stringify(rec), options)
    try {
      if (good.length < rec.t) throw new DtaError('THRESHOLD_NOT_ENOUGH_SHARES', `${good.length} of t = ${rec.t}; missing: ${missing.join(', ') || 'none'}; wrong: ${wrong.join(', ') || 'none'}`)
      const groupKey = Buffer.from(rec.groupKey, 'hex')
      const secretKey = combineShares(good.slice(0, rec.t))
      checkCombined(secretKey, groupKey)
      const keys: RedemptionKeys = { orderKey: { privateKey: secretKey, publicKey: new Uint8Array(groupKey) }, decrypt: (data) => decryptForIdentity(reader, { reference, part2CID: first.part2CID }, data) }
      if (beneficiaryCID !== undefined && reader.cid === beneficiaryCID) keys.beneficiaryECPrivateKey = reader.keys.ecPrivateKey
      const order = { ...view2, ...(redemptionBeneficiaryCID === undefined ? {} : { part3: { cid: first.part3CID!, beneficiaryCID: redemptionBeneficiaryCID, beneficiaryEncryptedData: prepared.beneficiaryEncryptedData ?? new Uint8Array(0), extension: prepared.extension ?? {} } }) }
      let result
      try {
        result = await plugin.completeRedemption(pluginContext, { order, requestExtension, keys }, options)
      } finally {
        wipe(secretKey)
      }
      const part4 = rec.fiduciaries.find(f => f.released === 'good')!
      events.emit({ type: 'secret.released', role: 'principal', plugin: plugin.name, orderReference: reference, recipientCID: entitled, orderPart4CID: part4.part4CID!, handedOff: false })
      return {
        secret: result.secret, commitment: result.commitment, orderReference: reference,
        extension: { ...result.extension, released: rec.fiduciaries.filter(f => f.released === 'good').map(f => f.cid).join(','), missing: missing.join(','), wrong: wrong.join(',') },
        orderPart3CID: first.part3CID!, orderPart4CID: part4.part4CID!,
      }
    } finally {
      for (const g of good) wipe(g.share)
    }
  }

  /**
   * The recipient is held on another node: this node cannot read the shares. It records which
   * fiduciaries released (at least t must have) and answers their part 4 CIDs, which the
   * recipient's node redeems with `POST /v1/order/secret {orderPart4CID, extension: {orderPart4CIDs}}`.
   */
  async function handOff (reference: string, rec: ThresholdRecord, asked: Array<PromiseSettledResult<Uint8Array | undefined>>, e: { entitled: string, commitment: string }, options: AbortOptions): Promise<OrderSecretResponse> {
    const missing: string[] = []
    asked.forEach((r, i) => {
      const f = rec.fiduciaries[i]!
      if (r.status === 'rejected') { missing.push(`${f.cid}:${codeOf(r.reason)}`); f.released = codeOf(r.reason) } else f.released = 'handed off'
    })
    await store.put(key(reference), JSON.stringify(rec), options)
    const released = rec.fiduciaries.filter(f => f.released === 'handed off')
    if (released.length < rec.t) throw new DtaError('THRESHOLD_NOT_ENOUGH_SHARES', `${released.length} of t = ${rec.t} released; missing: ${missing.join(', ') || 'none'}`)
    events.emit({ type: 'secret.released', role: 'principal', plugin: plugin.name, orderReference: reference, recipientCID: e.entitled, orderPart4CID: released[0]!.part4CID!, handedOff: true })
    return {
      commitment: e.commitment, orderReference: reference,
      extension: { beneficiaryIDDocumentCID: e.entitled, orderPart4CIDs: released.map(f => f.part4CID!).join(','), released: released.map(f => f.cid).join(','), missing: missing.join(',') },
      orderPart3CID: released[0]!.part3CID!, orderPart4CID: released[0]!.part4CID!,
    }
  }

  async function get (reference: string, options: AbortOptions = {}): Promise<{ orderCID: string, order: string }> {
    const rec = await record(reference, options)
    if (rec === undefined) return await single.get(reference, options)
    const first = rec.fiduciaries[0]!
    const doc2 = await part2Of(first.part2CID, options)
    const order = {
      ...originalOrderJSON(doc2),
      plugin: doc2.plugin,
      extension: { ...doc2.extension },
      commitment: (await state.getOrder('principal', reference, options))?.commitment ?? null,
      threshold: { t: rec.t, n: rec.fiduciaries.length, groupKey: rec.groupKey, transcriptHash: rec.transcriptHash, fiduciaries: rec.fiduciaries },
    }
    return { orderCID: first.part2CID, order: JSON.stringify(order) }
  }

  return { create, list: single.list, get, secret }
}
