/**
 * Request and response schemas of the HTTP API (PROTOCOL §8). One TypeBox schema per shape
 * validates the request, types the handler and feeds the OpenAPI document. Field names are the
 * original D-TA's, so its clients and curl scripts work unchanged; extra fields (part CIDs,
 * inline documents) are optional additions.
 * @module
 */
import { Type } from 'typebox'

import { CIDV0_PATTERN as CID_PATTERN } from '../core/cid.ts'

export const Cid = Type.String({ pattern: CID_PATTERN, description: 'CIDv0 of a document in IPFS' })
/** Order references are 128 random bits in hex (PROTOCOL §6). */
export const Reference = Type.String({ pattern: '^[0-9a-f]{32}$', description: 'Order reference' })
export const MAX_EXTENSION_ENTRIES = 32
export const MAX_EXTENSION_VALUE_CHARS = 16384
export const Extension = Type.Record(
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
  sortBy: Type.Union([Type.Literal('dateCreatedAsc'), Type.Literal('dateCreatedDesc')], { default: 'dateCreatedDesc' }),
}, { additionalProperties: false })

export const StatusResponse = Type.Object({
  application: Type.String(),
  apiVersion: Type.String(),
  extensionVendor: Type.String(),
  nodeCID: Type.String(),
  timeStamp: Type.String(),
  plugin: Type.String(),
  nodeType: Type.String(),
  version: Type.String(),
  peerID: Type.String(),
  listenAddrs: Type.Array(Type.String()),
  connectedPeers: Type.Integer(),
})

export const CreateIdentityRequest = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  Name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  extension: Type.Optional(Extension),
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
  extension: Type.Optional(Extension),
}, { additionalProperties: false })
export const OrderResponse = Type.Object({
  orderReference: Type.String(),
  commitment: Type.String(),
  createdAt: Type.Integer(),
  extension: Extension,
  orderPart1CID: Type.String(),
  orderPart2CID: Type.String(),
})
export const OrderListResponse = Type.Object({ orderReference: Type.Array(Type.String()) })
export const OrderParams = Type.Object({ orderReference: Reference })
export const GetOrderResponse = Type.Object({ orderCID: Type.String(), order: Type.String() })

export const OrderSecretRequest = Type.Object({
  orderReference: Type.Optional(Reference),
  beneficiaryIDDocumentCID: Type.Optional(Type.Union([Cid, Type.Literal('')])),
  extension: Type.Optional(Extension),
  orderPart4CID: Type.Optional(Cid),
}, { additionalProperties: false })
export const OrderSecretResponse = Type.Object({
  secret: Type.Optional(Type.String()),
  commitment: Type.String(),
  orderReference: Type.String(),
  extension: Extension,
  orderPart3CID: Type.String(),
  orderPart4CID: Type.String(),
})

export const FulfillOrderRequest = Type.Object({
  orderPart1CID: Cid,
  documentCID: Cid,
  extension: Type.Optional(Extension),
  documents: Type.Optional(InlineDocuments),
}, { additionalProperties: false })
export const FulfillOrderResponse = Type.Object({ orderPart2CID: Type.String(), extension: Extension, documents: Type.Optional(InlineDocuments) })
export const FulfillOrderSecretRequest = Type.Object({
  orderPart3CID: Cid,
  documentCID: Cid,
  extension: Type.Optional(Extension),
  documents: Type.Optional(InlineDocuments),
}, { additionalProperties: false })
export const FulfillOrderSecretResponse = Type.Object({ orderPart4CID: Type.String(), extension: Extension, documents: Type.Optional(InlineDocuments) })

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
