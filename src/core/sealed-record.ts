/**
 * The sealed-record layout every custody backend writes (src/ports/custody.ts), in the style of
 * OpenBao's barrier (`barrier/aes_gcm.go`):
 *
 *     version (1 byte, = 1) ‖ key id (8 bytes) ‖ nonce (12 random bytes) ‖ AES-256-GCM ciphertext ‖ tag (16)
 *
 * with associated data = version ‖ key id ‖ utf8(recordId). Pure functions over the frame: the
 * backends do the encryption; the state repository reads a record's key id for custody migration.
 * @module
 */
import { DtaError } from '../errors.ts'
import { concatBytes, toHex, utf8 } from '../crypto/hash.ts'

export const SEALED_VERSION = 1
export const SEALED_KEY_ID_BYTES = 8
export const SEALED_NONCE_BYTES = 12
export const SEALED_TAG_BYTES = 16
/** Header = version ‖ key id ‖ nonce. */
export const SEALED_HEADER_BYTES = 1 + SEALED_KEY_ID_BYTES + SEALED_NONCE_BYTES
/** The smallest well-formed record: a header and a tag around an empty plaintext. */
export const SEALED_MIN_BYTES = SEALED_HEADER_BYTES + SEALED_TAG_BYTES
/** The label whose HMAC under the KEK gives the key id. */
export const KEK_ID_LABEL = 'milagro-dta/kek-id'
export const MAX_RECORD_ID_CHARS = 256

/** The key id (hex) a sealed record names. Throws CUSTODY_INTEGRITY for a record too short to be one. */
export function sealedRecordKeyId (sealed: Uint8Array): string {
  if (sealed.length < SEALED_MIN_BYTES) throw new DtaError('CUSTODY_INTEGRITY', 'record too short')
  return Buffer.from(sealed.buffer, sealed.byteOffset + 1, SEALED_KEY_ID_BYTES).toString('hex')
}

/** Throws CUSTODY_BAD_RECORD_ID unless `recordId` is a string of 1..256 characters. */
export function checkRecordId (recordId: string): void {
  if (typeof recordId !== 'string' || recordId.length === 0 || recordId.length > MAX_RECORD_ID_CHARS) {
    throw new DtaError('CUSTODY_BAD_RECORD_ID')
  }
}

/** The associated data of a record: version ‖ key id ‖ utf8(recordId). */
export function sealedRecordAad (keyIdBytes: Uint8Array, recordId: string): Uint8Array {
  return concatBytes(Uint8Array.of(SEALED_VERSION), keyIdBytes, utf8(recordId))
}

/** A record from its nonce and AES-GCM ciphertext‖tag: version ‖ key id ‖ nonce ‖ ciphertext‖tag. */
export function sealedRecord (keyIdBytes: Uint8Array, nonce: Uint8Array, ciphertextAndTag: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(SEALED_VERSION), keyIdBytes, nonce, ciphertextAndTag)
}

/**
 * Checks a record's frame before any decryption — length, version, and that it was sealed under
 * the key `keyIdBytes` names (CUSTODY_INTEGRITY / CUSTODY_UNSUPPORTED_VERSION / CUSTODY_WRONG_KEY)
 * — and returns its nonce and ciphertext‖tag.
 */
export function openSealedRecord (sealed: Uint8Array, keyIdBytes: Uint8Array): { nonce: Uint8Array, ciphertextAndTag: Uint8Array } {
  if (!(sealed instanceof Uint8Array) || sealed.length < SEALED_MIN_BYTES) throw new DtaError('CUSTODY_INTEGRITY', 'record too short')
  if (sealed[0] !== SEALED_VERSION) throw new DtaError('CUSTODY_UNSUPPORTED_VERSION', `version ${sealed[0]}`)
  const recordKeyId = sealed.subarray(1, 1 + SEALED_KEY_ID_BYTES)
  if (!recordKeyId.every((b, i) => b === keyIdBytes[i])) {
    throw new DtaError('CUSTODY_WRONG_KEY', `record key id ${toHex(recordKeyId)}, custody key id ${toHex(keyIdBytes)}`)
  }
  return { nonce: sealed.subarray(1 + SEALED_KEY_ID_BYTES, SEALED_HEADER_BYTES), ciphertextAndTag: sealed.subarray(SEALED_HEADER_BYTES) }
}
