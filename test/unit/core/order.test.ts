/**
 * The order parts as pure transitions (src/core/order.ts): each part builds on the one before
 * and carries the whole order so far, `sameOrder`/`assertSameOrder` compare a later part's copy
 * with what was written, `releaseRecipient` names who part 4 goes to, `releasedOrderKey` checks a
 * released seed against a commitment, and `validateOrder` refuses malformed orders per part.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { createIdentityDocument, identityRecipient, identitySigner } from '../../../src/core/identity.ts'
import {
  assertSameOrder, newOrderReference, openOrderPart, orderSecretRecord, orderUpTo, parseOrderSecretRecord, part1Document, part2Document, part3Document, part4Document,
  releasedOrderKey, releaseRecipient, sameOrder, sealOrderPart, validateOrder,
} from '../../../src/core/order.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import { orderKeyFromSeed } from '../../../src/crypto/secp256k1.ts'

const P = `Qm${'P'.repeat(44)}`
const F = `Qm${'F'.repeat(44)}`
const B = `Qm${'B'.repeat(44)}`
const C = `Qm${'C'.repeat(44)}`
const CID1 = `Qm${'1'.repeat(44)}`
const CID2 = `Qm${'2'.repeat(44)}`
const CID3 = `Qm${'3'.repeat(44)}`

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isDtaError(err, code), `expected ${code}`)
}

function chain (beneficiary?: string, redemptionBeneficiary?: string) {
  const seed = randomBytes(32)
  const key = orderKeyFromSeed(seed)
  const doc1 = part1Document({ reference: newOrderReference(), plugin: 'milagro', coin: 0, principalCID: P, fiduciaryCID: F, beneficiaryCID: beneficiary, extension: { a: 'b' }, timestamp: 1_000 })
  const doc2 = part2Document(doc1, { part1CID: CID1, commitmentPublicKey: key.publicKey, proofOfPossession: new Uint8Array(64), timestamp: 2_000 })
  const doc3 = part3Document(doc2, { part2CID: CID2, beneficiaryCID: redemptionBeneficiary, timestamp: 3_000 })
  const doc4 = part4Document(doc3, { part3CID: CID3, seed, orderKey: key.privateKey, timestamp: 4_000 })
  return { seed, key, doc1, doc2, doc3, doc4 }
}

test('each part builds on the one before, carries the order so far and validates as that part', () => {
  const { key, seed, doc1, doc2, doc3, doc4 } = chain(B)
  assert.equal(doc1.orderPart2, undefined)
  assert.deepEqual(doc2.orderPart2?.commitmentPublicKey, key.publicKey)
  assert.equal(doc2.orderPart2?.previousOrderCid, CID1)
  assert.equal(doc3.orderPart3?.previousOrderCid, CID2)
  assert.equal(doc3.orderPart3?.beneficiaryCid, '')
  assert.deepEqual(doc4.orderPart4?.secret, seed)
  assert.equal(doc4.orderPart4?.previousOrderCid, CID3)
  assert.equal(validateOrder(doc1, 1, CID1).beneficiaryCID, B)
  validateOrder(doc2, 2, CID1)
  validateOrder(doc3, 3, CID1)
  validateOrder(doc4, 4, CID1)
  // a part given as another part number is refused
  throwsCode(() => validateOrder(doc2, 1, CID1), 'ORDER_BAD_DOCUMENT')
  throwsCode(() => validateOrder(doc1, 2, CID1), 'ORDER_BAD_DOCUMENT')
  throwsCode(() => validateOrder(doc2, 2, CID2), 'ORDER_BAD_DOCUMENT') // part 2 must follow this part 1
  throwsCode(() => validateOrder(doc4, 3, CID1), 'ORDER_BAD_DOCUMENT')
  // the transitions do not change their input
  assert.equal(doc1.orderPart2, undefined)
  assert.equal(doc2.orderPart3, undefined)
})

test('sameOrder compares a later part\'s copy of the earlier parts with what was written', () => {
  const { doc1, doc2, doc3, doc4 } = chain()
  assert.ok(sameOrder(doc2, doc1, 1))
  assert.ok(sameOrder(doc4, doc3, 3))
  assert.ok(sameOrder(doc4, doc2, 2))
  assert.deepEqual(orderUpTo(doc4, 2), doc2)
  const altered = part3Document(doc2, { part2CID: CID2, timestamp: 3_000 })
  altered.beneficiaryCid = C
  assert.equal(sameOrder(altered, doc2, 2), false)
  throwsCode(() => assertSameOrder(altered, doc2, 2, 'altered'), 'ORDER_CHAIN_BROKEN')
  const otherKey = part2Document(doc1, { part1CID: CID1, commitmentPublicKey: orderKeyFromSeed(randomBytes(32)).publicKey, proofOfPossession: new Uint8Array(64), timestamp: 2_000 })
  assert.equal(sameOrder(part3Document(otherKey, { part2CID: CID2, timestamp: 3_000 }), doc2, 2), false, 'another commitment')
})

test('part 4 goes to the order-time beneficiary, else the one part 3 names, else the principal', () => {
  assert.equal(releaseRecipient(chain(B).doc3), B)
  assert.equal(releaseRecipient(chain(undefined, C).doc3), C)
  assert.equal(releaseRecipient(chain().doc3), P)
  // an order-time beneficiary wins even if part 3 names another (the fiduciary refuses that part 3 anyway)
  assert.equal(releaseRecipient(chain(B, C).doc3), B)
})

test('releasedOrderKey: the seed must give the commitment it is checked against', () => {
  const { doc4, key } = chain()
  assert.deepEqual(releasedOrderKey(doc4, key.publicKey).privateKey, key.privateKey)
  throwsCode(() => releasedOrderKey(doc4, orderKeyFromSeed(randomBytes(32)).publicKey), 'ORDER_SECRET_MISMATCH')
  const { doc3 } = chain()
  throwsCode(() => releasedOrderKey(doc3, key.publicKey), 'ORDER_BAD_DOCUMENT')
  throwsCode(() => releasedOrderKey(part4Document(doc3, { part3CID: CID3, seed: new Uint8Array(31), orderKey: new Uint8Array(0), timestamp: 1 }), key.publicKey), 'ORDER_BAD_DOCUMENT')
  // the key derived once by the fiduciary is what is checked; a part 4 from an earlier fiduciary, seed only, derives it
  const seedOnly = part4Document(doc3, { part3CID: CID3, seed: new Uint8Array(32).fill(7), orderKey: new Uint8Array(0), timestamp: 1 })
  const derived = orderKeyFromSeed(new Uint8Array(32).fill(7))
  assert.deepEqual(releasedOrderKey(seedOnly, derived.publicKey).privateKey, derived.privateKey)
  const otherKey = orderKeyFromSeed(randomBytes(32)).privateKey
  throwsCode(() => releasedOrderKey(part4Document(doc3, { part3CID: CID3, seed: new Uint8Array(32), orderKey: otherKey, timestamp: 1 }), key.publicKey), 'ORDER_SECRET_MISMATCH')
  throwsCode(() => releasedOrderKey(part4Document(doc3, { part3CID: CID3, seed: new Uint8Array(32), orderKey: new Uint8Array(31), timestamp: 1 }), key.publicKey), 'ORDER_BAD_DOCUMENT')
  throwsCode(() => releasedOrderKey(part4Document(doc3, { part3CID: CID3, seed: new Uint8Array(32), orderKey: new Uint8Array(32), timestamp: 1 }), key.publicKey), 'ORDER_SECRET_MISMATCH')
})

test('the fiduciary\'s order record: the seed and its key sealed together; a record of the seed alone derives the key', () => {
  const seed = randomBytes(32)
  const key = orderKeyFromSeed(seed)
  const parsed = parseOrderSecretRecord(orderSecretRecord(seed, key.privateKey))
  assert.deepEqual(parsed.seed, seed)
  assert.deepEqual(parsed.orderKey, key.privateKey)
  assert.deepEqual(parseOrderSecretRecord(seed).orderKey, key.privateKey)
  throwsCode(() => parseOrderSecretRecord(new Uint8Array(40)), 'INTERNAL')
})

test('an order part seals and opens to the same document; only its recipients open it', () => {
  const principal = createIdentityDocument(randomBytes(32), 'p')
  const other = createIdentityDocument(randomBytes(32), 'o')
  const { doc4 } = chain()
  const bytes = sealOrderPart({ signer: identitySigner(P, principal.keys), document: doc4, recipients: [{ cid: P, kemPublicKey: principal.keys.kemPublicKey }], previousCID: CID3 })
  const opened = openOrderPart(bytes, { cid: P, blsPublicKey: principal.keys.blsPublicKey }, identityRecipient(P, principal.keys))
  assert.deepEqual(opened.document, doc4)
  assert.equal(opened.previousCID, CID3)
  assert.deepEqual(opened.recipients, [P])
  throwsCode(() => openOrderPart(bytes, { cid: P, blsPublicKey: principal.keys.blsPublicKey }, identityRecipient(C, other.keys)), 'ENVELOPE_NOT_A_RECIPIENT')
  throwsCode(() => openOrderPart(bytes, { cid: P, blsPublicKey: other.keys.blsPublicKey }, identityRecipient(P, principal.keys)), 'ENVELOPE_BAD_SIGNATURE')
})
