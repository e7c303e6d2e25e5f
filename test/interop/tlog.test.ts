/**
 * The independent check (issue 11): our checkpoints, proofs and tiles verified by code no one here
 * wrote — golang.org/x/mod/sumdb/tlog and sumdb/note, as Debian's golang-golang-x-mod-dev ships
 * them — through a small Go verifier (test/interop/tlog-verify/main.go) built offline, in GOPATH
 * mode (GO111MODULE=off, GOPATH ending in /usr/share/gocode, GOPROXY=off, no module download).
 *
 * Our side is a real log (the log service over SQLite, signing with a log key derived from an
 * identity root seed) grown one leaf at a time to 2100, so every size from 0 to 2100 has its own
 * signed checkpoint; at every size, inclusion proofs at the tree's edges and consistency proofs
 * from its edges, made from the stored nodes as the node makes them; the proofs, checkpoint and
 * every tile and entry bundle of the final tree fetched from the HTTP API (/v1/log/…). Then the
 * same files with one byte changed — a leaf in an entry bundle, a hash in a tile, the checkpoint —
 * must fail. Skipped, saying so, only when `go` is not installed (.ci/run installs it).
 * @module
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { cidV0Of } from '../../src/adapters/ipfs/unixfs.ts'
import { openSqliteState } from '../../src/adapters/storage/sqlite/index.ts'
import { createIdentityDocument, identitySigner } from '../../src/core/identity.ts'
import { originOf } from '../../src/core/log/checkpoint.ts'
import { createLogKeyDocument, deriveLogSigner } from '../../src/core/log/key.ts'
import { encodeLeaf } from '../../src/core/log/leaf.ts'
import { consistencyPlan, evaluate, inclusionPlan, nodeKey, planNodes } from '../../src/core/log/merkle.ts'
import type { Plan } from '../../src/core/log/merkle.ts'
import { formatVerifierKey, noteVerifier } from '../../src/core/log/note.ts'
import { tilePath, tilesOf, TILE_WIDTH } from '../../src/core/log/tiles.ts'
import { buildApp } from '../../src/http/app.ts'
import type { NodeServices } from '../../src/ports/api.ts'
import type { LogStore } from '../../src/ports/log.ts'
import type { StateRepository } from '../../src/ports/state.ts'
import { noDocuments } from '../helpers/no-documents.ts'
import { createLogService, openTransparencyLog } from '../../src/services/log/index.ts'

const VERIFIER_SOURCE = fileURLToPath(new URL('./tlog-verify/', import.meta.url))
const GO = spawnSync('go', ['version'], { encoding: 'utf8' })
const haveGo = GO.status === 0
const N = 2100

const b64 = (h: Uint8Array): string => Buffer.from(h).toString('base64')

/** Plans evaluated from the store's nodes, as the log service does (src/services/log/log.ts). */
async function run (store: LogStore, plans: Plan[]): Promise<string[]> {
  const refs = planNodes(plans)
  const map = new Map<string, Uint8Array>()
  for (let i = 0; i < refs.length; i += 512) {
    const part = refs.slice(i, i + 512)
    const got = await store.nodes(part)
    part.forEach((r, j) => { map.set(nodeKey(r), got[j]!) })
  }
  return plans.map(p => b64(evaluate(p, map)))
}

describe('our log, verified by golang.org/x/mod/sumdb', { skip: haveGo ? false : 'go is not installed: apt-get install golang-go golang-golang-x-mod-dev (.ci/run does)' }, () => {
  let dir: string
  let verifier: string
  let state: StateRepository
  const input: { vkey: string, checkpoints: string[], inclusion: unknown[], consistency: unknown[], tiles: string, tileCheckpoint: number } = {
    vkey: '', checkpoints: [], inclusion: [], consistency: [], tiles: '', tileCheckpoint: 0,
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dta-go-tlog-'))
    verifier = path.join(dir, 'tlog-verify')
    const env: Record<string, string> = {
      ...process.env as Record<string, string>, GO111MODULE: 'off', GOPATH: `${path.join(dir, 'gopath')}:/usr/share/gocode`, GOFLAGS: '', GOPROXY: 'off', GOTOOLCHAIN: 'local', CGO_ENABLED: '0',
    }
    if (process.env.GOCACHE === undefined && process.env.HOME === undefined) env.GOCACHE = path.join(dir, 'gocache')
    const built = spawnSync('go', ['build', '-o', verifier, 'main.go'], { cwd: VERIFIER_SOURCE, env, encoding: 'utf8' })
    assert.equal(built.status, 0, `go build (GOPATH mode, offline): ${built.stderr}`)

    const rootSeed = new Uint8Array(32).fill(11)
    const identity = createIdentityDocument(rootSeed, 'interop')
    const nodeCID = await cidV0Of(identity.bytes)
    const signer = deriveLogSigner(rootSeed)
    const keyBytes = createLogKeyDocument({ identity: identitySigner(nodeCID, identity.keys), publicKey: signer.publicKey, createdAt: 1 })
    const key = { cid: await cidV0Of(keyBytes), bytes: keyBytes }
    const v = noteVerifier(originOf(nodeCID), signer.publicKey)
    input.vkey = formatVerifierKey(v)
    state = await openSqliteState({ path: ':memory:' })
    const store = state.transparency!.log
    const log = await openTransparencyLog({ store, signer, verifier: v, keyDocument: key })
    const leaves: Uint8Array[] = []
    input.checkpoints.push((await log.checkpoint()).note)
    for (let i = 0; i < N; i++) {
      const cid = await cidV0Of(new TextEncoder().encode(`document ${i}`))
      const leaf = { type: (['order-1', 'order-2', 'order-3', 'order-4', 'identity'] as const)[i % 5], cid, signer: nodeCID }
      leaves.push(encodeLeaf(leaf))
      assert.equal(await log.append(leaf), i)
      input.checkpoints.push((await log.checkpoint()).note)
    }
    for (let n = 1; n <= N; n++) {
      for (const index of new Set([0, n - 1, Math.floor(n / 2), (n * 7919) % n])) {
        input.inclusion.push({ checkpoint: n, index, leaf: b64(leaves[index]!), proof: await run(store, inclusionPlan(index, n)) })
      }
      for (const m of new Set([0, 1, Math.floor(n / 2), n - 1, 2 ** Math.floor(Math.log2(n))])) {
        if (m > n) continue
        input.consistency.push({ first: m, second: n, proof: await run(store, consistencyPlan(m, n)) })
      }
    }

    // the final tree as a client fetches it: checkpoint, proofs and every tile from /v1/log/
    const services = { nodeType: 'multi', status: async () => { throw new Error('unused') }, identity: {}, log: createLogService(log, noDocuments) } as unknown as NodeServices
    const app = await buildApp({ services, bodyLimit: 100_000, requestTimeoutMs: 0, version: 'test', allowedHosts: [] })
    try {
      const checkpoint = await app.inject({ url: '/v1/log/checkpoint' })
      assert.equal(checkpoint.statusCode, 200)
      input.checkpoints.push(checkpoint.body)
      input.tileCheckpoint = input.checkpoints.length - 1
      for (const index of [0, 1, 255, 256, 1024, N - 1]) {
        const cid = Buffer.from(leaves[index]!).toString().split(' ')[1]!
        const proof = (await app.inject({ url: `/v1/log/proof/inclusion?cid=${cid}` })).json() as { leafIndex: number, inclusionProof: string[], treeSize: number }
        assert.deepEqual([proof.leafIndex, proof.treeSize], [index, N])
        input.inclusion.push({ checkpoint: input.tileCheckpoint, index, leaf: b64(leaves[index]!), proof: proof.inclusionProof })
      }
      for (const first of [1, 7, 256, 1000, N - 1]) {
        const proof = (await app.inject({ url: `/v1/log/proof/consistency?first=${first}&second=${N}` })).json() as { consistencyProof: string[] }
        input.consistency.push({ first, second: input.tileCheckpoint, proof: proof.consistencyProof })
      }
      input.tiles = path.join(dir, 'tiles')
      const entries = Array.from({ length: Math.ceil(N / TILE_WIDTH) }, (_, index) => ({ kind: 'entries' as const, index, width: Math.min(TILE_WIDTH, N - index * TILE_WIDTH) }))
      for (const tile of [...tilesOf(N), ...entries]) {
        const res = await app.inject({ url: `/v1/log/${tilePath(tile)}` })
        assert.equal(res.statusCode, 200, tilePath(tile))
        assert.equal(res.headers['cache-control'], tile.width === TILE_WIDTH ? 'max-age=31536000, immutable' : 'max-age=60')
        const file = path.join(input.tiles, tilePath(tile))
        await mkdir(path.dirname(file), { recursive: true })
        await writeFile(file, res.rawPayload)
      }
    } finally {
      await app.close()
    }
  })
  after(async () => {
    await state?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  async function verify (data: typeof input): Promise<{ status: number | null, out: string }> {
    const file = path.join(dir, `input-${Math.random().toString(36).slice(2)}.json`)
    await writeFile(file, JSON.stringify(data))
    const r = spawnSync(verifier, [file], { encoding: 'utf8', maxBuffer: 1 << 24 })
    return { status: r.status, out: `${r.stdout}${r.stderr}` }
  }

  it('every checkpoint, inclusion and consistency proof of every size to 2100, and the tiles of the final tree, verify', async () => {
    const { status, out } = await verify(input)
    assert.equal(status, 0, out)
    if (process.env.DTA_SHOW_GO === '1') console.log(out)
    assert.match(out, /empty tree: checkpoint root e3b0c442[0-9a-f]+ \(RFC 9162\), tlog\.TreeHash\(0\) 0{64}/)
    assert.match(out, new RegExp(`checkpoints: ${N + 2} verified`))
    assert.match(out, new RegExp(`inclusion: ${input.inclusion.length} proofs verified`))
    assert.match(out, new RegExp(`tiles: tree of ${N} rebuilt by tlog.TileHashReader, ${N} entries match`))
    assert.match(out, /OK$/m)
  })

  it('a changed leaf in an entry bundle, a changed tile hash or a changed checkpoint is caught', async () => {
    const bundle = path.join(input.tiles, 'tile/entries/001')
    const original = await readFile(bundle)
    const leafChanged = Buffer.from(original)
    leafChanged[40] = leafChanged[40]! ^ 1
    await writeFile(bundle, leafChanged)
    try {
      const r = await verify(input)
      assert.notEqual(r.status, 0)
      assert.match(r.out, /FAIL entry 2\d\d does not hash to its tile entry/)
    } finally {
      await writeFile(bundle, original)
    }
    const tile = path.join(input.tiles, 'tile/0/003')
    const hashes = await readFile(tile)
    const hashChanged = Buffer.from(hashes)
    hashChanged[100] = hashChanged[100]! ^ 1
    await writeFile(tile, hashChanged)
    try {
      const r = await verify(input)
      assert.notEqual(r.status, 0)
      assert.match(r.out, /FAIL/)
    } finally {
      await writeFile(tile, hashes)
    }
    const forged = { ...input, checkpoints: input.checkpoints.map((c, i) => i === 5 ? c.replace(/\n5\n/, '\n6\n') : c) }
    assert.match((await verify(forged)).out, /FAIL note.Open/)
    assert.equal((await verify(input)).status, 0, 'and the original files verify again')
  })
})
