/**
 * Issue 14, item 9: a request that fails the API schema is 422 REQUEST_INVALID with a message
 * that names the field and what it may be, for every route, from one mapping of Ajv's errors
 * (src/http/validation.ts) — never only the validator's words ("must match a schema in anyOf",
 * "must NOT have additional properties"), and never an echo of a value the client sent.
 * The app is built in process with stub services: validation refuses before any handler runs.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../../src/http/app.ts'
import { closestField } from '../../../src/http/validation.ts'
import type { NodeServices } from '../../../src/ports/api.ts'
import { createPlugin } from '../../../src/plugins/registry.ts'

const unused = async (): Promise<never> => { throw new Error('validation should have refused the request first') }
const services = {
  nodeType: 'multi',
  status: unused,
  identity: { create: unused, get: unused, list: unused },
  order: { create: unused, list: unused, get: unused, secret: unused },
  fulfil: { order: unused, secret: unused },
  audit: { list: unused },
} as unknown as NodeServices

describe('schema failures name the field and what it may be', () => {
  let app: FastifyInstance
  before(async () => {
    app = await buildApp({ services, plugin: createPlugin('bitcoinwallet'), bodyLimit: 1_000_000, requestTimeoutMs: 0, version: 'test', allowedHosts: [] })
  })
  after(async () => { await app.close() })

  async function refused (method: 'GET' | 'POST', url: string, payload?: unknown): Promise<string> {
    const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) })
    const body = res.json() as { statusCode: number, code: string, message: string }
    assert.equal(res.statusCode, 422, `${method} ${url} → ${res.body}`)
    assert.equal(body.code, 'REQUEST_INVALID')
    assert.equal(body.statusCode, 422)
    const prefix = 'The request does not match the API schema: '
    assert.ok(body.message.startsWith(prefix), body.message)
    const detail = body.message.slice(prefix.length)
    for (const words of ['anyOf', 'must NOT have', 'must match pattern', 'must be >=', 'querystring/', 'body/']) {
      assert.ok(!detail.includes(words), `validator text "${words}" in: ${detail}`)
    }
    return detail
  }

  it('list queries: bounds, types, unknown parameters and sortBy', async () => {
    assert.equal(await refused('GET', '/v1/identity?perPage=0'), 'perPage must be 1 to 100')
    assert.equal(await refused('GET', '/v1/order?perPage=101'), 'perPage must be 1 to 100')
    assert.equal(await refused('GET', '/v1/identity?page=-1'), 'page must be 0 to 1000000 (Zero-based page)')
    assert.equal(await refused('GET', '/v1/identity?page=abc'), 'page must be an integer (Zero-based page)')
    assert.equal(await refused('GET', '/v1/identity?sort=asc'), 'unknown field "sort" (did you mean sortBy?)')
    assert.equal(await refused('GET', '/v1/audit?per_page=5'), 'unknown field "per_page" (did you mean perPage?)')
    // any sortBy is accepted (the original's rule) up to 64 characters; the message says what they mean
    assert.match(await refused('GET', `/v1/identity?sortBy=${'x'.repeat(65)}`), /^sortBy must be at most 64 characters \(dateCreatedAsc: oldest first; any other value .*newest first\)$/)
  })

  it('unknown body fields get a "did you mean", or the list of allowed fields', async () => {
    assert.equal(await refused('POST', '/v1/order', { beneficiary: 'x' }), 'unknown field "beneficiary" (did you mean beneficiaryIDDocumentCID?)')
    assert.equal(await refused('POST', '/v1/order/secret', { orderReferance: 'x' }), 'unknown field "orderReferance" (did you mean orderReference?)')
    assert.equal(await refused('POST', '/v1/identity', { nmae: 'alice' }), 'unknown field "nmae" (did you mean name?)')
    assert.equal(await refused('POST', '/v1/identity', { name: 'a', admin: true }), 'unknown field "admin" (allowed: name, Name, extension)')
    const long = await refused('POST', '/v1/identity', { ['\u0000'.repeat(3) + 'z'.repeat(200)]: 'v' })
    assert.ok(long.length < 160 && long.includes('???zzz') && long.includes('..."'), long)
  })

  it('unions, patterns, types, sizes and required fields', async () => {
    assert.equal(await refused('POST', '/v1/order', { beneficiaryIDDocumentCID: 'Qm123' }), 'beneficiaryIDDocumentCID must be a CIDv0 (Qm followed by 44 base58 characters) or ""')
    assert.equal(await refused('GET', '/v1/identity/not-a-cid'), 'idDocumentCID must be a CIDv0 (Qm followed by 44 base58 characters)')
    assert.equal(await refused('GET', '/v1/order/xyz'), 'orderReference must be an order reference (32 lower-case hex digits)')
    assert.equal(await refused('POST', '/v1/fulfill/order', {}), 'orderPart1CID is required')
    assert.equal(await refused('POST', '/v1/fulfill/order/secret', { orderPart3CID: 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o' }), 'documentCID is required')
    assert.equal(await refused('POST', '/v1/identity', { name: '' }), 'name must be 1 to 256 characters (The identity\'s name (its authenticationReference))')
    assert.equal(await refused('POST', '/v1/order', [1]), 'the body must be an object')
    assert.equal(await refused('POST', '/v1/order', { extension: { coin: 1 } }), 'extension.coin must be a string')
    assert.equal(await refused('POST', '/v1/order', { extension: { '1coin': '1' } }), 'extension: the key "1coin" must be a letter followed by up to 63 letters, digits, "_", "." or "-"')
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']))
    assert.match(await refused('POST', '/v1/order', { extension: many }), /^extension must have at most 32 entries/)
  })

  it('a wrong extension type names the plugin\'s own fields (the description every surface shows)', async () => {
    assert.equal(await refused('POST', '/v1/order', { extension: 'coin=1' }),
      'extension must be an object (Request fields, for this node\'s plugin — coin (required): "0" mainnet or "1" testnet)')
  })

  it('never echoes the value that failed', async () => {
    const value = 'Qm-not-a-cid-but-a-canary-7f3a9c'
    const detail = await refused('POST', '/v1/order', { beneficiaryIDDocumentCID: value })
    assert.ok(!detail.includes('canary'), detail)
  })
})

describe('closestField', () => {
  it('matches case and separators, prefixes, and small typos; nothing for a stranger', () => {
    const allowed = ['beneficiaryIDDocumentCID', 'extension', 'orderReference', 'perPage']
    assert.equal(closestField('BENEFICIARYIDDOCUMENTCID', allowed), 'beneficiaryIDDocumentCID')
    assert.equal(closestField('per_page', allowed), 'perPage')
    assert.equal(closestField('ext', allowed), 'extension')
    assert.equal(closestField('extensoin', allowed), 'extension')
    assert.equal(closestField('orderreferenc', allowed), 'orderReference')
    assert.equal(closestField('admin', allowed), undefined)
    assert.equal(closestField('', allowed), undefined)
    assert.equal(closestField('x', allowed), undefined)
  })
})
