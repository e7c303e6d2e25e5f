/**
 * The blocks on disk (blockstore-fs: one file per block, as go-ipfs's flatfs, same layout) with
 * two measured shortcuts:
 * - a bounded in-memory copy of the most recently written blocks: writing a document is followed
 *   at once by reads of the same blocks (pinning walks the DAG it just wrote; bitswap serves a
 *   block a peer is already waiting for), and each read otherwise opens and streams the file
 *   back (~0.5 ms). Blocks are content-addressed, so a cached block is never stale.
 * - small blocks are written with synchronous calls (write a temporary file, rename it into
 *   place — still atomic): for a few KiB that is tens of microseconds, where blockstore-fs's
 *   asynchronous writer makes five thread-pool round trips (~0.85 ms per block).
 * - a small block whose file already holds exactly its bytes is not written again (read and
 *   compared instead, tens of µs). Every RPC carries the sender's identity document, so without
 *   this the fiduciary rewrote the same block twice per order cycle — each rewrite a new file
 *   renamed over the old one: one inode allocated and one freed. Measured with perf during
 *   `npm run bench`: ext4 without a journal (as here) skips inodes freed in the last minutes when
 *   it allocates, and walking past thousands of them made `openat(O_CREAT)` cost ~1 ms of kernel
 *   CPU per new block file, 19% of the fiduciary's CPU. A file that differs is still rewritten, so
 *   a put still heals a damaged block.
 * @module
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast } from 'blockstore-fs/sharding'
import type { CID } from 'multiformats/cid'
import { accounted } from '../../accounting.ts'

/** Blocks up to this size are written synchronously. */
const SYNC_WRITE_MAX = 64 * 1024
let tmpCounter = 0

type PutValue = Parameters<FsBlockstore['put']>[1]
type Options = Parameters<FsBlockstore['get']>[1]

export class CachedFsBlockstore extends FsBlockstore {
  readonly #limit: number
  readonly #cache = new Map<string, Uint8Array>()
  readonly #sharding = new NextToLast()
  readonly #dirs = new Set<string>()
  #bytes = 0

  constructor (location: string, cacheBytes: number) {
    super(location)
    this.#limit = cacheBytes
  }

  /** Same path as blockstore-fs's default sharding; temp file + rename, so a crash leaves no partial block. */
  #writeSync (key: CID, bytes: Uint8Array): void {
    const { dir, file } = this.#sharding.encode(key)
    const folder = path.join(this.path, dir)
    if (!this.#dirs.has(folder)) {
      mkdirSync(folder, { recursive: true })
      this.#dirs.add(folder)
    }
    const target = path.join(folder, file)
    const tmp = `${target}.${process.pid}.${tmpCounter++}.tmp`
    writeFileSync(tmp, bytes)
    renameSync(tmp, target)
  }

  /** A small block written synchronously unless its file already holds it (ipfs, for the bench's accounting). */
  readonly #putSync = accounted('ipfs', (key: CID, val: Uint8Array): void => {
    if (!this.#sameOnDisk(key, val)) this.#writeSync(key, val)
  })

  /** True if the block's file already holds exactly `bytes` (false if missing, unreadable or different). */
  #sameOnDisk (key: CID, bytes: Uint8Array): boolean {
    const { dir, file } = this.#sharding.encode(key)
    try {
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(readFileSync(path.join(this.path, dir, file)))
    } catch {
      return false
    }
  }

  #remember (key: CID, bytes: Uint8Array): void {
    const id = key.toString()
    if (bytes.length > this.#limit || this.#cache.has(id)) return
    this.#cache.set(id, bytes)
    this.#bytes += bytes.length
    for (const [oldest, value] of this.#cache) {
      if (this.#bytes <= this.#limit) break
      this.#cache.delete(oldest)
      this.#bytes -= value.length
    }
  }

  override async put (key: CID, val: PutValue, options?: Options): Promise<CID> {
    if (!(val instanceof Uint8Array)) return await super.put(key, val, options)
    options?.signal?.throwIfAborted()
    if (val.length <= SYNC_WRITE_MAX) this.#putSync(key, val)
    else await super.put(key, val, options)
    this.#remember(key, Uint8Array.from(val))
    return key
  }

  override async * get (key: CID, options?: Options): AsyncGenerator<Uint8Array> {
    const cached = this.#cache.get(key.toString())
    if (cached !== undefined) {
      yield Uint8Array.from(cached)
      return
    }
    yield * super.get(key, options)
  }

  override async has (key: CID, options?: Options): Promise<boolean> {
    return this.#cache.has(key.toString()) || await super.has(key, options)
  }
}
