/**
 * A node as a witness of other nodes' logs (C2SP tlog-witness, docs/log.md "Witnesses"): it
 * cosigns a checkpoint only once it checked that the checkpoint is signed by a log it witnesses
 * and is consistent with the last checkpoint it cosigned of that log. So a log cannot get two
 * histories cosigned by one honest witness, and whoever requires that witness's cosignature sees
 * one history.
 *
 * `POST /v1/witness/add-checkpoint` (body: core/log/cosignature.ts): unknown origin 404
 * (WITNESS_UNKNOWN_LOG), a note not signed by that log's key 403 (WITNESS_BAD_SIGNATURE), `old`
 * other than the size last cosigned 409 with that size (WITNESS_CONFLICT), a checkpoint smaller
 * than `old` 400, a consistency proof that fails 422 (WITNESS_BAD_PROOF), the same size with
 * another root 409. Two checkpoints of one log that no proof joins are kept as evidence
 * (log_evidence), as a principal keeps them.
 *
 * What it last cosigned is kept in the checkpoints a node has seen (log_seen), under the key
 * `witness <origin>` — apart from what the node saw of that log as a principal — by compare-and-
 * set, so concurrent requests never make it go back; the row's key-document field holds the log's
 * verifier key. The first checkpoint of a log is cosigned with `old 0` and no proof (any tree
 * extends the empty one).
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, isDtaError } from '../../errors.ts'
import { parseCheckpoint } from '../../core/log/checkpoint.ts'
import { cosign, parseAddCheckpoint } from '../../core/log/cosignature.ts'
import { verifyConsistency } from '../../core/log/merkle.ts'
import { formatVerifierKey, openNote, parseNote } from '../../core/log/note.ts'
import type { NoteVerifier } from '../../core/log/note.ts'
import type { Ed25519Signer } from '../../crypto/ed25519.ts'
import type { CheckpointStore } from '../../ports/log.ts'

export interface WitnessComponents {
  checkpoints: CheckpointStore
  /** The witness's key (core/log/key.ts deriveWitnessSigner) and its name (witnessName). */
  signer: Ed25519Signer
  name: string
  /** The logs this node witnesses: their log keys (the key name is the origin). */
  logs: readonly NoteVerifier[]
  /** Unix seconds (tests). */
  now?: () => number
}

export interface Witness {
  readonly name: string
  /** Answers an add-checkpoint body with the cosignature line; throws WITNESS_* (WITNESS_CONFLICT's detail is the size it has). */
  addCheckpoint (body: string, options?: AbortOptions): Promise<string>
}

const ATTEMPTS = 8
export const witnessKeyOf = (origin: string): string => `witness ${origin}`

export function createWitness (c: WitnessComponents): Witness {
  const now = c.now ?? (() => Math.floor(Date.now() / 1000))
  const logs = new Map(c.logs.map(v => [v.name, v]))
  const key = { name: c.name, publicKey: c.signer.publicKey, sign: c.signer.sign }

  async function addCheckpoint (body: string, options: AbortOptions = {}): Promise<string> {
    const request = parseAddCheckpoint(body)
    let text: string
    try {
      text = parseNote(request.note).text
    } catch (err) {
      throw new DtaError('WITNESS_BAD_REQUEST', 'the checkpoint is not a signed note', { cause: err })
    }
    let cp
    try {
      cp = parseCheckpoint(text)
    } catch (err) {
      throw new DtaError('WITNESS_BAD_REQUEST', 'not a checkpoint', { cause: err })
    }
    const log = logs.get(cp.origin)
    if (log === undefined) throw new DtaError('WITNESS_UNKNOWN_LOG', cp.origin.slice(0, 200))
    try {
      openNote(request.note, [log])
    } catch (err) {
      throw new DtaError('WITNESS_BAD_SIGNATURE', `not signed by the log key of ${cp.origin}`, { cause: err })
    }
    if (cp.size < request.oldSize) throw new DtaError('WITNESS_BAD_REQUEST', `the checkpoint (${cp.size}) is smaller than old (${request.oldSize})`)
    const at = witnessKeyOf(cp.origin)
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const last = await c.checkpoints.seen(at, options)
      const lastSize = last?.size ?? 0
      if (request.oldSize !== lastSize) throw new DtaError('WITNESS_CONFLICT', String(lastSize))
      if (last !== undefined && cp.size === last.size) {
        if (Buffer.compare(cp.root, last.root) !== 0) {
          await evidence('fork', last.note, request.note, 'the same size, another root', options)
          throw new DtaError('WITNESS_CONFLICT', String(lastSize))
        }
      } else if (last !== undefined) {
        if (!verifyConsistency(last.size, cp.size, last.root, cp.root, request.proof)) {
          await evidence('fork', last.note, request.note, `the consistency proof ${last.size} → ${cp.size} fails`, options)
          throw new DtaError('WITNESS_BAD_PROOF', `${last.size} → ${cp.size}`)
        }
      } else if (request.proof.length > 0) {
        throw new DtaError('WITNESS_BAD_PROOF', 'no proof from the empty tree')
      }
      const next = { origin: at, size: cp.size, root: cp.root, note: request.note, keyDocumentCid: formatVerifierKey(log) }
      let stored: boolean
      try {
        stored = (last !== undefined && cp.size === last.size) || await c.checkpoints.recordSeen(next, last?.size ?? null, options)
      } catch (err) {
        if (isDtaError(err, 'STATE_BAD_RECORD')) continue // another request moved it meanwhile: look again
        throw err
      }
      if (stored) return cosign(text, now(), key)
    }
    throw new DtaError('STATE_UNAVAILABLE', `the witnessed checkpoint of ${cp.origin} kept changing`)
  }

  async function evidence (kind: 'fork', first: string, second: string, detail: string, options: AbortOptions): Promise<void> {
    const origin = parseCheckpoint(parseNote(first).text).origin
    await c.checkpoints.recordEvidence({ origin, kind, first, second, detail: `witness: ${detail}` }, options)
  }

  return { name: c.name, addCheckpoint }
}
