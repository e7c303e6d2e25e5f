/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the note text of a tree head, three
 * lines — origin, tree size in decimal (no leading zeros), base64 root hash — and no extension
 * lines (they are optional and not auditable). Signed as a signed note (note.ts) by the log key,
 * whose key name is the origin.
 *
 * A node's origin is `milagro-dta/log/<node identity CID>`: unique per node, stable for the
 * node's life, and a schema-less name as the spec recommends. (The spec suggests the log's URL
 * prefix; a node does not know the URL its clients reach it by, and one node may be reached by
 * several.)
 * @module
 */
import { DtaError } from '../../errors.ts'
import { HASH_BYTES, MAX_TREE_SIZE } from './merkle.ts'
import { checkKeyName, openNote, strictBase64 } from './note.ts'
import type { NoteSignature, NoteVerifier } from './note.ts'

export const ORIGIN_PREFIX = 'milagro-dta/log/'

export function originOf (nodeCID: string): string {
  const origin = `${ORIGIN_PREFIX}${nodeCID}`
  checkKeyName(origin)
  return origin
}

export interface TreeHead {
  readonly size: number
  readonly root: Uint8Array
}

export interface Checkpoint extends TreeHead {
  readonly origin: string
}

export function formatCheckpoint (c: Checkpoint): string {
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new DtaError('INTERNAL', 'tree size')
  if (c.root.length !== HASH_BYTES) throw new DtaError('INTERNAL', 'root hash')
  checkKeyName(c.origin)
  return `${c.origin}\n${c.size}\n${Buffer.from(c.root).toString('base64')}\n`
}

/** Parses a checkpoint note text; LOG_BAD_CHECKPOINT unless it is exactly what formatCheckpoint writes (extension lines allowed, ignored). */
export function parseCheckpoint (text: string): Checkpoint & { extensions: string[] } {
  if (!text.endsWith('\n')) throw new DtaError('LOG_BAD_CHECKPOINT', 'a checkpoint ends in a newline')
  const lines = text.slice(0, -1).split('\n')
  if (lines.length < 3 || lines.some(l => l === '')) throw new DtaError('LOG_BAD_CHECKPOINT', 'a checkpoint is at least three non-empty lines')
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]]
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText)) throw new DtaError('LOG_BAD_CHECKPOINT', 'the tree size is not a decimal number')
  const size = Number(sizeText)
  if (size > MAX_TREE_SIZE) throw new DtaError('LOG_BAD_CHECKPOINT', 'the tree size is too large')
  const root = strictBase64(rootText)
  if (root === undefined || root.length !== HASH_BYTES) throw new DtaError('LOG_BAD_CHECKPOINT', 'the root hash is not 32 bytes of base64')
  return { origin, size, root, extensions }
}

export interface SignedCheckpoint extends Checkpoint {
  /** The whole signed note as served. */
  readonly note: string
  readonly signatures: NoteSignature[]
}

/**
 * Opens a signed checkpoint: verified by `log` (its key name must be the origin the caller
 * expects), then parsed. LOG_BAD_SIGNATURE / LOG_BAD_NOTE / LOG_BAD_CHECKPOINT on failure.
 */
export function openCheckpoint (note: string, log: NoteVerifier, expectedOrigin: string = log.name): SignedCheckpoint {
  const { text, signatures } = openNote(note, [log])
  const c = parseCheckpoint(text)
  if (c.origin !== expectedOrigin) throw new DtaError('LOG_BAD_CHECKPOINT', `origin ${JSON.stringify(c.origin.slice(0, 100))}, expected ${expectedOrigin}`)
  return { origin: c.origin, size: c.size, root: c.root, note, signatures }
}
