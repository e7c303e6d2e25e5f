/**
 * Adversary: a hostile IPFS peer (PROTOCOL §6, §9). Peer A is a configured peer of the victim B —
 * both real Helia nodes in their own OS processes (test/e2e/ipfs/fixtures), on 127.0.0.1 — and A
 * serves, by bitswap, blocks written straight into its blockstore before it starts:
 * - non-canonical DAGs of a document: valid UnixFS files with a CIDv0 root and exactly the
 *   document's bytes, laid out otherwise than `ipfs add` would (1 KiB chunks, another fan-out,
 *   trickle, raw leaves under a CIDv0 root, an extra empty chunk, data in the root plus links, …).
 *   Accepting one would give the document a second CID; B refuses each with
 *   DOCUMENT_NOT_CANONICAL, while the canonical CID of the same bytes is fetched as usual. (Before
 *   the check, B returned the bytes and pinned every one of them.);
 * - a block that does not hash to the CID it is served under (as the root, and as a chunk of an
 *   otherwise good DAG): bitswap derives the CID from the bytes it receives, so the block never
 *   answers B's want and B's get ends with DOCUMENT_FETCH_TIMEOUT, holding nothing under that CID;
 * - a DAG whose root declares more than 1 MiB (a real 2 MiB document, and a root that lies about
 *   its size): DOCUMENT_TOO_LARGE after the root alone, no chunk downloaded;
 * - a UnixFS directory: DOCUMENT_BAD_CID, its entries never downloaded.
 * After every refusal B has pinned nothing (`has` is false, also after a restart). Blocks bitswap
 * already wrote to B's blockstore for a refused DAG (the root, and the chunks of a non-canonical
 * DAG) stay there unpinned; B's `get` of that CID keeps refusing them.
 * @module
 */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { FsBlockstore } from 'blockstore-fs'
import { importer } from 'ipfs-unixfs-importer'
import { CID } from 'multiformats/cid'
import { buildCidV0, importCidV0 } from '../../src/adapters/ipfs/unixfs.ts'
import type { Block } from '../../src/adapters/ipfs/unixfs.ts'
import type { HeliaDocumentStoreInit } from '../../src/adapters/ipfs/helia/index.ts'
import { ipfsCid, testBytes } from '../conformance/document-store.ts'
import { freePort, killAll, prepareHome, startNode } from '../e2e/ipfs/fixtures/node-process.ts'
import type { NodeProcess, Reply } from '../e2e/ipfs/fixtures/node-process.ts'
import { declaresSize, importWith, nonCanonicalDags } from '../helpers/non-canonical.ts'
import type { Dag } from '../helpers/non-canonical.ts'

const FETCH_TIMEOUT_MS = 2000
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
/** A reply for an assertion message: its code and message, or how many bytes came back. */
const brief = (reply: Reply): string => reply.ok
  ? `ok, ${Buffer.from(String(reply.data ?? ''), 'base64').length} bytes returned`
  : `${String(reply.code)}: ${String(reply.message)}`

async function writeBlocks (folder: string, blocks: Block[]): Promise<void> {
  const store = new FsBlockstore(join(folder, 'blocks'))
  await store.open()
  try {
    for (const block of blocks) await store.put(block.cid, block.bytes)
  } finally {
    await store.close()
  }
}

/** Which of `cids` have a block file in `folder`'s blockstore (read from disk, not through the node). */
async function onDisk (folder: string, cids: CID[]): Promise<string[]> {
  const store = new FsBlockstore(join(folder, 'blocks'))
  await store.open()
  try {
    const present: string[] = []
    for (const cid of cids) if (await store.has(cid)) present.push(cid.toString())
    return present
  } finally {
    await store.close()
  }
}

describe('a hostile IPFS peer', { timeout: 120_000 }, () => {
  let home: string
  let a: NodeProcess
  let b: NodeProcess
  let bInit: HeliaDocumentStoreInit

  // the document, and what A serves for it
  const document = testBytes(5000, 1)
  const canonicalCid = ipfsCid(document)
  const large = testBytes(600_000, 2)
  let nonCanonical: Dag[]
  // a block served under a CID it does not hash to: as a root, and as a chunk of a good DAG
  const claimed = testBytes(3000, 3)
  let forgedRoot: CID
  let forgedChunkRoot: CID
  let forgedChunk: CID
  // huge and directory DAGs
  let huge: Dag
  let liar: Dag
  let directory: { root: CID, children: CID[] }

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'dta-adversary-ipfs-'))
    const [homeA, homeB] = await Promise.all(['a', 'b'].map(async name => prepareHome(join(home, name))))

    nonCanonical = [
      ...await nonCanonicalDags(document),
      await importWith('raw leaves at 256 KiB (600 KB document)', large, { rawLeaves: true })
    ]
    const blocks: Block[] = nonCanonical.flatMap(dag => dag.blocks)

    const decoy = (await buildCidV0(testBytes(3000, 4))).blocks[0]
    forgedRoot = (await buildCidV0(claimed)).cid
    blocks.push({ cid: forgedRoot, bytes: decoy.bytes })
    const good = await buildCidV0(testBytes(600_000, 5))
    forgedChunkRoot = good.cid
    forgedChunk = good.blocks[1].cid
    for (const block of good.blocks) blocks.push(block.cid.equals(forgedChunk) ? { cid: block.cid, bytes: good.blocks[0].bytes } : block)

    const hugeBlocks: Block[] = []
    const hugeRoot = await importCidV0(testBytes(2 * 1024 * 1024, 6), { put: (cid, bytes) => { hugeBlocks.push({ cid, bytes }) } })
    huge = { label: 'a real 2 MiB document', cid: hugeRoot, blocks: hugeBlocks }
    liar = declaresSize(1n << 40n, (await buildCidV0(testBytes(100, 7))).blocks)
    blocks.push(...huge.blocks, ...liar.blocks)

    const dirBlocks: Block[] = []
    let dirRoot: CID | undefined
    const sink = { put: async (cid: CID, bytes: Uint8Array) => { dirBlocks.push({ cid, bytes }); return cid } }
    for await (const entry of importer([{ path: 'document.bin', content: testBytes(3000, 8) }], sink as never, { cidVersion: 0, rawLeaves: false, wrapWithDirectory: true })) dirRoot = entry.cid
    assert.ok(dirRoot !== undefined && dirRoot.version === 0)
    directory = { root: dirRoot, children: dirBlocks.map(block => block.cid).filter(cid => !cid.equals(dirRoot)) }
    blocks.push(...dirBlocks)

    await writeBlocks(homeA.path, blocks)

    const portA = await freePort()
    const common = { fetchTimeoutMs: FETCH_TIMEOUT_MS, redialMinMs: 200, redialMaxMs: 1000 }
    bInit = { ...common, path: homeB.path, listen: ['/ip4/127.0.0.1/tcp/0'], peers: [`/ip4/127.0.0.1/tcp/${portA}/p2p/${homeA.peerId}`] }
    ;[a, b] = await Promise.all([
      startNode({ ...common, path: homeA.path, listen: [`/ip4/127.0.0.1/tcp/${portA}`], peers: [] }),
      startNode(bInit)
    ])
    assert.ok((await b.request('waitPeers', { peers: [a.peerId], timeoutMs: 15_000 })).ok)
  })

  after(() => {
    killAll()
    rmSync(home, { recursive: true, force: true })
  })

  const get = async (cid: CID | string): Promise<Reply> => await b.request('get', { cid: cid.toString() })
  const has = async (cid: CID | string): Promise<boolean> => (await b.request('has', { cid: cid.toString() })).has as boolean

  it('A really serves each non-canonical DAG: B refuses every one with DOCUMENT_NOT_CANONICAL and pins none', async () => {
    for (const dag of nonCanonical) {
      assert.equal(dag.cid.version, 0, dag.label)
      assert.notEqual(dag.cid.toString(), canonicalCid, dag.label)
      const got = await get(dag.cid)
      assert.equal(got.code, 'DOCUMENT_NOT_CANONICAL', `${dag.label}: ${brief(got)}`)
      assert.equal(await has(dag.cid), false, `${dag.label}: not pinned, not cached`)
      // the blocks that did arrive are B's now: a second get reads them locally, and still refuses
      const again = await get(dag.cid)
      assert.equal(again.code, 'DOCUMENT_NOT_CANONICAL', `${dag.label}, again: ${brief(again)}`)
      assert.equal(await has(dag.cid), false, dag.label)
    }
  })

  it('the canonical CID of the same bytes is fetched, verified and kept as usual', async () => {
    const put = await a.request('put', { data: b64(document) })
    assert.equal(put.cid, canonicalCid)
    assert.equal(await has(canonicalCid), false)
    const got = await get(canonicalCid)
    assert.ok(got.ok, brief(got))
    assert.deepEqual(new Uint8Array(Buffer.from(got.data as string, 'base64')), document)
    assert.equal(await has(canonicalCid), true)
    // and it did not make any of the other DAGs of these bytes acceptable
    assert.equal((await get(nonCanonical[0].cid)).code, 'DOCUMENT_NOT_CANONICAL')
  })

  it('a block that does not hash to its CID never answers the want: DOCUMENT_FETCH_TIMEOUT, nothing kept under that CID', async () => {
    for (const [label, root] of [['as the root', forgedRoot], ['as a chunk of a good DAG', forgedChunkRoot]] as const) {
      const got = await get(root)
      assert.equal(got.code, 'DOCUMENT_FETCH_TIMEOUT', `${label}: ${brief(got)}`)
      assert.ok((got.ms as number) < FETCH_TIMEOUT_MS + 2000, `${label}: took ${String(got.ms)} ms`)
      assert.equal(await has(root), false, label)
    }
    assert.deepEqual(await onDisk(bInit.path, [forgedRoot, forgedChunk]), [], 'B holds no block under a CID the bytes do not hash to')
  })

  it('a DAG that declares more than 1 MiB is DOCUMENT_TOO_LARGE after its root alone', async () => {
    for (const dag of [huge, liar]) {
      const got = await get(dag.cid)
      assert.equal(got.code, 'DOCUMENT_TOO_LARGE', `${dag.label}: ${brief(got)}`)
      assert.equal(await has(dag.cid), false, dag.label)
      const chunks = dag.blocks.map(block => block.cid).filter(cid => !cid.equals(dag.cid))
      assert.deepEqual(await onDisk(bInit.path, chunks), [], `${dag.label}: no chunk was downloaded`)
    }
  })

  it('a UnixFS directory is DOCUMENT_BAD_CID, its entries never downloaded', async () => {
    const got = await get(directory.root)
    assert.equal(got.code, 'DOCUMENT_BAD_CID', brief(got))
    assert.equal(await has(directory.root), false)
    assert.deepEqual(await onDisk(bInit.path, directory.children), [])
  })

  it('after a restart B still has pinned only the canonical document', async () => {
    assert.ok((await b.stop()).ok)
    assert.equal(await b.exited, 0)
    b = await startNode(bInit)
    assert.equal(await has(canonicalCid), true)
    for (const dag of [...nonCanonical, huge, liar]) assert.equal(await has(dag.cid), false, dag.label)
    for (const cid of [forgedRoot, forgedChunkRoot, directory.root]) assert.equal(await has(cid), false, cid.toString())
    // the refused DAG's blocks are on B's disk, unpinned, and still refused without asking A
    const kept = await onDisk(bInit.path, nonCanonical[0].blocks.map(block => block.cid))
    assert.equal(kept.length, nonCanonical[0].blocks.length, 'bitswap kept the blocks it fetched (unpinned)')
    assert.equal((await get(nonCanonical[0].cid)).code, 'DOCUMENT_NOT_CANONICAL')
    assert.ok((await b.stop()).ok)
    assert.ok((await a.stop()).ok)
  })
})
