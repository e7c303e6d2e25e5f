/**
 * Issue 14, item 10: what a fetch and the static peering tell, in process on 127.0.0.1.
 * - With no peer connected, a CID that is not on disk fails at once with DOCUMENT_NOT_FOUND naming
 *   the cause (not after `fetchTimeoutMs` with a bare "timeout").
 * - With peers connected, a CID nobody has times out after `fetchTimeoutMs` and says how many
 *   peers were asked and for how long; the `onNetworkFetch` hook hears of every get that asked
 *   the network (and of no local read).
 * - A configured peer that cannot be reached is warned about at start and then with backoff (the
 *   1st, 2nd, 4th… failed dial), saying why: refused, or another peer id at that address; once it
 *   connects, one info line says so.
 * @module
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { createHeliaDocumentStore } from '../../../src/adapters/ipfs/helia/index.ts'
import type { HeliaDocumentStore, HeliaDocumentStoreInit } from '../../../src/adapters/ipfs/helia/index.ts'
import { isDtaError } from '../../../src/errors.ts'
import { ipfsCid, testBytes } from '../../conformance/document-store.ts'
import { freePort, prepareHome } from '../../e2e/ipfs/fixtures/node-process.ts'

interface Line { level: 'warn' | 'info', fields: Record<string, unknown>, message: string }

function captureLog (): { lines: Line[], log: NonNullable<HeliaDocumentStoreInit['log']> } {
  const lines: Line[] = []
  return {
    lines,
    log: {
      warn (fields, message) { lines.push({ level: 'warn', fields, message }) },
      info (fields, message) { lines.push({ level: 'info', fields, message }) },
    },
  }
}

async function waitFor (what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function failure (promise: Promise<unknown>): Promise<{ code: string, message: string, ms: number }> {
  const started = performance.now()
  try {
    await promise
  } catch (err) {
    assert.ok(isDtaError(err), String(err))
    return { code: err.code, message: err.message, ms: performance.now() - started }
  }
  throw new Error('expected a failure')
}

describe('IPFS fetches and static peering say what happened', () => {
  const folders: string[] = []
  const stores: HeliaDocumentStore[] = []
  const folder = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'dta-peering-'))
    folders.push(dir)
    return dir
  }
  const node = (init: Partial<HeliaDocumentStoreInit>): HeliaDocumentStore => {
    const store = createHeliaDocumentStore({ path: folder(), listen: ['/ip4/127.0.0.1/tcp/0'], peers: [], fetchTimeoutMs: 5000, ...init })
    stores.push(store)
    return store
  }
  after(async () => {
    for (const store of stores) await store.stop()
    for (const dir of folders) rmSync(dir, { recursive: true, force: true })
  })

  it('with no peer connected, a missing CID is DOCUMENT_NOT_FOUND at once, naming the cause', async () => {
    const fetches: Array<[number, string]> = []
    const alone = node({ fetchTimeoutMs: 5000, onNetworkFetch: (seconds, result) => { fetches.push([seconds, result]) } })
    await alone.start()
    const got = await failure(alone.get(ipfsCid(testBytes(100, 1))))
    assert.equal(got.code, 'DOCUMENT_NOT_FOUND')
    assert.match(got.message, /is not on this node and no IPFS peer is connected to ask \(check ipfs\.peers/)
    assert.ok(got.ms < 1000, `took ${got.ms} ms with a 5000 ms fetch timeout`)
    assert.deepEqual(fetches.map(([, result]) => result), ['DOCUMENT_NOT_FOUND'])
    // a document on disk needs no peer, and asks no network
    const cid = await alone.put(testBytes(100, 2))
    assert.deepEqual(await alone.get(cid), testBytes(100, 2))
    assert.equal(fetches.length, 1)
  })

  it('with a peer connected, a CID nobody has times out saying how many peers were asked and for how long', async () => {
    const fetches: Array<[number, string]> = []
    const a = node({})
    await a.start()
    const b = node({ peers: a.multiaddrs(), fetchTimeoutMs: 800, onNetworkFetch: (seconds, result) => { fetches.push([seconds, result]) } })
    await b.start()
    await waitFor('b to connect to a', () => b.connectedPeers().includes(a.peerId()))
    const got = await failure(b.get(ipfsCid(testBytes(100, 3))))
    assert.equal(got.code, 'DOCUMENT_FETCH_TIMEOUT')
    assert.match(got.message, /: asked 1 connected IPFS peer for 800 ms \(ipfs\.fetchTimeoutMs\) and looked for other holders in the DHT; none had it$/)
    assert.ok(got.ms >= 750, `took ${got.ms} ms`)
    const cid = await a.put(testBytes(2048, 4))
    assert.deepEqual(await b.get(cid), testBytes(2048, 4))
    assert.deepEqual(fetches.map(([, result]) => result), ['DOCUMENT_FETCH_TIMEOUT', 'ok'])
    assert.ok(fetches[0]![0] >= 0.75 && fetches[0]![0] < 5, `timed ${fetches[0]![0]} s`)
  })

  it('a configured peer that refuses connections is warned about at once, then with backoff', async () => {
    const { lines, log } = captureLog()
    const absent = await prepareHome(join(folder(), 'absent'))
    const port = await freePort()
    const lonely = node({ peers: [`/ip4/127.0.0.1/tcp/${port}/p2p/${absent.peerId}`], redialMinMs: 10, redialMaxMs: 40, log })
    await lonely.start()
    await waitFor('a first warning', () => lines.length > 0, 5000)
    const first = lines[0]!
    assert.equal(first.level, 'warn')
    assert.equal(first.message, 'configured IPFS peer not connected')
    assert.equal(first.fields.peer, `/ip4/127.0.0.1/tcp/${port}/p2p/${absent.peerId}`)
    assert.match(String(first.fields.reason), /^unreachable: ECONNREFUSED/)
    assert.equal(first.fields.failures, 1)
    await new Promise(resolve => setTimeout(resolve, 1500)) // some 40 dials at 10–40 ms
    const failures = lines.map(l => l.fields.failures as number)
    assert.ok(failures.length >= 4, `warned at ${failures.join(', ')}`)
    assert.deepEqual(failures, failures.map((_, i) => 2 ** i), 'warned at the 1st, 2nd, 4th, 8th… failure only')
  })

  it('another node at the configured address is named as a peer id mismatch; the right one connecting is logged once', async () => {
    const { lines, log } = captureLog()
    const wanted = await prepareHome(join(folder(), 'wanted'))
    const port = await freePort()
    const impostor = node({ listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    await impostor.start()
    const dialer = node({ peers: [`/ip4/127.0.0.1/tcp/${port}/p2p/${wanted.peerId}`], redialMinMs: 50, redialMaxMs: 200, log })
    await dialer.start()
    await waitFor('a warning', () => lines.length > 0, 5000)
    assert.match(String(lines[0]!.fields.reason), new RegExp(`another node answers at that address \\(peer id ${impostor.peerId()}\\): the configured /p2p/ peer id does not match`))
    assert.deepEqual(dialer.connectedPeers(), [])
    await impostor.stop()
    const right = node({ path: wanted.path, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    await right.start()
    assert.equal(right.peerId(), wanted.peerId)
    await waitFor('the dialer to connect', () => dialer.connectedPeers().includes(wanted.peerId), 5000)
    await waitFor('the info line', () => lines.some(l => l.level === 'info'), 2000)
    const infos = lines.filter(l => l.level === 'info')
    assert.deepEqual(infos.map(l => [l.message, l.fields.peer]), [['configured IPFS peer connected', `/ip4/127.0.0.1/tcp/${port}/p2p/${wanted.peerId}`]])
  })
})
