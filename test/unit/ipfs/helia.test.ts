/**
 * The Helia document store in one process: the shared conformance suite, configuration checks,
 * the persistent peer identity, the minimal set of services, clean stop (port and timers released),
 * and two in-process nodes exchanging documents over 127.0.0.1 — all while a network spy records
 * any attempt to reach beyond loopback. Cross-process behaviour is in test/e2e/ipfs/.
 * @module
 */

import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import dns from 'node:dns'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { installNetworkSpy, networkAttempts } from '../../e2e/ipfs/fixtures/network-spy.ts'
import { prepareHome } from '../../e2e/ipfs/fixtures/node-process.ts'
import { documentStoreConformance, ipfsCid, rejectsWith, testBytes } from '../../conformance/document-store.ts'
import type { HeliaDocumentStore, HeliaDocumentStoreInit } from '../../../src/adapters/ipfs/helia/index.ts'

installNetworkSpy()
const { createHeliaDocumentStore, parseSwarmKey } = await import('../../../src/adapters/ipfs/helia/index.ts')

const LOOPBACK = '/ip4/127.0.0.1/tcp/0'
const SWARM_KEY = '/key/swarm/psk/1.0.0/\n/base16/\n' + 'ab'.repeat(32) + '\n'

// no peers: a CID that is not on disk is DOCUMENT_NOT_FOUND at once (nobody to ask), as for the local store
documentStoreConformance('helia', (path) => createHeliaDocumentStore({ path, listen: [LOOPBACK], peers: [], fetchTimeoutMs: 300 }), {
  missingCode: 'DOCUMENT_NOT_FOUND'
})

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

async function waitFor (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('helia document store', () => {
  const folders: string[] = []
  const stores: HeliaDocumentStore[] = []
  const folder = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'dta-helia-'))
    folders.push(dir)
    return dir
  }
  const node = (init: Partial<HeliaDocumentStoreInit> = {}): HeliaDocumentStore => {
    const store = createHeliaDocumentStore({ path: folder(), listen: [LOOPBACK], peers: [], fetchTimeoutMs: 5000, ...init })
    stores.push(store)
    return store
  }
  after(async () => {
    for (const store of stores) await store.stop()
    for (const dir of folders) rmSync(dir, { recursive: true, force: true })
  })

  describe('configuration', () => {
    const base: HeliaDocumentStoreInit = { path: '/tmp/unused', listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000 }
    const peer = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBk3YD8y55LnVkmgBXC1ke9xkcRnoBGG3HVJBTaZfKArb'
    const cases: Array<[string, Partial<HeliaDocumentStoreInit>, RegExp]> = [
      ['an empty path', { path: '' }, /path/],
      ['a listen address that is not a multiaddr', { listen: ['127.0.0.1:4001'] }, /listen\[0\] is not a valid multiaddr/],
      ['a listen address that is not TCP', { listen: ['/ip4/127.0.0.1/udp/4001'] }, /listen\[0\] must look like/],
      ['a listen address with a peer id', { listen: [peer] }, /listen\[0\] must look like/],
      ['listen not an array', { listen: '/ip4/127.0.0.1/tcp/0' as unknown as string[] }, /listen must be an array/],
      ['a peer without /p2p/', { peers: ['/ip4/127.0.0.1/tcp/4001'] }, /peers\[0\] must look like/],
      ['a peer with a bad peer id', { peers: ['/ip4/127.0.0.1/tcp/4001/p2p/QmNotAPeerId'] }, /peers\[0\]/],
      ['a garbage peer', { peers: [peer, 'nonsense'] }, /peers\[1\] is not a valid multiaddr/],
      ['a bad announce address', { announce: ['/nope'] }, /announce\[0\]/],
      ['a swarm key with a wrong header', { swarmKey: SWARM_KEY.replace('psk', 'key') }, /swarmKey must be a go-ipfs swarm.key/],
      ['a swarm key that is too short', { swarmKey: '/key/swarm/psk/1.0.0/\n/base16/\nabcd' }, /swarmKey/],
      ['a swarm key that is not hex', { swarmKey: SWARM_KEY.replace('abab', 'zzzz') }, /swarmKey/],
      ['a zero fetch timeout', { fetchTimeoutMs: 0 }, /fetchTimeoutMs/],
      ['a fractional fetch timeout', { fetchTimeoutMs: 1.5 }, /fetchTimeoutMs/],
      ['a missing fetch timeout', { fetchTimeoutMs: undefined }, /fetchTimeoutMs/],
      ['a backoff whose ceiling is below its floor', { redialMinMs: 5000, redialMaxMs: 1000 }, /redialMaxMs/],
      ['a negative want-list debounce', { wantlistDebounceMs: -1 }, /wantlistDebounceMs/],
      ['an unknown content routing', { contentRouting: 'public-dht' as 'dht' }, /contentRouting must be one of dht, none/],
      ['a negative DHT record limit', { dhtLimits: { maxProviderRecords: -1 } }, /dhtLimits\.maxProviderRecords/]
    ]
    for (const [label, change, message] of cases) {
      it(`rejects ${label} with DOCUMENT_STORE_BAD_CONFIG`, () => {
        assert.throws(() => createHeliaDocumentStore({ ...base, ...change }), (err: unknown) => {
          assert.equal((err as { code?: string }).code, 'DOCUMENT_STORE_BAD_CONFIG')
          assert.match((err as Error).message, message)
          return true
        })
      })
    }

    it('never puts the swarm key into an error message', () => {
      const secret = 'c0ffee'.repeat(10) + 'beef' // 64 hex digits, but a bad header
      assert.throws(() => createHeliaDocumentStore({ ...base, swarmKey: `/key/swarm/psk/9/\n/base16/\n${secret}` }), (err: unknown) => {
        assert.ok(!JSON.stringify(err).includes(secret) && !(err as Error).message.includes(secret) && !String((err as Error).stack).includes(secret))
        return true
      })
    })

    it('accepts a go-ipfs swarm.key with or without a trailing newline, CRLF, upper-case hex', () => {
      const canonical = new TextDecoder().decode(parseSwarmKey(SWARM_KEY))
      assert.equal(canonical, SWARM_KEY.trimEnd())
      assert.deepEqual(parseSwarmKey(SWARM_KEY.trimEnd()), parseSwarmKey(SWARM_KEY))
      assert.deepEqual(parseSwarmKey(SWARM_KEY.replaceAll('\n', '\r\n')), parseSwarmKey(SWARM_KEY))
      assert.deepEqual(parseSwarmKey(SWARM_KEY.toUpperCase().replace('/KEY/SWARM/PSK/1.0.0/', '/key/swarm/psk/1.0.0/').replace('/BASE16/', '/base16/')), parseSwarmKey(SWARM_KEY))
    })

    it('fails start with LISTEN_ADDRESS_IN_USE when the listen port is taken (the config is fine), and releases everything', async () => {
      const server = net.createServer()
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as net.AddressInfo).port
      try {
        const store = node({ listen: [`/ip4/127.0.0.1/tcp/${port}`] })
        await rejectsWith(store.start(), 'LISTEN_ADDRESS_IN_USE')
        await rejectsWith(store.put(new Uint8Array(1)), 'DOCUMENT_STORE_STOPPED')
      } finally {
        server.close()
      }
    })
  })

  describe('identity', () => {
    it('keeps its peer id across restarts in a 0600 peer.key', async () => {
      const path = folder()
      const first = createHeliaDocumentStore({ path, listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000 })
      stores.push(first)
      assert.throws(() => first.peerId(), { code: 'DOCUMENT_STORE_STOPPED' })
      await first.start()
      const id = first.peerId()
      assert.match(id, /^12D3KooW/)
      await first.stop()
      assert.equal(first.peerId(), id) // still known after stop
      assert.equal(statSync(join(path, 'peer.key')).mode & 0o777, 0o600)

      const second = createHeliaDocumentStore({ path, listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000 })
      stores.push(second)
      await second.start()
      assert.equal(second.peerId(), id)
      assert.ok(second.multiaddrs().every(a => a.endsWith(`/p2p/${id}`)))
      await second.stop()

      const other = node()
      await other.start()
      assert.notEqual(other.peerId(), id)
    })

    it('refuses a peer.key readable by others, and one that is not a key', async () => {
      const path = folder()
      const store = createHeliaDocumentStore({ path, listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000 })
      stores.push(store)
      await store.start()
      await store.stop()
      const keyFile = join(path, 'peer.key')
      chmodSync(keyFile, 0o644)
      await rejectsWith(createHeliaDocumentStore({ path, listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000 }).start(), 'DOCUMENT_STORE_BAD_CONFIG')
      chmodSync(keyFile, 0o600)
      writeFileSync(keyFile, 'not a key')
      await rejectsWith(createHeliaDocumentStore({ path, listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000 }).start(), 'DOCUMENT_STORE_BAD_CONFIG')
      assert.equal(readFileSync(keyFile, 'utf8'), 'not a key') // never silently replaced
    })
  })

  describe('static peering', () => {
    it('starts although a configured peer is down, and connects once it comes up', async () => {
      const peerHome = await prepareHome(join(folder(), 'peer'))
      // The peer's port is chosen before the peer exists, so another process on this shared machine may
      // take it in the meantime (the CI saw that once): then both sides start again on a new port.
      for (let attempt = 1; ; attempt++) {
        const port = await freePort()
        const address = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerHome.peerId}`
        const lonely = node({ peers: [address], redialMinMs: 100, redialMaxMs: 400 })
        const started = performance.now()
        await lonely.start()
        assert.ok(performance.now() - started < 2000, 'start does not wait for peers')
        assert.deepEqual(lonely.connectedPeers(), [])
        await new Promise(resolve => setTimeout(resolve, 600)) // a few failed re-dials
        const peer = node({ path: peerHome.path, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
        try {
          await peer.start()
        } catch (error) {
          await lonely.stop()
          if ((error as { code?: string }).code === 'LISTEN_ADDRESS_IN_USE' && attempt < 5) continue
          throw error
        }
        assert.equal(peer.peerId(), peerHome.peerId)
        await waitFor('the re-dial to reach the peer', () => lonely.connectedPeers().includes(peerHome.peerId), 5000)
        await peer.stop()
        await lonely.stop()
        return
      }
    })
  })

  describe('two nodes in one process', () => {
    let a: HeliaDocumentStore
    let b: HeliaDocumentStore
    let aPath: string
    let aPort: number
    before(async () => {
      aPath = folder()
      aPort = await freePort()
      a = node({ path: aPath, listen: [`/ip4/127.0.0.1/tcp/${aPort}`] })
      await a.start()
      b = node({ peers: a.multiaddrs(), fetchTimeoutMs: 1500, redialMinMs: 100, redialMaxMs: 500 })
      await b.start()
      await waitFor('b to connect to a', () => b.connectedPeers().includes(a.peerId()))
    })

    it('runs identify, ping and the private DHT only, answers only their protocols and bitswap, and listens only where told', () => {
      for (const store of [a, b]) {
        assert.deepEqual(store.services(), ['identify', 'ping', 'dht'])
        assert.deepEqual(store.protocols().toSorted(), ['/ipfs/bitswap/1.2.0', '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/milagro-dta/kad/1.0.0'])
        assert.ok(store.multiaddrs().length === 1 && store.multiaddrs()[0].startsWith('/ip4/127.0.0.1/tcp/'), store.multiaddrs().join())
        assert.equal(store.contentRouting().mode, 'dht')
      }
    })

    it('with contentRouting: none, runs identify only and answers only identify and bitswap', async () => {
      const plain = node({ contentRouting: 'none' })
      await plain.start()
      assert.deepEqual(plain.services(), ['identify'])
      assert.deepEqual(plain.protocols().toSorted(), ['/ipfs/bitswap/1.2.0', '/ipfs/id/1.0.0'])
      assert.deepEqual(plain.contentRouting(), { mode: 'none', routingTable: 0, records: { others: 0, own: 0, refused: 0 }, announcing: 0 })
      assert.deepEqual(await plain.providers(ipfsCid(testBytes(10, 70))), [])
      await plain.stop()
    })

    it('a document put on a is recorded as held there at once: b\'s DHT lookup names a before any announcement', async () => {
      const cid = await a.put(testBytes(2048, 74))
      assert.equal(a.contentRouting().records.own >= 1, true)
      assert.deepEqual(await b.providers(cid), [a.peerId()])
    })

    it('b fetches a document put on a; the bytes are verified and kept (pinned) on b', async () => {
      const bytes = testBytes(700_000, 71) // three chunks + root: several bitswap rounds
      const cid = await a.put(bytes)
      assert.equal(cid, ipfsCid(bytes))
      assert.equal(await b.has(cid), false)
      assert.deepEqual(await b.get(cid), bytes)
      assert.equal(await b.has(cid), true)
    })

    it('a document accepted inline on a is served to b', async () => {
      const bytes = testBytes(2048, 72)
      const cid = ipfsCid(bytes)
      await a.accept(cid, bytes)
      assert.deepEqual(await b.get(cid), bytes)
    })

    it('a want that is already out is answered when a gets the document', async () => {
      const bytes = testBytes(2048, 73)
      const cid = ipfsCid(bytes)
      const pending = b.get(cid)
      await new Promise(resolve => setTimeout(resolve, 100))
      await a.put(bytes)
      assert.deepEqual(await pending, bytes)
    })

    it('an unknown CID fails with DOCUMENT_FETCH_TIMEOUT after fetchTimeoutMs, not before', async () => {
      const cid = ipfsCid(testBytes(100, 74))
      const started = performance.now()
      await rejectsWith(b.get(cid), 'DOCUMENT_FETCH_TIMEOUT')
      const elapsed = performance.now() - started
      assert.ok(elapsed >= 1450 && elapsed < 4000, `took ${elapsed} ms for a 1500 ms timeout`)
    })

    it('an aborted get stops at once with ABORTED', async () => {
      const cid = ipfsCid(testBytes(100, 75))
      const controller = new AbortController()
      const outcome = rejectsWith(b.get(cid, { signal: controller.signal }), 'ABORTED')
      await new Promise(resolve => setTimeout(resolve, 100))
      const aborted = performance.now()
      controller.abort()
      await outcome
      assert.ok(performance.now() - aborted < 100, `took ${performance.now() - aborted} ms to abort`)
    })

    it('a caller deadline shorter than fetchTimeoutMs counts as the caller aborting', async () => {
      await rejectsWith(b.get(ipfsCid(testBytes(100, 76)), { signal: AbortSignal.timeout(50) }), 'ABORTED')
    })

    it('stop during a fetch ends it with DOCUMENT_STORE_STOPPED', async () => {
      const c = node({ peers: a.multiaddrs() })
      await c.start()
      const outcome = rejectsWith(c.get(ipfsCid(testBytes(100, 77))), 'DOCUMENT_STORE_STOPPED')
      await new Promise(resolve => setTimeout(resolve, 50))
      await c.stop()
      await outcome
    })

    it('b does not take another node on a\'s address for a', async () => {
      const id = a.peerId()
      await a.stop()
      await waitFor('b to notice a left', () => !b.connectedPeers().includes(id))
      const impostor = node({ listen: [`/ip4/127.0.0.1/tcp/${aPort}`] })
      await impostor.start()
      await new Promise(resolve => setTimeout(resolve, 1000)) // several re-dials at 100–500 ms
      assert.deepEqual(b.connectedPeers(), [])
      await impostor.stop()
    })

    it('b re-dials a when a restarts, and fetches what a put after the restart', async () => {
      const id = a.peerId()
      a = node({ path: aPath, listen: [`/ip4/127.0.0.1/tcp/${aPort}`] })
      await a.start()
      assert.equal(a.peerId(), id)
      await waitFor('b to re-dial a', () => b.connectedPeers().includes(id), 5000)
      const bytes = testBytes(2048, 78)
      const cid = await a.put(bytes)
      assert.deepEqual(await b.get(cid), bytes)
    })

    it('stop releases the port and leaves no sockets or timers behind', async () => {
      for (const store of stores) await store.stop()
      const server = net.createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(aPort, '127.0.0.1', resolve)
      })
      await new Promise(resolve => server.close(resolve))
      // libp2p's address-manager debounce (1 s) is the last timer to go
      await waitFor('handles to close', () => {
        const open = process.getActiveResourcesInfo().filter(r => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout')
        return open.length === 0
      }, 5000)
    })
  })

  describe('network spy', () => {
    it('records attempts beyond loopback (checked without dialling anything)', () => {
      const before = networkAttempts().length
      assert.throws(() => net.connect({ host: '192.0.2.1', port: -1 }))
      assert.throws(() => dns.lookup('example.invalid', { family: 7 as 4 }, () => {}))
      const socket = dgram.createSocket('udp4')
      assert.throws(() => { socket.send('x', 0, '192.0.2.1') })
      socket.close()
      const seen = networkAttempts().slice(before).map(a => `${a.kind} ${a.target}`)
      assert.deepEqual(seen, ['tcp 192.0.2.1:-1', 'dns example.invalid', 'udp 192.0.2.1'])
    })

    it('saw nothing but loopback from every node in this file', () => {
      const seen = networkAttempts().filter(a => !a.target.startsWith('192.0.2.1') && a.target !== 'example.invalid')
      assert.deepEqual(seen, [])
    })
  })
})
