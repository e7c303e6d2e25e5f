/**
 * CIDv0 documents as UnixFS DAGs, shared by every document store adapter so that the local store and
 * the Helia node give the same CID for the same bytes — the one `ipfs add` (go-ipfs/kubo defaults)
 * prints: dag-pb nodes, sha2-256, fixed 256 KiB chunks, balanced layout with at most 174 links per
 * node, no raw leaves, a single chunk reduced to its leaf (PROTOCOL §9). Every option is spelled out
 * here because `ipfs-unixfs-importer` and `@helia/unixfs` default to CIDv1 with raw leaves.
 *
 * Reading goes through `verifyingReader`, which re-hashes every block against the CID it was asked
 * for, so a file altered on disk is reported as DOCUMENT_CORRUPT rather than returned. And
 * `exportCidV0` returns bytes only if the DAG it read is the canonical one — the DAG these options
 * build from those bytes (PROTOCOL §6): UnixFS accepts many DAGs for one file (other chunk sizes,
 * fan-outs, trickle layout, raw leaves, empty chunks, data in a node that also has links, extra
 * metadata), each with its own CID, and a peer could serve any of them. Refused as
 * DOCUMENT_NOT_CANONICAL, so one document never has two CIDs. For a single-chunk document (every
 * order part) the check compares the root block already read — and hashed to the CID — with the
 * leaf these options encode: no second hash (measured for 3 KiB: ~5 µs, where `cidV0Of` takes ~20 µs);
 * larger documents are re-chunked with the importer.
 * @module
 */

import { createHash } from 'node:crypto'
import { exporter } from 'ipfs-unixfs-exporter'
import { importBytes } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { isCIDv0 } from '../../ports/common.ts'
import { DtaError, abortError, isDtaError } from '../../errors.ts'
import { concatBytes } from '../../crypto/hash.ts'
import type { ErrorCode } from '../../errors.ts'
import { accounted } from '../../accounting.ts'
import { MAX_DOCUMENT_BYTES } from '../../ports/document-store.ts'
import type { ImporterOptions } from 'ipfs-unixfs-importer'

/** `ipfs add` chunk size (kubo `--chunker=size-262144`). */
export const CHUNK_SIZE = 262_144
/** `ipfs add` balanced-layout fan-out (kubo `helpers.DefaultLinksPerBlock`). */
export const MAX_LINKS_PER_NODE = 174

const DAG_PB = 0x70
const SHA2_256 = 0x12
const IDENTITY = 0x00

/**
 * The importer options that reproduce `ipfs add` (CIDv0). A function rather than a shared object
 * because the importer keeps per-run state in the chunker and layout closures.
 */
export function cidV0ImporterOptions (): ImporterOptions {
  return {
    cidVersion: 0,
    rawLeaves: false,
    leafType: 'file',
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    fieldOrder: 'links-first',
    chunker: fixedSize({ chunkSize: CHUNK_SIZE }),
    layout: balanced({ maxChildrenPerNode: MAX_LINKS_PER_NODE })
    // the hash is always sha2-256: ipfs-unixfs-importer's `persist` hard-codes it for dag-pb
  }
}

export interface Block {
  cid: CID
  bytes: Uint8Array
}

/** Where the importer writes; a subset of interface-blockstore's `Blockstore`. */
export interface BlockSink {
  put (cid: CID, bytes: Uint8Array, options?: { signal?: AbortSignal }): unknown
}

/** Where the exporter reads; the local blockstore, or the Helia blockstore that falls back to bitswap. */
export interface BlockSource {
  get (cid: CID, options?: { signal?: AbortSignal }): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

/**
 * Chunks `bytes` into a CIDv0 UnixFS DAG, writing each block to `sink` (children before parents,
 * so the root's presence implies a complete write). No size limit here: the port's limit is
 * applied by the stores, and this helper is also used on large inputs in tests.
 */
export async function importCidV0 (bytes: Uint8Array, sink: BlockSink, options: { signal?: AbortSignal } = {}): Promise<CID> {
  const storage = {
    put: async (cid: CID, value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> => {
      if (!(value instanceof Uint8Array)) throw new DtaError('INTERNAL', 'importer produced a streamed block')
      options.signal?.throwIfAborted()
      await sink.put(cid, value, options)
      return cid
    }
  }
  const result = await importBytes(bytes, storage, cidV0ImporterOptions())
  return result.cid
}

/**
 * A document of at most one chunk is a single dag-pb leaf, built here directly: the same bytes
 * the importer writes (a test compares them), without its async pipeline, which costs ~0.2 ms
 * per call — and a D-TA order part (~2–3 KiB) is always a single chunk.
 */
function singleLeaf (bytes: Uint8Array): Block {
  const block = singleLeafBytes(bytes)
  return { cid: leafCid(block), bytes: block }
}

/** The CIDv0 of one block: its SHA-256 (crypto, for the bench's accounting). */
const leafCid = accounted('crypto', (block: Uint8Array): CID => CID.createV0(createDigest(SHA2_256, createHash('sha256').update(block).digest())))

/** The encoded block of the single dag-pb leaf holding `bytes` (at most one chunk). */
const singleLeafBytes = accounted('ipfs', (bytes: Uint8Array): Uint8Array => {
  const data = new UnixFS({ type: 'file', data: bytes }).marshal()
  return dagPb.encode(dagPb.prepare({ Data: data, Links: [] }))
})

/** Chunks `bytes` in memory, returning the root CID and the blocks (for stores that write after a check). */
export async function buildCidV0 (bytes: Uint8Array): Promise<{ cid: CID, blocks: Block[] }> {
  if (bytes.length <= CHUNK_SIZE) {
    const leaf = singleLeaf(bytes)
    return { cid: leaf.cid, blocks: [leaf] }
  }
  const blocks: Block[] = []
  const cid = await importCidV0(bytes, { put: (c, b) => { blocks.push({ cid: c, bytes: b }) } })
  return { cid, blocks }
}

/** The CIDv0 of `bytes`, exactly as `ipfs add --only-hash` would print it. */
export async function cidV0Of (bytes: Uint8Array): Promise<string> {
  if (bytes.length <= CHUNK_SIZE) return singleLeaf(bytes).cid.toString()
  return (await importCidV0(bytes, { put: () => undefined })).toString()
}

/** Parses a document identifier: a canonical CIDv0 string (`Qm…`, sha2-256) and nothing else. */
export function parseCidV0 (value: unknown): CID {
  if (!isCIDv0(value)) {
    throw new DtaError('DOCUMENT_BAD_CID', describeBadCid(value))
  }
  let cid: CID
  try {
    cid = CID.parse(value)
  } catch (err) {
    throw new DtaError('DOCUMENT_BAD_CID', 'not base58btc', { cause: err })
  }
  if (cid.version !== 0 || cid.code !== DAG_PB || cid.multihash.code !== SHA2_256 ||
      cid.multihash.size !== 32 || cid.toString() !== value) {
    throw new DtaError('DOCUMENT_BAD_CID', 'not a canonical CIDv0')
  }
  return cid
}

function describeBadCid (value: unknown): string {
  if (typeof value !== 'string') return `expected a string, got ${value === null ? 'null' : typeof value}`
  // only the shape goes into the message, never the (possibly long, attacker-chosen) value
  return `expected "Qm" and 44 base58btc characters, got ${value.length} characters`
}

/** Throws DOCUMENT_TOO_LARGE unless `bytes` is a byte array within the port's limit. */
export function assertDocumentBytes (bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new DtaError('BAD_REQUEST', 'document bytes must be a Uint8Array')
  if (bytes.byteLength > MAX_DOCUMENT_BYTES) {
    throw new DtaError('DOCUMENT_TOO_LARGE', `${bytes.byteLength} bytes, the limit is ${MAX_DOCUMENT_BYTES}`)
  }
}

/** True if `bytes` hash to `cid` (sha2-256, or an identity multihash). */
export const blockMatchesCid = accounted('crypto', function blockMatchesCid (cid: CID, bytes: Uint8Array): boolean {
  const { code, digest } = cid.multihash
  if (code === SHA2_256) {
    return Buffer.from(createHash('sha256').update(bytes).digest()).equals(digest)
  }
  if (code === IDENTITY) return Buffer.from(bytes).equals(digest)
  return false
})

async function collect (chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let length = 0
  for await (const chunk of chunks) {
    parts.push(chunk)
    length += chunk.byteLength
  }
  if (parts.length === 1) return parts[0]
  return Buffer.concat(parts, length)
}

/**
 * Wraps a block source so that every block is re-hashed against its CID before the exporter sees it.
 * A block that does not match is DOCUMENT_CORRUPT; a missing root is `missingRootCode`, a missing
 * child of a present root is DOCUMENT_CORRUPT (the DAG on disk is incomplete).
 */
export function verifyingReader (source: BlockSource, root: CID, missingRootCode: ErrorCode = 'DOCUMENT_NOT_FOUND'): BlockSource {
  return {
    async * get (cid: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
      let bytes: Uint8Array
      try {
        bytes = await collect(source.get(cid, options))
      } catch (err) {
        if (isDtaError(err) || options?.signal?.aborted === true) throw err
        if ((err as { name?: string }).name === 'NotFoundError') {
          throw cid.toString() === root.toString()
            ? new DtaError(missingRootCode, root.toString(), { cause: err })
            : new DtaError('DOCUMENT_CORRUPT', `${root.toString()} (block ${cid.toString()} is missing)`, { cause: err })
        }
        throw err
      }
      if (!blockMatchesCid(cid, bytes)) {
        throw new DtaError('DOCUMENT_CORRUPT', `${root.toString()} (block ${cid.toString()} does not match its hash)`)
      }
      yield bytes
    }
  }
}

/**
 * Reads the document `cid` from `source` (which should be a `verifyingReader`) and returns its bytes.
 * Refuses anything that is not a UnixFS file or that declares more than `maxBytes`, before reading
 * its content, so a peer cannot make us download a huge DAG; and, once read, a DAG that is not the
 * canonical one for its bytes (DOCUMENT_NOT_CANONICAL, see the module comment). Every store's `get`
 * goes through here, so the stores keep or pin a fetched document only after this returned.
 */
export async function exportCidV0 (cid: CID, source: BlockSource, options: { signal?: AbortSignal, maxBytes?: number } = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? MAX_DOCUMENT_BYTES
  let rootBlock: Uint8Array | undefined
  const readable = {
    get: async function * (c: CID, o?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
      if (rootBlock !== undefined || !c.equals(cid)) return yield * source.get(c, o)
      // the root is kept for the canonical-form check (a verifying reader yields it whole, hashed)
      const chunks: Uint8Array[] = []
      for await (const chunk of source.get(c, o)) {
        chunks.push(chunk)
        yield chunk
      }
      if (chunks.length === 1) rootBlock = chunks[0]
    }
  }
  try {
    const entry = await exporter(cid, readable, { signal: options.signal })
    if (entry.type !== 'file') {
      throw new DtaError('DOCUMENT_BAD_CID', `${cid.toString()} is a UnixFS ${entry.type}, not a file`)
    }
    if (entry.size > BigInt(maxBytes)) {
      throw new DtaError('DOCUMENT_TOO_LARGE', `${cid.toString()} declares ${entry.size} bytes, the limit is ${maxBytes}`)
    }
    const parts: Uint8Array[] = []
    let length = 0
    for await (const chunk of entry.content({ signal: options.signal })) {
      length += chunk.byteLength
      if (length > maxBytes) throw new DtaError('DOCUMENT_TOO_LARGE', `${cid.toString()} holds more than ${maxBytes} bytes`)
      parts.push(chunk)
    }
    if (BigInt(length) !== entry.size) {
      throw new DtaError('DOCUMENT_CORRUPT', `${cid.toString()} declares ${entry.size} bytes but holds ${length}`)
    }
    // a fresh plain Uint8Array: not a Buffer, not a view into a block read from disk
    const bytes = concatBytes(...parts)
    await assertCanonical(cid, bytes, rootBlock)
    return bytes
  } catch (err) {
    if (isDtaError(err)) throw err
    if (options.signal?.aborted === true) throw abortError(options.signal)
    // the exporter's own failures: not dag-pb/UnixFS, truncated or inconsistent DAG
    throw new DtaError('DOCUMENT_CORRUPT', `${cid.toString()} is not a well-formed UnixFS file`, { cause: err })
  }
}

/**
 * Throws DOCUMENT_NOT_CANONICAL unless `cid` is the CID these options give for `bytes`. `rootBlock`
 * is the block read for `cid` (already hashed to it): for a single chunk the canonical DAG is one
 * leaf, so comparing the block with the leaf's encoding is the same test as comparing CIDs.
 */
async function assertCanonical (cid: CID, bytes: Uint8Array, rootBlock: Uint8Array | undefined): Promise<void> {
  if (rootBlock !== undefined && bytes.length <= CHUNK_SIZE &&
      Buffer.from(rootBlock.buffer, rootBlock.byteOffset, rootBlock.byteLength).equals(singleLeafBytes(bytes))) return
  const canonical = await cidV0Of(bytes)
  if (canonical === cid.toString()) return
  throw new DtaError('DOCUMENT_NOT_CANONICAL', `${cid.toString()} holds ${bytes.length} bytes whose canonical CID is ${canonical}`)
}
