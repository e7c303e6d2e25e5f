/**
 * The fiduciary side of a threshold order's key generation (docs/threshold.md): the three DKG
 * rounds a principal relays. Its release is the ordinary fulfil/order/secret (services/fulfil.ts),
 * with the same entitlement and single-release rules.
 *
 * round 1: part 1 is checked as for an ordinary order (signed by the principal named in
 *   `documentCID`, allow-list, plugin, reference not reused), and this node must be in its set;
 *   a fresh polynomial is drawn and its public package answered, signed and bound to the order.
 * round 2: every fiduciary's round-1 package is opened (signed by the fiduciary at its position,
 *   bound to this order, ours the one we issued, every proof of knowledge), the transcript hash is
 *   computed, and one share per other fiduciary is answered, each sealed to it alone and carrying
 *   the hash. A second round 2 with other packages is refused: one view of round 1 per order.
 * round 3: every share addressed to us is opened (signed by its sender, sealed to us alone, bound
 *   to the order and to OUR transcript hash) and checked against its sender's commitments — a
 *   wrong one is THRESHOLD_BAD_SHARE naming the sender. Our share s_j is sealed by custody and
 *   committed with the order row BEFORE part 2 exists (as an order seed is); part 2 carries the
 *   group key, Y_j = s_j·G, the transcript hash and a BIP-340 proof of possession by s_j.
 *
 * The round state (the polynomial) lives in memory only, at most `sessionTtlMs` and
 * `maxSessions`; a restart in the middle aborts that order (THRESHOLD_DKG_STATE_LOST) and nothing
 * is committed. The same request again gives the same answer in every round.
 * @module
 */
import type { AbortOptions } from '../ports/common.ts'
import { DtaError, isDtaError } from '../errors.ts'
import { openOrderPart, part2Document, sealOrderPart, validateOrder } from '../core/order.ts'
import type { ThresholdBinding } from '../core/threshold.ts'
import { openRound1, openShare, sealRound1, sealShare, thresholdOf, thresholdPart2 } from '../core/threshold.ts'
import { dkgForget, dkgRound1, dkgRound2, dkgRound3, transcriptHash } from '../crypto/frost-dkg.ts'
import type { DkgPackage, DkgState } from '../crypto/frost-dkg.ts'
import { toHex, wipe } from '../crypto/hash.ts'
import { commitmentPopSign } from '../crypto/secp256k1.ts'
import type { OrderDocument } from '../envelope/gen/dta_pb.ts'
import type { Custody } from '../ports/custody.ts'
import type { DocumentStore } from '../ports/document-store.ts'
import { NO_EVENTS } from '../ports/events.ts'
import type { DomainEvents } from '../ports/events.ts'
import type { Plugin, PluginContext } from '../ports/plugin.ts'
import { orderSeedRecordId } from '../ports/state.ts'
import type { StateRepository } from '../ports/state.ts'
import type {
  ThresholdFulfilService, ThresholdRound1Request, ThresholdRound1Response, ThresholdRound2Request, ThresholdRound2Response, ThresholdRound3Request, ThresholdRound3Response,
} from '../ports/api.ts'
import { refusalOf } from './context.ts'
import { recipientOf, signerOf } from './identities.ts'
import type { HeldIdentity, Identities } from './identities.ts'
import { Inbound, inline } from './inline.ts'
import type { CidOf } from './inline.ts'

export interface ThresholdFulfilComponents {
  documents: DocumentStore
  state: Pick<StateRepository, 'getOrder' | 'createFiduciaryOrder' | 'setOrderPart2' | 'appendAudit'>
  /** Seals this fiduciary's share of each order. */
  custody: Pick<Custody, 'seal'>
  identities: Identities
  plugin: Plugin
  pluginContext: PluginContext
  node: HeldIdentity
  cidOf: CidOf
  allowPrincipals?: readonly string[]
  events?: DomainEvents
  /** How long a DKG may take between round 1 and round 3 (default 10 minutes). */
  sessionTtlMs?: number
  /** At most this many DKGs in progress (default 256); the oldest is dropped beyond. */
  maxSessions?: number
}

/** One DKG in progress on this fiduciary. */
interface Session {
  part1CID: string
  doc1: OrderDocument
  binding: ThresholdBinding
  t: number
  fiduciaryCIDs: string[]
  index: number
  dkg: DkgState
  round1CID: string
  round1Bytes: Uint8Array
  expires: number
  /** Set by round 2. */
  others?: DkgPackage[]
  transcriptHash?: Uint8Array
  round2Answer?: ThresholdRound2Response
}

export function createThresholdFulfilService (components: ThresholdFulfilComponents): ThresholdFulfilService {
  const { documents, state, custody, identities, plugin, pluginContext, node, cidOf } = components
  const allow = new Set(components.allowPrincipals ?? [])
  const events = components.events ?? NO_EVENTS
  const ttl = components.sessionTtlMs ?? 10 * 60_000
  const maxSessions = components.maxSessions ?? 256
  const sessions = new Map<string, Session>()

  function forget (reference: string): void {
    const s = sessions.get(reference)
    if (s !== undefined) dkgForget(s.dkg)
    sessions.delete(reference)
  }

  function sweep (): void {
    const now = Date.now()
    for (const [reference, s] of sessions) if (s.expires < now) forget(reference)
    while (sessions.size >= maxSessions) forget(sessions.keys().next().value as string)
  }

  /** The DKG in progress for this part 1, or THRESHOLD_DKG_STATE_LOST. */
  function session (part1CID: string, documentCID: string): Session {
    sweep()
    for (const s of sessions.values()) {
      if (s.part1CID === part1CID) {
        if (s.doc1.principalCid !== documentCID) throw new DtaError('ORDER_NOT_PRINCIPAL', 'documentCID is not the order principal')
        return s
      }
    }
    throw new DtaError('THRESHOLD_DKG_STATE_LOST', part1CID)
  }

  async function refusing<T> (fn: () => Promise<T>, principalCID: string): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      events.emit({ type: 'order.refused', role: 'fiduciary', plugin: plugin.name, ...refusalOf(err), principalCID })
      throw err
    }
  }

  async function round1 (request: ThresholdRound1Request, options: AbortOptions = {}): Promise<ThresholdRound1Response> {
    return await refusing(async () => await start(request, options), request.documentCID)
  }

  async function start (request: ThresholdRound1Request, options: AbortOptions): Promise<ThresholdRound1Response> {
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
    const th = thresholdOf(doc1)
    if (th === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'not a threshold order (use /v1/fulfill/order)')
    const index = th.fiduciaryCIDs.indexOf(node.cid) + 1
    if (index === 0) throw new DtaError('ORDER_BAD_DOCUMENT', 'the order does not name this fiduciary')
    if (doc1.plugin !== plugin.name) throw new DtaError('PLUGIN_REFUSED', `this fiduciary runs the ${plugin.name} plugin, not ${doc1.plugin}`)
    sweep()
    const running = sessions.get(doc1.reference)
    if (running !== undefined) {
      if (running.part1CID !== request.orderPart1CID) throw new DtaError('ORDER_REFERENCE_REUSED', doc1.reference)
      return { round1CID: running.round1CID, documents: inline([[running.round1CID, running.round1Bytes]]) }
    }
    const existing = await state.getOrder('fiduciary', doc1.reference, options)
    if (existing !== undefined) {
      if (existing.part1Cid !== request.orderPart1CID) throw new DtaError('ORDER_REFERENCE_REUSED', doc1.reference)
      throw new DtaError('THRESHOLD_DKG_STATE_LOST', 'the key generation of that order is over')
    }
    await plugin.checkOrder(pluginContext, view, options)
    const recipients = await identities.recipients([doc1.principalCid, ...th.fiduciaryCIDs], from)
    await inbound.persist(options)

    const binding = { reference: doc1.reference, part1CID: request.orderPart1CID }
    const { package: pkg, state: dkg } = dkgRound1(index, th.t, th.fiduciaryCIDs.length)
    const round1Bytes = sealRound1({ signer: signerOf(node), recipients, binding, package: pkg })
    const round1CID = await documents.put(round1Bytes, options)
    sessions.set(doc1.reference, { part1CID: request.orderPart1CID, doc1, binding, t: th.t, fiduciaryCIDs: th.fiduciaryCIDs, index, dkg, round1CID, round1Bytes, expires: Date.now() + ttl })
    return { round1CID, documents: inline([[round1CID, round1Bytes]]) }
  }

  async function round2 (request: ThresholdRound2Request, options: AbortOptions = {}): Promise<ThresholdRound2Response> {
    return await refusing(async () => await deal(request, options), request.documentCID)
  }

  async function deal (request: ThresholdRound2Request, options: AbortOptions): Promise<ThresholdRound2Response> {
    const s = session(request.orderPart1CID, request.documentCID)
    const n = s.fiduciaryCIDs.length
    if (request.round1CIDs.length !== n) throw new DtaError('THRESHOLD_BAD_MESSAGE', `${request.round1CIDs.length} round-1 packages, not n = ${n}`)
    if (request.round1CIDs[s.index - 1] !== s.round1CID) throw new DtaError('THRESHOLD_BAD_MESSAGE', 'our own round-1 package is not the one we issued')
    const inbound = new Inbound(documents, cidOf, request.documents)
    const from = { ...options, from: inbound }
    const others: DkgPackage[] = []
    for (let i = 1; i <= n; i++) {
      if (i === s.index) continue
      const signer = await identities.verifier(s.fiduciaryCIDs[i - 1]!, from)
      others.push(openRound1(await inbound.get(request.round1CIDs[i - 1]!, options), { signer, recipient: recipientOf(node), binding: s.binding, index: i, t: s.t, n }))
    }
    const own = openRound1(s.round1Bytes, { signer: { cid: node.cid, blsPublicKey: node.keys.blsPublicKey }, recipient: recipientOf(node), binding: s.binding, index: s.index, t: s.t, n })
    const hash = transcriptHash({ reference: s.binding.reference, part1CID: s.part1CID, t: s.t, fiduciaryCIDs: s.fiduciaryCIDs, packages: [...others, own] })
    if (s.transcriptHash !== undefined) {
      if (toHex(s.transcriptHash) !== toHex(hash)) {
        await state.appendAudit({ op: 'order.refused', reference: s.binding.reference, actor: request.documentCID, detail: 'THRESHOLD_TRANSCRIPT_MISMATCH: a second round 2 with other round-1 packages' }, options)
        throw new DtaError('THRESHOLD_TRANSCRIPT_MISMATCH', 'a second round 2 with other round-1 packages')
      }
      return s.round2Answer!
    }
    const shares = dkgRound2(s.dkg, others)
    const recipients = await identities.recipients(s.fiduciaryCIDs, from)
    const shareCIDs: string[] = []
    const sent: Array<[string, Uint8Array]> = []
    for (let j = 1; j <= n; j++) {
      if (j === s.index) { shareCIDs.push(''); continue }
      const share = shares.get(j)!
      const bytes = sealShare({ signer: signerOf(node), recipient: recipients[j - 1]!, address: { ...s.binding, transcriptHash: hash, from: s.index, to: j }, share })
      wipe(share)
      shareCIDs.push(await documents.put(bytes, options))
      sent.push([shareCIDs[j - 1]!, bytes])
    }
    await inbound.persist(options)
    s.others = others
    s.transcriptHash = hash
    s.round2Answer = { transcriptHash: toHex(hash), shareCIDs, documents: inline(sent) }
    return s.round2Answer
  }

  async function round3 (request: ThresholdRound3Request, options: AbortOptions = {}): Promise<ThresholdRound3Response> {
    return await refusing(async () => await finish(request, options), request.documentCID)
  }

  async function issuedPart2 (part2Cid: string, options: AbortOptions): Promise<ThresholdRound3Response> {
    return { orderPart2CID: part2Cid, documents: inline([[part2Cid, await documents.get(part2Cid, options)]]) }
  }

  async function finish (request: ThresholdRound3Request, options: AbortOptions): Promise<ThresholdRound3Response> {
    let s: Session
    try {
      s = session(request.orderPart1CID, request.documentCID)
    } catch (err) {
      // a repeat of a round 3 already answered: the part 2 we issued
      if (!isDtaError(err, 'THRESHOLD_DKG_STATE_LOST')) throw err
      const done = await findIssued(request.orderPart1CID, request.documentCID, options)
      if (done === undefined) throw err
      return await issuedPart2(done, options)
    }
    if (s.transcriptHash === undefined || s.others === undefined) throw new DtaError('THRESHOLD_DKG_STATE_LOST', 'round 2 has not been run')
    const n = s.fiduciaryCIDs.length
    if (request.shareCIDs.length !== n - 1) throw new DtaError('THRESHOLD_BAD_MESSAGE', `${request.shareCIDs.length} shares, not n − 1 = ${n - 1}`)
    const inbound = new Inbound(documents, cidOf, request.documents)
    const from = { ...options, from: inbound }
    const senders = Array.from({ length: n }, (_, i) => i + 1).filter(i => i !== s.index)
    const shares = new Map<number, Uint8Array>()
    try {
      for (const [k, i] of senders.entries()) {
        const sender = s.fiduciaryCIDs[i - 1]!
        const signer = await identities.verifier(sender, from)
        try {
          shares.set(i, openShare(await inbound.get(request.shareCIDs[k]!, options), { signer, recipient: recipientOf(node), address: { ...s.binding, transcriptHash: s.transcriptHash, from: i, to: s.index } }))
        } catch (err) {
          // the principal relays shares unchecked: name their sender
          if (isDtaError(err) && !err.message.includes(sender)) throw new DtaError(err.code, `the share from ${sender}: ${err.detail ?? err.message}`, { cause: err })
          throw err
        }
      }
      let result
      try {
        result = dkgRound3(s.dkg, s.others, shares, i => s.fiduciaryCIDs[i - 1]!)
      } catch (err) {
        if (isDtaError(err)) await state.appendAudit({ op: 'order.refused', reference: s.binding.reference, actor: request.documentCID, detail: `${err.code}: ${err.detail ?? ''}`.slice(0, 1000) }, options)
        forget(s.binding.reference)
        throw err
      }
      return await commit(s, result, options)
    } finally {
      for (const share of shares.values()) wipe(share)
    }
  }

  /** The part 2 this node issued for the threshold order of `part1CID`, if its DKG is over. */
  async function findIssued (part1CID: string, principalCID: string, options: AbortOptions): Promise<string | undefined> {
    // the reference is inside part 1, which this node stored in round 1
    let doc1: OrderDocument
    try {
      doc1 = openOrderPart(await documents.get(part1CID, options), await identities.verifier(principalCID, options), recipientOf(node)).document
    } catch {
      return undefined
    }
    const row = await state.getOrder('fiduciary', doc1.reference, options)
    return row?.part1Cid === part1CID && row.part2Cid !== null ? row.part2Cid : undefined
  }

  /** The share is sealed and committed with the order row before part 2 exists. */
  async function commit (s: Session, result: ReturnType<typeof dkgRound3>, options: AbortOptions): Promise<ThresholdRound3Response> {
    const doc1 = s.doc1
    const reference = doc1.reference
    const recordId = orderSeedRecordId('fiduciary', reference)
    const proof = commitmentPopSign(result.signingShare, { reference, part1CID: s.part1CID, plugin: doc1.plugin })
    const { order: row, created } = await state.createFiduciaryOrder({
      reference,
      plugin: doc1.plugin,
      principalCid: doc1.principalCid,
      fiduciaryCid: node.cid,
      beneficiaryCid: doc1.beneficiaryCid === '' ? null : doc1.beneficiaryCid,
      part1Cid: s.part1CID,
      createdAt: Number(doc1.timestamp),
      sealedSeed: await custody.seal(recordId, result.signingShare, options).finally(() => { wipe(result.signingShare) }),
    }, options)
    forget(reference)
    if (!created) {
      if (row.part2Cid !== null) return await issuedPart2(row.part2Cid, options)
      throw new DtaError('THRESHOLD_DKG_STATE_LOST', 'a concurrent round 3 of that order')
    }
    const doc2 = part2Document(doc1, {
      part1CID: s.part1CID,
      commitmentPublicKey: result.groupKey,
      proofOfPossession: proof,
      timestamp: Date.now(),
      threshold: thresholdPart2({ index: s.index, verifyingShare: result.verifyingShares.get(s.index)!, transcriptHash: s.transcriptHash! }),
    })
    const recipients = await identities.recipients([doc1.principalCid, node.cid, doc1.beneficiaryCid === '' ? undefined : doc1.beneficiaryCid], options)
    const bytes2 = sealOrderPart({ signer: signerOf(node), document: doc2, recipients, previousCID: s.part1CID })
    const part2Cid = await documents.put(bytes2, options)
    await state.setOrderPart2('fiduciary', reference, { part2Cid, commitment: toHex(result.groupKey) }, options)
    events.emit({
      type: 'order.placed', role: 'fiduciary', plugin: plugin.name, orderReference: reference, principalCID: doc1.principalCid, fiduciaryCID: node.cid,
      ...(doc1.beneficiaryCid === '' ? {} : { beneficiaryCID: doc1.beneficiaryCid }), orderPart1CID: s.part1CID, orderPart2CID: part2Cid,
    })
    return { orderPart2CID: part2Cid, documents: inline([[part2Cid, bytes2]]) }
  }

  return { round1, round2, round3 }
}
