/**
 * A plugin's own key-value space in SQLite (CONVENTIONS habit 6: a storage view "like a chroot").
 * Every statement binds the plugin's name, fixed when the store is made, so one plugin's store
 * cannot read or write another's; the name, keys and value sizes are checked in validate.ts.
 * @module
 */
import type { PluginStore } from '../../../ports/state.ts'
import { pluginKey, pluginName, pluginValue } from '../validate.ts'
import type { SqliteConnection } from './connection.ts'
import type { Row } from './rows.ts'

/** The scoped store of `plugin`; throws STATE_BAD_RECORD at once for a bad plugin name. */
export function createPluginStore (conn: SqliteConnection, plugin: string): PluginStore {
  pluginName(plugin)
  return {
    plugin,
    get: async (k, options) => await conn.run(options, () => {
      const row = conn.stmt('SELECT value FROM plugin_kv WHERE plugin = ? AND key = ?').get(plugin, pluginKey(k)) as Row | undefined
      return row === undefined ? undefined : row.value as Uint8Array | string
    }),
    put: async (k, value, options) => {
      await conn.run(options, () => {
        pluginValue(value)
        conn.stmt('INSERT INTO plugin_kv (plugin, key, value) VALUES (?, ?, ?) ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value')
          .run(plugin, pluginKey(k), value)
      })
    },
    delete: async (k, options) => await conn.run(options, () =>
      conn.stmt('DELETE FROM plugin_kv WHERE plugin = ? AND key = ?').run(plugin, pluginKey(k)).changes > 0)
  }
}
