/**
 * The C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles) of the log: tile height 8, so a full
 * tile is 256 hashes (8 192 bytes). The hash tile at level L, index N holds the stored nodes of
 * tree level 8·L with indexes N·256 … N·256+255 — at level 0 the leaf hashes, at level 1 the roots
 * of full level-0 tiles, and so on — which is why a store that keeps every complete-subtree hash
 * (merkle.ts) can serve any tile by one range read. The rightmost tiles of a tree are partial
 * (`.p/W`, 1 ≤ W ≤ 255 hashes). Entry bundles (`tile/entries/N`) hold the leaves themselves, each
 * a big-endian uint16 length and the bytes.
 *
 * Paths: `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`; N is written in zero-padded 3-digit
 * groups, every group but the last prefixed with `x` (1234067 → x001/x234/067). The parser
 * accepts exactly the form the writer makes (no leading zeros in L or W, no empty groups), so
 * one tile has one path. golang.org/x/mod/sumdb/tlog writes the same hash tiles under
 * `tile/8/<L>/<N>` (its paths carry the height); docs/log.md compares the two.
 * @module
 */
import { DtaError } from '../../errors.ts'
import { HASH_BYTES } from './merkle.ts'

export const TILE_HEIGHT = 8
export const TILE_WIDTH = 256
/** The tallest level a tree of at most 2^53 leaves has tiles at. */
export const MAX_TILE_LEVEL = 6
/** A leaf is at most this long (the entry bundle's uint16 length). */
export const MAX_LEAF_BYTES = 0xffff

export type TileRef =
  | { readonly kind: 'hash', readonly level: number, readonly index: number, readonly width: number }
  | { readonly kind: 'entries', readonly index: number, readonly width: number }

function encodeIndex (n: number): string {
  const groups: string[] = []
  let rest = n
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'))
    rest = Math.floor(rest / 1000)
  } while (rest > 0)
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/')
}

/** The path of a tile (relative to the log's prefix); `width` 256 is a full tile. */
export function tilePath (tile: TileRef): string {
  if (!Number.isSafeInteger(tile.index) || tile.index < 0) throw new DtaError('INTERNAL', 'tile index')
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > TILE_WIDTH) throw new DtaError('INTERNAL', 'tile width')
  const where = tile.kind === 'hash' ? String(tile.level) : 'entries'
  const partial = tile.width < TILE_WIDTH ? `.p/${tile.width}` : ''
  return `tile/${where}/${encodeIndex(tile.index)}${partial}`
}

const TILE_PATH = /^tile\/(0|[1-9][0-9]?|entries)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/

/** Parses a tile path; LOG_TILE_NOT_FOUND (404) for anything that is not exactly one. */
export function parseTilePath (path: string): TileRef {
  const m = TILE_PATH.exec(path)
  if (m === null) throw new DtaError('LOG_TILE_NOT_FOUND', 'not a tile path')
  const groups = [...m[2]!.split('/').filter(g => g !== '').map(g => g.slice(1)), m[3]!]
  if (groups.length > 6) throw new DtaError('LOG_TILE_NOT_FOUND', 'tile index too large')
  // no leading zero group: 000 may only stand alone (x000/123 would be a second path for 123)
  if (groups.length > 1 && groups[0] === '000') throw new DtaError('LOG_TILE_NOT_FOUND', 'not a canonical tile index')
  const index = groups.reduce((acc, g) => acc * 1000 + Number(g), 0)
  if (!Number.isSafeInteger(index)) throw new DtaError('LOG_TILE_NOT_FOUND', 'tile index too large')
  const width = m[4] === undefined ? TILE_WIDTH : Number(m[4])
  if (m[4] !== undefined && width >= TILE_WIDTH) throw new DtaError('LOG_TILE_NOT_FOUND', 'a partial tile is 1 to 255 wide')
  if (m[1] === 'entries') return { kind: 'entries', index, width }
  const level = Number(m[1])
  if (level > MAX_TILE_LEVEL) throw new DtaError('LOG_TILE_NOT_FOUND', 'no tiles at that level')
  return { kind: 'hash', level, index, width }
}

/**
 * How many hashes of tile (level, index) a tree of `size` leaves has: 256 for a full tile, 1..255
 * for its partial tile, 0 if the tree does not reach it. (Entry bundles: level 0.)
 */
export function tileWidthIn (size: number, level: number, index: number): number {
  const atLevel = Math.floor(size / TILE_WIDTH ** level) // complete nodes at tree level 8·level
  const start = index * TILE_WIDTH
  return Math.max(0, Math.min(TILE_WIDTH, atLevel - start))
}

/** The tree level (of merkle.ts nodes) a tile level's hashes are at. */
export function treeLevelOf (tileLevel: number): number {
  return tileLevel * TILE_HEIGHT
}

/**
 * Whether a tree of `size` leaves serves `tile`: a full tile once the tree has it, a partial one
 * only at exactly the width this tree gives it (C2SP: partial tiles for checkpointed sizes).
 */
export function tileServed (size: number, tile: TileRef): boolean {
  const have = tileWidthIn(size, tile.kind === 'hash' ? tile.level : 0, tile.index)
  return tile.width === TILE_WIDTH ? have === TILE_WIDTH : have === tile.width
}

/** Every tile (full and partial) of a tree of `size` leaves, level by level, for a verifier to fetch. */
export function tilesOf (size: number): TileRef[] {
  const out: TileRef[] = []
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const atLevel = Math.floor(size / TILE_WIDTH ** level)
    if (atLevel === 0) break
    for (let index = 0; index * TILE_WIDTH < atLevel; index++) {
      out.push({ kind: 'hash', level, index, width: tileWidthIn(size, level, index) })
    }
  }
  return out
}

/** Concatenates hashes into a tile. */
export function encodeHashTile (hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_BYTES)
  hashes.forEach((h, i) => out.set(h, i * HASH_BYTES))
  return out
}

/** Splits a hash tile of `width` hashes; LOG_BAD_TILE if its length is not exactly that. */
export function decodeHashTile (bytes: Uint8Array, width: number): Uint8Array[] {
  if (bytes.length !== width * HASH_BYTES) throw new DtaError('LOG_BAD_TILE', `a tile of ${width} hashes is ${width * HASH_BYTES} bytes, not ${bytes.length}`)
  const out: Uint8Array[] = []
  for (let i = 0; i < width; i++) out.push(bytes.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES))
  return out
}

/** An entry bundle: each leaf as a big-endian uint16 length and its bytes. */
export function encodeEntryBundle (leaves: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const leaf of leaves) {
    if (leaf.length > MAX_LEAF_BYTES) throw new DtaError('INTERNAL', 'a leaf is at most 65535 bytes')
    length += 2 + leaf.length
  }
  const out = new Uint8Array(length)
  let at = 0
  for (const leaf of leaves) {
    out[at] = leaf.length >> 8
    out[at + 1] = leaf.length & 0xff
    out.set(leaf, at + 2)
    at += 2 + leaf.length
  }
  return out
}

/** The leaves of an entry bundle; LOG_BAD_TILE if it is truncated, has trailing bytes or holds another count. */
export function decodeEntryBundle (bytes: Uint8Array, width: number): Uint8Array[] {
  const out: Uint8Array[] = []
  let at = 0
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new DtaError('LOG_BAD_TILE', 'entry bundle truncated')
    const n = (bytes[at]! << 8) | bytes[at + 1]!
    if (at + 2 + n > bytes.length) throw new DtaError('LOG_BAD_TILE', 'entry bundle truncated')
    out.push(bytes.slice(at + 2, at + 2 + n))
    at += 2 + n
  }
  if (out.length !== width) throw new DtaError('LOG_BAD_TILE', `entry bundle holds ${out.length} entries, expected ${width}`)
  return out
}
