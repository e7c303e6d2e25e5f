/**
 * Verifies a whole log from what it serves (`milagro log verify`, docs/log.md): the log key
 * statement, the signed checkpoint, every hash tile and every entry bundle of the checkpoint's
 * tree, from the leaves up — each entry must be a well-formed leaf and hash to its level-0 tile
 * entry, each tile hash at level L ≥ 1 must be the root of the 256 hashes below it, and the leaves
 * must give the checkpoint's root. So a leaf, a tile or a checkpoint changed anywhere (on the
 * node's disk or on the way) fails, and nothing served is trusted but the key.
 *
 * The key: pinned by the caller (`pinned`, a verifier key printed by an earlier run or by GET
 * /v1/log/key on a node one trusts), or else the node's own statement, checked against the BLS
 * key the node shows for its identity — which proves only that the node is self-consistent; the
 * summary says which. Memory: 32 bytes per leaf (a million leaves: 32 MB).
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, isDtaError } from '../../errors.ts'
import { openCheckpoint, ORIGIN_PREFIX } from '../../core/log/checkpoint.ts'
import { openLogKeyDocument } from '../../core/log/key.ts'
import { decodeLeaf } from '../../core/log/leaf.ts'
import type { LeafType } from '../../core/log/leaf.ts'
import { leafHash, rootOfLeafHashes } from '../../core/log/merkle.ts'
import { formatVerifierKey, parseVerifierKey } from '../../core/log/note.ts'
import type { NoteVerifier } from '../../core/log/note.ts'
import { decodeEntryBundle, decodeHashTile, tilePath, tilesOf, TILE_WIDTH } from '../../core/log/tiles.ts'
import type { CidOf } from '../inline.ts'

/** What a verifier reads of a node. */
export interface LogSource {
  /** GET /v1/log/<path> as bytes. */
  raw (path: string, options?: AbortOptions): Promise<Uint8Array>
  /** The BLS public key the node shows for an identity (GET /v1/identity/{cid}). */
  blsPublicKey (cid: string, options?: AbortOptions): Promise<Uint8Array>
}

export interface LogSummary {
  origin: string
  verifierKey: string
  /** 'pinned' or 'as served by the node (pin it with --vkey)'. */
  keySource: 'pinned' | 'served'
  size: number
  root: string
  checkpoint: string
  tiles: number
  entries: number
  leafTypes: Partial<Record<LeafType, number>>
  /** The leaves, in order, for further checks (--documents). */
  leaves: Array<{ type: LeafType, cid: string, signer: string }>
}

function failed (what: string, cause?: unknown): DtaError {
  const why = isDtaError(cause) ? `${cause.code}: ${cause.detail ?? cause.message}` : cause instanceof Error ? cause.message : undefined
  return new DtaError('LOG_VERIFY_FAILED', why === undefined ? what : `${what} (${why})`, { cause })
}

async function json<T> (source: LogSource, path: string, options?: AbortOptions): Promise<T> {
  const bytes = await source.raw(path, options)
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T
  } catch (err) {
    throw failed(`/v1/log/${path} is not JSON`, err)
  }
}

async function logKey (source: LogSource, cidOf: CidOf, pinned: NoteVerifier | undefined, options?: AbortOptions): Promise<{ verifier: NoteVerifier, keySource: 'pinned' | 'served' }> {
  const key = await json<{ logKeyDocumentCID?: string, verifierKey?: string, document?: string }>(source, 'key', options)
  let served: NoteVerifier
  try {
    served = parseVerifierKey(String(key.verifierKey))
  } catch (err) {
    throw failed('the served verifier key is malformed', err)
  }
  if (pinned !== undefined) {
    if (formatVerifierKey(pinned) !== formatVerifierKey(served)) throw failed(`the node serves the log key ${formatVerifierKey(served)}, not the pinned ${formatVerifierKey(pinned)}`)
    return { verifier: pinned, keySource: 'pinned' }
  }
  if (!served.name.startsWith(ORIGIN_PREFIX)) throw failed(`the log key names ${served.name}, not a node's log`)
  const nodeCID = served.name.slice(ORIGIN_PREFIX.length)
  const bytes = new Uint8Array(Buffer.from(String(key.document), 'base64'))
  if (await cidOf(bytes) !== key.logKeyDocumentCID) throw failed('the log key statement is not the document of its CID')
  try {
    const statement = openLogKeyDocument(bytes, { cid: nodeCID, blsPublicKey: await source.blsPublicKey(nodeCID, options) })
    if (formatVerifierKey(statement.verifier) !== formatVerifierKey(served)) throw failed('the statement states another key than the one served')
  } catch (err) {
    throw isDtaError(err, 'LOG_VERIFY_FAILED') ? err : failed('the log key statement is not signed by the node identity', err)
  }
  return { verifier: served, keySource: 'served' }
}

export async function verifyLog (source: LogSource, cidOf: CidOf, options: AbortOptions & { pinned?: NoteVerifier } = {}): Promise<LogSummary> {
  const { verifier, keySource } = await logKey(source, cidOf, options.pinned, options)
  const note = Buffer.from(await source.raw('checkpoint', options)).toString('utf8')
  let cp
  try {
    cp = openCheckpoint(note, verifier)
  } catch (err) {
    throw failed('the checkpoint does not verify under the log key', err)
  }
  const size = cp.size
  const leafHashes: Uint8Array[] = []
  const leaves: LogSummary['leaves'] = []
  const leafTypes: LogSummary['leafTypes'] = {}
  let tiles = 0
  // entries and level-0 tiles, bundle by bundle
  for (let index = 0; index * TILE_WIDTH < size; index++) {
    const width = Math.min(TILE_WIDTH, size - index * TILE_WIDTH)
    const entriesPath = tilePath({ kind: 'entries', index, width })
    const hashPath = tilePath({ kind: 'hash', level: 0, index, width })
    let bundle: Uint8Array[]
    let hashes: Uint8Array[]
    try {
      bundle = decodeEntryBundle(await source.raw(entriesPath, options), width)
      hashes = decodeHashTile(await source.raw(hashPath, options), width)
    } catch (err) {
      throw failed(`${entriesPath} or ${hashPath}`, err)
    }
    tiles += 2
    bundle.forEach((data, i) => {
      const at = index * TILE_WIDTH + i
      let leaf
      try {
        leaf = decodeLeaf(data)
      } catch (err) {
        throw failed(`entry ${at} is not a leaf`, err)
      }
      const h = leafHash(data)
      if (Buffer.compare(h, hashes[i]!) !== 0) throw failed(`entry ${at} does not hash to its entry in ${hashPath}`)
      leafHashes.push(h)
      leaves.push(leaf)
      leafTypes[leaf.type] = (leafTypes[leaf.type] ?? 0) + 1
    })
  }
  // the tiles above level 0: each hash is the root of the 256 hashes below it
  let below = leafHashes
  for (const tile of tilesOf(size).filter(t => t.kind === 'hash' && t.level > 0)) {
    if (tile.kind !== 'hash') continue
    const path = tilePath(tile)
    let hashes: Uint8Array[]
    try {
      hashes = decodeHashTile(await source.raw(path, options), tile.width)
    } catch (err) {
      throw failed(path, err)
    }
    tiles++
    // hashes of level (tile.level − 1) · 8, complete groups of 256: `below` for the first tile of a level
    if (tile.index === 0) {
      const next: Uint8Array[] = []
      for (let i = 0; (i + 1) * TILE_WIDTH <= below.length; i++) next.push(rootOfLeafHashes(below.slice(i * TILE_WIDTH, (i + 1) * TILE_WIDTH)))
      below = next
    }
    hashes.forEach((h, i) => {
      if (Buffer.compare(h, below[tile.index * TILE_WIDTH + i]!) !== 0) throw failed(`${path} hash ${i} is not the root of the tile below it`)
    })
  }
  if (Buffer.compare(rootOfLeafHashes(leafHashes), cp.root) !== 0) throw failed(`the ${size} leaves do not give the checkpoint's root`)
  return {
    origin: cp.origin, verifierKey: formatVerifierKey(verifier), keySource, size, root: Buffer.from(cp.root).toString('base64'),
    checkpoint: note, tiles, entries: leafHashes.length, leafTypes, leaves,
  }
}
