/**
 * Identities in SQLite: ours (with a root seed sealed by custody, stored in the same transaction
 * as the identity row) and foreign ones we only know by CID. At most one is the node identity, and
 * it has a seed — checked here for a clear error, and enforced by the schema (a CHECK and a
 * partial UNIQUE index, migrations.ts) whatever the code does.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import { DtaError } from '../../../errors.ts'
import { identitySeedRecordId } from '../../../ports/state.ts'
import type { IdentityRecord, IdentityRepository, NewIdentity, PageRequest } from '../../../ports/state.ts'
import { badRecord, identityName, pageArgs, sealedBytes, text, time } from '../validate.ts'
import type { SqliteConnection } from './connection.ts'
import { IDENTITY_SELECT, toIdentity } from './rows.ts'
import type { Row } from './rows.ts'
import { insertSeed } from './seeds.ts'

function getIdentity (conn: SqliteConnection, cid: string): IdentityRecord | undefined {
  const row = conn.stmt(`${IDENTITY_SELECT} WHERE i.cid = ?`).get(cid)
  return row === undefined ? undefined : toIdentity(row as Row)
}

export function createIdentityRepository (conn: SqliteConnection): IdentityRepository {
  return {
    async insertIdentity (identity: NewIdentity, options?: AbortOptions): Promise<IdentityRecord> {
      return await conn.run(options, db => {
        const cid = text(identity.cid, 'cid')
        const name = identityName(identity.name)
        const createdAt = time(identity.createdAt, 'createdAt')
        const isNode = identity.isNodeIdentity === true
        const seed = identity.sealedRootSeed === null ? null : sealedBytes(identity.sealedRootSeed, 'sealedRootSeed')
        if (isNode && seed === null) throw badRecord('the node identity needs a sealed root seed')
        return conn.tx(db, () => {
          const existing = getIdentity(conn, cid)
          if (existing !== undefined) {
            if (seed === null && existing.sealedRootSeed === null && !isNode) return existing
            throw new DtaError('STATE_IDENTITY_EXISTS', cid)
          }
          if (isNode && conn.stmt('SELECT 1 AS x FROM identities WHERE is_node = 1').get() !== undefined) {
            throw new DtaError('STATE_NODE_IDENTITY_EXISTS')
          }
          let recordId: string | null = null
          if (seed !== null) {
            recordId = identitySeedRecordId(cid)
            insertSeed(conn, recordId, seed, cid)
          }
          conn.stmt('INSERT INTO identities (cid, name, created_at, seed_record_id, is_node) VALUES (?, ?, ?, ?, ?)')
            .run(cid, name, createdAt, recordId, isNode ? 1 : 0)
          return { cid, name, createdAt, sealedRootSeed: seed?.sealed ?? null, isNodeIdentity: isNode }
        })
      })
    },

    async getIdentity (cid: string, options?: AbortOptions): Promise<IdentityRecord | undefined> {
      return await conn.run(options, () => getIdentity(conn, cid))
    },

    async getNodeIdentity (options?: AbortOptions): Promise<IdentityRecord | undefined> {
      return await conn.run(options, () => {
        const row = conn.stmt(`${IDENTITY_SELECT} WHERE i.is_node = 1`).get()
        return row === undefined ? undefined : toIdentity(row as Row)
      })
    },

    async listIdentities (page: PageRequest & { includeForeign?: boolean }, options?: AbortOptions): Promise<IdentityRecord[]> {
      return await conn.run(options, () => {
        const { limit, offset, desc } = pageArgs(page)
        const where = page.includeForeign === true ? '' : 'WHERE i.seed_record_id IS NOT NULL'
        const order = desc ? 'i.created_at DESC, i.seq DESC' : 'i.created_at ASC, i.seq ASC'
        return conn.stmt(`${IDENTITY_SELECT} ${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
          .all(limit, offset).map(row => toIdentity(row as Row))
      })
    },

    async countIdentities (filter?: { includeForeign?: boolean }, options?: AbortOptions): Promise<number> {
      return await conn.run(options, () => {
        const where = filter?.includeForeign === true ? '' : 'WHERE seed_record_id IS NOT NULL'
        return (conn.stmt(`SELECT count(*) AS n FROM identities ${where}`).get() as Row).n as number
      })
    }
  }
}
