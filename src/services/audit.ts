/**
 * The audit API: lists the node's append-only audit trail of custody operations (PROTOCOL §9) —
 * `identity.created`, `seed.created`, `seed.released`, `seed.resealed`, `order.refused`,
 * `release.refused` — oldest first, paged like the other lists (zero-based `page`). The trail is
 * written only by the state repository and the services, inside the operations it records; the
 * API offers no way to add, change or remove an entry. `op` lists one operation's entries (the
 * console's filter); `count` gives the total the console's pager shows.
 * @module
 */

import type { AbortOptions } from '../ports/common.ts'
import type { StateRepository } from '../ports/state.ts'
import type { AuditEntryView, AuditQuery, AuditService } from '../ports/api.ts'

export function createAuditService (deps: { state: StateRepository }): AuditService {
  const { state } = deps
  return {
    async list (query: AuditQuery, options: AbortOptions = {}): Promise<AuditEntryView[]> {
      const rows = await state.listAudit({ page: query.page + 1, perPage: query.perPage, ...(query.op === undefined ? {} : { op: query.op }) }, options)
      return rows.map(row => ({ id: row.id, at: row.at, op: row.op, reference: row.reference, actor: row.actor, detail: row.detail }))
    },
    async count (query: Pick<AuditQuery, 'op'>, options: AbortOptions = {}): Promise<number> {
      return await state.countAudit(query.op === undefined ? {} : { op: query.op }, options)
    },
  }
}
