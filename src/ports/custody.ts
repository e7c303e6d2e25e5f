/**
 * The custody port: seals secrets (identity root seeds, order seeds) under a key encryption key
 * (KEK) that never leaves the backend, and opens them again (PROTOCOL §9). Backends: `local` (KEK
 * from a 0600 key file or a passphrase) and, later, `pkcs11` (KEK inside an HSM).
 *
 * Sealed records describe themselves, in the style of OpenBao's barrier (`barrier/aes_gcm.go`), and
 * every backend writes the same layout:
 *
 *     version (1 byte, = 1) ‖ key id (8 bytes) ‖ nonce (12 random bytes) ‖ AES-256-GCM ciphertext ‖ tag (16)
 *
 * with associated data = version ‖ key id ‖ utf8(recordId). So a record copied to another record
 * id fails to open, a record sealed under another KEK is recognised as such (CUSTODY_WRONG_KEY)
 * before any decryption, and a damaged record fails with CUSTODY_INTEGRITY. The key id is the first
 * 8 bytes of HMAC-SHA256(KEK, "milagro-dta/kek-id") (hex in `Custody.keyId`); it names the KEK
 * without revealing it, and lets a later custody migration find the records still under an old KEK.
 *
 * Contract every backend keeps (see test/conformance/custody.ts): each seal draws a fresh nonce;
 * errors never carry plaintext; after `close()` every call throws CUSTODY_UNAVAILABLE. The record
 * layout itself, shared by every backend and read by the state repository (to note a record's key
 * id without knowing any backend), is src/core/sealed-record.ts.
 * @module
 */
import type { AbortOptions } from './common.ts'

export interface Custody {
  /** Backend name as in config `node.custody`: 'local' (later 'pkcs11'). */
  readonly backend: string
  /** Hex of the 8-byte key id of the current KEK. */
  readonly keyId: string
  /** Seals `plaintext` for the record `recordId` (1..256 chars). The caller may wipe `plaintext` afterwards. */
  seal (recordId: string, plaintext: Uint8Array, options?: AbortOptions): Promise<Uint8Array>
  /** Opens a record sealed for `recordId`; throws CUSTODY_INTEGRITY, CUSTODY_WRONG_KEY or CUSTODY_UNSUPPORTED_VERSION. */
  unseal (recordId: string, sealed: Uint8Array, options?: AbortOptions): Promise<Uint8Array>
  /** Wipes the KEK (or logs out of the HSM). Safe to call twice. */
  close (): Promise<void>
}
