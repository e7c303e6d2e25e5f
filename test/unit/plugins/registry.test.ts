/**
 * The plugin registry: the shipped plugins by their config names, every name in the config enum
 * registered, the example plugin not shipped, an unknown name refused with PLUGIN_UNKNOWN.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isDtaError } from '../../../src/errors.ts'
import { PluginsSchema } from '../../../src/config/schema.ts'
import { createPlugin, PLUGINS } from '../../../src/plugins/registry.ts'

test('the shipped plugins, by name, each a fresh object with every hook', () => {
  assert.deepEqual(Object.keys(PLUGINS).sort(), ['bitcoinwallet', 'milagro', 'safeguardsecret'])
  for (const name of Object.keys(PLUGINS)) {
    const plugin = createPlugin(name)
    assert.equal(plugin.name, name)
    for (const hook of ['prepareOrder', 'checkOrder', 'completeOrder', 'prepareRedemption', 'checkRedemption', 'completeRedemption'] as const) {
      assert.equal(typeof plugin[hook], 'function', `${name}.${hook}`)
    }
    assert.notEqual(createPlugin(name), plugin)
  }
})

test('the config enum and the registry name the same plugins', () => {
  const values = (PluginsSchema.properties.service as unknown as { enum: string[] }).enum
  assert.deepEqual([...values].sort(), Object.keys(PLUGINS).sort())
})

test('unknown names, including the example plugin, are PLUGIN_UNKNOWN', () => {
  for (const name of ['notary', 'Milagro', '', 'toString', '__proto__']) {
    assert.throws(() => createPlugin(name), (err: unknown) => isDtaError(err, 'PLUGIN_UNKNOWN'), name)
  }
})

test('every registered plugin describes itself and its extension fields, and takes the fields it describes', async () => {
  for (const name of Object.keys(PLUGINS)) {
    const plugin = createPlugin(name)
    assert.ok(plugin.description.length > 20, name)
    for (const list of Object.values(plugin.extensionFields)) {
      for (const field of list) assert.match(field.name, /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, `${name}: ${field.name}`)
    }
    // an order request with every required field at its example is accepted by prepareOrder
    const extension = Object.fromEntries(plugin.extensionFields.order.filter(f => f.required === true).map(f => [f.name, f.example ?? 'x']))
    await plugin.prepareOrder(undefined as never, { reference: '0'.repeat(32), extension })
  }
})
