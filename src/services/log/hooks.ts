/**
 * The small hooks that put the log into the order cycle without changing the order services
 * (src/services/order.ts, fulfil.ts): each wraps a service or a client the node already has.
 *
 * - `withLogProofs` (fiduciary): each fulfil answer gains `log` — its document's leaf index, the
 *   inclusion proof and the newest signed checkpoint (with witnesses configured, the newest a
 *   quorum of them cosigned: witnessing.ts) — and the log key statement inline. The
 *   document is in the log already: the fulfil service wrote it through the logged store.
 * - `checkedFiduciary` (principal): each fulfil answer is checked (check.ts) before the order
 *   service sees it — the leaf this node expects is (part 2 or 4's CID, its type, the fiduciary).
 *   The request says the size of the newest checkpoint seen of that log (`logSize`), so the
 *   answer can carry the consistency proof from it and the check needs no second round trip.
 * - `part4Check` (a beneficiary's node): `POST /v1/order/secret {orderPart4CID}` checks that
 *   part 4 is in its fiduciary's log (asked of that fiduciary's log) before redeeming — the one
 *   hook the order service calls itself (OrderComponents.checkPart4), once the chain is verified.
 *   Every trusted fiduciary's log is asked: its master fiduciary's, its own, and the others' at
 *   `node.trustedFiduciaryServers`; a part 4 of a fiduciary whose log it cannot address is refused
 *   (LOG_NO_ADDRESS), as a principal refuses an answer without a log proof.
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, isDtaError } from '../../errors.ts'
import { inline } from '../inline.ts'
import type { LogProofAnswer, LogReader } from '../../ports/log.ts'
import type { FiduciaryClient } from '../../ports/peer.ts'
import type { FulfilService } from '../../ports/api.ts'
import type { LogChecker } from './check.ts'
import type { TransparencyLog } from './log.ts'
import type { Witnessing } from './witnessing.ts'

export function withLogProofs (fulfil: FulfilService, log: Pick<TransparencyLog, 'proof' | 'proofAt' | 'keyDocument' | 'consistency'>, witnessing?: Witnessing): FulfilService {
  /** The proof against the newest checkpoint, or with witnesses, against the newest a quorum cosigned (it covers the leaf: the leaf was appended first). */
  async function proofOf (cid: string, options?: AbortOptions): Promise<LogProofAnswer & { treeSize: number }> {
    if (witnessing === undefined) return await log.proof(cid, options)
    const cp = await witnessing.cosigned(options)
    return { ...await log.proofAt(cid, cp.size, options), treeSize: cp.size, checkpoint: cp.note, logKeyDocumentCID: log.keyDocument.cid }
  }
  async function prove<T extends { documents?: Record<string, string> }> (answer: T, cid: string, logSize: number | undefined, options?: AbortOptions): Promise<T> {
    const { treeSize, ...proof } = await proofOf(cid, options)
    const key = inline([[log.keyDocument.cid, log.keyDocument.bytes]])
    // the caller's newest checkpoint of this log, when it said: save it the round trip for the consistency proof
    const consistency = logSize !== undefined && logSize <= treeSize ? { consistencyFrom: logSize, consistencyProof: await log.consistency(logSize, treeSize, options) } : {}
    return { ...answer, documents: { ...answer.documents, ...key }, log: { ...proof, ...consistency } }
  }
  return {
    order: async (request, options) => { const a = await fulfil.order(request, options); return await prove(a, a.orderPart2CID, request.logSize, options) },
    secret: async (request, options) => { const a = await fulfil.secret(request, options); return await prove(a, a.orderPart4CID, request.logSize, options) },
  }
}

export function checkedFiduciary (client: FiduciaryClient, fiduciaryCID: string, reader: LogReader, checker: LogChecker): FiduciaryClient {
  return {
    ...(client.ping === undefined ? {} : { ping: client.ping }),
    async fulfillOrder (request, options) {
      const answer = await client.fulfillOrder({ ...request, logSize: await checker.seenSize(fiduciaryCID, options) }, options)
      const cid = answer.orderPart2CID
      await checker.check(fiduciaryCID, { type: 'order-2', cid, signer: fiduciaryCID }, answer.log, answer.documents, reader, { op: 'order.refused' }, options)
      return answer
    },
    async fulfillOrderSecret (request, options) {
      const answer = await client.fulfillOrderSecret({ ...request, logSize: await checker.seenSize(fiduciaryCID, options) }, options)
      const cid = answer.orderPart4CID
      await checker.check(fiduciaryCID, { type: 'order-4', cid, signer: fiduciaryCID }, answer.log, answer.documents, reader, { op: 'release.refused' }, options)
      return answer
    },
  }
}

/**
 * The check a beneficiary's node makes before it redeems a part 4 from its CID alone (the order
 * service calls it once the chain is verified, before the secret is computed): part 4 is in its
 * fiduciary's log, asked of that log. A fiduciary whose log this node has no address of
 * (`readerFor` gives undefined) is refused: LOG_NO_ADDRESS, recorded as the other refusals.
 */
export function part4Check (readerFor: (fiduciaryCID: string) => LogReader | undefined, checker: LogChecker): (part4CID: string, fiduciaryCID: string, options?: AbortOptions) => Promise<void> {
  return async (cid, fiduciaryCID, options) => {
    const reader = readerFor(fiduciaryCID)
    const context = { op: 'release.refused' as const }
    if (reader === undefined) throw await checker.refused(fiduciaryCID, new DtaError('LOG_NO_ADDRESS', `the log of ${fiduciaryCID} (add ${fiduciaryCID}=<its URL> to node.trustedFiduciaryServers)`), context, options)
    const proof = await reader.inclusion(cid, options).catch(async (err: unknown) => {
      if (!isDtaError(err, 'LOG_LEAF_NOT_FOUND')) throw err
      throw await checker.refused(fiduciaryCID, new DtaError('LOG_NOT_INCLUDED', `the fiduciary's log holds no leaf for part 4 ${cid}`), context, options)
    })
    await checker.check(fiduciaryCID, { type: 'order-4', cid, signer: fiduciaryCID }, proof, undefined, reader, context, options)
  }
}
