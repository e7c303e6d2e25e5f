/**
 * Documents travelling between D-TA servers through IPFS: three Helia nodes, each a separate OS
 * process with its own home folder, peering over 127.0.0.1 only (static peers, no discovery).
 * Covers fetching through bitswap by two and three processes, restart of a node (documents, peer
 * id, port, re-dial by its peers), typed timeouts and aborts, and — through the network spy in
 * every process — that nothing in the default configuration (the private DHT on) reaches beyond
 * loopback. Finding documents across peers that are not connected is test/e2e/ipfs/dht.test.ts.
 * @module
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ipfsCid, testBytes } from '../../conformance/document-store.ts'
import { canBind, freePort, killAll, prepareHome, startNode } from './fixtures/node-process.ts'
import type { NodeProcess } from './fixtures/node-process.ts'
import type { HeliaDocumentStoreInit } from '../../../src/adapters/ipfs/helia/index.ts'

const FETCH_TIMEOUT_MS = 3000
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

describe('IPFS documents between three processes', { timeout: 60_000 }, () => {
  let home: string
  let a: NodeProcess
  let b: NodeProcess
  let c: NodeProcess
  let aInit: HeliaDocumentStoreInit
  const addr = (port: number, peerId: string): string => `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`
  const docs = {
    small: testBytes(2048, 1), // the size of an order envelope: one block
    large: testBytes(700_000, 2) // three chunks and a root: several bitswap rounds
  }
  const cids = { small: ipfsCid(docs.small), large: ipfsCid(docs.large) }

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'dta-e2e-ipfs-'))
    // peer ids and ports known in advance, so all three start at once and peer with each other
    const [homeA, homeB, homeC] = await Promise.all(['a', 'b', 'c'].map(async name => prepareHome(join(home, name))))
    const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()]
    const common = { fetchTimeoutMs: FETCH_TIMEOUT_MS, redialMinMs: 200, redialMaxMs: 1000 }
    aInit = { ...common, path: homeA.path, listen: [`/ip4/127.0.0.1/tcp/${portA}`], peers: [] }
    ;[a, b, c] = await Promise.all([
      startNode(aInit),
      startNode({ ...common, path: homeB.path, listen: [`/ip4/127.0.0.1/tcp/${portB}`], peers: [addr(portA, homeA.peerId)] }),
      startNode({ ...common, path: homeC.path, listen: [`/ip4/127.0.0.1/tcp/${portC}`], peers: [addr(portA, homeA.peerId), addr(portB, homeB.peerId)] })
    ])
    assert.equal(a.peerId, homeA.peerId)
  })

  after(() => {
    killAll()
    rmSync(home, { recursive: true, force: true })
  })

  it('B and C connect to their configured peers', async () => {
    const [wb, wc] = await Promise.all([
      b.request('waitPeers', { peers: [a.peerId], timeoutMs: 15_000 }),
      c.request('waitPeers', { peers: [a.peerId, b.peerId], timeoutMs: 15_000 })
    ])
    assert.ok(wb.ok, JSON.stringify(wb))
    assert.ok(wc.ok, JSON.stringify(wc))
  })

  it('a document put on A is fetched by B (two processes) and by C (three), bytes verified', async () => {
    for (const name of ['small', 'large'] as const) {
      const put = await a.request('put', { data: b64(docs[name]) })
      assert.equal(put.cid, cids[name], 'the Helia node gives the CID ipfs add gives')
    }
    for (const node of [b, c]) {
      assert.equal((await node.request('has', { cid: cids.small })).has, false)
      for (const name of ['small', 'large'] as const) {
        const got = await node.request('get', { cid: cids[name] })
        assert.ok(got.ok, JSON.stringify(got))
        assert.deepEqual(new Uint8Array(Buffer.from(got.data as string, 'base64')), docs[name])
      }
      assert.equal((await node.request('has', { cid: cids.large })).has, true)
    }
  })

  it('a document put on C reaches A, which has no peers configured, over C\'s connection', async () => {
    const bytes = testBytes(5000, 3)
    const put = await c.request('put', { data: b64(bytes) })
    const got = await a.request('get', { cid: put.cid })
    assert.ok(got.ok, JSON.stringify(got))
    assert.deepEqual(new Uint8Array(Buffer.from(got.data as string, 'base64')), bytes)
  })

  it('a CID no node has fails with DOCUMENT_FETCH_TIMEOUT after the configured timeout, saying whom it asked', async () => {
    const got = await b.request('get', { cid: ipfsCid(testBytes(64, 4)) })
    assert.equal(got.code, 'DOCUMENT_FETCH_TIMEOUT', JSON.stringify(got))
    // B is connected to A (its configured peer) and C (which dials B)
    assert.match(String(got.message), new RegExp(`asked 2 connected IPFS peers for ${FETCH_TIMEOUT_MS} ms \\(ipfs\\.fetchTimeoutMs\\)`), String(got.message))
    const ms = got.ms as number
    assert.ok(ms >= FETCH_TIMEOUT_MS - 50 && ms < FETCH_TIMEOUT_MS + 3000, `took ${ms} ms for a ${FETCH_TIMEOUT_MS} ms timeout`)
  })

  it('an aborted fetch stops at once with ABORTED', async () => {
    const got = await c.request('get', { cid: ipfsCid(testBytes(64, 5)), abortAfterMs: 300 })
    assert.equal(got.code, 'ABORTED', JSON.stringify(got))
    assert.ok((got.sinceAbortMs as number) < 250, `took ${String(got.sinceAbortMs)} ms after the abort`)
  })

  it('A stops, releases its port and exits by itself; restarted, it keeps its documents and peer id', async () => {
    const port = Number(aInit.listen[0].split('/')[4])
    const stopped = await a.stop()
    assert.ok(stopped.ok, JSON.stringify(stopped))
    assert.equal(await canBind(port), true, 'the port is free right after stop')
    let timer: ReturnType<typeof setTimeout> | undefined
    const code = await Promise.race([a.exited, new Promise(resolve => { timer = setTimeout(() => resolve('still running'), 10_000) })])
    clearTimeout(timer)
    assert.equal(code, 0, `the stopped node should exit by itself (no leaked sockets or timers): ${a.stderr()}`)

    const peerId = a.peerId
    a = await startNode(aInit)
    assert.equal(a.peerId, peerId)
    for (const name of ['small', 'large'] as const) {
      assert.equal((await a.request('has', { cid: cids[name] })).has, true)
      const got = await a.request('get', { cid: cids[name] })
      assert.deepEqual(new Uint8Array(Buffer.from(got.data as string, 'base64')), docs[name])
    }
  })

  it('B re-dials A after the restart and fetches a document A put since', async () => {
    const waited = await b.request('waitPeers', { peers: [a.peerId], timeoutMs: 15_000 })
    assert.ok(waited.ok, JSON.stringify(waited))
    const bytes = testBytes(2048, 6)
    const put = await a.request('put', { data: b64(bytes) })
    const got = await b.request('get', { cid: put.cid })
    assert.ok(got.ok, JSON.stringify(got))
    assert.deepEqual(new Uint8Array(Buffer.from(got.data as string, 'base64')), bytes)
  })

  it('no process tried to reach anything beyond 127.0.0.1, and each ran only identify, ping, the private DHT and bitswap', async () => {
    for (const node of [a, b, c]) {
      const status = await node.request('status')
      assert.deepEqual(status.attempts, [], `${node.peerId} tried to reach: ${JSON.stringify(status.attempts)}`)
      assert.deepEqual(status.services, ['identify', 'ping', 'dht'])
      assert.deepEqual((status.protocols as string[]).toSorted(), ['/ipfs/bitswap/1.2.0', '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/milagro-dta/kad/1.0.0'])
      assert.ok((status.multiaddrs as string[]).every(m => m.startsWith('/ip4/127.0.0.1/tcp/')), JSON.stringify(status.multiaddrs))
    }
    for (const node of [a, b, c]) {
      const stopped = await node.stop()
      assert.deepEqual(stopped.attempts, [])
    }
  })
})
