/**
 * The web console's files, served under `/ui` on the API listener (docs/console.md). The console
 * is a few ES modules in console/ (preact + htm, no build step) that call the JSON API from the
 * page; it ships with the package and loads nothing from anywhere else, so it works offline.
 *
 * How the files are served, and why:
 * - every file is read once, when the app is built, into a map from its name under /ui/ to its
 *   bytes and content type: a request is looked up in that map and nothing else — no path from a
 *   request ever reaches the filesystem, so `..`, encoded slashes or a symlink cannot lead
 *   anywhere (a name not in the map is 404 NOT_FOUND). Only known file types are mapped
 *   (.html, .js, .css, .svg, .png), dotfiles never;
 * - preact and htm are served from their npm packages under /ui/vendor/ (the dependency pins
 *   their versions). preact's hooks module imports the bare name "preact", which a browser can
 *   resolve only with an import map — an inline script the console's CSP refuses — so that one
 *   specifier is rewritten to "./preact.mjs" here; if a new preact release changes the module so
 *   that it is not found exactly once, building the app fails instead of serving a broken page;
 * - the static files are public (src/http/auth.ts): a browser cannot send a bearer token when it
 *   navigates, and they hold no data. Every datum comes from the API with the token, if
 *   authentication is on. The Host/Origin guard applies to them as to everything, so a page
 *   under a rebound DNS name is not even served;
 * - the headers (src/http/security-headers.ts): a strict Content-Security-Policy (scripts and
 *   styles from the node only, no inline script, no eval, no framing), nosniff, and
 *   `Cache-Control: no-cache` (revalidated, since a node upgrade changes them).
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { DtaError } from '../errors.ts'

/** Where the console's own files are (console/ at the package root). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

export interface ConsoleAsset { readonly body: Buffer, readonly type: string }

function filesUnder (dir: string, prefix = ''): Array<[string, string]> {
  return readdirSync(dir).sort().flatMap((name): Array<[string, string]> => {
    if (name.startsWith('.')) return []
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) return filesUnder(full, `${prefix}${name}/`)
    return TYPES[path.extname(name)] === undefined ? [] : [[`${prefix}${name}`, full]]
  })
}

/** preact's hooks module with its one bare import made relative (see the module comment). */
function hooksModule (): Buffer {
  const text = readFileSync(fileURLToPath(import.meta.resolve('preact/hooks')), 'utf8')
  const bare = /from\s*"preact"/g
  const found = text.match(bare)?.length ?? 0
  if (found !== 1) throw new DtaError('INTERNAL', `preact/hooks imports "preact" ${found} times; the console expects once`)
  return Buffer.from(text.replace(bare, 'from"./preact.mjs"'))
}

/** Every file the console serves, by its name under /ui/. */
export function loadConsoleAssets (dir = CONSOLE_DIR): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>()
  for (const [name, full] of filesUnder(dir)) assets.set(name, { body: readFileSync(full), type: TYPES[path.extname(name)]! })
  const js = TYPES['.mjs']!
  assets.set('vendor/preact.mjs', { body: readFileSync(fileURLToPath(import.meta.resolve('preact'))), type: js })
  assets.set('vendor/hooks.mjs', { body: hooksModule(), type: js })
  assets.set('vendor/htm.mjs', { body: readFileSync(fileURLToPath(import.meta.resolve('htm'))), type: js })
  if (!assets.has('index.html')) throw new DtaError('INTERNAL', `the console has no index.html in ${dir}`)
  return assets
}

export function registerConsole (app: FastifyInstance, assets: ReadonlyMap<string, ConsoleAsset> = loadConsoleAssets()): void {
  // relative, so that it also works behind a proxy that adds a path prefix
  app.get('/ui', { schema: { hide: true } }, async (_request, reply) => await reply.redirect('ui/', 308))
  app.get('/ui/*', { schema: { hide: true } }, async (request, reply) => {
    const name = (request.params as { '*': string })['*']
    const asset = assets.get(name === '' ? 'index.html' : name)
    if (asset === undefined) throw new DtaError('NOT_FOUND', 'no such console file')
    return await reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body)
  })
}
