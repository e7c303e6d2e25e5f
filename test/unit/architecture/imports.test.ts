/**
 * The one-way import rule (CONVENTIONS habit 13): cli → node → http/config → services/plugins →
 * adapters → core → envelope → crypto → ports and errors. No module imports a higher layer, type
 * imports included (scripts/import-graph.ts prints the graph); and one concern per file.
 * @module
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { importEdges, layerOf, upward } from '../../../scripts/import-graph.ts'

test('no module of src/ imports a higher layer', () => {
  const edges = importEdges()
  assert.ok(edges.length > 100, 'the graph was read')
  for (const e of edges) layerOf(e.from) // every file has a layer
  assert.deepEqual(upward(edges).map(e => `${e.from} → ${e.to}`), [])
})

test('no module of src/ is over 450 lines, generated code aside (CONVENTIONS habit 14: one concern per file)', () => {
  const src = fileURLToPath(new URL('../../../src/', import.meta.url))
  const files = (dir: string): string[] => readdirSync(dir).flatMap(name => {
    const full = path.join(dir, name)
    return statSync(full).isDirectory() ? (name === 'gen' ? [] : files(full)) : full.endsWith('.ts') ? [full] : []
  })
  const long = files(src).map(f => [path.relative(src, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 450)
  assert.deepEqual(long, [])
})
