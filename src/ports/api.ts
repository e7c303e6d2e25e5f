/**
 * The HTTP API as contracts (PROTOCOL §8): one TypeBox schema per request and response shape —
 * it validates the request (src/http/app.ts), types the handler and the services, and feeds the
 * OpenAPI document — and the services the HTTP layer and the CLI may ask of a node. Field names
 * are the original D-TA's, so its clients and curl scripts work unchanged; extra fields (part
 * CIDs, inline documents) are optional additions. The types are derived from the schemas
 * (`Static<typeof …>`), so the two cannot drift apart.
 * @module
 */
import { Type } from 'typebox'
import type { Static } from 'typebox'
import { CIDV0_PATTERN as CID_PATTERN, ORDER_REFERENCE_PATTERN } from './common.ts'
import type { AbortOptions, SortBy } from './common.ts'

// ── schemas ──────────────────────────────────────────────────────────────────────────────────

export const Cid = Type.String({ pattern: CID_PATTERN, description: 'CIDv0 of a document in IPFS' })
/** Order references are 128 random bits in hex (PROTOCOL §6). */
export const Reference = Type.String({ pattern: ORDER_REFERENCE_PATTERN, description: 'Order reference' })
export const MAX_EXTENSION_ENTRIES = 32
export const MAX_EXTENSION_VALUE_CHARS = 16384
export const ExtensionMap = Type.Record(
  Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,63}$' }),
  Type.String({ maxLength: MAX_EXTENSION_VALUE_CHARS }),
  // additionalProperties: without it, keys that miss the pattern pass unchecked with any value
  // (found by the security fuzz, test/security/http-fuzz.test.ts)
  { maxProperties: MAX_EXTENSION_ENTRIES, additionalProperties: false, description: 'Plugin-specific fields' },
)
/** Documents carried inline: CID → base64 bytes. The receiver checks each hashes to its CID. */
export const InlineDocuments = Type.Record(Type.String({ pattern: CID_PATTERN }), Type.String({ maxLength: 1_500_000 }), { maxProperties: 8, additionalProperties: false })

export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'Stable error code, see docs/errors.md' }),
  message: Type.String(),
})

export const ListQuery = Type.Object({
  page: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Zero-based page' }),
  perPage: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  // the original's rule: dateCreatedAsc is oldest first, any other value newest first (its own
  // clients send the misspelling dateCreatedDsc); dateCreatedDesc is the documented spelling
  sortBy: Type.String({ maxLength: 64, default: 'dateCreatedDesc', description: 'dateCreatedAsc: oldest first; any other value (dateCreatedDesc, or the original clients\' dateCreatedDsc): newest first' }),
}, { additionalProperties: false })

export const StatusResponse = Type.Object({
  application: Type.String(),
  apiVersion: Type.String(),
  extensionVendor: Type.String(),
  nodeCID: Type.String(),
  timeStamp: Type.String(),
  plugin: Type.String(),
  nodeType: Type.Union([Type.Literal('multi'), Type.Literal('principal'), Type.Literal('fiduciary')]),
  version: Type.String(),
  peerID: Type.String(),
  listenAddrs: Type.Array(Type.String()),
  connectedPeers: Type.Integer(),
})

export const CreateIdentityRequest = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  Name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  extension: Type.Optional(ExtensionMap),
}, { additionalProperties: false })
export const CreateIdentityResponse = Type.Object({ idDocumentCID: Type.String() })

export const IdentityView = Type.Object({
  idDocumentCID: Type.String(),
  authenticationReference: Type.String(),
  beneficiaryECPublicKey: Type.String(),
  kemPublicKey: Type.String(),
  blsPublicKey: Type.String(),
  timestamp: Type.Integer(),
})
export const IdentityParams = Type.Object({ idDocumentCID: Cid })
export const IdentityListResponse = Type.Object({ idDocumentList: Type.Array(IdentityView) })

export const OrderRequest = Type.Object({
  beneficiaryIDDocumentCID: Type.Optional(Type.Union([Cid, Type.Literal('')])),
  extension: Type.Optional(ExtensionMap),
}, { additionalProperties: false })
export const OrderResponse = Type.Object({
  orderReference: Type.String(),
  commitment: Type.String(),
  createdAt: Type.Integer(),
  extension: ExtensionMap,
  orderPart1CID: Type.String(),
  orderPart2CID: Type.String(),
})
export const OrderListResponse = Type.Object({ orderReference: Type.Array(Type.String()) })
export const OrderParams = Type.Object({ orderReference: Reference })
export const GetOrderResponse = Type.Object({
  orderCID: Type.String({ description: 'CID of the newest part this node can read' }),
  order: Type.String({ description: 'JSON string of the order document in the original D-TA shape: Type, BeneficiaryType, Coin, PrincipalCID, BeneficiaryCID, Reference, Timestamp (Unix seconds), OrderPart2 {CommitmentPublicKey, PreviousOrderCID, Timestamp, Extension}, OrderPart3 {Redemption, PreviousOrderCID, BeneficiaryEncryptedData, Timestamp}, OrderPart4 {Secret (when part 4 was released to this node), PreviousOrderCID, Timestamp, Extension}; plus chain, commitment, parts, plugin, fiduciaryCID, extension, proofOfPossession, redemptionBeneficiaryCID (docs/api.md)' }),
})

export const OrderSecretRequest = Type.Object({
  orderReference: Type.Optional(Reference),
  beneficiaryIDDocumentCID: Type.Optional(Type.Union([Cid, Type.Literal('')])),
  extension: Type.Optional(ExtensionMap),
  orderPart4CID: Type.Optional(Cid),
}, { additionalProperties: false })
export const OrderSecretResponse = Type.Object({
  secret: Type.Optional(Type.String()),
  commitment: Type.String(),
  orderReference: Type.String(),
  extension: ExtensionMap,
  orderPart3CID: Type.String(),
  orderPart4CID: Type.String(),
})

export const FulfillOrderRequest = Type.Object({
  orderPart1CID: Cid,
  documentCID: Cid,
  extension: Type.Optional(ExtensionMap),
  documents: Type.Optional(InlineDocuments),
}, { additionalProperties: false })
export const FulfillOrderResponse = Type.Object({ orderPart2CID: Type.String(), extension: ExtensionMap, documents: Type.Optional(InlineDocuments) })
export const FulfillOrderSecretRequest = Type.Object({
  orderPart3CID: Cid,
  documentCID: Cid,
  extension: Type.Optional(ExtensionMap),
  documents: Type.Optional(InlineDocuments),
}, { additionalProperties: false })
export const FulfillOrderSecretResponse = Type.Object({ orderPart4CID: Type.String(), extension: ExtensionMap, documents: Type.Optional(InlineDocuments) })

export const AuditQuery = Type.Object({
  page: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Zero-based page' }),
  perPage: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
}, { additionalProperties: false })
const NullableText = Type.Union([Type.String(), Type.Null()])
export const AuditEntry = Type.Object({
  id: Type.Integer({ description: 'Position in the append-only trail' }),
  at: Type.Integer({ description: 'ms since the epoch' }),
  op: Type.String({ description: 'identity.created, seed.created, seed.released, seed.resealed, order.refused, release.refused, …' }),
  reference: NullableText,
  actor: NullableText,
  detail: NullableText,
})
export const AuditListResponse = Type.Object({ auditList: Type.Array(AuditEntry, { description: 'Oldest first' }) })

// ── the types the schemas give ────────────────────────────────────────────────────────────────

export type NodeType = 'multi' | 'principal' | 'fiduciary'
export type InlineDocuments = Static<typeof InlineDocuments>
export type StatusResponse = Static<typeof StatusResponse>
export type IdentityView = Static<typeof IdentityView>
export type OrderRequest = Static<typeof OrderRequest>
export type OrderResponse = Static<typeof OrderResponse>
export type OrderSecretRequest = Static<typeof OrderSecretRequest>
export type OrderSecretResponse = Static<typeof OrderSecretResponse>
export type FulfillOrderRequest = Static<typeof FulfillOrderRequest>
export type FulfillOrderResponse = Static<typeof FulfillOrderResponse>
export type FulfillOrderSecretRequest = Static<typeof FulfillOrderSecretRequest>
export type FulfillOrderSecretResponse = Static<typeof FulfillOrderSecretResponse>
export type AuditQuery = Static<typeof AuditQuery>
/** One audit trail entry: public values only (CIDs, record ids, codes). */
export type AuditEntryView = Static<typeof AuditEntry>

/** The sort order a list request asks for, by the original's rule (see the ListQuery schema). */
export function sortOrder (sortBy: string): SortBy {
  return sortBy === 'dateCreatedAsc' ? 'dateCreatedAsc' : 'dateCreatedDesc'
}

/** A page of a list; `page` is zero-based, as in the original API. */
export interface ListQuery {
  page: number
  perPage: number
  sortBy: SortBy
}

// ── the services ─────────────────────────────────────────────────────────────────────────────

export interface IdentityService {
  create (name: string, options?: AbortOptions): Promise<{ idDocumentCID: string }>
  get (idDocumentCID: string, options?: AbortOptions): Promise<IdentityView>
  list (query: ListQuery, options?: AbortOptions): Promise<IdentityView[]>
}

export interface OrderService {
  create (request: OrderRequest, options?: AbortOptions): Promise<OrderResponse>
  list (query: ListQuery, options?: AbortOptions): Promise<string[]>
  get (orderReference: string, options?: AbortOptions): Promise<{ orderCID: string, order: string }>
  secret (request: OrderSecretRequest, options?: AbortOptions): Promise<OrderSecretResponse>
}

export interface FulfilService {
  order (request: FulfillOrderRequest, options?: AbortOptions): Promise<FulfillOrderResponse>
  secret (request: FulfillOrderSecretRequest, options?: AbortOptions): Promise<FulfillOrderSecretResponse>
}

export interface AuditService {
  /** Oldest first. */
  list (query: AuditQuery, options?: AbortOptions): Promise<AuditEntryView[]>
}

export interface NodeServices {
  nodeType: NodeType
  status (): Promise<StatusResponse>
  identity: IdentityService
  order?: OrderService
  fulfil?: FulfilService
  /** The audit trail, read-only (GET /v1/audit). */
  audit?: AuditService
}
