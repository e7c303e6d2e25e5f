/**
 * The one-way import rule (CONVENTIONS habit 13): cli → node → http/config → services/plugins →
 * adapters → core → envelope → crypto → ports and errors. No module imports a higher layer, type
 * imports included (scripts/import-graph.ts prints the graph).
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { importEdges, layerOf, upward } from '../../../scripts/import-graph.ts'

test('no module of src/ imports a higher layer', () => {
  const edges = importEdges()
  assert.ok(edges.length > 100, 'the graph was read')
  for (const e of edges) layerOf(e.from) // every file has a layer
  assert.deepEqual(upward(edges).map(e => `${e.from} → ${e.to}`), [])
})
