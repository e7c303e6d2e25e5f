/**
 * Issue 11, a beneficiary's node and the logs of the fiduciaries it trusts besides its own
 * (docs/log.md): a principal orders from fiduciary F naming an identity of node B, which runs its
 * own custody (multi) and trusts F (node.trustedFiduciaries). B redeems F's part 4 only once it
 * found it in F's log, read at node.trustedFiduciaryServers:
 *
 * - without an address for F's log: refused, LOG_NO_ADDRESS, recorded (release.refused);
 * - the address of another node's log (the principal's, which holds that part 4 too): refused,
 *   LOG_BAD_KEY_DOCUMENT — that log's key is not signed by F's identity;
 * - F's log: redeemed, and F's checkpoint is then the newest B has seen of it.
 * @module
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { createCluster, readState, show } from './harness.ts'
import { checkRedeemed, checkWithheld, placeOrder, redeem } from './flows.ts'

describe('a beneficiary\'s node checks the log of every fiduciary it trusts', () => {
  test('no address: LOG_NO_ADDRESS; another node\'s log: LOG_BAD_KEY_DOCUMENT; the fiduciary\'s log: redeemed', { timeout: 180_000 }, async (t) => {
    const cluster = await createCluster(t)
    const fiduciary = await cluster.init('fiduciary', { nodeType: 'fiduciary', service: 'milagro' })
    await fiduciary.start()
    const [principal, beneficiary] = await Promise.all([
      cluster.init('principal', { nodeType: 'principal', service: 'milagro', masterFiduciary: { cid: fiduciary.cid, url: fiduciary.url } }),
      cluster.init('beneficiary', { nodeType: 'multi', service: 'milagro' }),
    ])
    const trusts = { MILAGRO_NODE_TRUSTEDFIDUCIARIES: `${beneficiary.cid},${fiduciary.cid}` }
    await beneficiary.start({ peers: fiduciary.multiaddrs, env: trusts })
    await principal.start({ peers: [...fiduciary.multiaddrs, ...beneficiary.multiaddrs] })
    await principal.waitForPeers(2)

    const placed = await placeOrder(principal, 'milagro', { beneficiary: beneficiary.cid })
    const withheld = await redeem(principal, placed)
    checkWithheld(placed, withheld, beneficiary.cid)
    const body = { orderPart4CID: withheld.orderPart4CID }

    const unaddressed = await beneficiary.post('/v1/order/secret', body)
    assert.equal(unaddressed.status, 403, show(unaddressed.body))
    assert.equal(unaddressed.body.code, 'LOG_NO_ADDRESS')
    assert.match(String(unaddressed.body.message ?? unaddressed.body.detail ?? ''), /trustedFiduciaryServers/)
    const refusal = readState(beneficiary.home).audit.at(-1)
    assert.equal(refusal?.op, 'release.refused')
    assert.equal(refusal?.actor, fiduciary.cid)
    assert.match(refusal?.detail ?? '', /^LOG_NO_ADDRESS: /)

    // pointed at the principal's log, which holds that part 4 as well: not the fiduciary's key
    await beneficiary.stop()
    await beneficiary.start({ peers: fiduciary.multiaddrs, env: { ...trusts, MILAGRO_NODE_TRUSTEDFIDUCIARYSERVERS: `${fiduciary.cid}=${principal.url}` } })
    const elsewhere = await beneficiary.post('/v1/order/secret', body)
    assert.equal(elsewhere.status, 502, show(elsewhere.body))
    assert.equal(elsewhere.body.code, 'LOG_BAD_KEY_DOCUMENT')

    await beneficiary.stop()
    await beneficiary.start({ peers: fiduciary.multiaddrs, env: { ...trusts, MILAGRO_NODE_TRUSTEDFIDUCIARYSERVERS: `${fiduciary.cid}=${fiduciary.url}` } })
    const got = await beneficiary.ok<{ secret?: string, orderPart4CID: string }>('/v1/order/secret', body)
    checkRedeemed(placed, got as Parameters<typeof checkRedeemed>[1])
    const db = new DatabaseSync(join(beneficiary.home, 'state.sqlite'), { readOnly: true })
    try {
      const seen = db.prepare('SELECT origin FROM log_seen').all().map(r => String(r.origin))
      assert.ok(seen.includes(`milagro-dta/log/${fiduciary.cid}`), `the fiduciary's checkpoint kept: ${seen.join()}`)
    } finally {
      db.close()
    }
    assert.deepEqual(beneficiary.errorLines(), [])
  })
})
