/**
 * What a principal (or a beneficiary's node) checks of a fiduciary's log before it uses the
 * fiduciary's answer (docs/log.md, "what a client must check"):
 *
 * 1. the answer carries a log proof (LOG_PROOF_MISSING);
 * 2. the log key statement it names is signed by the fiduciary's identity and names its origin
 *    (LOG_BAD_KEY_DOCUMENT), and is the one seen before from that fiduciary (LOG_KEY_CHANGED);
 * 3. the checkpoint is signed by that key for that origin (LOG_BAD_SIGNATURE, LOG_BAD_CHECKPOINT),
 *    and, when this node requires witnesses (node.fiduciaryWitnesses), cosigned by enough of them
 *    (LOG_NOT_WITNESSED; a required witness's cosignature that fails is LOG_BAD_SIGNATURE);
 * 4. the leaf this node expects — the document's CID, its type, the fiduciary as signer — is in
 *    that tree (LOG_NOT_INCLUDED);
 * 5. the tree is consistent with the newest checkpoint this node has seen of that log: a larger
 *    tree extends it (the consistency proof the answer carried from the size the request named,
 *    else one fetched from the fiduciary — a carried proof that fails is not evidence, a fetched
 *    one is), the same size has the same
 *    root, a smaller one is a prefix of it — else LOG_FORKED or LOG_ROLLED_BACK, and the two
 *    checkpoints are kept as evidence (CheckpointStore.recordEvidence). The newest checkpoint is
 *    then remembered, by compare-and-set, so concurrent answers never make it go back.
 *
 * A failed check refuses the answer, and is written to the audit trail (`order.refused` or
 * `release.refused`, actor: the fiduciary, detail: the code and why). Checked key statements are
 * cached in memory by CID (a CID never changes meaning).
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, isDtaError } from '../../errors.ts'
import { openCheckpoint, originOf } from '../../core/log/checkpoint.ts'
import type { SignedCheckpoint } from '../../core/log/checkpoint.ts'
import { cosignedBy } from '../../core/log/cosignature.ts'
import type { CosignatureVerifier } from '../../core/log/cosignature.ts'
import { openLogKeyDocument } from '../../core/log/key.ts'
import type { LogKey } from '../../core/log/key.ts'
import { encodeLeaf } from '../../core/log/leaf.ts'
import type { Leaf } from '../../core/log/leaf.ts'
import { leafHash, verifyConsistency, verifyInclusion } from '../../core/log/merkle.ts'
import { strictBase64 } from '../../core/log/note.ts'
import type { InlineDocuments } from '../../ports/api.ts'
import type { CheckpointStore, EvidenceKind, LogProofAnswer, LogReader, SeenCheckpoint } from '../../ports/log.ts'
import type { AuditOp, StateRepository } from '../../ports/state.ts'
import type { Identities } from '../identities.ts'
import type { CidOf } from '../inline.ts'

export interface LogCheckComponents {
  checkpoints: CheckpointStore
  identities: Pick<Identities, 'verifier'>
  audit: Pick<StateRepository, 'appendAudit'>
  cidOf: CidOf
  /** The witnesses whose cosignatures a fiduciary's checkpoint must carry (node.fiduciaryWitnesses), and how many. */
  witnesses?: { list: readonly CosignatureVerifier[], quorum: number }
}

/** What a check is about, for the audit trail. */
export interface CheckContext {
  op: Extract<AuditOp, 'order.refused' | 'release.refused'>
  reference?: string
}

const ATTEMPTS = 8

function hashes (list: unknown, code: 'LOG_NOT_INCLUDED' | 'LOG_FORKED' | 'LOG_ROLLED_BACK'): Uint8Array[] {
  if (!Array.isArray(list) || list.length > 64) throw new DtaError(code, 'the proof is not a list of at most 64 hashes')
  return list.map(h => {
    const bytes = typeof h === 'string' ? strictBase64(h) : undefined
    if (bytes?.length !== 32) throw new DtaError(code, 'a proof hash is not 32 bytes of base64')
    return bytes
  })
}

export class LogChecker {
  readonly #c: LogCheckComponents
  readonly #keys = new Map<string, LogKey>()
  /** The check in progress per origin (consistent() runs them one at a time). */
  readonly #queues = new Map<string, Promise<void>>()

  constructor (components: LogCheckComponents) {
    this.#c = components
  }

  /** The fiduciary's log key from the statement `cid` (inline, or fetched from its log). */
  async #key (fiduciaryCID: string, cid: string, inline: InlineDocuments | undefined, reader: LogReader, options: AbortOptions): Promise<LogKey> {
    const cached = this.#keys.get(cid)
    if (cached !== undefined && cached.nodeCID === fiduciaryCID) return cached
    let bytes: Uint8Array | undefined
    const sent = inline?.[cid]
    if (sent !== undefined) bytes = new Uint8Array(Buffer.from(sent, 'base64'))
    else {
      const fetched = await reader.keyDocument(options)
      if (fetched.cid === cid) bytes = fetched.bytes
    }
    if (bytes === undefined || bytes.length > 4096 || await this.#c.cidOf(bytes) !== cid) throw new DtaError('LOG_BAD_KEY_DOCUMENT', `no statement with the CID ${cid}`)
    const key = openLogKeyDocument(bytes, await this.#c.identities.verifier(fiduciaryCID, options))
    this.#keys.set(cid, key)
    return key
  }

  /**
   * Checks that `leaf` is in the fiduciary's log as `proof` says, and that the log is consistent
   * with what this node saw of it before. Throws a LOG_* error (recorded in the audit trail).
   */
  async check (fiduciaryCID: string, leaf: Leaf, proof: LogProofAnswer | undefined, inline: InlineDocuments | undefined, reader: LogReader, context: CheckContext, options: AbortOptions = {}): Promise<SignedCheckpoint> {
    try {
      return await this.#check(fiduciaryCID, leaf, proof, inline, reader, options)
    } catch (err) {
      if (isDtaError(err) && err.code.startsWith('LOG_')) throw await this.refused(fiduciaryCID, err, context, options)
      throw err
    }
  }

  /** Records a refusal for a failed log check in the audit trail, and returns the error to throw. */
  async refused (fiduciaryCID: string, err: DtaError, context: CheckContext, options: AbortOptions = {}): Promise<DtaError> {
    await this.#c.audit.appendAudit({ op: context.op, reference: context.reference, actor: fiduciaryCID, detail: `${err.code}: ${err.detail ?? err.message}`.slice(0, 1000) }, options)
    return err
  }

  async #check (fiduciaryCID: string, leaf: Leaf, proof: LogProofAnswer | undefined, inline: InlineDocuments | undefined, reader: LogReader, options: AbortOptions): Promise<SignedCheckpoint> {
    if (proof === undefined || proof === null || typeof proof !== 'object') throw new DtaError('LOG_PROOF_MISSING', `for ${leaf.cid}`)
    if (typeof proof.logKeyDocumentCID !== 'string' || typeof proof.checkpoint !== 'string' || !Number.isSafeInteger(proof.leafIndex)) {
      throw new DtaError('LOG_PROOF_MISSING', 'the proof lacks its key statement, checkpoint or leaf index')
    }
    const key = await this.#key(fiduciaryCID, proof.logKeyDocumentCID, inline, reader, options)
    const origin = originOf(fiduciaryCID)
    const cp = openCheckpoint(proof.checkpoint, key.verifier, origin)
    const required = this.#c.witnesses
    if (required !== undefined && required.list.length > 0) {
      const by = cosignedBy(proof.checkpoint, required.list)
      if (by.length < required.quorum) throw new DtaError('LOG_NOT_WITNESSED', `the tree of ${cp.size} carries ${by.length} of the ${required.quorum} cosignatures required${by.length > 0 ? ` (${by.map(w => w.name).join(', ')})` : ''}`)
    }
    if (!verifyInclusion(leafHash(encodeLeaf(leaf)), proof.leafIndex, cp.size, hashes(proof.inclusionProof, 'LOG_NOT_INCLUDED'), cp.root)) {
      throw new DtaError('LOG_NOT_INCLUDED', `${leaf.type} ${leaf.cid} at ${proof.leafIndex} in the tree of ${cp.size}`)
    }
    const sent = Number.isSafeInteger(proof.consistencyFrom) && Array.isArray(proof.consistencyProof) ? { from: proof.consistencyFrom!, proof: proof.consistencyProof } : undefined
    await this.consistent(origin, cp, proof.logKeyDocumentCID, reader, `${leaf.type} ${leaf.cid} from ${fiduciaryCID}`, options, sent)
    return cp
  }

  /** The size of the newest checkpoint seen of a fiduciary's log (a request's `logSize`), if any. */
  async seenSize (fiduciaryCID: string, options: AbortOptions = {}): Promise<number | undefined> {
    return (await this.#c.checkpoints.seen(originOf(fiduciaryCID), options))?.size
  }

  /**
   * Holds a verified checkpoint against the newest seen of its log, fetching a consistency proof
   * from `reader`, and remembers the newer of the two. LOG_FORKED / LOG_ROLLED_BACK with evidence.
   */
  async consistent (origin: string, cp: SignedCheckpoint, keyDocumentCid: string, reader: LogReader, shownBy: string, options: AbortOptions = {}, sent?: { from: number, proof: unknown[] }): Promise<void> {
    // One check at a time per log in this process: concurrent answers would otherwise keep
    // replacing the newest checkpoint under each other's compare-and-set (found by npm run bench
    // at 32 concurrent cycles). Another process sharing the state is what the retries are for.
    const previous = this.#queues.get(origin) ?? Promise.resolve()
    const mine = previous.then(async () => { await this.#consistent(origin, cp, keyDocumentCid, reader, shownBy, options, sent) })
    const tail = mine.catch(() => {})
    this.#queues.set(origin, tail)
    try {
      await mine
    } finally {
      if (this.#queues.get(origin) === tail) this.#queues.delete(origin)
    }
  }

  async #consistent (origin: string, cp: SignedCheckpoint, keyDocumentCid: string, reader: LogReader, shownBy: string, options: AbortOptions, sent: { from: number, proof: unknown[] } | undefined): Promise<void> {
    const { checkpoints } = this.#c
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const seen = await checkpoints.seen(origin, options)
      if (seen !== undefined && seen.keyDocumentCid !== keyDocumentCid) {
        throw new DtaError('LOG_KEY_CHANGED', `${origin}: statement ${keyDocumentCid}, seen before ${seen.keyDocumentCid}`)
      }
      const next = { origin, size: cp.size, root: cp.root, note: cp.note, keyDocumentCid }
      if (seen === undefined) {
        if (await checkpoints.recordSeen(next, null, options)) return
        continue
      }
      if (cp.size === seen.size) {
        if (Buffer.compare(cp.root, seen.root) === 0) return
        throw await this.#evidence('fork', seen, cp, `${shownBy}: the same size, another root`, options)
      }
      if (cp.size > seen.size) {
        // the proof the answer carried, when it starts from this size and holds; else ask the log
        const carried = sent?.from === seen.size && sent.proof.length <= 64 && sent.proof.every(h => typeof h === 'string')
          ? (() => { try { return verifyConsistency(seen.size, cp.size, seen.root, cp.root, hashes(sent.proof, 'LOG_FORKED')) } catch { return false } })()
          : false
        if (!carried) await this.#proven(reader, seen.size, cp.size, seen.root, cp.root, 'fork', seen, cp, shownBy, options)
        if (await checkpoints.recordSeen(next, seen.size, options)) return
        continue
      }
      // an older tree than one seen (answers may arrive out of order): it must be a prefix of it
      await this.#proven(reader, cp.size, seen.size, cp.root, seen.root, 'rollback', seen, cp, shownBy, options)
      return
    }
    throw new DtaError('STATE_UNAVAILABLE', `the checkpoint of ${origin} kept changing under this check`)
  }

  async #proven (reader: LogReader, first: number, second: number, firstRoot: Uint8Array, secondRoot: Uint8Array, kind: EvidenceKind, seen: SeenCheckpoint, cp: SignedCheckpoint, shownBy: string, options: AbortOptions): Promise<void> {
    const code = kind === 'fork' ? 'LOG_FORKED' : 'LOG_ROLLED_BACK'
    let proof: string[]
    try {
      proof = await reader.consistency(first, second, options)
    } catch (err) {
      // the fiduciary could not prove it (a refusal with our code); a transport failure proves nothing
      if (!isDtaError(err) || err.code === 'PEER_UNREACHABLE' || err.code === 'PEER_ERROR' || err.code === 'PEER_UNAUTHORIZED' || err.code === 'ABORTED' || err.code === 'TIMEOUT') throw err
      throw await this.#evidence(kind, seen, cp, `${shownBy}: no consistency proof ${first} → ${second} (${err.code})`, options)
    }
    if (!verifyConsistency(first, second, firstRoot, secondRoot, hashes(proof, code))) {
      throw await this.#evidence(kind, seen, cp, `${shownBy}: the consistency proof ${first} → ${second} fails`, options)
    }
  }

  async #evidence (kind: EvidenceKind, seen: SeenCheckpoint, cp: SignedCheckpoint, detail: string, options: AbortOptions): Promise<DtaError> {
    const [first, second] = cp.size < seen.size ? [cp.note, seen.note] : [seen.note, cp.note]
    await this.#c.checkpoints.recordEvidence({ origin: seen.origin, kind, first, second, detail: detail.slice(0, 1000) }, options)
    return new DtaError(kind === 'fork' ? 'LOG_FORKED' : 'LOG_ROLLED_BACK', `${seen.origin} at ${seen.size} and ${cp.size}: ${detail}`)
  }
}
