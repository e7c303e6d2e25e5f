/**
 * The transparency log's ports (docs/log.md): where a node keeps its own log (`LogStore`), what
 * it remembers of other nodes' logs (`CheckpointStore`), and how it reads another node's log
 * (`LogReader`). Storage adapters: SQLite (src/adapters/storage/sqlite/log.ts), PostgreSQL to
 * come; both must pass test/conformance/log-store.ts.
 *
 * The store keeps, besides the leaves, the hash of every complete subtree (node (level, index)
 * covers leaves [index·2^level, (index+1)·2^level)), so a proof is O(log n) point reads and a
 * C2SP tile is one range read (src/core/log/merkle.ts, tiles.ts). It computes those nodes itself
 * inside the append's transaction, with the shared `appendNodes` of src/core/log/merkle.ts, from
 * the frontier it has stored: so several processes sharing one database (replicas) append to one
 * log without a coordinator — their transactions serialise on the log's head — and every node is
 * written once and never changed. The store is append-only, by construction and by the schema.
 *
 * Durability: `append` resolves only once the leaves, their nodes and the new checkpoint are
 * committed durably, in one transaction: the node answers with a proof only for what survives a
 * crash, and never signs a checkpoint that is not stored.
 * @module
 */
import type { AbortOptions } from './common.ts'

/** One leaf to append: the bytes, and the key (the document's CID) the leaf is found by. */
export interface LogEntry {
  readonly key: string
  readonly data: Uint8Array
}

/** A tree head: size and RFC 9162 root hash. */
export interface LogHead {
  readonly size: number
  readonly root: Uint8Array
}

/** A signed checkpoint of the head it names (the C2SP signed note as served). */
export interface StoredCheckpoint extends LogHead {
  readonly note: string
}

export interface AppendResult {
  /** Per entry, in order: the index of its new leaf, or of the leaf already stored under its key. */
  readonly indexes: number[]
  /** The newest checkpoint after the append; it covers every index above. */
  readonly checkpoint: StoredCheckpoint
}

/**
 * Signs a head (called by the store inside the append's transaction, after it computed the new
 * root): returns the checkpoint note. Synchronous, so no other append interleaves.
 */
export type SignHead = (head: LogHead) => string

/** The leaf hash or the hashes of stored nodes, by (level, index). */
export interface NodeRef {
  readonly level: number
  readonly index: number
}

export interface LogStore {
  /**
   * Appends the entries whose key is not stored yet (a key already stored, or repeated in the
   * batch, keeps its first index), computes their nodes and the new root, checks the stored
   * frontier against the stored checkpoint (LOG_STORE_CORRUPT if the stored tree was altered),
   * and signs and stores the new checkpoint with `sign` — all in one durable transaction. With no
   * new leaf, the stored checkpoint is kept (and one is signed if none exists yet). At most 4096
   * entries per call, each key 1..128 characters and data 1..65535 bytes (STATE_BAD_RECORD).
   */
  append (entries: readonly LogEntry[], sign: SignHead, options?: AbortOptions): Promise<AppendResult>
  /** The newest stored checkpoint, or undefined before the first append. */
  checkpoint (options?: AbortOptions): Promise<StoredCheckpoint | undefined>
  /** The index of the leaf stored under `key`, if any. */
  findLeaf (key: string, options?: AbortOptions): Promise<number | undefined>
  /** Leaves [start, end) that exist, in order (end − start ≤ 256, else LOG_BAD_REQUEST). */
  leaves (start: number, end: number, options?: AbortOptions): Promise<Uint8Array[]>
  /** The stored nodes asked for, in order; undefined where none is stored. At most 512 per call. */
  nodes (refs: readonly NodeRef[], options?: AbortOptions): Promise<Array<Uint8Array | undefined>>
  /** Stored nodes of one level with indexes [start, end) that exist, in order (end − start ≤ 256): a tile. */
  level (level: number, start: number, end: number, options?: AbortOptions): Promise<Uint8Array[]>
}

/** The newest checkpoint this node verified of another log (as a principal or a witness). */
export interface SeenCheckpoint extends LogHead {
  /** The log's origin (its checkpoint's first line), the key of what is remembered. */
  readonly origin: string
  readonly note: string
  /** The CID of the log key statement the checkpoint was verified with (src/core/log/key.ts). */
  readonly keyDocumentCid: string
  /** ms since the epoch. */
  readonly updatedAt: number
}

export interface NewSeenCheckpoint extends LogHead {
  readonly origin: string
  readonly note: string
  readonly keyDocumentCid: string
}

/** What a node was shown that proves a log misbehaved: two checkpoints that cannot both be true. */
export interface LogEvidence {
  readonly id: number
  readonly at: number
  readonly origin: string
  /** 'fork' (two histories), 'rollback' (an older tree that is not a prefix of a newer one). */
  readonly kind: EvidenceKind
  /** The checkpoint notes, older first. */
  readonly first: string
  readonly second: string
  /** Public text: who showed it, the failing proof. */
  readonly detail: string | null
}

export type EvidenceKind = 'fork' | 'rollback'

export interface CheckpointStore {
  /** The newest checkpoint seen of `origin`. */
  seen (origin: string, options?: AbortOptions): Promise<SeenCheckpoint | undefined>
  /**
   * Records `next` as the newest seen if what is stored still has size `expectedSize` (null: none
   * stored yet) — a compare-and-set, so two concurrent checks cannot lose a newer checkpoint —
   * and returns false (storing nothing) otherwise. A smaller size, or the same size with another
   * root, is refused (STATE_BAD_RECORD): what was seen never goes back.
   */
  recordSeen (next: NewSeenCheckpoint, expectedSize: number | null, options?: AbortOptions): Promise<boolean>
  /** Keeps evidence (append-only). */
  recordEvidence (evidence: Omit<LogEvidence, 'id' | 'at'>, options?: AbortOptions): Promise<LogEvidence>
  /** Evidence kept, oldest first; of one origin when given. */
  listEvidence (query: { origin?: string, limit: number }, options?: AbortOptions): Promise<LogEvidence[]>
}

/** The log storage a state backend offers (src/ports/state.ts `StateRepository.transparency`). */
export interface LogStorage {
  readonly log: LogStore
  readonly checkpoints: CheckpointStore
}

/** A log proof as a node answers it (src/ports/api.ts LogProof): base64 hashes, a signed checkpoint. */
export interface LogProofAnswer {
  leafIndex: number
  inclusionProof: string[]
  checkpoint: string
  logKeyDocumentCID: string
  /** With a request's `logSize`: the consistency proof from that size to the checkpoint's. */
  consistencyFrom?: number
  consistencyProof?: string[]
}

/** Another node's log, read over the network (src/adapters/peer/log-http.ts) or in process. */
export interface LogReader {
  /** The newest signed checkpoint note. */
  checkpoint (options?: AbortOptions): Promise<string>
  /** The consistency proof between two tree sizes (base64 hashes). */
  consistency (first: number, second: number, options?: AbortOptions): Promise<string[]>
  /** The inclusion proof of a document, against the newest checkpoint. */
  inclusion (cid: string, options?: AbortOptions): Promise<LogProofAnswer>
  /** The log key statement's CID and bytes. */
  keyDocument (options?: AbortOptions): Promise<{ cid: string, bytes: Uint8Array }>
}

/** A witness another node's log asks to cosign its checkpoints (C2SP tlog-witness; src/adapters/peer/witness-http.ts). */
export interface WitnessClient {
  /** POST add-checkpoint: the cosignature line(s), or the size the witness has when it is not the request's `old` (409). */
  addCheckpoint (body: string, options?: AbortOptions): Promise<{ status: 'cosigned', lines: string } | { status: 'conflict', size: number }>
}
