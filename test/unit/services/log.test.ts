/**
 * The transparency log through the real services (issue 11): every envelope of a cycle is a
 * leaf of the logs of the nodes that wrote or accepted it; the fiduciary's answers carry proofs
 * the principal checks — and the principal refuses, records and keeps evidence when the
 * fiduciary lies: no proof, a changed proof, a checkpoint not signed by its log key, a key
 * statement of someone else, forked logs shown to two principals (caught when the beneficiary
 * redeems: its own checkpoint exchange), a log rolled back, a stored tree altered on disk.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DatabaseSync } from 'node:sqlite'
import { milagroPlugin } from '../../../src/plugins/milagro/index.ts'
import { formatCheckpoint, openCheckpoint, originOf } from '../../../src/core/log/checkpoint.ts'
import { signNote } from '../../../src/core/log/note.ts'
import { ed25519FromSeed } from '../../../src/crypto/ed25519.ts'
import type { FulfillOrderResponse } from '../../../src/ports/api.ts'
import { inline } from '../../../src/services/inline.ts'
import { LogChecker } from '../../../src/services/log/index.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { cidV0Of } from '../../../src/adapters/ipfs/unixfs.ts'
import { logNetwork } from './log-network.ts'
import type { LogNetwork, LoggedNode } from './log-network.ts'
import { rejectsCode } from './network.ts'

async function refusals (node: LoggedNode): Promise<string[]> {
  return (await node.state.listAudit({ page: 1, perPage: 100 })).filter(e => e.op.endsWith('.refused')).map(e => `${e.op} ${e.detail?.split(':')[0] ?? ''}`)
}

describe('the log in an order cycle', () => {
  let net: LogNetwork
  before(async () => { net = await logNetwork(milagroPlugin()) })
  after(async () => { await net.close() })

  it('every envelope written or accepted is a leaf, typed and signed; the principal keeps the fiduciary\'s newest checkpoint', async () => {
    const placed = await net.principal.order.create({})
    const redeemed = await net.principal.order.secret({ orderReference: placed.orderReference })
    const f = net.fiduciary.forks.a.log
    const p = net.principal.log.log
    const types = async (log: typeof f, cids: string[]): Promise<Array<string | undefined>> => await Promise.all(cids.map(async c => await log.leafType(c)))
    const parts = [placed.orderPart1CID, placed.orderPart2CID, redeemed.orderPart3CID, redeemed.orderPart4CID]
    assert.deepEqual(await types(f, parts), ['order-1', 'order-2', 'order-3', 'order-4'])
    assert.deepEqual(await types(p, parts), ['order-1', 'order-2', 'order-3', 'order-4'])
    assert.deepEqual(await types(f, [net.fiduciary.cid, f.keyDocument.cid, net.principal.cid]), ['identity', 'log-key', 'identity'])
    assert.deepEqual(await types(p, [net.principal.cid, p.keyDocument.cid]), ['identity', 'log-key'])
    const seen = await net.principal.log.checkpoints.seen(originOf(net.fiduciary.cid))
    const newest = await f.checkpoint()
    assert.equal(seen?.size, newest.size)
    assert.equal(seen?.note, newest.note)
    assert.equal(seen?.keyDocumentCid, f.keyDocument.cid)
    assert.deepEqual(await refusals(net.principal), [])
  })

  it('answers that arrive together, out of order, are all accepted and the newest checkpoint kept', async () => {
    const before = (await net.fiduciary.forks.a.log.checkpoint()).size
    await Promise.all(Array.from({ length: 32 }, async () => await net.principal.order.create({}))) // 32: npm run bench found the compare-and-set starved at that many
    const seen = await net.principal.log.checkpoints.seen(originOf(net.fiduciary.cid))
    assert.equal(seen?.size, (await net.fiduciary.forks.a.log.checkpoint()).size)
    assert.ok(seen!.size >= before + 64)
  })

  it('the answer proves consistency from the size the request said it saw; a carried proof that fails is no evidence', async () => {
    const seenBefore = (await net.principal.log.checkpoints.seen(originOf(net.fiduciary.cid)))!.size
    let carried: { from?: number, proof?: string[] } = {}
    net.answers(async a => { carried = { from: a.log?.consistencyFrom, proof: a.log?.consistencyProof }; return a })
    try {
      await net.principal.order.create({})
    } finally {
      net.answers(undefined)
    }
    assert.equal(carried.from, seenBefore)
    assert.ok(Array.isArray(carried.proof) && carried.proof.length > 0)
    net.answers(async a => ({ ...a, log: { ...a.log!, consistencyProof: [Buffer.alloc(32, 7).toString('base64')] } }))
    try {
      await net.principal.order.create({})
    } finally {
      net.answers(undefined)
    }
    assert.deepEqual(await net.principal.log.checkpoints.listEvidence({ limit: 10 }), [], 'fetched from the log instead, which holds')
    assert.deepEqual(await refusals(net.principal), [])
  })

  it('40 checkpoints checked at once, in shuffled order, with a slow log: all accepted, the newest kept', async () => {
    const log = net.fiduciary.forks.a.log
    const notes: string[] = []
    for (let i = 0; i < 40; i++) {
      await log.append({ type: 'order', cid: await cidV0Of(new TextEncoder().encode(`filler ${i}`)), signer: net.fiduciary.cid })
      notes.push((await log.checkpoint()).note)
    }
    const fresh = await openSqliteState({ path: ':memory:' })
    try {
      const checker = new LogChecker({ checkpoints: fresh.transparency!.checkpoints, identities: { verifier: async () => { throw new Error('unused') } }, audit: fresh, cidOf: cidV0Of })
      const slow = { ...net.fiduciary.reader, consistency: async (a: number, b: number) => { for (let i = 0; i < 20; i++) await new Promise(setImmediate); return await net.fiduciary.reader.consistency(a, b) } }
      const order = notes.map((_, i) => (i * 17) % notes.length) // a fixed shuffle
      await Promise.all(order.map(async i => { await checker.consistent(log.origin, openCheckpoint(notes[i]!, log.verifier), log.keyDocument.cid, slow, 'test') }))
      assert.equal((await fresh.transparency!.checkpoints.seen(log.origin))?.note, notes.at(-1))
    } finally {
      await fresh.close()
    }
  })

  describe('a fiduciary that lies about its log is refused, and the refusal recorded', () => {
    const lies: Array<[string, (a: FulfillOrderResponse) => Promise<FulfillOrderResponse>, 'LOG_PROOF_MISSING' | 'LOG_NOT_INCLUDED' | 'LOG_BAD_SIGNATURE' | 'LOG_BAD_KEY_DOCUMENT' | 'LOG_BAD_CHECKPOINT' | 'LOG_BAD_NOTE']> = [
      ['no proof', async ({ log: _, ...a }) => a, 'LOG_PROOF_MISSING'],
      ['a changed proof hash', async a => ({ ...a, log: { ...a.log!, inclusionProof: a.log!.inclusionProof.map((h, i) => i === 0 ? Buffer.alloc(32, 1).toString('base64') : h) } }), 'LOG_NOT_INCLUDED'],
      ['another leaf index', async a => ({ ...a, log: { ...a.log!, leafIndex: a.log!.leafIndex - 1 } }), 'LOG_NOT_INCLUDED'],
      ['the proof of another document (the principal\'s identity)', async a => {
        const other = await net.fiduciary.forks.a.log.proof(net.principal.cid)
        return { ...a, log: { ...a.log!, leafIndex: other.leafIndex, inclusionProof: other.inclusionProof, checkpoint: other.checkpoint } }
      }, 'LOG_NOT_INCLUDED'],
      ['a checkpoint edited after signing', async a => ({ ...a, log: { ...a.log!, checkpoint: a.log!.checkpoint.replace(/\n(\d+)\n/, (_, n: string) => `\n${Number(n) + 1}\n`) } }), 'LOG_BAD_SIGNATURE'],
      ['a checkpoint signed by another key under the log\'s name', async a => {
        const cp = openCheckpoint(a.log!.checkpoint, net.fiduciary.forks.a.log.verifier)
        const key = ed25519FromSeed(new Uint8Array(32).fill(9))
        return { ...a, log: { ...a.log!, checkpoint: signNote(formatCheckpoint(cp), { name: cp.origin, ...key }) } }
      }, 'LOG_BAD_SIGNATURE'],
      ['a checkpoint of another log', async a => {
        const other = net.principal.log.log
        return { ...a, log: { ...a.log!, checkpoint: (await other.checkpoint()).note } }
      }, 'LOG_BAD_SIGNATURE'],
      ['the log key statement of another node', async a => {
        const other = net.principal.log.log.keyDocument
        return { ...a, documents: { ...a.documents, ...inline([[other.cid, other.bytes]]) }, log: { ...a.log!, logKeyDocumentCID: other.cid } }
      }, 'LOG_BAD_KEY_DOCUMENT'],
      ['a checkpoint that is no note', async a => ({ ...a, log: { ...a.log!, checkpoint: 'hello' } }), 'LOG_BAD_NOTE'],
    ]
    for (const [what, lie, code] of lies) {
      it(`${what}: ${code}`, async () => {
        const orders = (await net.principal.state.listOrders('principal', { page: 1, perPage: 100 })).length
        net.answers(async a => await lie(a as FulfillOrderResponse))
        try {
          await rejectsCode(net.principal.order.create({}), code)
        } finally {
          net.answers(undefined)
        }
        assert.equal((await net.principal.state.listOrders('principal', { page: 1, perPage: 100 })).length, orders, 'no order recorded')
        assert.deepEqual((await refusals(net.principal)).at(-1), `order.refused ${code}`)
      })
    }

    it('a key statement that is not the bytes of its CID, to a node that has not checked the key yet: LOG_BAD_KEY_DOCUMENT', async () => {
      net.answers(async a => ({ ...a, documents: { ...a.documents, [a.log!.logKeyDocumentCID]: Buffer.from('junk').toString('base64') } }))
      try {
        await rejectsCode(net.beneficiary.order.create({}), 'LOG_BAD_KEY_DOCUMENT')
      } finally {
        net.answers(undefined)
      }
      assert.deepEqual((await refusals(net.beneficiary)).at(-1), 'order.refused LOG_BAD_KEY_DOCUMENT')
      assert.equal(await net.beneficiary.log.checkpoints.seen(originOf(net.fiduciary.cid)), undefined, 'nothing remembered of a log it could not check')
    })

    it('a part 4 without its proof is refused too (release.refused)', async () => {
      const placed = await net.principal.order.create({})
      net.answers(async ({ log: _, ...a }) => a)
      try {
        await rejectsCode(net.principal.order.secret({ orderReference: placed.orderReference }), 'LOG_PROOF_MISSING')
      } finally {
        net.answers(undefined)
      }
      assert.deepEqual((await refusals(net.principal)).at(-1), 'release.refused LOG_PROOF_MISSING')
    })
  })
})

describe('forked and rolled-back logs', () => {
  let net: LogNetwork
  before(async () => { net = await logNetwork(milagroPlugin()) })
  after(async () => { await net.close() })

  it('two principals shown two histories: caught at the beneficiary\'s own checkpoint exchange, evidence kept', async () => {
    // the beneficiary, as a principal, is served from log b
    net.fork('b')
    await net.beneficiary.order.create({})
    // the principal's order naming the beneficiary is kept in log a only
    net.fork('a')
    const placed = await net.principal.order.create({ beneficiaryIDDocumentCID: net.beneficiary.cid })
    const handed = await net.principal.order.secret({ orderReference: placed.orderReference })
    assert.equal(handed.secret, undefined, 'handed off to the beneficiary\'s node')
    // the beneficiary redeems on its own node: part 4 is in log a, which b does not extend
    await rejectsCode(net.beneficiary.order.secret({ orderPart4CID: handed.orderPart4CID }), 'LOG_FORKED')
    const evidence = await net.beneficiary.log.checkpoints.listEvidence({ origin: originOf(net.fiduciary.cid), limit: 10 })
    assert.equal(evidence.length, 1)
    assert.equal(evidence[0]!.kind, 'fork')
    const [first, second] = [evidence[0]!.first, evidence[0]!.second].map(n => openCheckpoint(n, net.fiduciary.forks.a.log.verifier))
    assert.ok(first!.size <= second!.size)
    assert.deepEqual((await refusals(net.beneficiary)).at(-1), 'release.refused LOG_FORKED')
  })

  it('the same principal shown the other history: LOG_FORKED, and it keeps the checkpoint it had', async () => {
    const origin = originOf(net.fiduciary.cid)
    net.fork('a')
    await net.beneficiary.order.create({}).catch(() => undefined) // the beneficiary saw b: refused, as it should be
    net.fork('b')
    const before = await net.principal.log.checkpoints.seen(origin)
    for (let i = 0; i < 8; i++) await net.beneficiary.order.create({}) // b grows past a
    await rejectsCode(net.principal.order.create({}), 'LOG_FORKED')
    assert.deepEqual(await net.principal.log.checkpoints.seen(origin), before)
  })
})

describe('a log rolled back', () => {
  let net: LogNetwork
  before(async () => { net = await logNetwork(milagroPlugin()) })
  after(async () => { await net.close() })

  it('an older log that is not a prefix of the one seen: LOG_ROLLED_BACK, evidence kept', async () => {
    await net.principal.order.create({})
    await net.principal.order.create({})
    const seen = await net.principal.log.checkpoints.seen(originOf(net.fiduciary.cid))
    net.fork('b') // the fiduciary's log as it was before both orders (its first two leaves)
    await rejectsCode(net.principal.order.create({}), 'LOG_ROLLED_BACK')
    const evidence = await net.principal.log.checkpoints.listEvidence({ limit: 10 })
    assert.deepEqual(evidence.map(e => e.kind), ['rollback'])
    assert.equal(evidence[0]!.second, seen!.note, 'the newer checkpoint seen is kept beside the older one shown')
    assert.deepEqual((await refusals(net.principal)).at(-1), 'order.refused LOG_ROLLED_BACK')
  })

  it('a stored tree altered on disk: the fiduciary refuses to extend it (LOG_STORE_CORRUPT)', async () => {
    net.fork('a')
    const size = (await net.fiduciary.forks.a.log.checkpoint()).size
    const db = new DatabaseSync(net.fiduciary.databasePath)
    db.exec('DROP TRIGGER log_nodes_no_update')
    // the root of the largest complete subtree: the first node of the tree's frontier
    db.prepare('UPDATE log_nodes SET hash = zeroblob(32) WHERE level = ? AND idx = 0').run(Math.floor(Math.log2(size)))
    db.close()
    await rejectsCode(net.principal.order.create({}), 'LOG_STORE_CORRUPT')
  })
})
