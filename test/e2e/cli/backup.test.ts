/**
 * `milagro backup` and `milagro restore` on a real node: a multi node with orders in flight
 * (committed, not yet redeemed) is backed up while it runs; the backup holds neither the custody
 * key nor the IPFS peer key; restore refuses a non-empty home, makes a new one with the custody key
 * (checked against the node identity), and the restored node — a new process, new ports —
 * redeems every order to the committed key.
 * @module
 */
import assert from 'node:assert/strict'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { createCluster, ServerNode } from '../server/harness.ts'
import { checkRedeemed, placeOrder, redeem } from '../server/flows.ts'
import type { Placed } from '../server/flows.ts'
import { startPostgres } from '../../helpers/postgres.ts'
import { milagro } from './milagro.ts'

test('a running node backed up, restored into a new home, redeems every order in flight', { timeout: 180_000 }, async (t) => {
  const cluster = await createCluster(t, 'milagro-backup-')
  const node = await cluster.init('node', { nodeType: 'multi' })
  await node.start()
  const orders: Placed[] = []
  for (let i = 0; i < 4; i++) orders.push(await placeOrder(node, 'milagro'))
  checkRedeemed(orders[0]!, await redeem(node, orders[0]!)) // one already redeemed, three in flight

  const file = join(cluster.root, 'backups', 'node.tar.gz')
  const made = await milagro(['backup', file], { MILAGRO_HOME: node.home })
  assert.equal(made.code, 0, made.stderr)
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  const archive = gunzipSync(await readFile(file))
  for (const secret of ['custody.key', 'ipfs/peer.key']) {
    const bytes = await readFile(join(node.home, secret))
    assert.equal(archive.indexOf(bytes), -1, `${secret} is not in the backup`)
  }
  assert.ok(archive.includes(Buffer.from('state.sqlite')) && archive.includes(Buffer.from('ipfs/blocks')))
  await node.stop()

  // restore: a non-empty home is refused; an empty one gets the node, and the key is checked
  const occupied = join(cluster.root, 'occupied')
  await mkdir(occupied)
  await writeFile(join(occupied, 'something'), 'x')
  const refused = await milagro(['restore', file], { MILAGRO_HOME: occupied })
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /not empty/)
  const home = join(cluster.root, 'restored')
  const restored = await milagro(['restore', file, '--key', join(node.home, 'custody.key')], { MILAGRO_HOME: home })
  assert.equal(restored.code, 0, restored.stderr)
  assert.match(restored.stdout, /custody key opens the node identity/)

  const again = new ServerNode({ name: 'restored', home, cid: node.cid, nodeType: 'multi', service: 'milagro' })
  cluster.nodes.push(again)
  await again.start()
  assert.equal((await again.ok<{ nodeCID: string }>('/v1/status')).nodeCID, node.cid)
  for (const order of orders) checkRedeemed(order, await redeem(again, order))
})

test('on PostgreSQL: pg_dump into the backup, restored into another (empty) database, every order redeemed', { timeout: 180_000 }, async (t) => {
  const pg = await startPostgres()
  t.after(async () => { await pg.stop() })
  const [first, second] = [await pg.createDatabase(), await pg.createDatabase()]
  const dbEnv = (db: typeof first): Record<string, string> => ({ MILAGRO_NODE_DATASTORE: 'postgres', MILAGRO_NODE_DATABASEURL: db.url, MILAGRO_NODE_DATABASEPASSWORD: db.password })
  const cluster = await createCluster(t, 'milagro-backup-pg-')
  const node = await cluster.init('node', { nodeType: 'multi', env: dbEnv(first) })
  await node.start()
  const orders: Placed[] = []
  for (let i = 0; i < 3; i++) orders.push(await placeOrder(node, 'milagro'))
  const file = join(cluster.root, 'node.tar.gz')
  const made = await milagro(['backup', file], { MILAGRO_HOME: node.home, ...dbEnv(first) })
  assert.equal(made.code, 0, made.stderr)
  assert.equal(gunzipSync(await readFile(file)).indexOf(Buffer.from(first.password)), -1, 'no database password in the backup')
  await node.stop()

  const home = join(cluster.root, 'restored')
  const intoUsed = await milagro(['restore', file], { MILAGRO_HOME: home, ...dbEnv(first) })
  assert.equal(intoUsed.code, 1, 'a database with tables is refused')
  assert.match(intoUsed.stderr, /is not empty/)
  const restored = await milagro(['restore', file, '--key', join(node.home, 'custody.key')], { MILAGRO_HOME: home, ...dbEnv(second) })
  assert.equal(restored.code, 0, restored.stderr)
  assert.match(await readFile(join(home, 'config.yaml'), 'utf8'), new RegExp(second.database), 'the new home names the database it was restored into')
  const again = new ServerNode({ name: 'restored', home, cid: node.cid, nodeType: 'multi', service: 'milagro', env: { MILAGRO_NODE_DATABASEPASSWORD: second.password } })
  cluster.nodes.push(again)
  await again.start()
  for (const order of orders) checkRedeemed(order, await redeem(again, order))
})
