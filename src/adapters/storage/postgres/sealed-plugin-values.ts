/**
 * Custody migration's view of the plugin stores in PostgreSQL: the `plugin_kv` byte values that
 * are sealed custody records (version byte 1, at least header + tag long — tested in SQL, so the
 * listing reads only those rows), listed by key id and re-sealed in place.
 * @module
 */
import type { AbortOptions } from '../../../ports/common.ts'
import { DtaError } from '../../../errors.ts'
import { SEALED_KEY_ID_BYTES, SEALED_MIN_BYTES, SEALED_VERSION, sealedRecordKeyId } from '../../../core/sealed-record.ts'
import { pluginSealRecordId } from '../../../ports/state.ts'
import type { SealedPluginValue, SealedPluginValueQuery, SealedPluginValues } from '../../../ports/state.ts'
import { pageArgs, pluginValueCursor, sealedBytes } from '../validate.ts'
import { writeAudit } from './audit.ts'
import { bytea, fromBytea } from './connection.ts'
import type { PgConnection, Row } from './connection.ts'

export function createSealedPluginValues (conn: PgConnection): SealedPluginValues {
  return {
    async listSealedPluginValues (query: SealedPluginValueQuery, options?: AbortOptions): Promise<SealedPluginValue[]> {
      return await conn.run(options, async q => {
        const { limit } = pageArgs({ page: 1, perPage: query.limit })
        const after = pluginValueCursor(query.after)
        const exclude = query.excludeKeyId === undefined ? null : String(query.excludeKeyId).toLowerCase()
        const rows = await q`SELECT plugin, key, bytes FROM plugin_kv
          WHERE bytes IS NOT NULL AND length(bytes) >= ${SEALED_MIN_BYTES} AND get_byte(bytes, 0) = ${SEALED_VERSION}
            AND (plugin, key) > (${after.plugin}, ${after.key})
            AND (${exclude}::text IS NULL OR encode(substring(bytes FROM 2 FOR ${SEALED_KEY_ID_BYTES}), 'hex') <> ${exclude}::text)
          ORDER BY plugin, key LIMIT ${limit}`
        return rows.map(row => {
          const r = row as Row
          const sealed = fromBytea(r.bytes)
          return { plugin: r.plugin as string, key: r.key as string, sealed, keyId: sealedRecordKeyId(sealed) }
        })
      })
    },

    async resealPluginValue (plugin: string, key: string, newSealed: Uint8Array, expectedOldKeyId: string, options?: AbortOptions): Promise<void> {
      await conn.run(options, async q => {
        const next = sealedBytes(newSealed, 'newSealed')
        await conn.tx(q, async tx => {
          const [row] = await tx`SELECT bytes FROM plugin_kv WHERE plugin = ${plugin} AND key = ${key} FOR UPDATE`
          const recordId = pluginSealRecordId(plugin, key)
          if (row === undefined) throw new DtaError('STATE_SEED_NOT_FOUND', recordId)
          const old = (row as Row).bytes === null ? undefined : fromBytea((row as Row).bytes)
          let oldKeyId: string | undefined
          if (old !== undefined && old[0] === SEALED_VERSION) {
            try { oldKeyId = sealedRecordKeyId(old) } catch { oldKeyId = undefined }
          }
          if (oldKeyId !== expectedOldKeyId) {
            throw new DtaError('STATE_SEED_KEY_MISMATCH', `${recordId} is ${oldKeyId === undefined ? 'not a sealed record' : `under key ${oldKeyId}`}`)
          }
          await tx`UPDATE plugin_kv SET bytes = ${bytea(next.sealed)} WHERE plugin = ${plugin} AND key = ${key}`
          await writeAudit(conn, tx, 'seed.resealed', recordId, null, `key ${oldKeyId} -> ${next.keyId}`)
        })
      })
    }
  }
}
