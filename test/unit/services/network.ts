/**
 * The services wired in process, as src/node.ts wires them: a fiduciary (the fulfil service) and
 * three principal-side nodes — the principal, a beneficiary and a stranger, each with the order
 * service — every node with its own real SQLite state and local custody in a temp folder, its
 * node identity made by `Identities.create`, and one local document store they all read (the
 * network, as IPFS would be). The principals call the fulfil service directly as their fiduciary
 * client, with the inline documents a real RPC carries. The service and plugin unit tests drive
 * orders through this, so a plugin is tested through the real services and envelopes.
 * @module
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalKeyFile, openLocalCustody } from '../../../src/adapters/custody/local.ts'
import { createLocalDocumentStore } from '../../../src/adapters/ipfs/local.ts'
import { cidV0Of } from '../../../src/adapters/ipfs/unixfs.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { decodeOrderPart, parseOrderSecretRecord, validateOrder, withPartCIDs } from '../../../src/core/order.ts'
import { parseEnvelope } from '../../../src/envelope/envelope.ts'
import type { OrderDocument } from '../../../src/envelope/gen/dta_pb.ts'
import type { FulfilService, OrderResponse, OrderSecretResponse, OrderService } from '../../../src/ports/api.ts'
import type { Extension } from '../../../src/ports/common.ts'
import type { Custody } from '../../../src/ports/custody.ts'
import type { DocumentStore } from '../../../src/ports/document-store.ts'
import type { FiduciaryClient } from '../../../src/ports/peer.ts'
import type { IdentityInfo, OrderView, Plugin, PluginContext } from '../../../src/ports/plugin.ts'
import { orderSeedRecordId } from '../../../src/ports/state.ts'
import type { StateRepository } from '../../../src/ports/state.ts'
import { createPluginContext } from '../../../src/services/context.ts'
import { createFulfilService } from '../../../src/services/fulfil.ts'
import { Identities, recipientOf } from '../../../src/services/identities.ts'
import type { HeldIdentity } from '../../../src/services/identities.ts'
import { createOrderService } from '../../../src/services/order.ts'

export async function rejectsCode (promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isDtaError(err, code), `expected DtaError ${code}, got ${String(err)}`)
    return true
  })
}

export interface Node {
  readonly name: string
  readonly cid: string
  readonly held: HeldIdentity
  readonly info: IdentityInfo
  readonly state: StateRepository
  readonly custody: Custody
  readonly identities: Identities
  /** The plugin's context on this node (its scoped store and sealing). */
  readonly ctx: PluginContext
  /** Principal-side nodes: the order service. */
  readonly order: OrderService
}

export interface FiduciaryNode extends Omit<Node, 'order'> {
  readonly fulfil: FulfilService
}

export interface Network {
  readonly plugin: Plugin
  /** The temp folder: the document store's blocks are in `<dir>/documents/blocks`. */
  readonly dir: string
  readonly documents: DocumentStore
  readonly fiduciary: FiduciaryNode
  readonly principal: Node
  readonly beneficiary: Node
  /** Another identity on its own node, never part of an order. */
  readonly stranger: Node
  /** POST /v1/order on the principal. */
  place (extension: Extension, options?: { beneficiary?: Node }): Promise<OrderResponse>
  /** POST /v1/order/secret on the principal. */
  redeem (orderReference: string, options?: { beneficiary?: Node, extension?: Extension }): Promise<OrderSecretResponse>
  /** POST /v1/order/secret {orderPart4CID} on a beneficiary's own node. */
  redeemOn (node: Node, orderPart4CID: string, extension?: Extension): Promise<OrderSecretResponse>
  /** The fiduciary's order seed, through its custody. */
  seedOf (reference: string): Promise<Uint8Array>
  /** An order part as the fiduciary reads it. */
  openAsFiduciary (cid: string): Promise<OrderDocument>
  /** The order view after part 2 (for calling a plugin hook directly). */
  viewOf (order: OrderResponse): Promise<OrderView>
  close (): Promise<void>
}

interface Base { name: string, held: HeldIdentity, info: IdentityInfo, state: StateRepository, custody: Custody, identities: Identities, ctx: PluginContext }

async function base (plugin: Plugin, dir: string, name: string, documents: DocumentStore): Promise<Base> {
  const state = await openSqliteState({ path: join(dir, name, 'state.sqlite') })
  await createLocalKeyFile(join(dir, name, 'custody.key'))
  const custody = await openLocalCustody({ keyFile: join(dir, name, 'custody.key') })
  const identities = new Identities({ documents, state, custody })
  const held = await identities.create(name, { isNodeIdentity: true })
  return {
    name, held, state, custody, identities,
    info: { cid: held.cid, ecPublicKey: held.document.beneficiaryECPublicKey, kemPublicKey: held.document.kemPublicKey },
    ctx: createPluginContext(plugin, state, custody),
  }
}

export async function network (plugin: Plugin, options: { allowPrincipals?: string[] } = {}): Promise<Network> {
  const dir = await mkdtemp(join(tmpdir(), `dta-services-${plugin.name}-`))
  const documents = createLocalDocumentStore({ path: join(dir, 'documents') })
  await documents.start()
  const f = await base(plugin, dir, 'fiduciary', documents)
  const fulfil = createFulfilService({ documents, state: f.state, custody: f.custody, identities: f.identities, plugin, pluginContext: f.ctx, node: f.held, cidOf: cidV0Of, allowPrincipals: options.allowPrincipals })
  const fiduciaryClient: FiduciaryClient = { fulfillOrder: fulfil.order, fulfillOrderSecret: fulfil.secret }
  const principalSide = async (name: string): Promise<Node> => {
    const b = await base(plugin, dir, name, documents)
    const order = createOrderService({
      documents, state: b.state, identities: b.identities, plugin, pluginContext: b.ctx, node: b.held, cidOf: cidV0Of,
      fiduciary: fiduciaryClient, fiduciaryCID: f.held.cid, trustedFiduciaries: new Set([f.held.cid]),
    })
    return { ...b, cid: b.held.cid, order }
  }
  const fiduciary: FiduciaryNode = { ...f, cid: f.held.cid, fulfil }
  const principal = await principalSide('principal')
  const beneficiary = await principalSide('beneficiary')
  const stranger = await principalSide('stranger')
  const net: Network = {
    plugin, dir, documents, fiduciary, principal, beneficiary, stranger,
    place: async (extension, o = {}) => await principal.order.create({ extension, beneficiaryIDDocumentCID: o.beneficiary?.cid }),
    redeem: async (orderReference, o = {}) => await principal.order.secret({ orderReference, beneficiaryIDDocumentCID: o.beneficiary?.cid, extension: o.extension }),
    redeemOn: async (node, orderPart4CID, extension) => await node.order.secret({ orderPart4CID, extension }),
    async seedOf (reference) {
      const id = orderSeedRecordId('fiduciary', reference)
      return parseOrderSecretRecord(await fiduciary.custody.unseal(id, (await fiduciary.state.getSeed(id))!.sealed)).seed
    },
    async openAsFiduciary (cid) {
      return decodeOrderPart(parseEnvelope(await documents.get(cid)), recipientOf(fiduciary.held)).document
    },
    async viewOf (order) {
      const doc2 = await net.openAsFiduciary(order.orderPart2CID)
      return withPartCIDs(validateOrder(doc2, 2, order.orderPart1CID), doc2, { part2: order.orderPart2CID })
    },
    async close () {
      for (const node of [principal, beneficiary, stranger, fiduciary]) {
        await node.state.close()
        await node.custody.close()
      }
      await documents.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
  return net
}
