/**
 * The DHT's datastore (src/adapters/ipfs/dht-datastore.ts): provider records on disk beside the
 * pins, bounded per peer and in all (this node's own never refused), no DHT values, the peer store
 * in memory, counts that survive a reopen; and the DHT message-size guard of
 * src/adapters/ipfs/helia/dht.ts, fed the bytes a hostile peer would send.
 * @module
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Key } from 'interface-datastore'
import { DhtDatastore } from '../../../src/adapters/ipfs/dht-datastore.ts'
import { SqliteDatastore } from '../../../src/adapters/ipfs/sqlite-datastore.ts'
import { guardMessages } from '../../../src/adapters/ipfs/helia/dht.ts'

const SELF = '12D3KooWSelf'
const record = (cid: string, peer: string): Key => new Key(`/dht/provider/${cid}/${peer}`)
const time = new Uint8Array([1])

async function all<T> (source: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}

describe('DHT datastore', () => {
  const folders: string[] = []
  after(() => { for (const f of folders) rmSync(f, { recursive: true, force: true }) })
  const open = async (file?: string): Promise<{ disk: SqliteDatastore, file: string }> => {
    if (file === undefined) {
      const folder = mkdtempSync(join(tmpdir(), 'dta-dhtds-'))
      folders.push(folder)
      file = join(folder, 'datastore.sqlite')
    }
    const disk = new SqliteDatastore(file)
    await disk.open()
    return { disk, file }
  }

  it('keeps provider records on disk, bounded per peer and in all; its own are never refused', async () => {
    const { disk, file } = await open()
    const store = new DhtDatastore(disk, SELF, { maxProviderRecords: 5, maxProviderRecordsPerPeer: 3 })
    for (let i = 0; i < 3; i++) store.put(record(`cid${i}`, 'peerA'), time)
    assert.throws(() => store.put(record('cid3', 'peerA'), time), { name: 'PutFailedError', message: /this peer full/ })
    store.put(record('cid0', 'peerA'), new Uint8Array([2])) // a known record is refreshed
    assert.deepEqual(store.get(record('cid0', 'peerA')), new Uint8Array([2]))
    store.put(record('cid0', 'peerB'), time)
    store.put(record('cid1', 'peerB'), time)
    assert.throws(() => store.put(record('cid2', 'peerC'), time), { name: 'PutFailedError', message: /records full/ })
    for (let i = 0; i < 10; i++) store.put(record(`own${i}`, SELF), time)
    assert.deepEqual(store.counts(), { others: 5, own: 10, refused: 2 })
    // deleting frees room
    store.delete(record('cid0', 'peerB'))
    store.put(record('cid2', 'peerC'), time)
    assert.deepEqual(store.counts(), { others: 5, own: 10, refused: 2 })
    await disk.close()
    // the counts come back from disk
    const again = await open(file)
    assert.deepEqual(new DhtDatastore(again.disk, SELF, { maxProviderRecords: 5, maxProviderRecordsPerPeer: 3 }).counts(), { others: 5, own: 10, refused: 0 })
    await again.disk.close()
  })

  it('stores no DHT value, nor any other /dht/ key', async () => {
    const { disk } = await open()
    const store = new DhtDatastore(disk, SELF, { maxProviderRecords: 5, maxProviderRecordsPerPeer: 3 })
    for (const key of ['/dht/record/abc', '/dht/other', '/dht/provider/cid']) {
      assert.throws(() => store.put(new Key(key), time), { name: 'PutFailedError' }, key)
      assert.equal(store.has(new Key(key)), false)
    }
    await disk.close()
  })

  it('keeps the peer store in memory, apart from Helia\'s pins in the same file, and queries both sides', async () => {
    const { disk, file } = await open()
    disk.put(new Key('/pin/abc'), time) // what Helia keeps there
    const store = new DhtDatastore(disk, SELF, { maxProviderRecords: 5, maxProviderRecordsPerPeer: 3 })
    store.put(new Key('/peers/xyz'), time)
    store.put(record('cid', 'peerA'), time)
    assert.equal(store.has(new Key('/peers/xyz')), true)
    assert.equal(disk.has(new Key('/peers/xyz')), false, 'the peer store is not on disk')
    assert.deepEqual((await all(store.queryKeys({}))).map(String).toSorted(), ['/dht/provider/cid/peerA', '/peers/xyz'], 'never Helia\'s keys')
    assert.deepEqual((await all(store.query({ prefix: '/dht/provider/cid' }))).map(p => p.key.toString()), ['/dht/provider/cid/peerA'])
    assert.deepEqual((await all(store.queryKeys({ prefix: '/peers' }))).map(String), ['/peers/xyz'])
    await disk.close()
    const again = await open(file)
    assert.equal(new DhtDatastore(again.disk, SELF, { maxProviderRecords: 5, maxProviderRecordsPerPeer: 3 }).has(new Key('/peers/xyz')), false)
    await again.disk.close()
  })

  it('writes the node\'s own record in kad-dht\'s layout (base32 multihash, time as a varint)', async () => {
    const { disk } = await open()
    const store = new DhtDatastore(disk, SELF, { maxProviderRecords: 5, maxProviderRecordsPerPeer: 3 })
    const multihash = new Uint8Array([0x12, 0x20, ...new Uint8Array(32).fill(7)])
    assert.equal(store.hasOwnRecord(multihash), false)
    store.recordOwn(multihash, 1_700_000_000_123)
    assert.equal(store.hasOwnRecord(multihash), true)
    const [pair] = await all(store.query({ prefix: '/dht/provider/' }))
    assert.match(pair.key.toString(), new RegExp(`^/dht/provider/ciqa[a-z2-7]+/${SELF}$`))
    // unsigned LEB128 of 1 700 000 000 123
    let n = 0
    for (const [i, byte] of pair.value.entries()) n += (byte & 0x7f) * 2 ** (7 * i)
    assert.equal(n, 1_700_000_000_123)
    await disk.close()
  })
})

describe('DHT message-size guard', () => {
  /** A fake stream: collects the 'message' listener, records an abort. */
  function fakeStream (): { stream: Parameters<typeof guardMessages>[0], send: (bytes: Uint8Array | Uint8Array[]) => void, aborted: () => Error | undefined } {
    let listener: ((evt: Event) => void) | undefined
    let abortedWith: Error | undefined
    const stream = {
      addEventListener: (_type: string, fn: (evt: Event) => void) => { listener = fn },
      removeEventListener: () => { listener = undefined },
      abort: (err: Error) => { abortedWith = err }
    } as unknown as Parameters<typeof guardMessages>[0]
    return {
      stream,
      send: (bytes) => { listener?.(Object.assign(new Event('message'), { data: Array.isArray(bytes) ? bytes : bytes })) },
      aborted: () => abortedWith
    }
  }
  const varint = (n: number): number[] => { const out: number[] = []; while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) } out.push(n); return out }
  const message = (length: number): Uint8Array => Uint8Array.from([...varint(length), ...new Uint8Array(length)])

  it('lets messages up to the limit through, however they are split into chunks', () => {
    const { stream, send, aborted } = fakeStream()
    guardMessages(stream, 1000)
    const many = Uint8Array.from([...message(1000), ...message(0), ...message(300), ...message(999)])
    for (let i = 0; i < many.length; i += 7) send(many.subarray(i, i + 7))
    send([message(10), message(20)])
    assert.equal(aborted(), undefined)
  })

  it('aborts at the length prefix of a larger message, before its body arrives', () => {
    const { stream, send, aborted } = fakeStream()
    guardMessages(stream, 1000)
    send(message(10))
    send(Uint8Array.from(varint(3 * 1024 * 1024)))
    assert.match(String(aborted()?.message), /DHT message of 3145728 bytes, more than 1000/)
  })

  it('aborts on a length prefix that never ends', () => {
    const { stream, send, aborted } = fakeStream()
    guardMessages(stream, 1000)
    send(new Uint8Array(8).fill(0xff))
    assert.ok(aborted() !== undefined)
  })
})
