/**
 * UnixFS DAGs a hostile peer could serve for a document: each is a valid UnixFS file whose root is
 * a CIDv0 and whose content is exactly the document's bytes, yet it is not the DAG `ipfs add` (our
 * `cidV0ImporterOptions`) builds, so its root CID differs from the document's CID. Used by the
 * canonical-form tests (unit, conformance, and the cross-process hostile peer).
 *
 * Built with ipfs-unixfs-importer under other options, or by hand with @ipld/dag-pb for layouts
 * the importer never makes (an extra empty chunk, data in a node that also has links).
 * @module
 */
import { createHash } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { importBytes } from 'ipfs-unixfs-importer'
import type { ImporterOptions } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced, trickle } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { cidV0ImporterOptions } from '../../src/adapters/ipfs/unixfs.ts'
import type { Block } from '../../src/adapters/ipfs/unixfs.ts'

export interface Dag {
  label: string
  /** The root (always a CIDv0). */
  cid: CID
  /** Every block, children before parents. */
  blocks: Block[]
}

const SHA2_256 = 0x12

function dagPbBlock (data: UnixFS, links: Array<{ cid: CID, size: number }>): Block {
  const bytes = dagPb.encode(dagPb.prepare({ Data: data.marshal(), Links: links.map(l => ({ Hash: l.cid, Tsize: l.size, Name: '' })) }))
  const digest = createHash('sha256').update(bytes).digest()
  return { cid: CID.createV0(createDigest(SHA2_256, digest)), bytes }
}

/** Imports `bytes` with the canonical options changed by `change`. */
export async function importWith (label: string, bytes: Uint8Array, change: Partial<ImporterOptions>): Promise<Dag> {
  const blocks: Block[] = []
  const storage = {
    put: async (cid: CID, value: Uint8Array) => { blocks.push({ cid, bytes: value }); return cid }
  }
  const { cid } = await importBytes(bytes, storage as never, { ...cidV0ImporterOptions(), ...change })
  return { label, cid, blocks }
}

/** The canonical single leaf of `bytes` (at most one chunk), as a block. */
function leaf (bytes: Uint8Array): Block {
  return dagPbBlock(new UnixFS({ type: 'file', data: bytes }), [])
}

/**
 * Non-canonical DAGs of `bytes`. Meant for a few KiB (more than 2 KiB, less than one 256 KiB
 * chunk, like an order part): each variant is then a single-chunk document laid out otherwise.
 */
export async function nonCanonicalDags (bytes: Uint8Array): Promise<Dag[]> {
  if (bytes.length <= 2048 || bytes.length > 262_144) throw new RangeError('nonCanonicalDags wants 2 KiB < length ≤ 256 KiB')
  const split = 1000
  const head = leaf(bytes.subarray(0, split))
  const tail = leaf(bytes.subarray(split))
  const empty = leaf(new Uint8Array(0))
  const whole = leaf(bytes)

  const extraEmptyRoot = dagPbBlock(new UnixFS({ type: 'file', blockSizes: [BigInt(bytes.length), 0n] }), [
    { cid: whole.cid, size: whole.bytes.length }, { cid: empty.cid, size: empty.bytes.length }
  ])
  const dataAndLinksRoot = dagPbBlock(new UnixFS({ type: 'file', data: bytes.subarray(0, split), blockSizes: [BigInt(bytes.length - split)] }), [
    { cid: tail.cid, size: tail.bytes.length }
  ])
  // 0o644 is the default mode for a file, which ipfs-unixfs leaves out of the encoding
  const withMetadata = dagPbBlock(new UnixFS({ type: 'file', data: bytes, mode: 0o600 }), [])
  const twoLeaves = dagPbBlock(new UnixFS({ type: 'file', blockSizes: [BigInt(split), BigInt(bytes.length - split)] }), [
    { cid: head.cid, size: head.bytes.length }, { cid: tail.cid, size: tail.bytes.length }
  ])

  return [
    await importWith('chunked at 1 KiB', bytes, { chunker: fixedSize({ chunkSize: 1024 }) }),
    await importWith('balanced with fan-out 2 (a deeper tree)', bytes, { chunker: fixedSize({ chunkSize: 512 }), layout: balanced({ maxChildrenPerNode: 2 }) }),
    await importWith('trickle layout', bytes, { chunker: fixedSize({ chunkSize: 256 }), layout: trickle() }),
    await importWith('raw leaves (CIDv1 children) under a CIDv0 root', bytes, { chunker: fixedSize({ chunkSize: 1024 }), rawLeaves: true }),
    await importWith('one chunk under a root with one link', bytes, { reduceSingleLeafToSelf: false }),
    await importWith('a leaf of UnixFS type raw', bytes, { leafType: 'raw' }),
    { label: 'two uneven leaves (1000 bytes, then the rest)', cid: twoLeaves.cid, blocks: [head, tail, twoLeaves] },
    { label: 'an extra empty chunk', cid: extraEmptyRoot.cid, blocks: [whole, empty, extraEmptyRoot] },
    { label: 'data in the root as well as links', cid: dataAndLinksRoot.cid, blocks: [tail, dataAndLinksRoot] },
    { label: 'a single leaf with a mode', cid: withMetadata.cid, blocks: [withMetadata] },
  ]
}

/** A UnixFS file root that declares `declared` bytes in links to `children` (which may be absent). */
export function declaresSize (declared: bigint, children: Block[]): Dag {
  const each = declared / BigInt(children.length)
  const sizes = children.map((_, i) => i === children.length - 1 ? declared - each * BigInt(children.length - 1) : each)
  const root = dagPbBlock(new UnixFS({ type: 'file', blockSizes: sizes }), children.map(c => ({ cid: c.cid, size: c.bytes.length })))
  return { label: `declares ${declared} bytes`, cid: root.cid, blocks: [...children, root] }
}
