/**
 * The transparency log's HTTP API as contracts (docs/log.md): the schemas of the convenience
 * endpoints (they validate the query, type the handler and feed the OpenAPI document), the
 * operations' descriptions, and the service the HTTP layer asks. The C2SP tlog-tiles resources
 * themselves (`/v1/log/checkpoint`, `/v1/log/tile/…`) are text and bytes, described here too.
 * @module
 */
import { Type } from 'typebox'
import type { Static } from 'typebox'
import { CIDV0_PATTERN } from './common.ts'
import type { AbortOptions } from './common.ts'

const EXAMPLE_CID = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
const Size = (description: string, example?: number) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description, ...(example === undefined ? {} : { examples: [example] }) })

export const InclusionQuery = Type.Object({
  cid: Type.String({ pattern: CIDV0_PATTERN, description: 'The document whose leaf is asked for', examples: [EXAMPLE_CID] }),
}, { additionalProperties: false })
export const InclusionResponse = Type.Object({
  leafIndex: Type.Integer({ minimum: 0 }),
  treeSize: Size('The size of the checkpoint\'s tree'),
  inclusionProof: Type.Array(Type.String(), { description: 'Base64 hashes, bottom first (RFC 9162 §2.1.3)' }),
  checkpoint: Type.String({ description: 'The newest signed checkpoint, the proof is against it' }),
  logKeyDocumentCID: Type.String({ description: 'CID of the log key statement that verifies the checkpoint', examples: [EXAMPLE_CID] }),
}, { 'x-response-description': 'Where the document is in the log, against the newest checkpoint' })

export const ConsistencyQuery = Type.Object({
  first: Size('The smaller tree size', 1),
  second: Size('The larger tree size, at most the newest checkpoint\'s', 2),
}, { additionalProperties: false })
export const ConsistencyResponse = Type.Object({
  first: Type.Integer(),
  second: Type.Integer(),
  consistencyProof: Type.Array(Type.String(), { description: 'Base64 hashes (RFC 9162 §2.1.4)' }),
}, { 'x-response-description': 'The proof that the first tree is a prefix of the second' })

export const LogKeyResponse = Type.Object({
  logKeyDocumentCID: Type.String({ examples: [EXAMPLE_CID] }),
  origin: Type.String({ description: 'The checkpoint origin and the signed-note key name: milagro-dta/log/<node CID>' }),
  verifierKey: Type.String({ description: 'The signed-note verifier key, name+hash+base64(0x01 ‖ Ed25519 public key)' }),
  document: Type.String({ description: 'The log key statement (an envelope signed by the node identity), base64' }),
}, { 'x-response-description': 'The node\'s log key and its statement' })

export const LogDocumentParams = Type.Object({
  cid: Type.String({ pattern: CIDV0_PATTERN, description: 'A document that is a leaf of this log', examples: [EXAMPLE_CID] }),
}, { additionalProperties: false })

/** The path of a tile under /v1/log/tile/ (a new node's log has two leaves: its identity and log key statement). */
export const TileParams = Type.Object({ '*': Type.String({ maxLength: 128, description: '<L>/<N>[.p/<W>] or entries/<N>[.p/<W>]', examples: ['0/000.p/2'] }) })

export const LOG_OPERATIONS = {
  checkpoint: { operationId: 'getLogCheckpoint', summary: 'The log\'s newest checkpoint', description: 'C2SP tlog-checkpoint in a signed note (text/plain), signed by the node\'s log key (GET /v1/log/key). Not cached.' },
  tile: { operationId: 'getLogTile', summary: 'A tile of the log', description: 'C2SP tlog-tiles, height 8: tile/<L>/<N>[.p/<W>] (hashes) and tile/entries/<N>[.p/<W>] (leaves, uint16-length-prefixed), application/octet-stream. Full tiles never change and are cacheable; a partial tile is served only at the width of the newest checkpoint.' },
  inclusion: { operationId: 'getLogInclusionProof', summary: 'The inclusion proof of a document', description: 'The leaf of the document with that CID, and its RFC 9162 inclusion proof against the newest checkpoint.' },
  consistency: { operationId: 'getLogConsistencyProof', summary: 'A consistency proof', description: 'The RFC 9162 proof that the log\'s tree of size first is a prefix of its tree of size second.' },
  document: { operationId: 'getLogDocument', summary: 'A document of the log', description: 'The envelope of a document that is a leaf of this log, as stored in IPFS (application/octet-stream): for milagro log verify --documents. Only leaves: 404 LOG_LEAF_NOT_FOUND for any other CID. Order parts are encrypted; their plaintext header (signer, recipients, creation time, previous part) is what any IPFS peer holding the CID reads.' },
  key: { operationId: 'getLogKey', summary: 'The log key', description: 'The node\'s log key statement: its origin, the signed-note verifier key, and the statement document signed by the node identity.' },
} as const

export type InclusionResponse = Static<typeof InclusionResponse>
export type ConsistencyResponse = Static<typeof ConsistencyResponse>
export type LogKeyResponse = Static<typeof LogKeyResponse>

/** The log as the HTTP layer serves it (src/services/log/index.ts). */
export interface LogService {
  checkpoint (options?: AbortOptions): Promise<string>
  /** A tile or entry bundle by its path (`tile/…`); `full` says it will never change. */
  tile (path: string, options?: AbortOptions): Promise<{ bytes: Uint8Array, full: boolean }>
  inclusion (cid: string, options?: AbortOptions): Promise<InclusionResponse>
  consistency (first: number, second: number, options?: AbortOptions): Promise<ConsistencyResponse>
  key (options?: AbortOptions): Promise<LogKeyResponse>
  /** The bytes of a document that is a leaf of the log (LOG_LEAF_NOT_FOUND for any other). */
  document (cid: string, options?: AbortOptions): Promise<Uint8Array>
  /** With witnesses configured (node.witnesses): who they are, and the checkpoints they cosign. */
  readonly witnesses?: LogWitnesses
}

export interface LogWitnesses {
  /** The witnesses' key names (`milagro-dta/witness/<CID>`), as configured. */
  readonly names: readonly string[]
  /** How many of them must cosign a checkpoint (node.witnessQuorum). */
  readonly quorum: number
  /**
   * The newest checkpoint a quorum cosigned — the stored one, asking the witnesses once if it is
   * newer than the last they cosigned; LOG_WITNESS_QUORUM when they cannot be had.
   */
  cosigned (options?: AbortOptions): Promise<{ size: number, note: string }>
}

export const WitnessKeyResponse = Type.Object({
  name: Type.String({ description: 'The witness key name: milagro-dta/witness/<node CID>' }),
  verifierKey: Type.String({ description: 'The cosignature/v1 verifier key, name+hash+base64(0x04 ‖ Ed25519 public key): what a log lists in node.witnesses and a principal in node.fiduciaryWitnesses' }),
  witnessedLogs: Type.Array(Type.String(), { description: 'The origins of the logs this node cosigns (node.witnessFor)' }),
}, { 'x-response-description': 'This node\'s witness key' })
export type WitnessKeyResponse = Static<typeof WitnessKeyResponse>

/** The largest add-checkpoint body: 63 proof lines and a signed note of at most 16 KiB. */
export const MAX_ADD_CHECKPOINT_BYTES = 24 * 1024

export const WITNESS_OPERATIONS = {
  addCheckpoint: { operationId: 'witnessAddCheckpoint', summary: 'Cosign a checkpoint (C2SP tlog-witness)', description: 'Body (text/plain): "old <size>", the consistency proof lines (base64), an empty line, the signed checkpoint. 200: the cosignature/v1 line. 409 (text/x.tlog.size): old is not the size last cosigned, the body is that size. 404: a log this node does not witness; 403: not signed by its key; 422: the proof fails; 400: malformed. Node to node: the `fulfil` operation of http.policies.' },
  key: { operationId: 'getWitnessKey', summary: 'This node\'s witness key', description: 'The name and cosignature verifier key this node cosigns with, and the logs it witnesses.' },
} as const

/** A node as a witness, as the HTTP layer serves it (src/services/log/witness.ts). */
export interface WitnessService {
  key (): WitnessKeyResponse
  addCheckpoint (body: string, options?: AbortOptions): Promise<string>
}
