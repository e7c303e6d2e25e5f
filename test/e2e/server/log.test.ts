/**
 * Issue 11 across processes: a principal and a fiduciary as two servers; every part of a cycle is
 * in both logs, the principal checks the fiduciary's log in each answer over HTTP, and
 * `milagro log verify --documents` verifies both whole logs and every leaf's document. The fiduciary survives a restart (its log and
 * checkpoint are checked at start and extended). Then the operator's disaster: the fiduciary's
 * database is restored from a backup taken two orders ago — its log went back — and the
 * principal refuses its next answer (LOG_ROLLED_BACK), records it, and keeps the evidence.
 * @module
 */
import assert from 'node:assert/strict'
import { copyFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { milagro } from '../cli/milagro.ts'
import { createCluster, readState, show, startPair } from './harness.ts'
import { placeOrder, redeem } from './flows.ts'

describe('the transparency log between two servers', () => {
  test('every part logged and checked; logs verify; a restart keeps the log; a restored backup is refused', { timeout: 180_000 }, async (t) => {
    const cluster = await createCluster(t)
    const { fiduciary, principal } = await startPair(cluster, 'milagro', { fiduciaryStablePorts: true })

    const first = await placeOrder(principal, 'milagro')
    const redeemed = await redeem(principal, first)
    for (const [node, cids] of [[fiduciary, [first.orderPart1CID, first.orderPart2CID, redeemed.orderPart3CID, redeemed.orderPart4CID]], [principal, [first.orderPart1CID, first.orderPart2CID]]] as const) {
      for (const cid of cids) {
        const proof = await node.get(`/v1/log/proof/inclusion?cid=${cid}`)
        assert.equal(proof.status, 200, `${node.name} ${cid}: ${show(proof.body)}`)
      }
    }
    for (const node of [fiduciary, principal]) {
      const r = await milagro(['log', 'verify', node.url, '--documents'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /order-1 1, order-2 1, order-3 1, order-4 1/, 'the parts each node wrote or accepted')
      // every leaf's document fetched and its signature checked (a principal's identity the fiduciary fetched, not accepted, is no leaf: its key is as the node shows it)
      const size = /size +(\d+) leaves/.exec(r.stdout)?.[1]
      assert.match(r.stdout, new RegExp(`documents +${size} fetched and verified \\(signers' keys: [1-9] from their identity documents in the log, [01] as the node shows them\\)`))
    }

    // a restart: the stored checkpoint verifies under the re-derived key, the log goes on
    assert.equal(await fiduciary.stop(), 'graceful')
    const backup = join(cluster.root, 'fiduciary-state.backup')
    await copyFile(join(fiduciary.home, 'state.sqlite'), backup)
    await fiduciary.start()
    await placeOrder(principal, 'milagro')
    await placeOrder(principal, 'milagro')

    // the backup comes back: the fiduciary's log is two orders shorter than the principal saw
    assert.equal(await fiduciary.stop(), 'graceful')
    for (const suffix of ['-wal', '-shm']) await rm(join(fiduciary.home, `state.sqlite${suffix}`), { force: true })
    await copyFile(backup, join(fiduciary.home, 'state.sqlite'))
    await fiduciary.start()
    const refused = await principal.post('/v1/order', {})
    assert.equal(refused.status, 502, show(refused.body))
    assert.equal(refused.body.code, 'LOG_ROLLED_BACK')
    const audit = readState(principal.home).audit
    assert.match(audit.at(-1)?.detail ?? '', /^LOG_ROLLED_BACK: /)
    assert.equal(audit.at(-1)?.op, 'order.refused')
    assert.equal(audit.at(-1)?.actor, fiduciary.cid)
    assert.deepEqual(fiduciary.errorLines(), [])
  })
})
