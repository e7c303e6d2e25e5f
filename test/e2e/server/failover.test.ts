/**
 * Issue 10, part 4: failover under fire. Three replicas of one fiduciary on one PostgreSQL; two
 * principals, each listing all three, stream orders and redemptions at concurrency 8 while a
 * random replica is SIGKILLed and restarted, for a bounded number of rounds. Requests may fail
 * while a replica is down (each principal tries the others first); what must never happen:
 * - a commitment a principal received that does not redeem to its private key;
 * - an order released twice to different recipients, or with two releases recorded for one part 3;
 * - a half-written row: a fiduciary order without its seed, a principal order whose commitment
 *   the fiduciary does not hold.
 * The counts are printed (`# failover: …`) and asserted.
 * @module
 */
import assert from 'node:assert/strict'
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { startPostgres } from '../../helpers/postgres.ts'
import { createCluster, readState } from './harness.ts'
import type { ServerNode } from './harness.ts'
import { checkRedeemed, placeOrder, redeem } from './flows.ts'
import type { Placed } from './flows.ts'

const ROUNDS = 5
const CONCURRENCY = 8
const PAUSE_MS = 1500

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('failover under fire', () => {
  test(`${ROUNDS} SIGKILLs of random replicas while two principals order and redeem at concurrency ${CONCURRENCY}`, { timeout: 420_000 }, async (t) => {
    const pg = await startPostgres()
    t.after(async () => { await pg.stop() })
    const db = await pg.createDatabase()
    const env = {
      MILAGRO_NODE_DATASTORE: 'postgres', MILAGRO_NODE_DATABASEURL: db.url, MILAGRO_NODE_DATABASEPASSWORD: db.password,
      // a part 2 that only a killed replica holds is waited for this long before the next replica is tried
      MILAGRO_IPFS_FETCHTIMEOUTMS: '3000',
    }
    const cluster = await createCluster(t, 'milagro-failover-')
    const first = await cluster.init('replica1', { nodeType: 'fiduciary', service: 'milagro', env })
    await first.start({ stablePorts: true })
    const replicas: ServerNode[] = [first]
    for (const name of ['replica2', 'replica3']) {
      const replica = await cluster.init(name, {
        nodeType: 'fiduciary', service: 'milagro', env, args: ['--join', db.url, '--peer', first.multiaddrs[0]!],
        prepare: async home => {
          await mkdir(home, { recursive: true, mode: 0o700 })
          await copyFile(join(first.home, 'custody.key'), join(home, 'custody.key'))
        },
      })
      await replica.start({ peers: replicas.flatMap(r => r.multiaddrs), stablePorts: true })
      replicas.push(replica)
    }
    const principals: ServerNode[] = []
    for (const name of ['alice', 'bob']) {
      const principal = await cluster.init(name, {
        nodeType: 'principal', service: 'milagro', masterFiduciary: { cid: first.cid, url: first.url },
        env: { MILAGRO_NODE_MASTERFIDUCIARYREPLICAS: replicas.slice(1).map(r => r.url).join(','), MILAGRO_HTTP_REQUESTTIMEOUTMS: '20000' },
      })
      await principal.start({ peers: replicas.flatMap(r => r.multiaddrs) })
      await principal.waitForPeers(3)
      principals.push(principal)
    }

    const placed: Array<{ principal: ServerNode, order: Placed }> = []
    const unredeemed = new Set<Placed>()
    const counts = { orders: 0, orderFailures: 0, redemptions: 0, redemptionFailures: 0, kills: 0, wrongSecrets: 0 }
    let stopping = false
    const worker = async (principal: ServerNode): Promise<void> => {
      while (!stopping) {
        let order: Placed
        try {
          order = await placeOrder(principal, 'milagro')
        } catch {
          counts.orderFailures++
          await sleep(100)
          continue
        }
        counts.orders++
        placed.push({ principal, order })
        unredeemed.add(order)
        try {
          const redeemed = await redeem(principal, order)
          try { checkRedeemed(order, redeemed) } catch { counts.wrongSecrets++ }
          counts.redemptions++
          unredeemed.delete(order)
        } catch {
          counts.redemptionFailures++
        }
      }
    }
    const workers = principals.flatMap(p => Array.from({ length: CONCURRENCY }, async () => { await worker(p) }))

    // The chaos: a random replica SIGKILLed, left down a moment, restarted on its ports.
    for (let round = 0; round < ROUNDS; round++) {
      await sleep(PAUSE_MS)
      const victim = replicas[Math.floor(Math.random() * replicas.length)]!
      await victim.kill()
      counts.kills++
      await sleep(PAUSE_MS)
      await victim.start()
    }
    await sleep(PAUSE_MS)
    stopping = true
    await Promise.all(workers)

    // Every commitment handed out must redeem to its private key, now that all replicas are up.
    let late = 0
    for (const { principal, order } of placed) {
      if (!unredeemed.has(order)) continue
      checkRedeemed(order, await redeem(principal, order))
      late++
    }

    // The database: one recipient per order, one release recorded per part 4, no half-written row.
    const rows = (await pg.psql(`SELECT reference, coalesce(part2_cid, ''), coalesce(released_to, ''), seed_record_id IS NOT NULL FROM orders WHERE role = 'fiduciary'`, db.database))
      .split('\n').filter(l => l !== '').map(l => l.split('|'))
    const fiduciary = new Map(rows.map(([reference, part2, releasedTo, seeded]) => [reference!, { part2: part2!, releasedTo: releasedTo!, seeded: seeded === 't' }]))
    const releases = (await pg.psql(`SELECT reference, actor FROM audit WHERE op = 'seed.released'`, db.database))
      .split('\n').filter(l => l !== '').map(l => l.split('|'))
    const actors = new Map<string, Set<string>>()
    for (const [reference, actor] of releases) actors.set(reference!, (actors.get(reference!) ?? new Set()).add(actor!))
    const orphans = rows.filter(([, part2]) => part2 === '').length
    let twoRecipients = 0
    for (const [reference, who] of actors) if (who.size !== 1 || fiduciary.get(reference.replace('order/fiduciary/', ''))?.releasedTo !== [...who][0]) twoRecipients++
    let missing = 0
    for (const { order } of placed) {
      const row = fiduciary.get(order.reference)
      if (row === undefined || !row.seeded || row.part2 !== order.orderPart2CID) missing++
    }
    // The principals' own rows: each has its commitment, and the fiduciary holds that order.
    let principalHalfRows = 0
    for (const principal of principals) {
      const mine = readState(principal.home).orders.filter(o => o.role === 'principal')
      for (const o of mine) if (o.part2_cid === null || fiduciary.get(String(o.reference))?.part2 !== o.part2_cid) principalHalfRows++
    }

    t.diagnostic(`failover: ${counts.kills} kills; ${counts.orders} commitments (${counts.orderFailures} order calls failed), ${counts.redemptions} redeemed during the run (${counts.redemptionFailures} failed) + ${late} after; ` +
      `${fiduciary.size} fiduciary rows (${orphans} without part 2: seeds committed whose answer never arrived); ${counts.wrongSecrets} wrong secrets, ${missing} lost, ${twoRecipients} released to two, ${principalHalfRows} half-written principal rows`)
    assert.equal(counts.kills, ROUNDS)
    assert.ok(counts.orders > 0, 'orders went through')
    assert.equal(counts.wrongSecrets, 0, 'every released secret is the commitment\'s private key')
    assert.equal(missing, 0, 'every commitment handed out is held by the fiduciary with its seed')
    assert.equal(twoRecipients, 0, 'no order released to two recipients')
    assert.equal(principalHalfRows, 0, 'no half-written principal row')
  })
})
