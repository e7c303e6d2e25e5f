/**
 * Sealed seeds in SQLite: `insertSeed` for the identity and order repositories, which store a seed
 * in the same transaction as the row that refers to it (PROTOCOL §6: a fiduciary order row never
 * exists without its seed — the schema's FOREIGN KEY and CHECK enforce it too), and the reads and
 * the one update (a re-seal under another KEK) custody migration needs. Seeds arrive already
 * sealed by custody; nothing here ever sees a plaintext seed.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import { DtaError } from '../../../errors.ts'
import type { SealedSeed, SeedQuery, SeedRepository } from '../../../ports/state.ts'
import { pageArgs, sealedBytes, seedCursor } from '../validate.ts'
import { writeAudit } from './audit.ts'
import type { SqliteConnection } from './connection.ts'
import { SEED_COLUMNS, toSeed } from './rows.ts'
import type { Row } from './rows.ts'

/** Stores a sealed seed and its `seed.created` entry; call inside the transaction of the row that refers to it. */
export function insertSeed (conn: SqliteConnection, recordId: string, sealed: { sealed: Uint8Array, keyId: string }, actor: string): void {
  if (conn.stmt('SELECT 1 AS x FROM sealed_seeds WHERE record_id = ?').get(recordId) !== undefined) {
    throw new DtaError('STATE_SEED_EXISTS', recordId)
  }
  const now = conn.now()
  conn.stmt('INSERT INTO sealed_seeds (record_id, sealed, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
    .run(recordId, sealed.sealed, sealed.keyId, now, now)
  writeAudit(conn, 'seed.created', recordId, actor, null)
}

export function createSeedRepository (conn: SqliteConnection): SeedRepository {
  return {
    async getSeed (recordId: string, options?: AbortOptions): Promise<SealedSeed | undefined> {
      return await conn.run(options, () => {
        const row = conn.stmt(`SELECT ${SEED_COLUMNS} FROM sealed_seeds WHERE record_id = ?`).get(recordId)
        return row === undefined ? undefined : toSeed(row as Row)
      })
    },

    async resealSeed (recordId: string, newSealed: Uint8Array, expectedOldKeyId?: string, options?: AbortOptions): Promise<SealedSeed> {
      return await conn.run(options, db => {
        const next = sealedBytes(newSealed, 'newSealed')
        return conn.tx(db, () => {
          const row = conn.stmt(`SELECT ${SEED_COLUMNS} FROM sealed_seeds WHERE record_id = ?`).get(recordId)
          if (row === undefined) throw new DtaError('STATE_SEED_NOT_FOUND', recordId)
          const old = toSeed(row as Row)
          if (expectedOldKeyId !== undefined && old.keyId !== expectedOldKeyId) {
            throw new DtaError('STATE_SEED_KEY_MISMATCH', `${recordId} is under key ${old.keyId}`)
          }
          const now = conn.now()
          conn.stmt('UPDATE sealed_seeds SET sealed = ?, key_id = ?, updated_at = ? WHERE record_id = ?')
            .run(next.sealed, next.keyId, now, recordId)
          writeAudit(conn, 'seed.resealed', recordId, null, `key ${old.keyId} -> ${next.keyId}`)
          return { recordId, sealed: next.sealed, keyId: next.keyId, createdAt: old.createdAt, updatedAt: now }
        })
      })
    },

    async listSeeds (query: SeedQuery, options?: AbortOptions): Promise<SealedSeed[]> {
      return await conn.run(options, () => {
        const { limit } = pageArgs({ page: 1, perPage: query.limit })
        const after = seedCursor(query.after)
        // Keyset paging on the primary key: re-sealing listed records neither skips nor repeats any.
        const rows = query.excludeKeyId === undefined
          ? conn.stmt(`SELECT ${SEED_COLUMNS} FROM sealed_seeds
              WHERE record_id > ? ORDER BY record_id LIMIT ?`).all(after, limit)
          : conn.stmt(`SELECT ${SEED_COLUMNS} FROM sealed_seeds
              WHERE record_id > ? AND key_id <> ? ORDER BY record_id LIMIT ?`).all(after, query.excludeKeyId, limit)
        return rows.map(row => toSeed(row as Row))
      })
    }
  }
}
