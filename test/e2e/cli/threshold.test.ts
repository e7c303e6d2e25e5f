/**
 * The 2-of-3 how-to of docs/threshold.md, with the real binary against real daemons: three
 * fiduciaries, a principal and a beneficiary's node; `milagro order create --ext fiduciaries=…
 * --ext threshold=2`, `milagro order secret REF --beneficiary CID` with one fiduciary stopped
 * (the principal prints the `milagro order redeem CID,CID` to run on the beneficiary's node),
 * and that command on the beneficiary's node, whose secret matches the commitment.
 * @module
 */
import assert from 'node:assert/strict'
import { createECDH } from 'node:crypto'
import { test } from 'node:test'
import { createCluster } from '../server/harness.ts'
import { milagro } from './milagro.ts'

test('a 2-of-3 threshold order through the CLI, redeemed on the beneficiary\'s node', { timeout: 300_000 }, async (t) => {
  const cluster = await createCluster(t, 'milagro-cli-threshold-')
  const fiduciaries = await Promise.all([1, 2, 3].map(async i => await cluster.init(`fiduciary${i}`, { nodeType: 'fiduciary', service: 'milagro' })))
  for (const f of fiduciaries) await f.start()
  const set = { MILAGRO_NODE_THRESHOLDFIDUCIARIES: fiduciaries.map(f => `${f.cid}=${f.url}`).join(',') }
  const master = { cid: fiduciaries[0]!.cid, url: fiduciaries[0]!.url }
  const beneficiary = await cluster.init('beneficiary', { nodeType: 'principal', service: 'milagro', masterFiduciary: master, env: set })
  const principal = await cluster.init('principal', { nodeType: 'principal', service: 'milagro', masterFiduciary: master, env: set })
  await beneficiary.start({ peers: fiduciaries.flatMap(f => f.multiaddrs) })
  await principal.start({ peers: [...fiduciaries.flatMap(f => f.multiaddrs), ...beneficiary.multiaddrs] })
  await principal.waitForPeers(4)

  const created = await milagro(['order', 'create', '--url', principal.url, '--ext', `fiduciaries=${fiduciaries.map(f => f.cid).join(',')}`, '--ext', 'threshold=2', '--beneficiary', beneficiary.cid, '--json'])
  assert.equal(created.code, 0, created.stderr)
  const order = JSON.parse(created.stdout) as { orderReference: string, commitment: string, extension: Record<string, string> }
  assert.equal(order.extension.threshold, '2')
  assert.equal(order.extension.groupKey, order.commitment)

  await fiduciaries[1]!.stop()
  const handed = await milagro(['order', 'secret', order.orderReference, '--url', principal.url])
  assert.equal(handed.code, 0, handed.stderr)
  const command = /^\s+(milagro order redeem \S+)$/m.exec(handed.stdout)?.[1]
  assert.ok(command !== undefined, handed.stdout)
  const cids = command.split(' ')[3]!.split(',')
  assert.equal(cids.length, 2, 'one part 4 per fiduciary that released')

  const redeemed = await milagro([...command.split(' ').slice(1), '--url', beneficiary.url, '--json'])
  assert.equal(redeemed.code, 0, redeemed.stderr)
  const secret = (JSON.parse(redeemed.stdout) as { secret: string }).secret
  const ecdh = createECDH('secp256k1')
  ecdh.setPrivateKey(Buffer.from(secret, 'hex'))
  assert.equal(ecdh.getPublicKey('hex', 'compressed'), order.commitment)
  // a bad list is a usage error, not a request
  const bad = await milagro(['order', 'redeem', `${cids[0]!},nonsense`, '--url', beneficiary.url])
  assert.notEqual(bad.code, 0)
  assert.match(bad.stderr, /nonsense is not a part 4 CID/)
})
