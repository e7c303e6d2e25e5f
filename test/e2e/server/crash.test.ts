/**
 * Issue 4, test 5: crash safety of the fiduciary (PROTOCOL §6: the order seed is durable before the
 * commitment is returned). A principal process streams orders (a few at a time) to a fiduciary
 * process, which is killed with SIGKILL mid-stream — after a random number of answered orders plus
 * a random few milliseconds, so requests are in flight — and restarted on the same home and ports;
 * three rounds. A quarter of the stream redeems orders already answered, so kills also land in
 * the middle of releases. Then:
 * - every commitment the principal received is redeemed, with the same commitment, and the
 *   released key is the commitment's private key;
 * - the principal's order list holds exactly the orders it answered, each with part 2 (no order
 *   is half-written on the principal);
 * - read from the stopped fiduciary's database: every order row has its sealed seed, one
 *   `seed.created` each, and each order the principal holds is there with the same part 2.
 * Orders the principal did not answer (in flight at the kill) may have left a fiduciary row with
 * its seed — never a commitment without a seed.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createCluster, readState, show, startPair } from './harness.ts'
import { checkRedeemed } from './flows.ts'
import type { Placed, Redeemed } from './flows.ts'

const ROUNDS = 3
const CONCURRENCY = 4
/** Per round, stop ordering after this many answers even if the kill has not happened yet. */
const ROUND_CAP = 80

test('a fiduciary killed mid-stream loses no commitment it returned', { timeout: 150_000 }, async (t) => {
  const cluster = await createCluster(t)
  const { fiduciary, principal } = await startPair(cluster, 'milagro', { fiduciaryStablePorts: true })
  const received = new Map<string, Placed>()
  const failures = new Map<string, number>()
  const unexpected: string[] = []
  const plan: string[] = []
  let redeemedInStream = 0
  const count = (key: string): void => { failures.set(key, (failures.get(key) ?? 0) + 1) }

  /** One step of the stream: mostly a new order, sometimes a redemption of an order already answered. */
  const step = async (): Promise<'answered' | 'failed'> => {
    const known = [...received.values()]
    const redeemNow = known.length > 0 && Math.random() < 0.25
    let r: { status: number, body: any }
    try {
      r = redeemNow
        ? await principal.post('/v1/order/secret', { orderReference: known[Math.floor(Math.random() * known.length)].reference }, 30_000)
        : await principal.post('/v1/order', {}, 30_000)
    } catch (err) {
      unexpected.push(`the principal did not answer: ${(err as Error).message}`)
      return 'failed'
    }
    if (r.status === 200) {
      if (redeemNow) {
        redeemedInStream++
        const placed = received.get(r.body.orderReference)
        if (placed === undefined || r.body.commitment !== placed.commitment) unexpected.push(`redemption of ${r.body.orderReference} changed the commitment`)
      } else {
        received.set(r.body.orderReference, { plugin: 'milagro', reference: r.body.orderReference, commitment: r.body.commitment, createdAt: r.body.createdAt, extension: r.body.extension, orderPart1CID: r.body.orderPart1CID, orderPart2CID: r.body.orderPart2CID })
      }
      return 'answered'
    }
    count(`${redeemNow ? 'secret' : 'order'} ${r.status} ${String(r.body.code)}`)
    // The fiduciary is gone: the principal says so (502) and carries on.
    if (r.status !== 502 || (r.body.code !== 'PEER_UNREACHABLE' && r.body.code !== 'PEER_ERROR')) unexpected.push(show(r.body))
    await sleep(20)
    return 'failed'
  }

  for (let round = 0; round < ROUNDS; round++) {
    let stop = false
    let answered = 0
    const target = 5 + Math.floor(Math.random() * 30)
    const jitterMs = Math.floor(Math.random() * 30)
    plan.push(`round ${round}: kill after ${target} answers + ${jitterMs} ms`)
    const workers = Array.from({ length: CONCURRENCY }, async () => {
      while (!stop && answered < ROUND_CAP) if (await step() === 'answered') answered++
    })
    const deadline = Date.now() + 30_000
    while (answered < target && Date.now() < deadline) await sleep(5)
    assert.ok(answered >= target, `round ${round}: only ${answered} requests answered before the kill point`)
    await sleep(jitterMs)
    await fiduciary.kill()
    stop = true
    await Promise.all(workers)

    // While the fiduciary is down the principal refuses cleanly (502) and records nothing.
    const down = await principal.post('/v1/order', {})
    assert.equal(down.status, 502, show(down.body))
    assert.equal(down.body.code, 'PEER_UNREACHABLE')

    await fiduciary.start()
  }
  assert.deepEqual(unexpected, [], 'only clean 502s while the fiduciary crashes')

  // The restarted fiduciary serves new orders again (a stale pooled connection may fail once).
  let fresh: { status: number, body: any } | undefined
  for (let attempt = 0; attempt < 5 && fresh?.status !== 200; attempt++) fresh = await principal.post('/v1/order', {})
  assert.equal(fresh?.status, 200, show(fresh?.body))
  received.set(fresh.body.orderReference, { plugin: 'milagro', reference: fresh.body.orderReference, commitment: fresh.body.commitment, createdAt: fresh.body.createdAt, extension: {}, orderPart1CID: fresh.body.orderPart1CID, orderPart2CID: fresh.body.orderPart2CID })
  t.diagnostic(`${plan.join('; ')}; ${received.size} commitments received, ${redeemedInStream} redeemed during the stream; failures: ${JSON.stringify(Object.fromEntries(failures))}`)

  // The principal's list is exactly what it answered, and every order in it has part 2.
  const listed: string[] = []
  for (let page = 0; ; page++) {
    const got = (await principal.ok<{ orderReference: string[] }>(`/v1/order?page=${page}&perPage=100&sortBy=dateCreatedAsc`)).orderReference
    listed.push(...got)
    if (got.length < 100) break
  }
  assert.deepEqual([...listed].sort(), [...received.keys()].sort(), 'the principal recorded exactly the orders it answered')

  // Every commitment received is redeemed with the same commitment.
  const queue = [...received.values()]
  const redeemOne = async (): Promise<void> => {
    for (let placed = queue.pop(); placed !== undefined; placed = queue.pop()) {
      const shown = JSON.parse((await principal.ok<{ order: string }>(`/v1/order/${placed.reference}`)).order) as { chain: { orderPart2CID: string | null } }
      assert.equal(shown.chain.orderPart2CID, placed.orderPart2CID, 'the principal\'s order has its part 2')
      checkRedeemed(placed, await principal.ok<Redeemed>('/v1/order/secret', { orderReference: placed.reference }))
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, redeemOne))

  assert.equal(await principal.stop(), 'graceful')
  assert.equal(await fiduciary.stop(), 'graceful')

  const f = readState(fiduciary.home)
  const p = readState(principal.home)
  const fiduciaryRows = f.orders.filter(o => o.role === 'fiduciary')
  assert.equal(fiduciaryRows.length, f.orders.length)
  for (const row of fiduciaryRows) {
    assert.equal(row.has_seed, 1, `fiduciary order ${row.reference} has its sealed seed`)
    assert.equal(f.audit.filter(a => a.op === 'seed.created' && a.reference === row.seed_record_id).length, 1, 'one seed per order, across restarts')
  }
  for (const placed of received.values()) {
    const row = fiduciaryRows.find(o => o.reference === placed.reference)
    assert.equal(row?.part2_cid, placed.orderPart2CID, 'the fiduciary holds the part 2 the principal received')
    assert.notEqual(row?.part4_cid, null)
  }
  for (const row of p.orders) {
    assert.ok(row.part1_cid !== null && row.part2_cid !== null && row.commitment !== null, `principal order ${row.reference} is complete`)
    assert.ok(row.part3_cid !== null && row.part4_cid !== null, `principal order ${row.reference} records its redemption`)
  }
  assert.equal(p.orders.length, received.size)
  t.diagnostic(`fiduciary rows ${fiduciaryRows.length} (of which interrupted: ${fiduciaryRows.length - received.size}, without part 2: ${fiduciaryRows.filter(o => o.part2_cid === null).length})`)
})
