/**
 * Threshold orders through the real services in process (threshold-network.ts): a (3,5) order
 * and its redemption, the key checked independently against the commitment; redemption with 2
 * fiduciaries down, and a clean failure naming who is missing with 3 down; a fiduciary that sends
 * a wrong DKG share is named and the order aborts without a key; a fiduciary that releases a wrong
 * share is named and the redemption succeeds from the others; a principal that shows different
 * round-1 packages to different fiduciaries is caught (by the fiduciaries, and by an honest
 * principal's own check); no fiduciary's store or custody holds the whole key.
 * @module
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { DtaError } from '../../../src/errors.ts'
import { decodeOrderPart, newOrderReference, part1Document, sealOrderPart } from '../../../src/core/order.ts'
import { sealRound1, sealShare, thresholdOrder } from '../../../src/core/threshold.ts'
import { dkgRound1 } from '../../../src/crypto/frost-dkg.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import { parseEnvelope } from '../../../src/envelope/envelope.ts'
import { milagroPlugin } from '../../../src/plugins/milagro/index.ts'
import { bitcoinAddress, bitcoinWalletPlugin } from '../../../src/plugins/bitcoinwallet/index.ts'
import { safeguardSecretPlugin } from '../../../src/plugins/safeguardsecret/index.ts'
import { recipientOf, signerOf } from '../../../src/services/identities.ts'
import { inline } from '../../../src/services/inline.ts'
import { rejectsCode } from './network.ts'
import { thresholdNetwork } from './threshold-network.ts'
import type { ThresholdNetwork } from './threshold-network.ts'

const down = (): never => { throw new DtaError('PEER_UNREACHABLE', 'stopped') }

/** Every file under `dir`, recursively. */
async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await filesUnder(p))
    else out.push(p)
  }
  return out
}

describe('threshold orders, (3,5)', () => {
  let net: ThresholdNetwork
  before(async () => { net = await thresholdNetwork(milagroPlugin(), 5) })
  after(async () => { await net.close() })
  const extension = (t = 3): Record<string, string> => ({ fiduciaries: net.fiduciaries.map(f => f.cid).join(','), threshold: String(t) })

  it('orders and redeems; the key matches the commitment (independent secp256k1 check); no fiduciary store holds it', async () => {
    const order = await net.principal.order.create({ extension: extension() })
    assert.equal(order.extension.threshold, '3')
    assert.equal(order.extension.orderPart2CIDs!.split(',').length, 5)
    const redeemed = await net.principal.order.secret({ orderReference: order.orderReference })
    assert.equal(redeemed.extension.released!.split(',').length, 5)
    assert.equal(redeemed.extension.missing, '')
    assert.equal(redeemed.extension.wrong, '')
    const publicKey = Buffer.from(secp256k1.getPublicKey(Buffer.from(redeemed.secret!, 'hex'), true)).toString('hex')
    assert.equal(publicKey, order.commitment)
    assert.equal(order.extension.groupKey, order.commitment)
    // every fiduciary's part is shown
    const view = JSON.parse((await net.principal.order.get(order.orderReference)).order) as { threshold: { t: number, fiduciaries: Array<{ released: string }> } }
    assert.equal(view.threshold.t, 3)
    assert.deepEqual(view.threshold.fiduciaries.map(f => f.released), ['good', 'good', 'good', 'good', 'good'])
    // redeem again: the same key (single-release rule: the same part 3 content gives the same recipient)
    const again = await net.principal.order.secret({ orderReference: order.orderReference })
    assert.equal(again.secret, redeemed.secret)
    // no fiduciary's folder (state database, WAL, custody key) holds the key's bytes or hex
    const raw = Buffer.from(redeemed.secret!, 'hex')
    for (const f of net.fiduciaries) {
      await f.state.close().catch(() => {})
      for (const file of await filesUnder(f.dir)) {
        const bytes = await readFile(file)
        assert.equal(bytes.indexOf(raw), -1, `${file} holds the key`)
        assert.equal(bytes.indexOf(Buffer.from(redeemed.secret!)), -1, `${file} holds the key in hex`)
      }
    }
  })
})

describe('threshold orders, failures', () => {
  let net: ThresholdNetwork
  before(async () => { net = await thresholdNetwork(milagroPlugin(), 5) })
  after(async () => { await net.close() })
  const extension = (t = 3): Record<string, string> => ({ fiduciaries: net.fiduciaries.map(f => f.cid).join(','), threshold: String(t) })

  it('redeems with 2 of 5 down, naming them; fails with 3 down, naming who is missing', async () => {
    const order = await net.principal.order.create({ extension: extension() })
    for (const i of [1, 3]) net.wrap(i, real => ({ ...real, fulfillOrderSecret: down }))
    const redeemed = await net.principal.order.secret({ orderReference: order.orderReference })
    assert.equal(redeemed.extension.missing, `${net.fiduciaries[1]!.cid}:PEER_UNREACHABLE,${net.fiduciaries[3]!.cid}:PEER_UNREACHABLE`)
    assert.equal(Buffer.from(secp256k1.getPublicKey(Buffer.from(redeemed.secret!, 'hex'), true)).toString('hex'), order.commitment)
    net.restore()

    const other = await net.principal.order.create({ extension: extension() })
    for (const i of [0, 2, 4]) net.wrap(i, real => ({ ...real, fulfillOrderSecret: down }))
    await assert.rejects(net.principal.order.secret({ orderReference: other.orderReference }), (err: unknown) => {
      assert.ok(err instanceof DtaError && err.code === 'THRESHOLD_NOT_ENOUGH_SHARES', String(err))
      for (const i of [0, 2, 4]) assert.match(err.message, new RegExp(`${net.fiduciaries[i]!.cid}:PEER_UNREACHABLE`))
      return true
    })
    net.restore()
  })

  it('a fiduciary that sends a wrong DKG share is named and the order aborts without a key', async () => {
    const liar = net.fiduciaries[2]!
    net.wrap(2, real => ({
      ...real,
      async thresholdRound2 (request, options) {
        const answer = await real.thresholdRound2(request, options)
        const doc1 = decodeOrderPart(parseEnvelope(await net.documents.get(request.orderPart1CID)), recipientOf(liar.held)).document
        // its share for fiduciary 1, replaced by a random scalar, properly sealed and signed
        const victim = net.fiduciaries[0]!
        const [recipient] = await liar.identities.recipients([victim.cid])
        const bytes = sealShare({ signer: signerOf(liar.held), recipient: recipient!, address: { reference: doc1.reference, part1CID: request.orderPart1CID, transcriptHash: Buffer.from(answer.transcriptHash, 'hex'), from: 3, to: 1 }, share: secp256k1.utils.randomSecretKey() })
        const cid = await net.documents.put(bytes)
        const shareCIDs = [...answer.shareCIDs]; shareCIDs[0] = cid
        return { ...answer, shareCIDs, documents: { ...answer.documents, ...inline([[cid, bytes]]) } }
      },
    }))
    const before = (await net.principal.state.listOrders('principal', { page: 1, perPage: 100, sortBy: 'dateCreatedAsc' })).length
    await assert.rejects(net.principal.order.create({ extension: extension() }), (err: unknown) => {
      assert.ok(err instanceof DtaError && err.code === 'THRESHOLD_DKG_FAILED', String(err))
      assert.match(err.message, new RegExp(`${net.fiduciaries[0]!.cid} THRESHOLD_BAD_SHARE \\(names ${liar.cid}\\)`))
      return true
    })
    net.restore()
    assert.equal((await net.principal.state.listOrders('principal', { page: 1, perPage: 100, sortBy: 'dateCreatedAsc' })).length, before, 'no order recorded')
  })

  it('a share with a broken signature, relayed unchecked by the principal, is refused by its recipient naming the sender', async () => {
    const liar = net.fiduciaries[3]!
    net.wrap(3, real => ({
      ...real,
      async thresholdRound2 (request, options) {
        const answer = await real.thresholdRound2(request, options)
        const bytes = Uint8Array.from(await net.documents.get(answer.shareCIDs[0]!))
        bytes[bytes.length - 1]! ^= 1 // inside the signature
        const cid = await net.documents.put(bytes)
        const shareCIDs = [...answer.shareCIDs]; shareCIDs[0] = cid
        return { ...answer, shareCIDs, documents: { ...answer.documents, ...inline([[cid, bytes]]) } }
      },
    }))
    await assert.rejects(net.principal.order.create({ extension: extension() }), (err: unknown) => {
      assert.ok(err instanceof DtaError && err.code === 'THRESHOLD_DKG_FAILED', String(err))
      assert.match(err.message, new RegExp(`round 3: ${net.fiduciaries[0]!.cid} ENVELOPE_[A-Z_]+ \\(names ${liar.cid}\\)`))
      return true
    })
    net.restore()
  })

  it('a fiduciary that releases a wrong share is named, and the redemption succeeds from the others', async () => {
    const order = await net.principal.order.create({ extension: extension() })
    const liar = net.fiduciaries[4]!
    net.wrap(4, real => ({
      ...real,
      async fulfillOrderSecret (request, options) {
        const answer = await real.fulfillOrderSecret(request, options)
        const parsed = parseEnvelope(await net.documents.get(answer.orderPart4CID))
        const doc4 = decodeOrderPart(parsed, recipientOf(liar.held)).document
        doc4.orderPart4!.orderKey = secp256k1.utils.randomSecretKey()
        const bytes = sealOrderPart({ signer: signerOf(liar.held), document: doc4, recipients: await liar.identities.recipients(parsed.header.recipients), previousCID: parsed.header.previousCID })
        const cid = await net.documents.put(bytes)
        return { ...answer, orderPart4CID: cid, documents: inline([[cid, bytes]]) }
      },
    }))
    const redeemed = await net.principal.order.secret({ orderReference: order.orderReference })
    net.restore()
    assert.equal(redeemed.extension.wrong, liar.cid)
    assert.equal(Buffer.from(secp256k1.getPublicKey(Buffer.from(redeemed.secret!, 'hex'), true)).toString('hex'), order.commitment)
  })

  it('a beneficiary on another node: the principal hands off the part 4 CIDs; the beneficiary\'s node names a wrong share and combines the others', async () => {
    const order = await net.principal.order.create({ beneficiaryIDDocumentCID: net.beneficiary.cid, extension: extension() })
    const liar = net.fiduciaries[1]!
    net.wrap(1, real => ({
      ...real,
      async fulfillOrderSecret (request, options) {
        const answer = await real.fulfillOrderSecret(request, options)
        const parsed = parseEnvelope(await net.documents.get(answer.orderPart4CID))
        const doc4 = decodeOrderPart(parsed, recipientOf(liar.held)).document
        doc4.orderPart4!.orderKey = secp256k1.utils.randomSecretKey()
        const bytes = sealOrderPart({ signer: signerOf(liar.held), document: doc4, recipients: await liar.identities.recipients(parsed.header.recipients), previousCID: parsed.header.previousCID })
        const cid = await net.documents.put(bytes)
        return { ...answer, orderPart4CID: cid, documents: inline([[cid, bytes]]) }
      },
    }))
    for (const i of [3]) net.wrap(i, real => ({ ...real, fulfillOrderSecret: down }))
    const handed = await net.principal.order.secret({ orderReference: order.orderReference })
    net.restore()
    assert.equal(handed.secret, undefined)
    assert.equal(handed.extension.beneficiaryIDDocumentCID, net.beneficiary.cid)
    assert.match(handed.extension.missing!, new RegExp(`${net.fiduciaries[3]!.cid}:PEER_UNREACHABLE`))
    const cids = handed.extension.orderPart4CIDs!
    assert.equal(cids.split(',').length, 4)
    const redeemed = await net.beneficiary.order.secret({ orderPart4CID: handed.orderPart4CID, extension: { orderPart4CIDs: cids } })
    assert.equal(redeemed.extension.wrong, liar.cid)
    assert.equal(redeemed.extension.released!.split(',').length, 3)
    assert.equal(Buffer.from(secp256k1.getPublicKey(Buffer.from(redeemed.secret!, 'hex'), true)).toString('hex'), order.commitment)
    // the principal's own node cannot read them
    await rejectsCode(net.principal.order.secret({ orderPart4CID: handed.orderPart4CID, extension: { orderPart4CIDs: cids } }), 'ENVELOPE_NOT_A_RECIPIENT')
    // a document not signed by a trusted fiduciary (here part 1, by the principal) is refused
    await rejectsCode(net.beneficiary.order.secret({ extension: { orderPart4CIDs: `${order.orderPart1CID},${cids}` } }), 'ORDER_FIDUCIARY_NOT_TRUSTED')
    // part 4s of two orders do not combine
    const other = await net.principal.order.create({ beneficiaryIDDocumentCID: net.beneficiary.cid, extension: extension() })
    const otherCIDs = (await net.principal.order.secret({ orderReference: other.orderReference })).extension.orderPart4CIDs!.split(',')
    await rejectsCode(net.beneficiary.order.secret({ extension: { orderPart4CIDs: [...cids.split(',').slice(0, 2), otherCIDs[2]!].join(',') } }), 'ORDER_CHAIN_BROKEN')
    // fewer than t
    await rejectsCode(net.beneficiary.order.secret({ extension: { orderPart4CIDs: otherCIDs.slice(0, 2).join(',') } }), 'THRESHOLD_NOT_ENOUGH_SHARES')
  })

  it('a principal that shows different round-1 packages is caught: by its own check, and by the fiduciaries', async () => {
    // an honest principal whose relay to fiduciary 1 is tampered with: fiduciary 1 reports another transcript
    const colluder = net.fiduciaries[1]!
    let forged: { cid: string, bytes: Uint8Array } | undefined
    const forge = async (part1CID: string): Promise<{ cid: string, bytes: Uint8Array }> => {
      const doc1 = decodeOrderPart(parseEnvelope(await net.documents.get(part1CID)), recipientOf(colluder.held)).document
      const recipients = await colluder.identities.recipients([net.principal.cid, ...net.fiduciaries.map(f => f.cid)])
      const bytes = sealRound1({ signer: signerOf(colluder.held), recipients, binding: { reference: doc1.reference, part1CID }, package: dkgRound1(2, 3, 5).package })
      return { cid: await net.documents.put(bytes), bytes }
    }
    net.wrap(0, real => ({
      ...real,
      async thresholdRound2 (request, options) {
        forged = await forge(request.orderPart1CID)
        const round1CIDs = [...request.round1CIDs]; round1CIDs[1] = forged.cid
        return await real.thresholdRound2({ ...request, round1CIDs, documents: { ...request.documents, ...inline([[forged.cid, forged.bytes]]) } }, options)
      },
    }))
    await assert.rejects(net.principal.order.create({ extension: extension() }), (err: unknown) => {
      assert.ok(err instanceof DtaError && err.code === 'THRESHOLD_TRANSCRIPT_MISMATCH', String(err))
      assert.match(err.message, new RegExp(net.fiduciaries[0]!.cid))
      return true
    })
    net.restore()

    // a malicious relay that does not check: drive the rounds itself, fiduciary 1 sees the forged set
    const p = net.principal
    const fids = net.fiduciaries.map(f => f.cid)
    const doc1 = part1Document({ reference: newOrderReference(), plugin: 'milagro', coin: 0, principalCID: p.cid, fiduciaryCID: '', extension: {}, timestamp: Date.now(), threshold: thresholdOrder(3, fids) })
    const bytes1 = sealOrderPart({ signer: signerOf(p.held), document: doc1, recipients: await p.identities.recipients([p.cid, ...fids]) })
    const part1CID = await net.documents.put(bytes1)
    const base = { orderPart1CID: part1CID, documentCID: p.cid }
    const r1 = await Promise.all(net.fiduciaries.map(async f => await f.threshold.round1(base)))
    const honest = r1.map(r => r.round1CID)
    const alt = await forge(part1CID)
    const forgedSet = [...honest]; forgedSet[1] = alt.cid
    const r2 = await Promise.all(net.fiduciaries.map(async (f, i) => await f.threshold.round2({ ...base, round1CIDs: i === 0 ? forgedSet : honest })))
    assert.notEqual(r2[0]!.transcriptHash, r2[2]!.transcriptHash)
    // fiduciary 3 refuses fiduciary 1's share: made under another transcript
    const to3 = [0, 1, 3, 4].map(i => r2[i]!.shareCIDs[2]!)
    await rejectsCode(net.fiduciaries[2]!.threshold.round3({ ...base, shareCIDs: to3 }), 'THRESHOLD_TRANSCRIPT_MISMATCH')
    // and fiduciary 1 refuses a second round 2 with the honest set
    await rejectsCode(net.fiduciaries[0]!.threshold.round2({ ...base, round1CIDs: honest }), 'THRESHOLD_TRANSCRIPT_MISMATCH')
  })

  it('refuses bad parameters and unknown fiduciaries', async () => {
    await rejectsCode(net.principal.order.create({ extension: extension(1) }), 'THRESHOLD_BAD_PARAMETERS')
    await rejectsCode(net.principal.order.create({ extension: extension(6) }), 'THRESHOLD_BAD_PARAMETERS')
    await rejectsCode(net.principal.order.create({ extension: { fiduciaries: `${net.fiduciaries[0]!.cid},${net.principal.cid}`, threshold: '2' } }), 'THRESHOLD_FIDUCIARY_UNKNOWN')
    // the ordinary fulfil refuses a threshold part 1, and round 1 an ordinary one
    const p = net.principal
    const fids = net.fiduciaries.map(f => f.cid)
    const doc1 = part1Document({ reference: newOrderReference(), plugin: 'milagro', coin: 0, principalCID: p.cid, fiduciaryCID: '', extension: {}, timestamp: Date.now(), threshold: thresholdOrder(3, fids) })
    const part1CID = await net.documents.put(sealOrderPart({ signer: signerOf(p.held), document: doc1, recipients: await p.identities.recipients([p.cid, ...fids]) }))
    await rejectsCode(net.fiduciaries[0]!.fulfil.order({ orderPart1CID: part1CID, documentCID: p.cid }), 'ORDER_BAD_DOCUMENT')
    // round 2 before round 1, or by another principal
    await rejectsCode(net.fiduciaries[0]!.threshold.round2({ orderPart1CID: part1CID, documentCID: p.cid, round1CIDs: [part1CID, part1CID, part1CID, part1CID, part1CID] }), 'THRESHOLD_DKG_STATE_LOST')
    await net.fiduciaries[0]!.threshold.round1({ orderPart1CID: part1CID, documentCID: p.cid })
    await rejectsCode(net.fiduciaries[0]!.threshold.round2({ orderPart1CID: part1CID, documentCID: net.fiduciaries[1]!.cid, round1CIDs: [part1CID, part1CID, part1CID, part1CID, part1CID] }), 'ORDER_NOT_PRINCIPAL')
    void randomBytes
  })
})

describe('threshold orders with the other plugins', () => {
  it('bitcoinwallet (2,3): the principal\'s share is in the final key, the address is the same at order and redemption, 1 fiduciary down', async () => {
    const net = await thresholdNetwork(bitcoinWalletPlugin(), 3)
    try {
      const fids = net.fiduciaries.map(f => f.cid).join(',')
      const order = await net.principal.order.create({ extension: { coin: '1', fiduciaries: fids, threshold: '2' } })
      assert.notEqual(order.commitment, order.extension.groupKey, 'the final key is not the fiduciaries\' group key alone')
      assert.equal(order.extension.address, bitcoinAddress(Buffer.from(order.commitment, 'hex'), 1))
      net.wrap(2, real => ({ ...real, fulfillOrderSecret: down }))
      const redeemed = await net.principal.order.secret({ orderReference: order.orderReference })
      net.restore()
      assert.equal(Buffer.from(secp256k1.getPublicKey(Buffer.from(redeemed.secret!, 'hex'), true)).toString('hex'), order.commitment)
      assert.equal(redeemed.extension.address, order.extension.address)
      assert.match(redeemed.extension.missing!, new RegExp(net.fiduciaries[2]!.cid))
    } finally {
      await net.close()
    }
  })

  it('safeguardsecret (2,3): the text encrypted to the group key comes back', async () => {
    const net = await thresholdNetwork(safeguardSecretPlugin(), 3)
    try {
      const fids = net.fiduciaries.map(f => f.cid).join(',')
      const order = await net.principal.order.create({ extension: { plainText: 'threshold text', fiduciaries: fids, threshold: '2' } })
      const redeemed = await net.principal.order.secret({ orderReference: order.orderReference, extension: { cypherText: order.extension.cypherText!, v: order.extension.v!, t: order.extension.t! } })
      assert.equal(redeemed.extension.plainText, 'threshold text')
    } finally {
      await net.close()
    }
  })

  it('a configured default set (node.thresholdDefault): an order that names no fiduciaries is a threshold order over the set', async () => {
    const net = await thresholdNetwork(milagroPlugin(), 3, { defaultT: 2 })
    try {
      const order = await net.principal.order.create({})
      assert.equal(order.extension.threshold, '2')
      assert.equal(order.extension.fiduciaries, net.fiduciaries.map(f => f.cid).join(','))
      const three = await net.principal.order.create({ extension: { threshold: '3' } })
      assert.equal(three.extension.threshold, '3')
      const redeemed = await net.principal.order.secret({ orderReference: order.orderReference })
      assert.equal(Buffer.from(secp256k1.getPublicKey(Buffer.from(redeemed.secret!, 'hex'), true)).toString('hex'), order.commitment)
    } finally {
      await net.close()
    }
  })
})
