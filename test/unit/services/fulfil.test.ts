/**
 * The fulfil service (the fiduciary side) in process, wired as src/node.ts wires it
 * (network.ts): the same part 1 gets the same part 2, a reused reference is refused, the
 * allow-list, one recipient per order even for concurrent part 3s, the same part 3 gets the same
 * part 4, what the audit trail records, and a replica that never saw an order releasing it.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalDocumentStore } from '../../../src/adapters/ipfs/local.ts'
import { cidV0Of } from '../../../src/adapters/ipfs/unixfs.ts'
import { part1Document, part3Document, releasedOrderKey, sealOrderPart } from '../../../src/core/order.ts'
import type { FulfilService } from '../../../src/ports/api.ts'
import { createFulfilService } from '../../../src/services/fulfil.ts'
import { Identities } from '../../../src/services/identities.ts'
import { inline } from '../../../src/services/inline.ts'
import { milagroPlugin } from '../../../src/plugins/milagro/index.ts'
import { signerOf } from '../../../src/services/identities.ts'
import { network, rejectsCode } from './network.ts'
import type { Network, Node } from './network.ts'

describe('fulfil service', () => {
  let net: Network
  before(async () => { net = await network(milagroPlugin(), { allowPrincipals: [] }) })
  after(async () => { await net.close() })

  const audit = async (): Promise<Array<{ op: string, reference: string | null, actor: string | null }>> =>
    await net.fiduciary.state.listAudit({ page: 1, perPage: 100 })

  /** A part 3 by `by` for an order, naming `beneficiary` (for an order without one), put in the store. */
  async function part3 (by: Node, orderPart2CID: string, beneficiary?: Node): Promise<string> {
    const doc2 = await net.openAsFiduciary(orderPart2CID)
    const doc3 = part3Document(doc2, { part2CID: orderPart2CID, beneficiaryCID: beneficiary?.cid, timestamp: Date.now() })
    const recipients = await by.identities.recipients([by.cid, net.fiduciary.cid, beneficiary?.cid])
    return await net.documents.put(sealOrderPart({ signer: signerOf(by.held), document: doc3, recipients, previousCID: orderPart2CID }))
  }

  it('the same part 1 again gets the same part 2; another part 1 with a known reference is refused', async () => {
    const order = await net.place({})
    const again = await net.fiduciary.fulfil.order({ orderPart1CID: order.orderPart1CID, documentCID: net.principal.cid })
    assert.equal(again.orderPart2CID, order.orderPart2CID)
    const reused = part1Document({ reference: order.orderReference, plugin: 'milagro', coin: 0, principalCID: net.principal.cid, fiduciaryCID: net.fiduciary.cid, extension: {}, timestamp: Date.now() + 1 })
    const reusedCID = await net.documents.put(sealOrderPart({ signer: signerOf(net.principal.held), document: reused, recipients: await net.principal.identities.recipients([net.principal.cid, net.fiduciary.cid]) }))
    await rejectsCode(net.fiduciary.fulfil.order({ orderPart1CID: reusedCID, documentCID: net.principal.cid }), 'ORDER_REFERENCE_REUSED')
    const created = (await audit()).filter(e => e.op === 'seed.created' && e.reference?.endsWith(order.orderReference) === true)
    assert.equal(created.length, 1, 'one seed for the order')
  })

  it('releases to one recipient, once claimed; the same part 3 again gets the same part 4; concurrent part 3s: exactly one', async () => {
    const order = await net.place({})
    const p3 = await part3(net.principal, order.orderPart2CID)
    const first = await net.fiduciary.fulfil.secret({ orderPart3CID: p3, documentCID: net.principal.cid })
    const second = await net.fiduciary.fulfil.secret({ orderPart3CID: p3, documentCID: net.principal.cid })
    assert.equal(second.orderPart4CID, first.orderPart4CID)
    const row = await net.fiduciary.state.getOrder('fiduciary', order.orderReference)
    assert.equal(row?.releasedTo, net.principal.cid)
    assert.equal(row?.part4Cid, first.orderPart4CID)
    // now for a beneficiary: refused, and the refusal is audited
    await rejectsCode(net.fiduciary.fulfil.secret({ orderPart3CID: await part3(net.principal, order.orderPart2CID, net.beneficiary), documentCID: net.principal.cid }), 'ORDER_ALREADY_REDEEMED_ELSEWHERE')
    const released = (await audit()).filter(e => e.op === 'seed.released' && e.reference?.endsWith(order.orderReference) === true)
    assert.deepEqual(released.map(e => e.actor), [net.principal.cid])

    const raced = await net.place({})
    const [a, b] = await Promise.allSettled([
      net.fiduciary.fulfil.secret({ orderPart3CID: await part3(net.principal, raced.orderPart2CID, net.beneficiary), documentCID: net.principal.cid }),
      net.fiduciary.fulfil.secret({ orderPart3CID: await part3(net.principal, raced.orderPart2CID, net.stranger), documentCID: net.principal.cid }),
    ])
    assert.equal([a, b].filter(r => r.status === 'fulfilled').length, 1)
  })

  it('a replica that never saw the order (its own store, the shared state) releases from the part 2 sent with part 3, and only from the bytes of its CID', async () => {
    const order = await net.place({})
    const p3 = await part3(net.principal, order.orderPart2CID)
    const dir = await mkdtemp(join(tmpdir(), 'dta-replica-'))
    const documents = createLocalDocumentStore({ path: dir })
    await documents.start()
    try {
      // what a joining replica has: its node identity document, nothing of the order
      await documents.accept(net.fiduciary.cid, await net.documents.get(net.fiduciary.cid))
      const f = net.fiduciary
      const replica = (): FulfilService => createFulfilService({
        documents, state: f.state, custody: f.custody, identities: new Identities({ documents, state: f.state, custody: f.custody }),
        plugin: net.plugin, pluginContext: f.ctx, node: f.held, cidOf: cidV0Of,
      })
      const sent = async (part2: Uint8Array): Promise<Parameters<FulfilService['secret']>[0]> => ({
        orderPart3CID: p3, documentCID: net.principal.cid,
        documents: inline([[p3, await net.documents.get(p3)], [net.principal.cid, await net.documents.get(net.principal.cid)], [order.orderPart2CID, part2]]),
      })
      // other bytes (a real document of this order) under part 2's CID are refused
      await rejectsCode(replica().secret(await sent(await net.documents.get(order.orderPart1CID))), 'DOCUMENT_CID_MISMATCH')
      const released = await replica().secret(await sent(await net.documents.get(order.orderPart2CID)))
      await net.documents.accept(released.orderPart4CID, Buffer.from(released.documents![released.orderPart4CID]!, 'base64'))
      const doc4 = await net.openAsFiduciary(released.orderPart4CID)
      assert.equal(Buffer.from(releasedOrderKey(doc4, Buffer.from(order.commitment, 'hex')).publicKey).toString('hex'), order.commitment)
    } finally {
      await documents.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses a part 3 by someone neither principal nor beneficiary, and audits it', async () => {
    const order = await net.place({})
    const byStranger = await part3(net.stranger, order.orderPart2CID)
    await rejectsCode(net.fiduciary.fulfil.secret({ orderPart3CID: byStranger, documentCID: net.stranger.cid }), 'ORDER_NOT_ENTITLED')
    assert.ok((await audit()).some(e => e.op === 'release.refused' && e.reference === order.orderReference && e.actor === net.stranger.cid))
    assert.equal((await net.fiduciary.state.getOrder('fiduciary', order.orderReference))?.releasedTo, null)
  })

  it('with an allow-list, an unlisted principal cannot order and the refusal is audited', async () => {
    const listed = await network(milagroPlugin(), { allowPrincipals: [] })
    const only = await network(milagroPlugin(), { allowPrincipals: ['QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'] })
    try {
      assert.equal((await listed.place({})).commitment.length, 66, 'an empty list allows everyone')
      await rejectsCode(only.place({}), 'ORDER_NOT_ENTITLED')
      assert.ok((await only.fiduciary.state.listAudit({ page: 1, perPage: 10 })).some(e => e.op === 'order.refused' && e.actor === only.principal.cid))
    } finally {
      await listed.close()
      await only.close()
    }
  })
})
