/**
 * The audit trail endpoint (GET /v1/audit, src/services/audit.ts) on real nodes in process: it
 * lists the custody operations — seed.created, identity.created, seed.released, release.refused —
 * oldest first, paged, optionally one operation only (`op`); it exists on every node type; and the API offers no way to add, change or
 * delete an entry (every other method on it is 404, and the trail is unchanged afterwards). The
 * entries hold public values only (CIDs, record ids, codes), never the released secret.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../src/config/load.ts'
import { createNode, initNode } from '../../src/node.ts'
import type { DtaNode } from '../../src/node.ts'

const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '300', MILAGRO_HTTP_METRICSLISTENADDR: '' }
const UNKNOWN_CID = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'

interface Entry { id: number, at: number, op: string, reference: string | null, actor: string | null, detail: string | null }

describe('security: the audit trail endpoint', () => {
  let root: string
  let node: DtaNode
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'dta-audit-'))
    await initNode({ home: path.join(root, 'multi'), nodeName: 'audit', env })
    node = await createNode({ home: path.join(root, 'multi'), config: await loadConfig({ home: path.join(root, 'multi'), env }) })
  })
  after(async () => {
    await node?.stop()
    if (root !== undefined) rmSync(root, { recursive: true, force: true })
  })

  async function call (method: string, url: string, payload?: unknown): Promise<{ status: number, body: any }> {
    const res = await node.app.inject({ method: method as 'GET', url, payload: payload as string })
    return { status: res.statusCode, body: res.json() }
  }
  async function trail (): Promise<Entry[]> {
    const all: Entry[] = []
    for (let page = 0; ; page++) {
      const res = await call('GET', `/v1/audit?page=${page}&perPage=100`)
      assert.equal(res.status, 200)
      all.push(...res.body.auditList as Entry[])
      if ((res.body.auditList as Entry[]).length < 100) return all
    }
  }

  it('lists custody operations oldest first: seeds created, released, and refused releases', async () => {
    const identity = (await call('POST', '/v1/identity', { name: 'audited' })).body.idDocumentCID as string
    const order = (await call('POST', '/v1/order', {})).body
    const secret = (await call('POST', '/v1/order/secret', { orderReference: order.orderReference })).body
    assert.match(String(secret.secret), /^[0-9a-f]{64}$/)
    // a refused release: part 2 presented as a part 3 breaks the chain on the fiduciary side
    const refused = await call('POST', '/v1/fulfill/order/secret', { orderPart3CID: order.orderPart2CID, documentCID: node.nodeCID })
    assert.equal(refused.status, 403)
    assert.equal(refused.body.code, 'ORDER_CHAIN_BROKEN')

    const entries = await trail()
    const ids = entries.map(e => e.id)
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'oldest first')
    assert.equal(new Set(ids).size, ids.length)
    const find = (op: string, reference: string): Entry | undefined => entries.find(e => e.op === op && e.reference === reference)
    assert.ok(find('seed.created', `identity/${node.nodeCID}`), 'the node identity seed')
    assert.ok(find('seed.created', `identity/${identity}`), 'a new identity seed')
    assert.ok(find('identity.created', `identity/${identity}`))
    const created = find('seed.created', `order/fiduciary/${order.orderReference}`)
    const released = find('seed.released', `order/fiduciary/${order.orderReference}`)
    assert.ok(created !== undefined && released !== undefined, JSON.stringify(entries))
    assert.ok(created.id < released.id)
    assert.equal(released.actor, node.nodeCID, 'released to the principal')
    const refusal = entries.find(e => e.op === 'release.refused' && e.reference === order.orderReference)
    assert.ok(refusal !== undefined && /ORDER_CHAIN_BROKEN/.test(String(refusal.detail)))
    for (const e of entries) {
      assert.equal(typeof e.at, 'number')
      assert.ok(!JSON.stringify(e).includes(secret.secret as string), 'no secret in the trail')
    }
  })

  it('pages like the other lists (zero-based page, perPage 1..100) and validates the query', async () => {
    const all = await trail()
    assert.ok(all.length >= 4)
    const first = (await call('GET', '/v1/audit?page=0&perPage=2')).body.auditList as Entry[]
    const second = (await call('GET', '/v1/audit?page=1&perPage=2')).body.auditList as Entry[]
    assert.deepEqual([...first, ...second], all.slice(0, 4))
    assert.deepEqual((await call('GET', '/v1/audit?page=100000')).body.auditList, [])
    assert.equal(((await call('GET', '/v1/audit')).body.auditList as Entry[]).length, Math.min(10, all.length), 'default perPage 10')
    for (const query of ['perPage=0', 'perPage=101', 'page=-1', 'page=x', 'sortBy=dateCreatedDesc', 'op=seed.deleted', 'op=', 'reference=x']) {
      const res = await call('GET', `/v1/audit?${query}`)
      assert.equal(res.status, 422, query)
      assert.equal(res.body.code, 'REQUEST_INVALID')
    }
    // op: one operation's entries (the console's filter), paged the same way
    const created = (await call('GET', '/v1/audit?op=seed.created&perPage=100')).body.auditList as Entry[]
    assert.deepEqual(created, all.filter(e => e.op === 'seed.created'))
  })

  it('is read-only through the API: no method but GET exists, and the trail is unchanged after trying', async () => {
    const before = await trail()
    const attempts: Array<[string, string, unknown]> = [
      ['POST', '/v1/audit', { op: 'seed.created', reference: 'forged' }],
      ['PUT', '/v1/audit', [{ id: 1, op: 'seed.released' }]],
      ['PATCH', '/v1/audit', { id: 1, detail: 'changed' }],
      ['DELETE', '/v1/audit', undefined],
      ['DELETE', `/v1/audit/${before[0]!.id}`, undefined],
      ['PUT', `/v1/audit/${before[0]!.id}`, { detail: 'changed' }],
      ['POST', '/v1/audit/clear', {}],
      ['GET', `/v1/audit/${before[0]!.id}`, undefined],
    ]
    for (const [method, url, payload] of attempts) {
      const res = await call(method, url, payload)
      assert.equal(res.status, 404, `${method} ${url}`)
      assert.equal(res.body.code, 'ROUTE_NOT_FOUND')
    }
    // query tricks on the GET are refused, not interpreted
    assert.equal((await call('GET', '/v1/audit?page=0;DELETE FROM audit')).status, 422)
    assert.deepEqual(await trail(), before)
    const spec = (await call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> }
    assert.deepEqual(Object.keys(spec.paths['/v1/audit'] ?? {}), ['get'], 'the OpenAPI document offers only GET')
  })

  it('exists on a fiduciary and on a principal node too', async () => {
    const fidHome = path.join(root, 'fiduciary')
    await initNode({ home: fidHome, nodeName: 'audit-fid', nodeType: 'fiduciary', env })
    const fid = await createNode({ home: fidHome, config: await loadConfig({ home: fidHome, env }) })
    try {
      const res = await fid.app.inject({ method: 'GET', url: '/v1/audit' })
      assert.equal(res.statusCode, 200)
      assert.ok((res.json().auditList as Entry[]).some(e => e.op === 'seed.created' && e.reference === `identity/${fid.nodeCID}`))
    } finally {
      await fid.stop()
    }
    const principal = await createNode({
      home: fidHome,
      config: await loadConfig({ home: fidHome, env: { ...env, MILAGRO_NODE_NODETYPE: 'principal', MILAGRO_NODE_MASTERFIDUCIARYNODEID: UNKNOWN_CID, MILAGRO_NODE_MASTERFIDUCIARYSERVER: 'http://127.0.0.1:9' } }),
    })
    try {
      const res = await principal.app.inject({ method: 'GET', url: '/v1/audit?perPage=1' })
      assert.equal(res.statusCode, 200)
      assert.equal((res.json().auditList as Entry[]).length, 1)
    } finally {
      await principal.stop()
    }
  })
})
