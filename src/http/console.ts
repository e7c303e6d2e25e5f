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
 * - index.html loads one script, `console.js`: every module of the console (lib/api.js, main.js and
 *   what they import, the vendor modules included) joined into one when the app is built
 *   (src/http/console-bundle.ts) — one request and one compile instead of nineteen. The modules
 *   stay served under their own names too;
 * - caching: index.html is `no-cache` (revalidated with its ETag: a 304 when unchanged) and names
 *   every other file under `/ui/v/<version>/`, where `<version>` is a hash of all their names and
 *   bytes computed at start; those answers are `public, max-age=31536000, immutable`, so a second
 *   visit takes them from the browser's cache without asking, and an upgrade (new bytes, new
 *   version) is a new folder the page names. Only the current version is served there — an old or
 *   made-up one is 404, as is any name not in the map. The same files stay at their plain names
 *   (`no-cache`) for a page of an older version still open or a curl. The modules import each
 *   other relatively, so they all load from the same versioned folder;
 * - text answers are gzipped once at start (level 9, ~4 ms for all) and sent so when the request
 *   accepts gzip (`Vary: Accept-Encoding`); brotli's best would save 15% more for ~145 ms of CPU at
 *   every start;
 * - the other headers (src/http/security-headers.ts): a strict Content-Security-Policy (scripts and
 *   styles from the node only, no inline script, no eval, no framing) and nosniff.
 * @module
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { DtaError } from '../errors.ts'
import { bundleModules } from './console-bundle.ts'

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

/** The console's modules in one (src/http/console-bundle.ts), the one script index.html loads. */
export const BUNDLE = 'console.js'
/** What the bundle runs, in order: lib/api.js first, so its first requests start before the rest has run. */
const BUNDLE_ENTRIES = ['lib/api.js', 'main.js']

/** One answer, prepared at start: its bytes, gzipped bytes when that is smaller, and a strong ETag. */
interface Prepared { readonly body: Buffer, readonly gzip: Buffer | undefined, readonly type: string, readonly etag: string }

/** What the routes serve: the page (naming the versioned folder) and every other file by name. */
export interface ConsoleFiles {
  /** The content hash of every file but index.html: the `<version>` of `/ui/v/<version>/…`. */
  readonly version: string
  readonly index: Prepared
  readonly files: ReadonlyMap<string, Prepared>
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

function prepare (body: Buffer, type: string): Prepared {
  // only text gains; level 9 costs ~4 ms for all the files, once (brotli's best is ~145 ms for 15% less)
  const gzip = type.startsWith('text/') || type === 'image/svg+xml' ? gzipSync(body, { level: 9 }) : undefined
  return { body, gzip: gzip !== undefined && gzip.length < body.length ? gzip : undefined, type, etag: `"${sha256(body).slice(0, 32)}"` }
}

/**
 * The version of the files and index.html rewritten to name them under `v/<version>/`. The version
 * hashes every name and every byte (the vendor modules included, so a preact upgrade is a new
 * version too); each `src="…"`/`href="…"` of index.html that names a served file is rewritten,
 * nothing else (the noscript link to the API docs stays as it is).
 */
export function prepareConsole (input: ReadonlyMap<string, ConsoleAsset>): ConsoleFiles {
  if (input.has(BUNDLE)) throw new DtaError('INTERNAL', `the console has a file named ${BUNDLE}, the name of its bundle`)
  const source = (name: string): string => input.get(name)!.body.toString('utf8')
  const bundle = bundleModules(BUNDLE_ENTRIES, source, name => input.has(name) && /\.m?js$/.test(name))
  const assets = new Map(input).set(BUNDLE, { body: Buffer.from(bundle), type: TYPES['.js']! })
  const hash = createHash('sha256')
  const names = [...assets.keys()].filter(n => n !== 'index.html').sort()
  for (const name of names) hash.update(`${name}\0${sha256(assets.get(name)!.body)}\n`)
  const version = hash.digest('hex').slice(0, 20)
  const page = assets.get('index.html')!
  const rewritten = page.body.toString('utf8').replace(/\b(src|href)="([^"]+)"/g, (whole, attr: string, target: string) =>
    names.includes(target) ? `${attr}="v/${version}/${target}"` : whole)
  const files = new Map<string, Prepared>()
  for (const name of names) files.set(name, prepare(assets.get(name)!.body, assets.get(name)!.type))
  return { version, index: prepare(Buffer.from(rewritten), page.type), files }
}

/** Whether the request's Accept-Encoding takes gzip (not with q=0). */
function acceptsGzip (header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '')
  return value.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';').map(x => x.trim())
    if (coding !== 'gzip' && coding !== '*') return false
    const q = params.find(p => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

/** The file a path under /ui/ names, and how long it may be kept; undefined is 404. */
function lookup (files: ConsoleFiles, name: string): { file: Prepared, immutable: boolean } | undefined {
  if (name === '' || name === 'index.html') return { file: files.index, immutable: false }
  if (name.startsWith('v/')) {
    // v/<version>/<name>: only this start's version; an old or made-up one is 404, so the page asks again
    const slash = name.indexOf('/', 2)
    if (slash === -1 || name.slice(2, slash) !== files.version) return undefined
    const file = files.files.get(name.slice(slash + 1))
    return file === undefined ? undefined : { file, immutable: true }
  }
  const file = files.files.get(name)
  return file === undefined ? undefined : { file, immutable: false }
}

export function registerConsole (app: FastifyInstance, assets: ReadonlyMap<string, ConsoleAsset> = loadConsoleAssets()): void {
  const files = prepareConsole(assets)
  // relative, so that it also works behind a proxy that adds a path prefix
  app.get('/ui', { schema: { hide: true } }, async (_request, reply) => await reply.redirect('ui/', 308))
  app.get('/ui/*', { schema: { hide: true } }, async (request, reply) => {
    const found = lookup(files, (request.params as { '*': string })['*'])
    if (found === undefined) throw new DtaError('NOT_FOUND', 'no such console file')
    const { file, immutable } = found
    void reply.type(file.type).header('etag', file.etag).header('vary', 'accept-encoding')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    if (request.headers['if-none-match']?.split(',').some(tag => tag.trim().replace(/^W\//, '') === file.etag) === true) {
      return await reply.code(304).send()
    }
    if (file.gzip !== undefined && acceptsGzip(request.headers['accept-encoding'])) {
      return await reply.header('content-encoding', 'gzip').send(file.gzip)
    }
    return await reply.send(file.body)
  })
}
