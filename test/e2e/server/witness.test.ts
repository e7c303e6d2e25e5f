/**
 * Issue 11, witnesses across processes (docs/log.md "Witnesses"): a fiduciary F whose checkpoints
 * a witness node W cosigns (node.witnesses on F, node.witnessFor on W), and principals that
 * require W's cosignature on F's checkpoints (node.fiduciaryWitnesses):
 *
 * - F without witnesses: the principal refuses its answer, LOG_NOT_WITNESSED;
 * - F with W: order and redeem work, every answer's checkpoint and the served one carry W's
 *   cosignature; W down: F gives no answer (LOG_WITNESS_QUORUM), W back: it answers again;
 * - F's database restored from a backup (its log goes back, then grows another history): a new
 *   principal, which has never seen F's log and so could not tell by itself, gets no answer —
 *   W refuses to cosign the other history and keeps both checkpoints as evidence.
 * @module
 */
import assert from 'node:assert/strict'
import { copyFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, test } from 'node:test'
import { createCluster, readState, show } from './harness.ts'
import { placeOrder, redeem } from './flows.ts'

function evidenceOf (home: string): Array<{ origin: string, detail: string }> {
  const db = new DatabaseSync(join(home, 'state.sqlite'), { readOnly: true })
  try {
    return db.prepare('SELECT origin, detail FROM log_evidence ORDER BY id').all().map(r => ({ origin: String(r.origin), detail: String(r.detail) }))
  } finally {
    db.close()
  }
}

describe('witnesses of a fiduciary\'s log, as separate servers', () => {
  test('required cosignature; cosigned answers; witness down and back; a restored fiduciary is refused cosignature, evidence kept', { timeout: 240_000 }, async (t) => {
    const cluster = await createCluster(t)
    const fiduciary = await cluster.init('fiduciary', { nodeType: 'fiduciary', service: 'milagro' })
    const witness = await cluster.init('witness', { nodeType: 'fiduciary', service: 'milagro' })
    await fiduciary.start({ stablePorts: true })
    const logKey = (await fiduciary.ok<{ verifierKey: string }>('/v1/log/key')).verifierKey
    await witness.start({ stablePorts: true, env: { MILAGRO_NODE_WITNESSFOR: logKey } })
    const witnessKey = await witness.ok<{ name: string, verifierKey: string, witnessedLogs: string[] }>('/v1/witness/key')
    assert.equal(witnessKey.name, `milagro-dta/witness/${witness.cid}`)
    assert.deepEqual(witnessKey.witnessedLogs, [`milagro-dta/log/${fiduciary.cid}`])
    const requires = { MILAGRO_NODE_FIDUCIARYWITNESSES: witnessKey.verifierKey }
    const principal = await cluster.init('principal', { nodeType: 'principal', service: 'milagro', masterFiduciary: { cid: fiduciary.cid, url: fiduciary.url }, env: requires })
    await principal.start({ peers: fiduciary.multiaddrs })
    await principal.waitForPeers(1)

    // F does not ask W yet: its checkpoint has no cosignature, the principal refuses it
    const bare = await principal.post('/v1/order', {})
    assert.equal(bare.status, 502, show(bare.body))
    assert.equal(bare.body.code, 'LOG_NOT_WITNESSED')
    assert.match(readState(principal.home).audit.at(-1)?.detail ?? '', /^LOG_NOT_WITNESSED: /)

    // F asks W
    assert.equal(await fiduciary.stop(), 'graceful')
    const witnessed = { MILAGRO_NODE_WITNESSES: `${witnessKey.verifierKey}=${witness.url}` }
    await fiduciary.start({ stablePorts: true, env: witnessed })
    const placed = await placeOrder(principal, 'milagro')
    await redeem(principal, placed)
    const served = await fiduciary.get('/v1/log/checkpoint')
    assert.equal(served.status, 200)
    assert.ok(String(served.body).includes(`\n— ${witnessKey.name} `), `the served checkpoint carries the cosignature:\n${String(served.body)}`)
    const backup = join(cluster.root, 'fiduciary-state.backup')
    assert.equal(await fiduciary.stop(), 'graceful')
    await copyFile(join(fiduciary.home, 'state.sqlite'), backup)
    await fiduciary.start({ stablePorts: true, env: witnessed })
    await placeOrder(principal, 'milagro')

    // W down: no cosignature, no answer; W back: answers again
    assert.equal(await witness.stop(), 'graceful')
    const alone = await principal.post('/v1/order', {})
    assert.ok(alone.status >= 500, show(alone.body))
    assert.ok(fiduciary.errorLines().every(l => !l.includes('INTERNAL')), fiduciary.errorLines().join('\n'))
    await witness.start({ stablePorts: true, env: { MILAGRO_NODE_WITNESSFOR: logKey } })
    await placeOrder(principal, 'milagro')

    // F restored from the backup: its log went back; it grows another history with each attempt
    assert.equal(await fiduciary.stop(), 'graceful')
    for (const suffix of ['-wal', '-shm']) await rm(join(fiduciary.home, `state.sqlite${suffix}`), { force: true })
    await copyFile(backup, join(fiduciary.home, 'state.sqlite'))
    await fiduciary.start({ stablePorts: true, env: witnessed })
    const newcomer = await cluster.init('newcomer', { nodeType: 'principal', service: 'milagro', masterFiduciary: { cid: fiduciary.cid, url: fiduciary.url }, env: requires })
    await newcomer.start({ peers: fiduciary.multiaddrs })
    await newcomer.waitForPeers(1)
    const origin = `milagro-dta/log/${fiduciary.cid}`
    for (let attempt = 0; attempt < 8 && !evidenceOf(witness.home).some(e => e.origin === origin); attempt++) {
      const refused = await newcomer.post('/v1/order', {})
      assert.ok(refused.status >= 500, `attempt ${attempt}: ${show(refused.body)}`)
    }
    const evidence = evidenceOf(witness.home).filter(e => e.origin === origin)
    assert.ok(evidence.length >= 1, 'the witness kept the two checkpoints')
    assert.match(evidence[0]!.detail, /^witness: the consistency proof \d+ → \d+ fails/)
    assert.equal(readState(newcomer.home).orders.filter(o => o.part2_cid !== null).length, 0, 'the newcomer accepted no order from the other history')
  })
})
