/**
 * The plugins this build ships, by the name used in config `plugins.service`. An explicit map:
 * no registration by import side effect, no autoloading (CONVENTIONS §10).
 * @module
 */
import { DtaError } from '../core/errors.ts'
import type { Plugin } from '../ports/plugin.ts'
import { milagroPlugin } from './milagro/index.ts'

export const PLUGINS: Readonly<Record<string, () => Plugin>> = {
  milagro: milagroPlugin,
}

export function createPlugin (name: string): Plugin {
  const factory = PLUGINS[name]
  if (factory === undefined) throw new DtaError('PLUGIN_UNKNOWN', `${name} (known: ${Object.keys(PLUGINS).join(', ')})`)
  return factory()
}
