/**
 * What this node remembers of other nodes' logs, in SQLite (src/ports/log.ts CheckpointStore):
 * the newest checkpoint verified per origin — a compare-and-set on its size, so two concurrent
 * checks cannot replace a newer checkpoint by an older one — and the evidence of a log that
 * misbehaved. Both tables refuse, by trigger, any change that would forget: a seen checkpoint
 * never goes back, evidence is never changed or removed.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import type { CheckpointStore, EvidenceKind, LogEvidence, NewSeenCheckpoint, SeenCheckpoint } from '../../../ports/log.ts'
import { HASH_BYTES } from '../../../core/log/merkle.ts'
import { badRecord, MAX_DETAIL, text } from '../validate.ts'
import type { SqliteConnection } from './connection.ts'
import type { Row } from './rows.ts'

const MAX_NOTE = 16 * 1024
const KINDS: readonly EvidenceKind[] = ['fork', 'rollback']

function toSeen (row: Row): SeenCheckpoint {
  return {
    origin: row.origin as string,
    size: row.size as number,
    root: row.root as Uint8Array,
    note: row.note as string,
    keyDocumentCid: row.key_document_cid as string,
    updatedAt: row.updated_at as number,
  }
}

function checkSeen (next: NewSeenCheckpoint): NewSeenCheckpoint {
  text(next.origin, 'origin')
  text(next.note, 'note', MAX_NOTE)
  text(next.keyDocumentCid, 'keyDocumentCid')
  if (!Number.isSafeInteger(next.size) || next.size < 0) throw badRecord('size must be a non-negative integer')
  if (!(next.root instanceof Uint8Array) || next.root.length !== HASH_BYTES) throw badRecord('root must be 32 bytes')
  return next
}

export function createCheckpointStore (conn: SqliteConnection): CheckpointStore {
  const SELECT = 'SELECT origin, size, root, note, key_document_cid, updated_at FROM log_seen WHERE origin = ?'
  return {
    async seen (origin: string, options?: AbortOptions): Promise<SeenCheckpoint | undefined> {
      return await conn.run(options, () => {
        const row = conn.stmt(SELECT).get(String(origin)) as Row | undefined
        return row === undefined ? undefined : toSeen(row)
      })
    },

    async recordSeen (next: NewSeenCheckpoint, expectedSize: number | null, options?: AbortOptions): Promise<boolean> {
      return await conn.run(options, db => {
        const c = checkSeen(next)
        return conn.tx(db, () => {
          const row = conn.stmt(SELECT).get(c.origin) as Row | undefined
          const stored = row === undefined ? undefined : toSeen(row)
          if ((stored?.size ?? null) !== expectedSize) return false
          if (stored !== undefined && (c.size < stored.size || (c.size === stored.size && Buffer.compare(c.root, stored.root) !== 0))) {
            throw badRecord('a seen checkpoint never goes back')
          }
          conn.stmt(`INSERT INTO log_seen (origin, size, root, note, key_document_cid, updated_at) VALUES (?, ?, ?, ?, ?, ?)
              ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note,
                key_document_cid = excluded.key_document_cid, updated_at = excluded.updated_at`)
            .run(c.origin, c.size, c.root, c.note, c.keyDocumentCid, conn.now())
          return true
        })
      })
    },

    async recordEvidence (evidence: Omit<LogEvidence, 'id' | 'at'>, options?: AbortOptions): Promise<LogEvidence> {
      return await conn.run(options, () => {
        const origin = text(evidence.origin, 'origin')
        if (!KINDS.includes(evidence.kind)) throw badRecord(`kind must be one of ${KINDS.join(', ')}`)
        const first = text(evidence.first, 'first', MAX_NOTE)
        const second = text(evidence.second, 'second', MAX_NOTE)
        const detail = evidence.detail == null ? null : text(evidence.detail, 'detail', MAX_DETAIL)
        const at = conn.now()
        const r = conn.stmt('INSERT INTO log_evidence (at, origin, kind, first, second, detail) VALUES (?, ?, ?, ?, ?, ?)').run(at, origin, evidence.kind, first, second, detail)
        return { id: Number(r.lastInsertRowid), at, origin, kind: evidence.kind, first, second, detail }
      })
    },

    async listEvidence (query: { origin?: string, limit: number }, options?: AbortOptions): Promise<LogEvidence[]> {
      return await conn.run(options, () => {
        if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > 100) throw badRecord('limit must be 1..100')
        const rows = query.origin === undefined
          ? conn.stmt('SELECT id, at, origin, kind, first, second, detail FROM log_evidence ORDER BY id LIMIT ?').all(query.limit)
          : conn.stmt('SELECT id, at, origin, kind, first, second, detail FROM log_evidence WHERE origin = ? ORDER BY id LIMIT ?').all(String(query.origin), query.limit)
        return rows.map(row => {
          const r = row as Row
          return { id: r.id as number, at: r.at as number, origin: r.origin as string, kind: r.kind as EvidenceKind, first: r.first as string, second: r.second as string, detail: r.detail as string | null }
        })
      })
    },
  }
}
