/**
 * A malicious principal (threat model: docs/threat-model.md). The attacker holds a principal
 * identity of its own and talks to an honest fiduciary over its real HTTP API, building every
 * part with the project's own primitives (src/core/order.ts), as a principal node would. What it
 * must not achieve:
 * - have the seed released to two recipients by racing two part 3s (review finding 3);
 * - store documents on the fiduciary with a request that is refused, or that never needed them
 *   (finding 4);
 * - get a part answered out of its order: a part 3 following another order's part 2, a part
 *   signed by the right key for another order;
 * - redeem an order that names a beneficiary at order time for itself, or name itself instead;
 * - pass an identity whose document is validly signed but has a wrong proof of possession;
 * - with a fiduciary of its own, make a beneficiary's node compute k_f + k_b for a k_f it chose,
 *   and so learn the beneficiary's identity key (finding 2, first form).
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeIdentityDocument } from '../../src/core/identity.ts'
import { newOrderReference, openOrderPart } from '../../src/core/order.ts'
import { encode } from '../../src/envelope/codec.ts'
import { DocumentType, sealEnvelope } from '../../src/envelope/envelope.ts'
import { IDDocumentSchema } from '../../src/envelope/gen/dta_pb.ts'
import type { OrderDocument } from '../../src/envelope/gen/dta_pb.ts'
import { randomBytes } from '../../src/crypto/random.ts'
import { orderKeyFromSeed, secpPublicKey } from '../../src/crypto/secp256k1.ts'
import {
  createWorld, doc, fulfil, newPart1, nodeKeys, party, scalarBytes, seal, show, unb64, withPart2, withPart3, withPart4,
} from './fixtures/world.ts'
import type { Doc, HonestNode, Party } from './fixtures/world.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** The attacker's view of an honest fiduciary: its keys, and the two RPCs with inline documents. */
async function fiduciaryOf (node: HonestNode) {
  const keys = await nodeKeys(node)
  return {
    ...keys,
    order: async (by: Party, p1: Doc, extra: Doc[] = []) => await fulfil(node, 'order', by, p1, extra),
    secret: async (by: Party, p3: Doc, extra: Doc[] = []) => await fulfil(node, 'order/secret', by, p3, extra),
  }
}
type Fiduciary = Awaited<ReturnType<typeof fiduciaryOf>>

/** Places an order as `by` and returns its part 1, part 2 and the decrypted part 2. */
async function placed (fid: Fiduciary, by: Party, plugin: string, beneficiary?: Party): Promise<{ reference: string, p1: Doc, p2: Doc, doc2: OrderDocument }> {
  const reference = newOrderReference()
  const doc1 = newPart1({ reference, plugin, principal: by.cid, fiduciary: fid.pub.cid, beneficiary: beneficiary?.cid })
  const p1 = await seal(by, doc1, [by.pub, fid.pub, ...(beneficiary === undefined ? [] : [beneficiary.pub])])
  const answer = await fid.order(by, p1, beneficiary === undefined ? [] : [beneficiary])
  assert.equal(answer.status, 200, show(answer.body))
  const p2 = { cid: answer.body.orderPart2CID as string, bytes: unb64(answer.body.documents[answer.body.orderPart2CID]) }
  return { reference, p1, p2, doc2: openOrderPart(p2.bytes, fid.verifier, by.reader).document }
}

test('a malicious principal cannot release one order to two recipients by racing two part 3s', { timeout: 180_000 }, async (t) => {
  const world = await createWorld(t)
  const fiduciary = await world.node('fiduciary', { nodeType: 'fiduciary' })
  const fid = await fiduciaryOf(fiduciary)
  const alice = await party('alice')
  const bob = await party('bob (sold the key)')
  const carol = await party('carol (sold it again)')
  const ROUNDS = 8
  for (let round = 0; round < ROUNDS; round++) {
    const order = await placed(fid, alice, 'milagro')
    const forBob = await seal(alice, withPart3(order.doc2, order.p2.cid, { beneficiaryCid: bob.cid }), [alice.pub, fid.pub, bob.pub], order.p2.cid)
    const forCarol = await seal(alice, withPart3(order.doc2, order.p2.cid, { beneficiaryCid: carol.cid }), [alice.pub, fid.pub, carol.pub], order.p2.cid)
    const answers = await Promise.all([fid.secret(alice, forBob, [bob]), fid.secret(alice, forCarol, [carol])])
    const ok = answers.filter(a => a.status === 200)
    assert.equal(ok.length, 1, `round ${round}: exactly one release, got ${answers.map(a => `${a.status} ${a.body.code ?? ''}`).join(', ')}`)
    const refused = answers.find(a => a.status !== 200)!
    assert.equal(refused.status, 409, show(refused.body))
    assert.equal(refused.body.code, 'ORDER_ALREADY_REDEEMED_ELSEWHERE')
    // the winner's recipient stays the only one: asking again for the other one is refused
    const winner = answers[0]!.status === 200 ? { who: bob, other: [forCarol, carol] as const } : { who: carol, other: [forBob, bob] as const }
    const again = await fid.secret(alice, winner.other[0], [winner.other[1]])
    assert.equal(again.status, 409, show(again.body))
  }
  const audit = (await fiduciary.call('GET', '/v1/audit?page=0&perPage=100')).body.auditList as Array<{ op: string, reference: string }>
  assert.equal(audit.filter(e => e.op === 'seed.released').length, ROUNDS, 'one seed.released per order')
})

test('documents sent with a refused request, or never used, are not stored by the fiduciary', { timeout: 120_000 }, async (t) => {
  const world = await createWorld(t)
  const alice = await party('alice')
  const fiduciary = await world.node('fiduciary', { nodeType: 'fiduciary', env: { MILAGRO_HTTP_ALLOWPRINCIPALS: alice.cid } })
  const fid = await fiduciaryOf(fiduciary)
  const mallory = await party('mallory')
  const junk = async (n: number): Promise<Doc[]> => await Promise.all(Array.from({ length: n }, async () => await doc(randomBytes(64 * 1024))))
  const nothingStored = async (docs: Doc[], why: string): Promise<void> => {
    for (const d of docs) assert.equal(await fiduciary.has(d.cid), false, `${why}: ${d.cid} was stored`)
  }

  // refused by the allow-list: part 1, mallory's identity and 6 × 64 KiB of junk
  const m1 = await seal(mallory, newPart1({ reference: newOrderReference(), plugin: 'milagro', principal: mallory.cid, fiduciary: fid.pub.cid }), [mallory.pub, fid.pub])
  const filler = await junk(6)
  const notAllowed = await fid.order(mallory, m1, filler)
  assert.equal(notAllowed.status, 403, show(notAllowed.body))
  await nothingStored([m1, mallory, ...filler], 'allow-list refusal')

  // refused for its signature: a part 1 "by alice" that mallory signed
  const forged = await seal(mallory, newPart1({ reference: newOrderReference(), plugin: 'milagro', principal: alice.cid, fiduciary: fid.pub.cid }), [alice.pub, fid.pub])
  const badSignature = await fid.order(alice, forged, filler)
  assert.equal(badSignature.status, 400, show(badSignature.body))
  assert.match(badSignature.body.code, /^ENVELOPE_/)
  await nothingStored([forged, alice, ...filler], 'signature refusal')

  // refused for its content: a plugin the fiduciary does not run
  const wrongPlugin = await seal(alice, newPart1({ reference: newOrderReference(), plugin: 'bitcoinwallet', principal: alice.cid, fiduciary: fid.pub.cid }), [alice.pub, fid.pub])
  assert.equal((await fid.order(alice, wrongPlugin, filler)).status, 403)
  await nothingStored([wrongPlugin, alice, ...filler], 'plugin refusal')

  // accepted: part 1 and alice's identity are kept; the junk that came along is not
  const order = await placed(fid, alice, 'milagro')
  const extra = await junk(3)
  const p3 = await seal(alice, withPart3(order.doc2, order.p2.cid), [alice.pub, fid.pub], order.p2.cid)
  const released = await fid.secret(alice, p3, extra)
  assert.equal(released.status, 200, show(released.body))
  for (const d of [order.p1, alice, p3]) assert.equal(await fiduciary.has(d.cid), true, 'what an accepted request used is stored')
  await nothingStored(extra, 'accepted request')

  // a refused redemption stores its part 3 neither
  const stranger = await seal(mallory, withPart3(order.doc2, order.p2.cid), [mallory.pub, fid.pub], order.p2.cid)
  assert.equal((await fid.secret(mallory, stranger)).status, 403)
  await nothingStored([stranger], 'refused redemption')
})

test('parts out of their order, a principal naming itself, and an identity with a wrong proof of possession are refused', { timeout: 120_000 }, async (t) => {
  const world = await createWorld(t)
  const fiduciary = await world.node('fiduciary', { nodeType: 'fiduciary' })
  const fid = await fiduciaryOf(fiduciary)
  const alice = await party('alice')
  const bob = await party('bob')
  const a = await placed(fid, alice, 'milagro')
  const b = await placed(fid, alice, 'milagro')

  // a part 3 carrying order B that follows order A's part 2 (header and content)
  const crossed = await seal(alice, withPart3(b.doc2, a.p2.cid), [alice.pub, fid.pub], a.p2.cid)
  const r1 = await fid.secret(alice, crossed)
  assert.equal(r1.status, 403, show(r1.body))
  assert.equal(r1.body.code, 'ORDER_CHAIN_BROKEN')
  // the right signer and the right chain of B, but A's order document in it
  const swapped = await seal(alice, withPart3(a.doc2, b.p2.cid), [alice.pub, fid.pub], b.p2.cid)
  const r2 = await fid.secret(alice, swapped)
  assert.equal(r2.status, 403, show(r2.body))
  assert.equal(r2.body.code, 'ORDER_CHAIN_BROKEN')
  // order A's part 1 replayed gets A's part 2 again, never a new commitment
  assert.equal((await fid.order(alice, a.p1)).body.orderPart2CID, a.p2.cid)

  // an order that names bob at order time
  const named = await placed(fid, alice, 'milagro', bob)
  // alice names herself instead: refused, nothing released
  const herself = await seal(alice, withPart3(named.doc2, named.p2.cid, { beneficiaryCid: alice.cid }), [alice.pub, fid.pub, bob.pub], named.p2.cid)
  const r3 = await fid.secret(alice, herself, [bob])
  assert.equal(r3.status, 403, show(r3.body))
  assert.equal(r3.body.code, 'ORDER_NOT_ENTITLED')
  // alice redeems it "alone": part 4 goes to bob and the fiduciary only; alice cannot read it
  const alone = await seal(alice, withPart3(named.doc2, named.p2.cid), [alice.pub, fid.pub, bob.pub], named.p2.cid)
  const r4 = await fid.secret(alice, alone, [bob])
  assert.equal(r4.status, 200, show(r4.body))
  const p4 = unb64(r4.body.documents[r4.body.orderPart4CID])
  assert.throws(() => openOrderPart(p4, fid.verifier, alice.reader), /not a recipient/i)
  assert.equal(hex(orderKeyFromSeed(openOrderPart(p4, fid.verifier, bob.reader).document.orderPart4!.secret).publicKey), hex(named.doc2.orderPart2!.commitmentPublicKey))

  // an identity document signed by its own key, whose proof of possession is another key's
  const eve = await party('eve')
  const body = encode(IDDocumentSchema, {
    authenticationReference: 'eve', beneficiaryEcPublicKey: eve.keys.ecPublicKey, kemPublicKey: eve.keys.kemPublicKey,
    blsPublicKey: eve.keys.blsPublicKey, proofOfPossession: decodeIdentityDocument(bob.bytes).proofOfPossession, timestamp: BigInt(Date.now()),
  })
  const eveDoc = await doc(sealEnvelope({ signer: { cid: '', secretKey: eve.keys.bls }, bodyType: DocumentType.ID_DOCUMENT, body }))
  const badPop: Party = { ...eve, cid: eveDoc.cid, bytes: eveDoc.bytes, pub: { ...eve.pub, cid: eveDoc.cid }, verifier: { ...eve.verifier, cid: eveDoc.cid }, signer: { ...eve.signer, cid: eveDoc.cid }, reader: { ...eve.reader, cid: eveDoc.cid } }
  const e1 = await seal(badPop, newPart1({ reference: newOrderReference(), plugin: 'milagro', principal: badPop.cid, fiduciary: fid.pub.cid }), [badPop.pub, fid.pub])
  const r5 = await fid.order(badPop, e1)
  assert.equal(r5.status, 400, show(r5.body))
  assert.equal(r5.body.code, 'IDENTITY_BAD_PROOF_OF_POSSESSION')
  assert.equal(await fiduciary.has(eveDoc.cid), false)
})

test('a principal with a fiduciary of its own cannot use a beneficiary\'s node as an oracle for its identity key', { timeout: 120_000 }, async (t) => {
  const world = await createWorld(t)
  const fiduciary = await world.node('fiduciary', { nodeType: 'fiduciary', service: 'bitcoinwallet' })
  const beneficiary = await world.node('beneficiary', { nodeType: 'principal', service: 'bitcoinwallet', masterFiduciary: { cid: fiduciary.cid, url: fiduciary.url } })
  const victim = await nodeKeys(beneficiary)
  // The attacker's principal and fiduciary, and a chain naming the victim at order time.
  const mallory = await party('mallory (principal)')
  const rogue = await party('rogue (fiduciary)')
  const reference = newOrderReference()
  const seed = randomBytes(32)
  const kf = orderKeyFromSeed(seed)
  const doc1 = newPart1({ reference, plugin: 'bitcoinwallet', principal: mallory.cid, fiduciary: rogue.cid, beneficiary: beneficiary.cid })
  const everyone = [mallory.pub, rogue.pub, victim.pub]
  const p1 = await seal(mallory, doc1, everyone)
  const doc2 = withPart2(doc1, p1.cid, kf)
  const p2 = await seal(rogue, doc2, everyone, p1.cid)
  const doc3 = withPart3(doc2, p2.cid)
  const p3 = await seal(mallory, doc3, everyone, p2.cid)
  const p4 = await seal(rogue, withPart4(doc3, p3.cid, seed), [rogue.pub, victim.pub], p3.cid)
  await beneficiary.plant(mallory, rogue, p1, p2, p3, p4)

  const answer = await beneficiary.call('POST', '/v1/order/secret', { orderPart4CID: p4.cid })
  if (answer.status === 200) {
    // k_f + k_b (+ nothing the attacker does not know) − k_f = the victim's identity key
    const kb = scalarBytes(BigInt('0x' + (answer.body.secret as string)) - BigInt('0x' + hex(kf.privateKey)))
    assert.notEqual(hex(secpPublicKey(kb)), hex(victim.ecPublicKey), 'the beneficiary\'s identity key was computed for the attacker')
  }
  assert.equal(answer.status, 403, show(answer.body))
  assert.equal(answer.body.code, 'ORDER_FIDUCIARY_NOT_TRUSTED')
})
