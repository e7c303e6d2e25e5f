/**
 * Witnesses (issue 11 item 5; docs/log.md "Witnesses"): the C2SP tlog-cosignature format, the
 * witness's rules for add-checkpoint (each refusal with its status), and a log that asks
 * witnesses — against a real log and a real SQLite state, in process.
 *
 * The attacks: a log that shows the witness a second history (same size, another root; or a
 * larger tree that does not extend the one cosigned) gets no cosignature and the witness keeps
 * both checkpoints; a rolled-back log likewise; a checkpoint signed by another key, of a log the
 * witness does not know, or a malformed request; concurrent submissions never make the witness
 * go back; a forged or foreign cosignature does not count toward a principal's quorum.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DtaError } from '../../../src/errors.ts'
import type { DtaError as DtaErrorType } from '../../../src/errors.ts'
import { cosign, cosignatureKeyId, cosignatureVerifier, cosignedBy, formatAddCheckpoint, formatCosignatureKey, parseAddCheckpoint, parseCosignatureKey, verifyCosignature, witnessName } from '../../../src/core/log/cosignature.ts'
import { originOf } from '../../../src/core/log/checkpoint.ts'
import { deriveLogSigner, deriveWitnessSigner } from '../../../src/core/log/key.ts'
import { noteVerifier, parseNote } from '../../../src/core/log/note.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import type { StateRepository } from '../../../src/ports/state.ts'
import type { WitnessClient } from '../../../src/ports/log.ts'
import { createWitness, createWitnessing, openTransparencyLog } from '../../../src/services/log/index.ts'
import type { TransparencyLog } from '../../../src/services/log/index.ts'
import { witnessKeyOf } from '../../../src/services/log/witness.ts'

const NODE = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
const WITNESS_NODE = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const cid = (n: number, fork = 0): string => `Qm${ALPHABET[n % 58]!}${ALPHABET[Math.floor(n / 58) % 58]!}${ALPHABET[fork]!}${'z'.repeat(41)}`

async function rejectsCode (p: Promise<unknown>, code: string): Promise<DtaErrorType> {
  let caught: unknown
  await assert.rejects(p, (err: unknown) => { caught = err; return (err as DtaError).code === code })
  return caught as DtaErrorType
}

describe('cosignature/v1 (C2SP tlog-cosignature)', () => {
  const signer = deriveWitnessSigner(new Uint8Array(32).fill(7))
  const name = witnessName(WITNESS_NODE)
  const verifier = cosignatureVerifier(name, signer.publicKey)
  const text = `${originOf(NODE)}\n3\n${Buffer.alloc(32, 1).toString('base64')}\n`

  it('signs and verifies; the key ID and verifier key are type 0x04; the time is in the signature', () => {
    const line = cosign(text, 1_700_000_000, { name, publicKey: signer.publicKey, sign: signer.sign })
    const sig = parseNote(`${text}\n${line}`).signatures[0]!
    assert.equal(sig.keyId, cosignatureKeyId(name, signer.publicKey))
    assert.equal(sig.signature.length, 72)
    assert.equal(verifyCosignature(text, sig, verifier), 1_700_000_000)
    const vkey = formatCosignatureKey(verifier)
    assert.match(vkey, /^milagro-dta\/witness\/Qm\w+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/)
    const [vname, vhash, ...key] = vkey.split('+')
    assert.equal(Buffer.from(key.join('+'), 'base64')[0], 0x04)
    assert.deepEqual(parseCosignatureKey(vkey), verifier)
    // not the log-key type, and a key hash that does not match
    const raw = Buffer.from(key.join('+'), 'base64')
    raw[0] = 0x01
    assert.throws(() => parseCosignatureKey(`${vname}+${vhash}+${raw.toString('base64')}`), /cosignature\/v1/)
    assert.throws(() => parseCosignatureKey(vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), /hash/)
  })

  it('refuses another text, another time, another key', () => {
    const line = cosign(text, 5, { name, publicKey: signer.publicKey, sign: signer.sign })
    const sig = parseNote(`${text}\n${line}`).signatures[0]!
    assert.throws(() => verifyCosignature(text.replace('\n3\n', '\n4\n'), sig, verifier), /does not verify/)
    const later = new Uint8Array(sig.signature)
    later[7] = 6
    assert.throws(() => verifyCosignature(text, { ...sig, signature: later }, verifier), /does not verify/)
    const other = cosignatureVerifier(name, deriveWitnessSigner(new Uint8Array(32).fill(8)).publicKey)
    assert.throws(() => verifyCosignature(text, sig, other), /not a cosignature of/)
    assert.notEqual(formatCosignatureKey(cosignatureVerifier(name, deriveLogSigner(new Uint8Array(32).fill(7)).publicKey)), formatCosignatureKey(verifier), 'the witness key is not the log key')
  })

  it('the add-checkpoint body: exactly the spec\'s shape', () => {
    const note = `${text}\n— x AAAAAA==\n`
    const body = formatAddCheckpoint({ oldSize: 2, proof: [Buffer.alloc(32, 2).toString('base64')], note })
    assert.equal(body, `old 2\n${Buffer.alloc(32, 2).toString('base64')}\n\n${note}`)
    const parsed = parseAddCheckpoint(body)
    assert.equal(parsed.oldSize, 2)
    assert.equal(parsed.note, note)
    assert.equal(parsed.proof.length, 1)
    for (const bad of [`old 02\n\n${note}`, `old -1\n\n${note}`, `new 1\n\n${note}`, `old 1\n${note}`, `old 1\nnot-base64\n\n${note}`, `old 1\n${Buffer.alloc(31).toString('base64')}\n\n${note}`,
      `old 1\n${`${Buffer.alloc(32).toString('base64')}\n`.repeat(64)}\n${note}`]) {
      assert.throws(() => parseAddCheckpoint(bad), (e: DtaError) => e.code === 'WITNESS_BAD_REQUEST', JSON.stringify(bad.slice(0, 30)))
    }
  })
})

describe('a witness and a log that asks it', () => {
  let state: StateRepository
  let witnessState: StateRepository
  let log: TransparencyLog
  let fork: TransparencyLog
  let forkState: StateRepository
  const logSigner = deriveLogSigner(new Uint8Array(32).fill(2))
  const verifier = noteVerifier(originOf(NODE), logSigner.publicKey)
  const witnessSigner = deriveWitnessSigner(new Uint8Array(32).fill(3))
  const wVerifier = cosignatureVerifier(witnessName(WITNESS_NODE), witnessSigner.publicKey)
  let witness: ReturnType<typeof createWitness>
  let calls = 0
  const client: WitnessClient = {
    async addCheckpoint (body, options) {
      calls++
      try {
        return { status: 'cosigned', lines: await witness.addCheckpoint(body, options) }
      } catch (err) {
        if ((err as DtaError).code === 'WITNESS_CONFLICT') return { status: 'conflict', size: Number((err as DtaError).detail) }
        throw err
      }
    },
  }
  const append = async (l: TransparencyLog, from: number, to: number, forked = 0): Promise<void> => {
    for (let i = from; i < to; i++) await l.append({ type: 'order-1', cid: cid(i, forked), signer: NODE })
  }
  const submit = async (old: number, l: TransparencyLog, proofFrom?: number): Promise<string> => {
    const cp = await l.checkpoint()
    const proof = proofFrom === undefined || proofFrom === 0 || proofFrom === cp.size ? [] : await l.consistency(proofFrom, cp.size)
    return await witness.addCheckpoint(formatAddCheckpoint({ oldSize: old, proof, note: cp.note }))
  }

  before(async () => {
    state = await openSqliteState({ path: ':memory:' })
    forkState = await openSqliteState({ path: ':memory:' })
    witnessState = await openSqliteState({ path: ':memory:' })
    const keyDocument = { cid: WITNESS_NODE, bytes: new Uint8Array([1]) }
    log = await openTransparencyLog({ store: state.transparency!.log, signer: logSigner, verifier, keyDocument })
    fork = await openTransparencyLog({ store: forkState.transparency!.log, signer: logSigner, verifier, keyDocument })
    witness = createWitness({ checkpoints: witnessState.transparency!.checkpoints, signer: witnessSigner, name: wVerifier.name, logs: [verifier], now: () => 1_800_000_000 })
  })
  after(async () => { await state.close(); await forkState.close(); await witnessState.close() })

  it('cosigns a first checkpoint from old 0, then only from the size it cosigned, with a proof', async () => {
    await append(log, 0, 5)
    const line = await submit(0, log)
    const cp = await log.checkpoint()
    assert.deepEqual(cosignedBy(cp.note + line, [wVerifier]), [wVerifier])
    const conflict = await rejectsCode(submit(0, log), 'WITNESS_CONFLICT')
    assert.equal(conflict.detail, '5', 'the 409 says the size it has')
    await append(log, 5, 9)
    await rejectsCode(submit(5, log), 'WITNESS_BAD_PROOF') // no proof at all
    await submit(5, log, 5 - 1).then(() => assert.fail('a proof from another size'), (e: DtaError) => assert.equal(e.code, 'WITNESS_BAD_PROOF'))
    await submit(5, log, 5)
    await submit(9, log, 9) // the same checkpoint again: cosigned again
    assert.equal((await witnessState.transparency!.checkpoints.seen(witnessKeyOf(verifier.name)))?.size, 9)
  })

  it('refuses a log it does not witness (404), a note not signed by its key (403), old > size (400), malformed (400)', async () => {
    const other = noteVerifier(originOf(WITNESS_NODE), logSigner.publicKey)
    const foreign = await openTransparencyLog({ store: (await openSqliteState({ path: ':memory:' })).transparency!.log, signer: logSigner, verifier: other, keyDocument: { cid: NODE, bytes: new Uint8Array([1]) } })
    await rejectsCode(witness.addCheckpoint(formatAddCheckpoint({ oldSize: 0, proof: [], note: (await foreign.checkpoint()).note })), 'WITNESS_UNKNOWN_LOG')
    const impostor = await openTransparencyLog({ store: (await openSqliteState({ path: ':memory:' })).transparency!.log, signer: deriveLogSigner(new Uint8Array(32).fill(9)), verifier: noteVerifier(originOf(NODE), deriveLogSigner(new Uint8Array(32).fill(9)).publicKey), keyDocument: { cid: NODE, bytes: new Uint8Array([1]) } })
    await rejectsCode(witness.addCheckpoint(formatAddCheckpoint({ oldSize: 0, proof: [], note: (await impostor.checkpoint()).note })), 'WITNESS_BAD_SIGNATURE')
    await rejectsCode(witness.addCheckpoint(formatAddCheckpoint({ oldSize: 100, proof: [], note: (await log.checkpoint()).note })), 'WITNESS_BAD_REQUEST')
    await rejectsCode(witness.addCheckpoint('old 9\n\nnot a note\n'), 'WITNESS_BAD_REQUEST')
  })

  it('a second history — the same size with another root, or a tree that does not extend the one cosigned — is refused and kept as evidence', async () => {
    const before = (await witnessState.transparency!.checkpoints.listEvidence({ origin: verifier.name, limit: 100 })).length
    await append(fork, 0, 9, 1) // other leaves from the start: another tree of 9
    await rejectsCode(submit(9, fork), 'WITNESS_CONFLICT')
    await append(fork, 9, 12, 1)
    await rejectsCode(submit(9, fork, 9), 'WITNESS_BAD_PROOF')
    const evidence = (await witnessState.transparency!.checkpoints.listEvidence({ origin: verifier.name, limit: 100 })).slice(before)
    assert.equal(evidence.length, 2)
    assert.ok(evidence.every(e => e.kind === 'fork' && e.detail!.startsWith('witness: ')))
    assert.equal((await witnessState.transparency!.checkpoints.seen(witnessKeyOf(verifier.name)))?.size, 9, 'it never cosigned the fork')
  })

  it('concurrent submissions of growing trees: it moves forward only, one cosignature per accepted size', async () => {
    await append(log, 9, 40)
    const sizes = [12, 20, 40]
    const results = await Promise.allSettled(sizes.map(async () => await submit(9, log, 9)))
    const ok = results.filter(r => r.status === 'fulfilled').length
    assert.ok(ok >= 1, 'at least one')
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as DtaError).code, 'WITNESS_CONFLICT')
    assert.equal((await witnessState.transparency!.checkpoints.seen(witnessKeyOf(verifier.name)))?.size, 40)
  })

  it('a log asking it: one round for many answers, cosigned checkpoints served; a restart of the log side resumes from the 409', async () => {
    const witnessing = createWitnessing(log, [{ verifier: wVerifier, client }], 1)
    await append(log, 40, 45)
    calls = 0
    const got = await Promise.all(Array.from({ length: 10 }, async () => await witnessing.cosigned()))
    assert.ok(got.every(g => g.size === 45 && cosignedBy(g.note, [wVerifier]).length === 1))
    assert.ok(calls <= 2, `${calls} witness calls for 10 answers (the first one learns the size from a 409)`)
    const stored = await log.checkpoint()
    assert.equal(witnessing.withCosignatures(stored.note, stored.size), got[0]!.note)
    // a fresh log side (a restart) knows no size: the witness's 409 tells it
    const again = createWitnessing(log, [{ verifier: wVerifier, client }], 1)
    await append(log, 45, 46)
    assert.equal((await again.cosigned()).size, 46)
  })

  it('without its quorum: LOG_WITNESS_QUORUM naming the witnesses that failed', async () => {
    const down: WitnessClient = { addCheckpoint: async () => { throw new DtaError('PEER_UNREACHABLE', 'http://127.0.0.1:9') } }
    const other = cosignatureVerifier(witnessName(NODE), deriveWitnessSigner(new Uint8Array(32).fill(4)).publicKey)
    const witnessing = createWitnessing(log, [{ verifier: wVerifier, client }, { verifier: other, client: down }], 2)
    await append(log, 46, 47)
    const err = await rejectsCode(witnessing.cosigned(), 'LOG_WITNESS_QUORUM')
    assert.match(err.detail ?? '', /1 of 2 cosignatures .*PEER_UNREACHABLE/)
    // a witness that answers with a cosignature of another key does not count
    const liar: WitnessClient = { addCheckpoint: async (body) => ({ status: 'cosigned', lines: cosign(parseNote(parseAddCheckpoint(body).note).text, 1, { name: other.name, publicKey: witnessSigner.publicKey, sign: witnessSigner.sign }) }) }
    await rejectsCode(createWitnessing(log, [{ verifier: other, client: liar }], 1).cosigned(), 'LOG_WITNESS_QUORUM')
    assert.throws(() => createWitnessing(log, [{ verifier: wVerifier, client }], 2), /quorum/)
  })
})
