/**
 * The document store port: immutable, content-addressed documents (PROTOCOL §9). A CID is a CIDv0
 * string (`Qm…`), exactly what `ipfs add` prints for the same bytes, so any adapter — the local
 * filesystem store or the networked Helia node — gives the same identifier for the same document.
 *
 * Contract every adapter keeps (see test/conformance/document-store.ts):
 * - `put` stores and pins the bytes and returns their CID; putting the same bytes twice is a no-op.
 * - `get` returns bytes that were re-verified against the CID, or throws DOCUMENT_NOT_FOUND (not
 *   here and nobody to ask: a local miss, or a networked store with no peer connected),
 *   DOCUMENT_FETCH_TIMEOUT (the peers asked did not answer in time) or ABORTED (the caller's
 *   signal). It never hangs. A DAG that is not the canonical layout of its bytes (the CIDv0 that
 *   `ipfs add` would give them) is DOCUMENT_NOT_CANONICAL and is neither pinned nor kept, so one
 *   document never has two CIDs.
 * - `accept` stores bytes that arrived inline (e.g. in an RPC body) only if they hash to `cid`,
 *   otherwise it throws DOCUMENT_CID_MISMATCH and stores nothing.
 * - Malformed CIDs throw DOCUMENT_BAD_CID; documents larger than `MAX_DOCUMENT_BYTES` throw
 *   DOCUMENT_TOO_LARGE.
 * @module
 */
import type { AbortOptions } from './common.ts'
import type { Startable } from './startable.ts'

export interface DocumentStore {
  put (bytes: Uint8Array, options?: AbortOptions): Promise<string>
  get (cid: string, options?: AbortOptions): Promise<Uint8Array>
  has (cid: string, options?: AbortOptions): Promise<boolean>
  accept (cid: string, bytes: Uint8Array, options?: AbortOptions): Promise<void>
}

/**
 * A document store that is a node of a network (the Helia adapter), as a D-TA node runs it:
 * started and stopped with the node, and telling what `GET /v1/status` shows of it.
 */
export interface NetworkDocumentStore extends DocumentStore, Startable {
  /** This node's peer id; available once started. */
  peerId (): string
  /** Addresses peers can dial; empty when stopped. */
  multiaddrs (): string[]
  /** Peer ids of the peers currently connected. */
  connectedPeers (): string[]
}

/**
 * The read side of a document store: what a service needs to resolve a CID. A request's inline
 * documents (src/services/inline.ts) are a reader too, and `use` tells it that a document it
 * holds was needed even though the caller had it already (a verified identity document in a
 * cache), so that the request stores it once accepted.
 */
export interface DocumentReader {
  get (cid: string, options?: AbortOptions): Promise<Uint8Array>
  use? (cid: string, options?: AbortOptions): Promise<void>
}

/** No document (envelope) is larger than this (PROTOCOL §4). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024
