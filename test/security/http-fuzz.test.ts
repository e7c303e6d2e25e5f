/**
 * Security suite (a): a bounded, seeded, reproducible fuzz run over EVERY HTTP endpoint
 * (test/security/fixtures/http-fuzz.ts generates the cases and judges the answers):
 * - in process (`app.inject`) against three real multi nodes, one per plugin (milagro,
 *   safeguardsecret, bitcoinwallet), primed with identities, orders and their documents;
 * - over real HTTP against a `milagro daemon` process (the e2e harness), plus raw-socket cases the
 *   HTTP client cannot send (malformed request lines, headers, lengths); the process must still
 *   be running at the end, with no error line in its log;
 * - the Authorization header with OAuth2 on (a real OIDC provider): mutated and made-up tokens
 *   get a 401 with an AUTH_* code, never anything else.
 * Fails on any 5xx, an error answer without a registered code, a non-JSON answer from an API
 * route, or a hang (per-request timeout). Prints the seed and the counts; replay one run with
 * FUZZ_SEED=<seed>, make it longer with FUZZ_CASES=<cases per node>.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../src/config/load.ts'
import { createNode, initNode } from '../../src/node.ts'
import type { DtaNode } from '../../src/node.ts'
import { cidV0Of } from '../../src/adapters/ipfs/unixfs.ts'
import { ERRORS } from '../../src/errors.ts'
import { createCluster } from '../e2e/server/harness.ts'
import { prng } from '../helpers/prng.ts'
import { generateCase, judge } from './fixtures/http-fuzz.ts'
import type { FuzzCorpus, FuzzRequest, FuzzResponse } from './fixtures/http-fuzz.ts'
import { AUDIENCE, foreignKey, startTestIssuer } from './fixtures/oidc.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 20261121)
const CASES_PER_NODE = Number(process.env.FUZZ_CASES ?? 1000)
const HTTP_CASES = Math.max(100, Math.floor(CASES_PER_NODE / 2))
const AUTH_CASES = Math.max(100, Math.floor(CASES_PER_NODE / 2))
const REQUEST_TIMEOUT_MS = 10_000
const CONCURRENCY = 8
const PLUGINS = ['milagro', 'safeguardsecret', 'bitcoinwallet'] as const
const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '100', MILAGRO_HTTP_METRICSLISTENADDR: '' }

/** Status of an over-limit request the node stopped reading (the client saw EPIPE/ECONNRESET). */
const CLOSED_EARLY = -1

interface Failure { n: number, request: string, why: string }

function describeRequest (r: FuzzRequest): string {
  const body = r.body === undefined ? '' : ` body(${r.body.length})=${r.body.subarray(0, 160).toString('utf8')}`
  return `[${r.kind}] ${r.method} ${r.url.slice(0, 200)} ${JSON.stringify(r.headers)}${body}`
}

function sameToken (header: string, token: string): boolean {
  const match = /^bearer +(\S+) *$/i.exec(header)
  if (match === null) return false
  const decode = (t: string): string[] => t.split('.').map(p => Buffer.from(p, 'base64url').toString('hex'))
  return JSON.stringify(decode(match[1]!)) === JSON.stringify(decode(token))
}

async function withTimeout<T> (promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`hang: no answer within ${REQUEST_TIMEOUT_MS} ms (${what})`)) }, REQUEST_TIMEOUT_MS) })])
  } finally {
    clearTimeout(timer)
  }
}

/** Runs `count` cases with bounded concurrency; returns the failures. */
async function runCases (count: number, first: number, send: (r: FuzzRequest) => Promise<FuzzResponse>, corpus: FuzzCorpus, kinds: Record<string, number>): Promise<Failure[]> {
  const failures: Failure[] = []
  let next = first
  const end = first + count
  async function worker (): Promise<void> {
    while (next < end) {
      const n = next++
      const request = await generateCase(SEED, n, corpus)
      kinds[request.kind] = (kinds[request.kind] ?? 0) + 1
      try {
        const response = await withTimeout(send(request), describeRequest(request))
        const why = response.status === CLOSED_EARLY ? undefined : judge(request, response)
        if (why !== undefined) failures.push({ n, request: describeRequest(request), why })
      } catch (err) {
        failures.push({ n, request: describeRequest(request), why: `threw ${(err as Error).message}` })
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return failures
}

function report (t: TestContext, what: string, cases: number, failures: Failure[], kinds: Record<string, number>): void {
  t.diagnostic(`${what}: ${cases} cases, seed ${SEED}, ${failures.length} failures; kinds ${JSON.stringify(kinds)}`)
  assert.equal(failures.length, 0, `${failures.length} of ${cases} cases failed (seed ${SEED}); first ones:\n${failures.slice(0, 15).map(f => `#${f.n} ${f.why}\n    ${f.request}`).join('\n')}`)
}

async function primeCorpus (node: DtaNode, plugin: string, bodyLimit: number): Promise<FuzzCorpus> {
  const inject = async (url: string, payload: unknown): Promise<Record<string, any>> => {
    const res = await node.app.inject({ method: 'POST', url, payload: payload as string })
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
    return res.json()
  }
  const identity: string = (await inject('/v1/identity', { name: `fuzz-${plugin}` })).idDocumentCID
  const ext = plugin === 'safeguardsecret' ? { plainText: 'fuzz corpus' } : plugin === 'bitcoinwallet' ? { coin: '1' } : {}
  const order = await inject('/v1/order', { extension: ext })
  const secret = await inject('/v1/order/secret', { orderReference: order.orderReference, ...(plugin === 'safeguardsecret' ? { extension: order.extension } : {}) })
  const order2 = await inject('/v1/order', { beneficiaryIDDocumentCID: identity, extension: ext })
  const cids: string[] = [node.nodeCID, identity, order.orderPart1CID, order.orderPart2CID, secret.orderPart3CID, secret.orderPart4CID, order2.orderPart1CID, order2.orderPart2CID]
  const documents = await Promise.all(cids.map(async cid => ({ cid, bytes: await node.documents.get(cid) })))
  return {
    nodeCID: node.nodeCID,
    identityCIDs: [identity],
    orderReferences: [order.orderReference, order2.orderReference],
    documents,
    bodyLimit,
    cidOf: cidV0Of,
  }
}

function injectSender (node: DtaNode): (r: FuzzRequest) => Promise<FuzzResponse> {
  return async (r) => {
    const res = await node.app.inject({ method: r.method as 'GET', url: r.url, headers: r.headers, payload: r.body })
    return { status: res.statusCode, headers: res.headers, body: res.rawPayload }
  }
}

function httpSender (base: string): (r: FuzzRequest) => Promise<FuzzResponse> {
  const { hostname, port } = new URL(base)
  return async (r) => await new Promise<FuzzResponse>((resolve, reject) => {
    const headers: Record<string, string | number> = { ...r.headers }
    if (r.body !== undefined) headers['content-length'] = r.body.length
    const req = httpRequest({ host: hostname, port, method: r.method, path: r.url, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
      res.on('error', reject)
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The node answers 413 and closes while an over-limit body is still being written.
      if (r.kind === 'over-limit' && (err.code === 'EPIPE' || err.code === 'ECONNRESET')) resolve({ status: CLOSED_EARLY, headers: {}, body: Buffer.alloc(0) })
      else reject(err)
    })
    req.end(r.body)
  })
}

/** One raw request over a socket; resolves with the parsed status and body, or status 0 when the server closes without answering. */
async function rawExchange (host: string, port: number, bytes: Buffer): Promise<FuzzResponse> {
  return await new Promise<FuzzResponse>((resolve, reject) => {
    const socket = connect({ host, port })
    const chunks: Buffer[] = []
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => { socket.destroy(); reject(new Error('raw request: hang')) })
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      // one answer is enough: stop once a full response has arrived
      const text = Buffer.concat(chunks).toString('latin1')
      const head = text.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: *(\d+)/i.exec(text)
      if (head >= 0 && length !== null && Buffer.byteLength(text.slice(head + 4), 'latin1') >= Number(length[1])) socket.end()
    })
    socket.on('error', () => { /* a reset after the answer is fine */ })
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      if (status === null) { resolve({ status: 0, headers: {}, body: Buffer.alloc(0) }); return }
      const head = text.indexOf('\r\n\r\n')
      const headers: Record<string, string> = {}
      for (const line of text.slice(0, head).split('\r\n').slice(1)) {
        const at = line.indexOf(':')
        if (at > 0) headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim()
      }
      resolve({ status: Number(status[1]), headers, body: Buffer.from(text.slice(head + 4), 'latin1') })
    })
    socket.write(bytes)
  })
}

const RAW_CASES: Array<[string, string]> = [
  ['baseline', 'GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'],
  ['space in the path', 'GET /v1/st atus HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
  ['NUL in the path', 'GET /v1/\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
  ['bad method', 'G@T /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
  ['unknown method', 'BREW /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
  ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ['bad version', 'GET /v1/status HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n'],
  ['absolute URL', 'GET http://evil.example/v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
  ['asterisk', 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
  ['header without a colon', 'GET /v1/status HTTP/1.1\r\nHost x\r\n\r\n'],
  ['header with a NUL', 'GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\x00b\r\n\r\n'],
  ['non-numeric content-length', 'POST /v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}'],
  ['negative content-length', 'POST /v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}'],
  ['two content-lengths', 'POST /v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
  ['content-length and chunked', 'POST /v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'],
  ['bad chunk size', 'POST /v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
  ['chunked JSON', 'POST /v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n{"na\r\na\r\nme":"raw"}\r\n0\r\n\r\n'],
  ['oversized headers', `GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ['oversized path', `GET /v1/identity/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`],
  ['lone LF line ends', 'GET /v1/status HTTP/1.1\nHost: 127.0.0.1\n\n'],
  ['obsolete line folding', 'GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n b\r\n\r\n'],
  ['gzip body that is not gzip', 'POST /v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'],
]

describe('security: HTTP fuzz', () => {
  const nodes: DtaNode[] = []
  const corpora: FuzzCorpus[] = []
  let root: string

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'dta-fuzz-'))
    for (const plugin of PLUGINS) {
      const home = path.join(root, plugin)
      await initNode({ home, nodeName: `fuzz-${plugin}`, service: plugin, env })
      const config = await loadConfig({ home, env })
      const node = await createNode({ home, config })
      nodes.push(node)
      corpora.push(await primeCorpus(node, plugin, config.http.requestBodyLimit))
    }
  })
  after(async () => {
    for (const node of nodes) await node.stop()
    if (root !== undefined) rmSync(root, { recursive: true, force: true })
  })

  it(`in process: ${CASES_PER_NODE} cases per plugin node over every endpoint, never a 5xx, always a coded JSON error`, async (t) => {
    const failures: Failure[] = []
    const kinds: Record<string, number> = {}
    for (let i = 0; i < nodes.length; i++) {
      failures.push(...await runCases(CASES_PER_NODE, i * CASES_PER_NODE, injectSender(nodes[i]!), corpora[i]!, kinds))
      // still serving
      assert.equal((await nodes[i]!.app.inject({ method: 'GET', url: '/v1/status' })).statusCode, 200)
    }
    report(t, 'in-process fuzz', CASES_PER_NODE * nodes.length, failures, kinds)
  })

  it('regressions: the cases the fuzz found, replayed (each was a 5xx or an error without a code before its fix)', async () => {
    const node = nodes[0]!
    const cases: Array<[string, string, unknown, number, string]> = [
      // Record schemas let keys that miss their pattern through with any value → TypeError → 500
      ['POST', '/v1/fulfill/order/secret', { orderPart3CID: node.nodeCID, documentCID: node.nodeCID, documents: { '-1': { a: '0' } } }, 422, 'REQUEST_INVALID'],
      ['POST', '/v1/fulfill/order', { orderPart1CID: node.nodeCID, documentCID: node.nodeCID, documents: { x: 1 } }, 422, 'REQUEST_INVALID'],
      ['POST', '/v1/order', { extension: { '': { a: 1 } } }, 422, 'REQUEST_INVALID'],
      ['POST', '/v1/order', { extension: { __proto__x: ['a'] } }, 422, 'REQUEST_INVALID'],
      // the static-file plugin refused a NUL with a 403 FastifyError → mapped to INTERNAL
      ['GET', '/docs/static/%00', undefined, 404, 'NOT_FOUND'],
      // router errors answered by Fastify itself, without our code
      ['GET', '/v1/identity/%E0%A4%A', undefined, 400, 'BAD_REQUEST'],
      ['GET', '/v1/order/%', undefined, 400, 'BAD_REQUEST'],
      ['GET', `/v1/order/${'x'.repeat(150)}`, undefined, 422, 'REQUEST_INVALID'],
    ]
    for (const [method, url, payload, status, code] of cases) {
      const res = await node.app.inject({ method: method as 'GET', url, payload: payload as string })
      assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`)
      assert.equal((res.json() as { code: string }).code, code, `${method} ${url}`)
    }
  })

  it(`over real HTTP: ${HTTP_CASES} cases and ${RAW_CASES.length} raw-socket cases against a daemon process, which survives them`, async (t) => {
    const cluster = await createCluster(t, 'dta-fuzz-http-')
    const daemon = await cluster.init('fuzz-http', { nodeType: 'multi', service: 'milagro' })
    await daemon.start({ env: { MILAGRO_IPFS_FETCHTIMEOUTMS: '100' } })
    const identity = (await daemon.ok<{ idDocumentCID: string }>('/v1/identity', { name: 'fuzz-http' })).idDocumentCID
    const order = await daemon.ok<{ orderReference: string }>('/v1/order', {})
    const corpus: FuzzCorpus = { ...corpora[0]!, nodeCID: daemon.cid, identityCIDs: [identity], orderReferences: [order.orderReference] }
    const kinds: Record<string, number> = {}
    const failures = await runCases(HTTP_CASES, 100_000, httpSender(daemon.url), corpus, kinds)

    const { hostname, port } = new URL(daemon.url)
    const rawStatus: Record<string, string> = {}
    for (const [name, raw] of RAW_CASES) {
      const response = await rawExchange(hostname, Number(port), Buffer.from(raw, 'latin1'))
      kinds.raw = (kinds.raw ?? 0) + 1
      let code = ''
      try { code = String((JSON.parse(response.body.toString()) as { code?: string }).code) } catch { code = response.body.length > 0 ? 'not JSON' : '' }
      rawStatus[name] = `${response.status} ${code}`
      if (response.status === 0) continue // closed without an answer: acceptable for garbage
      const why = judge({ method: raw.startsWith('HEAD') ? 'HEAD' : 'GET', url: '/v1/raw', headers: {}, kind: 'raw' }, response)
      if (why !== undefined) failures.push({ n: -1, request: `raw: ${name}`, why })
    }
    t.diagnostic(`raw answers: ${JSON.stringify(rawStatus)}`)
    assert.equal(rawStatus.baseline, '200 undefined', 'the raw client works')
    assert.equal(rawStatus['oversized headers'], '431 REQUEST_HEADERS_TOO_LARGE')
    assert.equal(rawStatus['bad chunk size'], '400 BAD_REQUEST')
    assert.equal(rawStatus['chunked JSON'], '200 undefined')
    assert.ok(daemon.running, `the daemon died:\n${daemon.logTail(30)}`)
    assert.equal((await daemon.get('/v1/status')).status, 200)
    assert.deepEqual(daemon.errorLines(), [], 'no error-level log line')
    report(t, 'real-HTTP fuzz', HTTP_CASES + RAW_CASES.length, failures, kinds)
  })

  it(`the Authorization header, OAuth2 on: ${AUTH_CASES} mutated or made-up tokens, each a 401 with an AUTH_* code`, async (t) => {
    const idp = await startTestIssuer()
    const home = path.join(root, 'auth')
    await initNode({ home, nodeName: 'fuzz-auth', env })
    const node = await createNode({ home, config: await loadConfig({ home, env: { ...env, MILAGRO_HTTP_OIDCISSUER: idp.issuer, MILAGRO_HTTP_OIDCAUDIENCE: AUDIENCE } }) })
    try {
      const valid = await idp.token()
      const other = await idp.mint(idp.claims(), { key: await foreignKey(idp.kid) })
      const rand = prng(SEED ^ 0x5eed)
      const tally: Record<string, number> = {}
      const failures: Failure[] = []
      for (let n = 0; n < AUTH_CASES; n++) {
        const base = rand.int(2) === 0 ? valid : other
        let header: string
        switch (rand.int(7)) {
          case 0: { // flip characters of the token
            const chars = [...base]
            for (let k = 1 + rand.int(3); k > 0; k--) chars[rand.int(chars.length)] = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ '[rand.int(69)]!
            header = `Bearer ${chars.join('')}`
            break
          }
          case 1: { // swap, drop or repeat segments
            const parts = base.split('.')
            const i = rand.int(3); const j = rand.int(3)
            ;[parts[i], parts[j]] = [parts[j]!, parts[i]!]
            header = `Bearer ${rand.int(2) === 0 ? parts.join('.') : parts.slice(0, 1 + rand.int(3)).join('.') + '.'.repeat(rand.int(3))}`
            break
          }
          case 2: { // a made-up header over the real payload and signature
            const [, payload, signature] = base.split('.')
            const alg = ['none', 'None', 'HS256', 'HS512', 'RS256', 'ES256', 'EdDSA', 'PS256', '', 'ES256K', 'dir', 'A128KW'][rand.int(12)]
            const fields = { alg, kid: rand.int(2) === 0 ? idp.kid : String(rand.int(1e6)), typ: 'at+jwt', ...(rand.int(4) === 0 ? { crit: ['exp'] } : {}), ...(rand.int(4) === 0 ? { jku: 'http://127.0.0.1:1/jwks' } : {}), ...(rand.int(4) === 0 ? { b64: false, crit: ['b64'] } : {}) }
            header = `Bearer ${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${payload}.${signature}`
            break
          }
          case 3: // random bytes
            header = `Bearer ${Buffer.from(rand.bytes(rand.int(300))).toString(rand.int(2) === 0 ? 'base64url' : 'base64')}`
            break
          case 4: // scheme and spacing
            header = `${['Bearer', 'bearer', 'BEARER', 'Basic', 'Bearer:', 'Token', ''][rand.int(7)]}${[' ', '  ', '', '\t'][rand.int(4)]}${base}`
            break
          case 5: // huge
            header = `Bearer ${base}${'A'.repeat(rand.int(12_000))}`
            break
          default: // payload re-encoded with other claims, original signature
            header = `Bearer ${base.split('.')[0]}.${Buffer.from(JSON.stringify(idp.claims({ aud: [AUDIENCE, 'x'], exp: rand.int(2 ** 31) }))).toString('base64url')}.${base.split('.')[2]}`
        }
        const res = await withTimeout(node.app.inject({ method: 'GET', url: '/v1/audit', headers: { authorization: header } }), 'auth fuzz')
        const body = res.json() as { code?: string, statusCode?: number }
        tally[String(body.code ?? res.statusCode)] = (tally[String(body.code ?? res.statusCode)] ?? 0) + 1
        // accepted only if it IS the valid token: the scheme is case-insensitive and may be followed
        // by several spaces (RFC 7235), and base64url's unused low bits in a last character do not count
        if (res.statusCode === 200 && sameToken(header, valid)) { tally.equivalent = (tally.equivalent ?? 0) + 1; continue }
        const ok = res.statusCode === 401 && typeof body.code === 'string' && body.code.startsWith('AUTH_') && Object.hasOwn(ERRORS, body.code) &&
          /^Bearer realm="milagro-dta"/.test(String(res.headers['www-authenticate']))
        if (!ok) failures.push({ n, request: header.slice(0, 200), why: `${res.statusCode} ${res.body.slice(0, 200)}` })
      }
      t.diagnostic(`auth fuzz codes: ${JSON.stringify(tally)}`)
      report(t, 'Authorization fuzz', AUTH_CASES, failures, {})
    } finally {
      await node.stop()
      await idp.stop()
    }
  })
})
