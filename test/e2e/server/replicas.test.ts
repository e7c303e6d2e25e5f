/**
 * Issue 10, part 2: several replicas of one fiduciary — separate processes, each with its own
 * home and IPFS node, sharing one identity, one custody key (the same key file) and one real
 * PostgreSQL database — and a principal that lists them all and fails over between them.
 *
 * Every rule still holds across replicas: a replica joins only with the node's custody key; the
 * same part 1 gives the same part 2 from any replica; a seed committed through one replica is
 * redeemed through another after the first is killed; once released to one recipient, an order
 * is refused for another at a third replica; the database records one release.
 * @module
 */
import assert from 'node:assert/strict'
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { startPostgres } from '../../helpers/postgres.ts'
import { createCluster, show } from './harness.ts'
import type { ServerNode } from './harness.ts'
import { checkRedeemed, placeOrder, redeem } from './flows.ts'

describe('replicas of one fiduciary on one PostgreSQL', () => {
  test('join, same answers from any replica, failover, one recipient only', { timeout: 240_000 }, async (t) => {
    const pg = await startPostgres()
    t.after(async () => { await pg.stop() })
    const db = await pg.createDatabase()
    const dbEnv = { MILAGRO_NODE_DATASTORE: 'postgres', MILAGRO_NODE_DATABASEURL: db.url, MILAGRO_NODE_DATABASEPASSWORD: db.password }
    const cluster = await createCluster(t, 'milagro-replicas-')

    const first = await cluster.init('replica1', { nodeType: 'fiduciary', service: 'milagro', env: dbEnv })
    await first.start({ stablePorts: true })
    const withKey = async (home: string): Promise<void> => {
      await mkdir(home, { recursive: true, mode: 0o700 })
      await copyFile(join(first.home, 'custody.key'), join(home, 'custody.key'))
    }
    const joinReplica = async (name: string, prepare?: (home: string) => Promise<void>): Promise<ServerNode> =>
      await cluster.init(name, { nodeType: 'fiduciary', service: 'milagro', env: dbEnv, args: ['--join', db.url, '--peer', first.multiaddrs[0]!], ...(prepare === undefined ? {} : { prepare }) })

    // A home without the node's custody key cannot join (and makes no key of its own).
    await assert.rejects(joinReplica('keyless'), (err: Error) => /HOME_JOIN_FAILED/.test(err.message) && /custody\.key/.test(err.message))

    const second = await joinReplica('replica2', withKey)
    const third = await joinReplica('replica3', withKey)
    assert.equal(second.cid, first.cid, 'a replica acts as the same node identity')
    assert.equal(third.cid, first.cid)
    await second.start({ peers: first.multiaddrs, stablePorts: true })
    await third.start({ peers: [...first.multiaddrs, ...second.multiaddrs], stablePorts: true })

    const principal = await cluster.init('principal', {
      nodeType: 'principal', service: 'milagro', masterFiduciary: { cid: first.cid, url: first.url },
      env: { MILAGRO_NODE_MASTERFIDUCIARYREPLICAS: `${second.url},${third.url}` },
    })
    await principal.start({ peers: [...first.multiaddrs, ...second.multiaddrs, ...third.multiaddrs] })
    await principal.waitForPeers(3)

    const placed = await placeOrder(principal, 'milagro')
    // The same part 1, given to the other replicas, gives the same part 2.
    for (const replica of [second, third]) {
      const again = await replica.post<{ orderPart2CID: string }>('/v1/fulfill/order', { orderPart1CID: placed.orderPart1CID, documentCID: principal.cid })
      assert.equal(again.status, 200, show(again.body))
      assert.equal(again.body.orderPart2CID, placed.orderPart2CID, 'the same part 2 from any replica')
    }

    // The replica that committed the seed is gone: the principal redeems through another.
    await first.kill()
    const redeemed = await redeem(principal, placed)
    checkRedeemed(placed, redeemed)

    // Released to the principal; a redemption for another recipient, at the third replica, is refused.
    await second.kill()
    const other = (await principal.ok<{ idDocumentCID: string }>('/v1/identity', { name: 'someone-else' })).idDocumentCID
    const refused = await principal.post('/v1/order/secret', { orderReference: placed.reference, beneficiaryIDDocumentCID: other })
    assert.equal(refused.status, 409, show(refused.body))
    assert.equal(refused.body.code, 'ORDER_ALREADY_REDEEMED_ELSEWHERE')
    // The principal itself, the order's one recipient, still redeems at the third replica.
    checkRedeemed(placed, await redeem(principal, placed))

    const released = await pg.psql(`SELECT count(*) FROM audit WHERE op = 'seed.released' AND reference = 'order/fiduciary/${placed.reference}'`, db.database)
    assert.equal(released, '2', 'two releases, both to the principal, recorded once each whichever replica answered')
    assert.equal(await pg.psql(`SELECT released_to FROM orders WHERE role = 'fiduciary' AND reference = '${placed.reference}'`, db.database), principal.cid)
  })
})
