/**
 * Issue 13, the hostile parties, with real processes: 5 fiduciary daemons and a principal daemon
 * on 127.0.0.1, t = 3.
 *
 * - A fiduciary that sends a wrong DKG share: a real daemon started with
 *   `MILAGRO_TEST_ROGUE=dkg-share` (rogue/register.ts swaps one function; the wrong share is
 *   sealed and signed by the real code). Its victim refuses the share naming it, the principal's
 *   POST /v1/order fails naming both, and no order exists on the principal.
 * - A fiduciary that releases a wrong share (`MILAGRO_TEST_ROGUE=release-share`): the principal
 *   names it in `extension.wrong`, and the redemption succeeds from the others, the key checked
 *   against the commitment by OpenSSL.
 * - A principal that shows different round-1 packages to different fiduciaries: this test process
 *   plays the principal and a colluding dealer (its own identities, its own code, talking HTTP to
 *   three honest fiduciary daemons); the dealer signs two round-1 packages and the principal
 *   shows one to fiduciary 1 and the other to fiduciaries 3 and 4. Their transcript hashes differ,
 *   fiduciary 3 refuses fiduciary 1's share (THRESHOLD_TRANSCRIPT_MISMATCH), fiduciary 1 refuses
 *   the other view of round 1, and no honest fiduciary commits a share.
 * @module
 */
import assert from 'node:assert/strict'
import { createECDH } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createLocalKeyFile, openLocalCustody } from '../../../src/adapters/custody/local.ts'
import { createLocalDocumentStore } from '../../../src/adapters/ipfs/local.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { newOrderReference, part1Document, sealOrderPart } from '../../../src/core/order.ts'
import { sealRound1, sealShare, thresholdOrder } from '../../../src/core/threshold.ts'
import { dkgRound1 } from '../../../src/crypto/frost-dkg.ts'
import { Identities, signerOf } from '../../../src/services/identities.ts'
import { inline } from '../../../src/services/inline.ts'
import { createCluster, httpJson, readState, show } from './harness.ts'
import type { ServerNode } from './harness.ts'

const ROGUE = { NODE_OPTIONS: `--import ${new URL('./rogue/register.ts', import.meta.url).href}` }

function publicKeyOf (secretHex: string): string {
  const ecdh = createECDH('secp256k1')
  ecdh.setPrivateKey(Buffer.from(secretHex, 'hex'))
  return ecdh.getPublicKey('hex', 'compressed')
}

test('hostile parties of a threshold order, in separate processes', { timeout: 600_000 }, async (t) => {
  const cluster = await createCluster(t, 'milagro-threshold-hostile-')
  const fiduciaries = await Promise.all([1, 2, 3, 4, 5].map(async i => await cluster.init(`fiduciary${i}`, { nodeType: 'fiduciary', service: 'milagro' })))
  const liar = fiduciaries[2]!
  await Promise.all(fiduciaries.map(async f => await f.start({ env: f === liar ? { ...ROGUE, MILAGRO_TEST_ROGUE: 'dkg-share' } : {} })))
  const principal = await cluster.init('principal', {
    nodeType: 'principal', service: 'milagro', masterFiduciary: { cid: fiduciaries[0]!.cid, url: fiduciaries[0]!.url },
    env: { MILAGRO_NODE_THRESHOLDFIDUCIARIES: fiduciaries.map(f => `${f.cid}=${f.url}`).join(',') },
  })
  await principal.start({ peers: fiduciaries.flatMap(f => f.multiaddrs) })
  const extension = { fiduciaries: fiduciaries.map(f => f.cid).join(','), threshold: '3' }

  await t.test('a wrong DKG share is named, and the order aborts without a key', async () => {
    const refused = await principal.post('/v1/order', { extension })
    assert.equal(refused.body.code, 'THRESHOLD_DKG_FAILED', show(refused.body))
    // its share for the lowest other position, fiduciary 1, is the wrong one
    assert.match(refused.body.message as string, new RegExp(`${fiduciaries[0]!.cid} THRESHOLD_BAD_SHARE \\(names ${liar.cid}\\)`))
    assert.equal(readState(principal.home).orders.length, 0, 'no order on the principal')
  })

  await t.test('a wrong released share is named, and the redemption succeeds from the others', async () => {
    await liar.stop()
    await liar.start()
    const cheat = fiduciaries[4]!
    await cheat.stop()
    await cheat.start({ env: { ...ROGUE, MILAGRO_TEST_ROGUE: 'release-share' } })
    const order = await principal.ok('/v1/order', { extension })
    const redeemed = await principal.ok('/v1/order/secret', { orderReference: order.orderReference })
    assert.equal(redeemed.extension.wrong, cheat.cid)
    assert.equal(redeemed.extension.released.split(',').length, 4)
    assert.equal(publicKeyOf(redeemed.secret as string), order.commitment)
  })

  await t.test('a principal that shows different round-1 packages is caught by the fiduciaries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dta-rogue-principal-'))
    t.after(async () => await rm(dir, { recursive: true, force: true }))
    const documents = createLocalDocumentStore({ path: join(dir, 'documents') })
    await documents.start()
    const state = await openSqliteState({ path: join(dir, 'state.sqlite') })
    await createLocalKeyFile(join(dir, 'custody.key'))
    const custody = await openLocalCustody({ keyFile: join(dir, 'custody.key') })
    t.after(async () => { await state.close(); await custody.close(); await documents.stop() })
    const identities = new Identities({ documents, state, custody })
    const me = await identities.create('rogue principal', { isNodeIdentity: true })
    const colluder = await identities.create('colluding dealer')
    const honest: ServerNode[] = [fiduciaries[0]!, fiduciaries[2]!, fiduciaries[3]!]
    // the honest fiduciaries' identity documents, as their logs serve them
    for (const f of honest) {
      const response = await fetch(`${f.url}/v1/log/document/${f.cid}`, { signal: AbortSignal.timeout(10_000) })
      assert.equal(response.status, 200)
      assert.equal(await documents.put(new Uint8Array(await response.arrayBuffer())), f.cid)
    }
    const fids = [honest[0]!.cid, colluder.cid, honest[1]!.cid, honest[2]!.cid] // the colluder at position 2
    const doc1 = part1Document({ reference: newOrderReference(), plugin: 'milagro', coin: 0, principalCID: me.cid, fiduciaryCID: '', extension: {}, timestamp: Date.now(), threshold: thresholdOrder(3, fids) })
    const bytes1 = sealOrderPart({ signer: signerOf(me), document: doc1, recipients: await identities.recipients([me.cid, ...fids]) })
    const part1CID = await documents.put(bytes1)
    const ids: Array<[string, Uint8Array]> = await Promise.all([me.cid, ...fids].map(async (cid): Promise<[string, Uint8Array]> => [cid, await documents.get(cid)]))
    const base = { orderPart1CID: part1CID, documentCID: me.cid }
    const call = async (f: ServerNode, round: string, body: Record<string, unknown>): Promise<{ status: number, body: any }> => await httpJson(`${f.url}/v1/fulfill/threshold/${round}`, 'POST', body)

    const r1 = await Promise.all(honest.map(async f => await call(f, 'round1', { ...base, documents: inline([[part1CID, bytes1], ...ids]) })))
    for (const r of r1) assert.equal(r.status, 200, show(r.body))
    // the colluding dealer signs two different packages for the same order
    const recipients = await identities.recipients([me.cid, ...fids])
    const two = await Promise.all([1, 2].map(async () => {
      const bytes = sealRound1({ signer: signerOf(colluder), recipients, binding: { reference: doc1.reference, part1CID }, package: dkgRound1(2, 3, 4).package })
      return [await documents.put(bytes), bytes] as [string, Uint8Array]
    }))
    const view = (k: number): string[] => [r1[0]!.body.round1CID, two[k]![0], r1[1]!.body.round1CID, r1[2]!.body.round1CID]
    const round1Docs = Object.assign({}, ...r1.map(r => r.body.documents ?? {})) as Record<string, string> // their packages travel back inline
    const documentsFor = (k: number): Record<string, string> => ({ ...round1Docs, ...inline([two[k]!, ...ids]) })
    const r2 = await Promise.all(honest.map(async (f, i) => await call(f, 'round2', { ...base, round1CIDs: view(i === 0 ? 0 : 1), documents: documentsFor(i === 0 ? 0 : 1) })))
    for (const r of r2) assert.equal(r.status, 200, show(r.body))
    assert.notEqual(r2[0]!.body.transcriptHash, r2[1]!.body.transcriptHash, 'fiduciary 1 saw another round 1')
    assert.equal(r2[1]!.body.transcriptHash, r2[2]!.body.transcriptHash)

    // fiduciary 3 (position 3) gets: fiduciary 1's share (made under the other view), a share from the colluder, fiduciary 4's share
    const fromColluder = sealShare({ signer: signerOf(colluder), recipient: (await identities.recipients([fids[2]!]))[0]!, address: { reference: doc1.reference, part1CID, transcriptHash: Buffer.from(r2[1]!.body.transcriptHash as string, 'hex'), from: 2, to: 3 }, share: new Uint8Array(32).fill(7) })
    const colluderShareCID = await documents.put(fromColluder)
    const shareDocs = { ...r2[0]!.body.documents, ...r2[2]!.body.documents, ...inline([[colluderShareCID, fromColluder], ...ids]) }
    const to3 = [r2[0]!.body.shareCIDs[2], colluderShareCID, r2[2]!.body.shareCIDs[2]]
    const r3 = await call(honest[1]!, 'round3', { ...base, shareCIDs: to3, documents: shareDocs })
    assert.equal(r3.body.code, 'THRESHOLD_TRANSCRIPT_MISMATCH', show(r3.body))
    // and fiduciary 1 refuses to be shown the other view afterwards
    const again = await call(honest[0]!, 'round2', { ...base, round1CIDs: view(1), documents: documentsFor(1) })
    assert.equal(again.body.code, 'THRESHOLD_TRANSCRIPT_MISMATCH', show(again.body))
    // no honest fiduciary committed a share of that order
    for (const f of honest) {
      await f.stop()
      assert.equal(readState(f.home).orders.filter(o => o.reference === doc1.reference).length, 0, `${f.name} holds no share of it`)
    }
  })
})
