/**
 * The audit trail in SQLite (PROTOCOL §9): `appendAudit`/`listAudit` for the services, and
 * `writeAudit` for the other repositories, which record the custody entries (`seed.created`,
 * `seed.released`, `seed.resealed`) inside the very transaction that makes the change, so an entry
 * exists exactly when its change does. The table is append-only by itself (triggers in
 * migrations.ts), whatever the code does.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import type { AuditEntry, AuditLog, AuditOp, NewAuditEntry } from '../../../ports/state.ts'
import { auditDetail, auditOp, optText, pageArgs } from '../validate.ts'
import type { SqliteConnection } from './connection.ts'
import { toAudit } from './rows.ts'
import type { Row } from './rows.ts'

/** Appends an entry, inside the caller's transaction if there is one. */
export function writeAudit (conn: SqliteConnection, op: AuditOp, reference: string | null, actor: string | null, detail: string | null): AuditEntry {
  const at = conn.now()
  const r = conn.stmt('INSERT INTO audit (at, op, reference, actor, detail) VALUES (?, ?, ?, ?, ?)')
    .run(at, op, reference, actor, detail)
  return { id: Number(r.lastInsertRowid), at, op, reference, actor, detail }
}

export function createAuditLog (conn: SqliteConnection): AuditLog {
  return {
    async appendAudit (entry: NewAuditEntry, options?: AbortOptions): Promise<AuditEntry> {
      return await conn.run(options, () => {
        const op = auditOp(entry.op)
        return writeAudit(conn, op, optText(entry.reference, 'reference'), optText(entry.actor, 'actor'), auditDetail(entry.detail))
      })
    },

    async listAudit (query: { page: number, perPage: number, op?: AuditOp }, options?: AbortOptions): Promise<AuditEntry[]> {
      return await conn.run(options, () => {
        const { limit, offset } = pageArgs(query)
        if (query.op === undefined) {
          return conn.stmt('SELECT id, at, op, reference, actor, detail FROM audit ORDER BY id ASC LIMIT ? OFFSET ?')
            .all(limit, offset).map(row => toAudit(row as Row))
        }
        return conn.stmt('SELECT id, at, op, reference, actor, detail FROM audit WHERE op = ? ORDER BY id ASC LIMIT ? OFFSET ?')
          .all(auditOp(query.op), limit, offset).map(row => toAudit(row as Row))
      })
    },

    async countAudit (filter: { op?: AuditOp } = {}, options?: AbortOptions): Promise<number> {
      return await conn.run(options, () => {
        const row = filter.op === undefined
          ? conn.stmt('SELECT count(*) AS n FROM audit').get()
          : conn.stmt('SELECT count(*) AS n FROM audit WHERE op = ?').get(auditOp(filter.op))
        return (row as Row).n as number
      })
    }
  }
}
