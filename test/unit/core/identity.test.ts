/**
 * Identity documents: keys derive from the root seed, the self-signed document verifies, and
 * forged or damaged documents are refused with typed errors.
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isDtaError } from '../../../src/errors.ts'
import { createIdentityDocument, decodeIdentityDocument, deriveIdentityKeys } from '../../../src/core/identity.ts'
import { blsPopProve, blsPublicKey } from '../../../src/crypto/bls.ts'
import { hkdfSha256, utf8 } from '../../../src/crypto/hash.ts'
import { bip32Derive } from '../../../src/crypto/secp256k1.ts'
import { xwingKeyPair } from '../../../src/crypto/xwing.ts'
import { encode } from '../../../src/envelope/codec.ts'
import { DocumentType, sealEnvelope } from '../../../src/envelope/envelope.ts'
import { IDDocumentSchema } from '../../../src/envelope/gen/dta_pb.ts'

const seed = Uint8Array.from({ length: 32 }, (_, i) => i)

describe('identity documents', () => {
  it('keys are the ones derived from the root seed, by the documented labels', () => {
    const keys = deriveIdentityKeys(seed)
    const salt = utf8('milagro-dta/identity/v1')
    const kem = xwingKeyPair(hkdfSha256(seed, salt, utf8('x-wing kem seed'), 32))
    assert.deepEqual(keys.kemPublicKey, kem.publicKey)
    const ec = bip32Derive(hkdfSha256(seed, salt, utf8('secp256k1 bip32 seed'), 64), "m/44'/0'/0'/0/0")
    assert.deepEqual(keys.ecPublicKey, ec.publicKey)
    assert.deepEqual(keys.ecPrivateKey, ec.privateKey)
    assert.equal(keys.blsPublicKey.length, 48)
    assert.deepEqual(deriveIdentityKeys(seed).blsPublicKey, keys.blsPublicKey, 'deterministic')
    assert.notDeepEqual(deriveIdentityKeys(new Uint8Array(32)).blsPublicKey, keys.blsPublicKey)
  })

  it('a created document decodes, verifies and carries the derived public keys', () => {
    const { bytes, document, keys } = createIdentityDocument(seed, 'alice', { now: 1_700_000_000_000 })
    const decoded = decodeIdentityDocument(bytes)
    assert.deepEqual(decoded, document)
    assert.equal(decoded.authenticationReference, 'alice')
    assert.equal(decoded.timestamp, 1_700_000_000_000)
    assert.deepEqual(decoded.blsPublicKey, keys.blsPublicKey)
    assert.deepEqual(decoded.kemPublicKey, keys.kemPublicKey)
    assert.deepEqual(decoded.beneficiaryECPublicKey, keys.ecPublicKey)
  })

  it('refuses a bad name and a bad seed', () => {
    assert.throws(() => createIdentityDocument(seed, ''), (e: unknown) => isDtaError(e, 'IDENTITY_MALFORMED'))
    assert.throws(() => createIdentityDocument(seed, 'x'.repeat(257)), (e: unknown) => isDtaError(e, 'IDENTITY_MALFORMED'))
    assert.throws(() => deriveIdentityKeys(new Uint8Array(31)), (e: unknown) => isDtaError(e, 'CRYPTO_BAD_SEED'))
  })

  it('refuses a self-signed document whose proof of possession is not its own', () => {
    const keys = deriveIdentityKeys(seed)
    const other = deriveIdentityKeys(new Uint8Array(32).fill(9))
    const body = encode(IDDocumentSchema, {
      authenticationReference: 'mallory',
      beneficiaryEcPublicKey: keys.ecPublicKey,
      kemPublicKey: keys.kemPublicKey,
      blsPublicKey: keys.blsPublicKey,
      proofOfPossession: blsPopProve(other.bls),
      timestamp: 1n,
    })
    const bytes = sealEnvelope({ signer: { cid: '', secretKey: keys.bls }, bodyType: DocumentType.ID_DOCUMENT, body })
    assert.throws(() => decodeIdentityDocument(bytes), (e: unknown) => isDtaError(e, 'IDENTITY_BAD_PROOF_OF_POSSESSION'))
  })

  it('refuses a document signed by a key other than the one it carries', () => {
    const keys = deriveIdentityKeys(seed)
    const other = deriveIdentityKeys(new Uint8Array(32).fill(9))
    const body = encode(IDDocumentSchema, {
      authenticationReference: 'mallory',
      beneficiaryEcPublicKey: keys.ecPublicKey,
      kemPublicKey: keys.kemPublicKey,
      blsPublicKey: blsPublicKey(keys.bls),
      proofOfPossession: blsPopProve(keys.bls),
      timestamp: 1n,
    })
    const bytes = sealEnvelope({ signer: { cid: '', secretKey: other.bls }, bodyType: DocumentType.ID_DOCUMENT, body })
    assert.throws(() => decodeIdentityDocument(bytes), (e: unknown) => isDtaError(e, 'ENVELOPE_BAD_SIGNATURE'))
  })

  it('refuses wrong key lengths, another document type and every single-byte flip', () => {
    const keys = deriveIdentityKeys(seed)
    const body = encode(IDDocumentSchema, { authenticationReference: 'x', blsPublicKey: keys.blsPublicKey, kemPublicKey: new Uint8Array(10) })
    const short = sealEnvelope({ signer: { cid: '', secretKey: keys.bls }, bodyType: DocumentType.ID_DOCUMENT, body })
    assert.throws(() => decodeIdentityDocument(short), (e: unknown) => isDtaError(e, 'IDENTITY_MALFORMED'))
    const order = sealEnvelope({ signer: { cid: '', secretKey: keys.bls }, bodyType: DocumentType.ORDER_DOCUMENT, body })
    assert.throws(() => decodeIdentityDocument(order), (e: unknown) => isDtaError(e, 'ENVELOPE_WRONG_TYPE'))
    const { bytes } = createIdentityDocument(seed, 'alice')
    for (let i = 0; i < bytes.length; i += 3) {
      const m = Uint8Array.from(bytes); m[i] ^= 0x10
      assert.throws(() => decodeIdentityDocument(m), (e: unknown) => isDtaError(e), `flip at ${i}`)
    }
  })
})
