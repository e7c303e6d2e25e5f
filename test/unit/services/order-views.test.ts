/**
 * The order chain view (src/services/order-views.ts), wired in process on the services network
 * (./network.ts), about the signature checks it remembers:
 * - a second look at a chain gives the same verdict without asking for a signer's key again;
 * - a remembered part is still read (and re-hashed) each time: a block altered on disk afterwards
 *   fails DOCUMENT_CORRUPT;
 * - who must have signed comes from the row each time: a row naming another fiduciary fails the
 *   parts it signed, and a row pointed at another order's part 4 (its signature remembered too)
 *   fails its link.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { milagroPlugin } from '../../../src/plugins/milagro/index.ts'
import { createOrderViewService } from '../../../src/services/order-views.ts'
import type { OrderViewComponents } from '../../../src/services/order-views.ts'
import type { OrderRecord } from '../../../src/ports/state.ts'
import { corruptDocument } from '../../helpers/tamper.ts'
import { network } from './network.ts'
import type { Network } from './network.ts'

describe('the order chain view remembers signature checks, and nothing else', () => {
  let net: Network
  before(async () => { net = await network(milagroPlugin()) })
  after(async () => { await net?.close() })

  /** The view over the principal, counting the signer keys it asks for; `row` may rewrite the order row it reads. */
  function view (row: (r: OrderRecord) => OrderRecord = r => r): { service: ReturnType<typeof createOrderViewService>, asked: string[] } {
    const asked: string[] = []
    const { principal } = net
    const components: OrderViewComponents = {
      documents: net.documents,
      state: {
        getOrder: async (...args) => { const r = await principal.state.getOrder(...args); return r === undefined ? r : row(r) },
        listOrders: principal.state.listOrders.bind(principal.state),
        countOrders: principal.state.countOrders.bind(principal.state),
        getIdentity: principal.state.getIdentity.bind(principal.state),
      },
      identities: {
        verifier: async (cid, options) => { asked.push(cid); return await principal.identities.verifier(cid, options) },
        keys: principal.identities.keys.bind(principal.identities),
        held: principal.identities.held.bind(principal.identities),
      },
      node: principal.held,
    }
    return { service: createOrderViewService(components), asked }
  }

  it('asks for each signer key once; the second look gives the same verdict', async () => {
    const placed = await net.place({})
    await net.redeem(placed.orderReference)
    const { service, asked } = view()
    const first = await service.chain(placed.orderReference)
    assert.equal(first.verified, true)
    assert.equal(asked.length, 4)
    const second = await service.chain(placed.orderReference)
    assert.deepEqual(second, first)
    assert.equal(asked.length, 4, 'no key asked for again')
  })

  it('a remembered part is still read and re-hashed: altered on disk afterwards, it fails', async () => {
    const placed = await net.place({})
    const redeemed = await net.redeem(placed.orderReference)
    const { service } = view()
    assert.equal((await service.chain(placed.orderReference)).verified, true)
    corruptDocument(net.dir, redeemed.orderPart3CID)
    const after = await service.chain(placed.orderReference)
    assert.deepEqual(after.parts.map(p => p.verified), [true, true, false, true])
    assert.equal(after.parts[2]!.failure?.code, 'DOCUMENT_CORRUPT')
  })

  it('who must have signed comes from the row each time; a remembered part in the wrong place fails its link', async () => {
    const placed = await net.place({})
    await net.redeem(placed.orderReference)
    const other = await net.place({})
    const otherRedeemed = await net.redeem(other.orderReference)
    let rewrite = (r: OrderRecord): OrderRecord => r
    const { service } = view(r => rewrite(r))
    assert.equal((await service.chain(placed.orderReference)).verified, true)
    assert.equal((await service.chain(other.orderReference)).verified, true)

    rewrite = r => ({ ...r, fiduciaryCid: net.stranger.cid })
    const wrongSigner = await service.chain(placed.orderReference)
    assert.equal(wrongSigner.verified, false)
    for (const i of [1, 3]) {
      assert.equal(wrongSigner.parts[i]!.failure?.code, 'ORDER_CHAIN_BROKEN', `part ${i + 1}`)
      assert.match(wrongSigner.parts[i]!.failure!.message, /not the order's fiduciary/, `part ${i + 1}`)
    }

    rewrite = r => (r.reference === placed.orderReference ? { ...r, part4Cid: otherRedeemed.orderPart4CID } : r)
    const swapped = await service.chain(placed.orderReference)
    assert.equal(swapped.parts[3]!.verified, false)
    assert.equal(swapped.parts[3]!.failure?.code, 'ORDER_CHAIN_BROKEN')
    assert.ok(swapped.parts[3]!.checks.includes('signed by the fiduciary'))
  })
})
