/**
 * AES-256-GCM (96-bit nonce, 128-bit tag) over `node:crypto`, in the one-shot form the envelope
 * and custody code need: encrypt returns ciphertext ‖ tag, decrypt takes the same.
 *
 * Decryption failures of every kind (short input, wrong nonce length, bad tag, wrong AAD) are one
 * error, CRYPTO_DECRYPT_FAILED, so callers cannot build an oracle out of the difference. The tag
 * length is pinned to 16 bytes: Node otherwise accepts truncated GCM tags.
 * @module
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { DtaError } from '../errors.ts'
import { concatBytes } from './hash.ts'
import { accounted } from '../accounting.ts'

export const AES_GCM_NONCE_BYTES = 12
export const AES_GCM_TAG_BYTES = 16
export const AES_256_KEY_BYTES = 32

function checkKey (key: Uint8Array): void {
  if (key.length !== AES_256_KEY_BYTES) throw new DtaError('CRYPTO_BAD_KEY', `AES-256-GCM key must be ${AES_256_KEY_BYTES} bytes`)
}

/** Encrypts `plaintext`; returns ciphertext ‖ 16-byte tag. `aad` is authenticated, not encrypted. */
export const aes256GcmEncrypt = accounted('crypto', function aes256GcmEncrypt (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array<ArrayBuffer> {
  checkKey(key)
  // Nonces are always made by our own code, so a wrong length is a bug, not bad input.
  if (nonce.length !== AES_GCM_NONCE_BYTES) throw new DtaError('INTERNAL', `AES-GCM nonce must be ${AES_GCM_NONCE_BYTES} bytes`)
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: AES_GCM_TAG_BYTES })
  cipher.setAAD(aad)
  const head = cipher.update(plaintext)
  const tail = cipher.final()
  return concatBytes(head, tail, cipher.getAuthTag())
})

/** Decrypts ciphertext ‖ tag; throws CRYPTO_DECRYPT_FAILED on any failure, CRYPTO_BAD_KEY for a wrong key length. */
export const aes256GcmDecrypt = accounted('crypto', function aes256GcmDecrypt (key: Uint8Array, nonce: Uint8Array, ciphertextAndTag: Uint8Array, aad: Uint8Array): Uint8Array<ArrayBuffer> {
  checkKey(key)
  if (nonce.length !== AES_GCM_NONCE_BYTES || ciphertextAndTag.length < AES_GCM_TAG_BYTES) {
    throw new DtaError('CRYPTO_DECRYPT_FAILED')
  }
  const split = ciphertextAndTag.length - AES_GCM_TAG_BYTES
  let head: Uint8Array | undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: AES_GCM_TAG_BYTES })
    decipher.setAAD(aad)
    decipher.setAuthTag(ciphertextAndTag.subarray(split))
    head = decipher.update(ciphertextAndTag.subarray(0, split))
    const tail = decipher.final() // throws on a bad tag; `head` is then unauthenticated plaintext
    return concatBytes(head, tail)
  } catch (err) {
    throw new DtaError('CRYPTO_DECRYPT_FAILED', undefined, { cause: err })
  } finally {
    head?.fill(0)
  }
})
