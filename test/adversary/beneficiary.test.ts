/**
 * A malicious beneficiary (threat model: docs/threat-model.md), against an honest fiduciary over
 * its HTTP API and an honest beneficiary node. A beneficiary may redeem what it is named for —
 * and nothing else. What it must not achieve:
 * - hand the order it is named for to someone else, or sign a redemption for an order that named
 *   it only at redemption, or for an order that does not name it at all;
 * - get its own node to open a part 4 that is not addressed to it, or one addressed to it for an
 *   order that names it nowhere.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newOrderReference, openOrderPart } from '../../src/core/order.ts'
import { randomBytes } from '../../src/crypto/random.ts'
import { orderKeyFromSeed } from '../../src/crypto/secp256k1.ts'
import { createWorld, fulfil, newPart1, nodeKeys, party, seal, show, unb64, withPart2, withPart3, withPart4 } from './fixtures/world.ts'
import type { Doc, Party } from './fixtures/world.ts'

test('a beneficiary redeems what it is named for, and nothing else', { timeout: 120_000 }, async (t) => {
  const world = await createWorld(t)
  const fiduciary = await world.node('fiduciary', { nodeType: 'fiduciary' })
  const fid = await nodeKeys(fiduciary)
  const alice = await party('alice (principal)')
  const bob = await party('bob (beneficiary)')
  const carol = await party('carol (bob\'s friend)')
  const order = async (beneficiary?: Party) => {
    const reference = newOrderReference()
    const doc1 = newPart1({ reference, plugin: 'milagro', principal: alice.cid, fiduciary: fiduciary.cid, beneficiary: beneficiary?.cid })
    const p1 = await seal(alice, doc1, [alice.pub, fid.pub, ...(beneficiary === undefined ? [] : [beneficiary.pub])])
    const answer = await fulfil(fiduciary, 'order', alice, p1, beneficiary === undefined ? [] : [beneficiary])
    assert.equal(answer.status, 200, show(answer.body))
    const p2: Doc = { cid: answer.body.orderPart2CID, bytes: unb64(answer.body.documents[answer.body.orderPart2CID]) }
    return { p1, p2, doc2: openOrderPart(p2.bytes, fid.verifier, alice.reader).document }
  }

  // named at order time, bob tries to hand the order to carol
  const forBob = await order(bob)
  const handOver = await seal(bob, withPart3(forBob.doc2, forBob.p2.cid, { beneficiaryCid: carol.cid }), [bob.pub, fid.pub, carol.pub], forBob.p2.cid)
  const r1 = await fulfil(fiduciary, 'order/secret', bob, handOver, [carol])
  assert.equal(r1.status, 403, show(r1.body))
  assert.equal(r1.body.code, 'ORDER_NOT_ENTITLED')

  // named only at redemption by alice, carol then signs a redemption herself
  const plain = await order()
  const toCarol = await seal(alice, withPart3(plain.doc2, plain.p2.cid, { beneficiaryCid: carol.cid }), [alice.pub, fid.pub, carol.pub], plain.p2.cid)
  assert.equal((await fulfil(fiduciary, 'order/secret', alice, toCarol, [carol])).status, 200)
  const carolAsks = await seal(carol, withPart3(plain.doc2, plain.p2.cid, { beneficiaryCid: carol.cid }), [carol.pub, fid.pub], plain.p2.cid)
  const r2 = await fulfil(fiduciary, 'order/secret', carol, carolAsks)
  assert.equal(r2.status, 403, show(r2.body))
  assert.equal(r2.body.code, 'ORDER_NOT_ENTITLED')

  // bob asks for an order that does not name him
  const other = await order()
  const bobAsks = await seal(bob, withPart3(other.doc2, other.p2.cid), [bob.pub, fid.pub], other.p2.cid)
  const r3 = await fulfil(fiduciary, 'order/secret', bob, bobAsks)
  assert.equal(r3.status, 403, show(r3.body))
  assert.equal(r3.body.code, 'ORDER_NOT_ENTITLED')

  // bob, named at order time, may ask himself: part 4 goes to him (and the fiduciary) only
  const own = await seal(bob, withPart3(forBob.doc2, forBob.p2.cid), [bob.pub, fid.pub, alice.pub], forBob.p2.cid)
  const r4 = await fulfil(fiduciary, 'order/secret', bob, own)
  assert.equal(r4.status, 200, show(r4.body))
  const p4 = unb64(r4.body.documents[r4.body.orderPart4CID])
  assert.equal(openOrderPart(p4, fid.verifier, bob.reader).document.orderPart4!.secret.length, 32)
  assert.throws(() => openOrderPart(p4, fid.verifier, alice.reader), /not a recipient/i)
})

test('a beneficiary\'s node opens only a part 4 addressed to it, of an order that names it', { timeout: 120_000 }, async (t) => {
  const world = await createWorld(t)
  const rogue = await party('fiduciary (trusted by the node)')
  const node = await world.node('beneficiary', { nodeType: 'principal', masterFiduciary: { cid: rogue.cid, url: 'http://127.0.0.1:9' } })
  const me = await nodeKeys(node)
  const alice = await party('alice')
  const dave = await party('dave')
  const chain = async (beneficiary: string | undefined, part4To: Array<{ cid: string, kemPublicKey: Uint8Array }>) => {
    const reference = newOrderReference()
    const seed = randomBytes(32)
    const doc1 = newPart1({ reference, plugin: 'milagro', principal: alice.cid, fiduciary: rogue.cid, beneficiary })
    const p1 = await seal(alice, doc1, [alice.pub, rogue.pub])
    const doc2 = withPart2(doc1, p1.cid, orderKeyFromSeed(seed))
    const p2 = await seal(rogue, doc2, [alice.pub, rogue.pub], p1.cid)
    const doc3 = withPart3(doc2, p2.cid)
    const p3 = await seal(alice, doc3, [alice.pub, rogue.pub, me.pub], p2.cid)
    const p4 = await seal(rogue, withPart4(doc3, p3.cid, seed), [rogue.pub, ...part4To], p3.cid)
    await node.plant(alice, rogue, p1, p2, p3, p4)
    return p4
  }
  // addressed to dave: this node cannot read it
  const r1 = await node.call('POST', '/v1/order/secret', { orderPart4CID: (await chain(dave.cid, [dave.pub])).cid })
  assert.equal(r1.status, 403, show(r1.body))
  assert.equal(r1.body.code, 'ENVELOPE_NOT_A_RECIPIENT')
  // addressed to this node, but neither part 1 nor part 3 names it (an order of alice's for herself)
  const r2 = await node.call('POST', '/v1/order/secret', { orderPart4CID: (await chain(undefined, [me.pub])).cid })
  assert.equal(r2.status, 403, show(r2.body))
  assert.equal(r2.body.code, 'ORDER_NOT_ENTITLED')
})
