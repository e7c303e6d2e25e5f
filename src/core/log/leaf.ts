/**
 * What one leaf of the log says: a document this node wrote or accepted — its CID, its type and
 * who signed it — as one line of ASCII:
 *
 *     <type> SP <document CID> SP <signer CID> LF
 *
 * with <type> one of `identity` (an identity document: its signer is itself), `log-key` (a log
 * key statement, key.ts), `order-1` … `order-4` (order parts 1 to 4) and `order` (an order part
 * whose predecessor this log does not hold, so its number is unknown here), and both CIDs CIDv0
 * (`Qm` + 44 base58 characters). Three fields from fixed alphabets without spaces, one space
 * between, one final newline: one leaf has one encoding, and `decodeLeaf` accepts exactly it
 * (at most 103 bytes). The leaf names a document, never its content: what that discloses is in
 * docs/log.md.
 * @module
 */
import { DtaError } from '../../errors.ts'
import { CIDV0_PATTERN, isCIDv0 } from '../../ports/common.ts'
import { utf8 } from '../../crypto/hash.ts'

export const LEAF_TYPES = ['identity', 'log-key', 'order-1', 'order-2', 'order-3', 'order-4', 'order'] as const
export type LeafType = typeof LEAF_TYPES[number]

export interface Leaf {
  readonly type: LeafType
  readonly cid: string
  readonly signer: string
}

/** `identity`, two CIDs, two spaces and the newline. */
const MAX_LEAF_LINE = 103
const CID = CIDV0_PATTERN.slice(1, -1)
const LEAF = new RegExp(`^(${LEAF_TYPES.join('|')}) (${CID}) (${CID})\n$`)

export function encodeLeaf (leaf: Leaf): Uint8Array {
  if (!LEAF_TYPES.includes(leaf.type)) throw new DtaError('INTERNAL', `leaf type ${String(leaf.type)}`)
  if (!isCIDv0(leaf.cid) || !isCIDv0(leaf.signer)) throw new DtaError('INTERNAL', 'a leaf names CIDv0 documents')
  return utf8(`${leaf.type} ${leaf.cid} ${leaf.signer}\n`)
}

/** The leaf a log entry is; LOG_BAD_LEAF for anything else. */
export function decodeLeaf (data: Uint8Array): Leaf {
  if (data.length > MAX_LEAF_LINE) throw new DtaError('LOG_BAD_LEAF', 'too long')
  const m = LEAF.exec(Buffer.from(data).toString('latin1'))
  if (m === null) throw new DtaError('LOG_BAD_LEAF', 'not a leaf line')
  return { type: m[1] as LeafType, cid: m[2]!, signer: m[3]! }
}

/** The leaf type of order part `n` (1..4). */
export function orderLeafType (part: number): LeafType {
  if (part === 1 || part === 2 || part === 3 || part === 4) return `order-${part}`
  throw new DtaError('INTERNAL', `order part ${part}`)
}
