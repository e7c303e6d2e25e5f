/**
 * `milagro log verify --documents` (docs/log.md): after verifyLog (verify.ts) has checked the
 * tree, every leaf's document is fetched (`GET /v1/log/document/<cid>`) and checked against its
 * leaf, in log order:
 *
 * - the bytes are the document of the leaf's CID (CIDv0 of the bytes);
 * - the leaf is the one the node must have written for them: `leafOf` (documents.ts) recomputes
 *   it from the envelope's plaintext header and the leaves before it, as the node did when it
 *   appended it — the type (an order part's number from its predecessor's leaf) and the signer;
 * - the signature verifies: an identity document is self-signed with its proof of possession
 *   (decodeIdentityDocument), a log key statement by its node identity, an order part's envelope
 *   by its signer's BLS key — the signature covers the encrypted body, so no key to decrypt is
 *   needed. The signer's key comes from the signer's identity document when it is an earlier leaf
 *   of the log (verified above), else from the node's identity API (counted apart: that key is only
 *   as the node states it).
 *
 * A failure names the leaf (LOG_VERIFY_FAILED). Fetches run a few at a time; memory is the
 * leaves' CIDs and one BLS key per signer.
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, isDtaError } from '../../errors.ts'
import { decodeIdentityDocument } from '../../core/identity.ts'
import { openLogKeyDocument } from '../../core/log/key.ts'
import type { Leaf, LeafType } from '../../core/log/leaf.ts'
import { parseEnvelope, verifyParsedEnvelope } from '../../envelope/envelope.ts'
import type { CidOf } from '../inline.ts'
import { leafOf } from './documents.ts'

export interface DocumentSource {
  /** GET /v1/log/document/<cid>: the bytes of a leaf's document. */
  document (cid: string, options?: AbortOptions): Promise<Uint8Array>
  /** The BLS public key the node shows for an identity (GET /v1/identity/{cid}). */
  blsPublicKey (cid: string, options?: AbortOptions): Promise<Uint8Array>
}

export interface DocumentsSummary {
  documents: number
  /** Signers whose key came from their identity document in the log, and from the node's identity API. */
  signerKeys: { fromLog: number, fromNode: number }
}

const PARALLEL = 8

function failed (index: number, leaf: Leaf, what: string, cause?: unknown): DtaError {
  const why = isDtaError(cause) ? `${cause.code}${cause.detail === undefined ? '' : `: ${cause.detail}`}` : cause instanceof Error ? cause.message : undefined
  return new DtaError('LOG_VERIFY_FAILED', `leaf ${index} (${leaf.type} ${leaf.cid}): ${what}${why === undefined ? '' : ` (${why})`}`, { cause })
}

export async function verifyLogDocuments (leaves: readonly Leaf[], source: DocumentSource, cidOf: CidOf, options: AbortOptions = {}): Promise<DocumentsSummary> {
  // fetched a few ahead, checked in order (a leaf's type depends on the leaves before it)
  const fetched = new Map<number, Promise<Uint8Array>>()
  const fetch = (i: number): void => {
    if (i < leaves.length && !fetched.has(i)) {
      const p = source.document(leaves[i]!.cid, options)
      p.catch(() => {}) // awaited in order below
      fetched.set(i, p)
    }
  }
  const types = new Map<string, LeafType>()
  const keys = new Map<string, Promise<Uint8Array>>()
  const signerKeys = { fromLog: 0, fromNode: 0 }
  const keyOf = async (cid: string): Promise<Uint8Array> => {
    let key = keys.get(cid)
    if (key === undefined) {
      key = source.blsPublicKey(cid, options)
      keys.set(cid, key)
      signerKeys.fromNode++
    }
    return await key
  }
  for (let i = 0; i < leaves.length; i++) {
    for (let ahead = i; ahead < i + PARALLEL; ahead++) fetch(ahead)
    const leaf = leaves[i]!
    let bytes: Uint8Array
    try {
      bytes = await fetched.get(i)!
    } catch (err) {
      throw failed(i, leaf, 'the node does not serve its document', err)
    }
    fetched.delete(i)
    if (await cidOf(bytes) !== leaf.cid) throw failed(i, leaf, 'the document served is not the one of that CID')
    const expected = await leafOf(leaf.cid, bytes, { leafType: async (cid) => types.get(cid) })
    if (expected === undefined) throw failed(i, leaf, 'the document is not an envelope the log records')
    if (expected.type !== leaf.type || expected.signer !== leaf.signer) throw failed(i, leaf, `the document makes the leaf ${expected.type} signed by ${expected.signer}`)
    try {
      if (leaf.type === 'identity') {
        const identity = decodeIdentityDocument(bytes)
        const stated = keys.get(leaf.cid)
        if (stated === undefined) {
          keys.set(leaf.cid, Promise.resolve(identity.blsPublicKey))
          signerKeys.fromLog++
        } else if (Buffer.compare(await stated, identity.blsPublicKey) !== 0) {
          throw failed(i, leaf, 'the node showed another BLS key for this identity')
        }
      } else if (leaf.type === 'log-key') {
        openLogKeyDocument(bytes, { cid: leaf.signer, blsPublicKey: await keyOf(leaf.signer) })
      } else {
        verifyParsedEnvelope(parseEnvelope(bytes), { cid: leaf.signer, blsPublicKey: await keyOf(leaf.signer) })
      }
    } catch (err) {
      throw failed(i, leaf, 'its signature does not verify', err)
    }
    types.set(leaf.cid, leaf.type)
  }
  return { documents: leaves.length, signerKeys }
}
