/**
 * The HTTP API in process (app.inject) on a real node (SQLite, local custody, Helia on loopback):
 * bad input on every endpoint gets a 4xx with a stable code and the node keeps serving; routes
 * exist per node type; the OpenAPI document and docs are served.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../../src/config/load.ts'
import { createNode, initNode } from '../../../src/node.ts'
import type { DtaNode } from '../../../src/node.ts'
import { ERRORS } from '../../../src/errors.ts'

const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '300' }
const UNKNOWN_CID = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'

async function openNode (home: string, overrides: Record<string, string> = {}): Promise<DtaNode> {
  const config = await loadConfig({ home, env: { ...env, ...overrides } })
  return await createNode({ home, config })
}

describe('HTTP API, multi node', () => {
  let home: string
  let node: DtaNode
  before(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'dta-http-'))
    await initNode({ home, nodeName: 'api-test', env })
    node = await openNode(home)
  })
  after(async () => {
    await node?.stop()
    rmSync(home, { recursive: true, force: true })
  })

  async function call (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) {
    const res = await node.app.inject({ method, url, payload: payload as string, headers })
    return { status: res.statusCode, body: res.json() as Record<string, unknown> }
  }

  async function expectError (method: 'GET' | 'POST', url: string, payload: unknown, status: number, code: string, headers?: Record<string, string>): Promise<void> {
    const res = await call(method, url, payload, headers)
    assert.equal(res.status, status, `${method} ${url} ${JSON.stringify(payload)?.slice(0, 80)} → ${JSON.stringify(res.body)}`)
    assert.equal(res.body.code, code)
    assert.equal(res.body.statusCode, status)
    assert.equal(typeof res.body.message, 'string')
    assert.ok(code in ERRORS)
  }

  it('status answers with the original fields and the IPFS identity', async () => {
    const { status, body } = await call('GET', '/v1/status')
    assert.equal(status, 200)
    for (const key of ['application', 'apiVersion', 'extensionVendor', 'nodeCID', 'timeStamp', 'plugin', 'nodeType']) assert.ok(key in body, key)
    assert.equal(body.nodeType, 'multi')
    assert.equal(body.nodeCID, node.nodeCID)
    assert.match(String(body.peerID), /^12D3KooW/)
    assert.ok((body.listenAddrs as string[]).every(a => a.startsWith('/ip4/127.0.0.1/tcp/')))
  })

  it('identity: bad names, bad CIDs, unknown CIDs and bad list queries', async () => {
    await expectError('POST', '/v1/identity', {}, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/identity', { name: 42 }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/identity', { name: '' }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/identity', { name: 'x'.repeat(257) }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/identity', { name: 'a', admin: true }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/identity', '{"name": "a"', 400, 'REQUEST_MALFORMED', { 'content-type': 'application/json' })
    await expectError('POST', '/v1/identity', 'name=a', 415, 'REQUEST_UNSUPPORTED_MEDIA_TYPE', { 'content-type': 'application/x-www-form-urlencoded' })
    await expectError('GET', '/v1/identity/not-a-cid', undefined, 422, 'REQUEST_INVALID')
    await expectError('GET', `/v1/identity/${UNKNOWN_CID}`, undefined, 404, 'IDENTITY_NOT_FOUND')
    await expectError('GET', '/v1/identity?perPage=0', undefined, 422, 'REQUEST_INVALID')
    await expectError('GET', '/v1/identity?perPage=101', undefined, 422, 'REQUEST_INVALID')
    await expectError('GET', '/v1/identity?page=-1', undefined, 422, 'REQUEST_INVALID')
    await expectError('GET', `/v1/identity?sortBy=${'x'.repeat(65)}`, undefined, 422, 'REQUEST_INVALID')
    await expectError('GET', '/v1/identity?page=abc', undefined, 422, 'REQUEST_INVALID')
  })

  it('identity: both spellings of name work, and the identity is listed and shown', async () => {
    const a = await call('POST', '/v1/identity', { name: 'lower' })
    const b = await call('POST', '/v1/identity', { Name: 'Upper' })
    assert.equal(a.status, 200); assert.equal(b.status, 200)
    const shown = await call('GET', `/v1/identity/${String(a.body.idDocumentCID)}`)
    assert.equal(shown.body.authenticationReference, 'lower')
    assert.match(String(shown.body.blsPublicKey), /^[0-9a-f]{96}$/)
    const list = await call('GET', '/v1/identity?page=0&perPage=100&sortBy=dateCreatedAsc')
    const names = (list.body.idDocumentList as Array<{ authenticationReference: string }>).map(i => i.authenticationReference)
    assert.deepEqual(names.slice(-2), ['lower', 'Upper'])
    assert.equal(names[0], 'api-test', 'the node identity comes first in ascending order')
    assert.equal(list.body.total, names.length, 'the total, beside the original\'s idDocumentList')
    assert.equal((await call('GET', '/v1/identity?perPage=1')).body.total, names.length, 'the total of all pages')
    // the original's rule: anything but dateCreatedAsc is newest first, its clients' misspelling too
    for (const sortBy of ['dateCreatedDesc', 'dateCreatedDsc', 'random']) {
      const desc = await call('GET', `/v1/identity?page=0&perPage=100&sortBy=${sortBy}`)
      assert.equal(desc.status, 200, sortBy)
      assert.deepEqual((desc.body.idDocumentList as Array<{ authenticationReference: string }>).map(i => i.authenticationReference), [...names].reverse(), sortBy)
    }
  })

  it('order: bad bodies, unknown extension fields, unknown beneficiaries and references', async () => {
    await expectError('POST', '/v1/order', { extension: 'x' }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/order', { extension: { n: 1 } }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/order', { beneficiaryIDDocumentCID: 'Qm123' }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/order', { extension: { unknownField: 'x' } }, 422, 'PLUGIN_BAD_EXTENSION')
    await expectError('POST', '/v1/order', { beneficiaryIDDocumentCID: UNKNOWN_CID }, 404, 'IDENTITY_NOT_FOUND')
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']))
    await expectError('POST', '/v1/order', { extension: many }, 422, 'REQUEST_INVALID')
    await expectError('GET', '/v1/order/xyz', undefined, 422, 'REQUEST_INVALID')
    await expectError('GET', `/v1/order/${'0'.repeat(32)}`, undefined, 404, 'ORDER_NOT_FOUND')
    await expectError('POST', '/v1/order/secret', {}, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/order/secret', { orderReference: 7 }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/order/secret', { orderReference: '0'.repeat(32) }, 404, 'ORDER_NOT_FOUND')
    // no IPFS peer is connected: nobody to ask, so at once (not after ipfs.fetchTimeoutMs)
    await expectError('POST', '/v1/order/secret', { orderPart4CID: UNKNOWN_CID }, 404, 'DOCUMENT_NOT_FOUND')
  })

  it('fulfil: bad CIDs, missing fields, unknown documents, documents that do not match their CID', async () => {
    await expectError('POST', '/v1/fulfill/order', {}, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/fulfill/order', { orderPart1CID: 'x', documentCID: node.nodeCID }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/fulfill/order', { orderPart1CID: UNKNOWN_CID, documentCID: node.nodeCID }, 404, 'DOCUMENT_NOT_FOUND')
    await expectError('POST', '/v1/fulfill/order', { orderPart1CID: UNKNOWN_CID, documentCID: UNKNOWN_CID }, 404, 'IDENTITY_NOT_FOUND')
    await expectError('POST', '/v1/fulfill/order', {
      orderPart1CID: UNKNOWN_CID, documentCID: node.nodeCID, documents: { [UNKNOWN_CID]: Buffer.from('forged').toString('base64') },
    }, 400, 'DOCUMENT_CID_MISMATCH')
    // A real document that is not an order: the node's own identity document.
    await expectError('POST', '/v1/fulfill/order', { orderPart1CID: node.nodeCID, documentCID: node.nodeCID }, 400, 'ENVELOPE_WRONG_SIGNER')
    await expectError('POST', '/v1/fulfill/order/secret', { orderPart3CID: UNKNOWN_CID }, 422, 'REQUEST_INVALID')
    await expectError('POST', '/v1/fulfill/order/secret', { orderPart3CID: UNKNOWN_CID, documentCID: node.nodeCID }, 404, 'DOCUMENT_NOT_FOUND')
  })

  it('oversized bodies are refused with 413 and unknown routes with 404', async () => {
    await expectError('POST', '/v1/identity', { name: 'x'.repeat(3 * 1024 * 1024) }, 413, 'REQUEST_TOO_LARGE')
    await expectError('GET', '/v1/nothing', undefined, 404, 'ROUTE_NOT_FOUND')
    await expectError('DELETE' as 'GET', '/v1/identity', undefined, 404, 'ROUTE_NOT_FOUND')
  })

  it('keeps serving after all of that, and a full cycle works', async () => {
    const order = await call('POST', '/v1/order', {})
    assert.equal(order.status, 200, JSON.stringify(order.body))
    const secret = await call('POST', '/v1/order/secret', { orderReference: order.body.orderReference })
    assert.equal(secret.status, 200, JSON.stringify(secret.body))
    assert.equal(secret.body.commitment, order.body.commitment)
    assert.match(String(secret.body.secret), /^[0-9a-f]{64}$/)
  })

  it('serves the OpenAPI document and the interactive docs', async () => {
    const spec = await node.app.inject({ method: 'GET', url: '/openapi.json' })
    assert.equal(spec.statusCode, 200)
    const doc = spec.json() as { openapi: string, paths: Record<string, unknown> }
    assert.equal(doc.openapi, '3.1.0')
    for (const p of ['/v1/status', '/v1/identity', '/v1/identity/{idDocumentCID}', '/v1/order', '/v1/order/{orderReference}', '/v1/order/secret', '/v1/fulfill/order', '/v1/fulfill/order/secret']) {
      assert.ok(p in doc.paths, p)
    }
    const ui = await node.app.inject({ method: 'GET', url: '/docs/' })
    assert.equal(ui.statusCode, 200)
    assert.match(ui.body, /swagger/i)
  })
})

describe('HTTP API, routes per node type', () => {
  it('a fiduciary has no order endpoints; a principal has no fulfil endpoints', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'dta-http-type-'))
    try {
      await initNode({ home, nodeName: 'fid', nodeType: 'fiduciary', env })
      const fid = await openNode(home)
      try {
        assert.equal((await fid.app.inject({ method: 'POST', url: '/v1/order', payload: {} })).statusCode, 404)
        assert.equal((await fid.app.inject({ method: 'POST', url: '/v1/fulfill/order', payload: {} })).statusCode, 422)
        assert.equal((await fid.app.inject({ method: 'GET', url: '/v1/identity' })).statusCode, 200)
      } finally {
        await fid.stop()
      }
      // The same home started as a principal (env override) with a master fiduciary configured.
      const principal = await openNode(home, {
        MILAGRO_NODE_NODETYPE: 'principal',
        MILAGRO_NODE_MASTERFIDUCIARYNODEID: UNKNOWN_CID,
        MILAGRO_NODE_MASTERFIDUCIARYSERVER: 'http://127.0.0.1:9',
      })
      try {
        assert.equal((await principal.app.inject({ method: 'POST', url: '/v1/fulfill/order', payload: {} })).statusCode, 404)
        assert.equal((await principal.app.inject({ method: 'GET', url: '/v1/order' })).statusCode, 200)
      } finally {
        await principal.stop()
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})

describe('metrics listener', () => {
  it('serves Prometheus metrics on its own port, labelled by route pattern', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'dta-metrics-'))
    try {
      await initNode({ home, nodeName: 'metrics', env })
      const node = await openNode(home, { MILAGRO_HTTP_LISTENADDR: '127.0.0.1:0', MILAGRO_HTTP_METRICSLISTENADDR: '127.0.0.1:0' })
      try {
        const api = await node.start()
        assert.equal((await fetch(`${api}/v1/identity/${node.nodeCID}`)).status, 200)
        const metricsUrl = `http://${String(node.metricsAddress())}/metrics`
        const text = await (await fetch(metricsUrl)).text()
        assert.match(text, /milagro_http_requests_total\{method="GET",route="\/v1\/identity\/:idDocumentCID",status="200"\} 1/)
        assert.ok(!text.includes(node.nodeCID), 'no concrete CID in a label')
        assert.equal((await fetch(`${api}/metrics`)).status, 404, 'metrics are not on the API port')
      } finally {
        await node.stop()
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
