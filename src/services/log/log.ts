/**
 * A node's own transparency log (docs/log.md): appends leaves, answers proofs, tiles and the
 * newest checkpoint. It sees the storage port only (src/ports/log.ts); the hashing, proofs,
 * formats and signing rules are src/core/log/.
 *
 * Appends are batched: every `append` joins a queue, and one store append at a time takes the
 * whole queue — one transaction, one signature, one fsync — so under load many appends share a
 * commit (bench/log.ts measures it), and each caller resolves once its leaf is durably in the
 * tree with a checkpoint covering it. A node answers a request only after that, so its answer
 * can carry the proof. An append cannot be aborted once queued: a leaf half-appended is not a
 * thing.
 *
 * At open, the log appends nothing but checks what it finds: the stored checkpoint must verify
 * under this node's log key and name its origin (LOG_STORE_CORRUPT otherwise), and the store
 * checks at every append that its frontier folds to that checkpoint's root.
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError } from '../../errors.ts'
import { formatCheckpoint, openCheckpoint } from '../../core/log/checkpoint.ts'
import { decodeLeaf, encodeLeaf } from '../../core/log/leaf.ts'
import type { Leaf, LeafType } from '../../core/log/leaf.ts'
import { consistencyPlan, evaluate, inclusionPlan, nodeKey, planNodes } from '../../core/log/merkle.ts'
import type { Plan } from '../../core/log/merkle.ts'
import { signNote } from '../../core/log/note.ts'
import type { NoteVerifier } from '../../core/log/note.ts'
import { encodeEntryBundle, encodeHashTile, parseTilePath, tileServed, TILE_WIDTH, treeLevelOf } from '../../core/log/tiles.ts'
import type { LogHead, LogProofAnswer, LogStore, StoredCheckpoint } from '../../ports/log.ts'
import type { Ed25519Signer } from '../../crypto/ed25519.ts'

/** The most entries one store append takes; the rest wait for the next. */
const MAX_BATCH = 1024

export interface TransparencyLogComponents {
  store: LogStore
  /** The checkpoint signing key (derived from the node's root seed, core/log/key.ts). */
  signer: Ed25519Signer
  /** The node's origin and verifier (name = origin). */
  verifier: NoteVerifier
  /** The node's log key statement. */
  keyDocument: { cid: string, bytes: Uint8Array }
}

export interface TransparencyLog {
  readonly origin: string
  readonly verifier: NoteVerifier
  readonly keyDocument: { readonly cid: string, readonly bytes: Uint8Array }
  /** Appends a leaf (or finds the one already stored for its document); resolves once it is durable and checkpointed. */
  append (leaf: Leaf): Promise<number>
  /** The type of the leaf stored for a document, if any. */
  leafType (cid: string, options?: AbortOptions): Promise<LeafType | undefined>
  /** The inclusion proof of a document against the newest checkpoint (LOG_LEAF_NOT_FOUND if it has no leaf). */
  proof (cid: string, options?: AbortOptions): Promise<LogProofAnswer & { treeSize: number }>
  /** The inclusion proof of a document in the tree of `size` (at most the newest checkpoint's; LOG_LEAF_NOT_FOUND if it is not in it). */
  proofAt (cid: string, size: number, options?: AbortOptions): Promise<{ leafIndex: number, inclusionProof: string[] }>
  /** The consistency proof between two sizes of this log, the larger at most the newest checkpoint's. */
  consistency (first: number, second: number, options?: AbortOptions): Promise<string[]>
  checkpoint (options?: AbortOptions): Promise<StoredCheckpoint>
  /** A tile or entry bundle by its path under /v1/log/ (`tile/…`). */
  tile (path: string, options?: AbortOptions): Promise<{ bytes: Uint8Array, full: boolean }>
}

interface Pending {
  leaf: Leaf
  resolve: (index: number) => void
  reject: (err: unknown) => void
}

const b64 = (h: Uint8Array): string => Buffer.from(h).toString('base64')

/** Opens the log over its store: checks the stored checkpoint, and signs the empty tree on first use. */
export async function openTransparencyLog (components: TransparencyLogComponents, options: AbortOptions = {}): Promise<TransparencyLog> {
  const { store, signer, verifier, keyDocument } = components
  const origin = verifier.name
  const sign = (head: LogHead): string => signNote(formatCheckpoint({ origin, ...head }), { name: origin, publicKey: signer.publicKey, sign: signer.sign })

  const own = (cp: StoredCheckpoint): StoredCheckpoint => {
    let opened
    try {
      opened = openCheckpoint(cp.note, verifier)
    } catch (err) {
      throw new DtaError('LOG_STORE_CORRUPT', 'the stored checkpoint is not signed by this node\'s log key', { cause: err })
    }
    if (opened.size !== cp.size || Buffer.compare(opened.root, cp.root) !== 0) throw new DtaError('LOG_STORE_CORRUPT', 'the stored checkpoint note names another tree')
    return cp
  }
  // The first append of nothing signs the empty tree; afterwards it checks and keeps the stored one.
  own((await store.append([], sign, options)).checkpoint)

  const queue: Pending[] = []
  let running = false
  async function drain (): Promise<void> {
    running = true
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, MAX_BATCH)
        try {
          const { indexes } = await store.append(batch.map(p => ({ key: p.leaf.cid, data: encodeLeaf(p.leaf) })), sign)
          batch.forEach((p, i) => { p.resolve(indexes[i]!) })
        } catch (err) {
          for (const p of batch) p.reject(err)
        }
      }
    } finally {
      running = false
    }
  }

  async function latest (options?: AbortOptions): Promise<StoredCheckpoint> {
    const cp = await store.checkpoint(options)
    if (cp === undefined) throw new DtaError('LOG_STORE_CORRUPT', 'no checkpoint')
    return cp
  }

  async function run (plans: Plan[], options?: AbortOptions): Promise<string[]> {
    const refs = planNodes(plans)
    const hashes = new Map<string, Uint8Array>()
    for (let i = 0; i < refs.length; i += 512) {
      const part = refs.slice(i, i + 512)
      const got = await store.nodes(part, options)
      part.forEach((r, j) => { if (got[j] !== undefined) hashes.set(nodeKey(r), got[j]!) })
    }
    return plans.map(p => b64(evaluate(p, hashes)))
  }

  return {
    origin,
    verifier,
    keyDocument,

    async append (leaf) {
      encodeLeaf(leaf) // refuses a malformed leaf now, before it can fail a whole batch
      const done = new Promise<number>((resolve, reject) => { queue.push({ leaf, resolve, reject }) })
      if (!running) void drain()
      return await done
    },

    async leafType (cid, options) {
      const index = await store.findLeaf(cid, options)
      if (index === undefined) return undefined
      const [data] = await store.leaves(index, index + 1, options)
      return data === undefined ? undefined : decodeLeaf(data).type
    },

    async proof (cid, options) {
      const index = await store.findLeaf(cid, options)
      if (index === undefined) throw new DtaError('LOG_LEAF_NOT_FOUND', cid)
      const cp = await latest(options)
      if (index >= cp.size) throw new DtaError('LOG_STORE_CORRUPT', 'a leaf beyond the checkpoint')
      return { leafIndex: index, treeSize: cp.size, inclusionProof: await run(inclusionPlan(index, cp.size), options), checkpoint: cp.note, logKeyDocumentCID: keyDocument.cid }
    },

    async proofAt (cid, size, options) {
      const index = await store.findLeaf(cid, options)
      if (index === undefined || index >= size) throw new DtaError('LOG_LEAF_NOT_FOUND', `${cid} in the tree of ${size}`)
      if (size > (await latest(options)).size) throw new DtaError('LOG_TREE_NOT_FOUND', `no tree of ${size} yet`)
      return { leafIndex: index, inclusionProof: await run(inclusionPlan(index, size), options) }
    },

    async consistency (first, second, options) {
      if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) throw new DtaError('LOG_BAD_REQUEST', 'first ≤ second, both tree sizes')
      const cp = await latest(options)
      if (second > cp.size) throw new DtaError('LOG_TREE_NOT_FOUND', `the log has ${cp.size} leaves`)
      return await run(consistencyPlan(first, second), options)
    },

    checkpoint: latest,

    async tile (path, options) {
      const tile = parseTilePath(path)
      const cp = await latest(options)
      if (!tileServed(cp.size, tile)) throw new DtaError('LOG_TILE_NOT_FOUND', path)
      const start = tile.index * TILE_WIDTH
      const full = tile.width === TILE_WIDTH
      if (tile.kind === 'entries') {
        const leaves = await store.leaves(start, start + tile.width, options)
        if (leaves.length !== tile.width) throw new DtaError('LOG_STORE_CORRUPT', `entry bundle ${path}`)
        return { bytes: encodeEntryBundle(leaves), full }
      }
      const hashes = await store.level(treeLevelOf(tile.level), start, start + tile.width, options)
      if (hashes.length !== tile.width) throw new DtaError('LOG_STORE_CORRUPT', `tile ${path}`)
      return { bytes: encodeHashTile(hashes), full }
    },
  }
}
