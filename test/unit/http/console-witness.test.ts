/**
 * GET /v1/node's transparency log with witnesses (src/http/console-api.ts; docs/console.md): on
 * a real log (SQLite) whose checkpoints a real witness cosigns (src/services/log/witness.ts, asked
 * in process), the node view carries the newest cosigned checkpoint, each signature line named —
 * the log's own key, the witness (its node CID and the time it cosigned). When the quorum cannot
 * be had (a witness down) or a witness does not answer in time, the view still answers, with the
 * log's own checkpoint, `cosigned: false` and the reason — a stalled witness never holds it up.
 * A witness that answers a cosignature by another key is not shown as a cosigner.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { DtaError } from '../../../src/errors.ts'
import { checkpointSigners, cosign, cosignatureVerifier, parseAddCheckpoint, witnessName } from '../../../src/core/log/cosignature.ts'
import { originOf } from '../../../src/core/log/checkpoint.ts'
import { deriveLogSigner, deriveWitnessSigner } from '../../../src/core/log/key.ts'
import { noteVerifier, parseNote } from '../../../src/core/log/note.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { registerConsoleApi } from '../../../src/http/console-api.ts'
import type { NodeServices } from '../../../src/ports/api.ts'
import type { NodeResponse } from '../../../src/ports/console.ts'
import type { WitnessClient } from '../../../src/ports/log.ts'
import type { StateRepository } from '../../../src/ports/state.ts'
import { createLogService, createWitness, createWitnessing, openTransparencyLog } from '../../../src/services/log/index.ts'
import type { TransparencyLog } from '../../../src/services/log/index.ts'

const NODE = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
const WITNESS_NODE = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
const OTHER_WITNESS = 'QmPChd2hVbrJ6bfo3WBcTW4iZnpHm8TEzWkLHmLpXhF68A'
const leafCid = (n: number): string => `Qm${'123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'[n % 58]!}${'z'.repeat(43)}`

const details: NonNullable<NodeServices['details']> = async () => ({
  application: 'milagro-dta', apiVersion: 'v1', extensionVendor: 'test', nodeCID: NODE, timeStamp: new Date().toISOString(), plugin: 'milagro',
  nodeType: 'multi', version: '0', peerID: '12D3KooW', listenAddrs: [], connectedPeers: 0, connectedPeerIDs: [], fiduciaryCID: NODE, fiduciaryURL: null, trustedFiduciaries: [NODE],
})

describe('GET /v1/node with witnesses: the cosigned checkpoint, each signature named', () => {
  let state: StateRepository
  let witnessState: StateRepository
  let log: TransparencyLog
  const logSigner = deriveLogSigner(new Uint8Array(32).fill(2))
  const verifier = noteVerifier(originOf(NODE), logSigner.publicKey)
  const witnessSigner = deriveWitnessSigner(new Uint8Array(32).fill(3))
  const wVerifier = cosignatureVerifier(witnessName(WITNESS_NODE), witnessSigner.publicKey)
  const otherSigner = deriveWitnessSigner(new Uint8Array(32).fill(4))
  const other = cosignatureVerifier(witnessName(OTHER_WITNESS), otherSigner.publicKey)
  let client: WitnessClient
  const apps: FastifyInstance[] = []
  let leaves = 0

  before(async () => {
    state = await openSqliteState({ path: ':memory:' })
    witnessState = await openSqliteState({ path: ':memory:' })
    log = await openTransparencyLog({ store: state.transparency!.log, signer: logSigner, verifier, keyDocument: { cid: NODE, bytes: new Uint8Array([1]) } })
    const witness = createWitness({ checkpoints: witnessState.transparency!.checkpoints, signer: witnessSigner, name: wVerifier.name, logs: [verifier], now: () => 1_800_000_000 })
    client = {
      async addCheckpoint (body, options) {
        try {
          return { status: 'cosigned', lines: await witness.addCheckpoint(body, options) }
        } catch (err) {
          if ((err as DtaError).code === 'WITNESS_CONFLICT') return { status: 'conflict', size: Number((err as DtaError).detail) }
          throw err
        }
      },
    }
  })
  after(async () => {
    for (const app of apps) await app.close()
    await state.close()
    await witnessState.close()
  })

  async function nodeView (witnesses: Array<{ verifier: typeof wVerifier, client: WitnessClient }> | undefined, quorum = 1, witnessWaitMs?: number): Promise<NonNullable<NodeResponse['transparencyLog']>> {
    await log.append({ type: 'order-1', cid: leafCid(leaves++), signer: NODE }) // a newer checkpoint than any cosigned
    const witnessing = witnesses === undefined ? undefined : createWitnessing(log, witnesses, quorum)
    const app = Fastify()
    apps.push(app)
    const services = { details, log: createLogService(log, { get: async () => new Uint8Array() }, witnessing) } as unknown as NodeServices
    registerConsoleApi(app, { services, signalOf: () => undefined, ...(witnessWaitMs === undefined ? {} : { witnessWaitMs }) })
    const res = await app.inject({ method: 'GET', url: '/v1/node' })
    assert.equal(res.statusCode, 200, res.body)
    return (res.json() as NodeResponse).transparencyLog!
  }

  it('without witnesses: the log\'s own signature, named as such; no witnesses section', async () => {
    const view = await nodeView(undefined)
    assert.deepEqual(view.signatures.map(s => [s.name, s.kind, s.witnessCID, s.cosignedAt]), [[originOf(NODE), 'log', null, null]])
    assert.deepEqual(view.signedBy, [originOf(NODE)])
    assert.equal(view.witnesses, undefined)
  })

  it('with a witness: the newest checkpoint it cosigned, its line named with its node and time', async () => {
    const view = await nodeView([{ verifier: wVerifier, client }])
    const stored = await log.checkpoint()
    assert.equal(view.treeSize, stored.size, 'the stored checkpoint, cosigned now')
    assert.deepEqual(view.witnesses, { configured: [wVerifier.name], quorum: 1, cosigned: true })
    assert.deepEqual(view.signatures.map(s => [s.kind, s.name, s.witnessCID, s.cosignedAt]), [
      ['log', originOf(NODE), null, null],
      ['witness', wVerifier.name, WITNESS_NODE, 1_800_000_000],
    ])
    assert.equal(view.signatures[1]!.keyId, wVerifier.keyId.toString(16).padStart(8, '0'))
    assert.ok(view.checkpoint.startsWith(stored.note.slice(0, stored.note.indexOf('\n\n'))), 'the same checkpoint text')
    assert.equal(parseNote(view.checkpoint).signatures.length, 2)
  })

  it('without the quorum (one of two witnesses down): the log\'s own checkpoint, not cosigned, and why', async () => {
    const down: WitnessClient = { addCheckpoint: async () => { throw new DtaError('PEER_UNREACHABLE', 'http://127.0.0.1:9') } }
    const view = await nodeView([{ verifier: wVerifier, client }, { verifier: other, client: down }], 2)
    assert.equal(view.witnesses?.cosigned, false)
    assert.deepEqual(view.witnesses?.configured, [wVerifier.name, other.name])
    assert.equal(view.witnesses?.failure?.code, 'LOG_WITNESS_QUORUM')
    assert.match(view.witnesses?.failure?.message ?? '', /1 of 2 cosignatures .*PEER_UNREACHABLE/)
    assert.deepEqual(view.signatures.map(s => s.kind), ['log'], 'no witness shown as a cosigner')
    assert.equal(view.treeSize, (await log.checkpoint()).size)
  })

  it('a witness that never answers does not hold the view up: not cosigned, the log\'s own checkpoint', async () => {
    let release: () => void = () => {}
    const stalled: WitnessClient = { addCheckpoint: async () => await new Promise((_resolve, reject) => { release = () => { reject(new DtaError('PEER_UNREACHABLE', 'stalled')) } }) }
    const view = await nodeView([{ verifier: other, client: stalled }], 1, 50)
    release()
    assert.equal(view.witnesses?.cosigned, false)
    assert.match(view.witnesses?.failure?.message ?? '', /no answer within 50 ms/)
    assert.deepEqual(view.signatures.map(s => s.kind), ['log'])
  })

  it('a witness answering with a cosignature by another key is not counted nor shown', async () => {
    const liar: WitnessClient = { addCheckpoint: async (body) => ({ status: 'cosigned', lines: cosign(parseNote(parseAddCheckpoint(body).note).text, 1, { name: other.name, publicKey: witnessSigner.publicKey, sign: witnessSigner.sign }) }) }
    const view = await nodeView([{ verifier: other, client: liar }])
    assert.equal(view.witnesses?.cosigned, false)
    assert.deepEqual(view.signatures.map(s => s.kind), ['log'])
  })

  it('checkpointSigners names lines by key name only: the origin, a witness prefix, anything else', () => {
    const text = `${originOf(NODE)}\n1\n${Buffer.alloc(32, 1).toString('base64')}\n`
    const note = `${text}\n— ${originOf(NODE)} AAAAAAAA\n${cosign(text, 42, { name: wVerifier.name, publicKey: witnessSigner.publicKey, sign: witnessSigner.sign })}— example.com/other AAAAAAAA\n— milagro-dta/witness/short AAAAAAAA\n`
    assert.deepEqual(checkpointSigners(note, originOf(NODE)).map(s => [s.kind, s.witnessCID, s.cosignedAt]), [
      ['log', null, null], ['witness', WITNESS_NODE, 42], ['other', null, null], ['witness', 'short', null],
    ])
  })
})
