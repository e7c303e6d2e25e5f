/**
 * A node's transparency log, opened and put together (docs/log.md): src/node.ts calls
 * `openNodeLog` once and uses what it returns — the logged document store for the services, the
 * log service for the HTTP routes, this node's log as a reader (for a `multi` node checking its
 * own answers), and the hooks (hooks.ts) that add proofs to fulfil answers and check them.
 *
 * Opening: the node identity's root seed is unsealed by custody for a moment to derive the log
 * key (src/core/log/key.ts) and wiped; the log key statement is built (deterministic: one CID
 * per node) and stored; the log is opened over the state backend's log storage and checked;
 * the node identity document and the statement are appended (no-ops after the first start).
 * A backend without log storage gives no log (undefined): the node then runs as before.
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, isDtaError } from '../../errors.ts'
import { cosignatureVerifier, formatCosignatureKey, witnessName } from '../../core/log/cosignature.ts'
import { createLogKeyDocument, deriveLogSigner, deriveWitnessSigner } from '../../core/log/key.ts'
import { formatVerifierKey, noteVerifier } from '../../core/log/note.ts'
import type { NoteVerifier } from '../../core/log/note.ts'
import { originOf } from '../../core/log/checkpoint.ts'
import { wipe } from '../../crypto/hash.ts'
import type { Custody } from '../../ports/custody.ts'
import type { DocumentStore } from '../../ports/document-store.ts'
import type { CheckpointStore, LogReader } from '../../ports/log.ts'
import type { LogService, WitnessService } from '../../ports/log-api.ts'
import { identitySeedRecordId } from '../../ports/state.ts'
import type { StateRepository } from '../../ports/state.ts'
import type { HeldIdentity } from '../identities.ts'
import { signerOf } from '../identities.ts'
import { loggedDocuments } from './documents.ts'
import { openTransparencyLog } from './log.ts'
import type { TransparencyLog } from './log.ts'
import { createWitness } from './witness.ts'
import { createWitnessing } from './witnessing.ts'
import type { ConfiguredWitness, Witnessing } from './witnessing.ts'

export { LogChecker } from './check.ts'
export type { LogCheckComponents } from './check.ts'
export { checkedFiduciary, part4Check, withLogProofs } from './hooks.ts'
export { leafOf, loggedDocuments } from './documents.ts'
export { openTransparencyLog } from './log.ts'
export type { TransparencyLog } from './log.ts'
export { createWitness } from './witness.ts'
export { createWitnessing } from './witnessing.ts'
export type { ConfiguredWitness, Witnessing } from './witnessing.ts'

export interface NodeLogComponents {
  state: Pick<StateRepository, 'getNodeIdentity' | 'transparency'>
  custody: Pick<Custody, 'unseal'>
  /** The node's document store (not yet logged). */
  documents: DocumentStore
  node: HeldIdentity
  /** The witnesses this node's checkpoints need (node.witnesses) and how many of them (node.witnessQuorum). */
  witnesses?: { list: readonly ConfiguredWitness[], quorum: number }
  /** The logs this node witnesses (node.witnessFor): their log keys. */
  witnessFor?: readonly NoteVerifier[]
}

export interface NodeLog {
  readonly log: TransparencyLog
  /** The checkpoints this node has seen of other logs, and the evidence it keeps. */
  readonly checkpoints: CheckpointStore
  /** The document store the services use: what they write or accept is logged. */
  readonly documents: DocumentStore
  readonly service: LogService
  /** This node's own log, read in process. */
  readonly reader: LogReader
  /** With witnesses configured: the checkpoints they cosigned (hooks.ts withLogProofs). */
  readonly witnessing?: Witnessing
  /** With logs to witness: this node as their witness (witness.ts). */
  readonly witness?: WitnessService
}

export async function openNodeLog (c: NodeLogComponents, options: AbortOptions = {}): Promise<NodeLog | undefined> {
  const storage = c.state.transparency
  if (storage === undefined) return undefined
  const record = await c.state.getNodeIdentity(options)
  if (record?.sealedRootSeed == null || record.cid !== c.node.cid) throw new DtaError('INTERNAL', 'the node identity and its seed are needed for the log key')
  const seed = await c.custody.unseal(identitySeedRecordId(record.cid), record.sealedRootSeed, options)
  let signer
  let witnessSigner
  try {
    signer = deriveLogSigner(seed)
    if (c.witnessFor !== undefined && c.witnessFor.length > 0) witnessSigner = deriveWitnessSigner(seed)
  } finally {
    wipe(seed)
  }
  const bytes = createLogKeyDocument({ identity: signerOf(c.node), publicKey: signer.publicKey, createdAt: record.createdAt })
  const keyCID = await c.documents.put(bytes, options)
  const verifier = noteVerifier(originOf(c.node.cid), signer.publicKey)
  const log = await openTransparencyLog({ store: storage.log, signer, verifier, keyDocument: { cid: keyCID, bytes } }, options)
  const documents = loggedDocuments(c.documents, log)
  // the node identity and its log key statement are the log's first leaves
  await documents.accept(c.node.cid, await c.documents.get(c.node.cid, options), options)
  await documents.accept(keyCID, bytes, options)
  const witnessing = c.witnesses === undefined || c.witnesses.list.length === 0 ? undefined : createWitnessing(log, c.witnesses.list, c.witnesses.quorum)
  let witness: WitnessService | undefined
  if (witnessSigner !== undefined) {
    const name = witnessName(c.node.cid)
    const w = createWitness({ checkpoints: storage.checkpoints, signer: witnessSigner, name, logs: c.witnessFor! })
    const key = { name, verifierKey: formatCosignatureKey(cosignatureVerifier(name, witnessSigner.publicKey)), witnessedLogs: c.witnessFor!.map(v => v.name) }
    witness = { key: () => key, addCheckpoint: w.addCheckpoint }
  }
  return { log, checkpoints: storage.checkpoints, documents, service: createLogService(log, c.documents, witnessing), reader: createLocalLogReader(log), witnessing, witness }
}

/** The log as the HTTP routes serve it (src/http/log-routes.ts). */
export function createLogService (log: TransparencyLog, documents: Pick<DocumentStore, 'get'>, witnessing?: Witnessing): LogService {
  return {
    async checkpoint (options) {
      const cp = await log.checkpoint(options)
      return witnessing === undefined ? cp.note : witnessing.withCosignatures(cp.note, cp.size)
    },
    tile: async (path, options) => await log.tile(path, options),
    async inclusion (cid, options) {
      // with witnesses, against the newest checkpoint they cosigned; when they cannot be had, the stored one (the client decides)
      if (witnessing !== undefined) {
        const cp = await witnessing.cosigned(options).catch((err: unknown) => { if (isDtaError(err, 'LOG_WITNESS_QUORUM')) return undefined; throw err })
        if (cp !== undefined) {
          const at = await log.proofAt(cid, cp.size, options).catch((err: unknown) => { if (isDtaError(err, 'LOG_LEAF_NOT_FOUND')) return undefined; throw err })
          if (at !== undefined) return { ...at, treeSize: cp.size, checkpoint: cp.note, logKeyDocumentCID: log.keyDocument.cid }
        }
      }
      return await log.proof(cid, options)
    },
    consistency: async (first, second, options) => ({ first, second, consistencyProof: await log.consistency(first, second, options) }),
    key: async () => ({
      logKeyDocumentCID: log.keyDocument.cid,
      origin: log.origin,
      verifierKey: formatVerifierKey(log.verifier),
      document: Buffer.from(log.keyDocument.bytes).toString('base64'),
    }),
    async document (cid, options) {
      if (await log.leafType(cid, options) === undefined) throw new DtaError('LOG_LEAF_NOT_FOUND', cid)
      return await documents.get(cid, options)
    },
    ...(witnessing === undefined ? {} : { witnesses: { names: witnessing.names, quorum: witnessing.quorum, cosigned: async (options?: AbortOptions) => await witnessing.cosigned(options) } }),
  }
}

/** A log read in process, as a peer's would be over HTTP. */
export function createLocalLogReader (log: TransparencyLog): LogReader {
  return {
    checkpoint: async (options) => (await log.checkpoint(options)).note,
    consistency: async (first, second, options) => await log.consistency(first, second, options),
    async inclusion (cid, options) {
      const { treeSize: _, ...proof } = await log.proof(cid, options)
      return proof
    },
    keyDocument: async () => log.keyDocument,
  }
}
