/**
 * The web console's static files (src/http/console.ts) and the headers of every answer
 * (src/http/security-headers.ts), on a real multi node listening on 127.0.0.1 — requests sent raw
 * over a socket, so that no client normalises a `..` away:
 * - /ui redirects to /ui/, which is the console's page; each file has its content type;
 * - the page (no-cache, ETag and 304) names every file under /ui/v/<version>/ (immutable), the
 *   version a hash of the files; a wrong or old version, traversal and the page there are 404;
 * - text is gzipped only for a request that accepts it;
 * - preact, hooks and htm are served from the packages, the hooks module's bare import rewritten;
 * - the console's answers carry the strict CSP (no inline script, no eval, no framing), nosniff,
 *   X-Frame-Options, COOP; API answers `Cache-Control: no-store` and a deny-all CSP;
 * - path traversal (plain, percent-encoded, double-encoded, backslashes, NUL), dotfiles, folders
 *   and unknown names are refused, and never answer a file from outside console/;
 * - the static files are public routes for the bearer-token check; API routes are not.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import { gunzipSync } from 'node:zlib'
import path from 'node:path'
import { loadConfig } from '../../../src/config/load.ts'
import { isPublicRoute } from '../../../src/http/auth.ts'
import { BUNDLE, CONSOLE_DIR, loadConsoleAssets, prepareConsole } from '../../../src/http/console.ts'
import { API_CSP, CONSOLE_CSP } from '../../../src/http/security-headers.ts'
import { createNode, initNode } from '../../../src/node.ts'
import type { DtaNode } from '../../../src/node.ts'

const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '300', MILAGRO_HTTP_LISTENADDR: '127.0.0.1:0' }

interface Answer { status: number, headers: IncomingHttpHeaders, body: Buffer }

describe('the console\'s static files and the security headers', () => {
  let home: string
  let node: DtaNode
  let port: number
  const packageJson = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')

  /** One request with the path exactly as given (no normalisation by a client). */
  async function raw (pathAndQuery: string, method = 'GET', headers: Record<string, string> = {}): Promise<Answer> {
    return await new Promise<Answer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path: pathAndQuery, headers: { host: `127.0.0.1:${port}`, ...headers }, agent: false, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
        res.on('error', reject)
      })
      req.on('timeout', () => { req.destroy(new Error('timeout')) })
      req.on('error', reject)
      req.end()
    })
  }

  before(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'dta-console-static-'))
    await initNode({ home, nodeName: 'console-static', env })
    node = await createNode({ home, config: await loadConfig({ home, env }) })
    port = Number(new URL(await node.start()).port)
  })
  after(async () => {
    await node?.stop()
    rmSync(home, { recursive: true, force: true })
  })

  it('/ui redirects to /ui/, the console page; every file has its content type', async () => {
    const bare = await raw('/ui')
    assert.equal(bare.status, 308)
    assert.equal(bare.headers.location, 'ui/', 'relative: /ui → /ui/, also under a path prefix')
    const index = await raw('/ui/')
    assert.equal(index.status, 200)
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8')
    assert.match(index.body.toString(), /<script type="module" src="v\/[0-9a-f]{20}\/console.js"><\/script>/)
    assert.doesNotMatch(index.body.toString(), /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in the page')
    for (const [file, type] of [['main.js', 'text/javascript; charset=utf-8'], ['style.css', 'text/css; charset=utf-8'], ['favicon.svg', 'image/svg+xml'],
      ['pages/order.js', 'text/javascript; charset=utf-8'], ['vendor/preact.mjs', 'text/javascript; charset=utf-8'], ['vendor/htm.mjs', 'text/javascript; charset=utf-8']] as const) {
      const answer = await raw(`/ui/${file}`)
      assert.equal(answer.status, 200, file)
      assert.equal(answer.headers['content-type'], type, file)
      assert.equal(answer.headers['cache-control'], 'no-cache', file)
    }
    assert.equal((await raw('/ui/main.js', 'HEAD')).status, 200)
  })

  it('index.html names the files under /ui/v/<version>/, which are immutable; the page itself is revalidated', async () => {
    const assets = loadConsoleAssets()
    const { version } = prepareConsole(assets)
    assert.match(version, /^[0-9a-f]{20}$/)
    const index = await raw('/ui/')
    assert.equal(index.headers['cache-control'], 'no-cache')
    const page = index.body.toString()
    const named = [...page.matchAll(/\b(?:src|href)="([^"]+)"/g)].map(m => m[1]!)
    const local = named.filter(n => n !== '../docs')
    assert.deepEqual(local.map(n => n.slice(n.lastIndexOf('/') + 1)).sort(), ['console.js', 'favicon.svg', 'style.css'])
    assert.ok(local.every(n => n.startsWith(`v/${version}/`)), local.join(' '))
    for (const name of local) {
      const answer = await raw(`/ui/${name}`)
      assert.equal(answer.status, 200, name)
      assert.equal(answer.headers['cache-control'], 'public, max-age=31536000, immutable', name)
      assert.equal(answer.headers['content-security-policy'], CONSOLE_CSP, name)
      assert.deepEqual(answer.body, (await raw(`/ui/${name.slice(`v/${version}/`.length)}`)).body, name)
    }
    // the version changes with any byte of any file, and only then
    const changed = new Map(assets)
    changed.set('lib/format.js', { ...assets.get('lib/format.js')!, body: Buffer.concat([assets.get('lib/format.js')!.body, Buffer.from('\n')]) })
    assert.notEqual(prepareConsole(changed).version, version)
    assert.equal(prepareConsole(new Map(assets)).version, version)
    // revalidation: the page's ETag gives a 304 without a body
    assert.match(index.headers.etag ?? '', /^"[0-9a-f]{32}"$/)
    const again = await raw('/ui/', 'GET', { 'if-none-match': index.headers.etag! })
    assert.equal(again.status, 304)
    assert.equal(again.body.length, 0)
    assert.equal((await raw('/ui/', 'GET', { 'if-none-match': '"0123"' })).status, 200)
  })

  it('under /ui/v/: a wrong or old version, traversal (plain or encoded) and the page itself are 404', async () => {
    const { version } = prepareConsole(loadConsoleAssets())
    const wrong = version.replace(/^./, c => (c === '0' ? '1' : '0'))
    const attempts = [
      `/ui/v/${wrong}/main.js`, `/ui/v/${version.slice(0, 19)}/main.js`, `/ui/v/${version}0/main.js`, `/ui/v/${version.toUpperCase()}/main.js`,
      '/ui/v/main.js', `/ui/v/${version}`, `/ui/v/${version}/`, `/ui/v/${version}/index.html`, `/ui/v//${version}/main.js`, `/ui/v/%2e%2e/main.js`,
      `/ui/v/${version}/../../../package.json`, `/ui/v/${version}/%2e%2e/%2e%2e/package.json`, `/ui/v/${version}/%2e%2e%2f%2e%2e%2fpackage.json`,
      `/ui/v/${version}/..%2f..%2f..%2fpackage.json`, `/ui/v/${version}/%252e%252e%252fpackage.json`, `/ui/v/${version}/vendor/../../../src/node.ts`,
      `/ui/v/${version}/..%5c..%5cpackage.json`, `/ui/v/${version}/%2fetc%2fpasswd`, `/ui/v/${version}/main.js%00.html`, `/ui/v/${version}/lib/`,
      `/ui/v/${version}/.gitignore`, `/ui/v/${version}/v/${version}/main.js`, `/ui/v/..%2f${version}/main.js`,
    ]
    for (const url of attempts) {
      const answer = await raw(url)
      assert.ok(answer.status === 404 || answer.status === 400, `${url} → ${answer.status}`)
      const text = answer.body.toString()
      assert.ok(!text.includes('milagro-dta') && !text.includes('root:') && !text.includes('createNode'), url)
      assert.notEqual(answer.headers['cache-control'], 'public, max-age=31536000, immutable', url)
      if (answer.status === 404) assert.match(JSON.parse(text).code as string, /^(ROUTE_)?NOT_FOUND$/, url)
    }
    // a path the client normalised is an ordinary name: still only what the map holds
    assert.equal((await raw(`/ui/v/${version}/lib/../main.js`)).status, 404)
  })

  it('sends text gzipped when the request accepts it, never when it refuses it', async () => {
    const { version } = prepareConsole(loadConsoleAssets())
    const plain = await raw(`/ui/v/${version}/vendor/preact.mjs`)
    assert.equal(plain.headers['content-encoding'], undefined)
    assert.equal(plain.headers.vary, 'accept-encoding')
    const zipped = await raw(`/ui/v/${version}/vendor/preact.mjs`, 'GET', { 'accept-encoding': 'gzip, deflate, br, zstd' })
    assert.equal(zipped.headers['content-encoding'], 'gzip')
    assert.ok(zipped.body.length < plain.body.length / 2, `${zipped.body.length} of ${plain.body.length}`)
    assert.deepEqual(gunzipSync(zipped.body), plain.body)
    assert.equal((await raw('/ui/', 'GET', { 'accept-encoding': 'gzip;q=0, identity' })).headers['content-encoding'], undefined)
    assert.equal((await raw('/ui/', 'GET', { 'accept-encoding': 'gzip;q=0.5' })).headers['content-encoding'], 'gzip')
    assert.equal((await raw('/ui/', 'GET', { 'accept-encoding': 'br' })).headers['content-encoding'], undefined)
  })

  it('serves preact and htm from their packages, the hooks module importing ./preact.mjs', async () => {
    assert.equal((await raw('/ui/vendor/preact.mjs')).body.toString(), readFileSync(new URL(import.meta.resolve('preact')), 'utf8'))
    const hooks = (await raw('/ui/vendor/hooks.mjs')).body.toString()
    assert.match(hooks, /from"\.\/preact\.mjs"/)
    assert.doesNotMatch(hooks, /from\s*["']preact["']/)
    // every module the console imports is one the node serves (no bare specifier, nothing remote),
    // and the bundle index.html loads holds each of them once, lib/api.js first
    const assets = loadConsoleAssets()
    const bundle = prepareConsole(assets).files.get(BUNDLE)!.body.toString()
    const inBundle = [...bundle.matchAll(/^\/\/ (\S+)\nconst __m\d+ = \(\(\) => \{$/gm)].map(m => m[1]!)
    assert.deepEqual([...inBundle].sort(), [...assets.keys()].filter(n => /\.m?js$/.test(n)).sort(), 'the bundle holds every module once')
    assert.equal(inBundle[0], 'lib/api.js')
    assert.equal(inBundle.at(-1), 'main.js')
    assert.equal((await raw(`/ui/${BUNDLE}`)).body.toString(), bundle)
    for (const [name, asset] of assets) {
      if (!name.endsWith('.js')) continue
      for (const m of asset.body.toString().matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(name), m[1]!))
        assert.ok(m[1]!.startsWith('.') && assets.has(target), `${name} imports ${m[1]}`)
      }
    }
  })

  it('the console answers carry a strict CSP, nosniff, no framing; API answers no-store and a deny-all CSP', async () => {
    assert.match(CONSOLE_CSP, /default-src 'self'/)
    assert.match(CONSOLE_CSP, /frame-ancestors 'none'/)
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|\*|data:|https?:/)
    for (const url of ['/ui/', '/ui/main.js', '/ui/nothing-here.js']) {
      const { headers } = await raw(url)
      assert.equal(headers['content-security-policy'], CONSOLE_CSP, url)
      assert.equal(headers['x-content-type-options'], 'nosniff', url)
      assert.equal(headers['x-frame-options'], 'DENY', url)
      assert.equal(headers['cross-origin-opener-policy'], 'same-origin', url)
      assert.equal(headers['cross-origin-resource-policy'], 'same-origin', url)
      assert.equal(headers['referrer-policy'], 'no-referrer', url)
      assert.equal(headers['access-control-allow-origin'], undefined, url)
    }
    for (const url of ['/v1/status', '/v1/node', '/v1/identity', '/v1/order/summaries', '/v1/no-such-route']) {
      const { headers } = await raw(url)
      assert.equal(headers['cache-control'], 'no-store', url)
      assert.equal(headers['content-security-policy'], API_CSP, url)
      assert.equal(headers['x-content-type-options'], 'nosniff', url)
    }
  })

  it('refuses path traversal, dotfiles, folders and unknown names — never a file from outside console/', async () => {
    const attempts = [
      '/ui/../package.json', '/ui/..%2fpackage.json', '/ui/%2e%2e/package.json', '/ui/%2e%2e%2fpackage.json', '/ui/%252e%252e%252fpackage.json',
      '/ui/vendor/../../package.json', '/ui/vendor/..%2f..%2fpackage.json', '/ui/..%5c..%5cpackage.json', '/ui/..\\..\\package.json',
      '/ui/%2e%2e/%2e%2e/src/node.ts', '/ui//etc/passwd', '/ui/%2fetc%2fpasswd', '/ui/main.js%00.html', '/ui/main.js/', '/ui/./main.js.map',
      '/ui/lib', '/ui/lib/', '/ui/pages/', '/ui/.gitignore', '/ui/vendor/', '/ui/vendor/preact.mjs.map', '/ui/../node_modules/preact/package.json',
      `/ui/${'..%2f'.repeat(12)}etc%2fpasswd`,
    ]
    for (const url of attempts) {
      const answer = await raw(url)
      assert.ok(answer.status === 404 || answer.status === 400, `${url} → ${answer.status}`)
      const text = answer.body.toString()
      assert.ok(!text.includes('"name": "milagro-dta"') && !text.includes(packageJson.slice(0, 40)) && !text.includes('root:'), url)
      if (answer.status === 404) assert.match(JSON.parse(text).code as string, /^(ROUTE_)?NOT_FOUND$/, url)
    }
    // only files under console/ (and the three vendor modules) are served at all
    const names = [...loadConsoleAssets().keys()]
    assert.ok(names.every(n => !n.includes('..') && !n.startsWith('/') && !n.split('/').some(part => part.startsWith('.'))), names.join(' '))
    assert.ok(names.filter(n => n.startsWith('vendor/')).sort().join() === 'vendor/hooks.mjs,vendor/htm.mjs,vendor/preact.mjs')
    assert.ok(CONSOLE_DIR.endsWith(`${path.sep}console${path.sep}`))
  })

  it('the static files are public for the bearer-token check; every API route the console calls is not', () => {
    for (const route of ['/ui', '/ui/*']) assert.equal(isPublicRoute(route), true, route)
    for (const route of ['/v1/node', '/v1/order/summaries', '/v1/order/:orderReference/chain', '/v1/order/:orderReference', '/v1/identity', '/v1/audit', '/v1/order/secret', '/uix', '/v1/ui']) {
      assert.equal(isPublicRoute(route), false, route)
    }
  })
})
