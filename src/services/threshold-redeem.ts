/**
 * A beneficiary's own node redeems a threshold order (docs/threshold.md, "A beneficiary on another
 * node"): the principal's redemption answered the part 4 CIDs of the fiduciaries that released
 * (`extension.orderPart4CIDs`), each part 4 holding one share encrypted to the beneficiary. This
 * node trusts none of the principal's bookkeeping; from the CIDs alone it
 *
 * - verifies every part 4's chain as for an ordinary order (part 4 by a fiduciary of the set this
 *   node trusts, part 3 by the principal, part 2 by that same fiduciary, part 1 by the principal,
 *   each following the previous, no part altering the order), all of one order (one part 1);
 * - checks that each part 2 sits at its signer's position in part 1's set, that all carry the same
 *   group key and transcript hash, and the proof of possession under each verifying share Y_j;
 * - checks each share against its fiduciary's signed Y_j (`s_j·G = Y_j`), names any that is wrong,
 *   needs t good ones, combines t of them and checks the result against the group key before the
 *   plugin sees it.
 * @module
 */
import type { AbortOptions, Extension } from '../ports/common.ts'
import { DtaError } from '../errors.ts'
import { assertSameOrder, decodeOrderPart, validateOrder, withPartCIDs } from '../core/order.ts'
import { thresholdOf } from '../core/threshold.ts'
import { checkCombined, combineShares, MAX_THRESHOLD_FIDUCIARIES, shareMatches } from '../crypto/frost-dkg.ts'
import { timingSafeEqual, toHex, wipe } from '../crypto/hash.ts'
import { commitmentPopVerify } from '../crypto/secp256k1.ts'
import { parseEnvelope, verifyParsedEnvelope } from '../envelope/envelope.ts'
import type { ParsedEnvelope } from '../envelope/envelope.ts'
import type { OrderDocument } from '../envelope/gen/dta_pb.ts'
import type { DocumentStore } from '../ports/document-store.ts'
import type { OrderSecretResponse } from '../ports/api.ts'
import type { Plugin, PluginContext, RedemptionKeys } from '../ports/plugin.ts'
import { decryptForIdentity, recipientOf } from './identities.ts'
import type { HeldIdentity, Identities } from './identities.ts'

export interface ThresholdRedeemComponents {
  documents: DocumentStore
  identities: Identities
  plugin: Plugin
  pluginContext: PluginContext
  node: HeldIdentity
  /** The fiduciaries whose part 4 this node accepts (node.thresholdFiduciaries and node.trustedFiduciaries). */
  trusted: ReadonlySet<string>
}

/** The extension key that carries the part 4 CIDs, comma-separated, from the principal's answer to the beneficiary's node. */
export const EXTENSION_PART4_CIDS = 'orderPart4CIDs'

interface Released { index: number, fiduciaryCID: string, part2CID: string, part3CID: string, part4CID: string, doc4: OrderDocument }

export function thresholdRedeemer (c: ThresholdRedeemComponents) {
  const { documents, identities, plugin, pluginContext, node } = c

  async function held (cid: string, options: AbortOptions): Promise<HeldIdentity | undefined> {
    if (cid === node.cid) return node
    return await identities.keys(cid, options) === undefined ? undefined : await identities.held(cid, options)
  }

  async function signedBy (cid: string, signerCID: string, previousCID: string, options: AbortOptions): Promise<ParsedEnvelope> {
    const parsed = parseEnvelope(await documents.get(cid, options))
    if (parsed.signerCID !== signerCID) throw new DtaError('ORDER_CHAIN_BROKEN', `${cid} is not signed by ${signerCID}`)
    verifyParsedEnvelope(parsed, await identities.verifier(signerCID, options))
    if (parsed.header.previousCID !== previousCID) throw new DtaError('ORDER_CHAIN_BROKEN', `${cid} does not follow ${previousCID}`)
    return parsed
  }

  /** One part 4 and its chain, verified; the reader is the identity of this node it is addressed to. */
  async function released (part4CID: string, reader: HeldIdentity | undefined, options: AbortOptions): Promise<{ r: Released, reader: HeldIdentity }> {
    const parsed4 = parseEnvelope(await documents.get(part4CID, options))
    const fiduciaryCID = parsed4.signerCID
    if (!c.trusted.has(fiduciaryCID)) throw new DtaError('ORDER_FIDUCIARY_NOT_TRUSTED', fiduciaryCID)
    for (const cid of parsed4.header.recipients.filter(cid => cid !== fiduciaryCID)) reader ??= await held(cid, options)
    if (reader === undefined || !parsed4.header.recipients.includes(reader.cid)) throw new DtaError('ENVELOPE_NOT_A_RECIPIENT', `no identity on this node can read ${part4CID}`)
    verifyParsedEnvelope(parsed4, await identities.verifier(fiduciaryCID, options))
    const part3CID = parsed4.header.previousCID
    const doc4 = decodeOrderPart(parsed4, recipientOf(reader)).document
    const p2 = doc4.orderPart2; const p3 = doc4.orderPart3
    if (p2 === undefined || p3 === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'part 4 lacks parts 2 and 3')
    const part1CID = p2.previousOrderCid; const part2CID = p3.previousOrderCid
    validateOrder(doc4, 4, part1CID)
    if (doc4.orderPart4?.previousOrderCid !== part3CID) throw new DtaError('ORDER_CHAIN_BROKEN', 'part 4 does not follow part 3')
    const set = thresholdOf(doc4)
    const index = p2.threshold?.index ?? 0
    if (set === undefined || set.fiduciaryCIDs[index - 1] !== fiduciaryCID) throw new DtaError('ORDER_CHAIN_BROKEN', `${part4CID} is not the part 4 of a threshold order's fiduciary`)
    const beneficiaryCID = doc4.beneficiaryCid || p3.beneficiaryCid
    if (reader.cid !== beneficiaryCID) throw new DtaError('ORDER_NOT_ENTITLED', 'this node holds no beneficiary of that order')
    const principalCID = doc4.principalCid
    const part3 = await signedBy(part3CID, principalCID, part2CID, options)
    assertSameOrder(doc4, decodeOrderPart(part3, recipientOf(reader)).document, 3, 'part 4 alters part 3')
    const part2 = await signedBy(part2CID, fiduciaryCID, part1CID, options)
    if (part2.header.recipients.includes(reader.cid)) assertSameOrder(doc4, decodeOrderPart(part2, recipientOf(reader)).document, 2, 'part 4 alters part 2')
    const part1 = await signedBy(part1CID, principalCID, '', options)
    if (part1.header.recipients.includes(reader.cid)) assertSameOrder(doc4, decodeOrderPart(part1, recipientOf(reader)).document, 1, 'part 4 alters part 1')
    if (!commitmentPopVerify(p2.threshold!.verifyingShare, { reference: doc4.reference, part1CID, plugin: doc4.plugin }, p2.proofOfPossession)) throw new DtaError('ORDER_BAD_COMMITMENT', `the proof of possession of ${fiduciaryCID}'s verifying share`)
    return { r: { index, fiduciaryCID, part2CID, part3CID, part4CID, doc4 }, reader }
  }

  async function redeem (part4CIDs: readonly string[], requestExtension: Extension, options: AbortOptions = {}): Promise<OrderSecretResponse> {
    if (part4CIDs.length === 0 || part4CIDs.length > MAX_THRESHOLD_FIDUCIARIES || new Set(part4CIDs).size !== part4CIDs.length) {
      throw new DtaError('REQUEST_INVALID', `${EXTENSION_PART4_CIDS}: 1 to ${MAX_THRESHOLD_FIDUCIARIES} distinct part 4 CIDs`)
    }
    const all: Released[] = []
    try {
      let reader: HeldIdentity | undefined
      for (const cid of part4CIDs) {
        const got = await released(cid, reader, options)
        reader = got.reader
        all.push(got.r)
      }
      const first = all.reduce((a, b) => (b.index < a.index ? b : a))
      const d1 = first.doc4
      const set = thresholdOf(d1)!
      for (const r of all) {
        const d = r.doc4
        const same = d.reference === d1.reference && d.orderPart2!.previousOrderCid === d1.orderPart2!.previousOrderCid &&
          timingSafeEqual(d.orderPart2!.commitmentPublicKey, d1.orderPart2!.commitmentPublicKey) && timingSafeEqual(d.orderPart2!.threshold!.transcriptHash, d1.orderPart2!.threshold!.transcriptHash)
        if (!same) throw new DtaError('ORDER_CHAIN_BROKEN', `${r.part4CID} is of another order, group key or transcript than ${first.part4CID}`)
      }
      if (new Set(all.map(r => r.index)).size !== all.length) throw new DtaError('REQUEST_INVALID', 'two part 4 of one fiduciary')
      const good = all.filter(r => shareMatches(r.doc4.orderPart4!.orderKey, r.doc4.orderPart2!.threshold!.verifyingShare))
      const wrong = all.filter(r => !good.includes(r)).map(r => r.fiduciaryCID)
      const absent = set.fiduciaryCIDs.filter(cid => !all.some(r => r.fiduciaryCID === cid))
      if (good.length < set.t) throw new DtaError('THRESHOLD_NOT_ENOUGH_SHARES', `${good.length} of t = ${set.t}; not given: ${absent.join(', ') || 'none'}; wrong: ${wrong.join(', ') || 'none'}`)
      const groupKey = d1.orderPart2!.commitmentPublicKey
      const secretKey = combineShares(good.slice(0, set.t).map(r => ({ index: r.index, share: r.doc4.orderPart4!.orderKey })))
      checkCombined(secretKey, groupKey)
      const reference = d1.reference
      const keys: RedemptionKeys = { orderKey: { privateKey: secretKey, publicKey: new Uint8Array(groupKey) }, decrypt: (data) => decryptForIdentity(reader!, { reference, part2CID: first.part2CID }, data) }
      if (reader!.cid === (d1.beneficiaryCid || d1.orderPart3!.beneficiaryCid)) keys.beneficiaryECPrivateKey = reader!.keys.ecPrivateKey
      const order = withPartCIDs(validateOrder(d1, 4, d1.orderPart2!.previousOrderCid), d1, { part2: first.part2CID, part3: first.part3CID })
      let result
      try {
        result = await plugin.completeRedemption(pluginContext, { order, requestExtension, keys }, options)
      } finally {
        wipe(secretKey)
      }
      return {
        secret: result.secret, commitment: result.commitment, orderReference: reference,
        extension: { ...result.extension, groupKey: toHex(groupKey), released: good.map(r => r.fiduciaryCID).join(','), wrong: wrong.join(',') },
        orderPart3CID: first.part3CID, orderPart4CID: first.part4CID,
      }
    } finally {
      for (const r of all) if (r.doc4.orderPart4 !== undefined) wipe(r.doc4.orderPart4.orderKey)
    }
  }

  return { redeem }
}
