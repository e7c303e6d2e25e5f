/**
 * Policies (src/http/policy.ts) on a node with OAuth2 on, against the real `oidc-provider`
 * (test/security/fixtures/oidc.ts): several users and groups, each token verified against the
 * provider's JWKS — the operator's from the client-credentials flow, the users' signed with the
 * provider's key and carrying `groups`. Deny by default; `order.redeem.own` lets a user redeem only
 * the orders she placed; every denial is 403 POLICY_DENIED and an `access.denied` audit entry
 * naming the subject; public routes stay public; bad policies are refused at load.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { isDtaError } from '../../../src/errors.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { createNode, initNode } from '../../../src/node.ts'
import type { DtaNode } from '../../../src/node.ts'
import { grantedTo, parsePolicies } from '../../../src/http/policy.ts'
import { AUDIENCE, startTestIssuer } from '../../security/fixtures/oidc.ts'
import type { TestIssuer } from '../../security/fixtures/oidc.ts'

const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '2000', MILAGRO_HTTP_METRICSLISTENADDR: '' }
const POLICIES = [
  'groups=custodians: order.create order.read order.redeem.own identity.read',
  'groups=treasury: order.redeem',
  'sub=auditor: audit.read',
  'client_id=operator: *',
]

describe('policies', () => {
  let idp: TestIssuer
  let home: string
  let node: DtaNode
  const tokens: Record<string, string> = {}
  before(async () => {
    idp = await startTestIssuer()
    home = mkdtempSync(path.join(tmpdir(), 'dta-policy-'))
    await initNode({ home, nodeName: 'policy-test', env })
    // the policies as an operator sets them: one comma-separated variable
    const config = await loadConfig({ home, env: { ...env, MILAGRO_HTTP_OIDCISSUER: idp.issuer, MILAGRO_HTTP_OIDCAUDIENCE: AUDIENCE, MILAGRO_HTTP_POLICIES: POLICIES.join(',') } })
    assert.deepEqual(config.http.policies, POLICIES)
    node = await createNode({ home, config })
    const user = async (sub: string, groups: string[]): Promise<string> => await idp.mint(idp.claims({ sub, client_id: 'console', groups }))
    tokens.operator = await idp.token() // the real client-credentials flow: client_id operator
    tokens.alice = await user('alice', ['custodians'])
    tokens.bob = await user('bob', ['custodians'])
    tokens.carol = await user('carol', [])
    tokens.auditor = await user('auditor', ['staff'])
    tokens.treasurer = await user('tess', ['treasury', 'custodians'])
  })
  after(async () => {
    await node?.stop()
    await idp?.stop()
    if (home !== undefined) rmSync(home, { recursive: true, force: true })
  })

  async function call (who: string | undefined, method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number, body: Record<string, any> }> {
    const res = await node.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }), headers: who === undefined ? {} : { authorization: `Bearer ${tokens[who]!}` } })
    return { status: res.statusCode, body: res.json() }
  }

  it('grants by claim, list claims by membership, and nothing else', () => {
    const rules = parsePolicies(POLICIES)
    assert.deepEqual([...grantedTo(rules, { sub: 'x', groups: ['custodians'] })].sort(), ['identity.read', 'order.create', 'order.read', 'order.redeem.own'])
    assert.deepEqual([...grantedTo(rules, { sub: 'auditor' })], ['audit.read'])
    assert.deepEqual([...grantedTo(rules, { sub: 'custodians', groups: 'nobody' })], [], 'a value of another claim does not count')
    assert.throws(() => parsePolicies(['sub=x: order.steal']), (err: unknown) => isDtaError(err, 'CONFIG_INVALID') && /unknown operation "order.steal"/.test(String(err)))
  })

  it('users do what their groups grant, redeem only their own orders, and every denial is audited', async () => {
    const placed = await call('alice', 'POST', '/v1/order', {})
    assert.equal(placed.status, 200, JSON.stringify(placed.body))
    const reference = placed.body.orderReference as string
    assert.equal((await call('bob', 'GET', `/v1/order/${reference}`)).status, 200, 'custodians read orders')

    const stolen = await call('bob', 'POST', '/v1/order/secret', { orderReference: reference })
    assert.equal(stolen.status, 403)
    assert.equal(stolen.body.code, 'POLICY_DENIED')
    const carolOrders = await call('carol', 'POST', '/v1/order', {})
    assert.equal(carolOrders.body.code, 'POLICY_DENIED', 'no group, no rule: denied by default')
    assert.equal((await call('carol', 'GET', '/v1/identity')).body.code, 'POLICY_DENIED')
    assert.equal((await call('alice', 'POST', '/v1/identity', { name: 'x' })).body.code, 'POLICY_DENIED', 'not granted identity.create')
    assert.equal((await call('alice', 'GET', '/v1/audit')).body.code, 'POLICY_DENIED')
    assert.equal((await call('auditor', 'POST', '/v1/order', {})).body.code, 'POLICY_DENIED')

    const own = await call('alice', 'POST', '/v1/order/secret', { orderReference: reference })
    assert.equal(own.status, 200, JSON.stringify(own.body))
    assert.equal(typeof own.body.secret, 'string')
    const treasury = await call('treasurer', 'POST', '/v1/order/secret', { orderReference: reference })
    assert.equal(treasury.status, 200, 'order.redeem: any order')

    const audit = await call('auditor', 'GET', '/v1/audit?page=0&perPage=100')
    assert.equal(audit.status, 200)
    const denials = (audit.body.auditList as Array<{ op: string, actor: string, detail: string }>).filter(e => e.op === 'access.denied')
    assert.ok(denials.some(e => e.actor === 'bob' && /order\.redeem/.test(e.detail)), JSON.stringify(denials))
    assert.ok(denials.some(e => e.actor === 'carol' && /order\.create/.test(e.detail)))
    assert.ok(denials.some(e => e.actor === 'auditor'))
  })

  it('the operator (client-credentials token, client_id operator) may do anything; public routes need no rule', async () => {
    assert.equal((await call('operator', 'POST', '/v1/identity', { name: 'by-operator' })).status, 200)
    assert.equal((await call('operator', 'GET', '/v1/audit')).status, 200)
    assert.equal((await call(undefined, 'GET', '/v1/status')).status, 200)
    assert.equal((await call(undefined, 'GET', '/v1/health/live')).status, 200)
    assert.equal((await call(undefined, 'POST', '/v1/order', {})).body.code, 'AUTH_TOKEN_MISSING', 'authentication still comes first')
  })

  it('policies without OAuth2, or with an unknown operation, are refused at load', async () => {
    await assert.rejects(loadConfig({ home, env: { ...env, MILAGRO_HTTP_POLICIES: 'sub=x: order.read' } }), (err: unknown) => isDtaError(err, 'CONFIG_INVALID') && /need OAuth2/.test(String(err)))
    await assert.rejects(loadConfig({ home, env: { ...env, MILAGRO_HTTP_OIDCISSUER: idp.issuer, MILAGRO_HTTP_OIDCAUDIENCE: AUDIENCE, MILAGRO_HTTP_POLICIES: 'sub=x: order.steal' } }), (err: unknown) => isDtaError(err, 'CONFIG_INVALID'))
  })
})
