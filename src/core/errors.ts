/**
 * The error registry: every failure the D-TA reports has a stable code, an HTTP status and a
 * fixed, secret-free message. Callers throw `new DtaError('CODE', detail?)`; the HTTP layer turns
 * any DtaError into `{statusCode, code, message}`. `docs/errors.md` is the table of these codes
 * and a test keeps the two in step.
 *
 * Rules: a code is never renamed or reused once released; `detail` must never contain a secret
 * (seed, private key, plaintext) — it is for CIDs, field names and sizes only.
 * @module
 */

type ErrorSpec = { readonly status: number; readonly message: string }

export const ERRORS = {
  // ── generic ───────────────────────────────────────────────────────────────────────────────
  INTERNAL: { status: 500, message: 'Internal error' },
  BAD_REQUEST: { status: 400, message: 'Bad request' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  ABORTED: { status: 499, message: 'The operation was aborted' },
  TIMEOUT: { status: 504, message: 'The operation timed out' },

  // ── crypto ────────────────────────────────────────────────────────────────────────────────
  CRYPTO_BAD_KEY: { status: 400, message: 'A key has the wrong length or is not a valid point' },
  CRYPTO_BAD_SEED: { status: 400, message: 'A seed has the wrong length' },
  CRYPTO_DECRYPT_FAILED: { status: 400, message: 'Authenticated decryption failed' },
  CRYPTO_BAD_SIGNATURE: { status: 400, message: 'A signature has the wrong length or encoding' },
  CRYPTO_BAD_CIPHERTEXT: { status: 400, message: 'A ciphertext has the wrong length or encoding' },

  // ── envelopes (PROTOCOL §4) ───────────────────────────────────────────────────────────────
  ENVELOPE_TOO_LARGE: { status: 413, message: 'The document is larger than 1 MiB' },
  ENVELOPE_MALFORMED: { status: 400, message: 'The document is not a well-formed envelope' },
  ENVELOPE_TOO_MANY_RECIPIENTS: { status: 400, message: 'An envelope has at most 20 recipients' },
  ENVELOPE_WRONG_SIGNER: { status: 400, message: 'The envelope is not signed by the expected identity' },
  ENVELOPE_BAD_SIGNATURE: { status: 400, message: 'The envelope signature does not verify' },
  ENVELOPE_UNSUPPORTED_SUITE: { status: 400, message: 'The envelope uses an unsupported crypto suite' },
  ENVELOPE_NOT_A_RECIPIENT: { status: 403, message: 'This identity is not a recipient of the envelope' },
  ENVELOPE_KEY_COMMITMENT: { status: 400, message: 'The envelope key commitment does not match' },
  ENVELOPE_DECRYPT_FAILED: { status: 400, message: 'The envelope body could not be decrypted' },
  ENVELOPE_WRONG_TYPE: { status: 400, message: 'The envelope holds a different kind of document' },
  ENVELOPE_DUPLICATE_RECIPIENT: { status: 400, message: 'A recipient is listed twice' },

  // ── identity documents (PROTOCOL §3) ──────────────────────────────────────────────────────
  IDENTITY_MALFORMED: { status: 400, message: 'The identity document is malformed' },
  IDENTITY_BAD_PROOF_OF_POSSESSION: { status: 400, message: 'The identity proof of possession does not verify' },

  // ── document store (PROTOCOL §9) ──────────────────────────────────────────────────────────
  DOCUMENT_BAD_CID: { status: 400, message: 'Not a valid CIDv0 document identifier' },
  DOCUMENT_NOT_FOUND: { status: 404, message: 'The document could not be found' },
  DOCUMENT_FETCH_TIMEOUT: { status: 504, message: 'Fetching the document timed out' },
  DOCUMENT_CID_MISMATCH: { status: 400, message: 'The document bytes do not hash to the claimed CID' },
  DOCUMENT_CORRUPT: { status: 500, message: 'A stored document no longer matches its CID' },
  DOCUMENT_TOO_LARGE: { status: 413, message: 'The document is larger than the store accepts' },
  DOCUMENT_STORE_STOPPED: { status: 503, message: 'The document store is not running' },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

/** A failure with a stable code. `detail` is appended to the fixed message and must hold no secret. */
export class DtaError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly detail: string | undefined

  constructor (code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const spec: ErrorSpec = ERRORS[code]
    super(detail === undefined ? spec.message : `${spec.message}: ${detail}`, options)
    this.name = 'DtaError'
    this.code = code
    this.statusCode = spec.status
    this.detail = detail
  }

  toJSON (): { statusCode: number, code: ErrorCode, message: string } {
    return { statusCode: this.statusCode, code: this.code, message: this.message }
  }
}

export function isDtaError (err: unknown, code?: ErrorCode): err is DtaError {
  return err instanceof DtaError && (code === undefined || err.code === code)
}

/** Maps an AbortSignal's reason to our codes: a timeout becomes `timeoutCode`, anything else ABORTED. */
export function abortError (signal: AbortSignal, timeoutCode: ErrorCode = 'TIMEOUT'): DtaError {
  const reason: unknown = signal.reason
  const isTimeout = reason instanceof Error && reason.name === 'TimeoutError'
  return new DtaError(isTimeout ? timeoutCode : 'ABORTED', undefined, { cause: reason })
}
