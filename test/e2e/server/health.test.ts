/**
 * Issue 15, part 2: liveness and readiness on real processes. GET /v1/health/live answers while
 * the process runs; GET /v1/health/ready names each check — the database takes a write, custody
 * seals and opens a probe, IPFS started, the fiduciary answers (principals) — and answers 503
 * naming the failing one (by code, never a value) when the fiduciary is down or the database
 * refuses connections, and 200 again once they are back.
 * @module
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startPostgres } from '../../helpers/postgres.ts'
import { createCluster, httpJson, show } from './harness.ts'

/** Polls readiness until `want` (bounded), returning the last answer. */
async function readiness (url: string, want: 200 | 503): Promise<{ status: number, body: any }> {
  let last = await httpJson(`${url}/v1/health/ready`, 'GET')
  for (const deadline = Date.now() + 30_000; last.status !== want && Date.now() < deadline;) {
    await new Promise(resolve => setTimeout(resolve, 200))
    last = await httpJson(`${url}/v1/health/ready`, 'GET')
  }
  return last
}

describe('health', () => {
  test('ready names each check; a fiduciary down or a database refusing connections is 503 naming it', { timeout: 180_000 }, async (t) => {
    const pg = await startPostgres()
    t.after(async () => { await pg.stop() })
    const db = await pg.createDatabase()
    const cluster = await createCluster(t, 'milagro-health-')
    const fiduciary = await cluster.init('fiduciary', {
      nodeType: 'fiduciary', env: { MILAGRO_NODE_DATASTORE: 'postgres', MILAGRO_NODE_DATABASEURL: db.url, MILAGRO_NODE_DATABASEPASSWORD: db.password },
    })
    await fiduciary.start({ stablePorts: true })
    const principal = await cluster.init('principal', { nodeType: 'principal', masterFiduciary: { cid: fiduciary.cid, url: fiduciary.url } })
    await principal.start({ peers: fiduciary.multiaddrs })

    assert.deepEqual((await httpJson(`${fiduciary.url}/v1/health/live`, 'GET')).body, { status: 'live' })
    const ready = await readiness(fiduciary.url, 200)
    assert.equal(ready.body.status, 'ready', show(ready.body))
    assert.deepEqual(Object.keys(ready.body.checks).sort(), ['custody', 'database', 'ipfs'])
    const principalReady = await readiness(principal.url, 200)
    assert.deepEqual(Object.keys(principalReady.body.checks).sort(), ['custody', 'database', 'fiduciary', 'ipfs'])

    // the fiduciary is down: the principal is not ready, and says why
    await fiduciary.kill()
    const down = await readiness(principal.url, 503)
    assert.equal(down.status, 503, show(down.body))
    assert.equal(down.body.checks.fiduciary.ok, false)
    assert.equal(down.body.checks.fiduciary.code, 'PEER_UNREACHABLE')
    assert.equal(down.body.checks.database.ok, true)
    await fiduciary.start()
    assert.equal((await readiness(principal.url, 200)).status, 200)

    // the database refuses connections: the fiduciary is live but not ready
    await pg.psql(`ALTER DATABASE ${db.database} ALLOW_CONNECTIONS false`)
    await pg.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.database}'`)
    const noDatabase = await readiness(fiduciary.url, 503)
    assert.equal(noDatabase.status, 503, show(noDatabase.body))
    assert.equal(noDatabase.body.checks.database.code, 'STATE_UNAVAILABLE')
    assert.equal(noDatabase.body.checks.custody.ok, true)
    assert.equal((await httpJson(`${fiduciary.url}/v1/health/live`, 'GET')).status, 200, 'still live')
    assert.doesNotMatch(JSON.stringify(noDatabase.body), new RegExp(db.password), 'no secret in the answer')
    await pg.psql(`ALTER DATABASE ${db.database} ALLOW_CONNECTIONS true`)
    assert.equal((await readiness(fiduciary.url, 200)).status, 200)
  })
})
