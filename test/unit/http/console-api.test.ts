/**
 * The read-only routes the web console needs (src/http/console-api.ts, src/services/order-views.ts),
 * in process (app.inject) on a real multi node (SQLite, local custody, Helia on loopback):
 * - GET /v1/node: the status plus peers, the fiduciary used, authentication off, the plugin's fields;
 * - GET /v1/order/summaries: states (ordered, redeemed), total, paging, every sort column in both
 *   directions, an unknown column refused in words, search by reference, by each part CID and by
 *   beneficiary CID (paged), a bad search refused in words;
 * - GET /v1/order/{ref}/chain: four parts, each verified with its checks, and never the secret; an
 *   order released to a beneficiary held elsewhere: part 4 verified, unread, no secret offered;
 *   after a byte of part 3's block is flipped on disk, part 3 fails (DOCUMENT_CORRUPT) and the
 *   others still verify; with the row pointed at another order's part 4, part 4 fails its link;
 * - GET /v1/audit?op=…: one operation only, an unknown one refused naming the allowed ones;
 * - the OpenAPI document describes the new routes; the console's list of audit operations is the API's;
 * - per node type: a fiduciary has GET /v1/node (no fiduciary of its own) and no order views, a
 *   principal names its master fiduciary and its URL.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../../src/config/load.ts'
import { createNode, initNode } from '../../../src/node.ts'
import type { DtaNode } from '../../../src/node.ts'
import type { NodeResponse, OrderChainResponse, OrderSummaryList } from '../../../src/ports/console.ts'
import { AUDIT_OPS } from '../../../src/ports/state.ts'
import { createIdentityDocument } from '../../../src/core/identity.ts'
import { createPlugin } from '../../../src/plugins/registry.ts'
import { corruptDocument, swapPart4 } from '../../helpers/tamper.ts'

const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '300' }

async function openNode (home: string): Promise<DtaNode> {
  return await createNode({ home, config: await loadConfig({ home, env }) })
}

describe('the console API on a multi node', () => {
  let home: string
  let node: DtaNode
  const placed: Array<{ orderReference: string, orderPart1CID: string, orderPart2CID: string }> = []
  let redeemed: { orderReference: string, orderPart3CID: string, orderPart4CID: string, secret?: string }
  let other: { orderPart4CID: string }

  async function get<T = any> (url: string): Promise<{ status: number, body: T, headers: Record<string, unknown> }> {
    const res = await node.app.inject({ method: 'GET', url })
    return { status: res.statusCode, body: res.json() as T, headers: res.headers }
  }

  before(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'dta-console-api-'))
    await initNode({ home, nodeName: 'console-api', env })
    node = await openNode(home)
    const order = node.services.order!
    for (let i = 0; i < 3; i++) placed.push(await order.create({}))
    const answer = await order.secret({ orderReference: placed[0]!.orderReference })
    redeemed = { orderReference: answer.orderReference, orderPart3CID: answer.orderPart3CID, orderPart4CID: answer.orderPart4CID, secret: answer.secret }
    other = await order.secret({ orderReference: placed[2]!.orderReference })
  })
  after(async () => {
    await node?.stop()
    rmSync(home, { recursive: true, force: true })
  })

  it('GET /v1/node describes the node, its fiduciary, the open API and the plugin\'s fields', async () => {
    const { status, body } = await get<NodeResponse>('/v1/node')
    assert.equal(status, 200)
    assert.equal(body.nodeCID, node.nodeCID)
    assert.equal(body.nodeType, 'multi')
    assert.equal(body.fiduciaryCID, node.nodeCID, 'a multi node without a master fiduciary is its own')
    assert.equal(body.fiduciaryURL, null)
    assert.deepEqual(body.trustedFiduciaries, [node.nodeCID])
    assert.deepEqual(body.connectedPeerIDs, [])
    assert.deepEqual(body.authentication, { enabled: false })
    const plugin = createPlugin('milagro')
    assert.equal(body.pluginDetails.name, 'milagro')
    assert.equal(body.pluginDetails.description, plugin.description)
    assert.deepEqual(body.pluginDetails.extensionFields.order.map(f => f.name), plugin.extensionFields.order.map(f => f.name))
    // the transparency log: its origin, and the latest checkpoint the node signed, as GET /v1/log/checkpoint serves it
    const log = body.transparencyLog!
    assert.equal(log.origin, `milagro-dta/log/${node.nodeCID}`)
    assert.ok(log.treeSize >= 2, 'at least the identity document and the log key statement')
    assert.deepEqual(log.signedBy, [log.origin])
    assert.deepEqual(log.signatures.map(s => [s.name, s.kind]), [[log.origin, 'log']])
    assert.equal(log.witnesses, undefined, 'no witnesses configured (test/unit/http/console-witness.test.ts has them)')
    const served = await node.app.inject({ method: 'GET', url: '/v1/log/checkpoint' })
    assert.ok(log.checkpoint.startsWith(`${log.origin}\n`))
    assert.ok(Number(served.body.split('\n')[1]) >= log.treeSize, 'the served checkpoint is the same one or a newer one')
  })

  it('GET /v1/order/summaries: a page of orders with their state, both sort orders, the total', async () => {
    const { status, body } = await get<OrderSummaryList>('/v1/order/summaries?perPage=100')
    assert.equal(status, 200)
    assert.equal(body.total, 3)
    assert.deepEqual(body.orders.map(o => o.orderReference), placed.map(p => p.orderReference).reverse(), 'newest first by default')
    const first = body.orders.find(o => o.orderReference === redeemed.orderReference)!
    assert.equal(first.state, 'redeemed')
    assert.equal(first.releasedTo, node.nodeCID)
    assert.equal(first.orderPart4CID, redeemed.orderPart4CID)
    const second = body.orders.find(o => o.orderReference === placed[1]!.orderReference)!
    assert.equal(second.state, 'ordered')
    assert.equal(second.releasedTo, null)
    assert.equal(second.orderPart3CID, null)
    assert.equal(second.plugin, 'milagro')
    assert.equal(second.beneficiaryCID, null)
    const asc = await get<OrderSummaryList>('/v1/order/summaries?perPage=2&sort=created&direction=asc')
    assert.deepEqual(asc.body.orders.map(o => o.orderReference), placed.slice(0, 2).map(p => p.orderReference))
    const page1 = await get<OrderSummaryList>('/v1/order/summaries?perPage=2&page=1&sort=created&direction=asc')
    assert.deepEqual(page1.body.orders.map(o => o.orderReference), [placed[2]!.orderReference])
    assert.equal(page1.body.total, 3)
  })

  it('GET /v1/order/summaries?sort=&direction=: every column, by the state backend; ties by reference', async () => {
    const refs = placed.map(p => p.orderReference)
    const byRef = [...refs].sort()
    const list = async (query: string): Promise<string[]> => (await get<OrderSummaryList>(`/v1/order/summaries?perPage=100&${query}`)).body.orders.map(o => o.orderReference)
    assert.deepEqual(await list('sort=reference&direction=asc'), byRef)
    assert.deepEqual(await list('sort=reference&direction=desc'), [...byRef].reverse())
    assert.deepEqual(await list('sort=plugin&direction=asc'), byRef, 'one plugin: ties by reference')
    assert.deepEqual(await list('sort=beneficiary'), [...byRef].reverse(), 'direction desc by default')
    const ordered = placed[1]!.orderReference
    const redeemedFirst = [redeemed.orderReference, placed[2]!.orderReference].sort()
    assert.deepEqual(await list('sort=state&direction=asc'), [ordered, ...redeemedFirst], 'ordered, then redeemed')
    assert.deepEqual(await list('sort=state&direction=desc'), [...redeemedFirst.reverse(), ordered])
  })

  it('GET /v1/order/summaries refuses an unknown column or direction in words, and the original\'s sortBy (it is GET /v1/order\'s)', async () => {
    for (const [query, message] of [
      ['sort=principal', /sort must be "reference" or "created" or "plugin" or "beneficiary" or "state"/],
      ['sort=reference%3B%20DROP%20TABLE%20orders', /sort must be "reference" or/],
      ['direction=up', /direction must be "asc" or "desc"/],
      ['sortBy=dateCreatedAsc', /unknown field "sortBy" \(did you mean sort\?\)/],
    ] as const) {
      const { status, body } = await get(`/v1/order/summaries?${query}`)
      assert.equal(status, 422, query)
      assert.equal(body.code, 'REQUEST_INVALID')
      assert.match(body.message, message)
    }
    const original = await get<{ orderReference: string[] }>('/v1/order?sortBy=anything&perPage=100')
    assert.equal(original.status, 200, 'GET /v1/order keeps its rule: any other sortBy is newest first')
  })

  it('GET /v1/order/summaries?search=: by reference or by any part CID; nothing else matches', async () => {
    for (const search of [redeemed.orderReference, placed[0]!.orderPart1CID, placed[0]!.orderPart2CID, redeemed.orderPart3CID, redeemed.orderPart4CID]) {
      const { status, body } = await get<OrderSummaryList>(`/v1/order/summaries?search=${search}`)
      assert.equal(status, 200, search)
      assert.deepEqual(body.orders.map(o => o.orderReference), [redeemed.orderReference], search)
      assert.equal(body.total, 1)
    }
    const none = await get<OrderSummaryList>(`/v1/order/summaries?search=${node.nodeCID}`)
    assert.deepEqual(none.body, { orders: [], total: 0 })
    const bad = await get('/v1/order/summaries?search=not-a-cid')
    assert.equal(bad.status, 422)
    assert.equal(bad.body.code, 'REQUEST_INVALID')
    assert.match(bad.body.message, /search must be an order reference .* or a CIDv0/)
  })

  it('GET /v1/order/{ref}/chain: four parts, each signed, linked, decrypted and checked by this node — no secret', async () => {
    const res = await node.app.inject({ method: 'GET', url: `/v1/order/${redeemed.orderReference}/chain` })
    assert.equal(res.statusCode, 200)
    assert.ok(redeemed.secret !== undefined && redeemed.secret.length > 0)
    assert.ok(!res.body.includes(redeemed.secret), 'the chain never holds the secret')
    const chain = res.json() as OrderChainResponse
    assert.equal(chain.verified, true)
    assert.equal(chain.secretAvailable, true)
    assert.equal(chain.beneficiaryElsewhere, false)
    assert.deepEqual(chain.parts.map(p => [p.part, p.author, p.verified, p.readBy]), [
      [1, 'principal', true, node.nodeCID], [2, 'fiduciary', true, node.nodeCID], [3, 'principal', true, node.nodeCID], [4, 'fiduciary', true, node.nodeCID],
    ])
    assert.deepEqual(chain.parts.map(p => p.cid), [placed[0]!.orderPart1CID, placed[0]!.orderPart2CID, redeemed.orderPart3CID, redeemed.orderPart4CID])
    assert.deepEqual(chain.parts.map(p => p.previousCID), ['', placed[0]!.orderPart1CID, placed[0]!.orderPart2CID, redeemed.orderPart3CID])
    for (const p of chain.parts) {
      assert.equal(p.signerCID, node.nodeCID)
      assert.deepEqual(p.recipients, [node.nodeCID])
      assert.ok(typeof p.createdAt === 'number' && p.createdAt > 1.7e12)
      assert.equal(p.failure, undefined)
    }
    assert.ok(chain.parts[1]!.checks.includes('the commitment\'s proof of possession verifies'))
    assert.ok(chain.parts[3]!.checks.includes('the released seed gives the key committed in part 2'))
    assert.ok(chain.parts[3]!.checks.includes('repeats parts 1 to 3 unchanged'))
    assert.equal(typeof chain.commitment, 'string')

    const ordered = await get<OrderChainResponse>(`/v1/order/${placed[1]!.orderReference}/chain`)
    assert.deepEqual(ordered.body.parts.map(p => p.part), [1, 2])
    assert.equal(ordered.body.secretAvailable, false)
    assert.equal(ordered.body.order.state, 'ordered')
    const unknown = await get(`/v1/order/${'0'.repeat(32)}/chain`)
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.code, 'ORDER_NOT_FOUND')
  })

  it('an order released to a beneficiary held elsewhere: state released, part 4 verified but unread, no secret offered', async () => {
    // a foreign identity: its document is in this node's store, its keys are not in its custody
    const foreign = createIdentityDocument(new Uint8Array(32).fill(7), 'bob-elsewhere')
    const bob = await node.documents.put(foreign.bytes)
    const order = node.services.order!
    const placedForBob = await order.create({ beneficiaryIDDocumentCID: bob })
    const handOff = await order.secret({ orderReference: placedForBob.orderReference })
    assert.equal(handOff.secret, undefined, 'the principal gets the hand-off, not the secret')
    const chain = (await get<OrderChainResponse>(`/v1/order/${placedForBob.orderReference}/chain`)).body
    assert.equal(chain.order.state, 'released')
    assert.equal(chain.order.releasedTo, bob)
    assert.equal(chain.beneficiaryElsewhere, true)
    assert.equal(chain.secretAvailable, false)
    assert.equal(chain.verified, true)
    const part4 = chain.parts[3]!
    assert.equal(part4.readBy, null)
    assert.deepEqual([...part4.recipients].sort(), [bob, node.nodeCID].sort())
    assert.ok(part4.checks.includes('addressed to the entitled recipient and the fiduciary only'))
    const summaries = (await get<OrderSummaryList>(`/v1/order/summaries?search=${handOff.orderPart4CID}`)).body
    assert.deepEqual(summaries.orders.map(o => [o.state, o.beneficiaryCID]), [['released', bob]])
    // the search by beneficiary: every order for bob, counted, sorted and paged like the list
    const second = await order.create({ beneficiaryIDDocumentCID: bob })
    const forBob = (await get<OrderSummaryList>(`/v1/order/summaries?search=${bob}&sort=reference&direction=asc`)).body
    assert.deepEqual(forBob.orders.map(o => o.orderReference), [placedForBob.orderReference, second.orderReference].sort())
    assert.equal(forBob.total, 2)
    const page2 = (await get<OrderSummaryList>(`/v1/order/summaries?search=${bob}&sort=reference&direction=asc&perPage=1&page=1`)).body
    assert.deepEqual(page2, { orders: [forBob.orders[1]], total: 2 })
  })

  it('GET /v1/audit?op=: one operation only; an unknown operation is refused naming the allowed ones', async () => {
    const { body } = await get<{ auditList: Array<{ id: number, op: string }>, total: number }>('/v1/audit?op=seed.released&perPage=100')
    const all = (await get<{ auditList: Array<{ id: number, op: string }> }>('/v1/audit?perPage=100')).body.auditList
    assert.ok(body.auditList.length >= 2, 'one per redemption')
    assert.deepEqual(body.auditList, all.filter(e => e.op === 'seed.released'))
    assert.equal(body.total, body.auditList.length, 'the total of that operation')
    assert.equal((await get<{ total: number }>('/v1/audit?perPage=1')).body.total, all.length, 'the total of the whole trail')
    const bad = await get('/v1/audit?op=seed.deleted')
    assert.equal(bad.status, 422)
    assert.match(bad.body.message, /op must be "identity.created" or .*"release.refused"/)
  })

  it('the OpenAPI document describes the console routes; the console lists the API\'s audit operations', async () => {
    const spec = (await get<{ paths: Record<string, Record<string, { operationId: string }>> }>('/openapi.json')).body
    assert.equal(spec.paths['/v1/node']?.get?.operationId, 'getNode')
    assert.equal(spec.paths['/v1/order/summaries']?.get?.operationId, 'listOrderSummaries')
    assert.equal(spec.paths['/v1/order/{orderReference}/chain']?.get?.operationId, 'getOrderChain')
    assert.equal(spec.paths['/ui/{*}'], undefined, 'the static files are not API operations')
    const text = readFileSync(new URL('../../../console/lib/audit-ops.js', import.meta.url), 'utf8')
    const listed = JSON.parse(/AUDIT_OPS = (\[[^\]]*\])/.exec(text)![1]!.replace(/'/g, '"')) as string[]
    assert.deepEqual(listed, [...AUDIT_OPS])
  })

  it('a part whose stored bytes were altered fails (DOCUMENT_CORRUPT) and the others still verify; a row pointed at another part 4 fails its link', async () => {
    await node.stop()
    corruptDocument(home, redeemed.orderPart3CID)
    node = await openNode(home)
    const chain = (await get<OrderChainResponse>(`/v1/order/${redeemed.orderReference}/chain`)).body
    assert.equal(chain.verified, false)
    assert.deepEqual(chain.parts.map(p => p.verified), [true, true, false, true])
    assert.equal(chain.parts[2]!.failure?.code, 'DOCUMENT_CORRUPT')
    assert.deepEqual(chain.parts[2]!.checks, [])

    await node.stop()
    swapPart4(home, redeemed.orderReference, other.orderPart4CID)
    node = await openNode(home)
    const swapped = (await get<OrderChainResponse>(`/v1/order/${redeemed.orderReference}/chain`)).body
    assert.equal(swapped.parts[3]!.verified, false)
    assert.equal(swapped.parts[3]!.failure?.code, 'ORDER_CHAIN_BROKEN')
    assert.match(swapped.parts[3]!.failure!.message, /part 4 does not follow part 3/)
    assert.ok(swapped.parts[3]!.checks.includes('signed by the fiduciary'), 'signed by the right node, linked to the wrong part')
  })
})

describe('the console API per node type', () => {
  it('a fiduciary: GET /v1/node with no fiduciary of its own, no order views; a principal: its master fiduciary and URL', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'dta-console-type-'))
    const master = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
    try {
      await initNode({ home, nodeName: 'fid', nodeType: 'fiduciary', env })
      const fid = await openNode(home)
      try {
        const node = (await fid.app.inject({ method: 'GET', url: '/v1/node' })).json() as NodeResponse
        assert.equal(node.nodeType, 'fiduciary')
        assert.equal(node.fiduciaryCID, null)
        assert.equal(node.fiduciaryURL, null)
        assert.deepEqual(node.trustedFiduciaries, [])
        for (const url of ['/v1/order/summaries', `/v1/order/${'0'.repeat(32)}/chain`]) {
          assert.equal((await fid.app.inject({ method: 'GET', url })).json().code, 'ROUTE_NOT_FOUND', url)
        }
        assert.equal((await fid.app.inject({ method: 'GET', url: '/ui/' })).statusCode, 200, 'the console is served on every node type')
      } finally {
        await fid.stop()
      }
      const principal = await createNode({ home, config: await loadConfig({ home, env: { ...env, MILAGRO_NODE_NODETYPE: 'principal', MILAGRO_NODE_MASTERFIDUCIARYNODEID: master, MILAGRO_NODE_MASTERFIDUCIARYSERVER: 'http://127.0.0.1:9' } }) })
      try {
        const node = (await principal.app.inject({ method: 'GET', url: '/v1/node' })).json() as NodeResponse
        assert.equal(node.nodeType, 'principal')
        assert.equal(node.fiduciaryCID, master)
        assert.equal(node.fiduciaryURL, 'http://127.0.0.1:9')
        assert.deepEqual(node.trustedFiduciaries, [master])
        assert.deepEqual((await principal.app.inject({ method: 'GET', url: '/v1/order/summaries' })).json(), { orders: [], total: 0 })
      } finally {
        await principal.stop()
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
