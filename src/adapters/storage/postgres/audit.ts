/**
 * The audit trail in PostgreSQL (PROTOCOL §9): `appendAudit`/`listAudit` for the services, and
 * `writeAudit` for the other repositories, which record the custody entries (`seed.created`,
 * `seed.released`, `seed.resealed`) inside the transaction that makes the change. The table is
 * append-only by itself (triggers in migrations.ts). Ids come from an identity column: increasing,
 * possibly with gaps (a rolled-back insert uses one up).
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import type { AuditEntry, AuditLog, AuditOp, NewAuditEntry } from '../../../ports/state.ts'
import { auditDetail, auditOp, optText, pageArgs } from '../validate.ts'
import type { PgConnection, Q, Row } from './connection.ts'
import { toAudit } from './rows.ts'

/** Appends an entry with `q` (the caller's transaction, or the pool). */
export async function writeAudit (conn: PgConnection, q: Q, op: AuditOp, reference: string | null, actor: string | null, detail: string | null): Promise<AuditEntry> {
  const at = conn.now()
  const [row] = await q`INSERT INTO audit (at, op, reference, actor, detail) VALUES (${at}, ${op}, ${reference}, ${actor}, ${detail}) RETURNING id`
  return { id: (row as Row).id as number, at, op, reference, actor, detail }
}

export function createAuditLog (conn: PgConnection): AuditLog {
  return {
    async appendAudit (entry: NewAuditEntry, options?: AbortOptions): Promise<AuditEntry> {
      return await conn.run(options, async q => {
        const op = auditOp(entry.op)
        return await writeAudit(conn, q, op, optText(entry.reference, 'reference'), optText(entry.actor, 'actor'), auditDetail(entry.detail))
      })
    },

    async listAudit (query: { page: number, perPage: number, op?: AuditOp }, options?: AbortOptions): Promise<AuditEntry[]> {
      return await conn.run(options, async q => {
        const { limit, offset } = pageArgs(query)
        const rows = query.op === undefined
          ? await q`SELECT id, at, op, reference, actor, detail FROM audit ORDER BY id ASC LIMIT ${limit} OFFSET ${offset}`
          : await q`SELECT id, at, op, reference, actor, detail FROM audit WHERE op = ${auditOp(query.op)} ORDER BY id ASC LIMIT ${limit} OFFSET ${offset}`
        return rows.map(row => toAudit(row as Row))
      })
    },

    async countAudit (filter: { op?: AuditOp } = {}, options?: AbortOptions): Promise<number> {
      return await conn.run(options, async q => {
        const [row] = filter.op === undefined
          ? await q`SELECT count(*) AS n FROM audit`
          : await q`SELECT count(*) AS n FROM audit WHERE op = ${auditOp(filter.op)}`
        return (row as Row).n as number
      })
    }
  }
}
