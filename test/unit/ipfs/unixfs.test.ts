/**
 * The shared CIDv0 helpers: CIDs equal to `ipfs add`'s (Debian `ipfs_cid`) well beyond the port's
 * 1 MiB limit — a full 174-link node, the first input that needs a second DAG level, and ~50 MiB —
 * plus CID parsing, block verification and what the exporter refuses to read — including every
 * non-canonical DAG of a document (DOCUMENT_NOT_CANONICAL).
 * @module
 */

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { importer } from 'ipfs-unixfs-importer'
import { CID } from 'multiformats/cid'
import {
  CHUNK_SIZE, MAX_LINKS_PER_NODE, blockMatchesCid, buildCidV0, cidV0Of, exportCidV0, importCidV0, parseCidV0, verifyingReader
} from '../../../src/adapters/ipfs/unixfs.ts'
import type { Block, BlockSource } from '../../../src/adapters/ipfs/unixfs.ts'
import { ipfsCid, rejectsWith, testBytes } from '../../conformance/document-store.ts'
import { exporter } from 'ipfs-unixfs-exporter'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { importWith, nonCanonicalDags } from '../../helpers/non-canonical.ts'
import type { Dag } from '../../helpers/non-canonical.ts'

function memory (): BlockSource & { blocks: Map<string, Uint8Array>, reads: string[], put: (cid: CID, bytes: Uint8Array) => void } {
  const blocks = new Map<string, Uint8Array>()
  const reads: string[] = []
  return {
    blocks,
    reads,
    put (cid, bytes) { blocks.set(cid.toString(), bytes) },
    * get (cid) {
      reads.push(cid.toString())
      const bytes = blocks.get(cid.toString())
      if (bytes === undefined) throw Object.assign(new Error('no such block'), { name: 'NotFoundError' })
      yield bytes
    }
  }
}

describe('CIDv0 like ipfs add, beyond the document limit', () => {
  const cases: Array<[string, number]> = [
    [`${MAX_LINKS_PER_NODE} chunks: one full node`, MAX_LINKS_PER_NODE * CHUNK_SIZE],
    [`${MAX_LINKS_PER_NODE} chunks + 1 byte: a second level`, MAX_LINKS_PER_NODE * CHUNK_SIZE + 1],
    ['~50 MiB', 50 * 1024 * 1024 + 12_345]
  ]
  for (const [label, size] of cases) {
    it(label, async () => {
      const bytes = testBytes(size, size)
      assert.equal(await cidV0Of(bytes), ipfsCid(bytes))
    })
  }

  it('uses 256 KiB leaves and a single root for a two-chunk input', async () => {
    const { cid, blocks } = await buildCidV0(testBytes(CHUNK_SIZE + 1, 2))
    assert.equal(blocks.length, 3)
    assert.equal(blocks[blocks.length - 1].cid.toString(), cid.toString()) // root written last
    for (const block of blocks) assert.equal(block.cid.version, 0)
  })
})

describe('parseCidV0', () => {
  it('accepts a canonical CIDv0 and returns it', () => {
    const text = 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH'
    assert.equal(parseCidV0(text).toString(), text)
  })

  it('rejects a CIDv1 even of the same content, and a non-dag-pb CIDv1', () => {
    const v1 = parseCidV0('QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH').toV1().toString()
    assert.throws(() => parseCidV0(v1), { code: 'DOCUMENT_BAD_CID' })
    assert.throws(() => parseCidV0('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'), { code: 'DOCUMENT_BAD_CID' })
  })

  it('does not echo a long attacker-chosen value into the error', () => {
    const value = 'Qm' + 'X'.repeat(5000)
    assert.throws(() => parseCidV0(value), (err: Error) => !err.message.includes('XXXX'))
  })
})

describe('verified reading', () => {
  it('blockMatchesCid compares sha2-256', async () => {
    const { blocks } = await buildCidV0(new TextEncoder().encode('hi'))
    const [block] = blocks as [Block]
    assert.equal(blockMatchesCid(block.cid, block.bytes), true)
    const altered = new Uint8Array(block.bytes)
    altered[altered.length - 1] ^= 1
    assert.equal(blockMatchesCid(block.cid, altered), false)
  })

  it('round-trips through a memory block source', async () => {
    const store = memory()
    const bytes = testBytes(600_000, 3)
    const cid = await importCidV0(bytes, store)
    assert.deepEqual(await exportCidV0(cid, verifyingReader(store, cid)), bytes)
  })

  it('an altered, missing root or missing child block is reported with its code', async () => {
    const store = memory()
    const bytes = testBytes(600_000, 4)
    const cid = await importCidV0(bytes, store)
    const leaf = [...store.blocks.keys()].find(key => key !== cid.toString()) as string
    const original = store.blocks.get(leaf) as Uint8Array

    const altered = new Uint8Array(original)
    altered[1000] ^= 1
    store.blocks.set(leaf, altered)
    await rejectsWith(exportCidV0(cid, verifyingReader(store, cid)), 'DOCUMENT_CORRUPT')

    store.blocks.delete(leaf)
    await rejectsWith(exportCidV0(cid, verifyingReader(store, cid)), 'DOCUMENT_CORRUPT')
    store.blocks.set(leaf, original)

    const root = store.blocks.get(cid.toString()) as Uint8Array
    store.blocks.delete(cid.toString())
    await rejectsWith(exportCidV0(cid, verifyingReader(store, cid)), 'DOCUMENT_NOT_FOUND')
    await rejectsWith(exportCidV0(cid, verifyingReader(store, cid, 'DOCUMENT_FETCH_TIMEOUT')), 'DOCUMENT_FETCH_TIMEOUT')
    store.blocks.set(cid.toString(), root)
    assert.deepEqual(await exportCidV0(cid, verifyingReader(store, cid)), bytes)
  })

  it('refuses a DAG that declares more than the limit after reading only its root', async () => {
    const store = memory()
    const cid = await importCidV0(testBytes(2 * 1024 * 1024, 5), store)
    await rejectsWith(exportCidV0(cid, verifyingReader(store, cid)), 'DOCUMENT_TOO_LARGE')
    assert.deepEqual(store.reads, [cid.toString()])
    assert.equal((await exportCidV0(cid, verifyingReader(store, cid), { maxBytes: 4 * 1024 * 1024 })).length, 2 * 1024 * 1024)
  })

  it('refuses a directory with DOCUMENT_BAD_CID', async () => {
    const store = memory()
    let root: CID | undefined
    for await (const entry of importer([{ path: 'a.txt', content: new Uint8Array([1]) }], { put: (cid: CID, bytes: unknown) => { store.put(cid, bytes as Uint8Array); return cid } }, { cidVersion: 0, rawLeaves: false, wrapWithDirectory: true })) {
      root = entry.cid
    }
    assert.ok(root !== undefined && root.version === 0)
    await rejectsWith(exportCidV0(root, verifyingReader(store, root)), 'DOCUMENT_BAD_CID')
  })

  it('a dag-pb block that is not UnixFS is DOCUMENT_CORRUPT, not a crash', async () => {
    const store = memory()
    // an empty dag-pb node (no Data, no Links) is valid dag-pb but not a UnixFS file
    const empty = new Uint8Array(0)
    const { sha256 } = await import('multiformats/hashes/sha2')
    const cid = CID.createV0(await sha256.digest(empty))
    store.put(cid, empty)
    await rejectsWith(exportCidV0(cid, verifyingReader(store, cid)), 'DOCUMENT_CORRUPT')
  })
})

describe('canonical form (PROTOCOL §6: one document, one CID)', () => {
  async function plainExport (dag: Dag): Promise<Uint8Array> {
    const store = memory()
    for (const block of dag.blocks) store.put(block.cid, block.bytes)
    const entry = await exporter(dag.cid, { get: async function * (c: CID) { yield * store.get(c) } })
    assert.equal(entry.type, 'file', dag.label)
    if (entry.type !== 'file') return new Uint8Array(0)
    const parts: Uint8Array[] = []
    for await (const chunk of entry.content()) parts.push(chunk)
    return new Uint8Array(Buffer.concat(parts))
  }

  async function check (bytes: Uint8Array, dags: Dag[]): Promise<void> {
    const canonical = await cidV0Of(bytes)
    for (const dag of dags) {
      // the attack: a CIDv0 root, a well-formed UnixFS file holding exactly the bytes, another CID
      assert.equal(dag.cid.version, 0, dag.label)
      assert.notEqual(dag.cid.toString(), canonical, dag.label)
      assert.deepEqual(await plainExport(dag), bytes, `${dag.label}: a UnixFS exporter reads the document from it`)
      const store = memory()
      for (const block of dag.blocks) store.put(block.cid, block.bytes)
      await assert.rejects(exportCidV0(dag.cid, verifyingReader(store, dag.cid)), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'DOCUMENT_NOT_CANONICAL', `${dag.label}: ${String(err)}`)
        assert.ok((err as Error).message.includes(canonical), `${dag.label}: names the canonical CID`)
        return true
      })
    }
  }

  it('refuses every non-canonical DAG of a single-chunk document', async () => {
    await check(testBytes(5000, 81), await nonCanonicalDags(testBytes(5000, 81)))
  })

  it('refuses non-canonical DAGs of a multi-chunk document', async () => {
    const bytes = testBytes(600_000, 82)
    await check(bytes, [
      await importWith('raw leaves at 256 KiB', bytes, { rawLeaves: true }),
      await importWith('balanced with fan-out 2 at 256 KiB', bytes, { layout: balanced({ maxChildrenPerNode: 2 }) }),
      await importWith('chunked at 512 KiB', bytes, { chunker: fixedSize({ chunkSize: 524_288 }) })
    ])
  })

  it('accepts the canonical DAG of every size, empty included', async () => {
    for (const size of [0, 1, 5000, CHUNK_SIZE, CHUNK_SIZE + 1, 600_000]) {
      const store = memory()
      const bytes = testBytes(size, size + 83)
      const cid = await importCidV0(bytes, store)
      assert.deepEqual(await exportCidV0(cid, verifyingReader(store, cid)), bytes, `${size} bytes`)
    }
  })
})
