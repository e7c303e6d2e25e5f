/**
 * `node scripts/import-graph.ts [--check]`: the import graph of src/ by layer, and every import
 * that goes upward (CONVENTIONS habit 13: cli → node → http → services/plugins/adapters → core →
 * envelope → crypto → ports and errors). Type-only imports count too: a type from a higher layer
 * is still a dependency on it. With --check it exits 1 when an upward import exists (a test runs it).
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src')

/** Lower number = lower layer. A module may import its own layer or lower ones. */
export const LAYERS: Array<[RegExp, number, string]> = [
  [/^cli\//, 8, 'cli'],
  [/^(node|init|wiring)\.ts$/, 7, 'node'],
  [/^http\//, 6, 'http'],
  [/^config\//, 6, 'config'],
  [/^logging\.ts$/, 6, 'logging'],
  [/^(services|plugins)\//, 5, 'services/plugins'],
  [/^adapters\//, 4, 'adapters'],
  [/^core\//, 3, 'core'],
  [/^envelope\//, 2, 'envelope'],
  [/^crypto\//, 1, 'crypto'],
  [/^(ports\/|errors\.ts$|accounting\.ts$)/, 0, 'ports/errors'],
]

export function layerOf (file: string): [number, string] {
  for (const [re, n, name] of LAYERS) if (re.test(file)) return [n, name]
  throw new Error(`no layer for ${file}`)
}

function filesUnder (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const full = path.join(dir, name)
    return statSync(full).isDirectory() ? filesUnder(full) : full.endsWith('.ts') ? [full] : []
  })
}

export interface Edge { from: string, to: string }

export function importEdges (): Edge[] {
  const edges: Edge[] = []
  for (const file of filesUnder(SRC)) {
    const from = path.relative(SRC, file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
      edges.push({ from, to: path.relative(SRC, path.resolve(path.dirname(file), m[1]!)) })
    }
    for (const m of text.matchAll(/import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g)) {
      edges.push({ from, to: path.relative(SRC, path.resolve(path.dirname(file), m[1]!)) })
    }
  }
  return edges
}

export function upward (edges: Edge[]): Edge[] {
  return edges.filter(e => layerOf(e.to)[0] > layerOf(e.from)[0])
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const edges = importEdges()
  const byLayers = new Map<string, number>()
  for (const e of edges) {
    const key = `${layerOf(e.from)[1]} → ${layerOf(e.to)[1]}`
    byLayers.set(key, (byLayers.get(key) ?? 0) + 1)
  }
  console.log('imports between layers (count):')
  for (const [key, n] of [...byLayers].sort()) console.log(`  ${key.padEnd(40)} ${n}`)
  const bad = upward(edges)
  console.log(bad.length === 0 ? 'no upward import' : `${bad.length} upward import(s):`)
  for (const e of bad) console.log(`  ${e.from} → ${e.to}`)
  if (process.argv.includes('--check') && bad.length > 0) process.exit(1)
}
