/**
 * Adversary: a hostile web page (PROTOCOL §8). A page the node's operator happens to open in a
 * browser on the node's machine tries to drive the node's API, which listens on loopback without
 * authentication by default:
 * - DNS rebinding: the page's name (`rebind.attacker.example`) is made to resolve to 127.0.0.1, so
 *   the browser lets the page read the node's answers — but it still sends the page's name in the
 *   `Host` header. Every such request must be refused with 403 HOST_NOT_ALLOWED before any
 *   handler (or the bearer-token check) runs: the services below are spies that count calls;
 * - cross-origin requests (CSRF-style, and CORS preflights): a request from another site's page
 *   carries its `Origin`; it is refused with 403 ORIGIN_NOT_ALLOWED, and no answer ever carries an
 *   `Access-Control-Allow-*` header.
 *
 * In process (`buildApp` + `app.inject`, spy services, optionally a spy bearer verifier), then over
 * real HTTP against a `milagro daemon` process (the e2e harness): raw `node:http` requests to
 * 127.0.0.1 with a forged Host, on the API and on the metrics listener. Before the guard, every
 * attack here was answered (200, or 401 with auth on).
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import { connect, createServer } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/http/app.ts'
import type { BearerVerifier } from '../../src/http/auth.ts'
import { createMetrics } from '../../src/http/metrics.ts'
import { DtaError, ERRORS } from '../../src/errors.ts'
import type { NodeServices } from '../../src/ports/api.ts'
import { createCluster } from '../e2e/server/harness.ts'
import type { Cluster, ServerNode } from '../e2e/server/harness.ts'

const CID = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
const REFERENCE = '0123456789abcdef0123456789abcdef'
const ATTACKER = 'rebind.attacker.example'

/**
 * Hosts a rebinding page can make the browser send (or a sloppy check would let through). An
 * empty and an absent Host are sent over a raw socket below (`app.inject` fills in its own).
 */
const HOSTILE_HOSTS = [
  ATTACKER, `${ATTACKER}:5556`, ATTACKER.toUpperCase(), `${ATTACKER.toUpperCase()}:5556`, `${ATTACKER}.`, `${ATTACKER}.:5556`,
  'localhost.attacker.example', 'localhost.attacker.example:5556', '127.0.0.1.nip.io:5556', 'localhost.', 'localhost:5556@attacker.example',
]

// ── spies ──────────────────────────────────────────────────────────────────────────────────────

interface Calls { status: number, identityCreate: number, identityList: number, orderCreate: number, orderSecret: number, fulfilOrder: number, fulfilSecret: number, audit: number }

function spyServices (): { services: NodeServices, calls: Calls } {
  const calls: Calls = { status: 0, identityCreate: 0, identityList: 0, orderCreate: 0, orderSecret: 0, fulfilOrder: 0, fulfilSecret: 0, audit: 0 }
  const services: NodeServices = {
    nodeType: 'multi',
    async status () {
      calls.status++
      return { application: 'Milagro D-TA', apiVersion: 'v1', extensionVendor: 'spy', nodeCID: CID, timeStamp: new Date().toISOString(), plugin: 'milagro', nodeType: 'multi', version: '0', peerID: 'spy', listenAddrs: [], connectedPeers: 0 }
    },
    identity: {
      async create () { calls.identityCreate++; return { idDocumentCID: CID } },
      async get () { throw new DtaError('IDENTITY_NOT_FOUND') },
      async list () { calls.identityList++; return [] },
      async count () { return 0 },
    },
    order: {
      async create () { calls.orderCreate++; return { orderReference: REFERENCE, commitment: '00', createdAt: 1, extension: {}, orderPart1CID: CID, orderPart2CID: CID } },
      async list () { return [] },
      async get () { throw new DtaError('ORDER_NOT_FOUND') },
      async secret () { calls.orderSecret++; return { secret: '00', commitment: '00', orderReference: REFERENCE, extension: {}, orderPart3CID: CID, orderPart4CID: CID } },
    },
    fulfil: {
      async order () { calls.fulfilOrder++; return { orderPart2CID: CID, extension: {} } },
      async secret () { calls.fulfilSecret++; return { orderPart4CID: CID, extension: {} } },
    },
    audit: { async list () { calls.audit++; return [] }, async count () { return 0 } },
  }
  return { services, calls }
}

/** A bearer verifier that refuses every request with 401 and counts how often it was asked. */
function spyVerifier (): BearerVerifier & { verified: number } {
  const verifier = {
    issuer: 'http://127.0.0.1:1',
    audience: 'dta',
    verified: 0,
    async discover () {},
    async verify (): Promise<never> {
      verifier.verified++
      throw new DtaError('AUTH_TOKEN_MISSING')
    },
  }
  return verifier
}

const noCalls = (calls: Calls): void => {
  assert.deepEqual(Object.values(calls).filter(n => n !== 0), [], `a handler ran: ${JSON.stringify(calls)}`)
}

function assertNoCors (headers: IncomingHttpHeaders | Record<string, unknown>, what: string): void {
  const cors = Object.keys(headers).filter(h => h.toLowerCase().startsWith('access-control-'))
  assert.deepEqual(cors, [], `${what}: no CORS header`)
}

/** The attacked endpoints, each with a body its schema accepts (so only the guard can stop it). */
const ENDPOINTS: Array<{ method: 'GET' | 'POST', url: string, payload?: unknown }> = [
  { method: 'GET', url: '/v1/status' },
  { method: 'POST', url: '/v1/identity', payload: { name: 'planted-by-a-web-page' } },
  { method: 'GET', url: '/v1/identity' },
  { method: 'POST', url: '/v1/order', payload: {} },
  { method: 'POST', url: '/v1/order/secret', payload: { orderReference: REFERENCE } },
  { method: 'POST', url: '/v1/fulfill/order', payload: { orderPart1CID: CID, documentCID: CID } },
  { method: 'POST', url: '/v1/fulfill/order/secret', payload: { orderPart3CID: CID, documentCID: CID } },
  { method: 'GET', url: '/v1/audit' },
  { method: 'GET', url: '/v1/log/checkpoint' },
  { method: 'GET', url: '/v1/log/tile/entries/000.p/2' },
  { method: 'GET', url: `/v1/log/proof/inclusion?cid=${CID}` },
  { method: 'GET', url: '/v1/log/key' },
  { method: 'GET', url: '/openapi.json' },
  { method: 'GET', url: '/docs' },
  { method: 'GET', url: '/docs/' },
  { method: 'GET', url: '/v1/no-such-route' },
]

interface Answer { status: number, code: unknown, headers: Record<string, unknown>, body: string }

async function send (app: FastifyInstance, method: string, url: string, headers: Record<string, string>, payload?: unknown): Promise<Answer> {
  const res = await app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as string }) })
  assertNoCors(res.headers, `${method} ${url} ${JSON.stringify(headers)}`)
  let code: unknown
  try { code = (res.json() as { code?: unknown }).code } catch { /* not JSON */ }
  return { status: res.statusCode, code, headers: res.headers, body: res.body }
}

function refused (answer: Answer, code: 'HOST_NOT_ALLOWED' | 'ORIGIN_NOT_ALLOWED', what: string): void {
  assert.equal(answer.status, 403, `${what} → ${answer.status} ${answer.body.slice(0, 200)}`)
  assert.equal(answer.code, code, what)
  assert.equal(ERRORS[code].status, 403)
}

// ── in process ─────────────────────────────────────────────────────────────────────────────────

describe('a hostile web page, in process: DNS rebinding', () => {
  let app: FastifyInstance
  let calls: Calls
  before(async () => {
    const spy = spyServices()
    calls = spy.calls
    app = await buildApp({ services: spy.services, bodyLimit: 1 << 20, requestTimeoutMs: 0, version: '0', allowedHosts: ['fid.example'] })
  })
  after(async () => { await app?.close() })

  it('every endpoint refuses a rebound Host (with port, in upper case, with a trailing dot, look-alikes) before its handler runs', async () => {
    for (const host of HOSTILE_HOSTS) {
      for (const e of ENDPOINTS) {
        const answer = await send(app, e.method, e.url, { host }, e.payload)
        refused(answer, 'HOST_NOT_ALLOWED', `${e.method} ${e.url} Host ${JSON.stringify(host)}`)
        assert.match(String(JSON.parse(answer.body).message), /http\.allowedHosts/)
      }
    }
    noCalls(calls)
  })

  it('the detail names the refused host, cut (it is attacker-chosen)', async () => {
    const long = `${'x'.repeat(200)}.${ATTACKER}`
    const answer = await send(app, 'GET', '/v1/status', { host: long })
    refused(answer, 'HOST_NOT_ALLOWED', 'a long Host')
    const message = String(JSON.parse(answer.body).message)
    assert.ok(message.includes(`"${'x'.repeat(64)}..."`), message)
    assert.ok(!message.includes(ATTACKER), message)
    noCalls(calls)
  })

  it('answers localhost (any port, any case), IP literals and the configured name', async () => {
    for (const host of ['localhost:5556', 'LOCALHOST:5556', 'localhost', '127.0.0.1', '127.0.0.1:5556', '[::1]:5556', '[::1]', '10.0.0.5:5556', 'fid.example:5556', 'FID.Example']) {
      const answer = await send(app, 'GET', '/v1/status', { host })
      assert.equal(answer.status, 200, `Host ${host} → ${answer.status} ${answer.body.slice(0, 200)}`)
    }
    const before = calls.identityCreate
    assert.equal((await send(app, 'POST', '/v1/identity', { host: 'localhost:5556' }, { name: 'mine' })).status, 200)
    assert.equal(calls.identityCreate, before + 1, 'the spy sees handlers that do run')
  })
})

describe('a hostile web page, in process: cross-origin requests', () => {
  let app: FastifyInstance
  let calls: Calls
  before(async () => {
    const spy = spyServices()
    calls = spy.calls
    app = await buildApp({ services: spy.services, bodyLimit: 1 << 20, requestTimeoutMs: 0, version: '0', allowedHosts: [] })
  })
  after(async () => { await app?.close() })

  it('refuses another site\'s Origin (and null, and an IP-literal site) even with a good Host', async () => {
    for (const origin of [`http://${ATTACKER}`, `https://${ATTACKER}:5556`, 'http://localhost.attacker.example', 'http://203.0.113.5', 'null', 'garbage']) {
      for (const host of ['localhost:5556', '127.0.0.1:5556']) {
        for (const e of ENDPOINTS) {
          refused(await send(app, e.method, e.url, { host, origin }, e.payload), 'ORIGIN_NOT_ALLOWED', `${e.method} ${e.url} Origin ${origin} Host ${host}`)
        }
      }
    }
    noCalls(calls)
  })

  it('answers requests from the node\'s own pages (Origin http://localhost:5556, the same host)', async () => {
    assert.equal((await send(app, 'GET', '/v1/status', { host: 'localhost:5556', origin: 'http://localhost:5556' })).status, 200)
    assert.equal((await send(app, 'POST', '/v1/order', { host: 'localhost:5556', origin: 'http://localhost:5556' }, {})).status, 200)
    assert.equal((await send(app, 'GET', '/v1/status', { host: '10.0.0.5:5556', origin: 'http://10.0.0.5:5556' })).status, 200)
    assert.equal(calls.orderCreate, 1)
  })

  it('a CORS preflight is refused, and no answer grants CORS', async () => {
    const preflight = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
    for (const e of ENDPOINTS) {
      for (const [host, origin, code] of [
        ['localhost:5556', `http://${ATTACKER}`, 'ORIGIN_NOT_ALLOWED'],
        ['localhost:5556', 'http://localhost:3000', 'ORIGIN_NOT_ALLOWED'],
        [`${ATTACKER}:5556`, `http://${ATTACKER}:5556`, 'HOST_NOT_ALLOWED'],
      ] as const) {
        refused(await send(app, 'OPTIONS', e.url, { host, origin, ...preflight }), code, `OPTIONS ${e.url} Origin ${origin} Host ${host}`)
      }
    }
    // Not even a plain OPTIONS or an allowed request gets a CORS grant (send() checks every answer).
    await send(app, 'OPTIONS', '/v1/order', { host: 'localhost:5556' })
    await send(app, 'GET', '/v1/status', { host: 'localhost:5556', origin: 'http://localhost:5556' })
    noCalls({ ...calls, status: 0, orderCreate: 0 })
  })

  it('allowedHosts ["*"] turns the check off (behind a proxy that rewrites Host)', async () => {
    const spy = spyServices()
    const open = await buildApp({ services: spy.services, bodyLimit: 1 << 20, requestTimeoutMs: 0, version: '0', allowedHosts: ['*'] })
    try {
      assert.equal((await send(open, 'GET', '/v1/status', { host: `${ATTACKER}:5556` })).status, 200)
      assert.equal((await send(open, 'GET', '/v1/status', { host: 'anything.example', origin: 'https://dta.example.com' })).status, 200)
      assert.equal((await send(open, 'POST', '/v1/identity', { host: 'garbage host' }, { name: 'x' })).status, 200)
      assert.equal(spy.calls.identityCreate, 1)
    } finally {
      await open.close()
    }
  })

  it('a misconfigured allowedHosts ("*" with names, an entry with a port) refuses to build', async () => {
    const { services } = spyServices()
    for (const allowedHosts of [['*', 'fid.example'], ['fid.example:5556']]) {
      await assert.rejects(buildApp({ services, bodyLimit: 1 << 20, requestTimeoutMs: 0, version: '0', allowedHosts }),
        (err: unknown) => err instanceof DtaError && err.code === 'CONFIG_INVALID')
    }
  })
})

describe('a hostile web page, in process: with OAuth2 on', () => {
  it('a bad Host or Origin gets 403, never 401: no auth oracle, and the verifier is not even asked', async () => {
    const { services, calls } = spyServices()
    const verifier = spyVerifier()
    const app = await buildApp({ services, bodyLimit: 1 << 20, requestTimeoutMs: 0, version: '0', allowedHosts: [], auth: verifier })
    try {
      for (const e of ENDPOINTS) {
        const bad = await send(app, e.method, e.url, { host: `${ATTACKER}:5556`, authorization: 'Bearer a.b.c' }, e.payload)
        refused(bad, 'HOST_NOT_ALLOWED', `${e.method} ${e.url} with auth`)
        assert.equal(bad.headers['www-authenticate'], undefined, 'no Bearer challenge either')
        refused(await send(app, e.method, e.url, { host: 'localhost:5556', origin: `http://${ATTACKER}` }, e.payload), 'ORIGIN_NOT_ALLOWED', `${e.method} ${e.url} with auth`)
      }
      assert.equal(verifier.verified, 0, 'the token check never ran')
      noCalls(calls)
      // the same request with a good Host does reach the token check (auth really is on)
      const good = await send(app, 'POST', '/v1/order', { host: 'localhost:5556' }, {})
      assert.equal(good.status, 401)
      assert.equal(good.code, 'AUTH_TOKEN_MISSING')
      assert.equal(verifier.verified, 1)
    } finally {
      await app.close()
    }
  })
})

// ── over real HTTP ─────────────────────────────────────────────────────────────────────────────

interface RawAnswer { status: number, headers: IncomingHttpHeaders, body: string }

/** One request to 127.0.0.1:port with exactly the given headers (Host included), as a browser tricked by DNS would send it. */
async function raw (port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return await new Promise<RawAnswer>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }) }, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
    req.on('error', reject)
    req.end(body)
  })
}

/** Bytes over a socket (for a request without any Host header); resolves with the status line's code. */
async function rawBytes (port: number, bytes: string): Promise<{ status: number, text: string }> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error('hang')) })
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', () => { /* a reset after the answer is fine */ })
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text })
    })
    socket.write(bytes)
  })
}

function codeOf (answer: { body: string }): unknown {
  try { return (JSON.parse(answer.body) as { code?: unknown }).code } catch { return undefined }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return port
}

describe('a hostile web page, over real HTTP against a milagro daemon', () => {
  let cluster: Cluster
  let node: ServerNode
  let apiPort: number
  let metricsPort: number
  before(async () => {
    cluster = await createCluster(undefined, 'dta-web-page-')
    node = await cluster.init('web-page', { nodeType: 'multi', service: 'milagro' })
    metricsPort = await freePort()
    await node.start({ env: { MILAGRO_HTTP_METRICSLISTENADDR: `127.0.0.1:${metricsPort}`, MILAGRO_HTTP_ALLOWEDHOSTS: 'fid.example' } })
    apiPort = Number(new URL(node.url).port)
  })
  after(async () => { await cluster?.close() })

  it('the API refuses Host rebind.attacker.example:PORT and answers Host 127.0.0.1:PORT', async () => {
    const attacked = await raw(apiPort, 'GET', '/v1/status', { host: `${ATTACKER}:${apiPort}` })
    assert.equal(attacked.status, 403, attacked.body)
    assert.equal(codeOf(attacked), 'HOST_NOT_ALLOWED')
    assertNoCors(attacked.headers, 'daemon refusal')
    const own = await raw(apiPort, 'GET', '/v1/status', { host: `127.0.0.1:${apiPort}` })
    assert.equal(own.status, 200, own.body)
    assert.equal(JSON.parse(own.body).nodeCID, node.cid)
    for (const host of [`localhost:${apiPort}`, `[::1]:${apiPort}`, `fid.example:${apiPort}`]) {
      assert.equal((await raw(apiPort, 'GET', '/v1/status', { host })).status, 200, `Host ${host} (fid.example from MILAGRO_HTTP_ALLOWEDHOSTS)`)
    }
  })

  it('a rebound page cannot create identities, place orders or read the API document; nothing was created', async () => {
    const host = `${ATTACKER}:${apiPort}`
    for (const [method, path, body] of [
      ['POST', '/v1/identity', JSON.stringify({ name: 'planted-by-a-web-page' })],
      ['POST', '/v1/order', '{}'],
      ['POST', '/v1/order/secret', JSON.stringify({ orderReference: REFERENCE })],
      ['POST', '/v1/fulfill/order/secret', JSON.stringify({ orderPart3CID: CID, documentCID: CID })],
      ['GET', '/v1/identity', undefined],
      ['GET', '/openapi.json', undefined],
      ['GET', '/docs/', undefined],
    ] as const) {
      const answer = await raw(apiPort, method, path, { host }, body)
      assert.equal(answer.status, 403, `${method} ${path}: ${answer.body}`)
      assert.equal(codeOf(answer), 'HOST_NOT_ALLOWED')
      assertNoCors(answer.headers, `${method} ${path}`)
    }
    const origin = await raw(apiPort, 'POST', '/v1/identity', { host: `127.0.0.1:${apiPort}`, origin: `http://${ATTACKER}` }, JSON.stringify({ name: 'csrf' }))
    assert.equal(origin.status, 403, origin.body)
    assert.equal(codeOf(origin), 'ORIGIN_NOT_ALLOWED')
    const preflight = await raw(apiPort, 'OPTIONS', '/v1/order', { host: `127.0.0.1:${apiPort}`, origin: `http://${ATTACKER}`, 'access-control-request-method': 'POST' })
    assert.equal(preflight.status, 403)
    assertNoCors(preflight.headers, 'preflight')
    const list = await raw(apiPort, 'GET', '/v1/identity?perPage=100', { host: `127.0.0.1:${apiPort}` })
    const names = (JSON.parse(list.body) as { idDocumentList: Array<{ authenticationReference: string }> }).idDocumentList.map(i => i.authenticationReference)
    assert.deepEqual(names, ['web-page'], 'only the node identity exists')
    const orders = await raw(apiPort, 'GET', '/v1/order', { host: `127.0.0.1:${apiPort}` })
    assert.deepEqual(JSON.parse(orders.body).orderReference, [], 'no order was placed')
  })

  it('a request with an empty Host, or without any, is refused too', async () => {
    const http10 = await rawBytes(apiPort, 'GET /v1/status HTTP/1.0\r\n\r\n')
    assert.equal(http10.status, 403, http10.text)
    assert.match(http10.text, /HOST_NOT_ALLOWED/)
    for (const version of ['1.0', '1.1']) {
      const empty = await rawBytes(apiPort, `GET /v1/status HTTP/${version}\r\nHost: \r\nConnection: close\r\n\r\n`)
      assert.ok(empty.status >= 400 && empty.status < 500, `HTTP/${version} with an empty Host → ${empty.status}`)
    }
    const emptyPost = await rawBytes(apiPort, 'POST /v1/identity HTTP/1.0\r\nHost:\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"name":1}')
    assert.equal(emptyPost.status, 403, emptyPost.text)
    const http11 = await rawBytes(apiPort, 'GET /v1/status HTTP/1.1\r\nConnection: close\r\n\r\n')
    assert.ok(http11.status >= 400 && http11.status < 500, `HTTP/1.1 without Host → ${http11.status}`)
  })

  it('the metrics listener refuses a rebound Host and answers its own', async () => {
    const attacked = await raw(metricsPort, 'GET', '/metrics', { host: `${ATTACKER}:${metricsPort}` })
    assert.equal(attacked.status, 403, attacked.body)
    assert.equal(codeOf(attacked), 'HOST_NOT_ALLOWED')
    assert.ok(!attacked.body.includes('milagro_http_requests_total'))
    assertNoCors(attacked.headers, 'metrics refusal')
    for (const host of [`127.0.0.1:${metricsPort}`, `localhost:${metricsPort}`, `fid.example:${metricsPort}`]) {
      const own = await raw(metricsPort, 'GET', '/metrics', { host })
      assert.equal(own.status, 200, `Host ${host}: ${own.body.slice(0, 200)}`)
      assert.match(own.body, /milagro_http_requests_total/)
    }
    const origin = await raw(metricsPort, 'GET', '/metrics', { host: `127.0.0.1:${metricsPort}`, origin: `http://${ATTACKER}` })
    assert.equal(origin.status, 403)
    assert.equal(codeOf(origin), 'ORIGIN_NOT_ALLOWED')
    const none = await rawBytes(metricsPort, 'GET /metrics HTTP/1.0\r\n\r\n')
    assert.equal(none.status, 403, none.text)
  })

  it('the refusals are counted in the metrics, and the daemon logged no error', async () => {
    const text = (await raw(metricsPort, 'GET', '/metrics', { host: `127.0.0.1:${metricsPort}` })).body
    assert.match(text, /milagro_http_requests_total\{[^}]*status="403"\} \d+/)
    assert.deepEqual(node.errorLines(), [])
  })
})

describe('a hostile web page, in process: the metrics listener', () => {
  it('answers the names of the app it instruments', async () => {
    const metrics = createMetrics()
    const { services } = spyServices()
    const app = await buildApp({ services, bodyLimit: 1 << 20, requestTimeoutMs: 0, version: '0', allowedHosts: ['scraper.example'], metrics })
    try {
      const address = await metrics.listen('127.0.0.1', 0)
      const port = Number(address.split(':').pop())
      assert.equal((await raw(port, 'GET', '/metrics', { host: `scraper.example:${port}` })).status, 200)
      assert.equal((await raw(port, 'GET', '/metrics', { host: `${ATTACKER}:${port}` })).status, 403)
    } finally {
      await metrics.close()
      await app.close()
    }
  })
})
