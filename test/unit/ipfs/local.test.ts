/**
 * The local document store: the shared conformance suite, plus what only a filesystem store can
 * show — its folder layout and how a damaged, incomplete or non-canonical DAG on disk is reported.
 * @module
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { FsBlockstore } from 'blockstore-fs'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { createLocalDocumentStore } from '../../../src/adapters/ipfs/local.ts'
import { documentStoreConformance, filesUnder, ipfsCid, rejectsWith, testBytes } from '../../conformance/document-store.ts'
import { importWith } from '../../helpers/non-canonical.ts'

documentStoreConformance('local', (path) => createLocalDocumentStore({ path }), { missingCode: 'DOCUMENT_NOT_FOUND' })

describe('local document store', () => {
  const folders: string[] = []
  const folder = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'dta-local-'))
    folders.push(dir)
    return dir
  }
  after(() => { for (const dir of folders) rmSync(dir, { recursive: true, force: true }) })

  it('rejects a missing path with DOCUMENT_STORE_BAD_CONFIG', () => {
    assert.throws(() => createLocalDocumentStore({ path: '' }), { code: 'DOCUMENT_STORE_BAD_CONFIG' })
    assert.throws(() => createLocalDocumentStore({} as { path: string }), { code: 'DOCUMENT_STORE_BAD_CONFIG' })
  })

  it('keeps blocks under <path>/blocks, one file per block', async () => {
    const path = folder()
    const store = createLocalDocumentStore({ path })
    await store.start()
    try {
      await store.put(testBytes(600_000, 5)) // three chunks + one root
      const files = filesUnder(path)
      assert.equal(files.length, 4)
      for (const file of files) assert.ok(file.startsWith(join(path, 'blocks')), file)
    } finally {
      await store.stop()
    }
  })

  it('a missing root is DOCUMENT_NOT_FOUND; a missing chunk of a present root is DOCUMENT_CORRUPT', async () => {
    const path = folder()
    const store = createLocalDocumentStore({ path })
    await store.start()
    try {
      const bytes = testBytes(600_000, 6)
      const cid = await store.put(bytes)
      const sizes = filesUnder(path).map(file => ({ file, size: statSync(file).size }))
      const root = sizes.reduce((a, b) => (a.size < b.size ? a : b)) // the root holds only links
      const leaf = sizes.find(entry => entry !== root)
      assert.ok(leaf !== undefined)

      unlinkSync(leaf.file)
      await rejectsWith(store.get(cid), 'DOCUMENT_CORRUPT')
      assert.equal(await store.put(bytes), cid) // a put heals it
      assert.deepEqual(await store.get(cid), bytes)

      unlinkSync(root.file)
      assert.equal(await store.has(cid), false)
      await rejectsWith(store.get(cid), 'DOCUMENT_NOT_FOUND')
    } finally {
      await store.stop()
    }
  })

  it('a non-canonical DAG written straight into its blockstore is DOCUMENT_NOT_CANONICAL, not returned', async () => {
    const path = folder()
    const store = createLocalDocumentStore({ path })
    await store.start()
    const blocks = new FsBlockstore(join(path, 'blocks'))
    await blocks.open()
    try {
      const small = testBytes(5000, 7)
      const large = testBytes(600_000, 8)
      const dags = [
        await importWith('1 KiB chunks', small, { chunker: fixedSize({ chunkSize: 1024 }) }),
        await importWith('raw leaves at 256 KiB', large, { rawLeaves: true }),
        await importWith('fan-out 2', large, { layout: balanced({ maxChildrenPerNode: 2 }) })
      ]
      for (const dag of dags) {
        for (const block of dag.blocks) await blocks.put(block.cid, block.bytes)
        const canonical = ipfsCid(dag === dags[0] ? small : large)
        await assert.rejects(store.get(dag.cid.toString()), (err: unknown) => {
          assert.equal((err as { code?: string }).code, 'DOCUMENT_NOT_CANONICAL', `${dag.label}: ${String(err)}`)
          assert.match((err as Error).message, new RegExp(`canonical CID is ${canonical}`), dag.label)
          return true
        })
      }
      // the canonical CIDs of the same bytes still work
      assert.deepEqual(await store.get(await store.put(small)), small)
      assert.deepEqual(await store.get(await store.put(large)), large)
    } finally {
      await blocks.close()
      await store.stop()
    }
  })
})
