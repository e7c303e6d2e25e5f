/**
 * The pieces under the Helia node that this project wrote for speed: the single-leaf CID fast
 * path (byte-identical to the importer), the SQLite datastore (the interface Helia's pins use),
 * the blockstore's synchronous small writes and recent-block cache (same files as
 * blockstore-fs, readable by a plain FsBlockstore), and the single-leaf pin walker (same pin
 * records as Helia's own walker).
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { Key } from 'interface-datastore'
import { CachedFsBlockstore } from '../../../src/adapters/ipfs/blockstore.ts'
import { SqliteDatastore } from '../../../src/adapters/ipfs/sqlite-datastore.ts'
import { buildCidV0, CHUNK_SIZE, importCidV0 } from '../../../src/adapters/ipfs/unixfs.ts'
import type { Block } from '../../../src/adapters/ipfs/unixfs.ts'
import { singleLeafWalker } from '../../../src/adapters/ipfs/helia/index.ts'
import type { Helia } from 'helia'
import { testBytes } from '../../conformance/document-store.ts'

async function collect (it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of it) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

describe('single-leaf CID fast path', () => {
  for (const size of [0, 1, 2, 127, 128, 1024, 2600, 65_536, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1]) {
    it(`${size} bytes: same CID and same block bytes as the importer`, async () => {
      const bytes = testBytes(size, size + 7)
      const blocks: Uint8Array[] = []
      const slow = await importCidV0(bytes, { put: (_c, b) => { blocks.push(b) } })
      const fast = await buildCidV0(bytes)
      assert.equal(fast.cid.toString(), slow.toString())
      assert.deepEqual(fast.blocks.map(b => Buffer.from(b.bytes)), blocks.map(b => Buffer.from(b)))
    })
  }
})

describe('SqliteDatastore', () => {
  it('puts, gets, has, deletes, queries by prefix and persists', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dta-ds-'))
    try {
      const file = path.join(dir, 'ds.sqlite')
      const ds = new SqliteDatastore(file)
      await ds.open()
      ds.put(new Key('/pin/a'), new Uint8Array([1]))
      ds.put(new Key('/pin/b'), new Uint8Array([2]))
      ds.put(new Key('/pinned-block/x'), new Uint8Array([3]))
      ds.put(new Key('/pin/a'), new Uint8Array([9]))
      assert.deepEqual([...ds.get(new Key('/pin/a'))], [9])
      assert.equal(ds.has(new Key('/pin/c')), false)
      assert.throws(() => ds.get(new Key('/pin/c')), { name: 'NotFoundError' })
      const pins = []
      for await (const { key, value } of ds.query({ prefix: '/pin/' })) pins.push([key.toString(), [...value]])
      assert.deepEqual(pins, [['/pin/a', [9]], ['/pin/b', [2]]])
      ds.delete(new Key('/pin/b'))
      await ds.close()
      const again = new SqliteDatastore(file)
      await again.open()
      const keys = []
      for await (const key of again.queryKeys({})) keys.push(key.toString())
      assert.deepEqual(keys, ['/pin/a', '/pinned-block/x'])
      await again.close()
      assert.throws(() => again.get(new Key('/pin/a')), { name: 'OpenFailedError' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('pinning a single-leaf document', () => {
  it('writes exactly the records of Helia\'s default walker, and pins.isPinned / pins.ls see the pin', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dta-pin-'))
    const { Helia } = await import(new URL('./helia.js', import.meta.resolve('helia')).href) as { Helia: new (init: object) => Helia }
    const records = async (name: string, walker: boolean, docs: Block[]): Promise<Array<[string, string]>> => {
      const blockstore = new CachedFsBlockstore(path.join(dir, name, 'blocks'), 1024 * 1024)
      const datastore = new SqliteDatastore(path.join(dir, name, 'datastore.sqlite'))
      await blockstore.open()
      await datastore.open()
      const helia = new Helia({ name: 'test', version: '0', blockstore, datastore, blockBrokers: [], routers: [] })
      await helia.start()
      for (const leaf of docs) {
        await blockstore.put(leaf.cid, leaf.bytes)
        for await (const _ of helia.pins.add(leaf.cid, walker ? { walker: singleLeafWalker(leaf) } : {})) { /* drain */ }
        assert.equal(await helia.pins.isPinned(leaf.cid), true)
      }
      const listed: string[] = []
      for await (const p of helia.pins.ls()) listed.push(p.cid.toString())
      assert.equal(listed.length, docs.length)
      const out: Array<[string, string]> = []
      for await (const { key, value } of datastore.query({})) out.push([key.toString(), Buffer.from(value).toString('hex')])
      await helia.stop()
      await datastore.close()
      await blockstore.close()
      return out
    }
    try {
      const same = (await buildCidV0(testBytes(2500, 9))).blocks[0]
      const docs = [same, (await buildCidV0(testBytes(0, 1))).blocks[0], (await buildCidV0(testBytes(3000, 2))).blocks[0]]
      assert.deepEqual(await records('leaf', true, docs), await records('default', false, docs))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('CachedFsBlockstore', () => {
  it('writes the files blockstore-fs reads, serves copies, and reads uncached blocks from disk', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dta-bs-'))
    try {
      const small = await buildCidV0(testBytes(3000, 1))
      const large = await buildCidV0(testBytes(200_000, 2))
      const bs = new CachedFsBlockstore(dir, 1024 * 1024)
      await bs.open()
      for (const { blocks } of [small, large]) for (const b of blocks) await bs.put(b.cid, b.bytes)
      const first = await collect(bs.get(small.cid))
      first.fill(0)
      assert.deepEqual(await collect(bs.get(small.cid)), small.blocks[0].bytes, 'a reader cannot alter the cache')
      assert.equal(await bs.has(small.cid), true)
      await bs.close()
      const plain = new FsBlockstore(dir)
      await plain.open()
      for (const { cid, blocks } of [small, large]) assert.deepEqual(await collect(plain.get(cid)), blocks[0].bytes)
      await plain.close()
      const cold = new CachedFsBlockstore(dir, 0)
      await cold.open()
      assert.deepEqual(await collect(cold.get(large.cid)), large.blocks[0].bytes)
      await cold.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('does not rewrite a block whose file already holds its bytes, but heals a damaged one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dta-bs-'))
    try {
      const { cid, blocks } = await buildCidV0(testBytes(2500, 3))
      const bs = new CachedFsBlockstore(dir, 0)
      await bs.open()
      await bs.put(cid, blocks[0].bytes)
      const file = readdirSync(dir, { recursive: true, withFileTypes: true }).find(e => e.isFile() && e.name.endsWith('.data'))
      assert.ok(file !== undefined, 'the block file')
      const where = path.join(file.parentPath, file.name)
      const inode = statSync(where).ino
      await bs.put(cid, blocks[0].bytes)
      assert.equal(statSync(where).ino, inode, 'the same file: not replaced')
      writeFileSync(where, Buffer.from('damaged'))
      await bs.put(cid, blocks[0].bytes)
      assert.deepEqual(new Uint8Array(readFileSync(where)), blocks[0].bytes, 'a put heals a damaged block')
      await bs.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
