/**
 * The identity API (PROTOCOL §3, §8): create identities held by this node, show any identity
 * document (fetched from IPFS and verified), list the identities this node holds. A created
 * identity is told to `events` (identity.created, its CID only).
 * @module
 */

import type { AbortOptions } from '../ports/common.ts'
import { NO_EVENTS } from '../ports/events.ts'
import type { DomainEvents } from '../ports/events.ts'
import type { StateRepository } from '../ports/state.ts'
import type { IdentityService, IdentityView, ListQuery } from '../ports/api.ts'
import type { Identities } from './identities.ts'

export function createIdentityService (deps: { identities: Identities, state: StateRepository, events?: DomainEvents }): IdentityService {
  const { identities, state } = deps
  const events = deps.events ?? NO_EVENTS
  return {
    async create (name: string, options: AbortOptions = {}) {
      const held = await identities.create(name, options)
      events.emit({ type: 'identity.created', idDocumentCID: held.cid })
      return { idDocumentCID: held.cid }
    },
    async get (cid: string, options: AbortOptions = {}) {
      return await identities.view(cid, options)
    },
    async list (query: ListQuery, options: AbortOptions = {}): Promise<IdentityView[]> {
      const rows = await state.listIdentities({ page: query.page + 1, perPage: query.perPage, sortBy: query.sortBy }, options)
      return await Promise.all(rows.map(async row => await identities.view(row.cid, options)))
    },
    async count (options: AbortOptions = {}) {
      return await state.countIdentities({}, options)
    },
  }
}
