/**
 * The local document store: CIDv0 documents in a filesystem blockstore, no network. It is the
 * store for a server that runs alone and the reference the Helia node is tested against — both
 * keep blocks in `<path>/blocks` in the same layout, so a folder can move from one to the other.
 *
 * Every `get` re-hashes each block it reads, so a file altered on disk is DOCUMENT_CORRUPT, never
 * returned, and returns only the canonical DAG of its bytes (DOCUMENT_NOT_CANONICAL otherwise, in
 * `exportCidV0`: unixfs.ts). The importer writes children before the root, so a root on disk means
 * a complete put; `has` looks for the root only (a non-canonical DAG gets here only by writing to
 * the folder directly, and its `get` still refuses it).
 * @module
 */

import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { DtaError } from '../../errors.ts'
import type { DocumentStore } from '../../ports/document-store.ts'
import type { Startable } from '../../ports/startable.ts'
import { createOperations } from './operations.ts'
import { assertDocumentBytes, buildCidV0, exportCidV0, parseCidV0, verifyingReader } from './unixfs.ts'

export interface LocalDocumentStoreInit {
  /** The store's folder; blocks live in `<path>/blocks`. Created if missing. */
  path: string
}

export type LocalDocumentStore = DocumentStore & Startable

export function createLocalDocumentStore (init: LocalDocumentStoreInit): LocalDocumentStore {
  if (typeof init?.path !== 'string' || init.path === '') {
    throw new DtaError('DOCUMENT_STORE_BAD_CONFIG', 'path must be a non-empty string')
  }
  const blockstore = new FsBlockstore(join(init.path, 'blocks'))
  const operations = createOperations()

  async function store (bytes: Uint8Array, expected: string | undefined, signal: AbortSignal): Promise<string> {
    assertDocumentBytes(bytes)
    const { cid, blocks } = await buildCidV0(bytes)
    if (expected !== undefined && cid.toString() !== expected) {
      throw new DtaError('DOCUMENT_CID_MISMATCH', `expected ${expected}, the bytes hash to ${cid.toString()}`)
    }
    // children first (importer order); rewritten even when present, so a put heals a damaged block
    for (const block of blocks) await blockstore.put(block.cid, block.bytes, { signal })
    return cid.toString()
  }

  return {
    async start () {
      if (operations.started) return
      await blockstore.open()
      operations.open()
    },

    async stop () {
      if (!operations.started) return
      operations.close()
      await blockstore.close()
    },

    async put (bytes, options) {
      return operations.run(options, async (signal) => store(bytes, undefined, signal))
    },

    async accept (cid, bytes, options) {
      parseCidV0(cid)
      await operations.run(options, async (signal) => store(bytes, cid, signal))
    },

    async get (cid, options) {
      const root = parseCidV0(cid)
      return operations.run(options, async (signal) => exportCidV0(root, verifyingReader(blockstore, root), { signal }))
    },

    async has (cid, options) {
      const root = parseCidV0(cid)
      return operations.run(options, async (signal) => blockstore.has(root, { signal }))
    }
  }
}
