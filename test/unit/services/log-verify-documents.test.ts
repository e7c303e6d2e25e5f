/**
 * `milagro log verify --documents`' checks (src/services/log/verify-documents.ts) on real
 * envelopes: a log of two identities, a log key statement and a chain of order parts verifies;
 * each way a node could lie about a leaf's document is caught and named — bytes of another CID,
 * a leaf naming another signer or another part number, a signature by another key, an identity
 * key the node shows that is not its document's, a document it does not serve.
 * @module
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { DtaError } from '../../../src/errors.ts'
import { cidV0Of } from '../../../src/adapters/ipfs/unixfs.ts'
import { createIdentityDocument, identitySigner } from '../../../src/core/identity.ts'
import { createLogKeyDocument, deriveLogSigner } from '../../../src/core/log/key.ts'
import type { Leaf } from '../../../src/core/log/leaf.ts'
import { DocumentType, sealEnvelope } from '../../../src/envelope/envelope.ts'
import { verifyLogDocuments } from '../../../src/services/log/verify-documents.ts'
import type { DocumentSource } from '../../../src/services/log/verify-documents.ts'

describe('milagro log verify --documents', () => {
  const docs = new Map<string, Uint8Array>()
  const keys = new Map<string, Uint8Array>()
  let leaves: Leaf[]
  let node: string
  let principal: string
  let principalIdentity: ReturnType<typeof createIdentityDocument>

  const source = (overrides: Partial<DocumentSource> = {}): DocumentSource => ({
    document: async (cid) => { const bytes = docs.get(cid); if (bytes === undefined) throw new DtaError('DOCUMENT_NOT_FOUND', cid); return bytes },
    blsPublicKey: async (cid) => { const key = keys.get(cid); if (key === undefined) throw new DtaError('IDENTITY_NOT_FOUND', cid); return key },
    ...overrides,
  })
  const put = async (bytes: Uint8Array): Promise<string> => { const cid = await cidV0Of(bytes); docs.set(cid, bytes); return cid }
  const part = (signer: { cid: string, identity: ReturnType<typeof createIdentityDocument> }, previousCID: string, n: number): Uint8Array => sealEnvelope({
    signer: identitySigner(signer.cid, signer.identity.keys),
    encryptedBodyType: DocumentType.ORDER_DOCUMENT,
    encryptedBody: new TextEncoder().encode(`part ${n}`),
    recipients: [{ cid: signer.cid, kemPublicKey: signer.identity.keys.kemPublicKey }],
    previousCID,
  })

  before(async () => {
    const nodeIdentity = createIdentityDocument(new Uint8Array(32).fill(31), 'fiduciary')
    principalIdentity = createIdentityDocument(new Uint8Array(32).fill(32), 'principal')
    node = await put(nodeIdentity.bytes)
    principal = await put(principalIdentity.bytes)
    keys.set(node, nodeIdentity.keys.blsPublicKey)
    keys.set(principal, principalIdentity.keys.blsPublicKey)
    const statement = await put(createLogKeyDocument({ identity: identitySigner(node, nodeIdentity.keys), publicKey: deriveLogSigner(new Uint8Array(32).fill(31)).publicKey, createdAt: 1 }))
    const p = { cid: principal, identity: principalIdentity }
    const f = { cid: node, identity: nodeIdentity }
    const part1 = await put(part(p, '', 1))
    const part2 = await put(part(f, part1, 2))
    const part3 = await put(part(p, part2, 3))
    const part4 = await put(part(f, part3, 4))
    leaves = [
      { type: 'identity', cid: node, signer: node },
      { type: 'log-key', cid: statement, signer: node },
      { type: 'identity', cid: principal, signer: principal },
      { type: 'order-1', cid: part1, signer: principal },
      { type: 'order-2', cid: part2, signer: node },
      { type: 'order-3', cid: part3, signer: principal },
      { type: 'order-4', cid: part4, signer: node },
    ]
  })

  const fails = async (list: Leaf[], s: DocumentSource, pattern: RegExp): Promise<void> => {
    await assert.rejects(verifyLogDocuments(list, s, cidV0Of), (err: DtaError) => {
      assert.equal(err.code, 'LOG_VERIFY_FAILED')
      assert.match(err.detail ?? '', pattern)
      return true
    })
  }

  it('a log of identities, a key statement and an order chain verifies; the signers\' keys come from the log', async () => {
    assert.deepEqual(await verifyLogDocuments(leaves, source(), cidV0Of), { documents: 7, signerKeys: { fromLog: 2, fromNode: 0 } })
    // a part whose signer's identity is not in the log: its key as the node shows it, counted apart
    assert.deepEqual(await verifyLogDocuments([leaves[3]!], source(), cidV0Of), { documents: 1, signerKeys: { fromLog: 0, fromNode: 1 } })
  })

  it('the node serves other bytes for a CID', async () => {
    await fails(leaves, source({ document: async (cid) => cid === leaves[4]!.cid ? part(leaves[4]!.signer === node ? { cid: node, identity: createIdentityDocument(new Uint8Array(32).fill(31), 'fiduciary') } : { cid: principal, identity: principalIdentity }, leaves[3]!.cid, 2) : docs.get(cid)! }),
      /^leaf 4 \(order-2 .*\): the document served is not the one of that CID/)
  })

  it('a leaf that names another signer, or another part number, than its document makes', async () => {
    await fails(leaves.map((l, i) => i === 4 ? { ...l, signer: principal } : l), source(), /^leaf 4 .*makes the leaf order-2 signed by Qm/)
    await fails(leaves.map((l, i) => i === 5 ? { ...l, type: 'order-4' } : l), source(), /^leaf 5 .*makes the leaf order-3/)
    // part 2's predecessor missing from the log: the node could not have known it was part 2
    await fails(leaves.filter((_, i) => i !== 3), source(), /^leaf 3 \(order-2 .*makes the leaf order signed by/)
  })

  it('an envelope signed by another key than its signer\'s', async () => {
    const forged = sealEnvelope({ signer: identitySigner(node, principalIdentity.keys), encryptedBodyType: DocumentType.ORDER_DOCUMENT, encryptedBody: new Uint8Array([1]), recipients: [{ cid: node, kemPublicKey: principalIdentity.keys.kemPublicKey }], previousCID: '' })
    const cid = await put(forged)
    await fails([...leaves, { type: 'order-1', cid, signer: node }], source(), /^leaf 7 .*its signature does not verify \(ENVELOPE_BAD_SIGNATURE/)
  })

  it('the node shows a key for an identity that is not its document\'s', async () => {
    // a part "by the principal" signed with the fiduciary's key, which the node claims is the principal's
    const nodeKeys = createIdentityDocument(new Uint8Array(32).fill(31), 'fiduciary').keys
    const forged = await put(sealEnvelope({ signer: identitySigner(principal, nodeKeys), encryptedBodyType: DocumentType.ORDER_DOCUMENT, encryptedBody: new Uint8Array([2]), recipients: [{ cid: node, kemPublicKey: nodeKeys.kemPublicKey }], previousCID: '' }))
    const lying = source({ blsPublicKey: async () => nodeKeys.blsPublicKey })
    assert.deepEqual(await verifyLogDocuments([{ type: 'order-1', cid: forged, signer: principal }], lying, cidV0Of), { documents: 1, signerKeys: { fromLog: 0, fromNode: 1 } }, 'alone, only as good as the node\'s word')
    await fails([{ type: 'order-1', cid: forged, signer: principal }, leaves[2]!], lying, /^leaf 1 \(identity .*the node showed another BLS key for this identity/)
  })

  it('a document the node does not serve', async () => {
    await fails(leaves, source({ document: async (cid) => { if (cid === leaves[6]!.cid) throw new DtaError('DOCUMENT_NOT_FOUND', cid); return docs.get(cid)! } }), /^leaf 6 .*does not serve its document \(DOCUMENT_NOT_FOUND/)
  })
})
