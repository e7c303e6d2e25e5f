/**
 * The log storage conformance suite (src/ports/log.ts): every LogStorage adapter — SQLite now,
 * PostgreSQL later — must pass it unchanged. It uses only the port, plus two optional fixture
 * hooks that alter the stored tree behind the port's back (raw SQL with the append-only
 * triggers lifted), to show the store refuses to extend a tree that was altered.
 *
 * Usage: `logStoreConformance('sqlite', async () => fixture)`; `fixture.open()` opens the same
 * underlying store each time (reopening shows persistence), `cleanup()` removes it.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isDtaError } from '../../src/errors.ts'
import type { ErrorCode } from '../../src/errors.ts'
import {
  consistencyPlan, EMPTY_TREE_HASH, evaluate, inclusionPlan, leafHash, nodeKey, planNodes, rootOfLeafHashes, verifyConsistency, verifyInclusion,
} from '../../src/core/log/merkle.ts'
import type { LogEntry, LogHead, LogStorage, LogStore } from '../../src/ports/log.ts'

export interface OpenedLogStorage {
  readonly storage: LogStorage
  close (): Promise<void>
}

export interface LogStoreFixture {
  /** Opens the storage under test; every call opens the same underlying data. */
  open (): Promise<OpenedLogStorage>
  cleanup (): Promise<void>
  /** Optional: overwrite a stored node's hash (bypassing the store's append-only rules). */
  tamperNode? (level: number, index: number, hash: Uint8Array): Promise<void>
}

function code (c: ErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(isDtaError(err, c), `expected ${c}, got ${String(err)}`)
    return true
  }
}

const enc = new TextEncoder()
let counter = 0
function entry (tag = 'e'): LogEntry {
  const n = ++counter
  return { key: `Qm${tag}${n}`.padEnd(46, 'x'), data: enc.encode(`order-2 ${tag} ${n}\n`) }
}

/** A signer that records what it was asked to sign. */
function signer () {
  const heads: LogHead[] = []
  const sign = (head: LogHead): string => {
    heads.push(head)
    return `test-origin\n${head.size}\n${Buffer.from(head.root).toString('base64')}\n\n— test-origin AAAAAA==\n`
  }
  return { heads, sign }
}

export function logStoreConformance (name: string, factory: () => Promise<LogStoreFixture>): void {
  describe(`log store conformance: ${name}`, () => {
    let fixture: LogStoreFixture
    let opened: OpenedLogStorage
    let log: LogStore
    /** What the suite appended to `log`, in index order. */
    const data: Uint8Array[] = []
    let firstKey = ''
    before(async () => {
      fixture = await factory()
      opened = await fixture.open()
      log = opened.storage.log
    })
    after(async () => {
      await opened.close()
      await fixture.cleanup()
    })

    async function appendAll (entries: LogEntry[]): Promise<number[]> {
      const { indexes } = await log.append(entries, signer().sign)
      for (const [i, e] of entries.entries()) if (indexes[i] === data.length) data.push(e.data)
      return indexes
    }

    it('starts empty; the first append of nothing signs the empty tree', async () => {
      assert.equal(await log.checkpoint(), undefined)
      assert.equal(await log.findLeaf('QmNothing'), undefined)
      assert.deepEqual(await log.leaves(0, 0), [])
      const s = signer()
      const r = await log.append([], s.sign)
      assert.deepEqual(r.indexes, [])
      assert.deepEqual(s.heads, [{ size: 0, root: EMPTY_TREE_HASH }])
      assert.equal((await log.checkpoint())?.size, 0)
      const again = signer()
      await log.append([], again.sign)
      assert.equal(again.heads.length, 0, 'no new leaf, no new signature')
    })

    it('appends in order, signs the new head, and keeps every node of the tree', async () => {
      const s = signer()
      const entries = [entry(), entry(), entry()]
      const r = await log.append(entries, s.sign)
      assert.deepEqual(r.indexes, [0, 1, 2])
      for (const e of entries) data.push(e.data)
      firstKey = entries[0]!.key
      const root = rootOfLeafHashes(data.map(leafHash))
      assert.deepEqual(s.heads, [{ size: 3, root }])
      assert.equal(r.checkpoint.size, 3)
      assert.deepEqual(r.checkpoint.root, root)
      assert.equal(r.checkpoint.note, (await log.checkpoint())?.note)
      assert.deepEqual(await log.nodes([{ level: 0, index: 0 }, { level: 1, index: 0 }, { level: 0, index: 2 }, { level: 1, index: 1 }, { level: 0, index: 3 }]),
        [leafHash(data[0]!), rootOfLeafHashes(data.slice(0, 2).map(leafHash)), leafHash(data[2]!), undefined, undefined])
      assert.equal(await log.findLeaf(entries[1]!.key), 1)
      assert.deepEqual(await log.leaves(1, 3), data.slice(1, 3))
    })

    it('one leaf per key: a stored key or one repeated in the batch keeps its first index', async () => {
      assert.equal(await log.findLeaf(firstKey), 0)
      const fresh = entry()
      const s = signer()
      const r = await log.append([{ key: firstKey, data: enc.encode('other bytes') }, fresh, fresh], s.sign)
      assert.deepEqual(r.indexes, [0, 3, 3])
      data.push(fresh.data)
      assert.equal(s.heads.length, 1)
      assert.deepEqual(await log.leaves(0, 1), [data[0]], 'the stored leaf is unchanged')
      const none = signer()
      const same = await log.append([fresh], none.sign)
      assert.deepEqual(same.indexes, [3])
      assert.equal(none.heads.length, 0)
      assert.equal(same.checkpoint.size, 4)
    })

    it('refuses bad entries and bad ranges with typed errors, and changes nothing', async () => {
      const before = await log.checkpoint()
      for (const bad of [[{ key: '', data: enc.encode('x') }], [{ key: 'k', data: new Uint8Array(0) }], [{ key: 'k', data: new Uint8Array(65536) }],
        [{ key: 'k'.repeat(129), data: enc.encode('x') }], Array.from({ length: 4097 }, entry)]) {
        await assert.rejects(log.append(bad, signer().sign), code('STATE_BAD_RECORD'))
      }
      for (const [s, e] of [[-1, 0], [2, 1], [0, 257], [0.5, 1]] as const) {
        await assert.rejects(log.leaves(s, e), code('LOG_BAD_REQUEST'))
        await assert.rejects(log.level(0, s, e), code('LOG_BAD_REQUEST'))
      }
      await assert.rejects(log.level(64, 0, 1), code('LOG_BAD_REQUEST'))
      await assert.rejects(log.nodes(Array.from({ length: 513 }, () => ({ level: 0, index: 0 }))), code('LOG_BAD_REQUEST'))
      await assert.rejects(log.nodes([{ level: -1, index: 0 }]), code('LOG_BAD_REQUEST'))
      assert.deepEqual(await log.checkpoint(), before)
    })

    it('an append whose signing fails stores nothing', async () => {
      const before = await log.checkpoint()
      const e = entry()
      await assert.rejects(log.append([e], () => { throw new Error('no key') }))
      assert.equal(await log.findLeaf(e.key), undefined)
      assert.deepEqual(await log.checkpoint(), before)
    })

    it('concurrent appends get distinct, contiguous indexes, and the last checkpoint covers them all', async () => {
      const start = data.length
      const batches = Array.from({ length: 24 }, (_, i) => Array.from({ length: (i % 5) + 1 }, () => entry('c')))
      const results = await Promise.all(batches.map(async b => await log.append(b, signer().sign)))
      const all = results.flatMap(r => r.indexes).sort((a, b) => a - b)
      assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => start + i))
      for (const [i, r] of results.entries()) for (const [j, index] of r.indexes.entries()) data[index] = batches[i]![j]!.data
      const cp = await log.checkpoint()
      assert.equal(cp?.size, data.length)
      assert.deepEqual(cp?.root, rootOfLeafHashes(data.map(leafHash)))
    })

    it('a tree of a few thousand leaves: tiles are range reads, proofs verify from stored nodes', async () => {
      while (data.length < 2100) await appendAll(Array.from({ length: Math.min(173, 2100 - data.length) }, () => entry('t')))
      const hashes = data.map(leafHash)
      const tile = await log.level(0, 256, 512)
      assert.deepEqual(tile, hashes.slice(256, 512))
      assert.equal((await log.level(0, 2048, 2304)).length, 52, 'a partial tile')
      assert.deepEqual((await log.level(8, 0, 256)), [rootOfLeafHashes(hashes.slice(0, 256)), rootOfLeafHashes(hashes.slice(256, 512)),
        rootOfLeafHashes(hashes.slice(512, 768)), rootOfLeafHashes(hashes.slice(768, 1024)), rootOfLeafHashes(hashes.slice(1024, 1280)),
        rootOfLeafHashes(hashes.slice(1280, 1536)), rootOfLeafHashes(hashes.slice(1536, 1792)), rootOfLeafHashes(hashes.slice(1792, 2048))])
      assert.deepEqual(await log.leaves(2000, 2256), data.slice(2000, 2100))
      const read = async (plans: ReturnType<typeof inclusionPlan>): Promise<Uint8Array[]> => {
        const refs = planNodes(plans)
        const got = await log.nodes(refs)
        const map = new Map(refs.map((r, i) => [nodeKey(r), got[i]!]))
        return plans.map(p => evaluate(p, map))
      }
      const size = data.length
      const root = (await log.checkpoint())!.root
      for (const i of [0, 255, 256, 1023, 1024, 2047, 2048, size - 1]) {
        assert.ok(verifyInclusion(hashes[i]!, i, size, await read(inclusionPlan(i, size)), root), `leaf ${i}`)
      }
      for (const m of [1, 256, 1000, 2048, size - 1]) {
        assert.ok(verifyConsistency(m, size, rootOfLeafHashes(hashes.slice(0, m)), root, await read(consistencyPlan(m, size))), `${m} → ${size}`)
      }
    })

    it('keeps everything across a reopen', async () => {
      const before = await log.checkpoint()
      await opened.close()
      opened = await fixture.open()
      log = opened.storage.log
      assert.deepEqual(await log.checkpoint(), before)
      assert.deepEqual(await log.leaves(0, 256), data.slice(0, 256))
      const r = await log.append([entry()], signer().sign)
      assert.deepEqual(r.indexes, [data.length])
    })

    it('refuses to extend a tree whose stored nodes were altered (LOG_STORE_CORRUPT)', async (t) => {
      if (fixture.tamperNode === undefined) { t.skip('the fixture cannot alter the store'); return }
      const before = await log.checkpoint()
      const size = before!.size
      // the frontier's first node: the root of the largest complete subtree
      const level = Math.floor(Math.log2(size))
      await fixture.tamperNode(level, 0, leafHash(enc.encode('tampered')))
      const e = entry()
      await assert.rejects(log.append([e], signer().sign), code('LOG_STORE_CORRUPT'))
      assert.equal(await log.findLeaf(e.key), undefined)
      assert.deepEqual(await log.checkpoint(), before)
    })

    describe('checkpoints seen of other logs', () => {
      const head = (size: number, tag = 'a'): { size: number, root: Uint8Array } => ({ size, root: leafHash(enc.encode(`${tag}${size}`)) })
      const seen = (origin: string, size: number, tag = 'a') => ({ origin, ...head(size, tag), note: `${origin}\n${size}\n`, keyDocumentCid: 'QmKey' })

      it('remembers the newest, by compare-and-set; never goes back', async () => {
        const cps = opened.storage.checkpoints
        assert.equal(await cps.seen('o1'), undefined)
        assert.equal(await cps.recordSeen(seen('o1', 5), null), true)
        assert.equal(await cps.recordSeen(seen('o1', 6), null), false, 'someone recorded one meanwhile')
        assert.equal(await cps.recordSeen(seen('o1', 7), 4), false)
        assert.equal(await cps.recordSeen(seen('o1', 7), 5), true)
        assert.equal((await cps.seen('o1'))?.size, 7)
        assert.deepEqual((await cps.seen('o1'))?.root, head(7).root)
        assert.equal(await cps.recordSeen(seen('o1', 7), 7), true, 'the same head again')
        await assert.rejects(cps.recordSeen(seen('o1', 3), 7), code('STATE_BAD_RECORD'))
        await assert.rejects(cps.recordSeen(seen('o1', 7, 'b'), 7), code('STATE_BAD_RECORD'))
        await assert.rejects(cps.recordSeen({ ...seen('o1', 8), root: new Uint8Array(31) }, 7), code('STATE_BAD_RECORD'))
        assert.equal((await cps.seen('o1'))?.size, 7)
        assert.equal(await cps.seen('o2'), undefined, 'per origin')
      })

      it('keeps evidence, oldest first, per origin', async () => {
        const cps = opened.storage.checkpoints
        const a = await cps.recordEvidence({ origin: 'o1', kind: 'fork', first: 'n1', second: 'n2', detail: 'shown by X' })
        await cps.recordEvidence({ origin: 'o2', kind: 'rollback', first: 'n3', second: 'n4', detail: null })
        assert.equal(a.kind, 'fork')
        assert.deepEqual((await cps.listEvidence({ origin: 'o1', limit: 10 })).map(e => e.first), ['n1'])
        assert.deepEqual((await cps.listEvidence({ limit: 10 })).map(e => e.kind), ['fork', 'rollback'])
        await assert.rejects(cps.recordEvidence({ origin: 'o1', kind: 'other' as never, first: 'a', second: 'b', detail: null }), code('STATE_BAD_RECORD'))
        await assert.rejects(cps.listEvidence({ limit: 0 }), code('STATE_BAD_RECORD'))
      })
    })
  })
}
