/**
 * Encrypted envelope: round trips, typed refusals, single-byte tampering across every region of
 * a sealed envelope, and a bounded, seeded random-mutation fuzz run.
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { create, toBinary } from '@bufbuild/protobuf'
import { DtaError, isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { deriveIdentityKeys } from '../../../src/core/identity.ts'
import type { IdentityKeys } from '../../../src/core/identity.ts'
import { blsSign } from '../../../src/crypto/bls.ts'
import { concatBytes, utf8 } from '../../../src/crypto/hash.ts'
import {
  DocumentType, ENCAPSULATION_BYTES, MAX_RECIPIENTS, openEnvelope, parseEnvelope, sealEnvelope,
} from '../../../src/envelope/envelope.ts'
import type { RecipientSecretKey, Verifier } from '../../../src/envelope/envelope.ts'
import { EnvelopeSchema, HeaderSchema, SignedEnvelopeSchema } from '../../../src/envelope/gen/dta_pb.ts'
import { MAX_DOCUMENT_BYTES } from '../../../src/ports/document-store.ts'
import { prng } from '../../helpers/prng.ts'

interface Party { cid: string, keys: IdentityKeys }
const party = (i: number): Party => {
  const seed = new Uint8Array(32).fill(i + 1)
  return { cid: `QmTestIdentity${String(i).padStart(32, '0')}`, keys: deriveIdentityKeys(seed) }
}
const parties = Array.from({ length: MAX_RECIPIENTS + 1 }, (_, i) => party(i))
const [alice, bob, carol] = parties
const verifier = (p: Party): Verifier => ({ cid: p.cid, blsPublicKey: p.keys.blsPublicKey })
const recipientKey = (p: Party): RecipientSecretKey => ({ cid: p.cid, kemSecretKey: p.keys.kem })
const publicKey = (p: Party) => ({ cid: p.cid, kemPublicKey: p.keys.kemPublicKey })

function expectCode (fn: () => unknown, codes: ErrorCode | ErrorCode[]): void {
  const allowed = Array.isArray(codes) ? codes : [codes]
  assert.throws(fn, (err: unknown) => {
    assert.ok(isDtaError(err), `expected a DtaError, got ${String(err)}`)
    assert.ok(allowed.includes(err.code), `expected ${allowed.join('|')}, got ${err.code}`)
    return true
  })
}

function seal (recipients: Party[], body = utf8('plain'), secret = utf8('secret body')): Uint8Array {
  return sealEnvelope({
    signer: { cid: alice.cid, secretKey: alice.keys.bls },
    bodyType: DocumentType.ORDER_DOCUMENT,
    body,
    encryptedBodyType: DocumentType.ORDER_DOCUMENT,
    encryptedBody: secret,
    recipients: recipients.map(publicKey),
    previousCID: 'QmPreviousDocument',
  })
}

describe('envelope round trips', () => {
  for (const n of [1, 2, MAX_RECIPIENTS]) {
    it(`${n} recipient(s) each decrypt the body`, () => {
      const recipients = parties.slice(1, n + 1)
      const before = Date.now()
      const bytes = seal(recipients)
      for (const r of recipients) {
        const opened = openEnvelope(bytes, { signer: verifier(alice), recipient: recipientKey(r) })
        assert.equal(opened.signerCID, alice.cid)
        assert.deepEqual(opened.body, utf8('plain'))
        assert.deepEqual(opened.decryptedBody, utf8('secret body'))
        assert.equal(opened.header.previousCID, 'QmPreviousDocument')
        assert.deepEqual(opened.header.recipients, recipients.map(r => r.cid))
        assert.ok(opened.header.createdAt >= before && opened.header.createdAt <= Date.now(), 'createdAt is the real time')
      }
    })
  }

  it('empty bodies, and a signed envelope with no encrypted body', () => {
    const bytes = seal([bob], new Uint8Array(0), new Uint8Array(0))
    const opened = openEnvelope(bytes, { signer: verifier(alice), recipient: recipientKey(bob) })
    assert.equal(opened.body.length, 0)
    assert.equal(opened.decryptedBody?.length, 0)
    const plainOnly = sealEnvelope({ signer: { cid: alice.cid, secretKey: alice.keys.bls }, body: utf8('hello') })
    const o2 = openEnvelope(plainOnly, { signer: verifier(alice), recipient: recipientKey(bob) })
    assert.deepEqual(o2.body, utf8('hello'))
    assert.equal(o2.decryptedBody, undefined)
  })

  it('the largest body that fits in 1 MiB round-trips, one byte more is refused', () => {
    const overhead = seal([bob], new Uint8Array(0), new Uint8Array(0)).length
    // Length prefixes grow by a few bytes for large fields; find the exact fit by probing downwards.
    let size = MAX_DOCUMENT_BYTES - overhead
    let bytes: Uint8Array | undefined
    while (bytes === undefined) {
      try { bytes = seal([bob], new Uint8Array(0), new Uint8Array(size).fill(7)) } catch (err) {
        assert.ok(isDtaError(err, 'ENVELOPE_TOO_LARGE')); size--
      }
    }
    assert.ok(bytes.length <= MAX_DOCUMENT_BYTES && bytes.length > MAX_DOCUMENT_BYTES - 16)
    const opened = openEnvelope(bytes, { signer: verifier(alice), recipient: recipientKey(bob) })
    assert.equal(opened.decryptedBody?.length, size)
    expectCode(() => seal([bob], new Uint8Array(0), new Uint8Array(size + 1)), 'ENVELOPE_TOO_LARGE')
    expectCode(() => seal([bob], new Uint8Array(MAX_DOCUMENT_BYTES)), 'ENVELOPE_TOO_LARGE')
    const plainMax = sealEnvelope({ signer: { cid: alice.cid, secretKey: alice.keys.bls }, body: new Uint8Array(MAX_DOCUMENT_BYTES - 200) })
    assert.equal(openEnvelope(plainMax, { signer: verifier(alice) }).body.length, MAX_DOCUMENT_BYTES - 200)
  })
})

describe('envelope refusals', () => {
  const bytes = seal([bob, carol])

  it('a non-recipient cannot open the encrypted body', () => {
    expectCode(() => openEnvelope(bytes, { signer: verifier(alice), recipient: recipientKey(parties[5]) }), 'ENVELOPE_NOT_A_RECIPIENT')
    // a listed CID with someone else's key: unwrap fails, nothing is returned
    expectCode(() => openEnvelope(bytes, { signer: verifier(alice), recipient: { cid: bob.cid, kemSecretKey: carol.keys.kem } }), 'ENVELOPE_DECRYPT_FAILED')
  })

  it('the wrong signer is refused, by CID and by key', () => {
    expectCode(() => openEnvelope(bytes, { signer: verifier(bob) }), 'ENVELOPE_WRONG_SIGNER')
    expectCode(() => openEnvelope(bytes, { signer: { cid: alice.cid, blsPublicKey: bob.keys.blsPublicKey } }), 'ENVELOPE_BAD_SIGNATURE')
  })

  it('expected document types are enforced', () => {
    expectCode(() => openEnvelope(bytes, { signer: verifier(alice), expect: { bodyType: DocumentType.ID_DOCUMENT } }), 'ENVELOPE_WRONG_TYPE')
    expectCode(() => openEnvelope(bytes, { signer: verifier(alice), expect: { encryptedBodyType: DocumentType.ID_DOCUMENT } }), 'ENVELOPE_WRONG_TYPE')
  })

  it('21 recipients are refused when sealing and when opening', () => {
    expectCode(() => seal(parties.slice(0, MAX_RECIPIENTS + 1)), 'ENVELOPE_TOO_MANY_RECIPIENTS')
    // Hand-build a correctly signed envelope that lists 21 recipients.
    const header = toBinary(HeaderSchema, create(HeaderSchema, {
      suite: 1, createdAt: BigInt(Date.now()), nonce: new Uint8Array(12), keyCommitment: new Uint8Array(32),
      recipients: parties.map(p => ({ cid: p.cid, encapsulation: new Uint8Array(ENCAPSULATION_BYTES) })),
    }))
    const message = toBinary(EnvelopeSchema, create(EnvelopeSchema, { header, encryptedBody: new Uint8Array(32) }))
    const label = utf8('milagro-dta/signed-envelope/v1')
    const len = new Uint8Array([0, 0, 0, utf8(alice.cid).length])
    const signature = blsSign(alice.keys.bls, concatBytes(label, len, utf8(alice.cid), message))
    const forged = toBinary(SignedEnvelopeSchema, create(SignedEnvelopeSchema, { version: 1, signerCid: alice.cid, message, signature }))
    expectCode(() => openEnvelope(forged, { signer: verifier(alice) }), 'ENVELOPE_TOO_MANY_RECIPIENTS')
  })

  it('duplicate recipients are refused', () => {
    expectCode(() => seal([bob, bob]), 'ENVELOPE_DUPLICATE_RECIPIENT')
  })

  it('truncated, oversized and garbage input give typed errors', () => {
    for (let cut = 0; cut < bytes.length; cut += 37) {
      expectCode(() => openEnvelope(bytes.subarray(0, cut), { signer: verifier(alice) }), ['ENVELOPE_MALFORMED', 'ENVELOPE_WRONG_SIGNER', 'ENVELOPE_BAD_SIGNATURE'])
    }
    expectCode(() => openEnvelope(new Uint8Array(MAX_DOCUMENT_BYTES + 1), { signer: verifier(alice) }), 'ENVELOPE_TOO_LARGE')
    expectCode(() => openEnvelope(new Uint8Array(0), { signer: verifier(alice) }), 'ENVELOPE_MALFORMED')
    expectCode(() => openEnvelope(utf8('{"not":"protobuf"}'), { signer: verifier(alice) }), 'ENVELOPE_MALFORMED')
    const rand = prng(1)
    for (let i = 0; i < 200; i++) {
      expectCode(() => openEnvelope(rand.bytes(1 + rand.int(3000)), { signer: verifier(alice) }), ['ENVELOPE_MALFORMED', 'ENVELOPE_WRONG_SIGNER', 'ENVELOPE_TOO_MANY_RECIPIENTS', 'ENVELOPE_DUPLICATE_RECIPIENT'])
    }
  })
})

/** Byte offsets of the regions of a SignedEnvelope as protobuf-es writes it (fields in order). */
function regions (bytes: Uint8Array): Record<string, [number, number]> {
  const parsed = parseEnvelope(bytes)
  const signer = utf8(parsed.signerCID)
  const sig = parsed.raw.signature
  // field 1: 08 01; field 2: 12 len signer; field 3: 1a varint(len) message; field 4: 22 60 signature
  const signerStart = 4
  const messageTagAt = signerStart + signer.length
  let p = messageTagAt + 1
  while ((bytes[p] & 0x80) !== 0) p++
  const messageStart = p + 1
  const messageEnd = messageStart + parsed.raw.message.length
  const sigStart = bytes.length - sig.length
  assert.equal(sigStart, messageEnd + 2)
  return {
    versionTag: [0, 1], version: [1, 2], signerTag: [2, 4], signer: [signerStart, messageTagAt],
    messageTag: [messageTagAt, messageStart], message: [messageStart, messageEnd],
    signatureTag: [messageEnd, sigStart], signature: [sigStart, bytes.length],
  }
}

describe('tampering', () => {
  const bytes = seal([bob])
  const expected: Record<string, ErrorCode[]> = {
    versionTag: ['ENVELOPE_MALFORMED'],
    version: ['ENVELOPE_MALFORMED'],
    signerTag: ['ENVELOPE_MALFORMED', 'ENVELOPE_WRONG_SIGNER'],
    signer: ['ENVELOPE_WRONG_SIGNER', 'ENVELOPE_MALFORMED'],
    messageTag: ['ENVELOPE_MALFORMED', 'ENVELOPE_WRONG_SIGNER'],
    message: ['ENVELOPE_BAD_SIGNATURE', 'ENVELOPE_MALFORMED', 'ENVELOPE_DUPLICATE_RECIPIENT'],
    signatureTag: ['ENVELOPE_MALFORMED'],
    signature: ['ENVELOPE_BAD_SIGNATURE'],
  }

  it('flipping any single byte of a sealed, signed envelope is refused with the right code', () => {
    const rand = prng(7)
    const counts: Record<string, number> = {}
    for (const [name, [start, end]] of Object.entries(regions(bytes))) {
      for (let i = start; i < end; i++) {
        const mutated = Uint8Array.from(bytes)
        mutated[i] ^= 1 << rand.int(8)
        expectCode(() => openEnvelope(mutated, { signer: verifier(alice), recipient: recipientKey(bob) }), expected[name])
        counts[name] = (counts[name] ?? 0) + 1
      }
    }
    assert.equal(Object.values(counts).reduce((a, b) => a + b), bytes.length, 'every byte was tried')
  })

  it('a re-signed envelope with an altered header or ciphertext does not decrypt', () => {
    // The signer itself cannot make a listed recipient read a body under a changed header.
    const parsed = parseEnvelope(bytes)
    const env = { header: parsed.raw.headerBytes, body: parsed.body, encryptedBody: Uint8Array.from(parsed.raw.encryptedBody) }
    env.encryptedBody[0] ^= 1
    const message = toBinary(EnvelopeSchema, create(EnvelopeSchema, env))
    const label = utf8('milagro-dta/signed-envelope/v1')
    const len = new Uint8Array([0, 0, 0, utf8(alice.cid).length])
    const signature = blsSign(alice.keys.bls, concatBytes(label, len, utf8(alice.cid), message))
    const resigned = toBinary(SignedEnvelopeSchema, create(SignedEnvelopeSchema, { version: 1, signerCid: alice.cid, message, signature }))
    expectCode(() => openEnvelope(resigned, { signer: verifier(alice), recipient: recipientKey(bob) }), 'ENVELOPE_DECRYPT_FAILED')
  })
})

describe('fuzz', () => {
  it('3000 seeded random mutations: a typed error unless the bytes are unchanged, never a crash', () => {
    const base = seal([bob, carol])
    const original = openEnvelope(base, { signer: verifier(alice), recipient: recipientKey(bob) })
    const seed = 20261121
    const rand = prng(seed)
    const tally: Record<string, number> = {}
    for (let n = 0; n < 3000; n++) {
      let m = Uint8Array.from(base)
      const ops = 1 + rand.int(4)
      for (let k = 0; k < ops; k++) {
        const at = rand.int(m.length)
        switch (rand.int(5)) {
          case 0: m[at] ^= 1 << rand.int(8); break
          case 1: m[at] = rand.int(256); break
          case 2: m = concatBytes(m.subarray(0, at), rand.bytes(1 + rand.int(8)), m.subarray(at)); break
          case 3: m = concatBytes(m.subarray(0, at), m.subarray(Math.min(m.length, at + 1 + rand.int(64)))); break
          default: m = m.subarray(0, at)
        }
      }
      try {
        const opened = openEnvelope(m, { signer: verifier(alice), recipient: recipientKey(bob) })
        // Only the canonical encoding is accepted, so success means the mutations cancelled out.
        assert.deepEqual(m, base, `case ${n} (seed ${seed}) accepted different bytes`)
        assert.deepEqual(opened.body, original.body, `case ${n} (seed ${seed}) opened to a different body`)
        assert.deepEqual(opened.decryptedBody, original.decryptedBody, `case ${n} (seed ${seed}) decrypted to a different body`)
        tally.unchanged = (tally.unchanged ?? 0) + 1
      } catch (err) {
        if (!(err instanceof DtaError)) assert.fail(`case ${n} (seed ${seed}) threw a non-typed error: ${String(err)}`)
        tally[err.code] = (tally[err.code] ?? 0) + 1
      }
    }
    assert.ok((tally.ENVELOPE_BAD_SIGNATURE ?? 0) > 100 && (tally.ENVELOPE_MALFORMED ?? 0) > 100, JSON.stringify(tally))
  })
})
