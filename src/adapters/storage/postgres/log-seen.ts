/**
 * What this node remembers of other nodes' logs, in PostgreSQL (src/ports/log.ts
 * CheckpointStore), as in SQLite (../sqlite/log-seen.ts): the newest checkpoint verified per
 * origin, by compare-and-set under the row's lock (an advisory lock on the origin for the first
 * one, so two replicas recording it at once serialise), and the evidence of a misbehaving log.
 * The tables refuse, by trigger, any change that would forget.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import type { CheckpointStore, EvidenceKind, LogEvidence, NewSeenCheckpoint, SeenCheckpoint } from '../../../ports/log.ts'
import { HASH_BYTES } from '../../../core/log/merkle.ts'
import { badRecord, MAX_DETAIL, text } from '../validate.ts'
import { bytea, fromBytea } from './connection.ts'
import type { PgConnection, Row } from './connection.ts'

const MAX_NOTE = 16 * 1024
const KINDS: readonly EvidenceKind[] = ['fork', 'rollback']

function toSeen (row: Row): SeenCheckpoint {
  return {
    origin: row.origin as string,
    size: row.size as number,
    root: fromBytea(row.root),
    note: row.note as string,
    keyDocumentCid: row.key_document_cid as string,
    updatedAt: row.updated_at as number,
  }
}

function toEvidence (r: Row): LogEvidence {
  return { id: r.id as number, at: r.at as number, origin: r.origin as string, kind: r.kind as EvidenceKind, first: r.first as string, second: r.second as string, detail: r.detail as string | null }
}

export function createPgCheckpointStore (conn: PgConnection): CheckpointStore {
  return {
    async seen (origin: string, options?: AbortOptions): Promise<SeenCheckpoint | undefined> {
      return await conn.run(options, async q => {
        const [row] = await q`SELECT origin, size, root, note, key_document_cid, updated_at FROM log_seen WHERE origin = ${String(origin)}`
        return row === undefined ? undefined : toSeen(row as Row)
      })
    },

    async recordSeen (next: NewSeenCheckpoint, expectedSize: number | null, options?: AbortOptions): Promise<boolean> {
      const origin = text(next.origin, 'origin')
      const note = text(next.note, 'note', MAX_NOTE)
      const keyDocumentCid = text(next.keyDocumentCid, 'keyDocumentCid')
      if (!Number.isSafeInteger(next.size) || next.size < 0) throw badRecord('size must be a non-negative integer')
      if (!(next.root instanceof Uint8Array) || next.root.length !== HASH_BYTES) throw badRecord('root must be 32 bytes')
      return await conn.run(options, async q => await conn.tx(q, async tx => {
        await conn.lock(tx, `log_seen/${origin}`)
        const [row] = await tx`SELECT origin, size, root, note, key_document_cid, updated_at FROM log_seen WHERE origin = ${origin} FOR UPDATE`
        const stored = row === undefined ? undefined : toSeen(row as Row)
        if ((stored?.size ?? null) !== expectedSize) return false
        if (stored !== undefined && (next.size < stored.size || (next.size === stored.size && Buffer.compare(next.root, stored.root) !== 0))) {
          throw badRecord('a seen checkpoint never goes back')
        }
        await tx`INSERT INTO log_seen (origin, size, root, note, key_document_cid, updated_at)
            VALUES (${origin}, ${next.size}, ${bytea(next.root)}, ${note}, ${keyDocumentCid}, ${conn.now()})
          ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note,
            key_document_cid = excluded.key_document_cid, updated_at = excluded.updated_at`
        return true
      }))
    },

    async recordEvidence (evidence: Omit<LogEvidence, 'id' | 'at'>, options?: AbortOptions): Promise<LogEvidence> {
      const origin = text(evidence.origin, 'origin')
      if (!KINDS.includes(evidence.kind)) throw badRecord(`kind must be one of ${KINDS.join(', ')}`)
      const first = text(evidence.first, 'first', MAX_NOTE)
      const second = text(evidence.second, 'second', MAX_NOTE)
      const detail = evidence.detail == null ? null : text(evidence.detail, 'detail', MAX_DETAIL)
      return await conn.run(options, async q => {
        const at = conn.now()
        const [row] = await q`INSERT INTO log_evidence (at, origin, kind, first, second, detail) VALUES (${at}, ${origin}, ${evidence.kind}, ${first}, ${second}, ${detail})
          RETURNING id, at, origin, kind, first, second, detail`
        return toEvidence(row as Row)
      })
    },

    async listEvidence (query: { origin?: string, limit: number }, options?: AbortOptions): Promise<LogEvidence[]> {
      if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > 100) throw badRecord('limit must be 1..100')
      return await conn.run(options, async q => {
        const rows = query.origin === undefined
          ? await q`SELECT id, at, origin, kind, first, second, detail FROM log_evidence ORDER BY id LIMIT ${query.limit}`
          : await q`SELECT id, at, origin, kind, first, second, detail FROM log_evidence WHERE origin = ${String(query.origin)} ORDER BY id LIMIT ${query.limit}`
        return rows.map(row => toEvidence(row as Row))
      })
    },
  }
}
