/**
 * Content routing inside the private network (docs/ipfs.md, "How documents are found"): five
 * Helia nodes, each its own OS process, in a chain A–B–C–D–E where each lists only its
 * neighbours in `peers`. A document put on E is fetched by A within the fetch timeout — A is not
 * configured to reach E, and bitswap asks connected peers only, so only the DHT can tell A where
 * the document is and how to reach E. With and without a private-network key; and with
 * `contentRouting: 'none'` the same fetch fails with DOCUMENT_FETCH_TIMEOUT. Every process runs
 * the network spy: nothing beyond 127.0.0.1 is ever tried.
 * @module
 */

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ipfsCid, testBytes } from '../../conformance/document-store.ts'
import { freePort, killAll, prepareHome, startNode } from './fixtures/node-process.ts'
import type { NodeProcess } from './fixtures/node-process.ts'
import type { HeliaDocumentStoreInit } from '../../../src/adapters/ipfs/helia/index.ts'

const FETCH_TIMEOUT_MS = 5000
const NAMES = ['A', 'B', 'C', 'D', 'E']
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
const bytesOf = (data: unknown): Uint8Array => new Uint8Array(Buffer.from(String(data), 'base64'))

/** Starts five nodes in a chain, each peering with its neighbours only; returns them in order. */
async function startChain (root: string, options: { swarmKey?: boolean, contentRouting?: 'dht' | 'none' } = {}): Promise<NodeProcess[]> {
  const homes = await Promise.all(NAMES.map(async name => prepareHome(join(root, name))))
  const ports: number[] = []
  for (const _ of NAMES) ports.push(await freePort())
  const addr = (i: number): string => `/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${homes[i].peerId}`
  const key = `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`
  const inits: HeliaDocumentStoreInit[] = homes.map((home, i) => {
    const init: HeliaDocumentStoreInit = {
      path: home.path,
      listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`],
      peers: [i - 1, i + 1].filter(j => j >= 0 && j < NAMES.length).map(addr),
      fetchTimeoutMs: FETCH_TIMEOUT_MS,
      redialMinMs: 200,
      redialMaxMs: 1000,
      contentRouting: options.contentRouting
    }
    if (options.swarmKey === true) {
      init.swarmKeyFile = join(home.path, 'swarm.key')
      writeFileSync(init.swarmKeyFile, key, { mode: 0o600 })
    }
    return init
  })
  const nodes = await Promise.all(inits.map(async init => startNode(init)))
  // each is connected to its neighbours before the test starts
  await Promise.all(nodes.map(async (node, i) => {
    const neighbours = [nodes[i - 1], nodes[i + 1]].filter(n => n !== undefined).map(n => n.peerId)
    const waited = await node.request('waitPeers', { peers: neighbours, timeoutMs: 15_000 })
    assert.ok(waited.ok, `${NAMES[i]}: ${JSON.stringify(waited)}`)
  }))
  return nodes
}

async function stopAll (nodes: NodeProcess[]): Promise<void> {
  for (const node of nodes) {
    const stopped = await node.stop()
    assert.ok(stopped.ok, JSON.stringify(stopped))
    assert.deepEqual(stopped.attempts, [], 'nothing beyond 127.0.0.1 was tried')
  }
  for (const [i, node] of nodes.entries()) {
    let timer: ReturnType<typeof setTimeout> | undefined
    const code = await Promise.race([node.exited, new Promise(resolve => { timer = setTimeout(() => resolve('still running'), 10_000) })])
    clearTimeout(timer)
    assert.equal(code, 0, `${NAMES[i]} should exit by itself once stopped (no DHT timer or socket left): ${node.stderr().slice(-2000)}`)
  }
}

for (const swarmKey of [false, true]) {
  describe(`the DHT across a five-node chain A–B–C–D–E (${swarmKey ? 'private network: swarm key' : 'no swarm key'})`, { timeout: 90_000 }, () => {
    let root: string
    let nodes: NodeProcess[]

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'dta-e2e-dht-'))
      nodes = await startChain(root, { swarmKey })
    })

    after(() => {
      killAll()
      rmSync(root, { recursive: true, force: true })
    })

    it('every node runs the private DHT (never the public one) and answers only its protocols', async () => {
      for (const [i, node] of nodes.entries()) {
        const status = await node.request('status')
        assert.deepEqual(status.services, ['identify', 'ping', 'dht'], NAMES[i])
        assert.deepEqual((status.protocols as string[]).toSorted(), ['/ipfs/bitswap/1.2.0', '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/milagro-dta/kad/1.0.0'], NAMES[i])
        assert.equal((status.contentRouting as { mode: string }).mode, 'dht')
      }
    })

    it('a document put on E is found through the DHT and fetched by A within the fetch timeout', async () => {
      const [a, b, , , e] = nodes
      const bytes = testBytes(2048, swarmKey ? 2 : 1)
      const put = await e.request('put', { data: b64(bytes) })
      assert.equal(put.cid, ipfsCid(bytes))
      assert.equal((await a.request('has', { cid: put.cid })).has, false)

      const got = await a.request('get', { cid: put.cid })
      assert.ok(got.ok, JSON.stringify(got))
      assert.deepEqual(bytesOf(got.data), bytes)
      assert.ok((got.ms as number) < FETCH_TIMEOUT_MS, `took ${String(got.ms)} ms`)
      assert.equal((await a.request('has', { cid: put.cid })).has, true, 'A keeps (pins) what it fetched')

      // the DHT names E as a holder (and A too, once A has announced its copy)
      const found = await b.request('providers', { cid: put.cid })
      assert.ok(found.ok, JSON.stringify(found))
      assert.ok((found.providers as string[]).includes(e.peerId), `providers: ${JSON.stringify(found.providers)}`)
    })

    it('a larger document (several blocks) put on A reaches E the same way', async () => {
      const [a, , , , e] = nodes
      const bytes = testBytes(700_000, swarmKey ? 4 : 3)
      const put = await a.request('put', { data: b64(bytes) })
      const got = await e.request('get', { cid: put.cid })
      assert.ok(got.ok, JSON.stringify(got))
      assert.deepEqual(bytesOf(got.data), bytes)
    })

    it('a CID nobody holds still ends with DOCUMENT_FETCH_TIMEOUT at the deadline, saying it searched', async () => {
      const got = await nodes[0].request('get', { cid: ipfsCid(testBytes(64, swarmKey ? 6 : 5)) })
      assert.equal(got.code, 'DOCUMENT_FETCH_TIMEOUT', JSON.stringify(got))
      assert.match(String(got.message), /connected IPFS peers? for 5000 ms \(ipfs\.fetchTimeoutMs\) and looked for other holders in the DHT; none had it/)
      const ms = got.ms as number
      assert.ok(ms >= FETCH_TIMEOUT_MS - 50 && ms < FETCH_TIMEOUT_MS + 3000, `took ${ms} ms`)
    })

    it('nothing beyond 127.0.0.1 was tried; each node stops and exits by itself', async () => {
      await stopAll(nodes)
    })
  })
}

describe('the same chain with contentRouting: none', { timeout: 90_000 }, () => {
  let root: string
  let nodes: NodeProcess[]

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'dta-e2e-nodht-'))
    nodes = await startChain(root, { contentRouting: 'none' })
  })

  after(() => {
    killAll()
    rmSync(root, { recursive: true, force: true })
  })

  it('A cannot fetch a document put on E: DOCUMENT_FETCH_TIMEOUT, and A stays connected to B only', async () => {
    const [a, b, , , e] = nodes
    const bytes = testBytes(2048, 7)
    const put = await e.request('put', { data: b64(bytes) })
    const got = await a.request('get', { cid: put.cid })
    assert.equal(got.code, 'DOCUMENT_FETCH_TIMEOUT', JSON.stringify(got))
    assert.match(String(got.message), /asked 1 connected IPFS peer for 5000 ms \(ipfs\.fetchTimeoutMs\); none had it/)
    const status = await a.request('status')
    assert.deepEqual(status.connectedPeers, [b.peerId])
    assert.deepEqual(status.services, ['identify'])
    assert.deepEqual((status.protocols as string[]).toSorted(), ['/ipfs/bitswap/1.2.0', '/ipfs/id/1.0.0'])
    assert.deepEqual((await a.request('providers', { cid: put.cid })).providers, [])
    await stopAll(nodes)
  })
})
