/**
 * The order list of the state conformance suite (test/conformance/state.ts calls it inside its own
 * describe, on the same store): every sort column of the port (`OrderPageRequest.orderBy`) in both
 * directions, against an order computed here from the rows themselves — so SQLite and PostgreSQL,
 * each held to the same expectation, answer the same order — ties broken by reference, pages that
 * partition the list; the filter by part or beneficiary CID and its count; and the refusals.
 *
 * The CIDs are chosen so that byte order and a locale's order disagree (`QmZ…` before `Qma…`,
 * `QmB…` before `Qmb…`): a backend sorting in its locale fails here.
 * @module
 */
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isDtaError } from '../../src/errors.ts'
import type { ErrorCode } from '../../src/errors.ts'
import { ORDER_SORT_KEYS } from '../../src/ports/state.ts'
import type { NewOrder, OrderRecord, OrderSortKey, StateRepository } from '../../src/ports/state.ts'

export interface OrderListHelpers {
  cid (): string
  principalOrder (over?: Partial<NewOrder>): NewOrder
  fakeSealed (): Uint8Array
}

function code (c: ErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(isDtaError(err, c), `expected ${c}, got ${String(err)}`)
    return true
  }
}

/** Byte order of ASCII text (every CID, reference and plugin name here is ASCII). */
const bytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const STATE_NAMES = ['ordered', 'redeemed', 'released'] as const

/** Every principal order, a page of `perPage` at a time. */
async function all (state: StateRepository, perPage: number, orderBy?: { key: OrderSortKey, direction: 'asc' | 'desc' }, cid?: string): Promise<OrderRecord[]> {
  const out: OrderRecord[] = []
  for (let page = 1; ; page++) {
    const items = await state.listOrders('principal', { page, perPage, ...(orderBy === undefined ? {} : { orderBy }), ...(cid === undefined ? {} : { cid }) })
    out.push(...items)
    if (items.length < perPage) return out
  }
}

export function orderListConformance (getState: () => StateRepository, h: OrderListHelpers): void {
  describe('order list: sort columns and search by CID', () => {
    let state: StateRepository
    const qm = (c: string, rest: string): string => `Qm${c}${rest.repeat(43)}`
    const beneficiaries = { upper: qm('Z', 'z'), lower: qm('a', 'a'), mixedB: qm('B', 'b'), mixedb: qm('b', 'B') }
    let held: string
    let foreign: string
    const mine: OrderRecord[] = []

    before(async () => {
      state = getState()
      held = h.cid()
      foreign = h.cid()
      await state.insertIdentity({ cid: held, name: 'held beneficiary', createdAt: 10, sealedRootSeed: h.fakeSealed() })
      await state.insertIdentity({ cid: foreign, name: 'foreign beneficiary', createdAt: 11, sealedRootSeed: null })
      await state.insertIdentity({ cid: beneficiaries.lower, name: 'held, lower case', createdAt: 12, sealedRootSeed: h.fakeSealed() })
      const plan: Array<{ plugin: string, beneficiary: string | null, principal?: string, redeemed: boolean, t: number }> = [
        { plugin: 'zeta', beneficiary: null, redeemed: false, t: 5 },
        { plugin: 'Zeta', beneficiary: beneficiaries.upper, redeemed: true, t: 5 }, // released: nobody holds it
        { plugin: 'alpha', beneficiary: beneficiaries.lower, redeemed: true, t: 3 }, // redeemed: held
        { plugin: 'alpha', beneficiary: beneficiaries.mixedB, redeemed: false, t: 9 },
        { plugin: 'Alpha', beneficiary: beneficiaries.mixedb, redeemed: true, t: 1 }, // released
        { plugin: 'beta', beneficiary: held, redeemed: true, t: 7 }, // redeemed
        { plugin: 'beta', beneficiary: foreign, redeemed: true, t: 7 }, // released: known, no seed
        { plugin: 'beta', beneficiary: null, principal: held, redeemed: true, t: 2 }, // redeemed: to the principal, held
        { plugin: 'alpha', beneficiary: held, redeemed: false, t: 4 },
        { plugin: 'gamma', beneficiary: null, redeemed: true, t: 6 }, // released: to a principal not held
      ]
      for (const p of plan) {
        const o = await state.createOrder(h.principalOrder({
          plugin: p.plugin, beneficiaryCid: p.beneficiary, createdAt: p.t, part2Cid: h.cid(), commitment: 'c',
          ...(p.principal === undefined ? {} : { principalCid: p.principal }),
        }))
        if (p.redeemed) {
          await state.setOrderPart3('principal', o.reference, { part3Cid: h.cid() })
          mine.push(await state.setOrderPart4('principal', o.reference, { part4Cid: h.cid() }))
        } else {
          mine.push(o)
        }
      }
    })

    /** The order the port promises for `key`, computed from the rows and the identities. */
    async function expected (key: OrderSortKey, rows: OrderRecord[]): Promise<string[]> {
      const rank = new Map<string, number>()
      for (const r of rows) {
        if (r.part4Cid === null) { rank.set(r.reference, 0); continue }
        const entitled = await state.getIdentity(r.beneficiaryCid ?? r.principalCid)
        rank.set(r.reference, entitled?.sealedRootSeed != null ? 1 : 2)
      }
      const compare = (a: OrderRecord, b: OrderRecord): number => {
        const first = key === 'plugin' ? bytes(a.plugin, b.plugin)
          : key === 'beneficiary' ? (a.beneficiaryCid === null ? (b.beneficiaryCid === null ? 0 : -1) : b.beneficiaryCid === null ? 1 : bytes(a.beneficiaryCid, b.beneficiaryCid))
            : key === 'state' ? rank.get(a.reference)! - rank.get(b.reference)!
              : 0
        return first !== 0 ? first : bytes(a.reference, b.reference)
      }
      return [...rows].sort(compare).map(r => r.reference)
    }

    it('sorts by every column, both directions, ties by reference; desc is the exact reverse; pages partition it', async () => {
      const rows = await all(state, 100)
      assert.equal(rows.length, await state.countOrders('principal'))
      for (const key of ORDER_SORT_KEYS) {
        const asc = (await all(state, 100, { key, direction: 'asc' })).map(r => r.reference)
        const desc = (await all(state, 100, { key, direction: 'desc' })).map(r => r.reference)
        // created: as sortBy (time, ties in insertion order), which `rows` is listed by
        assert.deepEqual(asc, key === 'created' ? rows.map(r => r.reference) : await expected(key, rows), `${key} asc`)
        assert.deepEqual(desc, [...asc].reverse(), `${key} desc`)
        for (const perPage of [1, 3, 7]) {
          assert.deepEqual((await all(state, perPage, { key, direction: 'desc' })).map(r => r.reference), desc, `${key} desc, ${perPage} a page`)
        }
      }
    })

    it('sorts byte-wise, not by a locale: QmZ… before Qma…, QmB… before Qmb…, Zeta before alpha', async () => {
      const refs = new Set(mine.map(r => r.reference))
      const ofMine = (list: OrderRecord[]): OrderRecord[] => list.filter(r => refs.has(r.reference))
      const byBeneficiary = ofMine(await all(state, 100, { key: 'beneficiary', direction: 'asc' })).map(r => r.beneficiaryCid)
      const order = [null, null, null, beneficiaries.mixedB, beneficiaries.upper, beneficiaries.lower, beneficiaries.mixedb]
      assert.deepEqual(byBeneficiary.filter(b => b === null || Object.values(beneficiaries).includes(b)), order)
      const plugins = ofMine(await all(state, 100, { key: 'plugin', direction: 'asc' })).map(r => r.plugin)
      assert.deepEqual([...new Set(plugins)], ['Alpha', 'Zeta', 'alpha', 'beta', 'gamma', 'zeta'])
      const states = ofMine(await all(state, 100, { key: 'state', direction: 'asc' })).map(r => r.reference)
      const stateOf = (ref: string): string => {
        const r = mine.find(m => m.reference === ref)!
        if (r.part4Cid === null) return 'ordered'
        const to = r.beneficiaryCid ?? r.principalCid
        return to === held || to === beneficiaries.lower ? 'redeemed' : 'released'
      }
      const seen = states.map(stateOf)
      assert.deepEqual(seen, [...seen].sort((a, b) => STATE_NAMES.indexOf(a as never) - STATE_NAMES.indexOf(b as never)))
      assert.deepEqual(new Set(seen), new Set(STATE_NAMES))
    })

    it('filters by a beneficiary CID or a part CID, counted, paged and sorted; per role; no other CID of the row', async () => {
      const toHeld = mine.filter(r => r.beneficiaryCid === held)
      assert.equal(toHeld.length, 2)
      assert.equal(await state.countOrders('principal', { cid: held }), 2)
      const found = await all(state, 1, { key: 'reference', direction: 'asc' }, held)
      assert.deepEqual(found.map(r => r.reference), toHeld.map(r => r.reference).sort(bytes))
      assert.deepEqual((await state.listOrders('principal', { page: 1, perPage: 10, cid: held, orderBy: { key: 'created', direction: 'desc' } })).map(r => r.createdAt), [7, 4])
      const redeemed = mine.find(r => r.part4Cid !== null)!
      for (const part of [redeemed.part1Cid!, redeemed.part2Cid!, redeemed.part3Cid!, redeemed.part4Cid!]) {
        assert.deepEqual((await state.listOrders('principal', { page: 1, perPage: 10, cid: part })).map(r => r.reference), [redeemed.reference], part)
        assert.equal(await state.countOrders('principal', { cid: part }), 1)
      }
      assert.deepEqual(await state.listOrders('fiduciary', { page: 1, perPage: 10, cid: held }), [], 'per role')
      assert.equal(await state.countOrders('fiduciary', { cid: held }), 0)
      assert.deepEqual(await state.listOrders('principal', { page: 1, perPage: 10, cid: redeemed.principalCid }), [], 'the principal is not searched')
      assert.deepEqual(await state.listOrders('principal', { page: 1, perPage: 10, cid: h.cid() }), [])
      await assert.rejects(state.listOrders('principal', { page: 1, perPage: 10, cid: '' }), code('STATE_BAD_RECORD'))
      await assert.rejects(state.countOrders('principal', { cid: 'x'.repeat(513) }), code('STATE_BAD_RECORD'))
    })

    it('refuses an unknown sort column or direction, with the allowed ones', async () => {
      const bad = [{ key: 'principal', direction: 'asc' }, { key: 'created_at', direction: 'asc' }, { key: 'reference; DROP TABLE orders', direction: 'asc' },
        { key: 'reference', direction: 'up' }, { key: 'reference', direction: 'DESC' }]
      for (const orderBy of bad) {
        await assert.rejects(state.listOrders('principal', { page: 1, perPage: 10, orderBy: orderBy as never }), (err: unknown) => {
          assert.ok(isDtaError(err, 'STATE_BAD_PAGE'), String(err))
          assert.match((err as Error).message, /reference, created, plugin, beneficiary, state|asc or desc/)
          return true
        }, JSON.stringify(orderBy))
      }
      await assert.rejects(state.listOrders('principal', { page: 0, perPage: 10, orderBy: { key: 'plugin', direction: 'asc' } }), code('STATE_BAD_PAGE'))
      assert.ok((await state.countOrders('principal')) > 0, 'still there')
    })
  })
}
