/**
 * `milagro log verify` (src/cli/log.ts, src/services/log/verify.ts), the real command as a child
 * process against a node's /v1/log/ served on 127.0.0.1: a log of 600 leaves verifies, with the
 * key pinned or as the node states it; then the node's database is altered the way someone with
 * the file could — a leaf, a leaf hash, a level-8 hash, the checkpoint — and each is caught, with
 * a non-zero exit and LOG_VERIFY_FAILED saying where.
 * @module
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { cidV0Of } from '../../../src/adapters/ipfs/unixfs.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { createIdentityDocument, identitySigner } from '../../../src/core/identity.ts'
import { originOf } from '../../../src/core/log/checkpoint.ts'
import { createLogKeyDocument, deriveLogSigner } from '../../../src/core/log/key.ts'
import { formatVerifierKey, noteVerifier } from '../../../src/core/log/note.ts'
import { ed25519FromSeed } from '../../../src/crypto/ed25519.ts'
import { buildApp } from '../../../src/http/app.ts'
import type { NodeServices } from '../../../src/ports/api.ts'
import type { StateRepository } from '../../../src/ports/state.ts'
import { noDocuments } from '../../helpers/no-documents.ts'
import { createLogService, openTransparencyLog } from '../../../src/services/log/index.ts'
import { milagro } from '../../e2e/cli/milagro.ts'

describe('milagro log verify', () => {
  let dir: string
  let db: string
  let state: StateRepository
  let app: FastifyInstance
  let url: string
  let vkey: string

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dta-log-verify-'))
    db = path.join(dir, 'state.sqlite')
    const rootSeed = new Uint8Array(32).fill(21)
    const identity = createIdentityDocument(rootSeed, 'verified')
    const nodeCID = await cidV0Of(identity.bytes)
    const signer = deriveLogSigner(rootSeed)
    const bytes = createLogKeyDocument({ identity: identitySigner(nodeCID, identity.keys), publicKey: signer.publicKey, createdAt: identity.document.timestamp })
    const verifier = noteVerifier(originOf(nodeCID), signer.publicKey)
    vkey = formatVerifierKey(verifier)
    state = await openSqliteState({ path: db })
    const log = await openTransparencyLog({ store: state.transparency!.log, signer, verifier, keyDocument: { cid: await cidV0Of(bytes), bytes } })
    await log.append({ type: 'identity', cid: nodeCID, signer: nodeCID })
    await Promise.all(Array.from({ length: 599 }, async (_, i) => await log.append({ type: i % 2 === 0 ? 'order-1' : 'order-2', cid: await cidV0Of(new TextEncoder().encode(`doc ${i}`)), signer: nodeCID })))
    const identityView = { idDocumentCID: nodeCID, blsPublicKey: Buffer.from(identity.keys.blsPublicKey).toString('hex'), authenticationReference: 'verified', beneficiaryECPublicKey: '', kemPublicKey: '', timestamp: 0 }
    const services = {
      nodeType: 'multi', status: async () => { throw new Error('unused') },
      identity: { get: async (cid: string) => { if (cid !== nodeCID) throw new Error('unknown'); return identityView }, create: async () => { throw new Error('unused') }, list: async () => [] },
      log: createLogService(log, noDocuments),
    } as unknown as NodeServices
    app = await buildApp({ services, bodyLimit: 100_000, requestTimeoutMs: 0, version: 'test', allowedHosts: [] })
    await app.listen({ host: '127.0.0.1', port: 0 })
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  })
  after(async () => {
    await app?.close()
    await state?.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** Alters the node's database behind its back: the statement, with the trigger in the way dropped first. */
  function alter (trigger: string, sql: string, ...params: Array<string | number | Uint8Array>): void {
    const raw = new DatabaseSync(db)
    raw.exec(`DROP TRIGGER IF EXISTS ${trigger}`)
    raw.prepare(sql).run(...params)
    raw.close()
  }

  it('a log of 600 leaves verifies: summary, JSON, pinned key', async () => {
    const r = await milagro(['log', 'verify', url])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /: OK\n/)
    assert.match(r.stdout, /size +600 leaves \(identity 1, order-1 300, order-2 299\)/)
    assert.match(r.stdout, /as the node states it: pin it with --vkey next time/)
    assert.match(r.stdout, /checked +7 tiles and bundles, 600 entries/)
    const json = await milagro(['log', 'verify', url, '--json'])
    assert.equal(json.code, 0, json.stderr)
    assert.equal((JSON.parse(json.stdout) as { size: number, verifierKey: string }).verifierKey, vkey)
    const pinned = await milagro(['log', 'verify', url, '--vkey', vkey])
    assert.equal(pinned.code, 0, pinned.stderr)
    assert.match(pinned.stdout, /pinned with --vkey/)
  })

  it('another pinned key, or none that parses, is refused', async () => {
    const other = formatVerifierKey(noteVerifier(vkey.split('+')[0]!, ed25519FromSeed(new Uint8Array(32).fill(1)).publicKey))
    const r = await milagro(['log', 'verify', url, '--vkey', other])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /LOG_VERIFY_FAILED: .*not the pinned/)
    const bad = await milagro(['log', 'verify', url, '--vkey', 'nonsense'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /is not a verifier key/)
  })

  it('catches a leaf, a leaf hash and a level-8 hash altered in the database, and a checkpoint replaced', async () => {
    const original = new DatabaseSync(db).prepare('SELECT data FROM log_leaves WHERE idx = 300').get() as { data: Uint8Array }
    alter('log_leaves_no_update', 'UPDATE log_leaves SET data = ? WHERE idx = 300', new TextEncoder().encode(Buffer.from(original.data).toString().replace(/^order-[12]/, t => t === 'order-1' ? 'order-2' : 'order-1')))
    let r = await milagro(['log', 'verify', url])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /LOG_VERIFY_FAILED: .*entry 300/)
    alter('log_leaves_no_update', 'UPDATE log_leaves SET data = ? WHERE idx = 300', original.data)
    assert.equal((await milagro(['log', 'verify', url])).code, 0, 'restored')

    alter('log_nodes_no_update', 'UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 17')
    r = await milagro(['log', 'verify', url])
    assert.match(r.stderr, /LOG_VERIFY_FAILED: .*entry 17 does not hash to its entry in tile\/0\/000/)

    alter('log_nodes_no_update', 'UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 1')
    r = await milagro(['log', 'verify', url])
    assert.equal(r.code, 1)

    alter('log_checkpoint_grows', "UPDATE log_checkpoint SET note = replace(note, '\n600\n', '\n601\n')")
    r = await milagro(['log', 'verify', url])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /LOG_VERIFY_FAILED: .*the checkpoint does not verify under the log key \(LOG_BAD_SIGNATURE/)
  })
})
