/**
 * Adversary: a hostile web page against the web console, in a real browser (Debian's Chromium,
 * test/e2e/console/browser.ts) and a real `milagro daemon` with authentication off — the case where
 * only the browser's rules and the node's headers stand between a page and the custody API.
 *
 * The hostile page is served by the test from its own HTTP server, under two names Chromium is told
 * resolve to 127.0.0.1 (`--host-resolver-rules`):
 * - `http://attacker.test:P` — another site. It tries to read the console's data (fetch of
 *   /v1/node, /v1/order/summaries, the chain), to drive actions (a JSON POST, which needs a CORS
 *   preflight; "simple" text/plain and body-less POSTs; a form POST), to include an answer as a
 *   script, to frame the console and to read a console window it opened. Every read fails, every
 *   action is refused, the frame is never rendered, the window cannot be read;
 * - `http://localhost:P` — a page on another port of the same machine, which the Origin check lets
 *   through (same host name, ports are not compared: docs/security.md). Its reads still fail (no
 *   CORS), its JSON POST still needs a preflight that is refused, and its non-JSON POSTs fail the
 *   body schema: state-changing routes take JSON only.
 * Then DNS rebinding: the browser opens `http://attacker.test:<node port>/ui/` (the attacker's name
 * resolving to the node): 403 HOST_NOT_ALLOWED, the console is not even served.
 * Data another client of the API wrote (an identity named with markup and script) is shown as text.
 * Afterwards the node holds exactly what it held: one identity, one order (and that named one); no
 * answer reached a page.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { Page } from 'playwright-core'
import { createCluster } from '../e2e/server/harness.ts'
import type { Cluster, ServerNode } from '../e2e/server/harness.ts'
import { openBrowser, pageHolds } from '../e2e/console/browser.ts'
import type { Browser } from '../e2e/console/browser.ts'

// Browser globals, for the functions page.evaluate runs in the page (the project's lib has no DOM).
declare const window: { __done?: boolean, __results?: Attempt[] }, document: { body: { innerText: string } | null }

interface Attempt { name: string, outcome: string, text?: string }

const HOSTILE_PAGE = '<!doctype html><html lang="en"><head><title>Cute cats</title><script src="/attack.js" defer></script></head><body><h1>Cute cats</h1><iframe name="sink" title="sink"></iframe></body></html>'

/** Runs in the hostile page: every attempt records what it could see; nothing here may succeed. */
const ATTACK = `
const node = new URLSearchParams(location.search).get('node')
const results = []
const bounded = (promise, ms = 8000) => Promise.race([promise, new Promise(resolve => setTimeout(() => resolve('no answer in time'), ms))])
async function read (name, path, init = {}) {
  try {
    const response = await fetch(node + path, { ...init, signal: AbortSignal.timeout(8000) })
    let text = ''
    try { text = await response.text() } catch {}
    results.push({ name, outcome: response.type === 'opaque' ? 'opaque' : 'read ' + response.status, text })
  } catch (err) {
    results.push({ name, outcome: 'blocked' })
  }
}
async function run () {
  await read('GET /v1/node', '/v1/node')
  await read('GET /v1/order/summaries', '/v1/order/summaries?perPage=100')
  await read('GET /v1/identity', '/v1/identity')
  await read('GET /ui/ (the console page)', '/ui/')
  await read('POST /v1/identity, JSON (preflighted)', '/v1/identity', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'planted-json' }) })
  await read('POST /v1/order, JSON (preflighted)', '/v1/order', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  await read('POST /v1/identity, text/plain no-cors', '/v1/identity', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'planted-text' }) })
  await read('POST /v1/order, no body no-cors', '/v1/order', { method: 'POST', mode: 'no-cors' })
  await read('POST /v1/order, text/plain {} no-cors', '/v1/order', { method: 'POST', mode: 'no-cors', body: '{}' })
  // a form post (text/plain: the body is {"name":"planted-form","x":"="})
  const form = document.createElement('form')
  form.method = 'POST'; form.action = node + '/v1/identity'; form.enctype = 'text/plain'; form.target = 'sink'
  const input = document.createElement('input')
  input.name = '{"name":"planted-form","x":"'; input.value = '"}'
  form.append(input)
  document.body.append(form)
  const sink = document.querySelector('iframe[name=sink]')
  const posted = new Promise(resolve => sink.addEventListener('load', () => resolve('loaded'), { once: true }))
  form.submit()
  results.push({ name: 'form POST /v1/identity', outcome: await bounded(posted) })
  // an API answer included as a script
  const script = document.createElement('script')
  const included = new Promise(resolve => { script.onload = () => resolve('loaded'); script.onerror = () => resolve('error') })
  script.src = node + '/v1/order/summaries'
  document.head.append(script)
  results.push({ name: '<script src=/v1/order/summaries>', outcome: await bounded(included) })
  // the console in a frame
  const frame = document.createElement('iframe')
  frame.title = 'console'; frame.src = node + '/ui/#/orders'
  const framed = new Promise(resolve => frame.addEventListener('load', () => resolve('load event'), { once: true }))
  document.body.append(frame)
  await bounded(framed)
  let inside = 'unreadable'
  try { inside = frame.contentWindow.document.body.innerText } catch {}
  results.push({ name: '<iframe src=/ui/>', outcome: inside })
  // the console in a window it opened
  const opened = window.open(node + '/ui/#/orders', 'console')
  let seen = 'no window'
  if (opened !== null) {
    await bounded(new Promise(resolve => setTimeout(resolve, 1500)), 3000)
    try { seen = opened.document.body.innerText } catch { seen = 'unreadable' }
  }
  results.push({ name: 'window.open(/ui/)', outcome: seen })
  window.__results = results
  window.__done = true
}
run()
`

describe('a hostile web page against the console, in Chromium', () => {
  let cluster: Cluster
  let node: ServerNode
  let hostile: Server
  let hostilePort: number
  let browser: Browser
  let reference: string
  let nodePort: number
  let hostileIdentity: string | undefined

  before(async () => {
    cluster = await createCluster(undefined, 'dta-console-adversary-')
    node = await cluster.init('console-adversary', { nodeType: 'multi', service: 'milagro' })
    await node.start()
    nodePort = Number(new URL(node.url).port)
    reference = (await node.ok<{ orderReference: string }>('/v1/order', {})).orderReference
    hostile = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]
      if (path === '/attack.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(ATTACK)
      else response.writeHead(200, { 'content-type': 'text/html' }).end(HOSTILE_PAGE)
    })
    await new Promise<void>(resolve => { hostile.listen(0, '127.0.0.1', resolve) })
    hostilePort = (hostile.address() as { port: number }).port
    browser = await openBrowser(['--host-resolver-rules=MAP attacker.test 127.0.0.1, MAP localhost 127.0.0.1'])
  })
  after(async () => {
    await browser?.close()
    await new Promise<void>(resolve => { if (hostile === undefined) resolve(); else hostile.close(() => { resolve() }) })
    await cluster?.close()
  })

  /** Opens the hostile page at `origin`, aimed at the node at `target`, and returns what it saw. */
  async function attack (origin: string, target: string): Promise<{ page: Page, results: Attempt[] }> {
    const page = await browser.context.newPage()
    await page.goto(`${origin}/?node=${encodeURIComponent(target)}`)
    await page.waitForFunction(() => window.__done === true, undefined, { timeout: 60_000 })
    return { page, results: await page.evaluate(() => window.__results ?? []) }
  }

  function outcomes (results: Attempt[]): Record<string, string> {
    return Object.fromEntries(results.map(r => [r.name, r.outcome]))
  }

  function nothingLeaked (results: Attempt[]): void {
    for (const r of results) {
      for (const datum of [node.cid, reference, 'idDocumentList', 'milagro']) {
        assert.ok(!(r.text ?? '').includes(datum) && !r.outcome.includes(datum), `${r.name} saw ${datum}`)
      }
    }
  }

  async function consoleFrames (page: Page): Promise<number> {
    let n = 0
    for (const frame of page.frames()) {
      if (frame === page.mainFrame()) continue
      const text = await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '')
      if (text.includes('Milagro D-TA')) n++
    }
    return n
  }

  it('another site (attacker.test) reads nothing, drives nothing, cannot frame or read the console', async () => {
    const { page, results } = await attack(`http://attacker.test:${hostilePort}`, `http://127.0.0.1:${nodePort}`)
    const seen = outcomes(results)
    for (const name of ['GET /v1/node', 'GET /v1/order/summaries', 'GET /v1/identity', 'GET /ui/ (the console page)', 'POST /v1/identity, JSON (preflighted)', 'POST /v1/order, JSON (preflighted)']) {
      assert.equal(seen[name], 'blocked', name)
    }
    for (const name of ['POST /v1/identity, text/plain no-cors', 'POST /v1/order, no body no-cors', 'POST /v1/order, text/plain {} no-cors']) {
      // sent (a "simple" request needs no preflight), but the answer is unreadable: opaque, or
      // refused by Chromium altogether because of Cross-Origin-Resource-Policy: same-origin
      assert.ok(['opaque', 'blocked'].includes(seen[name]!), `${name}: ${seen[name]}`)
    }
    assert.equal(seen['<script src=/v1/order/summaries>'], 'error', 'CORP and nosniff: an answer is not a script')
    assert.equal(seen['<iframe src=/ui/>'], 'unreadable')
    assert.ok(['unreadable', 'no window'].includes(seen['window.open(/ui/)']!), seen['window.open(/ui/)'])
    nothingLeaked(results)
    assert.equal(await consoleFrames(page), 0, 'frame-ancestors \'none\': the console is never rendered in a frame')
    await page.close()
  })

  it('a page on another port of this machine (localhost) passes the Origin check, yet reads nothing and changes nothing', async () => {
    const { page, results } = await attack(`http://localhost:${hostilePort}`, `http://localhost:${nodePort}`)
    const seen = outcomes(results)
    for (const name of ['GET /v1/node', 'GET /v1/order/summaries', 'GET /v1/identity', 'POST /v1/identity, JSON (preflighted)', 'POST /v1/order, JSON (preflighted)']) {
      assert.equal(seen[name], 'blocked', name)
    }
    assert.equal(seen['<script src=/v1/order/summaries>'], 'error')
    assert.equal(seen['<iframe src=/ui/>'], 'unreadable')
    nothingLeaked(results)
    assert.equal(await consoleFrames(page), 0)
    await page.close()
  })

  it('DNS rebinding: the console under the attacker\'s name is not served', async () => {
    const page = await browser.context.newPage()
    const response = await page.goto(`http://attacker.test:${nodePort}/ui/`)
    assert.equal(response?.status(), 403)
    assert.match(await page.locator('body').innerText(), /HOST_NOT_ALLOWED/)
    const api = await page.evaluate(async () => await fetch('/v1/node').then(async r => `${r.status} ${await r.text()}`))
    assert.match(api, /^403 .*HOST_NOT_ALLOWED/)
    assert.equal(await pageHolds(page, node.cid), false)
    await page.close()
  })

  it('hostile data (an identity named with markup, by another client of the API) is shown as text, never run', async () => {
    const name = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"\'><svg onload="window.__xss=3">'
    const created = await node.ok<{ idDocumentCID: string }>('/v1/identity', { name })
    const page = await browser.context.newPage()
    const problems: string[] = []
    page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text()) })
    await page.goto(`${node.url}/ui/#/identities`)
    const cell = page.locator('table.list td[data-label="Name"]', { hasText: '<img src=x' })
    await cell.waitFor()
    assert.equal((await cell.innerText()).trim(), name, 'the name, character for character')
    assert.equal(await page.evaluate(() => (window as { __xss?: unknown }).__xss), undefined, 'no handler or script ran')
    assert.equal(await page.locator('main img, main script, main svg[onload]').count(), 0, 'no element was made of it')
    assert.deepEqual(problems, [], 'not even blocked by the CSP: it never got as far as markup')
    await page.close()
    hostileIdentity = created.idDocumentCID
  })

  it('the node holds what it held: its identity (and the named one), one order', async () => {
    const identities = await node.ok<{ idDocumentList: Array<{ idDocumentCID: string, authenticationReference: string }> }>('/v1/identity?perPage=100')
    assert.deepEqual(identities.idDocumentList.filter(i => i.idDocumentCID !== hostileIdentity).map(i => i.authenticationReference), ['console-adversary'])
    const orders = await node.ok<{ orderReference: string[] }>('/v1/order?perPage=100')
    assert.deepEqual(orders.orderReference, [reference])
    assert.deepEqual(node.errorLines(), [], 'and logged no error')
  })
})
