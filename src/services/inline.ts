/**
 * Documents that travel inline with an RPC (PROTOCOL §6, §9). A principal sends its part and the
 * identity documents the fiduciary needs with the request, and the fiduciary sends its part back,
 * so a cycle needs no IPFS round trip.
 *
 * What a receiver may do with them, and when: an inline document is read from memory — hashed
 * against its CID on first use (`cidOf` gives the canonical CIDv0 that `ipfs add` would, so bytes
 * in another layout are refused too) — and written to the node's store only by `persist`, which
 * a service calls once the request has passed authentication, the allow-list and every signature
 * and entitlement check, and which stores only the documents the request actually read. So a
 * refused request leaves nothing stored or pinned, and a caller cannot use an RPC to make a node
 * host documents it never needed (an earlier version stored every inline document first: up to
 * 8 MiB per request, before any check). Documents not sent inline are read from the store as usual.
 * @module
 */
import type { AbortOptions } from '../ports/common.ts'
import { DtaError } from '../errors.ts'
import type { DocumentReader, DocumentStore } from '../ports/document-store.ts'
import { MAX_DOCUMENT_BYTES } from '../ports/document-store.ts'
import type { InlineDocuments } from '../ports/api.ts'

/** The canonical CIDv0 of some bytes (src/adapters/ipfs/unixfs.ts `cidV0Of`, wired by src/node.ts). */
export type CidOf = (bytes: Uint8Array) => Promise<string>

/** Encodes documents for an RPC: base64 by CID. */
export function inline (entries: Array<[string, Uint8Array]>): InlineDocuments {
  return Object.fromEntries(entries.map(([cid, bytes]) => [cid, Buffer.from(bytes).toString('base64')]))
}

/** The documents of one request: inline ones first (checked on first use), then the store. */
export class Inbound implements DocumentReader {
  readonly #store: DocumentStore
  readonly #cidOf: CidOf
  readonly #sent: ReadonlyMap<string, string>
  readonly #used = new Map<string, Uint8Array>()

  constructor (store: DocumentStore, cidOf: CidOf, sent: InlineDocuments | undefined) {
    this.#store = store
    this.#cidOf = cidOf
    this.#sent = new Map(Object.entries(sent ?? {}))
  }

  async get (cid: string, options?: AbortOptions): Promise<Uint8Array> {
    return await this.#inline(cid) ?? await this.#store.get(cid, options)
  }

  /** Marks an inline document as used without reading it from the store when it was not sent. */
  async use (cid: string): Promise<void> {
    await this.#inline(cid)
  }

  /** The inline document `cid`, checked against its CID and marked used; undefined if it was not sent. */
  async #inline (cid: string): Promise<Uint8Array | undefined> {
    const used = this.#used.get(cid)
    if (used !== undefined) return used
    const base64 = this.#sent.get(cid)
    if (base64 === undefined) return undefined
    const bytes = new Uint8Array(Buffer.from(base64, 'base64'))
    if (bytes.length > MAX_DOCUMENT_BYTES) throw new DtaError('DOCUMENT_TOO_LARGE', `${cid}: ${bytes.length} bytes`)
    const actual = await this.#cidOf(bytes)
    if (actual !== cid) throw new DtaError('DOCUMENT_CID_MISMATCH', `expected ${cid}, the bytes hash to ${actual}`)
    this.#used.set(cid, bytes)
    return bytes
  }

  /** Stores (and pins) the inline documents this request read; call once it has been accepted. */
  async persist (options?: AbortOptions): Promise<void> {
    for (const [cid, bytes] of this.#used) await this.#store.accept(cid, bytes, options)
  }
}
