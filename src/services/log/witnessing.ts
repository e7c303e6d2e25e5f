/**
 * A log that asks witnesses to cosign its checkpoints (docs/log.md "Witnesses"): with
 * `node.witnesses` configured, a fulfil answer is given only with a checkpoint that at least
 * `node.witnessQuorum` of them cosigned (C2SP tlog-witness; LOG_WITNESS_QUORUM otherwise), so a
 * principal that requires those witnesses accepts it.
 *
 * One round at a time: a round takes the newest stored checkpoint and submits it to every witness
 * at once, with the consistency proof from the size that witness last cosigned (remembered here;
 * after a restart a witness answers 409 with its size, and the submission is made once more from
 * there). Every answer that arrives meanwhile waits for the round and uses its checkpoint when it
 * covers its leaf — so one witness round trip covers a whole batch of appends. The newest checkpoint
 * with a quorum is kept in memory; the served checkpoint (`GET /v1/log/checkpoint`) carries its
 * cosignatures when it is the stored one.
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, isDtaError } from '../../errors.ts'
import { addSignatureLines, formatAddCheckpoint, verifyCosignature } from '../../core/log/cosignature.ts'
import type { CosignatureVerifier } from '../../core/log/cosignature.ts'
import { parseNote } from '../../core/log/note.ts'
import type { WitnessClient } from '../../ports/log.ts'
import type { TransparencyLog } from './log.ts'

export interface ConfiguredWitness {
  readonly verifier: CosignatureVerifier
  readonly client: WitnessClient
}

export interface Witnessing {
  /** The witnesses' key names, in configuration order. */
  readonly names: readonly string[]
  readonly quorum: number
  /** The newest checkpoint cosigned by a quorum, asking the witnesses if the stored one is newer. */
  cosigned (options?: AbortOptions): Promise<{ size: number, note: string }>
  /** `note` (the stored checkpoint of `size`) with the cosignatures got for it, if any. */
  withCosignatures (note: string, size: number): string
}

export function createWitnessing (log: Pick<TransparencyLog, 'checkpoint' | 'consistency'>, witnesses: readonly ConfiguredWitness[], quorum: number): Witnessing {
  if (witnesses.length === 0 || !Number.isSafeInteger(quorum) || quorum < 1 || quorum > witnesses.length) throw new DtaError('CONFIG_INVALID', `a witness quorum is 1 to ${witnesses.length}`)
  const lastSize = new Map<string, number>()
  let best: { size: number, note: string } | undefined
  let round: Promise<{ size: number, note: string }> | undefined

  async function submit (w: ConfiguredWitness, cp: { size: number, note: string }, options: AbortOptions): Promise<string> {
    const text = parseNote(cp.note).text
    for (let attempt = 0; attempt < 2; attempt++) {
      const old = Math.min(lastSize.get(w.verifier.name) ?? 0, cp.size)
      const proof = old > 0 && old < cp.size ? await log.consistency(old, cp.size, options) : []
      const answer = await w.client.addCheckpoint(formatAddCheckpoint({ oldSize: old, proof, note: cp.note }), options)
      if (answer.status === 'conflict') {
        if (answer.size > cp.size) throw new DtaError('LOG_WITNESS_QUORUM', `${w.verifier.name} has cosigned a larger tree (${answer.size}) than ${cp.size}`)
        lastSize.set(w.verifier.name, answer.size)
        continue
      }
      const lines = answer.lines.split(/(?<=\n)/).filter(l => l !== '')
      const mine = parseNote(`${text}\n${answer.lines}`).signatures.filter(s => s.name === w.verifier.name && s.keyId === w.verifier.keyId)
      if (mine.length !== 1 || lines.length !== 1) throw new DtaError('LOG_WITNESS_QUORUM', `${w.verifier.name} answered no cosignature of its key`)
      verifyCosignature(text, mine[0]!, w.verifier)
      lastSize.set(w.verifier.name, cp.size)
      return lines[0]!
    }
    throw new DtaError('LOG_WITNESS_QUORUM', `${w.verifier.name} kept answering another size`)
  }

  async function run (options: AbortOptions): Promise<{ size: number, note: string }> {
    const cp = await log.checkpoint(options)
    const results = await Promise.allSettled(witnesses.map(async w => await submit(w, cp, options)))
    const lines = results.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
    if (lines.length < quorum) {
      const why = results.flatMap((r, i) => r.status === 'rejected' ? [`${witnesses[i]!.verifier.name}: ${isDtaError(r.reason) ? `${r.reason.code} ${r.reason.detail ?? ''}`.trim() : String(r.reason)}`] : [])
      throw new DtaError('LOG_WITNESS_QUORUM', `${lines.length} of ${quorum} cosignatures for the tree of ${cp.size} (${why.join('; ')})`.slice(0, 1000))
    }
    const cosigned = { size: cp.size, note: addSignatureLines(cp.note, lines) }
    if (best === undefined || cosigned.size > best.size) best = cosigned
    return cosigned
  }

  return {
    names: witnesses.map(w => w.verifier.name),
    quorum,
    async cosigned (options = {}) {
      for (;;) {
        const stored = await log.checkpoint(options)
        if (best !== undefined && best.size >= stored.size) return best
        // the round is everyone's: no one caller's signal ends it (each witness call has its own deadline)
        if (round === undefined) round = run({}).finally(() => { round = undefined })
        const got = await round
        if (got.size >= stored.size) return got
      }
    },
    withCosignatures: (note, size) => (best?.size === size ? best.note : note),
  }
}
