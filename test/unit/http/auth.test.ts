/**
 * OAuth2 bearer tokens (PROTOCOL §8, src/http/auth.ts) against a REAL OIDC provider running in
 * the test on 127.0.0.1 (`oidc-provider`, client-credentials grant, JWT access tokens; JWKS
 * served by the provider over HTTP — test/security/fixtures/oidc.ts):
 * - the verifier alone: a valid token is accepted; expired, not-yet-valid, wrong audience, wrong
 *   issuer, bad signature, `alg: none`, HS256 (from the provider, and the key-confusion forgery),
 *   missing/garbage headers are refused with their codes; the JWKS is cached, refetched for a new
 *   `kid` (a key rotation on the provider) only after the cooldown; an unreachable issuer is 503;
 * - a real node with auth on (in process): public routes stay open, every other route (unknown
 *   ones too) needs a token, refusals carry `WWW-Authenticate`, bodies are not read before auth;
 * - a principal and a fiduciary over real HTTP, both with auth on: the principal's configured
 *   `http.bearerToken` lets it order; without it (or with an expired one) the order fails on the
 *   principal with 502 PEER_UNAUTHORIZED; a principal not on the fiduciary's allow-list gets 403
 *   ORDER_NOT_ENTITLED, which the fiduciary's audit trail records.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createServer } from 'node:net'
import { CompactSign, importJWK } from 'jose'
import { createHmac } from 'node:crypto'
import { DtaError, ERRORS } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { createBearerVerifier } from '../../../src/http/auth.ts'
import type { BearerVerifier } from '../../../src/http/auth.ts'
import { loadConfig } from '../../../src/config/load.ts'
import type { PartialConfig } from '../../../src/config/schema.ts'
import { createNode, initNode } from '../../../src/node.ts'
import type { DtaNode } from '../../../src/node.ts'
import { AUDIENCE, CLIENTS, foreignKey, HS256_RESOURCE, startTestIssuer } from '../../security/fixtures/oidc.ts'
import type { TestIssuer } from '../../security/fixtures/oidc.ts'

const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '2000', MILAGRO_HTTP_METRICSLISTENADDR: '' }

async function expectCode (promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DtaError, `not a DtaError: ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return true
  })
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')

/** A compact JWS over arbitrary payload bytes, signed with the provider's current key. */
async function signRaw (idp: TestIssuer, payload: string): Promise<string> {
  const jwk = idp.signingKey()
  return await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'ES256', kid: jwk.kid }).sign(await importJWK(jwk, 'ES256'))
}

async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return port
}

describe('bearer verifier, against a real OIDC provider', () => {
  let idp: TestIssuer
  let verifier: BearerVerifier
  before(async () => {
    idp = await startTestIssuer()
    verifier = createBearerVerifier({ issuer: idp.issuer, audience: AUDIENCE })
  })
  after(async () => { await idp?.stop() })

  it('accepts a client-credentials access token from the provider', async () => {
    const token = await idp.token()
    const caller = await verifier.verify(`Bearer ${token}`)
    assert.equal(caller.clientId, 'operator')
    assert.equal(caller.subject, 'operator')
    assert.ok(caller.expiresAt > Date.now() / 1000)
    // the scheme is case-insensitive (RFC 7235)
    await verifier.verify(`bearer ${token}`)
    assert.equal(idp.jwksFetches, 1, 'the JWKS is fetched once and cached')
  })

  it('refuses expired and not-yet-valid tokens, with a small clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000)
    await expectCode(verifier.verify(`Bearer ${await idp.mint(idp.claims({ iat: now - 600, exp: now - 120 }))}`), 'AUTH_TOKEN_EXPIRED')
    await expectCode(verifier.verify(`Bearer ${await idp.mint(idp.claims({ iat: now - 600, exp: now - 31 }))}`), 'AUTH_TOKEN_EXPIRED')
    await verifier.verify(`Bearer ${await idp.mint(idp.claims({ iat: now - 600, exp: now - 5 }))}`)
    await expectCode(verifier.verify(`Bearer ${await idp.mint(idp.claims({ nbf: now + 120 }))}`), 'AUTH_TOKEN_NOT_YET_VALID')
    const { exp: _exp, ...noExp } = idp.claims()
    await expectCode(verifier.verify(`Bearer ${await idp.mint(noExp)}`), 'AUTH_TOKEN_INVALID')
  })

  it('refuses a token for another audience (issued by the provider for another resource)', async () => {
    const token = await idp.token({ resource: 'urn:another:service' })
    await expectCode(verifier.verify(`Bearer ${token}`), 'AUTH_WRONG_AUDIENCE')
  })

  it('refuses a token naming another issuer, even signed with the provider key', async () => {
    await expectCode(verifier.verify(`Bearer ${await idp.mint(idp.claims({ iss: 'http://127.0.0.1:1' }))}`), 'AUTH_WRONG_ISSUER')
    await expectCode(verifier.verify(`Bearer ${await idp.mint(idp.claims({ iss: `${idp.issuer}/other` }))}`), 'AUTH_WRONG_ISSUER')
  })

  it('refuses bad signatures: another key under the provider kid or an unknown kid, and a tampered payload', async () => {
    const other = await foreignKey(idp.kid)
    await expectCode(verifier.verify(`Bearer ${await idp.mint(idp.claims(), { key: other })}`), 'AUTH_BAD_SIGNATURE')
    const stranger = await foreignKey('stranger')
    await expectCode(verifier.verify(`Bearer ${await idp.mint(idp.claims(), { key: stranger })}`), 'AUTH_BAD_SIGNATURE')
    const [h, , s] = (await idp.token()).split('.')
    await expectCode(verifier.verify(`Bearer ${h}.${b64(idp.claims({ sub: 'admin' }))}.${s}`), 'AUTH_BAD_SIGNATURE')
    const flipped = (await idp.token()).slice(0, -4) + 'AAAA'
    await expectCode(verifier.verify(`Bearer ${flipped}`), 'AUTH_BAD_SIGNATURE')
  })

  it('refuses alg none and symmetric algorithms (also the public-key-as-HMAC-secret forgery)', async () => {
    const claims = idp.claims()
    await expectCode(verifier.verify(`Bearer ${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`), 'AUTH_ALGORITHM_REFUSED')
    await expectCode(verifier.verify(`Bearer ${b64({ alg: 'none' })}.${b64(claims)}.c2ln`), 'AUTH_ALGORITHM_REFUSED')
    await expectCode(verifier.verify(`Bearer ${b64({ alg: 'NONE' })}.${b64(claims)}.`), 'AUTH_ALGORITHM_REFUSED')
    await expectCode(verifier.verify(`Bearer ${b64({ typ: 'JWT' })}.${b64(claims)}.c2ln`), 'AUTH_ALGORITHM_REFUSED')
    // HS256 as the provider itself issues it for a resource configured that way
    await expectCode(verifier.verify(`Bearer ${await idp.token({ resource: HS256_RESOURCE })}`), 'AUTH_ALGORITHM_REFUSED')
    // the classic confusion: HMAC keyed with the issuer's public key, which anyone can fetch
    const jwks = await (await fetch(`${idp.issuer}/jwks`)).json() as { keys: Array<Record<string, unknown>> }
    const publicKey = JSON.stringify(jwks.keys[0])
    const input = `${b64({ alg: 'HS256', kid: idp.kid })}.${b64(claims)}`
    const forged = `${input}.${createHmac('sha256', publicKey).update(input).digest('base64url')}`
    await expectCode(verifier.verify(`Bearer ${forged}`), 'AUTH_ALGORITHM_REFUSED')
    // and an RS256 header over an ES256 key: no key matches
    await expectCode(verifier.verify(`Bearer ${b64({ alg: 'RS256', kid: idp.kid })}.${b64(claims)}.c2ln`), 'AUTH_BAD_SIGNATURE')
  })

  it('refuses missing and garbage Authorization headers', async () => {
    await expectCode(verifier.verify(undefined), 'AUTH_TOKEN_MISSING')
    await expectCode(verifier.verify(''), 'AUTH_TOKEN_MISSING')
    await expectCode(verifier.verify('   '), 'AUTH_TOKEN_MISSING')
    const token = await idp.token()
    for (const bad of [
      'Bearer', 'Bearer ', `Basic ${Buffer.from('a:b').toString('base64')}`, `Token ${token}`, 'Bearer garbage', 'Bearer a.b.c',
      `Bearer ${token} extra`, `Bearer ${token}.more.parts`, 'Bearer e30.e30.e30.e30.e30', `Bearer ${'A'.repeat(9000)}.e30.c2ln`,
      `Bearer ${b64('string')}.${b64({})}.c2ln`, `Bearer ${Buffer.from('{"alg":').toString('base64url')}.e30.c2ln`,
      `Bearer ${token.replace('.', '..')}`, `Bearer ${token}=`, `Bearer\t${token}`,
    ]) {
      await expectCode(verifier.verify(bad), 'AUTH_TOKEN_MALFORMED')
    }
    // a payload that is not a JSON object, correctly signed by the provider key
    await expectCode(verifier.verify(`Bearer ${await signRaw(idp, '"just a string"')}`), 'AUTH_TOKEN_MALFORMED')
  })

  it('picks up a key rotation on the provider (new kid) after the cooldown, without refetching on every unknown kid', async () => {
    const before = idp.jwksFetches
    const oldToken = await idp.token()
    await verifier.verify(`Bearer ${oldToken}`)
    const newKid = await idp.rotate()
    const newToken = await idp.token()
    assert.equal(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid, newKid)
    // make sure the cache is older than the cooldown (2 s), then the unknown kid triggers one fetch
    const wait = idp.lastJwksFetchAt + 2_100 - Date.now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    const caller = await verifier.verify(`Bearer ${newToken}`)
    assert.equal(caller.clientId, 'operator')
    assert.equal(idp.jwksFetches, before + 1, 'exactly one refetch for the new kid')
    await verifier.verify(`Bearer ${oldToken}`)
    // within the cooldown, made-up kids are refused without hitting the provider again
    for (let i = 0; i < 5; i++) {
      await expectCode(verifier.verify(`Bearer ${await idp.mint(idp.claims(), { key: await foreignKey(`made-up-${i}`) })}`), 'AUTH_BAD_SIGNATURE')
    }
    assert.equal(idp.jwksFetches, before + 1)
  })

  it('an unreachable or misconfigured issuer is 503 AUTH_ISSUER_UNAVAILABLE, not a 401', async () => {
    const dead = createBearerVerifier({ issuer: `http://127.0.0.1:${await closedPort()}`, audience: AUDIENCE, fetchTimeoutMs: 500 })
    await expectCode(dead.verify(`Bearer ${await idp.token()}`), 'AUTH_ISSUER_UNAVAILABLE')
    // the discovery document names another issuer (127.0.0.1 vs localhost)
    const misnamed = createBearerVerifier({ issuer: idp.issuer.replace('127.0.0.1', 'localhost'), audience: AUDIENCE })
    await expectCode(misnamed.verify(`Bearer ${await idp.token()}`), 'AUTH_ISSUER_UNAVAILABLE')
    // no discovery document at all
    const wrongPath = createBearerVerifier({ issuer: `${idp.issuer}/nothing-here`, audience: AUDIENCE })
    await expectCode(wrongPath.verify(`Bearer ${await idp.token()}`), 'AUTH_ISSUER_UNAVAILABLE')
    // a malformed token is still refused as such, before the issuer is asked
    await expectCode(dead.verify('Bearer x'), 'AUTH_TOKEN_MALFORMED')
  })

  it('refuses configurations that would weaken verification', () => {
    assert.throws(() => createBearerVerifier({ issuer: 'http://127.0.0.1:1', audience: '' }), (err: unknown) => err instanceof DtaError && err.code === 'CONFIG_INVALID')
    assert.throws(() => createBearerVerifier({ issuer: 'http://127.0.0.1:1', audience: 'a', algorithms: ['HS256'] }), (err: unknown) => err instanceof DtaError && err.code === 'CONFIG_INVALID')
    assert.throws(() => createBearerVerifier({ issuer: 'http://127.0.0.1:1', audience: 'a', algorithms: ['none'] }), (err: unknown) => err instanceof DtaError && err.code === 'CONFIG_INVALID')
    assert.throws(() => createBearerVerifier({ issuer: 'ftp://x', audience: 'a' }), (err: unknown) => err instanceof DtaError && err.code === 'CONFIG_INVALID')
  })
})

describe('a node with OAuth2 on (in process)', () => {
  let idp: TestIssuer
  let home: string
  let node: DtaNode
  let token: string
  before(async () => {
    idp = await startTestIssuer()
    home = mkdtempSync(path.join(tmpdir(), 'dta-auth-'))
    await initNode({ home, nodeName: 'auth-test', env })
    const config = await loadConfig({ home, env: { ...env, MILAGRO_HTTP_OIDCISSUER: idp.issuer, MILAGRO_HTTP_OIDCAUDIENCE: AUDIENCE } })
    node = await createNode({ home, config })
    token = await idp.token()
  })
  after(async () => {
    await node?.stop()
    await idp?.stop()
    if (home !== undefined) rmSync(home, { recursive: true, force: true })
  })

  async function call (method: string, url: string, options: { payload?: unknown, authorization?: string, headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers }
    if (options.authorization !== undefined) headers.authorization = options.authorization
    const res = await node.app.inject({ method: method as 'GET', url, payload: options.payload as string, headers })
    let body: Record<string, unknown> = {}
    try { body = res.json() } catch { /* HTML */ }
    return { status: res.statusCode, body, headers: res.headers }
  }

  it('a node whose issuer is set but audience empty does not start', async () => {
    await assert.rejects(loadConfig({ home, env: { ...env, MILAGRO_HTTP_OIDCISSUER: idp.issuer } }), (err: unknown) => err instanceof DtaError && err.code === 'CONFIG_INVALID')
    // and createNode refuses it too, before it opens anything
    const config = await loadConfig({ home, env })
    const unchecked = { ...config, http: { ...config.http, oidcIssuer: idp.issuer } }
    await assert.rejects(createNode({ home: `${home}-nonexistent`, config: unchecked }), (err: unknown) => err instanceof DtaError && err.code === 'CONFIG_INVALID' && /oidcAudience/.test(err.message))
  })

  it('status, liveness, readiness, the OpenAPI document and the docs need no token', async () => {
    assert.equal((await call('GET', '/v1/status')).status, 200)
    assert.equal((await call('HEAD', '/v1/status')).status, 200)
    assert.equal((await call('GET', '/v1/health/live')).status, 200)
    const ready = await call('GET', '/v1/health/ready')
    assert.equal(ready.status, 200, JSON.stringify(ready.body))
    assert.deepEqual(Object.keys(ready.body.checks as object).sort(), ['custody', 'database', 'ipfs'])
    const spec = await call('GET', '/openapi.json')
    assert.equal(spec.status, 200)
    const { bearerAuth } = (spec.body.components as { securitySchemes: Record<string, Record<string, unknown>> }).securitySchemes
    assert.deepEqual({ ...bearerAuth, description: undefined }, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: undefined })
    assert.match(String(bearerAuth?.description), /OAuth2 access token/)
    assert.equal((await call('GET', '/docs/')).status, 200)
    assert.equal((await call('GET', '/docs')).status < 400, true)
  })

  const PROTECTED: Array<[string, string, unknown?]> = [
    ['POST', '/v1/identity', { name: 'x' }],
    ['GET', '/v1/identity'],
    ['GET', '/v1/identity/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'],
    ['POST', '/v1/order', {}],
    ['GET', '/v1/order'],
    ['GET', `/v1/order/${'0'.repeat(32)}`],
    ['POST', '/v1/order/secret', { orderReference: '0'.repeat(32) }],
    ['GET', '/v1/log/checkpoint'],
    ['GET', '/v1/log/tile/0/000.p/2'],
    ['GET', '/v1/log/proof/consistency?first=1&second=2'],
    ['GET', '/v1/log/key'],
    ['POST', '/v1/fulfill/order', {}],
    ['POST', '/v1/fulfill/order/secret', {}],
    ['GET', '/v1/audit'],
    ['GET', '/v1/no-such-route'],
    ['DELETE', '/v1/audit'],
    ['POST', '/v1/status', {}],
  ]

  it('every other route, unknown ones included, answers 401 with a code and a WWW-Authenticate challenge', async () => {
    const stranger = await idp.mint(idp.claims(), { key: await foreignKey(idp.kid) })
    for (const [method, url, payload] of PROTECTED) {
      const missing = await call(method, url, { payload })
      assert.equal(missing.status, 401, `${method} ${url}`)
      assert.equal(missing.body.code, 'AUTH_TOKEN_MISSING')
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="milagro-dta"')
      const bad = await call(method, url, { payload, authorization: `Bearer ${stranger}` })
      assert.equal(bad.status, 401, `${method} ${url}`)
      assert.equal(bad.body.code, 'AUTH_BAD_SIGNATURE')
      assert.match(String(bad.headers['www-authenticate']), /^Bearer realm="milagro-dta", error="invalid_token", error_description="[^"]+"$/)
      assert.ok(!JSON.stringify(bad.body).includes(stranger.split('.')[2]!), 'the token is not echoed')
    }
  })

  it('refuses before reading the body: bad JSON or a huge body without a token is 401, not 400/413', async () => {
    const res = await call('POST', '/v1/identity', { payload: '{"name":', headers: { 'content-type': 'application/json' } })
    assert.equal(res.status, 401)
    const big = await call('POST', '/v1/identity', { payload: { name: 'x'.repeat(3 * 1024 * 1024) } })
    assert.equal(big.status, 401)
  })

  it('with a valid token: a full order cycle, the audit trail, and 404 for unknown routes', async () => {
    const authorization = `Bearer ${token}`
    const order = await call('POST', '/v1/order', { payload: {}, authorization })
    assert.equal(order.status, 200, JSON.stringify(order.body))
    const secret = await call('POST', '/v1/order/secret', { payload: { orderReference: order.body.orderReference }, authorization })
    assert.equal(secret.status, 200, JSON.stringify(secret.body))
    const audit = await call('GET', '/v1/audit?perPage=100', { authorization })
    assert.equal(audit.status, 200)
    const ops = (audit.body.auditList as Array<{ op: string }>).map(e => e.op)
    assert.ok(ops.includes('seed.created') && ops.includes('seed.released'), ops.join(','))
    assert.equal((await call('GET', '/v1/no-such-route', { authorization })).body.code, 'ROUTE_NOT_FOUND')
    const expired = await idp.mint(idp.claims({ exp: Math.floor(Date.now() / 1000) - 3600 }))
    const refused = await call('GET', '/v1/audit', { authorization: `Bearer ${expired}` })
    assert.equal(refused.status, 401)
    assert.equal(refused.body.code, 'AUTH_TOKEN_EXPIRED')
  })

  it('every 401 code is registered with status 401', () => {
    for (const code of ['AUTH_TOKEN_MISSING', 'AUTH_TOKEN_MALFORMED', 'AUTH_TOKEN_EXPIRED', 'AUTH_TOKEN_NOT_YET_VALID', 'AUTH_TOKEN_INVALID', 'AUTH_WRONG_AUDIENCE', 'AUTH_WRONG_ISSUER', 'AUTH_BAD_SIGNATURE', 'AUTH_ALGORITHM_REFUSED'] as const) {
      assert.equal(ERRORS[code].status, 401, code)
    }
    assert.equal(ERRORS.AUTH_ISSUER_UNAVAILABLE.status, 503)
    assert.equal(ERRORS.PEER_UNAUTHORIZED.status, 502)
  })
})

describe('principal → fiduciary over HTTP, both requiring OAuth2', () => {
  let idp: TestIssuer
  let root: string
  let fiduciary: DtaNode
  let fiduciaryUrl: string
  let principalHome: string
  const open: DtaNode[] = []

  async function openNode (home: string, vars: Record<string, string>, overrides?: PartialConfig): Promise<DtaNode> {
    const config = await loadConfig({ home, env: { ...env, MILAGRO_HTTP_LISTENADDR: '127.0.0.1:0', MILAGRO_HTTP_OIDCISSUER: idp.issuer, MILAGRO_HTTP_OIDCAUDIENCE: AUDIENCE, ...vars }, overrides })
    const node = await createNode({ home, config })
    open.push(node)
    return node
  }
  async function stop (node: DtaNode): Promise<void> {
    await node.stop()
    open.splice(open.indexOf(node), 1)
  }
  async function post (url: string, body: unknown, token?: string): Promise<{ status: number, body: Record<string, unknown> }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(20_000) })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  async function startPrincipal (bearerToken: string): Promise<{ node: DtaNode, url: string }> {
    const node = await openNode(principalHome, {
      MILAGRO_NODE_NODETYPE: 'principal',
      MILAGRO_IPFS_PEERS: fiduciary.documents.multiaddrs().join(','),
      ...(bearerToken === '' ? {} : { MILAGRO_HTTP_BEARERTOKEN: bearerToken }),
    })
    const url = await node.start()
    return { node, url }
  }

  before(async () => {
    idp = await startTestIssuer()
    root = mkdtempSync(path.join(tmpdir(), 'dta-auth-pair-'))
    const fidHome = path.join(root, 'fiduciary')
    await initNode({ home: fidHome, nodeName: 'fiduciary', nodeType: 'fiduciary', env })
    fiduciary = await openNode(fidHome, {})
    fiduciaryUrl = await fiduciary.start()
    principalHome = path.join(root, 'principal')
    await initNode({ home: principalHome, nodeName: 'principal', nodeType: 'principal', env, masterFiduciary: { cid: fiduciary.nodeCID, url: fiduciaryUrl } })
  })
  after(async () => {
    for (const node of open.splice(0)) await node.stop()
    await idp?.stop()
    if (root !== undefined) rmSync(root, { recursive: true, force: true })
  })

  it('a principal configured with a valid token orders and redeems', async () => {
    const nodeToken = await idp.token({ client: CLIENTS[1] })
    const { node, url } = await startPrincipal(nodeToken)
    try {
      const client = await idp.token()
      const order = await post(`${url}/v1/order`, {}, client)
      assert.equal(order.status, 200, JSON.stringify(order.body))
      const secret = await post(`${url}/v1/order/secret`, { orderReference: order.body.orderReference }, client)
      assert.equal(secret.status, 200, JSON.stringify(secret.body))
      assert.match(String(secret.body.secret), /^[0-9a-f]{64}$/)
      // the client's own token is checked on the principal too
      assert.equal((await post(`${url}/v1/order`, {})).status, 401)
    } finally {
      await stop(node)
    }
  })

  it('without a token, or with an expired one, the principal answers 502 PEER_UNAUTHORIZED naming the fiduciary refusal', async () => {
    const client = await idp.token()
    {
      const { node, url } = await startPrincipal('')
      try {
        const order = await post(`${url}/v1/order`, {}, client)
        assert.equal(order.status, 502, JSON.stringify(order.body))
        assert.equal(order.body.code, 'PEER_UNAUTHORIZED')
        assert.match(String(order.body.message), /AUTH_TOKEN_MISSING/)
      } finally {
        await stop(node)
      }
    }
    {
      const expired = await idp.mint(idp.claims({ sub: 'principal-node', client_id: 'principal-node', exp: Math.floor(Date.now() / 1000) - 600 }))
      const { node, url } = await startPrincipal(expired)
      try {
        const order = await post(`${url}/v1/order`, {}, client)
        assert.equal(order.status, 502)
        assert.equal(order.body.code, 'PEER_UNAUTHORIZED')
        assert.match(String(order.body.message), /AUTH_TOKEN_EXPIRED/)
      } finally {
        await stop(node)
      }
    }
  })

  it('a principal not on the allow-list gets 403 ORDER_NOT_ENTITLED, and the fiduciary audits the refusal', async () => {
    const fidHome = path.join(root, 'fiduciary')
    await stop(fiduciary)
    const someoneElse = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
    fiduciary = await openNode(fidHome, { MILAGRO_HTTP_LISTENADDR: new URL(fiduciaryUrl).host }, { http: { allowPrincipals: [someoneElse] } })
    await fiduciary.start()
    const { node, url } = await startPrincipal(await idp.token({ client: CLIENTS[1] }))
    try {
      const client = await idp.token()
      const order = await post(`${url}/v1/order`, {}, client)
      assert.equal(order.status, 403, JSON.stringify(order.body))
      assert.equal(order.body.code, 'ORDER_NOT_ENTITLED')
      const audit = await fetch(`${fiduciaryUrl}/v1/audit?perPage=100`, { headers: { authorization: `Bearer ${client}` } })
      assert.equal(audit.status, 200)
      const entries = (await audit.json() as { auditList: Array<{ op: string, actor: string | null }> }).auditList
      assert.ok(entries.some(e => e.op === 'order.refused' && e.actor === node.nodeCID), JSON.stringify(entries))
    } finally {
      await stop(node)
    }
  })
})
