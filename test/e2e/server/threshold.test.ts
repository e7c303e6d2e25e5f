/**
 * Issue 13 with real processes: 5 fiduciaries, 1 principal and 1 beneficiary as 7 separate
 * servers (their own homes, stores and custody, peered over IPFS on 127.0.0.1), t = 3.
 *
 * - A (3,5) order placed with the ordinary POST /v1/order, redeemed on the principal; the key
 *   checked against the commitment with node:crypto's secp256k1 (independent of @noble, which the
 *   DKG uses); GET /v1/order/{ref} shows every fiduciary's part.
 * - An order for the beneficiary's node, redeemed with 2 fiduciaries stopped: the principal gets
 *   no secret, only the 3 part 4 CIDs (naming the 2 missing); the beneficiary's node combines the
 *   shares from those CIDs alone.
 * - With 3 fiduciaries stopped the redemption fails cleanly, THRESHOLD_NOT_ENOUGH_SHARES naming
 *   the 3 missing.
 * - No fiduciary's home (state database and WAL, custody key, blocks, pins), and no fiduciary's
 *   log, ever holds a whole key; the principal's holds none of the beneficiary's.
 * Hostile parties (a wrong DKG share, a wrong released share, an equivocating principal) are
 * driven through the same services in test/unit/services/threshold.test.ts.
 * @module
 */
import assert from 'node:assert/strict'
import { createECDH } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { createCluster, show } from './harness.ts'
import type { ServerNode } from './harness.ts'

/** The compressed secp256k1 public key of `secretHex`, by OpenSSL (node:crypto). */
function publicKeyOf (secretHex: string): string {
  const ecdh = createECDH('secp256k1')
  ecdh.setPrivateKey(Buffer.from(secretHex, 'hex'))
  return ecdh.getPublicKey('hex', 'compressed')
}

async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await filesUnder(p))
    else if (e.isFile()) out.push(p)
  }
  return out
}

/** No file under `node.home` and no line of its log holds `secretHex`, raw or in hex. */
async function assertNowhere (node: ServerNode, secretHex: string, what: string): Promise<void> {
  const raw = Buffer.from(secretHex, 'hex')
  for (const file of await filesUnder(node.home)) {
    const bytes = await readFile(file)
    assert.equal(bytes.indexOf(raw), -1, `${node.name}: ${file} holds ${what}`)
    assert.equal(bytes.indexOf(Buffer.from(secretHex)), -1, `${node.name}: ${file} holds ${what} in hex`)
  }
  assert.ok(!node.logTail(10_000).includes(secretHex), `${node.name}'s log holds ${what}`)
}

test('threshold custody across 7 processes: 5 fiduciaries, t = 3', { timeout: 600_000 }, async (t) => {
  const cluster = await createCluster(t, 'milagro-threshold-')
  const fiduciaries = await Promise.all([1, 2, 3, 4, 5].map(async i => await cluster.init(`fiduciary${i}`, { nodeType: 'fiduciary', service: 'milagro' })))
  for (const f of fiduciaries) await f.start()
  const set = { MILAGRO_NODE_THRESHOLDFIDUCIARIES: fiduciaries.map(f => `${f.cid}=${f.url}`).join(',') }
  const master = { cid: fiduciaries[0]!.cid, url: fiduciaries[0]!.url }
  const [beneficiary, principal] = await Promise.all([
    cluster.init('beneficiary', { nodeType: 'principal', service: 'milagro', masterFiduciary: master, env: set }),
    cluster.init('principal', { nodeType: 'principal', service: 'milagro', masterFiduciary: master, env: set }),
  ])
  const fiduciaryAddrs = fiduciaries.flatMap(f => f.multiaddrs)
  await beneficiary.start({ peers: fiduciaryAddrs })
  await principal.start({ peers: [...fiduciaryAddrs, ...beneficiary.multiaddrs] })
  await principal.waitForPeers(6)
  const extension = { fiduciaries: fiduciaries.map(f => f.cid).join(','), threshold: '3' }
  const secrets: string[] = []

  // ── order and redeem on the principal ──────────────────────────────────────────────────────
  const a = await principal.ok('/v1/order', { extension })
  assert.equal(a.extension.groupKey, a.commitment)
  assert.equal(a.extension.orderPart2CIDs.split(',').length, 5)
  const view = await principal.ok(`/v1/order/${a.orderReference as string}`)
  const order = JSON.parse(view.order as string) as { threshold: { t: number, n: number, fiduciaries: Array<{ cid: string, part2CID: string }> } }
  assert.deepEqual([order.threshold.t, order.threshold.n], [3, 5])
  assert.deepEqual(order.threshold.fiduciaries.map(f => f.cid), fiduciaries.map(f => f.cid))
  assert.deepEqual(order.threshold.fiduciaries.map(f => f.part2CID), a.extension.orderPart2CIDs.split(','))
  const redeemedA = await principal.ok('/v1/order/secret', { orderReference: a.orderReference })
  assert.equal(publicKeyOf(redeemedA.secret as string), a.commitment, 'the key matches the commitment (OpenSSL)')
  assert.equal(redeemedA.extension.released.split(',').length, 5)
  secrets.push(redeemedA.secret as string)

  // ── for the beneficiary's node, 2 fiduciaries stopped ──────────────────────────────────────
  const b = await principal.ok('/v1/order', { beneficiaryIDDocumentCID: beneficiary.cid, extension })
  await fiduciaries[1]!.stop()
  await fiduciaries[3]!.stop()
  const handed = await principal.ok('/v1/order/secret', { orderReference: b.orderReference })
  assert.equal(handed.secret, undefined, 'the principal gets no secret of the beneficiary')
  const part4CIDs = (handed.extension.orderPart4CIDs as string).split(',')
  assert.equal(part4CIDs.length, 3)
  for (const i of [1, 3]) assert.match(handed.extension.missing as string, new RegExp(`${fiduciaries[i]!.cid}:PEER_UNREACHABLE`))
  const redeemedB = await beneficiary.ok('/v1/order/secret', { orderPart4CID: handed.orderPart4CID, extension: { orderPart4CIDs: handed.extension.orderPart4CIDs } })
  assert.equal(publicKeyOf(redeemedB.secret as string), b.commitment)
  assert.equal(redeemedB.orderReference, b.orderReference)
  assert.equal(redeemedB.extension.released.split(',').length, 3)
  secrets.push(redeemedB.secret as string)
  // two part 4s are not enough, and the answer says so
  const short = await beneficiary.post('/v1/order/secret', { orderPart4CID: part4CIDs[0], extension: { orderPart4CIDs: part4CIDs.slice(0, 2).join(',') } })
  assert.equal(short.body.code, 'THRESHOLD_NOT_ENOUGH_SHARES', show(short.body))

  // ── 3 fiduciaries stopped: a clean failure naming them ─────────────────────────────────────
  await fiduciaries[1]!.start()
  await fiduciaries[3]!.start()
  const c = await principal.ok('/v1/order', { extension })
  for (const i of [0, 2, 4]) await fiduciaries[i]!.stop()
  const failed = await principal.post('/v1/order/secret', { orderReference: c.orderReference })
  assert.ok(failed.status >= 400, show(failed.body))
  assert.equal(failed.body.code, 'THRESHOLD_NOT_ENOUGH_SHARES', show(failed.body))
  for (const i of [0, 2, 4]) assert.match(failed.body.message as string, new RegExp(fiduciaries[i]!.cid), 'names who is missing')
  for (const i of [0, 2, 4]) await fiduciaries[i]!.start()
  const redeemedC = await principal.ok('/v1/order/secret', { orderReference: c.orderReference })
  assert.equal(publicKeyOf(redeemedC.secret as string), c.commitment, 'redeemed once they are back')
  secrets.push(redeemedC.secret as string)

  // ── no store holds a whole key ─────────────────────────────────────────────────────────────
  for (const node of [...fiduciaries, principal, beneficiary]) await node.stop()
  for (const f of fiduciaries) for (const s of secrets) await assertNowhere(f, s, 'a whole key')
  await assertNowhere(principal, secrets[1]!, 'the beneficiary\'s key')
})
