/**
 * Ed25519 (RFC 8032) over `node:crypto`: the transparency log signs its checkpoints with it, as
 * the C2SP signed-note format expects (signature type 0x01). A key is made from a 32-byte seed
 * (RFC 8032's private key), so a node derives its log key deterministically from its root seed
 * (src/core/log/key.ts) and never stores it.
 *
 * Node takes raw Ed25519 private keys only inside a PKCS#8 structure, and raw public keys only
 * inside an SPKI structure; both are a fixed DER prefix followed by the 32 key bytes (RFC 8410).
 * @module
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { DtaError } from '../errors.ts'
import { fromBuffer } from './hash.ts'
import { accounted } from '../accounting.ts'

export const ED25519_SEED_BYTES = 32
export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64

// RFC 8410 §7 / §4: PrivateKeyInfo { v1, id-Ed25519, OCTET STRING { OCTET STRING seed } } and
// SubjectPublicKeyInfo { id-Ed25519, BIT STRING key }, up to the key bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** An Ed25519 signing key; the seed is held by Node's KeyObject, not in a JS buffer. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array
  sign (message: Uint8Array): Uint8Array
}

/** The signing key of a 32-byte seed. The caller wipes the seed. */
export const ed25519FromSeed = accounted('crypto', function ed25519FromSeed (seed: Uint8Array): Ed25519Signer {
  if (seed.length !== ED25519_SEED_BYTES) throw new DtaError('CRYPTO_BAD_SEED', `an Ed25519 seed is ${ED25519_SEED_BYTES} bytes`)
  const der = Buffer.concat([PKCS8_PREFIX, seed])
  let key: KeyObject
  try {
    key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } finally {
    der.fill(0)
  }
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' })
  const publicKey = fromBuffer(spki.subarray(SPKI_PREFIX.length))
  return {
    publicKey,
    sign: accounted('crypto', (message: Uint8Array) => fromBuffer(sign(null, message, key))),
  }
})

const publicKeys = new Map<string, KeyObject>()

function publicKeyObject (publicKey: Uint8Array): KeyObject {
  const hex = Buffer.from(publicKey).toString('hex')
  let key = publicKeys.get(hex)
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
    } catch (err) {
      throw new DtaError('CRYPTO_BAD_KEY', 'not an Ed25519 public key', { cause: err })
    }
    if (publicKeys.size >= 1024) publicKeys.clear()
    publicKeys.set(hex, key)
  }
  return key
}

/** True iff `signature` is a valid Ed25519 signature of `message` under `publicKey` (32 bytes). */
export const ed25519Verify = accounted('crypto', function ed25519Verify (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) return false
  let key: KeyObject
  try {
    key = publicKeyObject(publicKey)
  } catch {
    return false
  }
  return verify(null, message, key, signature)
})
