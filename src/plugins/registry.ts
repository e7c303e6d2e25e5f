/**
 * The plugins this build ships, by the name used in config `plugins.service`. An explicit map:
 * no registration by import side effect, no autoloading (CONVENTIONS §10). A name added here must
 * also be added to the `plugins.service` enum in src/config/schema.ts. The example plugin
 * (src/plugins/example/) is deliberately not listed.
 * @module
 */
import { DtaError } from '../errors.ts'
import type { Plugin } from '../ports/plugin.ts'
import { bitcoinWalletPlugin } from './bitcoinwallet/index.ts'
import { milagroPlugin } from './milagro/index.ts'
import { safeguardSecretPlugin } from './safeguardsecret/index.ts'

export const PLUGINS: Readonly<Record<string, () => Plugin>> = {
  milagro: milagroPlugin,
  safeguardsecret: safeguardSecretPlugin,
  bitcoinwallet: bitcoinWalletPlugin,
}

export function createPlugin (name: string): Plugin {
  const factory = Object.hasOwn(PLUGINS, name) ? PLUGINS[name] : undefined // not 'toString' & co.
  if (factory === undefined) throw new DtaError('PLUGIN_UNKNOWN', `${name} (known: ${Object.keys(PLUGINS).join(', ')})`)
  return factory()
}
