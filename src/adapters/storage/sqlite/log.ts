/**
 * The node's transparency log in SQLite (src/ports/log.ts): leaves, the hash of every complete
 * subtree, and the newest signed checkpoint, in the tables of migration 4 (append-only by
 * trigger). An append is one `BEGIN IMMEDIATE` transaction — read the checkpoint, the frontier
 * and the batch's known keys, plan with the shared `planAppend` (../log-append.ts), insert, sign,
 * store the checkpoint — made durable by the folder's group commit (wal-sync.ts) before it
 * resolves, so concurrent appends that the log service batches share one fsync.
 *
 * Reads are point lookups on primary keys (a proof: O(log n) of them) and one range scan per
 * tile, all through cached prepared statements.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import type { AppendResult, LogEntry, LogStore, NodeRef, SignHead, StoredCheckpoint } from '../../../ports/log.ts'
import type { StoredNode } from '../../../core/log/merkle.ts'
import { frontierRefs, logEntries, logLevel, logNodeRefs, logRange, planAppend } from '../log-append.ts'
import { badRecord } from '../validate.ts'
import type { SqliteConnection } from './connection.ts'
import type { Row } from './rows.ts'

function readCheckpoint (conn: SqliteConnection): StoredCheckpoint | undefined {
  const row = conn.stmt('SELECT size, root, note FROM log_checkpoint WHERE id = 1').get() as Row | undefined
  return row === undefined ? undefined : { size: row.size as number, root: row.root as Uint8Array, note: row.note as string }
}

function readNode (conn: SqliteConnection, level: number, index: number): Uint8Array | undefined {
  const row = conn.stmt('SELECT hash FROM log_nodes WHERE level = ? AND idx = ?').get(level, index) as Row | undefined
  return row === undefined ? undefined : row.hash as Uint8Array
}

export function createLogStore (conn: SqliteConnection): LogStore {
  return {
    async append (entries: readonly LogEntry[], sign: SignHead, options?: AbortOptions): Promise<AppendResult> {
      return await conn.run(options, db => {
        const batch = logEntries(entries)
        return conn.tx(db, () => {
          const checkpoint = readCheckpoint(conn)
          const leafCount = Number((conn.stmt('SELECT coalesce(max(idx) + 1, 0) AS n FROM log_leaves').get() as Row).n)
          const frontier: StoredNode[] = []
          for (const ref of frontierRefs(leafCount)) {
            const hash = readNode(conn, ref.level, ref.index)
            if (hash !== undefined) frontier.push({ ...ref, hash })
          }
          const existing = new Map<string, number>()
          const find = conn.stmt('SELECT idx FROM log_leaves WHERE key = ?')
          for (const e of batch) {
            const row = find.get(e.key) as Row | undefined
            if (row !== undefined) existing.set(e.key, row.idx as number)
          }
          const plan = planAppend(batch, { checkpoint, leafCount, frontier, existing })
          const insertLeaf = conn.stmt('INSERT INTO log_leaves (idx, key, data) VALUES (?, ?, ?)')
          for (const l of plan.leaves) insertLeaf.run(l.index, l.key, l.data)
          const insertNode = conn.stmt('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)')
          for (const n of plan.nodes) insertNode.run(n.level, n.index, n.hash)
          if (plan.head === undefined) return { indexes: plan.indexes, checkpoint: checkpoint! }
          const note = sign(plan.head)
          if (typeof note !== 'string' || note.length === 0) throw badRecord('the signed checkpoint must be a note')
          conn.stmt(`INSERT INTO log_checkpoint (id, size, root, note) VALUES (1, ?, ?, ?)
              ON CONFLICT (id) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note`)
            .run(plan.head.size, plan.head.root, note)
          return { indexes: plan.indexes, checkpoint: { ...plan.head, note } }
        })
      })
    },

    async checkpoint (options?: AbortOptions): Promise<StoredCheckpoint | undefined> {
      return await conn.run(options, () => readCheckpoint(conn))
    },

    async findLeaf (key: string, options?: AbortOptions): Promise<number | undefined> {
      return await conn.run(options, () => {
        const row = conn.stmt('SELECT idx FROM log_leaves WHERE key = ?').get(String(key)) as Row | undefined
        return row === undefined ? undefined : row.idx as number
      })
    },

    async leaves (start: number, end: number, options?: AbortOptions): Promise<Uint8Array[]> {
      return await conn.run(options, () => {
        const r = logRange(start, end)
        return conn.stmt('SELECT data FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx').all(r.start, r.end).map(row => (row as Row).data as Uint8Array)
      })
    },

    async nodes (refs: readonly NodeRef[], options?: AbortOptions): Promise<Array<Uint8Array | undefined>> {
      return await conn.run(options, () => logNodeRefs(refs).map(r => readNode(conn, r.level, r.index)))
    },

    async level (level: number, start: number, end: number, options?: AbortOptions): Promise<Uint8Array[]> {
      return await conn.run(options, () => {
        const l = logLevel(level)
        const r = logRange(start, end)
        return conn.stmt('SELECT hash FROM log_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx').all(l, r.start, r.end).map(row => (row as Row).hash as Uint8Array)
      })
    },
  }
}
