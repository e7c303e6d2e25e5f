/**
 * The document store as the services see it on a node that keeps a log: every envelope the node
 * writes (`put`) or accepts from a request it has checked (`accept`, src/services/inline.ts) is
 * appended to the log before the call returns — so by the time a service answers with a document,
 * the document is in the log and a checkpoint covers it. Documents only read (`get`, e.g. fetched
 * from a peer) are not leaves: the node did not accept them into its record.
 *
 * The leaf (src/core/log/leaf.ts) is read from the envelope's header, which is plaintext: an
 * identity document (self-signed: its signer is itself), a log key statement, or an order part —
 * part 1 when it follows nothing, part k + 1 when it follows a document this log holds as part k
 * (every part's predecessor was written or accepted here first), `order` when the predecessor is
 * not in this log. Bytes that are not an envelope are stored as before and not logged.
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { isCIDv0 } from '../../ports/common.ts'
import { orderLeafType } from '../../core/log/leaf.ts'
import type { Leaf } from '../../core/log/leaf.ts'
import { DocumentType, parseEnvelope } from '../../envelope/envelope.ts'
import type { DocumentStore } from '../../ports/document-store.ts'
import type { TransparencyLog } from './log.ts'

/** What a document's leaf is, from its plaintext header; undefined for bytes that are no envelope. */
export async function leafOf (cid: string, bytes: Uint8Array, log: Pick<TransparencyLog, 'leafType'>, options?: AbortOptions): Promise<Leaf | undefined> {
  let parsed
  try {
    parsed = parseEnvelope(bytes)
  } catch {
    return undefined
  }
  const { header, signerCID } = parsed
  if (header.bodyType === DocumentType.ID_DOCUMENT && signerCID === '' && !parsed.hasEncryptedBody) return { type: 'identity', cid, signer: cid }
  if (!isCIDv0(signerCID)) return undefined
  if (header.bodyType === DocumentType.LOG_KEY_DOCUMENT) return { type: 'log-key', cid, signer: signerCID }
  if (header.encryptedBodyType !== DocumentType.ORDER_DOCUMENT) return undefined
  if (header.previousCID === '') return { type: 'order-1', cid, signer: signerCID }
  const previous = await log.leafType(header.previousCID, options)
  const part = previous === undefined ? undefined : /^order-([123])$/.exec(previous)?.[1]
  return { type: part === undefined ? 'order' : orderLeafType(Number(part) + 1), cid, signer: signerCID }
}

export function loggedDocuments (store: DocumentStore, log: Pick<TransparencyLog, 'append' | 'leafType'>): DocumentStore {
  async function record (cid: string, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    const leaf = await leafOf(cid, bytes, log, options)
    if (leaf !== undefined) await log.append(leaf)
  }
  return {
    async put (bytes, options) {
      const cid = await store.put(bytes, options)
      await record(cid, bytes, options)
      return cid
    },
    async accept (cid, bytes, options) {
      await store.accept(cid, bytes, options)
      await record(cid, bytes, options)
    },
    get: async (cid, options) => await store.get(cid, options),
    has: async (cid, options) => await store.has(cid, options),
  }
}
