/**
 * The node's transparency log in PostgreSQL (src/ports/log.ts), the same tables and the same
 * shared plan (../log-append.ts) as the SQLite adapter, so both pass test/conformance/log-store.ts.
 *
 * Replicas of one node share this log: an append takes a transaction-scoped advisory lock on the
 * log first, so appends from several processes run one after the other, each reading the head
 * the previous one committed (leaf count, frontier, checkpoint) — one log, no coordinator. The
 * lock is held from the first read to the commit; the transaction's queries are pipelined, and
 * the commit is durable when it returns (`synchronous_commit = on`, connection.ts).
 * @module
 */
import type postgres from 'postgres'
import type { AbortOptions } from '../../../ports/common.ts'
import type { AppendResult, LogEntry, LogStore, NodeRef, SignHead, StoredCheckpoint } from '../../../ports/log.ts'
import type { StoredNode } from '../../../core/log/merkle.ts'
import { frontierRefs, logEntries, logLevel, logNodeRefs, logRange, planAppend } from '../log-append.ts'
import { badRecord } from '../validate.ts'
import { bytea, fromBytea } from './connection.ts'
import type { PgConnection, Q, Row } from './connection.ts'

const LOG_LOCK = 'milagro-dta/transparency-log'

async function readCheckpoint (q: Q): Promise<StoredCheckpoint | undefined> {
  const [row] = await q`SELECT size, root, note FROM log_checkpoint WHERE id = 1`
  return row === undefined ? undefined : { size: (row as Row).size as number, root: fromBytea((row as Row).root), note: (row as Row).note as string }
}

/** The stored nodes of `refs`, by "level/index". */
async function readNodes (q: Q, refs: readonly NodeRef[]): Promise<Map<string, Uint8Array>> {
  const found = new Map<string, Uint8Array>()
  if (refs.length === 0) return found
  const values = refs.map((_, i) => `($${2 * i + 1}::smallint, $${2 * i + 2}::bigint)`).join(', ')
  const rows = await q.unsafe(`SELECT n.level, n.idx, n.hash FROM (VALUES ${values}) AS r (level, idx) JOIN log_nodes n ON n.level = r.level AND n.idx = r.idx`,
    refs.flatMap(r => [r.level, r.index]))
  for (const row of rows) found.set(`${(row as Row).level as number}/${(row as Row).idx as number}`, fromBytea((row as Row).hash))
  return found
}

export function createPgLogStore (conn: PgConnection): LogStore {
  return {
    async append (entries: readonly LogEntry[], sign: SignHead, options?: AbortOptions): Promise<AppendResult> {
      const batch = logEntries(entries)
      return await conn.run(options, async q => await conn.tx(q, async tx => {
        await conn.lock(tx, LOG_LOCK)
        const [checkpoint, [count], known] = await Promise.all([
          readCheckpoint(tx),
          tx`SELECT coalesce(max(idx) + 1, 0) AS n FROM log_leaves`,
          batch.length === 0 ? Promise.resolve([]) : tx`SELECT key, idx FROM log_leaves WHERE key = ANY(${batch.map(e => e.key)})`,
        ])
        const leafCount = (count as Row).n as number
        const refs = frontierRefs(leafCount)
        const hashes = await readNodes(tx, refs)
        const frontier: StoredNode[] = refs.flatMap(r => {
          const hash = hashes.get(`${r.level}/${r.index}`)
          return hash === undefined ? [] : [{ ...r, hash }]
        })
        const existing = new Map<string, number>(known.map(r => [(r as Row).key as string, (r as Row).idx as number]))
        const plan = planAppend(batch, { checkpoint, leafCount, frontier, existing })
        const sql = tx as unknown as postgres.Sql
        // in index order: the table's trigger refuses a leaf out of order
        for (let i = 0; i < plan.leaves.length; i += 500) {
          const rows = plan.leaves.slice(i, i + 500).map(l => ({ idx: l.index, key: l.key, data: bytea(l.data) }))
          await sql`INSERT INTO log_leaves ${sql(rows, 'idx', 'key', 'data')}`
        }
        for (let i = 0; i < plan.nodes.length; i += 1000) {
          const rows = plan.nodes.slice(i, i + 1000).map(n => ({ level: n.level, idx: n.index, hash: bytea(n.hash) }))
          await sql`INSERT INTO log_nodes ${sql(rows, 'level', 'idx', 'hash')}`
        }
        if (plan.head === undefined) return { indexes: plan.indexes, checkpoint: checkpoint! }
        const note = sign(plan.head)
        if (typeof note !== 'string' || note.length === 0) throw badRecord('the signed checkpoint must be a note')
        await tx`INSERT INTO log_checkpoint (id, size, root, note) VALUES (1, ${plan.head.size}, ${bytea(plan.head.root)}, ${note})
          ON CONFLICT (id) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note`
        return { indexes: plan.indexes, checkpoint: { ...plan.head, note } }
      }))
    },

    async checkpoint (options?: AbortOptions): Promise<StoredCheckpoint | undefined> {
      return await conn.run(options, async q => await readCheckpoint(q))
    },

    async findLeaf (key: string, options?: AbortOptions): Promise<number | undefined> {
      return await conn.run(options, async q => {
        const [row] = await q`SELECT idx FROM log_leaves WHERE key = ${String(key)}`
        return row === undefined ? undefined : (row as Row).idx as number
      })
    },

    async leaves (start: number, end: number, options?: AbortOptions): Promise<Uint8Array[]> {
      return await conn.run(options, async q => {
        const r = logRange(start, end)
        const rows = await q`SELECT data FROM log_leaves WHERE idx >= ${r.start} AND idx < ${r.end} ORDER BY idx`
        return rows.map(row => fromBytea((row as Row).data))
      })
    },

    async nodes (refs: readonly NodeRef[], options?: AbortOptions): Promise<Array<Uint8Array | undefined>> {
      return await conn.run(options, async q => {
        const checked = logNodeRefs(refs)
        const found = await readNodes(q, checked)
        return checked.map(r => found.get(`${r.level}/${r.index}`))
      })
    },

    async level (level: number, start: number, end: number, options?: AbortOptions): Promise<Uint8Array[]> {
      return await conn.run(options, async q => {
        const l = logLevel(level)
        const r = logRange(start, end)
        const rows = await q`SELECT hash FROM log_nodes WHERE level = ${l} AND idx >= ${r.start} AND idx < ${r.end} ORDER BY idx`
        return rows.map(row => fromBytea((row as Row).hash))
      })
    },
  }
}
