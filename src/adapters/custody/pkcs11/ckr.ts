/**
 * PKCS#11 return values (CKR_*) we act on, and how a pkcs11js error becomes a DtaError (never a
 * crash, never a secret): a tag failure on decrypt (SoftHSM says CKR_GENERAL_ERROR; others
 * CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE or CKR_AEAD_DECRYPT_FAILED) is
 * CUSTODY_INTEGRITY; a lost session or key handle is retried by the pool (pool.ts); anything else
 * is CUSTODY_PKCS11_FAILED naming the function and the CKR code. The codes for a missing module,
 * token or PIN are chosen where those are met (module.ts).
 * @module
 */
import { DtaError, isDtaError } from '../../../errors.ts'

/** PKCS#11 v2.40 / v3.0 §3. */
export const CKR = {
  GENERAL_ERROR: 0x05,
  DEVICE_ERROR: 0x30,
  DEVICE_REMOVED: 0x32,
  AEAD_DECRYPT_FAILED: 0x35,
  ENCRYPTED_DATA_INVALID: 0x40,
  ENCRYPTED_DATA_LEN_RANGE: 0x41,
  KEY_HANDLE_INVALID: 0x60,
  OBJECT_HANDLE_INVALID: 0x82,
  OPERATION_ACTIVE: 0x90,
  OPERATION_NOT_INITIALIZED: 0x91,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  SESSION_CLOSED: 0xb0,
  SESSION_HANDLE_INVALID: 0xb3,
  TOKEN_NOT_PRESENT: 0xe0,
  USER_ALREADY_LOGGED_IN: 0x100,
  USER_NOT_LOGGED_IN: 0x101,
  USER_PIN_NOT_INITIALIZED: 0x102,
  CRYPTOKI_ALREADY_INITIALIZED: 0x191,
} as const

/** Decrypt results that mean "this record does not open": a GCM tag or length failure. */
export const INTEGRITY_CODES: ReadonlySet<number> = new Set([
  CKR.GENERAL_ERROR, CKR.AEAD_DECRYPT_FAILED, CKR.ENCRYPTED_DATA_INVALID, CKR.ENCRYPTED_DATA_LEN_RANGE
])
/** Results after which a session (or our key handle) is not usable any more. */
export const SESSION_LOST_CODES: ReadonlySet<number> = new Set([
  CKR.SESSION_HANDLE_INVALID, CKR.SESSION_CLOSED, CKR.USER_NOT_LOGGED_IN, CKR.KEY_HANDLE_INVALID,
  CKR.OBJECT_HANDLE_INVALID, CKR.OPERATION_ACTIVE, CKR.OPERATION_NOT_INITIALIZED, CKR.DEVICE_REMOVED,
  CKR.DEVICE_ERROR, CKR.TOKEN_NOT_PRESENT
])

/** The CKR code of a pkcs11js error, if it is one. */
export function ckrCode (err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const e = err as { code?: unknown, message?: unknown }
  if (typeof e.message === 'string') {
    const m = /CKR_[A-Z0-9_]+:(\d+)/.exec(e.message)
    if (m !== null) return Number(m[1])
  }
  if (typeof e.code === 'number' && typeof e.message === 'string' && e.message.startsWith('CKR_')) return e.code
  return undefined
}

/** `CKR_NAME (0x..)` for messages; pkcs11js names the codes it knows. */
export function ckrName (err: unknown): string {
  const code = ckrCode(err)
  const message = typeof (err as { message?: unknown })?.message === 'string' ? (err as { message: string }).message : ''
  const name = /CKR_[A-Z0-9_]+/.exec(message)?.[0]
  if (code === undefined) return name ?? 'not a PKCS#11 error'
  return `${name ?? 'CKR'} (0x${code.toString(16)})`
}

/** CUSTODY_PKCS11_FAILED naming `fn` and the CKR code; a DtaError passes through unchanged. */
export function failure (fn: string, err: unknown): DtaError {
  if (isDtaError(err)) return err
  return new DtaError('CUSTODY_PKCS11_FAILED', `${fn}: ${ckrName(err)}`, { cause: err })
}
