/**
 * The document store conformance suite (PROTOCOL §9, src/ports/document-store.ts): every adapter —
 * the local filesystem store, the Helia node — passes these same tests, so services can rely on the
 * port alone. CIDs are checked against Debian's `ipfs_cid` (package `ipfs-cid`), which prints what
 * `ipfs add` gives, computed at test time on the same bytes.
 *
 * Usage, from an adapter's test file:
 *   documentStoreConformance('local', (path) => createLocalDocumentStore({ path }), { missingCode: 'DOCUMENT_NOT_FOUND' })
 * The factory gets a fresh folder (or the same folder again, for the persistence test) and returns
 * a store that is not yet started. Every adapter keeps its blocks in `<folder>/blocks` in the
 * blockstore-fs layout; the canonical-form test writes a non-canonical DAG there before starting
 * the store, as if a peer had served it (PROTOCOL §6).
 * @module
 */

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { FsBlockstore } from 'blockstore-fs'
import { isDtaError } from '../../src/errors.ts'
import type { ErrorCode } from '../../src/errors.ts'
import { MAX_DOCUMENT_BYTES } from '../../src/ports/document-store.ts'
import type { DocumentStore } from '../../src/ports/document-store.ts'
import type { Startable } from '../../src/ports/startable.ts'
import { nonCanonicalDags } from '../helpers/non-canonical.ts'

export type ConformanceStore = DocumentStore & Startable

export interface ConformanceOptions {
  /** What `get` throws for a CID nobody has: DOCUMENT_NOT_FOUND locally or with no peer connected, DOCUMENT_FETCH_TIMEOUT when peers were asked. */
  missingCode: ErrorCode
}

// ── helpers (exported for adapter-specific tests) ──────────────────────────────────────────────

/** Deterministic, incompressible test bytes (xorshift32), different for each seed. */
export function testBytes (length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  const words = new Uint32Array(out.buffer, 0, length >>> 2)
  let x = (seed * 0x9e3779b1) >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    words[i] = x
  }
  for (let i = words.length * 4; i < length; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

/** The CIDv0 `ipfs add` gives for `bytes`, from Debian's `ipfs_cid`. */
export function ipfsCid (bytes: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'dta-ipfs-cid-'))
  try {
    const file = join(dir, 'input')
    writeFileSync(file, bytes)
    let out: string
    try {
      out = execFileSync('ipfs_cid', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    } catch (err) {
      throw new Error('running ipfs_cid failed: the tests need the Debian package "ipfs-cid"', { cause: err })
    }
    const cid = (JSON.parse(out) as { CIDv0?: unknown }).CIDv0
    if (typeof cid !== 'string') throw new Error(`unexpected ipfs_cid output: ${out}`)
    return cid
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Asserts that `promise` rejects with a DtaError of `code`. */
export async function rejectsWith (promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isDtaError(err), `expected a DtaError ${code}, got ${String(err)}`)
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`)
    return true
  })
}

/** Every regular file under `dir`. */
export function filesUnder (dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry => join(entry.parentPath, entry.name))
}

function indexOf (haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle)
}

// ── the suite ──────────────────────────────────────────────────────────────────────────────────

const SIZES: Array<[string, number]> = [
  ['empty', 0],
  ['1 byte', 1],
  ['1 KiB', 1024],
  ['exactly one 256 KiB chunk', 262_144],
  ['256 KiB + 1 (two chunks)', 262_145],
  ['1 MiB (the limit, four chunks)', MAX_DOCUMENT_BYTES]
]

export function documentStoreConformance (name: string, factory: (path: string) => ConformanceStore, options: ConformanceOptions): void {
  describe(`DocumentStore conformance: ${name}`, () => {
    const folders: string[] = []
    const running: ConformanceStore[] = []

    function folder (): string {
      const dir = mkdtempSync(join(tmpdir(), 'dta-docstore-'))
      folders.push(dir)
      return dir
    }

    async function open (path = folder()): Promise<ConformanceStore> {
      const store = factory(path)
      await store.start()
      running.push(store)
      return store
    }

    let store: ConformanceStore
    let storePath: string
    before(async () => {
      storePath = folder()
      store = await open(storePath)
    })

    after(async () => {
      for (const s of running) await s.stop()
      for (const dir of folders) rmSync(dir, { recursive: true, force: true })
    })

    for (const [label, size] of SIZES) {
      it(`put gives the CID ipfs add gives and get returns the bytes: ${label}`, async () => {
        const bytes = testBytes(size, size + 7)
        const expected = ipfsCid(bytes)
        const cid = await store.put(bytes)
        assert.equal(cid, expected)
        assert.equal(await store.has(cid), true)
        assert.deepEqual(await store.get(cid), bytes)
      })
    }

    it('refuses a document larger than MAX_DOCUMENT_BYTES and stores nothing', async () => {
      const bytes = testBytes(MAX_DOCUMENT_BYTES + 1, 3)
      await rejectsWith(store.put(bytes), 'DOCUMENT_TOO_LARGE')
      const cid = ipfsCid(bytes)
      await rejectsWith(store.accept(cid, bytes), 'DOCUMENT_TOO_LARGE')
      assert.equal(await store.has(cid), false)
    })

    it('put is idempotent', async () => {
      const bytes = testBytes(3000, 11)
      const first = await store.put(bytes)
      const second = await store.put(bytes)
      assert.equal(second, first)
      assert.deepEqual(await store.get(first), bytes)
      // the bytes are copied, not kept by reference
      const copy = new Uint8Array(bytes)
      bytes.fill(0)
      assert.deepEqual(await store.get(first), copy)
    })

    it('different bytes give different CIDs', async () => {
      const a = await store.put(new TextEncoder().encode('document A'))
      const b = await store.put(new TextEncoder().encode('document B'))
      assert.notEqual(a, b)
      assert.equal(new TextDecoder().decode(await store.get(a)), 'document A')
      assert.equal(new TextDecoder().decode(await store.get(b)), 'document B')
    })

    it(`has is false and get throws ${options.missingCode} for a CID it never stored`, async () => {
      const cid = ipfsCid(testBytes(500, 99))
      assert.equal(await store.has(cid), false)
      await rejectsWith(store.get(cid), options.missingCode)
    })

    const badCids: Array<[string, unknown]> = [
      ['empty string', ''],
      ['plain text', 'hello'],
      ['a CIDv1', 'bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y'],
      ['a character outside base58 (0)', 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQ0'],
      ['one character short', 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQ'],
      ['trailing whitespace', 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH '],
      ['an /ipfs/ path', '/ipfs/QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH'],
      ['a number', 42],
      ['null', null],
      ['a very long string', 'Qm' + 'a'.repeat(10_000)]
    ]
    for (const [label, bad] of badCids) {
      it(`rejects a malformed CID with DOCUMENT_BAD_CID: ${label}`, async () => {
        await rejectsWith(store.get(bad as string), 'DOCUMENT_BAD_CID')
        await rejectsWith(store.has(bad as string), 'DOCUMENT_BAD_CID')
        await rejectsWith(store.accept(bad as string, new Uint8Array([1])), 'DOCUMENT_BAD_CID')
      })
    }

    it('accept stores bytes that hash to the CID, and they can be read back', async () => {
      const bytes = testBytes(70_000, 21)
      const cid = ipfsCid(bytes)
      assert.equal(await store.has(cid), false)
      await store.accept(cid, bytes)
      assert.equal(await store.has(cid), true)
      assert.deepEqual(await store.get(cid), bytes)
      await store.accept(cid, bytes) // idempotent too
    })

    it('accept with bytes that do not hash to the CID throws DOCUMENT_CID_MISMATCH and stores nothing', async () => {
      const claimed = testBytes(300_000, 31)
      const offered = testBytes(300_000, 32)
      const claimedCid = ipfsCid(claimed)
      const offeredCid = ipfsCid(offered)
      await rejectsWith(store.accept(claimedCid, offered), 'DOCUMENT_CID_MISMATCH')
      assert.equal(await store.has(claimedCid), false)
      assert.equal(await store.has(offeredCid), false)
      // a one-byte difference is caught as well
      const tweaked = new Uint8Array(claimed)
      tweaked[123_456] ^= 1
      await rejectsWith(store.accept(claimedCid, tweaked), 'DOCUMENT_CID_MISMATCH')
      assert.equal(await store.has(claimedCid), false)
      // and nothing of it was kept on disk
      for (const file of filesUnder(storePath)) {
        assert.equal(indexOf(readFileSync(file), offered.subarray(1000, 1064)), -1, `${file} holds rejected bytes`)
      }
    })

    it('documents survive a stop and a restart on the same folder', async () => {
      const path = folder()
      const first = await open(path)
      const small = testBytes(2048, 41)
      const large = testBytes(600_000, 42)
      const smallCid = await first.put(small)
      const largeCid = await first.put(large)
      const acceptedBytes = testBytes(10, 43)
      const acceptedCid = ipfsCid(acceptedBytes)
      await first.accept(acceptedCid, acceptedBytes)
      await first.stop()

      const second = await open(path)
      assert.equal(await second.has(smallCid), true)
      assert.equal(await second.has(largeCid), true)
      assert.equal(await second.has(acceptedCid), true)
      assert.deepEqual(await second.get(smallCid), small)
      assert.deepEqual(await second.get(largeCid), large)
      assert.deepEqual(await second.get(acceptedCid), acceptedBytes)
    })

    it('get throws DOCUMENT_CORRUPT when a stored block was altered on disk', async () => {
      const path = folder()
      const first = await open(path)
      const bytes = testBytes(5000, 51)
      const cid = await first.put(bytes)
      // altered while the store is closed, so no in-memory copy can answer for the disk
      await first.stop()
      const marker = bytes.subarray(2000, 2064)
      const holders = filesUnder(path).filter(file => indexOf(readFileSync(file), marker) !== -1)
      assert.equal(holders.length, 1, 'expected exactly one file on disk to hold the document bytes')
      const content = readFileSync(holders[0])
      content[indexOf(content, marker)] ^= 0xff
      writeFileSync(holders[0], content)
      const s = await open(path)
      await rejectsWith(s.get(cid), 'DOCUMENT_CORRUPT')
    })

    it('get refuses a DAG that is not the canonical one for its bytes with DOCUMENT_NOT_CANONICAL', async () => {
      const path = folder()
      const bytes = testBytes(5000, 71)
      const dags = await nonCanonicalDags(bytes)
      const blocks = new FsBlockstore(join(path, 'blocks'))
      await blocks.open()
      for (const dag of dags) for (const block of dag.blocks) await blocks.put(block.cid, block.bytes)
      await blocks.close()
      const s = await open(path)
      for (const dag of dags) {
        await assert.rejects(s.get(dag.cid.toString()), (err: unknown) => {
          assert.ok(isDtaError(err, 'DOCUMENT_NOT_CANONICAL'), `${dag.label}: expected DOCUMENT_NOT_CANONICAL, got ${String(err)}`)
          return true
        })
      }
      // the same bytes under their own CID are unaffected, and storing them does not make the others readable
      const cid = await s.put(bytes)
      assert.equal(cid, ipfsCid(bytes))
      assert.deepEqual(await s.get(cid), bytes)
      for (const dag of dags) await rejectsWith(s.get(dag.cid.toString()), 'DOCUMENT_NOT_CANONICAL')
    })

    it('an already-aborted signal fails every operation with ABORTED', async () => {
      const signal = AbortSignal.abort()
      const bytes = testBytes(100, 61)
      const cid = await store.put(bytes)
      await rejectsWith(store.put(bytes, { signal }), 'ABORTED')
      await rejectsWith(store.get(cid, { signal }), 'ABORTED')
      await rejectsWith(store.has(cid, { signal }), 'ABORTED')
      await rejectsWith(store.accept(cid, bytes, { signal }), 'ABORTED')
    })

    it('a store that is not started, or stopped, throws DOCUMENT_STORE_STOPPED; stop is safe twice', async () => {
      const path = folder()
      const s = factory(path)
      const cid = ipfsCid(new Uint8Array([1, 2, 3]))
      await rejectsWith(s.put(new Uint8Array([1, 2, 3])), 'DOCUMENT_STORE_STOPPED')
      await rejectsWith(s.get(cid), 'DOCUMENT_STORE_STOPPED')
      await s.start()
      assert.equal(await s.put(new Uint8Array([1, 2, 3])), cid)
      await s.stop()
      await s.stop()
      await rejectsWith(s.get(cid), 'DOCUMENT_STORE_STOPPED')
      await rejectsWith(s.has(cid), 'DOCUMENT_STORE_STOPPED')
      await rejectsWith(s.accept(cid, new Uint8Array([1, 2, 3])), 'DOCUMENT_STORE_STOPPED')
    })
  })
}
