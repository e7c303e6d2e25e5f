/**
 * The console's modules joined into one (src/http/console-bundle.ts):
 * - the result runs as the modules would: named, aliased and default imports, `export { … }`,
 *   re-exports, each module run once and before its importers (evaluated here as an ES module);
 * - what it cannot rewrite safely makes it throw: an import cycle, a bare or absolute specifier, a
 *   target that is not a console file, `export let`/`var`/`*`, a dynamic or a side-effect import.
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { bundleModules } from '../../../src/http/console-bundle.ts'

function bundleOf (files: Record<string, string>, entries: string[]): string {
  return bundleModules(entries, name => files[name]!, name => name in files)
}

async function run (code: string): Promise<Record<string, unknown>> {
  return await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`) as Record<string, unknown>
}

describe('the console bundle', () => {
  it('runs each module once, dependencies first, with every import and export form the console uses', async () => {
    const files = {
      'vendor/lib.mjs': 'var n=1,o=function(){return"lib"};globalThis.__order.push("lib");export{o as name,n as one};\n//# sourceMappingURL=lib.mjs.map',
      'vendor/def.mjs': 'var t=new Map;export default function(s){return"def:"+s}',
      'vendor/uses.mjs': 'import{one as n}from"./lib.mjs";globalThis.__order.push("uses");var u=function(){return n+1};export{u as two};',
      'lib/a.js': "import { name, one as uno } from '../vendor/lib.mjs'\nimport def from '../vendor/def.mjs'\nexport { two } from '../vendor/uses.mjs'\nglobalThis.__order.push('a')\nexport const A = `${name()} ${uno} ${def('x')}`\nexport function f () { return 'f' }\nexport class K {}\nconst hidden = 1\nexport { hidden as shown }\n",
      'main.js': "import { A, f, two, K, shown } from './lib/a.js'\nimport { name } from './vendor/lib.mjs'\nglobalThis.__order.push('main')\nglobalThis.__result = { A, f: f(), two: two(), k: typeof K, shown, name: name() }\n",
    }
    const code = bundleOf(files, ['main.js'])
    ;(globalThis as Record<string, unknown>).__order = []
    await run(code)
    const g = globalThis as unknown as { __order: string[], __result: unknown }
    assert.deepEqual(g.__order, ['lib', 'uses', 'a', 'main'])
    assert.deepEqual(g.__result, { A: 'lib 1 def:x', f: 'f', two: 2, k: 'function', shown: 1, name: 'lib' })
    assert.doesNotMatch(code, /sourceMappingURL/)
  })

  it('refuses what it cannot rewrite safely', () => {
    const refused: Array<[string, Record<string, string>]> = [
      ['cycle', { 'a.js': "import { b } from './b.js'\nexport const a = 1", 'b.js': "import { a } from './a.js'\nexport const b = 2" }],
      ['bare', { 'a.js': "import { h } from 'preact'\nexport const a = 1" }],
      ['absolute', { 'a.js': "import { h } from '/ui/b.js'\nexport const a = 1", '/ui/b.js': 'export const h = 1' }],
      ['missing', { 'a.js': "import { h } from './nothing.js'\nexport const a = 1" }],
      ['escape', { 'a.js': "import { h } from '../../etc/x.js'\nexport const a = 1" }],
      ['let', { 'a.js': 'export let a = 1' }],
      ['var', { 'a.js': 'export var a = 1' }],
      ['star', { 'a.js': "export * from './b.js'", 'b.js': 'export const b = 1' }],
      ['namespace', { 'a.js': "import * as b from './b.js'\nexport const a = b", 'b.js': 'export const b = 1' }],
      ['side effect', { 'a.js': "import './b.js'\nexport const a = 1", 'b.js': 'export const b = 1' }],
      ['dynamic', { 'a.js': "export const a = 1;import('./b.js')", 'b.js': 'export const b = 1' }],
      ['two defaults', { 'a.js': 'export default 1;export default 2' }],
    ]
    for (const [what, files] of refused) {
      assert.throws(() => bundleOf(files, ['a.js']), (err: Error & { code?: string }) => err.code === 'INTERNAL' && /console bundle/.test(err.message), what)
    }
  })
})
