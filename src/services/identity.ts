/**
 * The identity API (PROTOCOL §3, §8): create identities held by this node, show any identity
 * document (fetched from IPFS and verified), list the identities this node holds.
 * @module
 */

import type { AbortOptions } from '../ports/common.ts'
import type { StateRepository } from '../ports/state.ts'
import type { IdentityService, IdentityView, ListQuery } from '../ports/api.ts'
import type { Identities } from './identities.ts'

export function createIdentityService (deps: { identities: Identities, state: StateRepository }): IdentityService {
  const { identities, state } = deps
  return {
    async create (name: string, options: AbortOptions = {}) {
      const held = await identities.create(name, options)
      return { idDocumentCID: held.cid }
    },
    async get (cid: string, options: AbortOptions = {}) {
      return await identities.view(cid, options)
    },
    async list (query: ListQuery, options: AbortOptions = {}): Promise<IdentityView[]> {
      const rows = await state.listIdentities({ page: query.page + 1, perPage: query.perPage, sortBy: query.sortBy }, options)
      return await Promise.all(rows.map(async row => await identities.view(row.cid, options)))
    },
  }
}
