/**
 * Adversary: a hostile member of the private network's DHT (docs/ipfs.md, "What the DHT
 * reveals, and what a peer can make a node do"). The victim V is a real Helia node in its own
 * process, peering with an honest node H (which holds a document) and with the hostile M
 * (test/adversary/fixtures/hostile-dht-peer.ts: a real libp2p node speaking the DHT protocol
 * with kad-dht's codec, lying). V's network spy blocks, after recording, anything beyond
 * 127.0.0.1, so even a bug could not send a dial to an address M named.
 *
 * What M tries, and what V does:
 * - it answers every lookup with 20 made-up peers as closer peers and as providers, at public
 *   addresses, DNS names, a /dnsaddr/ and closed loopback ports: V tries none of the public or
 *   named ones (no attempt recorded), dials at most a bounded number of loopback ones, and a
 *   fetch of a CID nobody holds ends with DOCUMENT_FETCH_TIMEOUT at its deadline;
 * - it floods ADD_PROVIDER for random CIDs, naming itself and naming another peer: V keeps at
 *   most its per-peer share of M's records, none of the spoofed ones, and refuses the rest;
 * - it sends PUT_VALUE — a valid /pk/ record, an /ipns/ one, junk: V refuses all three and stores
 *   no DHT value;
 * - it sends one valid DHT message of 1 MiB (kad-dht reads messages of any size up to the 4 MiB
 *   its stream reader buffers): V resets the stream at the length prefix;
 * through all of it V keeps fetching H's document and stops cleanly.
 * @module
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { ipfsCid, testBytes } from '../conformance/document-store.ts'
import { freePort, killAll, prepareHome, startNode } from '../e2e/ipfs/fixtures/node-process.ts'
import type { NodeProcess } from '../e2e/ipfs/fixtures/node-process.ts'

const HOSTILE = fileURLToPath(new URL('./fixtures/hostile-dht-peer.ts', import.meta.url))
const FETCH_TIMEOUT_MS = 3000
const PER_PEER = 50
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

describe('a hostile member of the private DHT', { timeout: 120_000 }, () => {
  let root: string
  let v: NodeProcess
  let h: NodeProcess
  let m: NodeProcess
  let vPath: string
  const document = testBytes(4096, 1)
  let documentCid: string

  const status = async (): Promise<Record<string, any>> => {
    const s = await v.request('status')
    assert.ok(s.ok, JSON.stringify(s))
    return s
  }
  const fetchesDocument = async (label: string): Promise<void> => {
    const got = await v.request('get', { cid: documentCid })
    assert.ok(got.ok, `${label}: ${JSON.stringify(got)}`)
    assert.deepEqual(new Uint8Array(Buffer.from(String(got.data), 'base64')), document)
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'dta-adversary-dht-'))
    const [homeV, homeH, homeM] = await Promise.all(['v', 'h', 'm'].map(async name => prepareHome(join(root, name))))
    vPath = homeV.path
    const [portH, portM] = [await freePort(), await freePort()]
    const common = { fetchTimeoutMs: FETCH_TIMEOUT_MS, redialMinMs: 200, redialMaxMs: 1000 }
    ;[h, m] = await Promise.all([
      startNode({ ...common, path: homeH.path, listen: [`/ip4/127.0.0.1/tcp/${portH}`], peers: [] }),
      startNode({ ...common, path: homeM.path, listen: [`/ip4/127.0.0.1/tcp/${portM}`], peers: [] }, { script: HOSTILE })
    ])
    const put = await h.request('put', { data: b64(document) })
    documentCid = put.cid as string
    v = await startNode({
      ...common,
      path: homeV.path,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      peers: [`/ip4/127.0.0.1/tcp/${portH}/p2p/${homeH.peerId}`, `/ip4/127.0.0.1/tcp/${portM}/p2p/${homeM.peerId}`],
      dhtLimits: { maxProviderRecords: 1000, maxProviderRecordsPerPeer: PER_PEER }
    }, { blockNetwork: true })
    const waited = await v.request('waitPeers', { peers: [h.peerId, m.peerId], timeoutMs: 15_000 })
    assert.ok(waited.ok, JSON.stringify(waited))
  })

  after(() => {
    killAll()
    rmSync(root, { recursive: true, force: true })
  })

  it('lookups answered with fake peers at public addresses and names: V dials none of them, only loopback ones, and times out at the deadline', async () => {
    const before = (await status()).loopbackDials as number
    const got = await v.request('get', { cid: ipfsCid(testBytes(64, 2)) })
    assert.equal(got.code, 'DOCUMENT_FETCH_TIMEOUT', JSON.stringify(got))
    const ms = got.ms as number
    assert.ok(ms >= FETCH_TIMEOUT_MS - 50 && ms < FETCH_TIMEOUT_MS + 3000, `took ${ms} ms`)
    const found = await v.request('providers', { cid: ipfsCid(testBytes(64, 3)) })
    assert.ok(found.ok, JSON.stringify(found))
    const after = await status()
    assert.deepEqual(after.attempts, [], 'no public address, DNS name or /dnsaddr/ was tried')
    // each lookup meets the 20 fakes again and may dial each at its (at most 8) loopback
    // addresses, all closed: the fetch looked up at 0.25 s and retried 0.25, 0.5, 1 s after
    // each empty lookup before its 3 s deadline, and `providers` is one lookup more — 6 at most
    const dials = (after.loopbackDials as number) - before
    assert.ok(dials <= 6 * 20 * 8, `V dialled ${dials} loopback addresses`)
    await fetchesDocument('after the lying lookups')
  })

  it('a flood of ADD_PROVIDER: V keeps at most its per-peer share of M\'s records and none naming another peer', async () => {
    type Records = { others: number, own: number, refused: number }
    const before = ((await status()).contentRouting as { records: Records }).records // H's announcement, maybe
    const flood = await m.request('floodProviders', { peer: v.peerId, count: 500 }, 60_000)
    assert.ok(flood.ok, JSON.stringify(flood))
    const { records } = (await status()).contentRouting as { records: Records }
    assert.equal(records.others - before.others, PER_PEER, `V keeps ${records.others - before.others} of M's records`)
    assert.ok(records.refused > before.refused, 'the rest were refused')
    await fetchesDocument('after the flood')
  })

  it('PUT_VALUE of a valid /pk/ record, an /ipns/ record and junk: all refused', async () => {
    const put = await m.request('putValues', { peer: v.peerId })
    assert.ok(put.ok, JSON.stringify(put))
    assert.deepEqual(put.answered, [false, false, false], 'V reset every stream instead of storing a value')
  })

  it('one valid DHT message of 1 MiB (kad-dht itself reads up to 4 MiB): V resets the stream and keeps working', async () => {
    const rssBefore = (await status()).rss as number
    const sent = await m.request('oversize', { peer: v.peerId, bytes: 1024 * 1024 })
    assert.ok(sent.ok, JSON.stringify(sent))
    assert.equal(sent.reset, true, JSON.stringify(sent))
    const rssAfter = (await status()).rss as number
    assert.ok(rssAfter - rssBefore < 64 * 1024 * 1024, `V's RSS grew by ${((rssAfter - rssBefore) / 1048576).toFixed(1)} MiB`)
    await fetchesDocument('after the oversized message')
  })

  it('V never tried beyond 127.0.0.1, stored no DHT value, and stops and exits by itself', async () => {
    assert.deepEqual((await status()).attempts, [])
    assert.deepEqual((await h.request('status')).attempts, [])
    const stopped = await v.stop()
    assert.deepEqual(stopped.attempts, [])
    assert.equal(await v.exited, 0, v.stderr().slice(-2000))
    const db = new DatabaseSync(join(vPath, 'datastore.sqlite'), { readOnly: true })
    try {
      const rows = db.prepare("SELECT key FROM kv WHERE key LIKE '/dht/%' AND key NOT LIKE '/dht/provider/%'").all()
      assert.deepEqual(rows, [], 'only provider records under /dht/')
      const byPeer = new Map<string, number>()
      for (const { key } of db.prepare("SELECT key FROM kv WHERE key LIKE '/dht/provider/%'").all() as Array<{ key: string }>) {
        const peer = key.split('/').at(-1)!
        byPeer.set(peer, (byPeer.get(peer) ?? 0) + 1)
      }
      assert.equal(byPeer.get(m.peerId), PER_PEER, 'M\'s share, and no more')
      assert.deepEqual([...byPeer.keys()].filter(p => ![m.peerId, h.peerId, v.peerId].includes(p)), [], 'no record names a peer other than the one that sent it')
    } finally {
      db.close()
    }
    for (const node of [h, m]) await node.stop()
  })
})
