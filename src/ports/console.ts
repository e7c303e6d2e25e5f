/**
 * The read-only API the web console (console/, served under /ui) needs beside the original
 * D-TA's: the node described in one answer (`GET /v1/node`), a page of order summaries with their
 * state, sorted by any column, and a search by reference, part CID or beneficiary CID (`GET /v1/order/summaries`), and an order's chain
 * with the node's own verdict on each part (`GET /v1/order/{ref}/chain`). One TypeBox schema per
 * shape, as in ports/api.ts: it validates, types the services and feeds the OpenAPI document.
 *
 * Why the node, not the browser, checks the chain: the checks need the identities' public keys,
 * BLS, X-Wing decryption with keys only this node holds, and the commitment's proof — the very
 * checks the services make before they act (src/services/order.ts). The console shows their
 * result; it runs no crypto of its own. None of these answers holds a secret: the released secret
 * is only in `GET /v1/order/{ref}` (`OrderPart4.Secret`), which the console asks for on an
 * explicit "reveal".
 * @module
 */
import { Type } from 'typebox'
import type { Static } from 'typebox'
import type { AbortOptions } from './common.ts'
import type { OrderSortKey, SortDirection } from './state.ts'
import { Cid, ExtensionMap, ListQuery, Reference, StatusResponse } from './api.ts'

const Nullable = (description: string) => Type.Union([Type.String(), Type.Null()], { description })
const NullableText = Type.Union([Type.String(), Type.Null()])

// ── the node ─────────────────────────────────────────────────────────────────────────────────

/** What a node adds to its status for the console (the HTTP layer adds authentication and the plugin). */
export const NodeDetailsFields = {
  connectedPeerIDs: Type.Array(Type.String(), { description: 'IPFS peer ids of the peers connected now' }),
  fiduciaryCID: Nullable('The fiduciary this node orders from (its own identity on a multi node without one); null on a fiduciary'),
  fiduciaryURL: Nullable('Its URL (node.masterFiduciaryServer); null when it is this node itself'),
  trustedFiduciaries: Type.Array(Type.String(), { description: 'Fiduciaries whose part 4 a beneficiary on this node may redeem (node.trustedFiduciaries)' }),
}

const ExtensionFieldView = Type.Object({
  name: Type.String(),
  description: Type.String(),
  required: Type.Boolean(),
  example: Type.Optional(Type.String()),
})

const CheckpointSignature = Type.Object({
  name: Type.String({ description: 'The key name of the signature line' }),
  keyId: Type.String({ description: 'Its key ID, 8 hex digits' }),
  kind: Type.Union([Type.Literal('log'), Type.Literal('witness'), Type.Literal('other')], { description: 'log: the log\'s own key (its origin); witness: a milagro-dta/witness/<CID> cosignature; other: any other key' }),
  witnessCID: Nullable('The witness node\'s identity CID (from its key name); null unless a witness'),
  cosignedAt: Type.Union([Type.Integer(), Type.Null()], { description: 'When the witness cosigned (Unix seconds, from the cosignature); null unless a witness' }),
})

export const NodeResponse = Type.Object({
  ...StatusResponse.properties,
  ...NodeDetailsFields,
  authentication: Type.Object({
    enabled: Type.Boolean({ description: 'false: every route of the API is open to whoever reaches the listener' }),
    issuer: Type.Optional(Type.String()),
    audience: Type.Optional(Type.String()),
  }),
  pluginDetails: Type.Object({
    name: Type.String(),
    vendor: Type.String(),
    description: Type.String(),
    extensionFields: Type.Object({
      order: Type.Array(ExtensionFieldView),
      orderAnswer: Type.Array(ExtensionFieldView),
      secret: Type.Array(ExtensionFieldView),
      secretAnswer: Type.Array(ExtensionFieldView),
    }),
  }),
  /**
   * The node's transparency log (docs/log.md), when it keeps one: its key and latest signed
   * checkpoint — with witnesses configured, the newest one a quorum of them cosigned.
   */
  transparencyLog: Type.Optional(Type.Object({
    origin: Type.String(),
    verifierKey: Type.String(),
    treeSize: Type.Integer({ minimum: 0 }),
    rootHash: Type.String({ description: 'base64' }),
    /** The signed note as served at GET /v1/log/checkpoint. */
    checkpoint: Type.String(),
    /** The names of the keys that signed it, in the note's order. */
    signedBy: Type.Array(Type.String()),
    signatures: Type.Array(CheckpointSignature, { description: 'Each signature line of the checkpoint, named' }),
    witnesses: Type.Optional(Type.Object({
      configured: Type.Array(Type.String(), { description: 'The key names of the witnesses this log asks (node.witnesses)' }),
      quorum: Type.Integer({ description: 'How many of them must cosign (node.witnessQuorum)' }),
      cosigned: Type.Boolean({ description: 'true: the checkpoint above carries a quorum of their cosignatures; false: they could not be had now (failure), it is the log\'s own' }),
      failure: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    }, { description: 'Present when witnesses are configured' })),
  })),
}, { 'x-response-description': 'This node: its status, the fiduciary it uses, whether authentication is on, its plugin and the extension fields it takes' })

/** What the node itself knows for GET /v1/node; the HTTP layer adds `authentication` and `pluginDetails`. */
export type NodeDetails = Static<typeof StatusResponse> & {
  connectedPeerIDs: string[]
  fiduciaryCID: string | null
  fiduciaryURL: string | null
  trustedFiduciaries: string[]
}

// ── order summaries ──────────────────────────────────────────────────────────────────────────

export const OrderState = Type.Union([Type.Literal('ordered'), Type.Literal('redeemed'), Type.Literal('released')], {
  description: 'ordered: committed, not redeemed; redeemed: part 4 released to an identity this node holds; released: part 4 released to a beneficiary held by another node',
})

export const OrderSummary = Type.Object({
  orderReference: Type.String(),
  createdAt: Type.Integer({ description: 'Unix seconds' }),
  plugin: Type.String(),
  principalCID: Type.String(),
  fiduciaryCID: Type.String(),
  beneficiaryCID: Nullable('The beneficiary named at order time or at redemption; null: none'),
  state: OrderState,
  releasedTo: Nullable('The identity part 4 was released to; null before redemption'),
  orderPart1CID: NullableText,
  orderPart2CID: NullableText,
  orderPart3CID: NullableText,
  orderPart4CID: NullableText,
})

/** The columns of the console's Orders table, each a sort key of the state port (src/ports/state.ts OrderSortKey). */
export const OrderSortColumn = Type.Union([Type.Literal('reference'), Type.Literal('created'), Type.Literal('plugin'), Type.Literal('beneficiary'), Type.Literal('state')], {
  default: 'created',
  description: 'The column to sort by, in byte order of its text: reference; created (ties in the order they were stored); plugin; beneficiary (orders without one first); state (ordered, redeemed, released). Ties are broken by reference.',
})

export const OrderSummaryQuery = Type.Object({
  page: ListQuery.properties.page,
  perPage: ListQuery.properties.perPage,
  sort: OrderSortColumn,
  direction: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc', description: 'asc or desc; desc is exactly the reverse of asc' }),
  search: Type.Optional(Type.Union([Reference, Cid], { description: 'An order reference (that order alone), or a CID: the order one of whose parts it is, or the orders whose beneficiary it is (sorted and paged)' })),
}, { additionalProperties: false })

export const OrderSummaryList = Type.Object({
  orders: Type.Array(OrderSummary),
  total: Type.Integer({ description: 'How many orders this node has (with search: how many match)' }),
}, { 'x-response-description': 'A page of this node\'s orders, each with its state' })

// ── an order's chain, checked ────────────────────────────────────────────────────────────────

export const PartCheck = Type.Object({
  part: Type.Integer({ minimum: 1, maximum: 4 }),
  cid: Type.String(),
  author: Type.Union([Type.Literal('principal'), Type.Literal('fiduciary')], { description: 'Who must have signed it: parts 1 and 3 the principal, 2 and 4 the fiduciary' }),
  expectedSignerCID: Type.String(),
  signerCID: Nullable('The signer the envelope names; null when it could not be read'),
  previousCID: Nullable('The part it says it follows; "" for part 1, null when it could not be read'),
  recipients: Type.Array(Type.String(), { description: 'Identity CIDs it is encrypted to' }),
  createdAt: Type.Union([Type.Integer(), Type.Null()], { description: 'When it was sealed (ms since the epoch, from its signed header)' }),
  readBy: Nullable('The identity of this node that decrypted it; null when no identity of this node may read it'),
  verified: Type.Boolean({ description: 'Every check below passed' }),
  checks: Type.Array(Type.String(), { description: 'The checks that passed, in order' }),
  failure: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() }, { description: 'The check that failed (the error the node would refuse it with)' })),
})

export const OrderChainParams = Type.Object({ orderReference: Reference })

export const OrderChainResponse = Type.Object({
  order: OrderSummary,
  commitment: NullableText,
  extension: ExtensionMap,
  answerExtension: ExtensionMap,
  parts: Type.Array(PartCheck),
  verified: Type.Boolean({ description: 'Every part this order has verified' }),
  secretAvailable: Type.Boolean({ description: 'Part 4 was released to an identity this node holds: GET /v1/order/{ref} answers the secret' }),
  beneficiaryElsewhere: Type.Boolean({ description: 'Part 4 was released to a beneficiary held by another node: only that node can read it' }),
}, { 'x-response-description': 'The order and each part of its chain, as this node verified it' })

export const CONSOLE_OPERATIONS = {
  node: { operationId: 'getNode', summary: 'This node, for the console', description: 'The status, the connected peers, the fiduciary this node uses, whether authentication is on, the plugin and its extension fields. Needs a token when authentication is on.' },
  orderSummaries: { operationId: 'listOrderSummaries', summary: 'A page of this node\'s orders with their state', description: 'Each order\'s reference, time, plugin, beneficiary, state (ordered, redeemed, released) and part CIDs, sorted by any of those columns (sort, direction); search by reference, part CID or beneficiary CID.' },
  orderChain: { operationId: 'getOrderChain', summary: 'An order\'s chain, verified by this node', description: 'Each part\'s signer, recipients, time and link, and the result of this node\'s checks (signature, link, content, commitment proof, released seed). Never the secret.' },
} as const

// ── the types and the service ────────────────────────────────────────────────────────────────

export type NodeResponse = Static<typeof NodeResponse>
export type OrderSummary = Static<typeof OrderSummary>
export type OrderSummaryQuery = Static<typeof OrderSummaryQuery>
export type OrderSummaryList = Static<typeof OrderSummaryList>
export type PartCheck = Static<typeof PartCheck>
export type OrderChainResponse = Static<typeof OrderChainResponse>

/** The console's read-only views of this node's (principal) orders. */
export interface OrderViewService {
  /** `page` zero-based; `search` an order reference or a part or beneficiary CID. */
  summaries (query: { page: number, perPage: number, sort: OrderSortKey, direction: SortDirection, search?: string }, options?: AbortOptions): Promise<OrderSummaryList>
  chain (orderReference: string, options?: AbortOptions): Promise<OrderChainResponse>
}
