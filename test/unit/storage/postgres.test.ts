/**
 * The PostgreSQL state repository: the conformance suite against a real PostgreSQL 15 that this
 * file starts (test/helpers/postgres.ts: unix socket only, password authentication), then what
 * is particular to PostgreSQL — the database URL, durability settings, migrations (once, even
 * for replicas starting together; a newer schema refused), the invariants the schema enforces
 * by itself, and the rules that must hold between several processes sharing one database.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { MIGRATIONS, openPostgresState, parseDatabaseUrl } from '../../../src/adapters/storage/postgres/index.ts'
import type { StateRepository } from '../../../src/ports/state.ts'
import { fakeSealed, stateConformance } from '../../conformance/state.ts'
import { logStoreConformance } from '../../conformance/log-store.ts'
import { leafHash, rootOfLeafHashes } from '../../../src/core/log/merkle.ts'
import { startPostgres } from '../../helpers/postgres.ts'
import type { TestPostgres } from '../../helpers/postgres.ts'

function code (c: ErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(isDtaError(err, c), `expected ${c}, got ${String(err)}`)
    return true
  }
}

let server: TestPostgres | undefined
async function pg (): Promise<TestPostgres> {
  server ??= await startPostgres()
  return server
}
after(async () => { await server?.stop() })

stateConformance('postgres', async () => {
  const db = await (await pg()).createDatabase()
  return {
    open: async () => await openPostgresState({ url: db.url, password: db.password }),
    cleanup: async () => {}
  }
})

logStoreConformance('postgres', async () => {
  const server = await pg()
  const db = await server.createDatabase()
  return {
    async open () {
      const state = await openPostgresState({ url: db.url, password: db.password })
      return { storage: state.transparency!, close: async () => await state.close() }
    },
    cleanup: async () => {},
    async tamperNode (level, index, hash) {
      await server.psql(`ALTER TABLE log_nodes DISABLE TRIGGER log_nodes_no_change; UPDATE log_nodes SET hash = '\\x${Buffer.from(hash).toString('hex')}' WHERE level = ${level} AND idx = ${index}`, db.database)
    },
  }
})

describe('postgres state specifics', () => {
  let server: TestPostgres
  before(async () => { server = await pg() })

  it('sorts the order list in byte order in a database whose collation is a language\'s (ICU en-US), as SQLite does', async () => {
    const db = await server.createDatabase({ icuLocale: 'en-US' })
    assert.equal(await server.psql("SELECT 'Zeta' < 'alpha'", db.database), 'f', 'the database itself orders by language')
    const state = await openPostgresState({ url: db.url, password: db.password })
    try {
      const qm = (first: string, rest: string): string => `Qm${first}${rest.repeat(43)}`
      const rows = [['alpha', qm('b', 'B')], ['Zeta', qm('a', 'a')], ['beta', qm('B', 'b')], ['Alpha', null]] as const
      for (const [i, [plugin, beneficiaryCid]] of rows.entries()) {
        await state.createOrder({ role: 'principal', reference: String(i).repeat(32), plugin, principalCid: qm('P', 'p'), fiduciaryCid: qm('F', 'f'), beneficiaryCid, part1Cid: qm(String(i + 1), 'x') })
      }
      const list = async (key: 'plugin' | 'beneficiary', direction: 'asc' | 'desc'): Promise<string[]> =>
        (await state.listOrders('principal', { page: 1, perPage: 10, orderBy: { key, direction } })).map(o => key === 'plugin' ? o.plugin : String(o.beneficiaryCid))
      assert.deepEqual(await list('plugin', 'asc'), ['Alpha', 'Zeta', 'alpha', 'beta'])
      assert.deepEqual(await list('beneficiary', 'asc'), ['null', qm('B', 'b'), qm('a', 'a'), qm('b', 'B')])
      assert.deepEqual(await list('beneficiary', 'desc'), [qm('b', 'B'), qm('a', 'a'), qm('B', 'b'), 'null'])
      assert.equal(await state.countOrders('principal', { cid: qm('B', 'b') }), 1)
    } finally {
      await state.close()
    }
  })

  it('parses both URL forms and refuses a password, other parameters, a missing role or database', () => {
    assert.deepEqual(parseDatabaseUrl('postgres://dta@db.example:6543/custody'), { host: 'db.example', port: 6543, database: 'custody', user: 'dta' })
    assert.deepEqual(parseDatabaseUrl('postgresql://dta@/custody?host=/run/postgresql'),
      { host: '/run/postgresql', port: 5432, database: 'custody', user: 'dta', socket: '/run/postgresql/.s.PGSQL.5432' })
    for (const bad of ['postgres://dta:secret@db/custody', 'mysql://dta@db/custody', 'postgres://dta@db/', 'postgres://db/custody',
      'postgres://dta@db/custody?sslmode=disable', 'postgres://dta@/custody?host=relative', 'postgres://dta@db/custody?host=/tmp', 'not a url']) {
      assert.throws(() => parseDatabaseUrl(bad), (err: unknown) => isDtaError(err, 'STATE_BAD_CONFIG') && !String(err).includes('secret'), bad)
    }
  })

  it('a wrong password or a stopped server is STATE_UNAVAILABLE naming the database, never the password', async () => {
    const db = await server.createDatabase()
    await assert.rejects(openPostgresState({ url: db.url, password: 'wrong-password' }), (err: unknown) => {
      assert.ok(isDtaError(err, 'STATE_UNAVAILABLE'))
      assert.match(String((err as Error).message), new RegExp(db.database))
      assert.doesNotMatch(String((err as Error).message), /wrong-password/)
      return true
    })
    const socketless = db.url.replace(server.socketDir, '/nonexistent')
    await assert.rejects(openPostgresState({ url: socketless, password: db.password }), code('STATE_UNAVAILABLE'))
  })

  it('migrates once when replicas open a new database together, and refuses a newer schema', async () => {
    const db = await server.createDatabase()
    const states = await Promise.all([1, 2, 3, 4].map(async () => await openPostgresState({ url: db.url, password: db.password })))
    for (const s of states) await s.close()
    assert.equal(await server.psql('SELECT count(*) FROM schema_migrations', db.database), String(MIGRATIONS.length))
    await server.psql(`INSERT INTO schema_migrations VALUES (999, 'future', 0)`, db.database)
    await assert.rejects(openPostgresState({ url: db.url, password: db.password }), code('STATE_SCHEMA_TOO_NEW'))
  })

  it('the schema keeps the audit trail append-only and a release recipient write-once, whatever the SQL', async () => {
    const db = await server.createDatabase()
    const state = await openPostgresState({ url: db.url, password: db.password })
    await state.appendAudit({ op: 'order.refused', detail: 'x' })
    const order = await state.createFiduciaryOrder({ reference: 'r1', plugin: 'milagro', principalCid: 'P', fiduciaryCid: 'F', part1Cid: 'c1', sealedSeed: fakeSealed() })
    await state.setOrderPart2('fiduciary', 'r1', { part2Cid: 'c2', commitment: 'k' })
    await state.claimRelease('r1', { part3Cid: 'c3', releasedTo: 'alice' })
    assert.equal(order.created, true)
    await state.close()
    for (const attack of ['UPDATE audit SET detail = NULL', 'DELETE FROM audit', 'TRUNCATE audit', "UPDATE orders SET released_to = 'mallory'", 'DELETE FROM sealed_seeds']) {
      await assert.rejects(server.psql(attack, db.database), /append-only|one recipient|foreign key/, attack)
    }
    await assert.rejects(server.psql("INSERT INTO orders (role, reference, plugin, principal_cid, fiduciary_cid, created_at, updated_at) VALUES ('fiduciary', 'r2', 'milagro', 'P', 'F', 0, 0)", db.database), /check constraint/)
    assert.equal(await server.psql("SELECT released_to FROM orders WHERE reference = 'r1'", db.database), 'alice')
  })

  it('the schema keeps the transparency log append-only, whatever the SQL', async () => {
    const db = await server.createDatabase()
    const state = await openPostgresState({ url: db.url, password: db.password })
    const enc = new TextEncoder()
    await state.transparency!.log.append([1, 2, 3].map(n => ({ key: `k${n}`, data: enc.encode(`leaf ${n}`) })), h => `o\n${h.size}\n`)
    await state.close()
    for (const attack of ["UPDATE log_leaves SET data = '\\x00'", 'DELETE FROM log_leaves', 'TRUNCATE log_nodes', "INSERT INTO log_leaves (idx, key, data) VALUES (9, 'k9', '\\x01')",
      'UPDATE log_nodes SET hash = hash', 'UPDATE log_checkpoint SET size = 2', 'DELETE FROM log_checkpoint']) {
      await assert.rejects(server.psql(attack, db.database), /append-only|in index order|never goes back|covers exactly/, attack)
    }
  })

  it('refuses a server whose commits are not durable (fsync off)', async () => {
    const db = await server.createDatabase()
    await server.reload('fsync', 'off')
    try {
      await assert.rejects(openPostgresState({ url: db.url, password: db.password }), (err: unknown) => isDtaError(err, 'STATE_UNAVAILABLE') && /fsync = off/.test(String(err)))
    } finally {
      await server.reload('fsync', null)
    }
    const state = await openPostgresState({ url: db.url, password: db.password })
    await state.close()
  })
})

describe('postgres: several processes on one database', () => {
  let server: TestPostgres
  let states: StateRepository[]
  before(async () => {
    server = await pg()
    const db = await server.createDatabase()
    states = await Promise.all([1, 2, 3].map(async () => await openPostgresState({ url: db.url, password: db.password, poolSize: 4 })))
  })
  after(async () => { for (const s of states) await s.close() })

  it('the same part 1 at three replicas at once: one row, one seed, the same answer everywhere', async () => {
    for (let round = 0; round < 20; round++) {
      const reference = `twin-${round}`
      const results = await Promise.all(states.map(async s => await s.createFiduciaryOrder({ reference, plugin: 'milagro', principalCid: 'P', fiduciaryCid: 'F', part1Cid: 'c1', sealedSeed: fakeSealed() })))
      assert.equal(results.filter(r => r.created).length, 1)
      const seeds = new Set(await Promise.all(states.map(async s => Buffer.from((await s.getSeed(`order/fiduciary/${reference}`))!.sealed).toString('hex'))))
      assert.equal(seeds.size, 1)
    }
  })

  it('three replicas appending to the node\'s log at once keep one log: contiguous indexes, one tree', async () => {
    const enc = new TextEncoder()
    const sign = (h: { size: number, root: Uint8Array }): string => `o\n${h.size}\n${Buffer.from(h.root).toString('base64')}\n`
    const results = await Promise.all(states.flatMap((s, r) => Array.from({ length: 10 }, async (_, i) =>
      await s.transparency!.log.append([{ key: `r${r}-${i}`, data: enc.encode(`leaf ${r} ${i}`) }, { key: 'shared', data: enc.encode('twin') }], sign))))
    assert.equal(new Set(results.map(r => r.indexes[1])).size, 1, 'one leaf for a key appended by all')
    const indexes = [...results.map(r => r.indexes[0]!), results[0]!.indexes[1]!].sort((a, b) => a - b)
    assert.deepEqual(indexes, Array.from({ length: 31 }, (_, i) => i), 'every index once, none skipped')
    const cps = await Promise.all(states.map(async s => await s.transparency!.log.checkpoint()))
    assert.deepEqual(cps.map(c => c?.size), [31, 31, 31])
    assert.equal(new Set(cps.map(c => c?.note)).size, 1)
    const all = [...(await states[0]!.transparency!.log.leaves(0, 31))]
    assert.deepEqual(cps[0]!.root, rootOfLeafHashes(all.map(leafHash)))
  })

  it('a reused reference with another part 1, at another replica at the same time, is refused', async () => {
    for (let round = 0; round < 20; round++) {
      const reference = `reuse-${round}`
      const results = await Promise.allSettled(states.map(async (s, i) => await s.createFiduciaryOrder({ reference, plugin: 'milagro', principalCid: 'P', fiduciaryCid: 'F', part1Cid: `c1-${i}`, sealedSeed: fakeSealed() })))
      assert.equal(results.filter(r => r.status === 'fulfilled').length, 1)
      for (const r of results) if (r.status === 'rejected') assert.ok(isDtaError(r.reason, 'STATE_ORDER_CONFLICT'), String(r.reason))
    }
  })

  it('concurrent part 3s naming different recipients at different replicas: exactly one is released, one part 4', async () => {
    for (let round = 0; round < 20; round++) {
      const reference = `race-${round}`
      await states[0].createFiduciaryOrder({ reference, plugin: 'milagro', principalCid: 'P', fiduciaryCid: 'F', part1Cid: 'c1', sealedSeed: fakeSealed() })
      await states[0].setOrderPart2('fiduciary', reference, { part2Cid: 'c2', commitment: 'k' })
      const claims = await Promise.allSettled(states.map(async (s, i) => {
        await s.claimRelease(reference, { part3Cid: `c3-${i}`, releasedTo: `recipient-${i}` })
        return await s.setOrderPart4('fiduciary', reference, { part4Cid: `c4-${i}`, part3Cid: `c3-${i}`, releasedTo: `recipient-${i}` })
      }))
      const won = claims.filter(c => c.status === 'fulfilled')
      assert.equal(won.length, 1)
      for (const c of claims) if (c.status === 'rejected') assert.ok(isDtaError(c.reason, 'ORDER_ALREADY_REDEEMED_ELSEWHERE'), String(c.reason))
      // twins of the winning part 3 at the other replicas: the first part 4 stays, one release recorded
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<StateRepository['setOrderPart4']>>>).value
      const twins = await Promise.all(states.map(async (s, i) => await s.setOrderPart4('fiduciary', reference, { part4Cid: `twin-${i}`, part3Cid: winner.part3Cid!, releasedTo: winner.releasedTo! })))
      for (const t of twins) assert.equal(t.part4Cid, winner.part4Cid)
    }
  })
})
