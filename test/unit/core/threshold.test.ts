/**
 * Threshold order documents and DKG messages (src/core/threshold.ts): round-1 packages and
 * round-2 shares round-trip as signed envelopes; a message bound to another order, another part 1,
 * another position or another transcript is refused; one signed by anyone but the expected
 * fiduciary is refused; a share opens for its one recipient only; part 1 and part 2 of a threshold
 * order validate, and an ordinary order cannot carry the threshold sections.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { createIdentityDocument, identityRecipient, identitySigner } from '../../../src/core/identity.ts'
import { newOrderReference, part1Document, part2Document, validateOrder } from '../../../src/core/order.ts'
import { openRound1, openShare, sealRound1, sealShare, thresholdOrder, thresholdPart2 } from '../../../src/core/threshold.ts'
import { dkgRound1, dkgRound2 } from '../../../src/crypto/frost-dkg.ts'
import { randomBytes } from '../../../src/crypto/random.ts'

const P = `Qm${'P'.repeat(44)}`
const CIDS = ['A', 'B', 'C'].map(c => `Qm${c.repeat(44)}`)
const PART1 = `Qm${'1'.repeat(44)}`

function throwsCode (fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isDtaError(err, code), `expected ${code}`)
}

const ids = CIDS.map((cid, i) => ({ cid, ...createIdentityDocument(randomBytes(32), `f${i}`) }))
const verifier = (i: number) => ({ cid: ids[i]!.cid, blsPublicKey: ids[i]!.keys.blsPublicKey })
const recipient = (i: number) => identityRecipient(ids[i]!.cid, ids[i]!.keys)
const kem = (i: number) => ({ cid: ids[i]!.cid, kemPublicKey: ids[i]!.keys.kemPublicKey })
const binding = { reference: newOrderReference(), part1CID: PART1 }

test('a round-1 package round-trips; another order, part 1, position or signer is refused', () => {
  const r1 = dkgRound1(2, 2, 3)
  const bytes = sealRound1({ signer: identitySigner(ids[1]!.cid, ids[1]!.keys), recipients: [kem(0), kem(1), kem(2)], binding, package: r1.package })
  const expect = { signer: verifier(1), recipient: recipient(0), binding, index: 2, t: 2, n: 3 }
  const pkg = openRound1(bytes, expect)
  assert.deepEqual(pkg.commitments, r1.package.commitments)
  throwsCode(() => openRound1(bytes, { ...expect, binding: { ...binding, reference: newOrderReference() } }), 'THRESHOLD_BAD_MESSAGE')
  throwsCode(() => openRound1(bytes, { ...expect, binding: { ...binding, part1CID: CIDS[0]! } }), 'THRESHOLD_BAD_MESSAGE')
  throwsCode(() => openRound1(bytes, { ...expect, index: 3 }), 'THRESHOLD_BAD_MESSAGE')
  throwsCode(() => openRound1(bytes, { ...expect, signer: verifier(2) }), 'ENVELOPE_WRONG_SIGNER')
  // signed under its CID by another key: the signature fails
  throwsCode(() => openRound1(bytes, { ...expect, signer: { cid: ids[1]!.cid, blsPublicKey: ids[2]!.keys.blsPublicKey } }), 'ENVELOPE_BAD_SIGNATURE')
  throwsCode(() => openRound1(bytes, { ...expect, t: 3 }), 'THRESHOLD_BAD_PACKAGE')
})

test('a share opens only for its recipient, bound to order, positions and transcript', () => {
  const dealers = [1, 2, 3].map(i => dkgRound1(i, 2, 3))
  const shares = dkgRound2(dealers[0]!.state, [dealers[1]!.package, dealers[2]!.package])
  const transcriptHash = randomBytes(32)
  const address = { ...binding, transcriptHash, from: 1, to: 2 }
  const bytes = sealShare({ signer: identitySigner(ids[0]!.cid, ids[0]!.keys), recipient: kem(1), address, share: shares.get(2)! })
  const expect = { signer: verifier(0), recipient: recipient(1), address }
  assert.deepEqual(openShare(bytes, expect), shares.get(2))
  throwsCode(() => openShare(bytes, { ...expect, recipient: recipient(2) }), 'THRESHOLD_BAD_MESSAGE')
  throwsCode(() => openShare(bytes, { ...expect, signer: verifier(2) }), 'ENVELOPE_WRONG_SIGNER')
  throwsCode(() => openShare(bytes, { ...expect, address: { ...address, reference: newOrderReference() } }), 'THRESHOLD_BAD_MESSAGE')
  throwsCode(() => openShare(bytes, { ...expect, address: { ...address, from: 3 } }), 'THRESHOLD_BAD_MESSAGE')
  throwsCode(() => openShare(bytes, { ...expect, address: { ...address, transcriptHash: randomBytes(32) } }), 'THRESHOLD_TRANSCRIPT_MISMATCH')
  // a round-1 envelope is not a share, and the other way round
  const r1 = sealRound1({ signer: identitySigner(ids[0]!.cid, ids[0]!.keys), recipients: [kem(1)], binding, package: dealers[0]!.package })
  throwsCode(() => openShare(r1, expect), 'ENVELOPE_WRONG_TYPE')
  throwsCode(() => openRound1(bytes, { signer: verifier(0), recipient: recipient(1), binding, index: 1, t: 2, n: 3 }), 'ENVELOPE_WRONG_TYPE')
})

test('threshold part 1 and part 2 validate; an ordinary order cannot carry them', () => {
  const base = { reference: binding.reference, plugin: 'milagro', coin: 0, principalCID: P, extension: {}, timestamp: 1_000 }
  const doc1 = part1Document({ ...base, fiduciaryCID: '', threshold: thresholdOrder(2, CIDS) })
  assert.equal(validateOrder(doc1, 1, PART1).reference, binding.reference)
  const th = thresholdPart2({ index: 1, verifyingShare: new Uint8Array(33).fill(2), transcriptHash: new Uint8Array(32) })
  const doc2 = part2Document(doc1, { part1CID: PART1, commitmentPublicKey: new Uint8Array(33).fill(2), proofOfPossession: new Uint8Array(64), timestamp: 2_000, threshold: th })
  validateOrder(doc2, 2, PART1)
  throwsCode(() => validateOrder(part2Document(doc1, { part1CID: PART1, commitmentPublicKey: new Uint8Array(33), proofOfPossession: new Uint8Array(64), timestamp: 2_000 }), 2, PART1), 'ORDER_BAD_DOCUMENT')
  throwsCode(() => validateOrder(part1Document({ ...base, fiduciaryCID: CIDS[0]!, threshold: thresholdOrder(2, CIDS) }), 1, PART1), 'ORDER_BAD_DOCUMENT')
  const ordinary = part1Document({ ...base, fiduciaryCID: CIDS[0]! })
  throwsCode(() => validateOrder(part2Document(ordinary, { part1CID: PART1, commitmentPublicKey: new Uint8Array(33), proofOfPossession: new Uint8Array(64), timestamp: 2_000, threshold: th }), 2, PART1), 'ORDER_BAD_DOCUMENT')
  throwsCode(() => thresholdOrder(2, [CIDS[0]!, CIDS[0]!, CIDS[1]!]), 'THRESHOLD_BAD_PARAMETERS')
  throwsCode(() => thresholdOrder(4, CIDS), 'THRESHOLD_BAD_PARAMETERS')
})
