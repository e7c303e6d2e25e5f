/**
 * Sealed seeds in PostgreSQL: `insertSeed` for the identity and order repositories, which store a
 * seed in the same transaction as the row that refers to it (the schema's FOREIGN KEY and CHECK
 * enforce that too), and the reads and the one update (a re-seal under another KEK) custody
 * migration needs. Seeds arrive already sealed by custody; nothing here sees a plaintext seed.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import { DtaError } from '../../../errors.ts'
import type { SealedSeed, SeedQuery, SeedRepository } from '../../../ports/state.ts'
import { pageArgs, sealedBytes, seedCursor } from '../validate.ts'
import { writeAudit } from './audit.ts'
import { bytea } from './connection.ts'
import type { PgConnection, Q, Row } from './connection.ts'
import { SEED_COLUMNS, toSeed } from './rows.ts'

/** Stores a sealed seed and its `seed.created` entry; call inside the transaction of the row that refers to it. */
export async function insertSeed (conn: PgConnection, tx: Q, recordId: string, sealed: { sealed: Uint8Array, keyId: string }, actor: string): Promise<void> {
  if ((await tx`SELECT 1 FROM sealed_seeds WHERE record_id = ${recordId}`).length > 0) throw new DtaError('STATE_SEED_EXISTS', recordId)
  const now = conn.now()
  // Two transactions inserting one id: the second fails on the primary key and is retried (connection.ts).
  await tx`INSERT INTO sealed_seeds (record_id, sealed, key_id, created_at, updated_at)
    VALUES (${recordId}, ${bytea(sealed.sealed)}, ${sealed.keyId}, ${now}, ${now})`
  await writeAudit(conn, tx, 'seed.created', recordId, actor, null)
}

export function createSeedRepository (conn: PgConnection): SeedRepository {
  return {
    async getSeed (recordId: string, options?: AbortOptions): Promise<SealedSeed | undefined> {
      return await conn.run(options, async q => {
        const [row] = await q.unsafe(`SELECT ${SEED_COLUMNS} FROM sealed_seeds WHERE record_id = $1`, [recordId], { prepare: true })
        return row === undefined ? undefined : toSeed(row as Row)
      })
    },

    async resealSeed (recordId: string, newSealed: Uint8Array, expectedOldKeyId?: string, options?: AbortOptions): Promise<SealedSeed> {
      return await conn.run(options, async q => {
        const next = sealedBytes(newSealed, 'newSealed')
        return await conn.tx(q, async tx => {
          const [row] = await tx.unsafe(`SELECT ${SEED_COLUMNS} FROM sealed_seeds WHERE record_id = $1 FOR UPDATE`, [recordId], { prepare: true })
          if (row === undefined) throw new DtaError('STATE_SEED_NOT_FOUND', recordId)
          const old = toSeed(row as Row)
          if (expectedOldKeyId !== undefined && old.keyId !== expectedOldKeyId) {
            throw new DtaError('STATE_SEED_KEY_MISMATCH', `${recordId} is under key ${old.keyId}`)
          }
          const now = conn.now()
          await tx`UPDATE sealed_seeds SET sealed = ${bytea(next.sealed)}, key_id = ${next.keyId}, updated_at = ${now} WHERE record_id = ${recordId}`
          await writeAudit(conn, tx, 'seed.resealed', recordId, null, `key ${old.keyId} -> ${next.keyId}`)
          return { recordId, sealed: next.sealed, keyId: next.keyId, createdAt: old.createdAt, updatedAt: now }
        })
      })
    },

    async listSeeds (query: SeedQuery, options?: AbortOptions): Promise<SealedSeed[]> {
      return await conn.run(options, async q => {
        const { limit } = pageArgs({ page: 1, perPage: query.limit })
        const after = seedCursor(query.after)
        // Keyset paging on the primary key: re-sealing listed records neither skips nor repeats any.
        const rows = query.excludeKeyId === undefined
          ? await q.unsafe(`SELECT ${SEED_COLUMNS} FROM sealed_seeds WHERE record_id > $1 ORDER BY record_id LIMIT $2`, [after, limit], { prepare: true })
          : await q.unsafe(`SELECT ${SEED_COLUMNS} FROM sealed_seeds WHERE record_id > $1 AND key_id <> $2 ORDER BY record_id LIMIT $3`,
            [after, query.excludeKeyId, limit], { prepare: true })
        return rows.map(row => toSeed(row as Row))
      })
    }
  }
}
