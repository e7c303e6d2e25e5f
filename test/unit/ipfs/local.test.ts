/**
 * The local document store: the shared conformance suite, plus what only a filesystem store can
 * show — its folder layout and how a damaged or incomplete DAG on disk is reported.
 * @module
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { createLocalDocumentStore } from '../../../src/adapters/ipfs/local.ts'
import { documentStoreConformance, filesUnder, rejectsWith, testBytes } from '../../conformance/document-store.ts'

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
})
