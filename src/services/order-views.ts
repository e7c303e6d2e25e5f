/**
 * The console's read-only views of a principal's orders (src/ports/console.ts): a page of order
 * summaries with their state, sorted by any column and searched by reference, part CID or
 * beneficiary CID (both done by the state backend), and an order's chain with this
 * node's own verdict on each part.
 *
 * The verdict is the node's checks, made again on what it has stored — the same ones the principal
 * side makes before it acts (src/services/order.ts): the bytes re-hash to the CID (the document
 * store does it on every read), the envelope is canonical, signed by its author (parts 1 and 3 the
 * principal, 2 and 4 the fiduciary) and names the part before it as `previousCID`; part 4 is
 * addressed to the entitled recipient and the fiduciary only. When an identity this node holds may
 * read a part, it is decrypted and must be a well-formed order document of this reference that
 * repeats the parts before it unchanged and links to them inside the document too; part 2's
 * commitment proof must verify, and part 4's released seed must give the key committed in part 2.
 * Part 4 is decrypted only by its entitled recipient (as GET /v1/order/{ref} does), not by a multi
 * node merely because it was the fiduciary. The first check that fails is the part's `failure`:
 * the code the node would refuse it with. Each part is checked on its own, so one tampered part
 * fails alone (and a part linking to it fails its link check).
 *
 * A passed signature check is remembered by part CID and signer CID (`verifySignature`): it is a
 * function of those two immutable things alone, and it was half of a chain's time (in process at
 * a load average of 5: 21–28 ms with every check, 10–14 ms with the signatures remembered). Every
 * other check is made again on every look, the bytes re-hashed to the CID included.
 *
 * The seed and the order key that decrypting part 4 exposes are wiped before the answer leaves;
 * nothing secret is in it. Summaries read only rows (who holds an identity is `getIdentity`, with no
 * unsealing).
 * @module
 */
import type { AbortOptions } from '../ports/common.ts'
import { isOrderReference } from '../ports/common.ts'
import { DtaError, isDtaError } from '../errors.ts'
import { assertSameOrder, decodeOrderPart, releasedOrderKey, validateOrder } from '../core/order.ts'
import { wipe } from '../crypto/hash.ts'
import { commitmentPopVerify } from '../crypto/secp256k1.ts'
import { parseEnvelope, verifyParsedEnvelope } from '../envelope/envelope.ts'
import type { ParsedEnvelope } from '../envelope/envelope.ts'
import type { OrderDocument } from '../envelope/gen/dta_pb.ts'
import type { OrderChainResponse, OrderSummary, OrderSummaryList, OrderViewService, PartCheck } from '../ports/console.ts'
import type { DocumentReader } from '../ports/document-store.ts'
import type { OrderRecord, StateRepository } from '../ports/state.ts'
import { recipientOf } from './identities.ts'
import type { HeldIdentity, Identities } from './identities.ts'

export interface OrderViewComponents {
  documents: DocumentReader
  state: Pick<StateRepository, 'getOrder' | 'listOrders' | 'countOrders' | 'getIdentity'>
  identities: Pick<Identities, 'verifier' | 'keys' | 'held'>
  /** The principal identity this node acts as. */
  node: HeldIdentity
}

type Row = OrderRecord & { part1Cid: string }

/** Signature checks remembered (part CID and signer CID, ~110 bytes each). */
const VERIFIED_MAX = 4096

export function createOrderViewService (components: OrderViewComponents): OrderViewService {
  const { documents, state, identities, node } = components

  /** Whether this node holds the identity's keys (a row with a sealed seed; nothing is unsealed). */
  async function holds (cid: string, options: AbortOptions): Promise<boolean> {
    if (cid === node.cid) return true
    return (await state.getIdentity(cid, options))?.sealedRootSeed != null
  }

  /**
   * The envelope's signature check (the BLS verification: most of a chain's time), remembered once
   * it passed. What it depends on is fixed by two CIDs: the envelope's bytes by the part's CID (the
   * document store re-hashes them on every read, before this, so an altered block still fails) and
   * the signer's public key by its identity document's CID. Who must have signed is not remembered:
   * `expected` comes from the order row each time, as every other check does. Only passes are kept,
   * at most VERIFIED_MAX (the oldest forgotten first).
   */
  const verified = new Set<string>()
  async function verifySignature (cid: string, parsed: ParsedEnvelope, expected: string, options: AbortOptions): Promise<void> {
    const key = `${cid} ${expected}`
    if (verified.has(key)) return
    verifyParsedEnvelope(parsed, await identities.verifier(expected, options))
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.values().next().value!)
    verified.add(key)
  }

  /** Who part 4 is for: the beneficiary (named at order time or at redemption), else the principal. */
  function entitledOf (row: OrderRecord): string {
    return row.beneficiaryCid ?? row.principalCid
  }

  async function summary (row: Row, options: AbortOptions): Promise<OrderSummary> {
    const releasedTo = row.part4Cid === null ? null : entitledOf(row)
    const orderState = releasedTo === null ? 'ordered' : await holds(releasedTo, options) ? 'redeemed' : 'released'
    return {
      orderReference: row.reference,
      createdAt: Math.floor(row.createdAt / 1000),
      plugin: row.plugin,
      principalCID: row.principalCid,
      fiduciaryCID: row.fiduciaryCid,
      beneficiaryCID: row.beneficiaryCid,
      state: orderState,
      releasedTo,
      orderPart1CID: row.part1Cid,
      orderPart2CID: row.part2Cid,
      orderPart3CID: row.part3Cid,
      orderPart4CID: row.part4Cid,
    }
  }

  async function summaries (query: Parameters<OrderViewService['summaries']>[0], options: AbortOptions = {}): Promise<OrderSummaryList> {
    const search = query.search
    if (search !== undefined && isOrderReference(search)) {
      const row = await state.getOrder('principal', search, options)
      const found = row === undefined || row.part1Cid === null ? [] : [await summary(row as Row, options)]
      return { orders: query.page === 0 ? found : [], total: found.length }
    }
    // sorted, filtered and paged by the state backend (src/ports/state.ts OrderPageRequest)
    const filter = search === undefined ? {} : { cid: search }
    const rows = await state.listOrders('principal', { page: query.page + 1, perPage: query.perPage, orderBy: { key: query.sort, direction: query.direction }, ...filter }, options)
    const orders = await Promise.all(rows.filter((r): r is Row => r.part1Cid !== null).map(async r => await summary(r, options)))
    return { orders, total: await state.countOrders('principal', filter, options) }
  }

  /** The identity of this node that reads part `n`: part 4 only its entitled recipient, others the principal or a held beneficiary. */
  async function readerOf (n: number, parsed: ParsedEnvelope, row: OrderRecord, options: AbortOptions): Promise<HeldIdentity | undefined> {
    const candidates = n === 4 ? [entitledOf(row)] : [node.cid, row.beneficiaryCid]
    for (const cid of candidates) {
      if (cid === null || !parsed.header.recipients.includes(cid) || !(await holds(cid, options))) continue
      return cid === node.cid ? node : await identities.held(cid, options)
    }
    return undefined
  }

  /** One part's checks, in order; the first that fails is its `failure`. */
  async function checkPart (n: 1 | 2 | 3 | 4, row: Row, docs: Array<OrderDocument | undefined>, options: AbortOptions): Promise<PartCheck> {
    const cids = [row.part1Cid, row.part2Cid, row.part3Cid, row.part4Cid]
    const cid = cids[n - 1]!
    const previous = n === 1 ? '' : cids[n - 2]!
    const author = n % 2 === 1 ? 'principal' : 'fiduciary'
    const expected = author === 'principal' ? row.principalCid : row.fiduciaryCid
    const check: PartCheck = {
      part: n, cid, author, expectedSignerCID: expected, signerCID: null, previousCID: null, recipients: [], createdAt: null, readBy: null, verified: false, checks: [],
    }
    const passed = (what: string): void => { check.checks.push(what) }
    try {
      const parsed = parseEnvelope(await documents.get(cid, options))
      passed('its bytes hash to its CID')
      check.signerCID = parsed.signerCID
      check.previousCID = parsed.header.previousCID
      check.recipients = [...parsed.header.recipients]
      check.createdAt = parsed.header.createdAt
      passed('a canonical envelope')
      if (parsed.signerCID !== expected) throw new DtaError('ORDER_CHAIN_BROKEN', `part ${n} names signer ${parsed.signerCID}, not the order's ${author}`)
      await verifySignature(cid, parsed, expected, options)
      passed(`signed by the ${author}`)
      if (parsed.header.previousCID !== previous) throw new DtaError('ORDER_CHAIN_BROKEN', n === 1 ? 'part 1 names a previous part' : `part ${n} does not follow part ${n - 1}`)
      passed(n === 1 ? 'the first part (no previous CID)' : `follows part ${n - 1}`)
      if (n === 4) {
        const entitled = entitledOf(row)
        const addressed = parsed.header.recipients
        if (!addressed.includes(entitled) || addressed.some(r => r !== entitled && r !== row.fiduciaryCid)) {
          throw new DtaError('ORDER_CHAIN_BROKEN', 'part 4 is not addressed to the entitled recipient and the fiduciary only')
        }
        passed('addressed to the entitled recipient and the fiduciary only')
      }
      const reader = await readerOf(n, parsed, row, options)
      if (reader !== undefined) {
        const document = decodeOrderPart(parsed, recipientOf(reader)).document
        docs[n - 1] = document
        check.readBy = reader.cid
        passed('decrypted by this node')
        checkContent(n, document, row, docs, passed)
      }
      check.verified = true
    } catch (err) {
      check.failure = isDtaError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: new DtaError('INTERNAL').message }
    }
    return check
  }

  /** What a decrypted part must say: this order, linked inside too, the parts before it unchanged, and part 2's and part 4's keys. */
  function checkContent (n: 1 | 2 | 3 | 4, document: OrderDocument, row: Row, docs: Array<OrderDocument | undefined>, passed: (what: string) => void): void {
    validateOrder(document, n, row.part1Cid)
    if (document.reference !== row.reference || document.principalCid !== row.principalCid || document.fiduciaryCid !== row.fiduciaryCid) {
      throw new DtaError('ORDER_BAD_DOCUMENT', `part ${n} is not this order`)
    }
    if ((n === 3 && document.orderPart3?.previousOrderCid !== row.part2Cid) || (n === 4 && document.orderPart4?.previousOrderCid !== row.part3Cid)) {
      throw new DtaError('ORDER_CHAIN_BROKEN', `part ${n}'s document does not follow part ${n - 1}`)
    }
    passed('an order document of this order')
    const before = docs[n - 2]
    if (n > 1 && before !== undefined) {
      assertSameOrder(document, before, (n - 1) as 1 | 2 | 3, `part ${n} alters the parts before it`)
      passed(n === 2 ? 'repeats part 1 unchanged' : `repeats parts 1 to ${n - 1} unchanged`)
    }
    if (n === 2) {
      const p2 = document.orderPart2!
      if (!commitmentPopVerify(p2.commitmentPublicKey, { reference: document.reference, part1CID: row.part1Cid, plugin: document.plugin }, p2.proofOfPossession)) {
        throw new DtaError('ORDER_BAD_COMMITMENT', row.reference)
      }
      passed('the commitment\'s proof of possession verifies')
    }
    const committed = docs[1]?.orderPart2?.commitmentPublicKey
    if (n === 4 && committed !== undefined) {
      wipe(releasedOrderKey(document, committed).privateKey)
      passed('the released seed gives the key committed in part 2')
    }
  }

  async function chain (reference: string, options: AbortOptions = {}): Promise<OrderChainResponse> {
    const row = await state.getOrder('principal', reference, options)
    if (row === undefined || row.part1Cid === null) throw new DtaError('ORDER_NOT_FOUND', reference)
    const r = row as Row
    const docs: Array<OrderDocument | undefined> = []
    try {
      const parts: PartCheck[] = []
      const present = [r.part1Cid, r.part2Cid, r.part3Cid, r.part4Cid]
      for (const n of [1, 2, 3, 4] as const) {
        if (present[n - 1] === null) break
        parts.push(await checkPart(n, r, docs, options))
      }
      const order = await summary(r, options)
      return {
        order,
        commitment: r.commitment,
        extension: { ...(docs[0]?.extension ?? {}) },
        answerExtension: { ...r.extension },
        parts,
        verified: parts.every(p => p.verified),
        secretAvailable: order.state === 'redeemed' && parts[3]?.readBy != null,
        beneficiaryElsewhere: order.state === 'released',
      }
    } finally {
      const p4 = docs[3]?.orderPart4
      if (p4 !== undefined) { wipe(p4.secret); wipe(p4.orderKey) }
    }
  }

  return { summaries, chain }
}
