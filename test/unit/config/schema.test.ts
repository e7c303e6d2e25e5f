/**
 * The config schema as documentation: every key is described, has an environment variable and a
 * default its own schema accepts, and docs/configuration.md holds exactly the generated table.
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { Value } from 'typebox/value'
import { ConfigSchema, configMarkdownTable, describeConfig } from '../../../src/config/schema.ts'

const DOC = new URL('../../../docs/configuration.md', import.meta.url)

describe('config schema', () => {
  it('describes every key, with an env variable, a meaning and a valid default', () => {
    const keys = describeConfig()
    assert.deepEqual([...new Set(keys.map(k => k.section))], ['http', 'node', 'log', 'ipfs', 'plugins'])
    for (const k of keys) {
      assert.equal(k.env, `MILAGRO_${k.section.toUpperCase()}_${k.key.toUpperCase()}`)
      assert.ok(k.description.length > 10, `${k.path} has a description`)
      assert.ok(Value.Check(k.schema, k.default), `${k.path}: default ${JSON.stringify(k.default)} is valid`)
    }
    assert.ok(Value.Check(ConfigSchema, Value.Default(ConfigSchema, {})))
    assert.deepEqual(keys.filter(k => k.envOnly).map(k => k.path).sort(), ['http.bearerToken', 'node.databasePassword', 'node.passphrase', 'node.pkcs11Pin'])
    const envs = keys.map(k => k.env)
    assert.equal(new Set(envs).size, envs.length, 'no two keys share a variable')
  })

  it('docs/configuration.md holds the generated table', async () => {
    const text = await readFile(DOC, 'utf8')
    const start = text.indexOf('<!-- config-table:start')
    const end = text.indexOf('<!-- config-table:end -->')
    assert.ok(start >= 0 && end > start, 'markers present')
    const inDoc = text.slice(text.indexOf('\n', start) + 1, end).trim()
    assert.equal(inDoc, configMarkdownTable(),
      'docs/configuration.md is out of step with src/config/schema.ts: paste configMarkdownTable() between the markers')
    for (const k of describeConfig()) assert.ok(text.includes(`\`${k.env}\``))
  })
})
