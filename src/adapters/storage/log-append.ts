/**
 * What every log store does inside its append transaction, and the checks on what crosses the
 * log port (src/ports/log.ts) — shared by the SQLite adapter and the PostgreSQL one to come, so
 * both refuse the same inputs with the same codes and compute the same nodes. No database here:
 * an adapter reads what the plan needs (the stored checkpoint, the leaf count, the frontier
 * nodes, the indexes of keys already stored), calls `planAppend`, and writes what it returns.
 *
 * `planAppend` refuses to extend a tree that was altered outside the server: the stored
 * frontier must fold to the stored checkpoint's root, and the checkpoint must cover exactly the
 * stored leaves (LOG_STORE_CORRUPT) — so a node never signs a checkpoint over a tampered tree.
 * @module
 */
import { DtaError } from '../../errors.ts'
import { appendNodes, EMPTY_TREE_HASH, evaluate, frontier, leafHash, nodeKey, rootPlan } from '../../core/log/merkle.ts'
import type { NodeId, StoredNode } from '../../core/log/merkle.ts'
import { MAX_LEAF_BYTES, TILE_WIDTH } from '../../core/log/tiles.ts'
import type { LogEntry, LogHead, NodeRef, StoredCheckpoint } from '../../ports/log.ts'
import { badRecord } from './validate.ts'

export const MAX_APPEND_ENTRIES = 4096
export const MAX_LOG_KEY = 128
export const MAX_NODE_READS = 512

/** Checks a batch: 0..4096 entries, keys 1..128 characters, data 1..65535 bytes. */
export function logEntries (entries: unknown): LogEntry[] {
  if (!Array.isArray(entries) || entries.length > MAX_APPEND_ENTRIES) throw badRecord(`an append takes 0..${MAX_APPEND_ENTRIES} entries`)
  return entries.map((e: unknown, i) => {
    const { key, data } = (e ?? {}) as { key?: unknown, data?: unknown }
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_LOG_KEY) throw badRecord(`entry ${i}: key must be 1..${MAX_LOG_KEY} characters`)
    if (!(data instanceof Uint8Array) || data.length === 0 || data.length > MAX_LEAF_BYTES) throw badRecord(`entry ${i}: data must be 1..${MAX_LEAF_BYTES} bytes`)
    return { key, data }
  })
}

/** A range [start, end) of at most 256 (a tile's width). */
export function logRange (start: unknown, end: unknown): { start: number, end: number } {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (start as number) < 0 || (end as number) < (start as number) || (end as number) - (start as number) > TILE_WIDTH) {
    throw new DtaError('LOG_BAD_REQUEST', `a range is [start, end) with 0 ≤ start ≤ end ≤ start + ${TILE_WIDTH}`)
  }
  return { start: start as number, end: end as number }
}

export function logNodeRefs (refs: unknown): NodeRef[] {
  if (!Array.isArray(refs) || refs.length > MAX_NODE_READS) throw new DtaError('LOG_BAD_REQUEST', `at most ${MAX_NODE_READS} nodes per read`)
  for (const r of refs as NodeRef[]) {
    if (!Number.isSafeInteger(r?.level) || !Number.isSafeInteger(r?.index) || r.level < 0 || r.level > 63 || r.index < 0) throw new DtaError('LOG_BAD_REQUEST', 'a node is a level 0..63 and an index ≥ 0')
  }
  return refs as NodeRef[]
}

export function logLevel (level: unknown): number {
  if (!Number.isSafeInteger(level) || (level as number) < 0 || (level as number) > 63) throw new DtaError('LOG_BAD_REQUEST', 'a level is 0..63')
  return level as number
}

/** What the adapter read inside its transaction, before the append. */
export interface AppendState {
  /** The stored checkpoint, or undefined before the first append. */
  readonly checkpoint: StoredCheckpoint | undefined
  /** How many leaves are stored. */
  readonly leafCount: number
  /** The stored nodes of `frontier(leafCount)` (fetch them with `frontierRefs`). */
  readonly frontier: readonly StoredNode[]
  /** Index of every batch key that is already stored. */
  readonly existing: ReadonlyMap<string, number>
}

/** The nodes whose hashes an append needs: the frontier of the stored tree. */
export function frontierRefs (leafCount: number): NodeId[] {
  return frontier(leafCount)
}

export interface AppendPlan {
  /** Per entry: its index. */
  readonly indexes: number[]
  /** New leaves to insert, in index order. */
  readonly leaves: ReadonlyArray<{ index: number, key: string, data: Uint8Array }>
  /** New nodes to insert (each once). */
  readonly nodes: readonly StoredNode[]
  /** The head to sign and store, or undefined when the stored checkpoint stays. */
  readonly head: LogHead | undefined
}

export function planAppend (entries: readonly LogEntry[], state: AppendState): AppendPlan {
  const { checkpoint, leafCount } = state
  const known = new Map<string, Uint8Array>(state.frontier.map(n => [nodeKey(n), n.hash]))
  const plan = rootPlan(leafCount)
  let storedRoot: Uint8Array
  try {
    storedRoot = plan === undefined ? EMPTY_TREE_HASH : evaluate(plan, known)
  } catch (err) {
    throw new DtaError('LOG_STORE_CORRUPT', `the stored tree of ${leafCount} leaves lacks nodes`, { cause: err })
  }
  if (checkpoint !== undefined && (checkpoint.size !== leafCount || Buffer.compare(checkpoint.root, storedRoot) !== 0)) {
    throw new DtaError('LOG_STORE_CORRUPT', `the checkpoint (size ${checkpoint.size}) does not match the ${leafCount} stored leaves and their nodes`)
  }
  if (checkpoint === undefined && leafCount !== 0) throw new DtaError('LOG_STORE_CORRUPT', `${leafCount} leaves but no checkpoint`)

  const indexes: number[] = []
  const batch = new Map<string, number>()
  const leaves: Array<{ index: number, key: string, data: Uint8Array }> = []
  for (const e of entries) {
    const index = state.existing.get(e.key) ?? batch.get(e.key)
    if (index !== undefined) { indexes.push(index); continue }
    const next = leafCount + leaves.length
    batch.set(e.key, next)
    leaves.push({ index: next, key: e.key, data: e.data })
    indexes.push(next)
  }
  if (leaves.length === 0) {
    return { indexes, leaves, nodes: [], head: checkpoint === undefined ? { size: leafCount, root: storedRoot } : undefined }
  }
  const { nodes, root } = appendNodes(leafCount, state.frontier, leaves.map(l => leafHash(l.data)))
  return { indexes, leaves, nodes, head: { size: leafCount + leaves.length, root } }
}
