/**
 * A malicious fiduciary (threat model: docs/threat-model.md). The attacker runs its own fiduciary
 * (`RogueFiduciary`: the fulfil RPCs written with the project's own primitives, honest except
 * where a test makes it deviate) and honest principals and beneficiary nodes order from it over
 * real HTTP. What it must not achieve:
 * - own a split key alone by answering K_f = xG − K_b with a forged ECDSA "proof" (review finding
 *   1), or with a genuine proof made for another plugin's order;
 * - release, at redemption, a seed for another key than the one it committed to — with part 4's
 *   copy of part 2 left alone or rewritten to match (finding 6);
 * - address part 4 to anyone but the entitled recipient;
 * - pass off a part 2 it issued for one order as the answer to another;
 * - lift the principal's share that part 3 carries to a beneficiary into a chain of its own and
 *   have the beneficiary's node compute the key with it (finding 2, second form).
 * @module
 */
import assert from 'node:assert/strict'
import { createPublicKey, verify as ecdsaVerify } from 'node:crypto'
import { test } from 'node:test'
import { clone } from '@bufbuild/protobuf'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { concatBytes, sha256, utf8 } from '../../src/crypto/hash.ts'
import { randomBytes } from '../../src/crypto/random.ts'
import { orderKeyFromSeed, secpAddPrivateKeys, secpPublicKey } from '../../src/crypto/secp256k1.ts'
import { OrderDocumentSchema } from '../../src/envelope/gen/dta_pb.ts'
import { newOrderReference } from '../../src/core/order.ts'
import {
  createWorld, forgeEcdsaPop, newPart1, party, popSign, RogueFiduciary, scalarBytes, seal, show, withPart2, withPart3, withPart4,
} from './fixtures/world.ts'
import type { HonestNode, World } from './fixtures/world.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** What the ECDSA proof of possession signed (SHA-256 of it) before BIP-340: len ‖ tag v1 ‖ len ‖ reference ‖ len ‖ part 1 CID. */
function ecdsaPopPreimage (reference: string, part1CID: string): Uint8Array {
  return concatBytes(...['milagro-dta/commitment-pop/v1', reference, part1CID].map(s => {
    const len = new Uint8Array(4)
    new DataView(len.buffer).setUint32(0, utf8(s).length)
    return concatBytes(len, utf8(s))
  }))
}

async function principalOf (world: World, rogue: RogueFiduciary, name: string, service: 'milagro' | 'bitcoinwallet' | 'safeguardsecret'): Promise<HonestNode> {
  const principal = await world.node(name, { nodeType: 'principal', service, masterFiduciary: { cid: rogue.party.cid, url: rogue.url } })
  await principal.plant(rogue.party) // the principal knows its fiduciary's identity document
  return principal
}

test('a malicious fiduciary cannot own a split key with a forged proof of possession', { timeout: 120_000 }, async (t) => {
  const world = await createWorld(t)
  const rogue = await new RogueFiduciary(await party('rogue fiduciary'), 'bitcoinwallet').start()
  t.after(async () => { await rogue.close() })
  const principal = await principalOf(world, rogue, 'principal', 'bitcoinwallet')
  const bob = (await principal.call('POST', '/v1/identity', { name: 'bob' })).body.idDocumentCID as string
  const kb = Buffer.from((await principal.call('GET', `/v1/identity/${bob}`)).body.beneficiaryECPublicKey as string, 'hex')

  // The review's attack: K_f = xG − K_b with an ECDSA signature that verifies for K_f.
  let forged: { x: bigint, forgedKey: Uint8Array } | undefined
  rogue.onPart2 = (plan) => {
    const part1CID = plan.doc.orderPart2!.previousOrderCid
    const preimage = ecdsaPopPreimage(plan.doc.reference, part1CID)
    const f = forgeEcdsaPop(kb, sha256(preimage))
    forged = f
    const proof = concatBytes(scalarBytes(f.r), scalarBytes(f.s))
    // the forgery is real: OpenSSL's ECDSA accepts it for K_f, which nobody knows the key of
    const spki = concatBytes(Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex'), f.forgedKey)
    assert.ok(ecdsaVerify('sha256', preimage, { key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), dsaEncoding: 'ieee-p1363' }, proof))
    const doc = clone(OrderDocumentSchema, plan.doc)
    doc.orderPart2!.commitmentPublicKey = f.forgedKey
    doc.orderPart2!.proofOfPossession = proof
    return { ...plan, doc }
  }
  const refused = await principal.call('POST', '/v1/order', { beneficiaryIDDocumentCID: bob, extension: { coin: '0' } })
  assert.ok(forged !== undefined)
  // K_f + K_b = xG: had the principal accepted, the fiduciary alone would hold the final key
  assert.equal(hex(secp256k1.Point.fromBytes(forged.forgedKey).add(secp256k1.Point.fromBytes(kb)).toBytes(true)), hex(secpPublicKey(scalarBytes(forged.x))))
  assert.equal(refused.status, 502, show(refused.body))
  assert.equal(refused.body.code, 'ORDER_BAD_COMMITMENT')
  assert.deepEqual((await principal.call('GET', '/v1/order?page=0&perPage=10&sortBy=dateCreatedDesc')).body.orderReference, [], 'no order was recorded')

  // A genuine BIP-340 proof, but made for another plugin's order (same key, reference and part 1).
  rogue.onPart2 = (plan) => {
    const doc = clone(OrderDocumentSchema, plan.doc)
    const seed = rogue.seeds.get(doc.reference)!
    doc.orderPart2!.proofOfPossession = popSign(orderKeyFromSeed(seed).privateKey, doc.reference, doc.orderPart2!.previousOrderCid, 'milagro')
    return { ...plan, doc }
  }
  const otherPlugin = await principal.call('POST', '/v1/order', { extension: { coin: '0' } })
  assert.equal(otherPlugin.status, 502, show(otherPlugin.body))
  assert.equal(otherPlugin.body.code, 'ORDER_BAD_COMMITMENT')

  // The honest fiduciary's answer is accepted (the same rogue, hooks off).
  rogue.onPart2 = undefined
  const ok = await principal.call('POST', '/v1/order', { beneficiaryIDDocumentCID: bob, extension: { coin: '0' } })
  assert.equal(ok.status, 200, show(ok.body))
  // …and the final key is not K_f + K_b: the principal's own share is in it too (PROTOCOL §7)
  const kf = rogue.opened.get(ok.body.orderPart2CID)!.orderPart2!.commitmentPublicKey
  assert.notEqual(ok.body.commitment, hex(secp256k1.Point.fromBytes(kf).add(secp256k1.Point.fromBytes(kb)).toBytes(true)))
})

test('a malicious fiduciary cannot release a seed for another key, nor to anyone else, nor reuse a part 2', { timeout: 120_000 }, async (t) => {
  const world = await createWorld(t)
  const rogue = await new RogueFiduciary(await party('rogue fiduciary'), 'milagro').start()
  t.after(async () => { await rogue.close() })
  const principal = await principalOf(world, rogue, 'principal', 'milagro')
  const place = async (): Promise<string> => {
    const placed = await principal.call('POST', '/v1/order', {})
    assert.equal(placed.status, 200, show(placed.body))
    return placed.body.orderReference as string
  }

  // (a) part 4 carries another seed; its copy of part 2 is left as it was
  rogue.onPart4 = (plan) => ({ ...plan, doc: withPart4(clone(OrderDocumentSchema, plan.doc), plan.doc.orderPart4!.previousOrderCid, randomBytes(32)) })
  const other = await principal.call('POST', '/v1/order/secret', { orderReference: await place() })
  assert.equal(other.status, 502, show(other.body))
  assert.equal(other.body.code, 'ORDER_SECRET_MISMATCH')
  assert.equal(other.body.secret, undefined)

  // (b) another seed, and part 4's copy of part 2 rewritten to its key with a valid proof
  rogue.onPart4 = (plan) => {
    const seed = randomBytes(32)
    const d = plan.doc
    const part1CID = d.orderPart2!.previousOrderCid
    const rewritten = withPart2(newPart1({ reference: d.reference, plugin: d.plugin, principal: d.principalCid, fiduciary: d.fiduciaryCid }), part1CID, orderKeyFromSeed(seed))
    const doc = clone(OrderDocumentSchema, d)
    doc.orderPart2 = rewritten.orderPart2
    doc.orderPart4!.secret = seed
    return { ...plan, doc }
  }
  const rewritten = await principal.call('POST', '/v1/order/secret', { orderReference: await place() })
  assert.equal(rewritten.status, 403, show(rewritten.body))
  assert.equal(rewritten.body.code, 'ORDER_CHAIN_BROKEN')

  // (c) part 4 also encrypted to a confederate
  const mallory = await party('mallory')
  rogue.onPart4 = (plan) => ({ ...plan, recipients: [...plan.recipients, mallory.pub] })
  const leaked = await principal.call('POST', '/v1/order/secret', { orderReference: await place() })
  assert.equal(leaked.status, 403, show(leaked.body))
  assert.equal(leaked.body.code, 'ORDER_CHAIN_BROKEN')
  assert.equal(leaked.body.secret, undefined)

  // (d) the part 2 of an earlier order given as the answer to a new one (signed by the right key, for another order)
  rogue.onPart4 = undefined
  const first = await principal.call('POST', '/v1/order', {})
  const firstPart2 = rogue.doc(first.body.orderPart2CID)
  rogue.onPart2 = (plan) => ({ ...plan, doc: rogue.opened.get(firstPart2.cid)! })
  const replayed = await principal.call('POST', '/v1/order', {})
  assert.equal(replayed.status, 422, show(replayed.body))
  assert.equal(replayed.body.code, 'ORDER_BAD_DOCUMENT') // its content follows the other order's part 1

  // the honest answers still work: order and redemption, the secret is the committed key's
  rogue.onPart2 = undefined
  const reference = await place()
  const redeemed = await principal.call('POST', '/v1/order/secret', { orderReference: reference })
  assert.equal(redeemed.status, 200, show(redeemed.body))
  assert.equal(hex(orderKeyFromSeed(rogue.seeds.get(reference)!).privateKey), redeemed.body.secret)
})

test('a malicious fiduciary cannot lift the principal\'s share for a beneficiary into a chain of its own', { timeout: 180_000 }, async (t) => {
  const world = await createWorld(t)
  const rogue = await new RogueFiduciary(await party('rogue fiduciary'), 'bitcoinwallet').start()
  t.after(async () => { await rogue.close() })
  const principal = await principalOf(world, rogue, 'principal', 'bitcoinwallet')
  // the beneficiary's own node, whose master fiduciary (so a trusted one) is the rogue
  const beneficiary = await world.node('beneficiary', { nodeType: 'principal', service: 'bitcoinwallet', masterFiduciary: { cid: rogue.party.cid, url: rogue.url } })
  await principal.plant({ cid: beneficiary.cid, bytes: await beneficiary.node.documents.get(beneficiary.cid) })
  await beneficiary.plant(rogue.party)

  // A real order, redeemed for the beneficiary: part 3 carries the principal's share, encrypted to it.
  const placed = await principal.call('POST', '/v1/order', { extension: { coin: '0' } })
  assert.equal(placed.status, 200, show(placed.body))
  const released = await principal.call('POST', '/v1/order/secret', { orderReference: placed.body.orderReference, beneficiaryIDDocumentCID: beneficiary.cid })
  assert.equal(released.status, 200, show(released.body))
  assert.equal(released.body.secret, undefined, 'the principal does not get the beneficiary\'s key')
  const part3 = rogue.opened.get(released.body.orderPart3CID)!
  const lifted = part3.orderPart3!.beneficiaryEncryptedData
  assert.ok(lifted.length > 32, 'the fiduciary reads the encrypted share in part 3')

  // The rogue's own chain, with a fiduciary key it knows and the lifted share, for the beneficiary.
  const accomplice = await party('accomplice principal')
  const reference = newOrderReference()
  const seed = randomBytes(32)
  const kf = orderKeyFromSeed(seed)
  const benKey = { cid: beneficiary.cid, kemPublicKey: Buffer.from((await beneficiary.call('GET', `/v1/identity/${beneficiary.cid}`)).body.kemPublicKey as string, 'hex') }
  const doc1 = newPart1({ reference, plugin: 'bitcoinwallet', principal: accomplice.cid, fiduciary: rogue.party.cid })
  const p1 = await seal(accomplice, doc1, [accomplice.pub, rogue.party.pub])
  const doc2 = withPart2(doc1, p1.cid, kf)
  const p2 = await seal(rogue.party, doc2, [accomplice.pub, rogue.party.pub], p1.cid)
  const doc3 = withPart3(doc2, p2.cid, { beneficiaryCid: beneficiary.cid, beneficiaryEncryptedData: lifted })
  const p3 = await seal(accomplice, doc3, [accomplice.pub, rogue.party.pub, benKey], p2.cid)
  const p4 = await seal(rogue.party, withPart4(doc3, p3.cid, seed), [rogue.party.pub, benKey], p3.cid)
  await beneficiary.plant(accomplice, p1, p2, p3, p4)
  await rogue.publish(accomplice, p1, p2, p3, p4) // in its log too: the log must not be what stops it
  const oracle = await beneficiary.call('POST', '/v1/order/secret', { orderPart4CID: p4.cid })
  if (oracle.status === 200) {
    // what the node would have given away: k_f' + k_p, so k_p — and with the real order's k_f, its final key
    const kp = scalarBytes(BigInt('0x' + (oracle.body.secret as string)) - BigInt('0x' + hex(kf.privateKey)))
    const stolen = hex(secpAddPrivateKeys(orderKeyFromSeed(rogue.seeds.get(placed.body.orderReference)!).privateKey, kp))
    assert.notEqual(hex(secpPublicKey(Buffer.from(stolen, 'hex'))), placed.body.commitment, 'the fiduciary recovered the beneficiary\'s final key through its node')
  }
  assert.equal(oracle.status, 400, show(oracle.body))
  assert.equal(oracle.body.code, 'CRYPTO_DECRYPT_FAILED')

  // The real chain redeems on the beneficiary's node.
  await beneficiary.plant(...[placed.body.orderPart1CID, placed.body.orderPart2CID, released.body.orderPart3CID, released.body.orderPart4CID].map(cid => rogue.doc(cid)), rogue.doc(principal.cid))
  const real = await beneficiary.call('POST', '/v1/order/secret', { orderPart4CID: released.body.orderPart4CID })
  assert.equal(real.status, 200, show(real.body))
  assert.equal(real.body.commitment, placed.body.commitment)

  // And a part 4 of the real chain with another seed is refused on the beneficiary's node too.
  const doc4 = withPart4(rogue.opened.get(released.body.orderPart3CID)!, released.body.orderPart3CID, randomBytes(32))
  const wrongSeed = await seal(rogue.party, doc4, [rogue.party.pub, benKey], released.body.orderPart3CID)
  await beneficiary.plant(wrongSeed)
  await rogue.publish(wrongSeed)
  const mismatch = await beneficiary.call('POST', '/v1/order/secret', { orderPart4CID: wrongSeed.cid })
  assert.equal(mismatch.status, 502, show(mismatch.body))
  assert.equal(mismatch.body.code, 'ORDER_SECRET_MISMATCH')
})
