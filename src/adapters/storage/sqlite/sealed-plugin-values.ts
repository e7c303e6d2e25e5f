/**
 * Custody migration's view of the plugin stores in SQLite: the `plugin_kv` values that are sealed
 * custody records (a plugin such as bitcoinwallet seals a secret under `pluginSealRecordId(plugin,
 * key)` and stores it under that key), listed by key id and re-sealed in place. A value counts as
 * sealed when it is a BLOB shaped like a record — version byte 1, at least header + tag long —
 * which the query tests in SQL, so the listing reads only those rows.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import { DtaError } from '../../../errors.ts'
import { SEALED_KEY_ID_BYTES, SEALED_MIN_BYTES, SEALED_VERSION, sealedRecordKeyId } from '../../../core/sealed-record.ts'
import { pluginSealRecordId } from '../../../ports/state.ts'
import type { SealedPluginValue, SealedPluginValueQuery, SealedPluginValues } from '../../../ports/state.ts'
import { pageArgs, pluginValueCursor, sealedBytes } from '../validate.ts'
import { writeAudit } from './audit.ts'
import type { SqliteConnection } from './connection.ts'
import type { Row } from './rows.ts'

export function createSealedPluginValues (conn: SqliteConnection): SealedPluginValues {
  return {
    async listSealedPluginValues (query: SealedPluginValueQuery, options?: AbortOptions): Promise<SealedPluginValue[]> {
      return await conn.run(options, () => {
        const { limit } = pageArgs({ page: 1, perPage: query.limit })
        const after = pluginValueCursor(query.after)
        const exclude = query.excludeKeyId === undefined ? null : String(query.excludeKeyId).toLowerCase()
        // Values shaped like a sealed record: bytes, version 1, at least header + tag long.
        const rows = conn.stmt(`SELECT plugin, key, value FROM plugin_kv
            WHERE typeof(value) = 'blob' AND length(value) >= ? AND substr(value, 1, 1) = x'01'
              AND (plugin, key) > (?, ?) AND (? IS NULL OR lower(hex(substr(value, 2, ?))) <> ?)
            ORDER BY plugin, key LIMIT ?`)
          .all(SEALED_MIN_BYTES, after.plugin, after.key, exclude, SEALED_KEY_ID_BYTES, exclude, limit)
        return rows.map(row => {
          const r = row as Row
          const sealed = r.value as Uint8Array
          return { plugin: r.plugin as string, key: r.key as string, sealed, keyId: sealedRecordKeyId(sealed) }
        })
      })
    },

    async resealPluginValue (plugin: string, key: string, newSealed: Uint8Array, expectedOldKeyId: string, options?: AbortOptions): Promise<void> {
      await conn.run(options, db => {
        const next = sealedBytes(newSealed, 'newSealed')
        conn.tx(db, () => {
          const row = conn.stmt('SELECT value FROM plugin_kv WHERE plugin = ? AND key = ?').get(plugin, key) as Row | undefined
          const recordId = pluginSealRecordId(plugin, key)
          if (row === undefined) throw new DtaError('STATE_SEED_NOT_FOUND', recordId)
          const old = row.value
          let oldKeyId: string | undefined
          if (old instanceof Uint8Array && old[0] === SEALED_VERSION) {
            try { oldKeyId = sealedRecordKeyId(old) } catch { oldKeyId = undefined }
          }
          if (oldKeyId !== expectedOldKeyId) {
            throw new DtaError('STATE_SEED_KEY_MISMATCH', `${recordId} is ${oldKeyId === undefined ? 'not a sealed record' : `under key ${oldKeyId}`}`)
          }
          conn.stmt('UPDATE plugin_kv SET value = ? WHERE plugin = ? AND key = ?').run(next.sealed, plugin, key)
          writeAudit(conn, 'seed.resealed', recordId, null, `key ${oldKeyId} -> ${next.keyId}`)
        })
      })
    }
  }
}
