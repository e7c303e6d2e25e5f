/**
 * The 2019 D-TA's ECIES on secp256k1 (AMCL `ECP_SECP256K1_ECIES_ENCRYPT`, SHA-256, 12-byte tag),
 * byte-compatible with what the original actually produced (PROTOCOL §7, safeguardsecret plugin):
 *
 *   u random, V = uG (v = V uncompressed, 65 bytes), Z = x(u·W) (32 bytes)
 *   K = SHA-256(V ‖ Z ‖ 00 00 00 01 ‖ 00 01 02)            — IEEE 1363 KDF2 with P1 = 00 01 02
 *   cypherText = AES-128-CBC(K[0..16), IV = 0^16, PKCS#7)(plaintext)
 *   t = HMAC-SHA256(K[16..32), cypherText)[0..12)           — P2 was never appended by the original
 *
 * This is a legacy format kept only for compatibility (fixed zero IV, truncated tag); new data
 * uses the envelope's HPKE/AES-GCM. The tag is checked in constant time before anything is
 * decrypted, and every decryption failure — a malformed or off-curve `v`, a wrong tag, bad padding —
 * is the same CRYPTO_DECRYPT_FAILED, so the function is no padding or point oracle. CRYPTO_BAD_KEY is
 * only for the caller's own keys: an invalid recipient public key, an invalid private key.
 * ECDH and the ephemeral key pair come from `node:crypto` (native, OS randomness).
 * @module
 */
import { createCipheriv, createDecipheriv, createECDH } from 'node:crypto'
import { DtaError } from '../errors.ts'
import { concatBytes, fromBuffer, hmacSha256, sha256, timingSafeEqual, wipe } from './hash.ts'
import { accounted } from '../accounting.ts'

export const ECIES_V_BYTES = 65
export const ECIES_TAG_BYTES = 12
const AES_BLOCK = 16
const ZERO_IV = new Uint8Array(AES_BLOCK)
/** KDF2 counter 1 followed by P1 = 00 01 02. */
const KDF_SUFFIX = Uint8Array.of(0, 0, 0, 1, 0, 1, 2)

export type EciesCiphertext = { v: Uint8Array, cypherText: Uint8Array, t: Uint8Array }

function deriveKeys (v: Uint8Array, z: Uint8Array): { aesKey: Uint8Array, macKey: Uint8Array, k: Uint8Array } {
  const k = sha256(concatBytes(v, z, KDF_SUFFIX))
  return { aesKey: k.subarray(0, 16), macKey: k.subarray(16, 32), k }
}

function tagOf (macKey: Uint8Array, cypherText: Uint8Array): Uint8Array {
  return hmacSha256(macKey, cypherText).subarray(0, ECIES_TAG_BYTES)
}

/** Encrypts to a secp256k1 public key (65 bytes uncompressed or 33 compressed). */
export const eciesEncrypt = accounted('crypto', function eciesEncrypt (publicKey: Uint8Array, plaintext: Uint8Array): EciesCiphertext {
  if (publicKey.length !== 65 && publicKey.length !== 33) throw new DtaError('CRYPTO_BAD_KEY', 'secp256k1 public key must be 33 or 65 bytes')
  const ecdh = createECDH('secp256k1')
  ecdh.generateKeys()
  const v = fromBuffer(ecdh.getPublicKey(null, 'uncompressed'))
  let zBuf: Buffer
  try {
    zBuf = ecdh.computeSecret(publicKey)
  } catch (err) {
    throw new DtaError('CRYPTO_BAD_KEY', 'not a valid secp256k1 public key', { cause: err })
  }
  const z = fromBuffer(zBuf)
  zBuf.fill(0)
  const { aesKey, macKey, k } = deriveKeys(v, z)
  try {
    const cipher = createCipheriv('aes-128-cbc', aesKey, ZERO_IV)
    const cypherText = concatBytes(cipher.update(plaintext), cipher.final())
    return { v, cypherText, t: new Uint8Array(tagOf(macKey, cypherText)) }
  } finally {
    wipe(z)
    wipe(k)
  }
})

/** Decrypts; CRYPTO_DECRYPT_FAILED on any failure of the ciphertext, CRYPTO_BAD_KEY for an invalid private key. */
export const eciesDecrypt = accounted('crypto', function eciesDecrypt (privateKey32: Uint8Array, ciphertext: EciesCiphertext): Uint8Array {
  if (privateKey32.length !== 32) throw new DtaError('CRYPTO_BAD_KEY', 'secp256k1 private key must be 32 bytes')
  const ecdh = createECDH('secp256k1')
  try {
    ecdh.setPrivateKey(privateKey32)
  } catch (err) {
    throw new DtaError('CRYPTO_BAD_KEY', 'not a valid secp256k1 private key', { cause: err })
  }
  const { v, cypherText, t } = ciphertext
  if (!(v instanceof Uint8Array) || !(cypherText instanceof Uint8Array) || !(t instanceof Uint8Array) ||
      v.length !== ECIES_V_BYTES || v[0] !== 0x04 || t.length !== ECIES_TAG_BYTES ||
      cypherText.length === 0 || cypherText.length % AES_BLOCK !== 0) {
    throw new DtaError('CRYPTO_DECRYPT_FAILED')
  }
  let zBuf: Buffer
  try {
    zBuf = ecdh.computeSecret(v)
  } catch (err) {
    throw new DtaError('CRYPTO_DECRYPT_FAILED', undefined, { cause: err })
  }
  const z = fromBuffer(zBuf)
  zBuf.fill(0)
  const { aesKey, macKey, k } = deriveKeys(v, z)
  let head: Uint8Array | undefined
  try {
    if (!timingSafeEqual(tagOf(macKey, cypherText), t)) throw new DtaError('CRYPTO_DECRYPT_FAILED')
    const decipher = createDecipheriv('aes-128-cbc', aesKey, ZERO_IV)
    head = decipher.update(cypherText)
    return concatBytes(head, decipher.final())
  } catch (err) {
    if (err instanceof DtaError) throw err
    throw new DtaError('CRYPTO_DECRYPT_FAILED', undefined, { cause: err })
  } finally {
    head?.fill(0)
    wipe(z)
    wipe(k)
  }
})
