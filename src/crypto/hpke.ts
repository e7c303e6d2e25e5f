/**
 * HPKE (RFC 9180), base mode, single-shot seal/open, with the one suite the envelope uses:
 * KEM X-Wing (kem_id 0x647a as registered for X-Wing; Nsecret 32, Nenc 1120, Npk 1216 — the KEM's
 * shared secret is X-Wing's output itself, there is no DHKEM ExtractAndExpand), KDF HKDF-SHA256
 * (0x0001), AEAD AES-256-GCM (0x0002). Single-shot means sequence number 0, so the AEAD nonce is
 * the base nonce.
 *
 * The labelled key schedule (LabeledExtract / LabeledExpand / KeySchedule) is written generically
 * over a suite_id and the AEAD sizes, so the tests can check it against RFC 9180's published
 * DHKEM(X25519) vectors and interoperate with @hpke/core + @hpke/hybridkem-x-wing both ways.
 * The exporter secret is derived (and tested) but this module exposes no Export API: nothing in
 * the project needs one yet.
 * @module
 */
import { DtaError } from '../errors.ts'
import { aes256GcmDecrypt, aes256GcmEncrypt, AES_256_KEY_BYTES, AES_GCM_NONCE_BYTES } from './aead.ts'
import { concatBytes, hkdfExpandSha256, hkdfExtractSha256, utf8, wipe } from './hash.ts'
import { xwingDecapsulate, xwingEncapsulate, XWING_CIPHERTEXT_BYTES } from './xwing.ts'
import type { XWingSecretKey } from './xwing.ts'
import { accounted } from '../accounting.ts'

export const HPKE_MODE_BASE = 0x00
export const HPKE_KEM_XWING = 0x647a
export const HPKE_KDF_HKDF_SHA256 = 0x0001
export const HPKE_AEAD_AES_128_GCM = 0x0001
export const HPKE_AEAD_AES_256_GCM = 0x0002
/** Nh of HKDF-SHA256. */
const NH = 32

const HPKE_V1 = utf8('HPKE-v1')
const EMPTY = new Uint8Array(0)

function i2osp2 (n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff)
}

/** suite_id = "HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2). */
export function hpkeSuiteId (kemId: number, kdfId: number, aeadId: number): Uint8Array {
  return concatBytes(utf8('HPKE'), i2osp2(kemId), i2osp2(kdfId), i2osp2(aeadId))
}

/** The KEM-level suite_id of RFC 9180 §4.1: "KEM" ‖ I2OSP(kem_id, 2) (used by DHKEMs; tests only here). */
export function kemSuiteId (kemId: number): Uint8Array {
  return concatBytes(utf8('KEM'), i2osp2(kemId))
}

/** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm), HKDF-SHA256. */
export function labeledExtract (suiteId: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  const labeledIkm = concatBytes(HPKE_V1, suiteId, utf8(label), ikm)
  try {
    return hkdfExtractSha256(salt, labeledIkm)
  } finally {
    wipe(labeledIkm)
  }
}

/** LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L). */
export function labeledExpand (suiteId: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > 0xffff) throw new RangeError('LabeledExpand length out of range')
  return hkdfExpandSha256(prk, concatBytes(i2osp2(length), HPKE_V1, suiteId, utf8(label), info), length)
}

export type HpkeKeySchedule = {
  readonly keyScheduleContext: Uint8Array
  readonly key: Uint8Array
  readonly baseNonce: Uint8Array
  readonly exporterSecret: Uint8Array
}

/** KeySchedule of RFC 9180 §5.1 for mode_base (empty psk and psk_id), with HKDF-SHA256. */
export function keyScheduleBase (suiteId: Uint8Array, sharedSecret: Uint8Array, info: Uint8Array, nk: number, nn: number): HpkeKeySchedule {
  const pskIdHash = labeledExtract(suiteId, EMPTY, 'psk_id_hash', EMPTY)
  const infoHash = labeledExtract(suiteId, EMPTY, 'info_hash', info)
  const keyScheduleContext = concatBytes(Uint8Array.of(HPKE_MODE_BASE), pskIdHash, infoHash)
  const secret = labeledExtract(suiteId, sharedSecret, 'secret', EMPTY)
  try {
    return {
      keyScheduleContext,
      key: labeledExpand(suiteId, secret, 'key', keyScheduleContext, nk),
      baseNonce: labeledExpand(suiteId, secret, 'base_nonce', keyScheduleContext, nn),
      exporterSecret: labeledExpand(suiteId, secret, 'exp', keyScheduleContext, NH),
    }
  } finally {
    wipe(secret)
  }
}

const SUITE_ID = hpkeSuiteId(HPKE_KEM_XWING, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_256_GCM)

function schedule (sharedSecret: Uint8Array, info: Uint8Array): HpkeKeySchedule {
  try {
    return keyScheduleBase(SUITE_ID, sharedSecret, info, AES_256_KEY_BYTES, AES_GCM_NONCE_BYTES)
  } finally {
    wipe(sharedSecret)
  }
}

function forget (ks: HpkeKeySchedule): void {
  wipe(ks.key)
  wipe(ks.exporterSecret)
}

/** SealBase + single Seal: encapsulates to the recipient's X-Wing public key and encrypts `plaintext`. */
export const hpkeSeal = accounted('crypto', function hpkeSeal (recipientPublicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): { enc: Uint8Array<ArrayBuffer>, ciphertext: Uint8Array<ArrayBuffer> } {
  const { sharedSecret, ciphertext: enc } = xwingEncapsulate(recipientPublicKey)
  const ks = schedule(sharedSecret, info)
  try {
    return { enc, ciphertext: aes256GcmEncrypt(ks.key, ks.baseNonce, plaintext, aad) }
  } finally {
    forget(ks)
  }
})

/** SetupBaseR + single Open. CRYPTO_BAD_CIPHERTEXT for a malformed `enc`, CRYPTO_DECRYPT_FAILED when the AEAD fails. */
export const hpkeOpen = accounted('crypto', function hpkeOpen (recipientSecretKey: XWingSecretKey, enc: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array<ArrayBuffer> {
  if (enc.length !== XWING_CIPHERTEXT_BYTES) {
    throw new DtaError('CRYPTO_BAD_CIPHERTEXT', `HPKE enc must be ${XWING_CIPHERTEXT_BYTES} bytes`)
  }
  const ks = schedule(xwingDecapsulate(recipientSecretKey, enc), info)
  try {
    return aes256GcmDecrypt(ks.key, ks.baseNonce, ciphertext, aad)
  } finally {
    forget(ks)
  }
})
