/**
 * A plugin's own key-value space in PostgreSQL (CONVENTIONS habit 6: a storage view "like a
 * chroot"). Every statement binds the plugin's name, fixed when the store is made. A value is
 * bytes or text, kept in the column of its kind (`bytes` / `text`, exactly one set), so it comes
 * back as what was put.
 * @module
 */
import type { PluginStore } from '../../../ports/state.ts'
import { pluginKey, pluginName, pluginValue } from '../validate.ts'
import { bytea, fromBytea } from './connection.ts'
import type { PgConnection, Row } from './connection.ts'

/** The scoped store of `plugin`; throws STATE_BAD_RECORD at once for a bad plugin name. */
export function createPluginStore (conn: PgConnection, plugin: string): PluginStore {
  pluginName(plugin)
  return {
    plugin,
    get: async (k, options) => await conn.run(options, async q => {
      const [row] = await q`SELECT bytes, text FROM plugin_kv WHERE plugin = ${plugin} AND key = ${pluginKey(k)}`
      if (row === undefined) return undefined
      const r = row as Row
      return r.text !== null ? r.text as string : fromBytea(r.bytes)
    }),
    put: async (k, value, options) => {
      await conn.run(options, async q => {
        const v = pluginValue(value)
        const bytes = typeof v === 'string' ? null : bytea(v)
        const text = typeof v === 'string' ? v : null
        await q`INSERT INTO plugin_kv (plugin, key, bytes, text) VALUES (${plugin}, ${pluginKey(k)}, ${bytes}, ${text})
          ON CONFLICT (plugin, key) DO UPDATE SET bytes = excluded.bytes, text = excluded.text`
      })
    },
    delete: async (k, options) => await conn.run(options, async q =>
      (await q`DELETE FROM plugin_kv WHERE plugin = ${plugin} AND key = ${pluginKey(k)} RETURNING 1`).length > 0)
  }
}
