/**
 * Identities in PostgreSQL: ours (with a root seed sealed by custody, stored in the same
 * transaction as the identity row) and foreign ones we only know by CID. At most one is the node
 * identity, and it has a seed — checked here for a clear error, and enforced by the schema
 * (migrations.ts). Two replicas inserting one CID: the second waits on the CID's lock
 * (connection.ts), then answers as for any duplicate.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import { DtaError } from '../../../errors.ts'
import { identitySeedRecordId } from '../../../ports/state.ts'
import type { IdentityRecord, IdentityRepository, NewIdentity, PageRequest } from '../../../ports/state.ts'
import { badRecord, identityName, pageArgs, sealedBytes, text, time } from '../validate.ts'
import type { PgConnection, Q, Row } from './connection.ts'
import { IDENTITY_SELECT, toIdentity } from './rows.ts'
import { insertSeed } from './seeds.ts'

async function getIdentity (q: Q, cid: string): Promise<IdentityRecord | undefined> {
  const [row] = await q.unsafe(`${IDENTITY_SELECT} WHERE i.cid = $1`, [cid], { prepare: true })
  return row === undefined ? undefined : toIdentity(row as Row)
}

export function createIdentityRepository (conn: PgConnection): IdentityRepository {
  return {
    async insertIdentity (identity: NewIdentity, options?: AbortOptions): Promise<IdentityRecord> {
      return await conn.run(options, async q => {
        const cid = text(identity.cid, 'cid')
        const name = identityName(identity.name)
        const createdAt = time(identity.createdAt, 'createdAt')
        const isNode = identity.isNodeIdentity === true
        const seed = identity.sealedRootSeed === null ? null : sealedBytes(identity.sealedRootSeed, 'sealedRootSeed')
        if (isNode && seed === null) throw badRecord('the node identity needs a sealed root seed')
        return await conn.tx(q, async tx => {
          await conn.lock(tx, identitySeedRecordId(cid))
          if (isNode) await conn.lock(tx, 'node-identity')
          const existing = await getIdentity(tx, cid)
          if (existing !== undefined) {
            if (seed === null && existing.sealedRootSeed === null && !isNode) return existing
            throw new DtaError('STATE_IDENTITY_EXISTS', cid)
          }
          if (isNode && (await tx`SELECT 1 FROM identities WHERE is_node`).length > 0) throw new DtaError('STATE_NODE_IDENTITY_EXISTS')
          let recordId: string | null = null
          if (seed !== null) {
            recordId = identitySeedRecordId(cid)
            await insertSeed(conn, tx, recordId, seed, cid)
          }
          await tx`INSERT INTO identities (cid, name, created_at, seed_record_id, is_node) VALUES (${cid}, ${name}, ${createdAt}, ${recordId}, ${isNode})`
          return { cid, name, createdAt, sealedRootSeed: seed?.sealed ?? null, isNodeIdentity: isNode }
        })
      })
    },

    async getIdentity (cid: string, options?: AbortOptions): Promise<IdentityRecord | undefined> {
      return await conn.run(options, async q => await getIdentity(q, cid))
    },

    async getNodeIdentity (options?: AbortOptions): Promise<IdentityRecord | undefined> {
      return await conn.run(options, async q => {
        const [row] = await q.unsafe(`${IDENTITY_SELECT} WHERE i.is_node`, [], { prepare: true })
        return row === undefined ? undefined : toIdentity(row as Row)
      })
    },

    async listIdentities (page: PageRequest & { includeForeign?: boolean }, options?: AbortOptions): Promise<IdentityRecord[]> {
      return await conn.run(options, async q => {
        const { limit, offset, desc } = pageArgs(page)
        const where = page.includeForeign === true ? '' : 'WHERE i.seed_record_id IS NOT NULL'
        const order = desc ? 'i.created_at DESC, i.seq DESC' : 'i.created_at ASC, i.seq ASC'
        const rows = await q.unsafe(`${IDENTITY_SELECT} ${where} ORDER BY ${order} LIMIT $1 OFFSET $2`, [limit, offset], { prepare: true })
        return rows.map(row => toIdentity(row as Row))
      })
    },

    async countIdentities (filter?: { includeForeign?: boolean }, options?: AbortOptions): Promise<number> {
      return await conn.run(options, async q => {
        const where = filter?.includeForeign === true ? '' : 'WHERE seed_record_id IS NOT NULL'
        const [row] = await q.unsafe(`SELECT count(*) AS n FROM identities ${where}`, [], { prepare: true })
        return (row as Row).n as number
      })
    }
  }
}
