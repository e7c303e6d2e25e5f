/**
 * Private IPFS network (libp2p pre-shared key, go-ipfs `swarm.key`), as the original D-TA ran:
 * four processes peering with A over 127.0.0.1 — B has A's key and fetches; C has no key and D a
 * different key, and both fail with a typed error within their fetch timeout, never connecting.
 * Each node reads its key from a `swarm.key` file in its home, written 0600 as the store requires
 * (a group- or world-readable one is refused: test/unit/ipfs/swarm-key.test.ts).
 * @module
 */

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { testBytes } from '../../conformance/document-store.ts'
import { freePort, killAll, prepareHome, startNode } from './fixtures/node-process.ts'
import type { NodeProcess } from './fixtures/node-process.ts'

const swarmKey = (): string => `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`

/** Writes `key` to `<folder>/swarm.key`, owner-only, and returns the path. */
function writeSwarmKey (folder: string, key: string): string {
  const file = join(folder, 'swarm.key')
  writeFileSync(file, key, { mode: 0o600, flag: 'wx' })
  assert.equal(statSync(file).mode & 0o777, 0o600)
  return file
}
const FETCH_TIMEOUT_MS = 2000

describe('IPFS private network', { timeout: 60_000 }, () => {
  let home: string
  let a: NodeProcess
  let b: NodeProcess
  let c: NodeProcess
  let d: NodeProcess

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'dta-e2e-pnet-'))
    const homes = await Promise.all(['a', 'b', 'c', 'd'].map(async name => prepareHome(join(home, name))))
    const portA = await freePort()
    const toA = [`/ip4/127.0.0.1/tcp/${portA}/p2p/${homes[0].peerId}`]
    const key = swarmKey()
    const common = { fetchTimeoutMs: FETCH_TIMEOUT_MS, redialMinMs: 200, redialMaxMs: 1000 }
    ;[a, b, c, d] = await Promise.all([
      startNode({ ...common, path: homes[0].path, listen: [`/ip4/127.0.0.1/tcp/${portA}`], peers: [], swarmKeyFile: writeSwarmKey(homes[0].path, key) }),
      startNode({ ...common, path: homes[1].path, listen: ['/ip4/127.0.0.1/tcp/0'], peers: toA, swarmKeyFile: writeSwarmKey(homes[1].path, key) }),
      startNode({ ...common, path: homes[2].path, listen: ['/ip4/127.0.0.1/tcp/0'], peers: toA }),
      startNode({ ...common, path: homes[3].path, listen: ['/ip4/127.0.0.1/tcp/0'], peers: toA, swarmKeyFile: writeSwarmKey(homes[3].path, swarmKey()) })
    ])
  })

  after(() => {
    killAll()
    rmSync(home, { recursive: true, force: true })
  })

  it('only the node with the key can fetch from A', async () => {
    assert.ok((await b.request('waitPeers', { peers: [a.peerId], timeoutMs: 15_000 })).ok)
    const bytes = testBytes(2048, 9)
    const put = await a.request('put', { data: Buffer.from(bytes).toString('base64') })
    assert.ok(put.ok, JSON.stringify(put))

    const [withKey, withoutKey, otherKey] = await Promise.all([b, c, d].map(async node => node.request('get', { cid: put.cid })))
    assert.ok(withKey.ok, JSON.stringify(withKey))
    assert.deepEqual(new Uint8Array(Buffer.from(withKey.data as string, 'base64')), bytes)
    // they never got a connection: with no peer to ask the fetch fails — at once, or, when a
    // re-dial to A was in flight, once that dial or the fetch time limit ends — and says why
    for (const [label, got] of [['no key', withoutKey], ['another key', otherKey]] as const) {
      assert.ok(got.code === 'DOCUMENT_NOT_FOUND' || got.code === 'DOCUMENT_FETCH_TIMEOUT', `${label}: ${JSON.stringify(got)}`)
      assert.equal(got.data, undefined, label)
      assert.match(String(got.message), /no IPFS peer is connected|asked 0 connected IPFS peers/, label)
      assert.ok((got.ms as number) < FETCH_TIMEOUT_MS + 3000, `${label}: took ${String(got.ms)} ms`)
    }
  })

  it('nodes without the key never got a connection, and nothing reached beyond loopback', async () => {
    for (const node of [c, d]) {
      const status = await node.request('status')
      assert.deepEqual(status.connectedPeers, [])
      assert.deepEqual(status.attempts, [])
    }
    const status = await a.request('status')
    assert.deepEqual(status.connectedPeers, [b.peerId])
    assert.deepEqual(status.attempts, [])
    for (const node of [a, b, c, d]) assert.ok((await node.stop()).ok)
  })
})
