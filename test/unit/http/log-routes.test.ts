/**
 * /v1/log/ as a hostile caller meets it (src/http/log-routes.ts): the C2SP resources with their
 * content types and cache headers (full tiles immutable, partial tiles only at the newest width,
 * the checkpoint never cached), every other spelling of a tile path refused with 404 (no
 * traversal, no second name for a tile, no tile the tree does not have yet), and the convenience
 * endpoints' refusals of impossible sizes and unknown documents with their codes.
 * @module
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { openCheckpoint, originOf } from '../../../src/core/log/checkpoint.ts'
import { deriveLogSigner } from '../../../src/core/log/key.ts'
import { encodeLeaf } from '../../../src/core/log/leaf.ts'
import { leafHash, verifyConsistency, verifyInclusion } from '../../../src/core/log/merkle.ts'
import { noteVerifier, parseVerifierKey } from '../../../src/core/log/note.ts'
import { buildApp } from '../../../src/http/app.ts'
import type { NodeServices } from '../../../src/ports/api.ts'
import type { StateRepository } from '../../../src/ports/state.ts'
import { DtaError } from '../../../src/errors.ts'
import { createLogService, openTransparencyLog } from '../../../src/services/log/index.ts'

const NODE = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
const OTHER = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const cid = (n: number): string => `Qm${ALPHABET[n % 58]!}${ALPHABET[Math.floor(n / 58) % 58]!}${'z'.repeat(42)}`

describe('/v1/log/', () => {
  let state: StateRepository
  let app: FastifyInstance
  const verifier = noteVerifier(originOf(NODE), deriveLogSigner(new Uint8Array(32).fill(2)).publicKey)
  const leaves: Uint8Array[] = []
  // what the node's document store holds: the leaves' documents, and one that is no leaf
  const stored = new Map<string, Uint8Array>([[cid(5), new Uint8Array([5, 5, 5])], [OTHER, new Uint8Array([9])]])
  const documents = { get: async (c: string) => { const bytes = stored.get(c); if (bytes === undefined) throw new DtaError('DOCUMENT_NOT_FOUND', c); return bytes } }

  before(async () => {
    state = await openSqliteState({ path: ':memory:' })
    const log = await openTransparencyLog({ store: state.transparency!.log, signer: deriveLogSigner(new Uint8Array(32).fill(2)), verifier, keyDocument: { cid: OTHER, bytes: new Uint8Array([1, 2, 3]) } })
    for (let i = 0; i < 300; i++) {
      const leaf = { type: 'order-1' as const, cid: cid(i), signer: NODE }
      leaves.push(encodeLeaf(leaf))
      await log.append(leaf)
    }
    const services = { nodeType: 'fiduciary', status: async () => { throw new Error('unused') }, identity: {}, log: createLogService(log, documents) } as unknown as NodeServices
    app = await buildApp({ services, bodyLimit: 100_000, requestTimeoutMs: 0, version: 'test', allowedHosts: [] })
  })
  after(async () => {
    await app.close()
    await state.close()
  })

  const get = async (url: string) => await app.inject({ url })
  const code = (res: { body: string }): unknown => (JSON.parse(res.body) as { code?: unknown }).code

  it('the checkpoint: signed text, never cached', async () => {
    const res = await get('/v1/log/checkpoint')
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.equal(openCheckpoint(res.body, verifier).size, 300)
  })

  it('tiles: a full tile is immutable; a partial one only at the newest width; entries bundle the leaves', async () => {
    const full = await get('/v1/log/tile/0/000')
    assert.equal(full.statusCode, 200)
    assert.equal(full.headers['content-type'], 'application/octet-stream')
    assert.equal(full.headers['cache-control'], 'max-age=31536000, immutable')
    assert.equal(full.rawPayload.length, 8192)
    assert.deepEqual(new Uint8Array(full.rawPayload.subarray(32, 64)), leafHash(leaves[1]!))
    const partial = await get('/v1/log/tile/0/001.p/44')
    assert.equal(partial.statusCode, 200)
    assert.equal(partial.headers['cache-control'], 'max-age=60')
    assert.equal(partial.rawPayload.length, 44 * 32)
    const entries = await get('/v1/log/tile/entries/001.p/44')
    assert.equal(entries.statusCode, 200)
    assert.equal(entries.rawPayload.length, 44 * (2 + leaves[256]!.length))
    assert.equal((await get('/v1/log/tile/1/000.p/1')).statusCode, 200)
  })

  it('refuses every other tile path with 404 LOG_TILE_NOT_FOUND (or the route\'s 404)', async () => {
    for (const path of ['tile/0/001.p/43', 'tile/0/001', 'tile/0/002.p/1', 'tile/1/000', 'tile/0/x000/000', 'tile/00/000', 'tile/0/000.p/256', 'tile/0/000.p/0',
      'tile/0/0', 'tile/7/000', 'tile/0/000/', 'tile/entries/001', 'tile/data/000', 'tile/-1/000', 'tile/0/000.p/044']) {
      const res = await get(`/v1/log/${path}`)
      assert.equal(res.statusCode, 404, path)
      assert.equal(code(res), 'LOG_TILE_NOT_FOUND', path)
    }
    for (const path of ['tile/0/../../../etc/passwd', 'tile/..%2f..%2fetc%2fpasswd', 'tile/%2e%2e/000', 'tile/0/000%00']) {
      const res = await get(`/v1/log/${path}`)
      assert.ok(res.statusCode === 404 || res.statusCode === 400, `${path}: ${res.statusCode}`)
      assert.ok(!res.body.includes('root:'), path)
    }
    assert.equal((await get(`/v1/log/tile/0/${'x000/'.repeat(40)}000`)).statusCode, 422, 'an overlong path is refused by the schema')
    assert.equal((await app.inject({ method: 'POST', url: '/v1/log/checkpoint' })).statusCode, 404)
  })

  it('inclusion by CID: verifies against the checkpoint it names; unknown or malformed CIDs refused', async () => {
    const res = await get(`/v1/log/proof/inclusion?cid=${cid(137)}`)
    assert.equal(res.statusCode, 200)
    const p = res.json() as { leafIndex: number, treeSize: number, inclusionProof: string[], checkpoint: string, logKeyDocumentCID: string }
    const cp = openCheckpoint(p.checkpoint, verifier)
    assert.deepEqual([p.leafIndex, p.treeSize, p.logKeyDocumentCID], [137, 300, OTHER])
    assert.ok(verifyInclusion(leafHash(leaves[137]!), 137, cp.size, p.inclusionProof.map(h => new Uint8Array(Buffer.from(h, 'base64'))), cp.root))
    assert.equal(code(await get(`/v1/log/proof/inclusion?cid=${OTHER}`)), 'LOG_LEAF_NOT_FOUND')
    for (const q of ['cid=notacid', '', `cid=${cid(1)}&extra=1`]) assert.equal((await get(`/v1/log/proof/inclusion?${q}`)).statusCode, 422, q)
  })

  it('consistency: verifies; first > second, a size past the log, negative or unsafe sizes refused', async () => {
    const res = await get('/v1/log/proof/consistency?first=17&second=300')
    assert.equal(res.statusCode, 200)
    const proof = (res.json() as { consistencyProof: string[] }).consistencyProof.map(h => new Uint8Array(Buffer.from(h, 'base64')))
    const { rootOfLeafHashes } = await import('../../../src/core/log/merkle.ts')
    assert.ok(verifyConsistency(17, 300, rootOfLeafHashes(leaves.slice(0, 17).map(leafHash)), rootOfLeafHashes(leaves.map(leafHash)), proof))
    assert.deepEqual((await get('/v1/log/proof/consistency?first=0&second=300')).json(), { first: 0, second: 300, consistencyProof: [] })
    assert.equal(code(await get('/v1/log/proof/consistency?first=200&second=100')), 'LOG_BAD_REQUEST')
    assert.equal(code(await get('/v1/log/proof/consistency?first=1&second=301')), 'LOG_TREE_NOT_FOUND')
    for (const q of ['first=-1&second=2', 'first=1&second=9007199254740993', 'first=a&second=2', 'first=1', 'first=1.5&second=2']) {
      assert.equal((await get(`/v1/log/proof/consistency?${q}`)).statusCode, 422, q)
    }
  })

  it('a document of the log: its bytes, immutable; only for leaves (no general IPFS gateway)', async () => {
    const res = await get(`/v1/log/document/${cid(5)}`)
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['content-type'], 'application/octet-stream')
    assert.equal(res.headers['cache-control'], 'max-age=31536000, immutable')
    assert.deepEqual([...res.rawPayload], [5, 5, 5])
    assert.equal(code(await get(`/v1/log/document/${OTHER}`)), 'LOG_LEAF_NOT_FOUND', 'held by the node, but not a leaf')
    assert.equal(code(await get(`/v1/log/document/${cid(6)}`)), 'DOCUMENT_NOT_FOUND', 'a leaf whose document the store lost')
    for (const bad of ['notacid', `${cid(5)}x`, '..%2f..%2fetc%2fpasswd']) assert.ok([404, 422].includes((await get(`/v1/log/document/${bad}`)).statusCode), bad)
  })

  it('the key: origin, verifier key and statement', async () => {
    const key = (await get('/v1/log/key')).json() as { origin: string, verifierKey: string, logKeyDocumentCID: string, document: string }
    assert.equal(key.origin, originOf(NODE))
    assert.deepEqual(parseVerifierKey(key.verifierKey).publicKey, verifier.publicKey)
    assert.equal(key.document, Buffer.from([1, 2, 3]).toString('base64'))
  })
})
