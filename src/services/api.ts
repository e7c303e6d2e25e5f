/**
 * What the HTTP layer and the CLI may ask of a node: the three services (identity, order —
 * principal side, fulfil — fiduciary side) with request and response shapes that mirror the
 * original D-TA's JSON API field for field (PROTOCOL §8). Services implement these; the HTTP
 * app depends only on these types, never on a concrete service.
 * @module
 */
import type { AbortOptions } from '../ports/document-store.ts'

export type Extension = Record<string, string>
export type SortBy = 'dateCreatedAsc' | 'dateCreatedDesc'
export type NodeType = 'multi' | 'principal' | 'fiduciary'

export interface ListQuery {
  /** Zero-based, as the original API. */
  page: number
  perPage: number
  sortBy: SortBy
}

export interface StatusResponse {
  application: string
  apiVersion: string
  extensionVendor: string
  nodeCID: string
  timeStamp: string
  plugin: string
  nodeType: NodeType
  version: string
  peerID: string
  listenAddrs: string[]
  connectedPeers: number
}

export interface IdentityView {
  idDocumentCID: string
  authenticationReference: string
  beneficiaryECPublicKey: string
  kemPublicKey: string
  blsPublicKey: string
  timestamp: number
}

export interface IdentityService {
  create (name: string, options?: AbortOptions): Promise<{ idDocumentCID: string }>
  get (idDocumentCID: string, options?: AbortOptions): Promise<IdentityView>
  list (query: ListQuery, options?: AbortOptions): Promise<IdentityView[]>
}

export interface OrderRequest { beneficiaryIDDocumentCID?: string, extension?: Extension }
export interface OrderResponse {
  orderReference: string
  commitment: string
  createdAt: number
  extension: Extension
  orderPart1CID: string
  orderPart2CID: string
}

export interface OrderSecretRequest {
  orderReference?: string
  beneficiaryIDDocumentCID?: string
  extension?: Extension
  /** Beneficiary redemption on its own node: the part 4 CID is enough (see docs/api.md). */
  orderPart4CID?: string
}
export interface OrderSecretResponse {
  secret?: string
  commitment: string
  orderReference: string
  extension: Extension
  orderPart3CID: string
  orderPart4CID: string
}

export interface OrderService {
  create (request: OrderRequest, options?: AbortOptions): Promise<OrderResponse>
  list (query: ListQuery, options?: AbortOptions): Promise<string[]>
  get (orderReference: string, options?: AbortOptions): Promise<{ orderCID: string, order: string }>
  secret (request: OrderSecretRequest, options?: AbortOptions): Promise<OrderSecretResponse>
}

/** Documents may travel inline with an RPC; the receiver accepts them only if they hash to their CID. */
export type InlineDocuments = Record<string, string>

export interface FulfillOrderRequest { orderPart1CID: string, documentCID: string, extension?: Extension, documents?: InlineDocuments }
export interface FulfillOrderResponse { orderPart2CID: string, extension: Extension, documents?: InlineDocuments }
export interface FulfillOrderSecretRequest { orderPart3CID: string, documentCID: string, extension?: Extension, documents?: InlineDocuments }
export interface FulfillOrderSecretResponse { orderPart4CID: string, extension: Extension, documents?: InlineDocuments }

export interface FulfilService {
  order (request: FulfillOrderRequest, options?: AbortOptions): Promise<FulfillOrderResponse>
  secret (request: FulfillOrderSecretRequest, options?: AbortOptions): Promise<FulfillOrderSecretResponse>
}

export interface AuditQuery {
  /** Zero-based, as the other lists. */
  page: number
  perPage: number
}

/** One audit trail entry: public values only (CIDs, record ids, codes). */
export interface AuditEntryView {
  id: number
  /** ms since the epoch. */
  at: number
  op: string
  reference: string | null
  actor: string | null
  detail: string | null
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
