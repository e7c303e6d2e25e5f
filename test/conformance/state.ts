/**
 * The state repository conformance suite: every StateRepository adapter (SQLite now, PostgreSQL
 * later) must pass it unchanged. It uses only the port. Sealed seeds are stand-in byte strings
 * in the custody record layout (version ‖ key id ‖ nonce ‖ body ‖ tag), since the repository
 * stores them opaquely and only reads the key id.
 *
 * Usage: `stateConformance('sqlite', async () => fixture)`; `fixture.open()` opens the same
 * underlying store each time (so reopening shows persistence), `cleanup()` removes it.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { isDtaError } from '../../src/errors.ts'
import type { ErrorCode } from '../../src/errors.ts'
import { identitySeedRecordId, orderSeedRecordId, pluginSealRecordId } from '../../src/ports/state.ts'
import type { NewFiduciaryOrder, NewOrder, StateRepository } from '../../src/ports/state.ts'
import { orderListConformance } from './state-order-list.ts'

export interface StateFixture {
  /** Opens the store under test; every call opens the same underlying data. */
  open (): Promise<StateRepository>
  cleanup (): Promise<void>
}

/** A stand-in sealed record: version 1 ‖ 8-byte key id ‖ 12-byte nonce ‖ `bodyBytes` ‖ 16-byte tag. */
export function fakeSealed (keyIdHex = '0102030405060708', bodyBytes = 32): Uint8Array {
  const out = new Uint8Array(1 + 8 + 12 + bodyBytes + 16)
  out[0] = 1
  out.set(Buffer.from(keyIdHex, 'hex'), 1)
  out.set(randomBytes(out.length - 9), 9)
  return out
}

function code (c: ErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(isDtaError(err, c), `expected ${c}, got ${String(err)}`)
    return true
  }
}

let counter = 0
function cid (): string {
  // CIDv0 shape: Qm + 44 base58 characters (the repository does not check it, but be realistic).
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
  const n = ++counter
  let s = ''
  for (let i = 0, x = n * 7919 + 13; i < 44; i++, x = Math.floor(x / 58) + i * 31 + n) s += alphabet[x % 58]
  return `Qm${s}`
}

function ref (): string {
  return randomBytes(16).toString('hex')
}

function principalOrder (over: Partial<NewOrder> = {}): NewOrder {
  return {
    role: 'principal', reference: ref(), plugin: 'milagro', principalCid: cid(), fiduciaryCid: cid(),
    part1Cid: cid(), ...over
  }
}

function fiduciaryOrder (over: Partial<NewFiduciaryOrder> = {}): NewFiduciaryOrder {
  return {
    reference: ref(), plugin: 'milagro', principalCid: cid(), fiduciaryCid: cid(), part1Cid: cid(),
    sealedSeed: fakeSealed(), ...over
  }
}

export function stateConformance (name: string, factory: () => Promise<StateFixture>): void {
  describe(`state conformance: ${name}`, () => {
    let fixture: StateFixture
    let state: StateRepository
    before(async () => {
      fixture = await factory()
      state = await fixture.open()
    })
    after(async () => {
      await state.close()
      await fixture.cleanup()
    })

    describe('identities', () => {
      it('stores and returns an identity with its sealed root seed', async () => {
        const id = cid()
        const sealed = fakeSealed()
        const rec = await state.insertIdentity({ cid: id, name: 'alice', createdAt: 1000, sealedRootSeed: sealed })
        assert.deepEqual(rec, { cid: id, name: 'alice', createdAt: 1000, sealedRootSeed: sealed, isNodeIdentity: false })
        assert.deepEqual(await state.getIdentity(id), rec)
        const seed = await state.getSeed(identitySeedRecordId(id))
        assert.deepEqual(seed?.sealed, sealed)
        assert.equal(seed?.keyId, '0102030405060708')
        assert.equal(await state.getIdentity(cid()), undefined)
      })

      it('keeps one node identity, which must have a seed', async () => {
        assert.equal(await state.getNodeIdentity(), undefined)
        await assert.rejects(state.insertIdentity({ cid: cid(), name: 'n', createdAt: 1, sealedRootSeed: null, isNodeIdentity: true }), code('STATE_BAD_RECORD'))
        const node = cid()
        await state.insertIdentity({ cid: node, name: 'node', createdAt: 2, sealedRootSeed: fakeSealed(), isNodeIdentity: true })
        assert.equal((await state.getNodeIdentity())?.cid, node)
        assert.equal((await state.getNodeIdentity())?.isNodeIdentity, true)
        const second = cid()
        await assert.rejects(state.insertIdentity({ cid: second, name: 'x', createdAt: 3, sealedRootSeed: fakeSealed(), isNodeIdentity: true }), code('STATE_NODE_IDENTITY_EXISTS'))
        assert.equal(await state.getIdentity(second), undefined, 'nothing half-written')
        assert.equal(await state.getSeed(identitySeedRecordId(second)), undefined, 'no orphan seed')
      })

      it('refuses a duplicate CID, but caching a foreign identity twice is a no-op', async () => {
        const id = cid()
        await state.insertIdentity({ cid: id, name: 'a', createdAt: 5, sealedRootSeed: fakeSealed() })
        await assert.rejects(state.insertIdentity({ cid: id, name: 'a', createdAt: 5, sealedRootSeed: fakeSealed() }), code('STATE_IDENTITY_EXISTS'))
        await assert.rejects(state.insertIdentity({ cid: id, name: 'a', createdAt: 5, sealedRootSeed: null }), code('STATE_IDENTITY_EXISTS'))
        const foreign = cid()
        const first = await state.insertIdentity({ cid: foreign, name: 'bob', createdAt: 7, sealedRootSeed: null })
        assert.equal(first.sealedRootSeed, null)
        assert.deepEqual(await state.insertIdentity({ cid: foreign, name: 'bob', createdAt: 9, sealedRootSeed: null }), first)
        await assert.rejects(state.insertIdentity({ cid: foreign, name: 'bob', createdAt: 9, sealedRootSeed: fakeSealed() }), code('STATE_IDENTITY_EXISTS'))
      })

      it('refuses malformed identities', async () => {
        await assert.rejects(state.insertIdentity({ cid: '', name: 'a', createdAt: 1, sealedRootSeed: null }), code('STATE_BAD_RECORD'))
        await assert.rejects(state.insertIdentity({ cid: cid(), name: 'a', createdAt: -1, sealedRootSeed: null }), code('STATE_BAD_RECORD'))
        await assert.rejects(state.insertIdentity({ cid: cid(), name: 'a', createdAt: 1, sealedRootSeed: new Uint8Array(10) }), code('STATE_BAD_RECORD'))
      })
    })

    describe('pagination and sorting', () => {
      let mine: string[] // cids of identities with seeds, in expected ascending order
      let fresh: StateRepository
      before(async () => {
        // A separate, predictable population: all identities inserted so far have createdAt < 100.
        fresh = state
        mine = []
        const times = [500, 300, 300, 900, 100, 700, 300] // ties keep insertion order
        const rows: Array<{ cid: string, t: number, i: number }> = []
        for (const [i, t] of times.entries()) {
          const c = cid()
          await fresh.insertIdentity({ cid: c, name: `p${i}`, createdAt: t, sealedRootSeed: fakeSealed() })
          rows.push({ cid: c, t, i })
        }
        await fresh.insertIdentity({ cid: cid(), name: 'foreign', createdAt: 600, sealedRootSeed: null })
        mine = rows.sort((a, b) => a.t - b.t || a.i - b.i).map(r => r.cid)
      })

      it('lists identities ascending and descending, ties in insertion order', async () => {
        const total = await fresh.countIdentities()
        const all = await fresh.listIdentities({ page: 1, perPage: 100 })
        assert.equal(all.length, total)
        assert.ok(all.every(r => r.sealedRootSeed !== null), 'foreign identities are not listed by default')
        const asc = all.map(r => r.cid).filter(c => mine.includes(c))
        assert.deepEqual(asc, mine)
        const desc = (await fresh.listIdentities({ page: 1, perPage: 100, sortBy: 'dateCreatedDesc' })).map(r => r.cid).filter(c => mine.includes(c))
        assert.deepEqual(desc, [...mine].reverse())
        const times = all.map(r => r.createdAt)
        assert.deepEqual(times, [...times].sort((a, b) => a - b))
      })

      it('counts and lists foreign identities only when asked', async () => {
        const withForeign = await fresh.countIdentities({ includeForeign: true })
        assert.equal(withForeign, (await fresh.countIdentities()) + 2) // 'bob' earlier, 'foreign' here
        const list = await fresh.listIdentities({ page: 1, perPage: 100, includeForeign: true })
        assert.equal(list.length, withForeign)
        assert.ok(list.some(r => r.name === 'foreign'))
      })

      it('pages partition the list with no gap or overlap; past the end is empty', async () => {
        const total = await fresh.countIdentities()
        const whole = (await fresh.listIdentities({ page: 1, perPage: 100, sortBy: 'dateCreatedDesc' })).map(r => r.cid)
        for (const perPage of [1, 2, 3, total, total + 1]) {
          const seen: string[] = []
          const pages = Math.ceil(total / perPage)
          for (let page = 1; page <= pages; page++) {
            const items = await fresh.listIdentities({ page, perPage, sortBy: 'dateCreatedDesc' })
            assert.equal(items.length, page < pages ? perPage : total - perPage * (pages - 1))
            seen.push(...items.map(r => r.cid))
          }
          assert.deepEqual(seen, whole, `perPage ${perPage}`)
          assert.deepEqual(await fresh.listIdentities({ page: pages + 1, perPage }), [])
        }
      })

      it('refuses bad page arguments', async () => {
        const bad = [
          { page: 0, perPage: 10 }, { page: -1, perPage: 10 }, { page: 1.5, perPage: 10 }, { page: Number.NaN, perPage: 10 },
          { page: 1, perPage: 0 }, { page: 1, perPage: 101 }, { page: 1, perPage: 2.5 },
          { page: 1, perPage: 10, sortBy: 'dateCreated' as never }
        ]
        for (const p of bad) {
          await assert.rejects(fresh.listIdentities(p), code('STATE_BAD_PAGE'), JSON.stringify(p))
          await assert.rejects(fresh.listOrders('principal', p), code('STATE_BAD_PAGE'), JSON.stringify(p))
          await assert.rejects(fresh.listAudit(p), code('STATE_BAD_PAGE'), JSON.stringify(p))
        }
        assert.ok((await fresh.listIdentities({ page: 1, perPage: 100 })).length <= 100)
      })
    })

    describe('orders', () => {
      it('creates, gets and refuses a duplicate (role, reference)', async () => {
        const o = principalOrder({ beneficiaryCid: cid(), extension: { coin: '1' }, createdAt: 1234 })
        const rec = await state.createOrder(o)
        assert.equal(rec.role, 'principal')
        assert.equal(rec.reference, o.reference)
        assert.equal(rec.beneficiaryCid, o.beneficiaryCid)
        assert.equal(rec.part1Cid, o.part1Cid)
        assert.equal(rec.part2Cid, null)
        assert.equal(rec.commitment, null)
        assert.equal(rec.seedRecordId, null)
        assert.deepEqual(rec.extension, { coin: '1' })
        assert.equal(rec.createdAt, 1234)
        assert.deepEqual(await state.getOrder('principal', o.reference), rec)
        assert.equal(await state.getOrder('fiduciary', o.reference), undefined)
        await assert.rejects(state.createOrder(o), code('STATE_ORDER_EXISTS'))
      })

      it('holds a principal row and a fiduciary row for one reference (multi node)', async () => {
        const reference = ref()
        await state.createOrder(principalOrder({ reference }))
        const { order, created } = await state.createFiduciaryOrder(fiduciaryOrder({ reference }))
        assert.equal(created, true)
        assert.equal(order.role, 'fiduciary')
        assert.equal((await state.getOrder('principal', reference))?.role, 'principal')
        assert.equal((await state.getOrder('fiduciary', reference))?.role, 'fiduciary')
      })

      it('stores a principal-side sealed seed with its row', async () => {
        const sealed = fakeSealed('aaaaaaaaaaaaaaaa')
        const o = await state.createOrder(principalOrder({ sealedSeed: sealed }))
        assert.equal(o.seedRecordId, orderSeedRecordId('principal', o.reference))
        assert.deepEqual((await state.getSeed(o.seedRecordId))?.sealed, sealed)
      })

      it('a fiduciary row cannot be created without its seed', async () => {
        const o = principalOrder({ role: 'fiduciary' })
        await assert.rejects(state.createOrder(o), code('STATE_BAD_RECORD'))
        assert.equal(await state.getOrder('fiduciary', o.reference), undefined)
      })

      it('records part 2 once; the same values again are a no-op, others a conflict', async () => {
        const o = await state.createOrder(principalOrder({ extension: { a: '1' } }))
        const p2 = cid()
        const rec = await state.setOrderPart2('principal', o.reference, { part2Cid: p2, commitment: '02abcdef', extension: { b: '2' } })
        assert.equal(rec.part2Cid, p2)
        assert.equal(rec.commitment, '02abcdef')
        assert.deepEqual(rec.extension, { a: '1', b: '2' }, 'extension merged')
        assert.ok(rec.updatedAt >= o.updatedAt)
        assert.deepEqual(await state.setOrderPart2('principal', o.reference, { part2Cid: p2, commitment: '02abcdef' }), rec)
        await assert.rejects(state.setOrderPart2('principal', o.reference, { part2Cid: cid(), commitment: '02abcdef' }), code('STATE_ORDER_CONFLICT'))
        await assert.rejects(state.setOrderPart2('principal', o.reference, { part2Cid: p2, commitment: '03ffff' }), code('STATE_ORDER_CONFLICT'))
        assert.deepEqual(await state.getOrder('principal', o.reference), rec)
        await assert.rejects(state.setOrderPart2('principal', ref(), { part2Cid: p2, commitment: 'x' }), code('STATE_ORDER_NOT_FOUND'))
      })

      it('records parts 3 and 4 in order; a new part 3 clears the old part 4', async () => {
        const o = await state.createOrder(principalOrder())
        await assert.rejects(state.setOrderPart3('principal', o.reference, { part3Cid: cid() }), code('STATE_ORDER_PART_MISSING'))
        await state.setOrderPart2('principal', o.reference, { part2Cid: cid(), commitment: 'c' })
        await assert.rejects(state.setOrderPart4('principal', o.reference, { part4Cid: cid() }), code('STATE_ORDER_PART_MISSING'))
        const p3 = cid()
        const ben = cid()
        const r3 = await state.setOrderPart3('principal', o.reference, { part3Cid: p3, beneficiaryCid: ben })
        assert.equal(r3.part3Cid, p3)
        assert.equal(r3.beneficiaryCid, ben)
        const p4 = cid()
        const r4 = await state.setOrderPart4('principal', o.reference, { part4Cid: p4, extension: { address: '1abc' } })
        assert.equal(r4.part4Cid, p4)
        assert.equal(r4.extension.address, '1abc')
        const again = await state.setOrderPart3('principal', o.reference, { part3Cid: p3 })
        assert.equal(again.part4Cid, p4, 'the same part 3 keeps part 4')
        assert.equal(again.beneficiaryCid, ben, 'no beneficiary given keeps the stored one')
        const other = await state.setOrderPart3('principal', o.reference, { part3Cid: cid() })
        assert.equal(other.part4Cid, null, 'a new part 3 clears part 4')
        await assert.rejects(state.setOrderPart3('principal', ref(), { part3Cid: cid() }), code('STATE_ORDER_NOT_FOUND'))
        await assert.rejects(state.setOrderPart4('fiduciary', o.reference, { part4Cid: cid() }), code('STATE_ORDER_NOT_FOUND'))
      })

      it('lists and counts orders per role, paged and sorted', async () => {
        const before = await state.countOrders('principal')
        const base = 8_000_000_000_000_000 // later than any other row, so these four end the list
        const refs: string[] = []
        for (const t of [base, base + 2, base + 1, base + 2]) {
          refs.push((await state.createOrder(principalOrder({ createdAt: t }))).reference)
        }
        const total = before + 4
        assert.equal(await state.countOrders('principal'), total)
        const expected = [refs[0], refs[2], refs[1], refs[3]] // by time, ties in insertion order
        const desc = await state.listOrders('principal', { page: 1, perPage: 4, sortBy: 'dateCreatedDesc' })
        assert.deepEqual(desc.map(o => o.reference), [...expected].reverse())
        const asc = await state.listOrders('principal', { page: 1, perPage: 100 })
        assert.equal(asc.length, total)
        assert.deepEqual(asc.slice(-4).map(o => o.reference), expected)
        const paged: string[] = []
        for (let page = 1; page <= Math.ceil(total / 3); page++) {
          paged.push(...(await state.listOrders('principal', { page, perPage: 3 })).map(o => o.reference))
        }
        assert.deepEqual(paged, asc.map(o => o.reference))
        assert.ok((await state.listOrders('fiduciary', { page: 1, perPage: 100 })).every(o => o.role === 'fiduciary'))
        assert.ok(asc.every(o => o.role === 'principal'))
        await assert.rejects(state.listOrders('beneficiary' as never, { page: 1, perPage: 1 }), code('STATE_BAD_RECORD'))
      })
    })

    orderListConformance(() => state, { cid, principalOrder, fakeSealed })

    describe('fiduciary orders (PROTOCOL §6)', () => {
      it('inserts the row, its seed and a seed.created audit entry together', async () => {
        const input = fiduciaryOrder({ part2Cid: cid(), commitment: '02ff', extension: { coin: '0' } })
        const { order, created } = await state.createFiduciaryOrder(input)
        assert.equal(created, true)
        assert.equal(order.part1Cid, input.part1Cid)
        assert.equal(order.part2Cid, input.part2Cid)
        assert.equal(order.commitment, '02ff')
        assert.equal(order.seedRecordId, orderSeedRecordId('fiduciary', input.reference))
        assert.deepEqual(await state.getOrder('fiduciary', input.reference), order)
        const seed = await state.getSeed(order.seedRecordId ?? '')
        assert.deepEqual(seed?.sealed, input.sealedSeed)
        const audit = await allAudit(state)
        assert.ok(audit.some(e => e.op === 'seed.created' && e.reference === order.seedRecordId && e.actor === input.principalCid))
      })

      it('the same part 1 again returns the stored row and keeps the first seed', async () => {
        const input = fiduciaryOrder({ part2Cid: cid(), commitment: '03aa' })
        const first = await state.createFiduciaryOrder(input)
        const auditCount = (await allAudit(state)).length
        const repeat = await state.createFiduciaryOrder({ ...input, sealedSeed: fakeSealed(), part2Cid: cid(), commitment: 'other' })
        assert.equal(repeat.created, false)
        assert.deepEqual(repeat.order, first.order)
        assert.deepEqual((await state.getSeed(first.order.seedRecordId ?? ''))?.sealed, input.sealedSeed)
        assert.equal((await allAudit(state)).length, auditCount, 'no second seed.created')
      })

      it('a different part 1 under a known reference is refused and changes nothing', async () => {
        const input = fiduciaryOrder()
        const first = await state.createFiduciaryOrder(input)
        await assert.rejects(state.createFiduciaryOrder({ ...input, part1Cid: cid(), sealedSeed: fakeSealed() }), code('STATE_ORDER_CONFLICT'))
        assert.deepEqual(await state.getOrder('fiduciary', input.reference), first.order)
        assert.deepEqual((await state.getSeed(first.order.seedRecordId ?? ''))?.sealed, input.sealedSeed)
      })

      it('concurrent repeats create exactly one row', async () => {
        const input = fiduciaryOrder()
        const results = await Promise.all(Array.from({ length: 10 }, async () =>
          await state.createFiduciaryOrder({ ...input, sealedSeed: fakeSealed() })))
        assert.equal(results.filter(r => r.created).length, 1)
        const winner = results.find(r => r.created)
        assert.ok(results.every(r => r.order.reference === input.reference && r.order.part1Cid === input.part1Cid))
        const seed = await state.getSeed(orderSeedRecordId('fiduciary', input.reference))
        assert.ok(seed !== undefined && winner !== undefined)
      })

      it('a bad sealed seed stores neither row nor seed', async () => {
        const input = fiduciaryOrder({ sealedSeed: new Uint8Array(20) })
        await assert.rejects(state.createFiduciaryOrder(input), code('STATE_BAD_RECORD'))
        assert.equal(await state.getOrder('fiduciary', input.reference), undefined)
        assert.equal(await state.getSeed(orderSeedRecordId('fiduciary', input.reference)), undefined)
      })

      it('part 4 on a fiduciary row appends seed.released with the recipient the release was claimed for', async () => {
        const { order } = await state.createFiduciaryOrder(fiduciaryOrder({ part2Cid: cid(), commitment: 'c' }))
        const recipient = cid()
        const p4 = cid()
        await assert.rejects(state.setOrderPart4('fiduciary', order.reference, { part4Cid: p4, releasedTo: recipient }), code('STATE_ORDER_PART_MISSING'))
        const p3 = cid()
        const claimed = await state.claimRelease(order.reference, { part3Cid: p3, releasedTo: recipient })
        assert.equal(claimed.releasedTo, recipient)
        await assert.rejects(state.setOrderPart4('fiduciary', order.reference, { part4Cid: p4, part3Cid: p3, releasedTo: cid() }), code('ORDER_ALREADY_REDEEMED_ELSEWHERE'))
        await assert.rejects(state.setOrderPart4('fiduciary', order.reference, { part4Cid: p4, part3Cid: p3 }), code('ORDER_ALREADY_REDEEMED_ELSEWHERE'))
        await assert.rejects(state.setOrderPart4('fiduciary', order.reference, { part4Cid: p4, releasedTo: recipient }), code('STATE_BAD_RECORD'))
        await state.setOrderPart4('fiduciary', order.reference, { part4Cid: p4, part3Cid: p3, releasedTo: recipient })
        await state.setOrderPart4('fiduciary', order.reference, { part4Cid: p4, part3Cid: p3, releasedTo: recipient })
        const twin = await state.setOrderPart4('fiduciary', order.reference, { part4Cid: cid(), part3Cid: p3, releasedTo: recipient })
        assert.equal(twin.part4Cid, p4, 'a twin part 4 for the same part 3 leaves the first in place')
        assert.equal((await state.getOrder('fiduciary', order.reference))?.part4Cid, p4)
        const released = (await allAudit(state)).filter(e => e.op === 'seed.released' && e.reference === order.seedRecordId)
        assert.equal(released.length, 1, 'a repeat of the same part 4, or a twin, is not a second release')
        assert.equal(released[0].actor, recipient)
        // a newer part 3 of the same recipient took the row before this part 4 was recorded: released, not recorded
        const newer = cid()
        await state.claimRelease(order.reference, { part3Cid: newer, releasedTo: recipient })
        const stale = await state.setOrderPart4('fiduciary', order.reference, { part4Cid: cid(), part3Cid: p3, releasedTo: recipient })
        assert.equal(stale.part3Cid, newer)
        assert.equal(stale.part4Cid, null, 'a part 4 for an older part 3 does not answer the newer one')
        const p4b = cid()
        assert.equal((await state.setOrderPart4('fiduciary', order.reference, { part4Cid: p4b, part3Cid: newer, releasedTo: recipient })).part4Cid, p4b)
        assert.equal((await allAudit(state)).filter(e => e.op === 'seed.released' && e.reference === order.seedRecordId).length, 3)
      })

      it('claimRelease: one recipient ever; the same part 3 keeps part 4, another clears it', async () => {
        await assert.rejects(state.claimRelease(ref(), { part3Cid: cid(), releasedTo: cid() }), code('STATE_ORDER_NOT_FOUND'))
        const noPart2 = (await state.createFiduciaryOrder(fiduciaryOrder())).order
        await assert.rejects(state.claimRelease(noPart2.reference, { part3Cid: cid(), releasedTo: cid() }), code('STATE_ORDER_PART_MISSING'))
        const { order } = await state.createFiduciaryOrder(fiduciaryOrder({ part2Cid: cid(), commitment: 'c' }))
        assert.equal(order.releasedTo, null)
        const alice = cid(); const bob = cid(); const p3 = cid(); const p4 = cid(); const ben = cid()
        const first = await state.claimRelease(order.reference, { part3Cid: p3, beneficiaryCid: ben, releasedTo: alice })
        assert.equal(first.part3Cid, p3)
        assert.equal(first.beneficiaryCid, ben)
        await state.setOrderPart4('fiduciary', order.reference, { part4Cid: p4, part3Cid: p3, releasedTo: alice })
        // another recipient: refused, nothing changes
        const before = await state.getOrder('fiduciary', order.reference)
        await assert.rejects(state.claimRelease(order.reference, { part3Cid: cid(), releasedTo: bob }), code('ORDER_ALREADY_REDEEMED_ELSEWHERE'))
        assert.deepEqual(await state.getOrder('fiduciary', order.reference), before)
        // the same part 3 again keeps part 4; a new part 3 for the same recipient clears it
        assert.equal((await state.claimRelease(order.reference, { part3Cid: p3, releasedTo: alice })).part4Cid, p4)
        const renewed = await state.claimRelease(order.reference, { part3Cid: cid(), releasedTo: alice })
        assert.equal(renewed.part4Cid, null)
        assert.equal(renewed.beneficiaryCid, ben, 'a beneficiary once recorded is kept')
        await assert.rejects(state.claimRelease(order.reference, { part3Cid: cid(), releasedTo: '' }), code('STATE_BAD_RECORD'))
      })

      it('concurrent claims for different recipients: exactly one wins', async () => {
        for (let round = 0; round < 5; round++) {
          const { order } = await state.createFiduciaryOrder(fiduciaryOrder({ part2Cid: cid(), commitment: 'c' }))
          const recipients = Array.from({ length: 8 }, () => cid())
          const results = await Promise.allSettled(recipients.map(async releasedTo => await state.claimRelease(order.reference, { part3Cid: cid(), releasedTo })))
          const won = results.filter(r => r.status === 'fulfilled')
          assert.equal(won.length, 1, 'one claim succeeds')
          for (const r of results) if (r.status === 'rejected') assert.ok(code('ORDER_ALREADY_REDEEMED_ELSEWHERE')(r.reason))
          const row = await state.getOrder('fiduciary', order.reference)
          assert.equal(row?.releasedTo, (won[0] as PromiseFulfilledResult<{ releasedTo: string | null }>).value.releasedTo)
        }
      })
    })

    describe('sealed seeds', () => {
      it('an unknown record id has no seed', async () => {
        assert.equal(await state.getSeed('order/fiduciary/none'), undefined)
      })

      it('reseals a seed under a new key, checking the old key id', async () => {
        const { order } = await state.createFiduciaryOrder(fiduciaryOrder({ sealedSeed: fakeSealed('1111111111111111') }))
        const id = order.seedRecordId ?? ''
        const next = fakeSealed('2222222222222222')
        await assert.rejects(state.resealSeed(id, next, '3333333333333333'), code('STATE_SEED_KEY_MISMATCH'))
        assert.equal((await state.getSeed(id))?.keyId, '1111111111111111')
        const after = await state.resealSeed(id, next, '1111111111111111')
        assert.equal(after.keyId, '2222222222222222')
        assert.deepEqual((await state.getSeed(id))?.sealed, next)
        assert.ok((await allAudit(state)).some(e => e.op === 'seed.resealed' && e.reference === id))
        await assert.rejects(state.resealSeed('order/fiduciary/none', next), code('STATE_SEED_NOT_FOUND'))
        await assert.rejects(state.resealSeed(id, new Uint8Array(3)), code('STATE_BAD_RECORD'))
      })

      it('lists seeds in record id order, a page at a time, optionally excluding one key id', async () => {
        const keyA = randomBytes(8).toString('hex')
        const keyB = randomBytes(8).toString('hex')
        const mine = new Map<string, string>()
        for (let i = 0; i < 5; i++) {
          const key = i % 2 === 0 ? keyA : keyB
          const { order } = await state.createFiduciaryOrder(fiduciaryOrder({ sealedSeed: fakeSealed(key) }))
          mine.set(order.seedRecordId ?? '', key)
        }
        const seen: string[] = []
        let after: string | undefined
        for (;;) {
          const page = await state.listSeeds({ after, limit: 2 })
          assert.ok(page.length <= 2)
          for (const seed of page) {
            assert.equal(seed.keyId, (await state.getSeed(seed.recordId))?.keyId)
            seen.push(seed.recordId)
          }
          if (page.length < 2) break
          after = page[page.length - 1].recordId
        }
        const sorted = [...seen].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
        assert.deepEqual(seen, sorted, 'record id order')
        assert.equal(new Set(seen).size, seen.length, 'no repeats')
        for (const id of mine.keys()) assert.ok(seen.includes(id), `lists ${id}`)
        const notA = await state.listSeeds({ limit: 100, excludeKeyId: keyA })
        assert.ok(notA.every(s => s.keyId !== keyA))
        for (const [id, key] of mine) assert.equal(notA.some(s => s.recordId === id), key !== keyA)
        for (const limit of [0, 101, 1.5]) await assert.rejects(state.listSeeds({ limit }), code('STATE_BAD_PAGE'))
      })

      it('keyset paging visits each seed once while the listed seeds are re-sealed', async () => {
        const target = randomBytes(8).toString('hex')
        for (let i = 0; i < 5; i++) await state.createFiduciaryOrder(fiduciaryOrder({ sealedSeed: fakeSealed('5555555555555555') }))
        const visited: string[] = []
        let after: string | undefined
        for (;;) {
          const page = await state.listSeeds({ after, limit: 2, excludeKeyId: target })
          for (const seed of page) {
            visited.push(seed.recordId)
            await state.resealSeed(seed.recordId, fakeSealed(target), seed.keyId)
          }
          if (page.length < 2) break
          after = page[page.length - 1].recordId
        }
        assert.equal(new Set(visited).size, visited.length, 'no seed visited twice')
        assert.deepEqual(await state.listSeeds({ limit: 100, excludeKeyId: target }), [], 'every seed is now under the target key')
      })
    })

    describe('sealed plugin values (custody migration)', () => {
      it('lists only values shaped like sealed records, by (plugin, key), excluding a key id', async () => {
        const keyA = randomBytes(8).toString('hex')
        const keyB = randomBytes(8).toString('hex')
        const p = state.pluginStore('sealtest')
        const q = state.pluginStore('sealtest-2')
        await p.put('b', fakeSealed(keyA))
        await p.put('a', fakeSealed(keyB))
        await q.put('a', fakeSealed(keyA))
        await p.put('text', 'not sealed at all, even if long enough to look like one')
        const wrongVersion = fakeSealed(keyA)
        wrongVersion[0] = 2
        await p.put('v2', wrongVersion)
        await p.put('short', fakeSealed(keyA).subarray(0, 36))
        const all = []
        let after: { plugin: string, key: string } | undefined
        for (;;) {
          const page = await state.listSealedPluginValues({ after, limit: 1 })
          all.push(...page)
          if (page.length < 1) break
          after = { plugin: page[0].plugin, key: page[0].key }
        }
        const mine = all.filter(v => v.plugin.startsWith('sealtest')).map(v => `${v.plugin}/${v.key}:${v.keyId}`)
        assert.deepEqual(mine, [`sealtest/a:${keyB}`, `sealtest/b:${keyA}`, `sealtest-2/a:${keyA}`])
        const notA = (await state.listSealedPluginValues({ limit: 100, excludeKeyId: keyA })).filter(v => v.plugin.startsWith('sealtest'))
        assert.deepEqual(notA.map(v => `${v.plugin}/${v.key}`), ['sealtest/a'])
        assert.deepEqual(notA[0].sealed, await p.get('a'))
        await assert.rejects(state.listSealedPluginValues({ limit: 0 }), code('STATE_BAD_PAGE'))
      })

      it('re-seals a plugin value only if it is under the expected key id, and audits it', async () => {
        const p = state.pluginStore('resealtest')
        const old = fakeSealed('6666666666666666')
        const next = fakeSealed('7777777777777777')
        await p.put('share', old)
        await assert.rejects(state.resealPluginValue('resealtest', 'share', next, '8888888888888888'), code('STATE_SEED_KEY_MISMATCH'))
        assert.deepEqual(await p.get('share'), old)
        await state.resealPluginValue('resealtest', 'share', next, '6666666666666666')
        assert.deepEqual(await p.get('share'), next)
        assert.ok((await allAudit(state)).some(e => e.op === 'seed.resealed' && e.reference === pluginSealRecordId('resealtest', 'share')))
        await p.put('plain', 'text')
        await assert.rejects(state.resealPluginValue('resealtest', 'plain', next, '6666666666666666'), code('STATE_SEED_KEY_MISMATCH'))
        assert.equal(await p.get('plain'), 'text')
        await assert.rejects(state.resealPluginValue('resealtest', 'none', next, '6666666666666666'), code('STATE_SEED_NOT_FOUND'))
        await assert.rejects(state.resealPluginValue('resealtest', 'share', new Uint8Array(3), '7777777777777777'), code('STATE_BAD_RECORD'))
      })
    })

    describe('plugin storage', () => {
      it('stores strings and bytes, replaces and deletes', async () => {
        const s = state.pluginStore('milagro')
        assert.equal(s.plugin, 'milagro')
        assert.equal(await s.get('k'), undefined)
        await s.put('k', 'hello')
        assert.equal(await s.get('k'), 'hello')
        await s.put('k', Uint8Array.of(1, 2, 3))
        assert.deepEqual(await s.get('k'), Uint8Array.of(1, 2, 3))
        await s.put('empty-bytes', new Uint8Array(0))
        assert.deepEqual(await s.get('empty-bytes'), new Uint8Array(0))
        await s.put('empty-string', '')
        assert.equal(await s.get('empty-string'), '')
        assert.equal(await s.delete('k'), true)
        assert.equal(await s.delete('k'), false)
        assert.equal(await s.get('k'), undefined)
      })

      it('isolates plugins from each other', async () => {
        const a = state.pluginStore('alpha')
        const b = state.pluginStore('beta')
        await a.put('shared', 'from a')
        assert.equal(await b.get('shared'), undefined)
        await b.put('shared', 'from b')
        assert.equal(await a.get('shared'), 'from a')
        assert.equal(await b.delete('shared'), true)
        assert.equal(await a.get('shared'), 'from a')
        // Names that could collide under naive prefixing stay apart.
        await state.pluginStore('a').put('b/c', '1')
        assert.equal(await state.pluginStore('a-b').get('c'), undefined)
        assert.equal(await state.pluginStore('a').get('b/c'), '1')
      })

      it('refuses bad plugin names, keys and values', async () => {
        for (const n of ['', 'Upper', '../x', 'a b', 'x'.repeat(65)]) {
          assert.throws(() => state.pluginStore(n), code('STATE_BAD_RECORD'))
        }
        const s = state.pluginStore('limits')
        await assert.rejects(s.put('', 'v'), code('STATE_BAD_RECORD'))
        await assert.rejects(s.put('x'.repeat(513), 'v'), code('STATE_BAD_RECORD'))
        await assert.rejects(s.put('big', new Uint8Array(1024 * 1024 + 1)), code('STATE_BAD_RECORD'))
        await assert.rejects(s.put('n', 42 as never), code('STATE_BAD_RECORD'))
      })
    })

    describe('audit trail', () => {
      it('appends entries with increasing ids and times, and lists them oldest first', async () => {
        const a = await state.appendAudit({ op: 'release.refused', reference: 'r1', actor: cid(), detail: 'not entitled' })
        const b = await state.appendAudit({ op: 'order.refused' })
        assert.ok(b.id > a.id)
        assert.ok(b.at >= a.at)
        assert.equal(b.reference, null)
        const all = await allAudit(state)
        assert.deepEqual(all.map(e => e.id), [...all.map(e => e.id)].sort((x, y) => x - y))
        assert.deepEqual(all.find(e => e.id === a.id), a)
        const two = await state.listAudit({ page: 1, perPage: 2 })
        assert.deepEqual(two, all.slice(0, 2))
      })

      it('lists the entries of one operation, paged, oldest first', async () => {
        const marker = ref()
        const mine = []
        for (let i = 0; i < 3; i++) mine.push(await state.appendAudit({ op: 'seed.resealed', reference: `${marker}-${i}` }))
        await state.appendAudit({ op: 'order.refused', reference: marker })
        const resealed = (await allAudit(state)).filter(e => e.op === 'seed.resealed')
        const listed = []
        for (let page = 1; ; page++) {
          const items = await state.listAudit({ page, perPage: 2, op: 'seed.resealed' })
          listed.push(...items)
          if (items.length < 2) break
        }
        assert.deepEqual(listed, resealed)
        assert.deepEqual(listed.slice(-3), mine)
        assert.equal(await state.countAudit({ op: 'seed.resealed' }), resealed.length, 'the count of one operation')
        assert.equal(await state.countAudit(), (await allAudit(state)).length, 'the count of all')
        assert.equal(await state.countAudit({ op: 'custody.rotated' }), (await allAudit(state)).filter(e => e.op === 'custody.rotated').length)
        assert.ok((await state.listAudit({ page: 1, perPage: 100, op: 'order.refused' })).every(e => e.op === 'order.refused'))
        await assert.rejects(state.listAudit({ page: 1, perPage: 10, op: 'seed.deleted' as never }), code('STATE_BAD_RECORD'))
        await assert.rejects(state.countAudit({ op: 'seed.deleted' as never }), code('STATE_BAD_RECORD'))
      })

      it('refuses unknown operations and long details', async () => {
        await assert.rejects(state.appendAudit({ op: 'seed.deleted' as never }), code('STATE_BAD_RECORD'))
        await assert.rejects(state.appendAudit({ op: 'order.refused', detail: 'x'.repeat(1001) }), code('STATE_BAD_RECORD'))
      })

      it('offers no way to change or remove an entry', () => {
        const methods = new Set<string>()
        for (let p: object | null = state; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
          for (const k of Object.getOwnPropertyNames(p)) methods.add(k)
        }
        const auditMethods = [...methods].filter(m => /audit/i.test(m))
        assert.deepEqual(auditMethods.sort(), ['appendAudit', 'countAudit', 'listAudit'])
      })
    })

    describe('lifecycle', () => {
      it('an aborted signal stops a call before it writes', async () => {
        const o = principalOrder()
        await assert.rejects(state.createOrder(o, { signal: AbortSignal.abort() }), code('ABORTED'))
        assert.equal(await state.getOrder('principal', o.reference), undefined)
      })

      it('keeps everything across close and reopen (twice: migrations are idempotent)', async () => {
        const id = cid()
        const sealed = fakeSealed()
        await state.insertIdentity({ cid: id, name: 'persist', createdAt: 42, sealedRootSeed: sealed })
        const { order } = await state.createFiduciaryOrder(fiduciaryOrder())
        await state.pluginStore('persist').put('k', Uint8Array.of(9))
        const counts = [await state.countIdentities(), await state.countOrders('fiduciary'), (await allAudit(state)).length]
        await state.close()
        for (let i = 0; i < 2; i++) {
          state = await fixture.open()
          assert.deepEqual((await state.getIdentity(id))?.sealedRootSeed, sealed)
          assert.deepEqual(await state.getOrder('fiduciary', order.reference), order)
          assert.deepEqual(await state.pluginStore('persist').get('k'), Uint8Array.of(9))
          assert.deepEqual([await state.countIdentities(), await state.countOrders('fiduciary'), (await allAudit(state)).length], counts)
          if (i === 0) await state.close()
        }
      })

      it('refuses calls after close; close twice is fine', async () => {
        const s = await fixture.open()
        await s.close()
        await s.close()
        await assert.rejects(s.getIdentity(cid()), code('STATE_UNAVAILABLE'))
        await assert.rejects(s.createOrder(principalOrder()), code('STATE_UNAVAILABLE'))
        await assert.rejects(s.pluginStore('x').get('k'), code('STATE_UNAVAILABLE'))
      })
    })
  })
}

async function allAudit (state: StateRepository): Promise<Awaited<ReturnType<StateRepository['listAudit']>>> {
  const out: Awaited<ReturnType<StateRepository['listAudit']>> = []
  for (let page = 1; ; page++) {
    const items = await state.listAudit({ page, perPage: 100 })
    out.push(...items)
    if (items.length < 100) return out
  }
}
