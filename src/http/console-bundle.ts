/**
 * The console's modules joined into one, in memory, when the app is built (docs/console.md): the
 * page then loads one script instead of nineteen. Measured on this project's machine (headless
 * Chromium, the order view of a 4-part chain): with the files in the browser's cache, fetching and
 * compiling the 19 modules was the longest step of a load, longer than the node's answers.
 *
 * Not a general bundler — a few rules that the console's own modules and the three vendor modules
 * (preact, its hooks, htm: minified ES modules) follow, checked here, so that a module that breaks
 * one makes building the app fail instead of serving a broken page:
 * - imports are static (no `import()`, no `import.meta`), relative, at the top level, of the forms `import { a, b as c } from '…'`
 *   and `import d from '…'`; no cycle; every target is a served file;
 * - exports are `export function|const|class name`, `export { a, b as c }`,
 *   `export { a, b as c } from '…'` and `export default <expression>` (no `let`/`var`, so an
 *   export never changes after its module ran, and a copy of it is the binding);
 * - each module becomes a function scope run once, dependencies first (the order of `import`),
 *   whose result is its exports: `const __m3 = (() => { const { a, b: c } = __m1; …; return { … } })()`.
 *   Top-level names stay in their module; the bundle is itself a module (strict, deferred).
 * @module
 */
import path from 'node:path'
import { DtaError } from '../errors.ts'

const IMPORT = /^[ \t]*import\s*(?:\{([^}]*)\}|([A-Za-z_$][\w$]*))\s*from\s*(['"])([^'"\n]+)\3[ \t]*;?/gm
const EXPORT_FROM = /^[ \t]*export\s*\{([^}]*)\}\s*from\s*(['"])([^'"\n]+)\2[ \t]*;?/gm
const EXPORT_DECL = /^([ \t]*)export\s+(function|const|class)\s+([A-Za-z_$][\w$]*)/gm
// at a line's start (the console's modules) or after a statement (minified vendor code)
const EXPORT_LIST = /(^|[;}])[ \t]*export\s*\{([^}]*)\}[ \t]*;?/gm
const EXPORT_DEFAULT = /(^|[;}])[ \t]*export\s+default\s+/gm
const SOURCE_MAP = /^\/\/# sourceMappingURL=.*$/gm
/** What is left of an import or export statement once the forms above are rewritten: refused. */
const LEFT = /(^|[;}])[ \t]*(import|export)\b\s*[\w${*'"]|\bimport\s*[(.]/m

interface Binding { readonly local: string, readonly exported: string }

function bindings (list: string, where: string): Binding[] {
  return list.split(',').map(s => s.trim()).filter(s => s !== '').map((item) => {
    const m = /^([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(item)
    if (m === null) throw new DtaError('INTERNAL', `console bundle: ${where}: cannot read "${item}"`)
    return { local: m[1]!, exported: m[2] ?? m[1]! }
  })
}

function resolve (from: string, specifier: string, has: (name: string) => boolean): string {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) throw new DtaError('INTERNAL', `console bundle: ${from} imports "${specifier}", not a relative path`)
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier))
  if (!has(target)) throw new DtaError('INTERNAL', `console bundle: ${from} imports ${specifier}, which is not a console file`)
  return target
}

/**
 * One module running `entries` (in that order) and everything they import, each module once,
 * dependencies first. `source(name)` gives a served module's text; `has(name)` whether it exists.
 */
export function bundleModules (entries: readonly string[], source: (name: string) => string, has: (name: string) => boolean): string {
  const ids = new Map<string, string>()
  const out: string[] = []
  const visiting = new Set<string>()

  const visit = (name: string): string => {
    const known = ids.get(name)
    if (known !== undefined) return known
    if (visiting.has(name)) throw new DtaError('INTERNAL', `console bundle: an import cycle through ${name}`)
    visiting.add(name)
    const exports: string[] = []
    let body = source(name).replace(SOURCE_MAP, '')
    if (/^[ \t]*export\s+(let|var|async|\*)/m.test(body)) throw new DtaError('INTERNAL', `console bundle: ${name} has an export form it does not take`)
    body = body.replace(IMPORT, (_all, list: string | undefined, single: string | undefined, _q, specifier: string) => {
      const dep = visit(resolve(name, specifier, has))
      if (single !== undefined) return `const ${single} = ${dep}.default;`
      return `const { ${bindings(list!, name).map(b => (b.local === b.exported ? b.local : `${b.local}: ${b.exported}`)).join(', ')} } = ${dep};`
    })
    body = body.replace(EXPORT_FROM, (_all, list: string, _q, specifier: string) => {
      const dep = visit(resolve(name, specifier, has))
      for (const b of bindings(list, name)) exports.push(`${b.exported}: ${dep}.${b.local}`)
      return ''
    })
    body = body.replace(EXPORT_DECL, (_all, indent: string, kind: string, id: string) => {
      exports.push(id)
      return `${indent}${kind} ${id}`
    })
    body = body.replace(EXPORT_LIST, (_all, before: string, list: string) => {
      for (const b of bindings(list, name)) exports.push(b.local === b.exported ? b.local : `${b.exported}: ${b.local}`)
      return before
    })
    let defaults = 0
    body = body.replace(EXPORT_DEFAULT, (_all, before: string) => {
      defaults++
      exports.push('default: __default')
      return `${before}const __default = `
    })
    if (defaults > 1 || LEFT.test(body)) throw new DtaError('INTERNAL', `console bundle: ${name} has an import or export it cannot rewrite`)
    const id = `__m${ids.size}`
    ids.set(name, id)
    visiting.delete(name)
    out.push(`// ${name}\nconst ${id} = (() => {\n${body.trimEnd()}\nreturn { ${exports.join(', ')} }\n})()\n`)
    return id
  }

  for (const entry of entries) visit(entry)
  return `// The web console's modules in one (src/http/console-bundle.ts), each in its own scope, dependencies first.\n${out.join('\n')}`
}
