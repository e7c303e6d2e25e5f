/**
 * Issue 4, test 4: the fiduciary's refusals (PROTOCOL §6), against a real fiduciary process. The
 * test plays the other parties itself: it makes identities of its own (src/core/identity.ts),
 * builds order parts with src/core/order.ts, and hands them to the fiduciary inline in the RPC
 * (`documents`: base64 by CID, each CID computed with cidV0Of), exactly as a principal node does.
 * A real principal process is used too, for a replay of a part 1 it really sent.
 *
 * - a part 3 signed by an identity that is neither principal nor beneficiary → 403, nothing released;
 * - a part 3 whose previous CID is not the part 2 this fiduciary issued (part 1, a forged part 2,
 *   content that disagrees with the header, an altered order) → 403 ORDER_CHAIN_BROKEN;
 * - the same part 1 again → the same part 2; the same part 3 again → the same part 4;
 * - a reused reference with different content (same or other principal) → 409 ORDER_REFERENCE_REUSED;
 * and, read from the fiduciary's database after it stopped, that the refused orders released
 * nothing, every refusal is in the audit trail, and the refused requests changed no row.
 * @module
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { clone, create } from '@bufbuild/protobuf'
import { createIdentityDocument, identityRecipient, identitySigner } from '../../../src/core/identity.ts'
import type { IdentityKeys } from '../../../src/core/identity.ts'
import { newOrderReference, openOrderPart, part1Document, sealOrderPart } from '../../../src/core/order.ts'
import { commitmentPopSign, commitmentPopVerify, orderKeyFromSeed, secpPublicKey, secpRandomPrivateKey } from '../../../src/crypto/secp256k1.ts'
import { OrderDocumentSchema, OrderPart2Schema, OrderPart3Schema } from '../../../src/envelope/gen/dta_pb.ts'
import type { OrderDocument } from '../../../src/envelope/gen/dta_pb.ts'
import type { RecipientPublicKey, Verifier } from '../../../src/envelope/envelope.ts'
import { cidV0Of } from '../../../src/adapters/ipfs/unixfs.ts'
import { createCluster, readState, show, startPair } from './harness.ts'
import type { ServerNode } from './harness.ts'
import { placeOrder, redeem, checkRedeemed } from './flows.ts'

interface Party {
  cid: string
  bytes: Uint8Array
  keys: IdentityKeys
  pub: RecipientPublicKey
}

async function party (name: string): Promise<Party> {
  const { bytes, keys } = createIdentityDocument(randomBytes(32), name)
  const cid = await cidV0Of(bytes)
  return { cid, bytes, keys, pub: { cid, kemPublicKey: keys.kemPublicKey } }
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

interface Doc { cid: string, bytes: Uint8Array }
async function doc (bytes: Uint8Array): Promise<Doc> {
  return { cid: await cidV0Of(bytes), bytes }
}

/** The fiduciary's public keys, from its identity endpoint. */
async function fiduciaryKeys (fiduciary: ServerNode): Promise<{ pub: RecipientPublicKey, verifier: Verifier }> {
  const view = await fiduciary.ok<{ kemPublicKey: string, blsPublicKey: string }>(`/v1/identity/${fiduciary.cid}`)
  return {
    pub: { cid: fiduciary.cid, kemPublicKey: Buffer.from(view.kemPublicKey, 'hex') },
    verifier: { cid: fiduciary.cid, blsPublicKey: Buffer.from(view.blsPublicKey, 'hex') },
  }
}

test('the fiduciary refuses what it must, and releases nothing when it does', { timeout: 120_000 }, async (t) => {
  const cluster = await createCluster(t)
  const { fiduciary, principal } = await startPair(cluster, 'milagro')
  const fid = await fiduciaryKeys(fiduciary)
  const alice = await party('alice (test principal)')
  const mallory = await party('mallory (neither principal nor beneficiary)')

  const part1 = async (by: Party, reference: string, timestamp = Date.now(), principalCID = by.cid): Promise<Doc> => {
    const document = part1Document({ reference, plugin: 'milagro', coin: 0, principalCID, fiduciaryCID: fiduciary.cid, extension: {}, timestamp })
    return await doc(sealOrderPart({ signer: identitySigner(by.cid, by.keys), document, recipients: [by.pub, fid.pub] }))
  }
  const fulfillOrder = async (by: Party, p1: Doc) => await fiduciary.post('/v1/fulfill/order', {
    orderPart1CID: p1.cid, documentCID: by.cid, documents: { [p1.cid]: b64(p1.bytes), [by.cid]: b64(by.bytes) },
  })
  /** A part 3 by `by`: the order `base` plus a redemption request; header previous and content previous may differ. */
  const part3 = async (by: Party, base: OrderDocument, previous: string, options: { contentPrevious?: string, alter?: (d: OrderDocument) => void } = {}): Promise<Doc> => {
    const d = clone(OrderDocumentSchema, base)
    d.orderPart3 = create(OrderPart3Schema, { previousOrderCid: options.contentPrevious ?? previous, timestamp: BigInt(Date.now()) })
    options.alter?.(d)
    return await doc(sealOrderPart({ signer: identitySigner(by.cid, by.keys), document: d, recipients: [by.pub, fid.pub], previousCID: previous }))
  }
  const fulfillSecret = async (by: Party, p3: Doc, extra: Doc[] = []) => await fiduciary.post('/v1/fulfill/order/secret', {
    orderPart3CID: p3.cid, documentCID: by.cid,
    documents: Object.fromEntries([[p3.cid, b64(p3.bytes)], [by.cid, b64(by.bytes)], ...extra.map(e => [e.cid, b64(e.bytes)])]),
  })
  const refusedCount = new Map<string, number>()
  const expectRefused = (reference: string, r: { status: number, body: any }, status: number, code: string): void => {
    assert.equal(r.status, status, show(r.body))
    assert.equal(r.body.code, code)
    assert.equal(r.body.orderPart4CID, undefined)
    refusedCount.set(reference, (refusedCount.get(reference) ?? 0) + 1)
  }

  // ── alice's order A, placed by the test ──────────────────────────────────────────────────────
  const refA = newOrderReference()
  const p1A = await part1(alice, refA)
  const answerA = await fulfillOrder(alice, p1A)
  assert.equal(answerA.status, 200, show(answerA.body))
  const p2ACid: string = answerA.body.orderPart2CID
  const p2ABytes = Buffer.from(answerA.body.documents[p2ACid], 'base64')
  assert.equal(await cidV0Of(p2ABytes), p2ACid, 'the inline part 2 hashes to its CID')
  const opened2 = openOrderPart(p2ABytes, fid.verifier, identityRecipient(alice.cid, alice.keys))
  assert.equal(opened2.previousCID, p1A.cid)
  const doc2A = opened2.document
  const commitmentA = doc2A.orderPart2!.commitmentPublicKey
  assert.ok(commitmentPopVerify(commitmentA, { reference: refA, part1CID: p1A.cid, plugin: 'milagro' }, doc2A.orderPart2!.proofOfPossession), 'the fiduciary proves possession of the commitment key')

  // Replayed part 1 → the same part 2.
  const replayA = await fulfillOrder(alice, p1A)
  assert.equal(replayA.status, 200, show(replayA.body))
  assert.equal(replayA.body.orderPart2CID, p2ACid, 'a replayed part 1 gets the same part 2')

  // Reused reference with different content: alice again (another timestamp), then mallory.
  const reuse = await fulfillOrder(alice, await part1(alice, refA, Date.now() + 1))
  assert.equal(reuse.status, 409, show(reuse.body))
  assert.equal(reuse.body.code, 'ORDER_REFERENCE_REUSED')
  const reuseOther = await fulfillOrder(mallory, await part1(mallory, refA))
  assert.equal(reuseOther.status, 409, show(reuseOther.body))
  assert.equal(reuseOther.body.code, 'ORDER_REFERENCE_REUSED')
  // A part 1 signed by mallory in alice's name: the signer is not the order's principal.
  const p1Other = await part1(mallory, newOrderReference(), Date.now(), alice.cid)
  const notPrincipal = await fulfillOrder(mallory, p1Other)
  assert.equal(notPrincipal.status, 403, show(notPrincipal.body))
  assert.equal(notPrincipal.body.code, 'ORDER_NOT_PRINCIPAL')
  // The same part 1 presented as alice's: its signature is not alice's.
  // (sent inline again: the refused request before stored nothing)
  const wrongSigner = await fiduciary.post('/v1/fulfill/order', { orderPart1CID: p1Other.cid, documentCID: alice.cid, documents: { [p1Other.cid]: b64(p1Other.bytes), [alice.cid]: b64(alice.bytes) } })
  assert.equal(wrongSigner.status, 400, show(wrongSigner.body))
  assert.match(wrongSigner.body.code, /^ENVELOPE_/)

  // Redemption refusals on A.
  // 1. signed by an identity that is neither principal nor beneficiary, with the exact order.
  expectRefused(refA, await fulfillSecret(mallory, await part3(mallory, doc2A, p2ACid)), 403, 'ORDER_NOT_ENTITLED')
  // 2. previous = part 1, not the part 2 this fiduciary issued.
  expectRefused(refA, await fulfillSecret(alice, await part3(alice, doc2A, p1A.cid)), 403, 'ORDER_CHAIN_BROKEN')
  // 3. previous = a forged part 2 (alice's own commitment key, signed by alice), sent inline.
  const forgedKey = secpRandomPrivateKey()
  const forged = clone(OrderDocumentSchema, doc2A)
  forged.orderPart2 = create(OrderPart2Schema, {
    commitmentPublicKey: secpPublicKey(forgedKey), proofOfPossession: commitmentPopSign(forgedKey, { reference: refA, part1CID: p1A.cid, plugin: 'milagro' }),
    previousOrderCid: p1A.cid, timestamp: BigInt(Date.now()),
  })
  const forged2 = await doc(sealOrderPart({ signer: identitySigner(alice.cid, alice.keys), document: forged, recipients: [alice.pub, fid.pub], previousCID: p1A.cid }))
  expectRefused(refA, await fulfillSecret(alice, await part3(alice, forged, forged2.cid), [forged2]), 403, 'ORDER_CHAIN_BROKEN')
  // 4. header previous = the issued part 2, but the content says part 1.
  expectRefused(refA, await fulfillSecret(alice, await part3(alice, doc2A, p2ACid, { contentPrevious: p1A.cid })), 403, 'ORDER_CHAIN_BROKEN')
  // 5. the right chain, but the order it carries is not the committed one (mallory as beneficiary).
  expectRefused(refA, await fulfillSecret(alice, await part3(alice, doc2A, p2ACid, { alter: d => { d.beneficiaryCid = mallory.cid } })), 403, 'ORDER_CHAIN_BROKEN')

  // The principal's own, correct part 3 is then released — to alice only — and the same part 3
  // again gets the same part 4.
  const p3A = await part3(alice, doc2A, p2ACid)
  const released = await fulfillSecret(alice, p3A)
  assert.equal(released.status, 200, show(released.body))
  const p4ACid: string = released.body.orderPart4CID
  const p4ABytes = Buffer.from(released.body.documents[p4ACid], 'base64')
  const opened4 = openOrderPart(p4ABytes, fid.verifier, identityRecipient(alice.cid, alice.keys))
  assert.equal(opened4.previousCID, p3A.cid)
  assert.deepEqual([...opened4.recipients].sort(), [alice.cid, fiduciary.cid].sort(), 'part 4 is encrypted to the fiduciary and the principal only')
  const seed = opened4.document.orderPart4!.secret
  assert.ok(Buffer.from(orderKeyFromSeed(seed).publicKey).equals(Buffer.from(commitmentA)), 'the released seed is the committed key\'s')
  const repeated = await fulfillSecret(alice, p3A)
  assert.equal(repeated.status, 200)
  assert.equal(repeated.body.orderPart4CID, p4ACid, 'the same part 3 again gets the same part 4')
  // After the release mallory is still refused; a replayed part 1 still gets the same part 2.
  expectRefused(refA, await fulfillSecret(mallory, await part3(mallory, doc2A, p2ACid)), 403, 'ORDER_NOT_ENTITLED')
  assert.equal((await fulfillOrder(alice, p1A)).body.orderPart2CID, p2ACid)

  // ── alice's order B: only mallory asks; it must stay unreleased ──────────────────────────────
  const refB = newOrderReference()
  const p1B = await part1(alice, refB)
  const answerB = await fulfillOrder(alice, p1B)
  assert.equal(answerB.status, 200, show(answerB.body))
  const p2BCid: string = answerB.body.orderPart2CID
  const doc2B = openOrderPart(Buffer.from(answerB.body.documents[p2BCid], 'base64'), fid.verifier, identityRecipient(alice.cid, alice.keys)).document
  expectRefused(refB, await fulfillSecret(mallory, await part3(mallory, doc2B, p2BCid)), 403, 'ORDER_NOT_ENTITLED')

  // ── a real principal's order: its part 1 replayed by the test gets the same part 2 ─────────
  const real = await placeOrder(principal, 'milagro')
  const replayReal = await fiduciary.post('/v1/fulfill/order', { orderPart1CID: real.orderPart1CID, documentCID: principal.cid })
  assert.equal(replayReal.status, 200, show(replayReal.body))
  assert.equal(replayReal.body.orderPart2CID, real.orderPart2CID, 'the replay of a real part 1 gets the same part 2')
  const reuseReal = await fulfillOrder(mallory, await part1(mallory, real.reference))
  assert.equal(reuseReal.status, 409, show(reuseReal.body))
  assert.equal(reuseReal.body.code, 'ORDER_REFERENCE_REUSED')
  // …and the principal still redeems it, with the same commitment.
  checkRedeemed(real, await redeem(principal, real))

  assert.deepEqual(fiduciary.errorLines(), [], 'no error logged by the fiduciary')
  assert.equal(await fiduciary.stop(), 'graceful')
  const { orders, audit } = readState(fiduciary.home)
  const row = (reference: string) => orders.find(o => o.role === 'fiduciary' && o.reference === reference)
  const releases = (reference: string) => audit.filter(a => a.op === 'seed.released' && a.reference === `order/fiduciary/${reference}`)
  const refusals = (reference: string) => audit.filter(a => a.op === 'release.refused' && a.reference === reference)

  const rowA = row(refA)
  assert.ok(rowA !== undefined)
  assert.equal(rowA.principal_cid, alice.cid, 'the reused reference did not change the principal')
  assert.equal(rowA.part1_cid, p1A.cid, 'the reused reference did not change part 1')
  assert.equal(rowA.part2_cid, p2ACid)
  assert.equal(rowA.part3_cid, p3A.cid, 'refused part 3s were not recorded')
  assert.equal(rowA.part4_cid, p4ACid)
  assert.equal(rowA.has_seed, 1)
  assert.deepEqual(releases(refA).map(a => a.actor), [alice.cid], 'A was released once, to alice')
  assert.equal(refusals(refA).length, refusedCount.get(refA), 'every refusal on A is in the audit trail')
  assert.ok(refusals(refA).some(a => a.actor === mallory.cid && a.detail?.startsWith('ORDER_NOT_ENTITLED') === true))

  const rowB = row(refB)
  assert.ok(rowB !== undefined)
  assert.equal(rowB.part3_cid, null, 'nothing recorded for B\'s refused redemption')
  assert.equal(rowB.part4_cid, null, 'B has no part 4')
  assert.equal(releases(refB).length, 0, 'B released nothing')
  assert.deepEqual(refusals(refB).map(a => a.actor), [mallory.cid])

  const rowReal = row(real.reference)
  assert.equal(rowReal?.principal_cid, principal.cid)
  assert.equal(rowReal?.part1_cid, real.orderPart1CID)
  assert.equal(rowReal?.part2_cid, real.orderPart2CID)
  // Exactly the three orders the fiduciary accepted exist; the refused part 1s left no rows.
  assert.deepEqual(orders.map(o => o.reference).sort(), [refA, refB, real.reference].sort())
  assert.equal(audit.filter(a => a.op === 'seed.released').length, 2, 'only A and the real principal\'s order were released')
})
