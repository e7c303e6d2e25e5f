/**
 * The HTTP API as contracts (PROTOCOL §8): one TypeBox schema per request and response shape —
 * it validates the request (src/http/app.ts), types the handler and the services, and feeds the
 * OpenAPI document — and the services the HTTP layer and the CLI may ask of a node. Field names
 * are the original D-TA's, so its clients and curl scripts work unchanged; extra fields (part
 * CIDs, inline documents) are optional additions. The types are derived from the schemas
 * (`Static<typeof …>`), so the two cannot drift apart.
 *
 * For the OpenAPI document (`/openapi.json`, `/docs`): each operation's summary and description
 * (`OPERATIONS`), each answer's description (`x-response-description`), and examples that pass
 * the schema and the store's own checks — a real CIDv0 and a well-formed order reference, since
 * the docs' "Try it out" sends them as they are (a string merely matching the CID pattern is not
 * a valid multihash: DOCUMENT_BAD_CID). The `extension` fields a plugin takes and answers are
 * described by the plugin itself (`Plugin.extensionFields`, `extensionFor`).
 * @module
 */
import { Type } from 'typebox'
import type { Static } from 'typebox'
import { CIDV0_PATTERN as CID_PATTERN, ORDER_REFERENCE_PATTERN } from './common.ts'
import type { AbortOptions, SortBy } from './common.ts'
import type { ExtensionField } from './plugin.ts'
import type { LogService, WitnessService } from './log-api.ts'
import type { NodeDetails, OrderViewService } from './console.ts'
import { AUDIT_OPS } from './state.ts'

// ── schemas ──────────────────────────────────────────────────────────────────────────────────

/** A real CIDv0 (of the 12-byte file "hello world\n"), so an example passes every check. */
export const EXAMPLE_CID = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
export const EXAMPLE_REFERENCE = '5b1f0c3e9a7d4f26b8c1e0a9d3f47e21'
export const Cid = Type.String({ pattern: CID_PATTERN, description: 'CIDv0 of a document in IPFS', examples: [EXAMPLE_CID] })
/** Order references are 128 random bits in hex (PROTOCOL §6). */
export const Reference = Type.String({ pattern: ORDER_REFERENCE_PATTERN, description: 'Order reference (32 lower-case hex digits)', examples: [EXAMPLE_REFERENCE] })
/** A CID in an answer: same shape, no pattern to check. */
const CidOut = (description: string) => Type.String({ description, examples: [EXAMPLE_CID] })
export const MAX_EXTENSION_ENTRIES = 32
export const MAX_EXTENSION_VALUE_CHARS = 16384
export const EXTENSION_KEY_PATTERN = '^[A-Za-z][A-Za-z0-9_.-]{0,63}$'
const extensionMap = (description: string, examples?: Array<Record<string, string>>) => Type.Record(
  Type.String({ pattern: EXTENSION_KEY_PATTERN }),
  Type.String({ maxLength: MAX_EXTENSION_VALUE_CHARS }),
  // additionalProperties: without it, keys that miss the pattern pass unchecked with any value
  // (found by the security fuzz, test/security/http-fuzz.test.ts)
  { maxProperties: MAX_EXTENSION_ENTRIES, additionalProperties: false, description, ...(examples === undefined ? {} : { examples }) },
)
export const ExtensionMap = extensionMap('Plugin-specific fields')

/**
 * The `extension` map of one request or answer, described by the plugin's own fields (the text
 * the CLI help shows too), with an example made of the fields' examples.
 */
export function extensionFor (fields: readonly ExtensionField[], what: string): typeof ExtensionMap {
  if (fields.length === 0) return extensionMap(`${what}: this node's plugin has none here (send {} or leave it out)`, [{}])
  const described = fields.map(f => `${f.name}${f.required === true ? ' (required)' : ''}: ${f.description}`).join('; ')
  const example = extensionExample(fields)
  return extensionMap(`${what}, for this node's plugin — ${described}`, Object.keys(example).length === 0 ? undefined : [example])
}

/** An `extension` made of the fields' examples. */
export function extensionExample (fields: readonly ExtensionField[]): Record<string, string> {
  return Object.fromEntries(fields.flatMap(f => f.example === undefined ? [] : [[f.name, f.example]]))
}
/** Documents carried inline: CID → base64 bytes. The receiver checks each hashes to its CID. */
export const InlineDocuments = Type.Record(Type.String({ pattern: CID_PATTERN }), Type.String({ maxLength: 1_500_000 }), { maxProperties: 8, additionalProperties: false })

const errorFields = {
  statusCode: Type.Integer({ examples: [404] }),
  code: Type.String({ description: 'Stable error code, see docs/errors.md', examples: ['ORDER_NOT_FOUND'] }),
  message: Type.String({ description: 'The code\'s fixed message, and what was refused', examples: [`No order with that reference: ${EXAMPLE_REFERENCE}`] }),
}
export const ErrorBody = Type.Object(errorFields)
/** The error answers of every operation, as the OpenAPI document shows them. */
export const ClientErrorBody = Type.Object(errorFields, { 'x-response-description': 'Refused: bad input (400, 422 REQUEST_INVALID naming the field), unknown (404), not entitled (403), conflict (409), authentication (401)' })
export const ServerErrorBody = Type.Object(errorFields, { 'x-response-description': 'Failed: this node (500, 503) or a peer node (502)' })

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
}, { 'x-response-description': 'The node: its identity CID, type, plugin, version and IPFS peer' })

const HealthCheck = Type.Object({
  ok: Type.Boolean(),
  /** How long the check took. */
  ms: Type.Number(),
  /** Why it failed: an error code, never a value. */
  code: Type.Optional(Type.String()),
  /** Public facts the check found (e.g. connected peers). */
  detail: Type.Optional(Type.String()),
})

export const LiveResponse = Type.Object({ status: Type.Literal('live') }, { 'x-response-description': 'The process answers' })

export const ReadyResponse = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Record(Type.String(), HealthCheck),
}, { 'x-response-description': 'Each check by name: database writable, custody seals and opens a probe, IPFS started, fiduciary reachable (principals); 503 when one fails' })

export const CreateIdentityRequest = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The identity\'s name (its authenticationReference)' })),
  Name: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The original D-TA clients\' spelling of name' })),
  extension: Type.Optional(ExtensionMap),
}, { additionalProperties: false, examples: [{ name: 'alice' }] })
export const CreateIdentityResponse = Type.Object({ idDocumentCID: CidOut('CID of the new identity document') }, { 'x-response-description': 'The identity, created and held by this node' })

const identityFields = {
  idDocumentCID: CidOut('CID of the identity document'),
  authenticationReference: Type.String(),
  beneficiaryECPublicKey: Type.String(),
  kemPublicKey: Type.String(),
  blsPublicKey: Type.String(),
  timestamp: Type.Integer({ description: 'Unix seconds' }),
}
export const IdentityView = Type.Object(identityFields, { 'x-response-description': 'The identity document, verified (keys in hex)' })
export const IdentityParams = Type.Object({ idDocumentCID: Cid })
export const IdentityListResponse = Type.Object({
  idDocumentList: Type.Array(Type.Object(identityFields)),
  total: Type.Integer({ description: 'How many identities this node holds (an addition to the original\'s answer)' }),
}, { 'x-response-description': 'The identities this node holds, a page of them' })

const Beneficiary = Type.Union([Cid, Type.Literal('')], { description: 'Identity CID of the beneficiary the secret will be released to ("" or absent: none)' })
export const OrderRequest = Type.Object({
  beneficiaryIDDocumentCID: Type.Optional(Beneficiary),
  extension: Type.Optional(ExtensionMap),
}, { additionalProperties: false, examples: [{}] })
export const OrderResponse = Type.Object({
  orderReference: Type.String({ description: 'The order\'s reference', examples: [EXAMPLE_REFERENCE] }),
  commitment: Type.String({ description: 'The fiduciary\'s commitment (the public key, hex), as the plugin answers it' }),
  createdAt: Type.Integer({ description: 'Unix seconds' }),
  extension: ExtensionMap,
  orderPart1CID: CidOut('CID of order part 1 (this node\'s request)'),
  orderPart2CID: CidOut('CID of order part 2 (the fiduciary\'s commitment)'),
}, { 'x-response-description': 'The order, committed by the fiduciary' })
export const OrderListResponse = Type.Object({ orderReference: Type.Array(Type.String({ examples: [EXAMPLE_REFERENCE] })) }, { 'x-response-description': 'References of this node\'s orders, a page of them' })
export const OrderParams = Type.Object({ orderReference: Reference })
export const GetOrderResponse = Type.Object({
  orderCID: CidOut('CID of the newest part this node can read'),
  order: Type.String({ description: 'JSON string of the order document in the original D-TA shape: Type, BeneficiaryType, Coin, PrincipalCID, BeneficiaryCID, Reference, Timestamp (Unix seconds), OrderPart2 {CommitmentPublicKey, PreviousOrderCID, Timestamp, Extension}, OrderPart3 {Redemption, PreviousOrderCID, BeneficiaryEncryptedData, Timestamp}, OrderPart4 {Secret (when part 4 was released to this node), PreviousOrderCID, Timestamp, Extension}; plus chain, commitment, parts, plugin, fiduciaryCID, extension, proofOfPossession, redemptionBeneficiaryCID (docs/api.md)' }),
}, { 'x-response-description': 'The order document in the original D-TA shape' })

export const OrderSecretRequest = Type.Object({
  orderReference: Type.Optional(Type.String({ pattern: ORDER_REFERENCE_PATTERN, examples: [EXAMPLE_REFERENCE], description: 'The order to redeem (required, except on a beneficiary\'s node with orderPart4CID)' })),
  beneficiaryIDDocumentCID: Type.Optional(Beneficiary),
  extension: Type.Optional(ExtensionMap),
  orderPart4CID: Type.Optional(Type.String({ pattern: CID_PATTERN, examples: [EXAMPLE_CID], description: 'On a beneficiary\'s own node, instead of orderReference: the part 4 CID the principal\'s redemption answered' })),
}, { additionalProperties: false, examples: [{ orderReference: EXAMPLE_REFERENCE }] })
export const OrderSecretResponse = Type.Object({
  secret: Type.Optional(Type.String({ description: 'The secret; absent when it was released to a beneficiary held by another node (which redeems it with orderPart4CID)' })),
  commitment: Type.String(),
  orderReference: Type.String({ examples: [EXAMPLE_REFERENCE] }),
  extension: ExtensionMap,
  orderPart3CID: CidOut('CID of order part 3 (the redemption request)'),
  orderPart4CID: CidOut('CID of order part 4 (the released seed, encrypted to its recipient)'),
}, { 'x-response-description': 'The redeemed secret, or the hand-off to the beneficiary\'s node' })

export const FulfillOrderRequest = Type.Object({
  orderPart1CID: Cid,
  documentCID: Cid,
  extension: Type.Optional(ExtensionMap),
  documents: Type.Optional(InlineDocuments),
  /** The size of the newest checkpoint of the fiduciary's log the caller has seen: the answer's `log` then proves consistency from it. */
  logSize: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'The size of the newest checkpoint of this fiduciary\'s log the caller has seen (docs/log.md): the answer then carries the consistency proof from it' })),
}, { additionalProperties: false, examples: [{ orderPart1CID: EXAMPLE_CID, documentCID: EXAMPLE_CID }] })
/** Where a document is in a node's transparency log, and the signed tree that says so (docs/log.md). */
export const LogProof = Type.Object({
  leafIndex: Type.Integer({ minimum: 0, description: 'The index of the document\'s leaf in the log' }),
  inclusionProof: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64, description: 'RFC 9162 inclusion proof of the leaf in the checkpoint\'s tree: base64 hashes, bottom first' }),
  checkpoint: Type.String({ maxLength: 16384, description: 'The log\'s signed checkpoint (C2SP tlog-checkpoint in a signed note) the proof is against' }),
  logKeyDocumentCID: CidOut('CID of the node\'s log key statement (sent inline in `documents`)'),
  consistencyFrom: Type.Optional(Type.Integer({ minimum: 0, description: 'The request\'s logSize, when it asked for a consistency proof' })),
  consistencyProof: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64, description: 'RFC 9162 consistency proof from the tree of size consistencyFrom to the checkpoint\'s' })),
}, { description: 'The answer\'s document in the fiduciary\'s transparency log' })
export const FulfillOrderResponse = Type.Object({ orderPart2CID: CidOut('CID of order part 2'), extension: ExtensionMap, documents: Type.Optional(InlineDocuments), log: Type.Optional(LogProof) }, { 'x-response-description': 'Part 2: the commitment, signed by this fiduciary, with its place in the fiduciary\'s log' })
export const FulfillOrderSecretRequest = Type.Object({
  orderPart3CID: Cid,
  documentCID: Cid,
  extension: Type.Optional(ExtensionMap),
  documents: Type.Optional(InlineDocuments),
  /** The size of the newest checkpoint of the fiduciary's log the caller has seen: the answer's `log` then proves consistency from it. */
  logSize: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'The size of the newest checkpoint of this fiduciary\'s log the caller has seen (docs/log.md): the answer then carries the consistency proof from it' })),
}, { additionalProperties: false, examples: [{ orderPart3CID: EXAMPLE_CID, documentCID: EXAMPLE_CID }] })
export const FulfillOrderSecretResponse = Type.Object({ orderPart4CID: CidOut('CID of order part 4'), extension: ExtensionMap, documents: Type.Optional(InlineDocuments), log: Type.Optional(LogProof) }, { 'x-response-description': 'Part 4: the seed, encrypted to the entitled recipient only, with its place in the fiduciary\'s log' })

/** The inline documents of a threshold RPC: a DKG among up to 18 fiduciaries carries more than an order part does. */
export const ThresholdDocuments = Type.Record(Type.String({ pattern: CID_PATTERN }), Type.String({ maxLength: 1_500_000 }), { maxProperties: 64, additionalProperties: false })
const thresholdBase = { orderPart1CID: Cid, documentCID: Cid, documents: Type.Optional(ThresholdDocuments) }
export const ThresholdRound1Request = Type.Object(thresholdBase, { additionalProperties: false, examples: [{ orderPart1CID: EXAMPLE_CID, documentCID: EXAMPLE_CID }] })
export const ThresholdRound1Response = Type.Object({ round1CID: CidOut('CID of this fiduciary\'s round-1 package'), documents: Type.Optional(ThresholdDocuments) }, { 'x-response-description': 'Round 1: this fiduciary\'s commitments and proof of knowledge, signed, bound to the order' })
export const ThresholdRound2Request = Type.Object({ ...thresholdBase, round1CIDs: Type.Array(Cid, { minItems: 2, maxItems: 18, description: 'Every fiduciary\'s round-1 package, in the order of part 1' }) }, { additionalProperties: false, examples: [{ orderPart1CID: EXAMPLE_CID, documentCID: EXAMPLE_CID, round1CIDs: [EXAMPLE_CID, EXAMPLE_CID] }] })
export const ThresholdRound2Response = Type.Object({
  transcriptHash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the round-1 packages this fiduciary saw (docs/threshold.md)' }),
  shareCIDs: Type.Array(Type.String(), { maxItems: 18, description: 'The share for each fiduciary, in the order of part 1 ("" at this fiduciary\'s own place), each sealed to its recipient alone' }),
  documents: Type.Optional(ThresholdDocuments),
}, { 'x-response-description': 'Round 2: one sealed share per other fiduciary, and the transcript hash' })
export const ThresholdRound3Request = Type.Object({ ...thresholdBase, shareCIDs: Type.Array(Cid, { minItems: 1, maxItems: 17, description: 'The shares addressed to this fiduciary, in the order of their senders in part 1' }) }, { additionalProperties: false, examples: [{ orderPart1CID: EXAMPLE_CID, documentCID: EXAMPLE_CID, shareCIDs: [EXAMPLE_CID] }] })
export const ThresholdRound3Response = Type.Object({ orderPart2CID: CidOut('CID of this fiduciary\'s part 2'), documents: Type.Optional(ThresholdDocuments) }, { 'x-response-description': 'Part 2: the group key, this fiduciary\'s verifying share and the transcript hash, its share sealed by custody' })

export const AuditQuery = Type.Object({
  page: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Zero-based page' }),
  perPage: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  op: Type.Optional(Type.Union(AUDIT_OPS.map(op => Type.Literal(op)), { description: 'Only the entries of this operation' })),
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
export const AuditListResponse = Type.Object({
  auditList: Type.Array(AuditEntry, { description: 'Oldest first' }),
  total: Type.Integer({ description: 'How many entries the trail holds (with op: of that operation)' }),
}, { 'x-response-description': 'The custody audit trail, a page of it' })

/** Each operation's summary and description in the OpenAPI document (src/http/app.ts adds them to the routes). */
export const OPERATIONS = {
  status: { operationId: 'getStatus', summary: 'Node status', description: 'What this node is: application, API version, node identity CID, node type, plugin, version, IPFS peer id, addresses and connected peers. Needs no token.' },
  live: { operationId: 'getLive', summary: 'Liveness', description: 'The process answers. Needs no token; for systemd and load balancers.' },
  ready: { operationId: 'getReady', summary: 'Readiness', description: 'Whether this node can serve: the state database takes a write, custody seals and opens a probe record, the IPFS node runs, and (principals) a fiduciary answers. 503 with the failing check when not. Needs no token; holds no secret.' },
  createIdentity: { operationId: 'createIdentity', summary: 'Create an identity', description: 'Creates an identity held by this node (its keys sealed by custody) and stores its signed identity document in IPFS.' },
  getIdentity: { operationId: 'getIdentity', summary: 'Show an identity document', description: 'Any identity, fetched from IPFS (from this node or its peers) and verified.' },
  listIdentities: { operationId: 'listIdentities', summary: 'List the identities this node holds', description: 'Zero-based pages; sortBy dateCreatedAsc is oldest first, anything else newest first.' },
  createOrder: { operationId: 'createOrder', summary: 'Place an order', description: 'Asks the fiduciary for a commitment: it generates and safeguards a secret and answers its public key. The extension fields depend on the node\'s plugin.' },
  listOrders: { operationId: 'listOrders', summary: 'List this node\'s orders', description: 'Order references, zero-based pages; sortBy dateCreatedAsc is oldest first, anything else newest first.' },
  getOrder: { operationId: 'getOrder', summary: 'Show an order', description: 'The newest part of the order this node can read, in the original D-TA shape (docs/api.md).' },
  redeemOrder: { operationId: 'redeemOrder', summary: 'Redeem an order\'s secret', description: 'Asks the fiduciary to release the secret to the principal, or to the beneficiary (named at order time or now). On a beneficiary\'s own node: give orderPart4CID instead of orderReference.' },
  listAudit: { operationId: 'listAudit', summary: 'Read the custody audit trail', description: 'seed.created, seed.released, identity.created, refusals…, oldest first; zero-based pages; op: only one operation.' },
  fulfillOrder: { operationId: 'fulfillOrder', summary: 'Fiduciary: commit to an order (node to node)', description: 'Called by a principal\'s node with order part 1; answers part 2 with the commitment.' },
  fulfillOrderSecret: { operationId: 'fulfillOrderSecret', summary: 'Fiduciary: release a secret (node to node)', description: 'Called by a principal\'s (or beneficiary\'s) node with order part 3; answers part 4, the seed encrypted to the entitled recipient.' },
  thresholdRound1: { operationId: 'thresholdRound1', summary: 'Fiduciary: threshold key generation, round 1 (node to node)', description: 'Called by a principal\'s node with the part 1 of a threshold order; answers this fiduciary\'s round-1 package (docs/threshold.md).' },
  thresholdRound2: { operationId: 'thresholdRound2', summary: 'Fiduciary: threshold key generation, round 2 (node to node)', description: 'Called with every fiduciary\'s round-1 package; answers one share per other fiduciary, each sealed to it alone, and the transcript hash.' },
  thresholdRound3: { operationId: 'thresholdRound3', summary: 'Fiduciary: threshold key generation, round 3 (node to node)', description: 'Called with the shares addressed to this fiduciary; checks each against its sender\'s commitments, seals its share with custody and answers its part 2.' },
} as const

// ── the types the schemas give ────────────────────────────────────────────────────────────────

export type NodeType = 'multi' | 'principal' | 'fiduciary'
export type InlineDocuments = Static<typeof InlineDocuments>
export type StatusResponse = Static<typeof StatusResponse>
export type LiveResponse = Static<typeof LiveResponse>
export type ReadyResponse = Static<typeof ReadyResponse>
export type IdentityView = Static<typeof IdentityView>
export type OrderRequest = Static<typeof OrderRequest>
export type OrderResponse = Static<typeof OrderResponse>
export type OrderSecretRequest = Static<typeof OrderSecretRequest>
export type OrderSecretResponse = Static<typeof OrderSecretResponse>
export type FulfillOrderRequest = Static<typeof FulfillOrderRequest>
export type FulfillOrderResponse = Static<typeof FulfillOrderResponse>
export type FulfillOrderSecretRequest = Static<typeof FulfillOrderSecretRequest>
export type FulfillOrderSecretResponse = Static<typeof FulfillOrderSecretResponse>
export type ThresholdRound1Request = Static<typeof ThresholdRound1Request>
export type ThresholdRound1Response = Static<typeof ThresholdRound1Response>
export type ThresholdRound2Request = Static<typeof ThresholdRound2Request>
export type ThresholdRound2Response = Static<typeof ThresholdRound2Response>
export type ThresholdRound3Request = Static<typeof ThresholdRound3Request>
export type ThresholdRound3Response = Static<typeof ThresholdRound3Response>
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
  /** How many identities `list` pages through (those this node holds). */
  count (options?: AbortOptions): Promise<number>
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

/** The fiduciary side of a threshold order's key generation (docs/threshold.md); its release is FulfilService.secret. */
export interface ThresholdFulfilService {
  round1 (request: ThresholdRound1Request, options?: AbortOptions): Promise<ThresholdRound1Response>
  round2 (request: ThresholdRound2Request, options?: AbortOptions): Promise<ThresholdRound2Response>
  round3 (request: ThresholdRound3Request, options?: AbortOptions): Promise<ThresholdRound3Response>
}

export interface AuditService {
  /** Oldest first. */
  list (query: AuditQuery, options?: AbortOptions): Promise<AuditEntryView[]>
  /** How many entries `list` pages through (with `op`: of that operation). */
  count (query: Pick<AuditQuery, 'op'>, options?: AbortOptions): Promise<number>
}

export interface NodeServices {
  nodeType: NodeType
  status (): Promise<StatusResponse>
  identity: IdentityService
  order?: OrderService
  fulfil?: FulfilService
  /** The fiduciary side of threshold orders (POST /v1/fulfill/threshold/round1..3). */
  thresholdFulfil?: ThresholdFulfilService
  /** The audit trail, read-only (GET /v1/audit). */
  audit?: AuditService
  /** The node's transparency log (GET /v1/log/…, docs/log.md), when its state backend keeps one. */
  log?: LogService
  /** Present when this node witnesses other nodes' logs (node.witnessFor). */
  witness?: WitnessService
  /** GET /v1/health/ready's checks (src/services/health.ts); without it, ready answers live only. */
  health?: HealthService
  /** The node described for the console (GET /v1/node; src/ports/console.ts). */
  details?: () => Promise<NodeDetails>
  /** The console's views of the orders: summaries and the verified chain (principal and multi nodes). */
  orderViews?: OrderViewService
}

export interface HealthService {
  ready (options?: AbortOptions): Promise<ReadyResponse>
}
