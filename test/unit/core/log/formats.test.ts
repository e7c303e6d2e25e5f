/**
 * The log's text and byte formats: C2SP signed notes against golang.org/x/mod/sumdb/note's own
 * known answer (test/vectors/signed-note.json), checkpoints, the C2SP tile paths and widths
 * (with the spec's own 70 000-leaf example), entry bundles, leaves, and the log key and its
 * statement (deterministic, bound to the identity that signed it).
 * @module
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ed25519FromSeed, ed25519Verify } from '../../../../src/crypto/ed25519.ts'
import { formatCheckpoint, openCheckpoint, originOf, parseCheckpoint } from '../../../../src/core/log/checkpoint.ts'
import { createLogKeyDocument, deriveLogSigner, openLogKeyDocument } from '../../../../src/core/log/key.ts'
import { decodeLeaf, encodeLeaf, LEAF_TYPES } from '../../../../src/core/log/leaf.ts'
import { EMPTY_TREE_HASH, leafHash } from '../../../../src/core/log/merkle.ts'
import { formatVerifierKey, noteVerifier, openNote, parseNote, parseVerifierKey, signatureLine, signNote } from '../../../../src/core/log/note.ts'
import {
  decodeEntryBundle, decodeHashTile, encodeEntryBundle, encodeHashTile, parseTilePath, tilePath, tilesOf, tileServed, tileWidthIn,
} from '../../../../src/core/log/tiles.ts'
import type { TileRef } from '../../../../src/core/log/tiles.ts'
import { createIdentityDocument } from '../../../../src/core/identity.ts'
import { utf8 } from '../../../../src/crypto/hash.ts'
import vector from '../../../vectors/signed-note.json' with { type: 'json' }

const CID_A = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
const CID_B = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'

function skeySeed (skey: string): Uint8Array {
  const raw = Buffer.from(skey.split('+').slice(4).join('+'), 'base64')
  assert.equal(raw[0], 1)
  return new Uint8Array(raw.subarray(1))
}

describe('signed notes (C2SP signed-note, Ed25519)', () => {
  const signer = ed25519FromSeed(skeySeed(vector.skey))
  const name = vector.vkey.split('+')[0]!

  it('make the verifier key and the signed note of x/mod/sumdb/note\'s known answer', () => {
    assert.equal(formatVerifierKey(noteVerifier(name, signer.publicKey)), vector.vkey)
    assert.equal(signNote(vector.text, { name, ...signer }), vector.signed)
    const opened = openNote(vector.signed, [parseVerifierKey(vector.vkey)])
    assert.equal(opened.text, vector.text)
  })

  it('ignore unknown keys, refuse a failing known key, refuse a note no known key signed', () => {
    const other = ed25519FromSeed(new Uint8Array(32).fill(7))
    const v = parseVerifierKey(vector.vkey)
    const both = signNote(vector.text, { name, ...signer }) + signNote(vector.text, { name: 'witness.example/w', ...other }).split('\n\n')[1]
    assert.equal(openNote(both, [v]).signatures.length, 2)
    assert.equal(openNote(both, [v]).signedBy.length, 1)
    assert.throws(() => openNote(both, [noteVerifier('witness.example/w', signer.publicKey)]), { code: 'LOG_BAD_SIGNATURE' }, 'same name, unknown id: ignored, then none')
    const forged = vector.signed.replace('problem,', 'problem;')
    assert.throws(() => openNote(forged, [v]), { code: 'LOG_BAD_SIGNATURE' })
    // a signature line with v's name and key id but another key's signature
    const stolen = `${vector.text}\n${signatureLine(name, v.keyId, other.sign(utf8(vector.text)))}`
    assert.throws(() => openNote(stolen, [v]), { code: 'LOG_BAD_SIGNATURE' })
  })

  it('read a verifier key whose base64 holds "+" (found in an end-to-end run)', () => {
    for (let i = 0; i < 64; i++) {
      const key = ed25519FromSeed(new Uint8Array(32).fill(i))
      const v = noteVerifier('milagro-dta/log/QmX', key.publicKey)
      const text = formatVerifierKey(v)
      assert.deepEqual(parseVerifierKey(text), v, text)
    }
  })

  it('refuse malformed notes and keys with typed errors', () => {
    for (const bad of ['no newline', 'text\n', 'text\n\n', 'text\n\nsig\n', 'text\n\n— name notbase64!\n', 'te\u0001xt\n\n— n AAAAAAA=\n', `${vector.text}\n— a b AAAAAAA=\n`]) {
      assert.throws(() => parseNote(bad), { code: 'LOG_BAD_NOTE' }, JSON.stringify(bad))
    }
    for (const bad of ['PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'a+b', 'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW']) {
      assert.throws(() => parseVerifierKey(bad), { code: 'LOG_BAD_NOTE' }, bad)
    }
  })

  it('Ed25519 signs deterministically and verifies only the signed message under its key', () => {
    const m = utf8('m')
    assert.deepEqual(signer.sign(m), signer.sign(m))
    assert.ok(ed25519Verify(signer.publicKey, m, signer.sign(m)))
    assert.ok(!ed25519Verify(signer.publicKey, utf8('n'), signer.sign(m)))
    assert.ok(!ed25519Verify(new Uint8Array(32), m, signer.sign(m)))
    assert.ok(!ed25519Verify(signer.publicKey, m, new Uint8Array(63)))
  })
})

describe('checkpoints (C2SP tlog-checkpoint)', () => {
  const signer = ed25519FromSeed(new Uint8Array(32).fill(1))
  const origin = originOf(CID_A)
  const log = noteVerifier(origin, signer.publicKey)

  it('three lines, signed by the origin key, opened back', () => {
    const text = formatCheckpoint({ origin, size: 20852163, root: EMPTY_TREE_HASH })
    assert.equal(text, `milagro-dta/log/${CID_A}\n20852163\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n`)
    const note = signNote(text, { name: origin, ...signer })
    const c = openCheckpoint(note, log)
    assert.equal(c.size, 20852163)
    assert.deepEqual(c.root, EMPTY_TREE_HASH)
    assert.throws(() => openCheckpoint(note, log, originOf(CID_B)), { code: 'LOG_BAD_CHECKPOINT' })
  })

  it('refuses sizes with leading zeros, roots that are not 32 bytes, missing lines', () => {
    const root = Buffer.from(EMPTY_TREE_HASH).toString('base64')
    for (const bad of [`o\n01\n${root}\n`, `o\n-1\n${root}\n`, 'o\n1\nAAAA\n', 'o\n1\n', `o\n1\n${root}`, `o\n1\n${root}\n\nx\n`, `o\n99999999999999999\n${root}\n`]) {
      assert.throws(() => parseCheckpoint(bad), { code: 'LOG_BAD_CHECKPOINT' }, JSON.stringify(bad))
    }
    assert.deepEqual(parseCheckpoint(`o\n0\n${root}\next\n`).extensions, ['ext'])
  })
})

describe('tiles (C2SP tlog-tiles, height 8)', () => {
  it('paths: 3-digit groups with x, .p/W for partial tiles, one path per tile', () => {
    const cases: Array<[TileRef, string]> = [
      [{ kind: 'hash', level: 0, index: 0, width: 256 }, 'tile/0/000'],
      [{ kind: 'hash', level: 1, index: 1234067, width: 256 }, 'tile/1/x001/x234/067'],
      [{ kind: 'hash', level: 0, index: 1234, width: 7 }, 'tile/0/x001/234.p/7'],
      [{ kind: 'entries', index: 0, width: 256 }, 'tile/entries/000'],
      [{ kind: 'entries', index: 1000, width: 255 }, 'tile/entries/x001/000.p/255'],
    ]
    for (const [tile, path] of cases) {
      assert.equal(tilePath(tile), path)
      assert.deepEqual(parseTilePath(path), tile)
    }
    for (const bad of ['tile/00/000', 'tile/0/00', 'tile/0/0000', 'tile/0/x000/123', 'tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/07',
      'tile/7/000', 'tile/-1/000', 'tile/data/000', 'tile/0/000/', 'tile/0/x1/000', '../tile/0/000', 'tile/0/x001/x002/x003/x004/x005/x006/007']) {
      assert.throws(() => parseTilePath(bad), { code: 'LOG_TILE_NOT_FOUND' }, bad)
    }
  })

  it('widths: the spec\'s tree of 70 000 leaves; only the partial width of this size is served', () => {
    const tiles = tilesOf(70000)
    assert.equal(tiles.filter(t => t.kind === 'hash' && t.level === 0 && t.width === 256).length, 273)
    assert.deepEqual(tiles.filter(t => t.width < 256).map(t => tilePath(t)), ['tile/0/273.p/112', 'tile/1/001.p/17', 'tile/2/000.p/1'])
    assert.equal(tiles.filter(t => t.kind === 'hash' && t.level === 1 && t.width === 256).length, 1)
    assert.deepEqual(tilesOf(256).map(tilePath), ['tile/0/000', 'tile/1/000.p/1'])
    assert.deepEqual(tilesOf(0), [])
    assert.equal(tileWidthIn(300, 0, 1), 44)
    assert.ok(tileServed(300, { kind: 'hash', level: 0, index: 1, width: 44 }))
    assert.ok(!tileServed(300, { kind: 'hash', level: 0, index: 1, width: 43 }), 'an older partial width is not served')
    assert.ok(!tileServed(300, { kind: 'hash', level: 0, index: 1, width: 256 }), 'a full tile the tree does not have yet')
    assert.ok(tileServed(300, { kind: 'entries', index: 0, width: 256 }))
    assert.ok(!tileServed(300, { kind: 'hash', level: 0, index: 2, width: 1 }))
  })

  it('hash tiles and entry bundles, and their malformed forms', () => {
    const hashes = [leafHash(utf8('a')), leafHash(utf8('b'))]
    assert.deepEqual(decodeHashTile(encodeHashTile(hashes), 2), hashes)
    assert.throws(() => decodeHashTile(new Uint8Array(63), 2), { code: 'LOG_BAD_TILE' })
    const leaves = [utf8(''), utf8('x'), new Uint8Array(300).fill(9)]
    const bundle = encodeEntryBundle(leaves)
    assert.deepEqual(bundle.subarray(0, 5), Uint8Array.of(0, 0, 0, 1, 0x78))
    assert.deepEqual(decodeEntryBundle(bundle, 3), leaves)
    assert.throws(() => decodeEntryBundle(bundle, 2), { code: 'LOG_BAD_TILE' })
    assert.throws(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1), 3), { code: 'LOG_BAD_TILE' })
    assert.throws(() => decodeEntryBundle(Uint8Array.of(0), 0), { code: 'LOG_BAD_TILE' })
  })
})

describe('leaves', () => {
  it('one ASCII line per leaf, decoded only from exactly that form', () => {
    const leaf = { type: 'order-2' as const, cid: CID_A, signer: CID_B }
    const bytes = encodeLeaf(leaf)
    assert.equal(Buffer.from(bytes).toString(), `order-2 ${CID_A} ${CID_B}\n`)
    assert.deepEqual(decodeLeaf(bytes), leaf)
    for (const type of LEAF_TYPES) assert.equal(decodeLeaf(encodeLeaf({ type, cid: CID_A, signer: CID_A })).type, type)
    for (const bad of [`order-2 ${CID_A} ${CID_B}`, `order-2  ${CID_A} ${CID_B}\n`, `order-5 ${CID_A} ${CID_B}\n`, `order-2 ${CID_A} ${CID_B}\n\n`, `order-2 ${CID_A} Qm0${CID_B.slice(3)}\n`, `Order-2 ${CID_A} ${CID_B}\n`]) {
      assert.throws(() => decodeLeaf(utf8(bad)), { code: 'LOG_BAD_LEAF' }, bad)
    }
    assert.throws(() => encodeLeaf({ type: 'order-2', cid: 'not a cid', signer: CID_B }), { code: 'INTERNAL' })
  })
})

describe('the log key and its statement', () => {
  const rootSeed = new Uint8Array(32).fill(3)
  const { keys } = createIdentityDocument(rootSeed, 'node', { now: 1_700_000_000_000 })
  const identity = { cid: CID_A, secretKey: keys.bls }
  const verifier = { cid: CID_A, blsPublicKey: keys.blsPublicKey }

  it('is derived from the root seed, apart from the identity keys, and stated once', () => {
    const a = deriveLogSigner(rootSeed)
    assert.deepEqual(a.publicKey, deriveLogSigner(new Uint8Array(32).fill(3)).publicKey, 'deterministic')
    assert.notDeepEqual(a.publicKey, deriveLogSigner(new Uint8Array(32).fill(4)).publicKey)
    const doc = createLogKeyDocument({ identity, publicKey: a.publicKey, createdAt: 1_700_000_000_000 })
    assert.deepEqual(doc, createLogKeyDocument({ identity, publicKey: a.publicKey, createdAt: 1_700_000_000_000 }), 'one byte form')
    const key = openLogKeyDocument(doc, verifier)
    assert.equal(key.origin, originOf(CID_A))
    assert.deepEqual(key.verifier.publicKey, a.publicKey)
    assert.equal(key.verifier.name, key.origin)
  })

  it('is refused when signed by another identity, claimed for another, or not a statement', () => {
    const doc = createLogKeyDocument({ identity, publicKey: deriveLogSigner(rootSeed).publicKey, createdAt: 1 })
    const other = createIdentityDocument(new Uint8Array(32).fill(5), 'other')
    assert.throws(() => openLogKeyDocument(doc, { cid: CID_A, blsPublicKey: other.keys.blsPublicKey }), { code: 'LOG_BAD_KEY_DOCUMENT' })
    assert.throws(() => openLogKeyDocument(doc, { cid: CID_B, blsPublicKey: keys.blsPublicKey }), { code: 'LOG_BAD_KEY_DOCUMENT' })
    // a statement made by B's key for A's origin cannot exist: the origin is the signer's
    const forB = createLogKeyDocument({ identity: { cid: CID_B, secretKey: keys.bls }, publicKey: new Uint8Array(32), createdAt: 1 })
    assert.throws(() => openLogKeyDocument(forB, verifier), { code: 'LOG_BAD_KEY_DOCUMENT' })
    assert.throws(() => openLogKeyDocument(createIdentityDocument(rootSeed, 'node').bytes, { cid: '', blsPublicKey: keys.blsPublicKey }), { code: 'LOG_BAD_KEY_DOCUMENT' })
  })
})
