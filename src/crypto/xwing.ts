/**
 * X-Wing hybrid KEM (ML-KEM-768 + X25519), as specified in draft-connolly-cfrg-xwing-kem-10
 * (March 2026; the "final" construction with a 32-byte decapsulation seed): the seed is expanded
 * with SHAKE256 to 96 bytes — ML-KEM-768 KeyGen_internal(d, z) from bytes 0..64, the X25519
 * secret from bytes 64..96 — and the shared secret is
 *   SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ "\.//^\").
 * The tests check the draft's Appendix C vectors and interoperate with @noble/post-quantum's
 * `ml_kem768_x25519` (which implements the same draft).
 *
 * Everything runs on `node:crypto`'s native ML-KEM-768 and X25519 (10–18× faster than pure JS).
 * `xwingKeyPair` expands the seed once and returns an opaque secret-key object holding the two
 * native private KeyObjects and the X25519 public key (the draft's "keeping the expanded
 * decapsulation key around", §5.5.1), so decapsulation does no key expansion. Nothing secret is
 * cached at module level. Node's ML-KEM import performs the FIPS 203 §7.2 encapsulation-key check,
 * so a malformed public key is a typed CRYPTO_BAD_KEY, never a crash.
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  decapsulate,
  diffieHellman,
  encapsulate,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto'
import { DtaError } from '../errors.ts'
import { asBuffer, concatBytes, fromBuffer, sha3_256, shake256, wipe } from './hash.ts'
import { accounted } from '../accounting.ts'

export const XWING_SEED_BYTES = 32
export const XWING_PUBLIC_KEY_BYTES = 1216
export const XWING_CIPHERTEXT_BYTES = 1120
export const XWING_SHARED_SECRET_BYTES = 32

const MLKEM768_PUBLIC_KEY_BYTES = 1184
const MLKEM768_CIPHERTEXT_BYTES = 1088
/** XWingLabel = "\./" ‖ "/^\" = 5c2e2f2f5e5c. */
const XWING_LABEL = Uint8Array.of(0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c)

/** An expanded X-Wing decapsulation key. Opaque: only this module looks inside. */
export type XWingSecretKey = {
  readonly kind: 'xwing-secret-key'
  readonly mlkem: KeyObject
  readonly x25519: KeyObject
  readonly x25519PublicKey: Uint8Array
}

function combiner (ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array<ArrayBuffer> {
  const input = concatBytes(ssM, ssX, ctX, pkX, XWING_LABEL)
  try {
    return sha3_256(input)
  } finally {
    wipe(input)
  }
}

/** GenerateKeyPairDerand(seed): the 1216-byte public key pk_M ‖ pk_X and the expanded secret key. */
export const xwingKeyPair = accounted('crypto', function xwingKeyPair (seed32: Uint8Array): { publicKey: Uint8Array<ArrayBuffer>, secretKey: XWingSecretKey } {
  if (seed32.length !== XWING_SEED_BYTES) throw new DtaError('CRYPTO_BAD_SEED', `X-Wing seed must be ${XWING_SEED_BYTES} bytes`)
  const expanded = shake256(seed32, 96)
  try {
    // Node's 'raw-seed' for ML-KEM is FIPS 203's 64-byte (d ‖ z), exactly KeyGen_internal(d, z).
    const mlkem = createPrivateKey({ key: asBuffer(expanded.subarray(0, 64)), format: 'raw-seed', asymmetricKeyType: 'ml-kem-768' })
    const x25519 = createPrivateKey({ key: asBuffer(expanded.subarray(64, 96)), format: 'raw-private', asymmetricKeyType: 'x25519' })
    const pkM = fromBuffer(createPublicKey(mlkem).export({ format: 'raw-public' }))
    const pkX = fromBuffer(createPublicKey(x25519).export({ format: 'raw-public' }))
    const secretKey: XWingSecretKey = Object.freeze({ kind: 'xwing-secret-key', mlkem, x25519, x25519PublicKey: pkX })
    return { publicKey: concatBytes(pkM, pkX), secretKey }
  } finally {
    wipe(expanded)
  }
})

/**
 * Imported recipient public keys, by the byte array they came from. A D-TA seals to the same few
 * identities over and over, and their key bytes come from identity documents cached by CID (the
 * same array each time); importing the two keys costs ~60 µs of the ~175 µs of an encapsulation.
 * Public keys only; each entry keeps a copy of the bytes and is used only while they still match.
 */
const imported = new WeakMap<Uint8Array, { bytes: Buffer, pkM: KeyObject, pkX: KeyObject }>()

function publicKeyObjects (publicKey1216: Uint8Array): { pkM: KeyObject, pkX: KeyObject } {
  const hit = imported.get(publicKey1216)
  if (hit !== undefined && hit.bytes.equals(publicKey1216)) return hit
  try {
    const pkM = createPublicKey({ key: asBuffer(publicKey1216.subarray(0, MLKEM768_PUBLIC_KEY_BYTES)), format: 'raw-public', asymmetricKeyType: 'ml-kem-768' })
    const pkX = createPublicKey({ key: asBuffer(publicKey1216.subarray(MLKEM768_PUBLIC_KEY_BYTES)), format: 'raw-public', asymmetricKeyType: 'x25519' })
    imported.set(publicKey1216, { bytes: Buffer.from(publicKey1216), pkM, pkX })
    return { pkM, pkX }
  } catch (err) {
    throw new DtaError('CRYPTO_BAD_KEY', 'not a valid X-Wing public key', { cause: err })
  }
}

/** Encapsulate(pk): a fresh 32-byte shared secret and its 1120-byte ciphertext ct_M ‖ ct_X. */
export const xwingEncapsulate = accounted('crypto', function xwingEncapsulate (publicKey1216: Uint8Array): { sharedSecret: Uint8Array<ArrayBuffer>, ciphertext: Uint8Array<ArrayBuffer> } {
  if (publicKey1216.length !== XWING_PUBLIC_KEY_BYTES) {
    throw new DtaError('CRYPTO_BAD_KEY', `X-Wing public key must be ${XWING_PUBLIC_KEY_BYTES} bytes`)
  }
  const pkXBytes = publicKey1216.subarray(MLKEM768_PUBLIC_KEY_BYTES)
  const { pkM, pkX } = publicKeyObjects(publicKey1216)
  const { sharedKey: ssMBuf, ciphertext: ctM } = encapsulate(pkM)
  const ephemeral = generateKeyPairSync('x25519')
  const ctX = fromBuffer(ephemeral.publicKey.export({ format: 'raw-public' }))
  let ssXBuf: Buffer
  try {
    ssXBuf = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: pkX })
  } catch (err) {
    // OpenSSL refuses a low-order pk_X (all-zero shared secret): the public key is unusable.
    ssMBuf.fill(0)
    throw new DtaError('CRYPTO_BAD_KEY', 'X-Wing public key has a low-order X25519 component', { cause: err })
  }
  try {
    const sharedSecret = combiner(ssMBuf, ssXBuf, ctX, pkXBytes)
    return { sharedSecret, ciphertext: concatBytes(ctM, ctX) }
  } finally {
    ssMBuf.fill(0)
    ssXBuf.fill(0)
  }
})

/** Decapsulate(ct, sk): the 32-byte shared secret. ML-KEM's implicit rejection applies to ct_M. */
export const xwingDecapsulate = accounted('crypto', function xwingDecapsulate (secretKey: XWingSecretKey, ciphertext1120: Uint8Array): Uint8Array<ArrayBuffer> {
  if (secretKey?.kind !== 'xwing-secret-key') throw new DtaError('CRYPTO_BAD_KEY', 'not an X-Wing secret key')
  if (ciphertext1120.length !== XWING_CIPHERTEXT_BYTES) {
    throw new DtaError('CRYPTO_BAD_CIPHERTEXT', `X-Wing ciphertext must be ${XWING_CIPHERTEXT_BYTES} bytes`)
  }
  const ctM = ciphertext1120.subarray(0, MLKEM768_CIPHERTEXT_BYTES)
  const ctX = ciphertext1120.subarray(MLKEM768_CIPHERTEXT_BYTES)
  let ctXKey: KeyObject
  let ssXBuf: Buffer
  try {
    ctXKey = createPublicKey({ key: asBuffer(ctX), format: 'raw-public', asymmetricKeyType: 'x25519' })
    ssXBuf = diffieHellman({ privateKey: secretKey.x25519, publicKey: ctXKey })
  } catch (err) {
    // Only a low-order ct_X (all-zero X25519 output) gets here; no honest encapsulator makes one.
    throw new DtaError('CRYPTO_BAD_CIPHERTEXT', 'X-Wing ciphertext has a low-order X25519 component', { cause: err })
  }
  const ssMBuf = decapsulate(secretKey.mlkem, ctM)
  try {
    return combiner(ssMBuf, ssXBuf, ctX, secretKey.x25519PublicKey)
  } finally {
    ssMBuf.fill(0)
    ssXBuf.fill(0)
  }
})
