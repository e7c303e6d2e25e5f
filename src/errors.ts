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

  // ── HTTP requests ─────────────────────────────────────────────────────────────────────────
  REQUEST_INVALID: { status: 422, message: 'The request does not match the API schema' },
  REQUEST_MALFORMED: { status: 400, message: 'The request body is not valid JSON' },
  REQUEST_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  REQUEST_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be application/json' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such endpoint on this node' },
  REQUEST_HEADERS_TOO_LARGE: { status: 431, message: 'The request line or headers are too large' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  HOST_NOT_ALLOWED: { status: 403, message: 'The Host header is not a name of this node (localhost, an IP address, or a name listed in http.allowedHosts)' },
  ORIGIN_NOT_ALLOWED: { status: 403, message: 'Cross-origin requests are refused: the Origin is not a page of this node (no CORS is granted; see http.allowedHosts)' },

  // ── authentication (PROTOCOL §8: OAuth2 bearer tokens, src/http/auth.ts) ──────────────────
  AUTH_TOKEN_MISSING: { status: 401, message: 'A bearer token is required (Authorization: Bearer <JWT>)' },
  AUTH_TOKEN_MALFORMED: { status: 401, message: 'The Authorization header is not a well-formed bearer JWT' },
  AUTH_TOKEN_EXPIRED: { status: 401, message: 'The bearer token has expired' },
  AUTH_TOKEN_NOT_YET_VALID: { status: 401, message: 'The bearer token is not valid yet' },
  AUTH_TOKEN_INVALID: { status: 401, message: 'The bearer token lacks a required claim or has a malformed one' },
  AUTH_WRONG_AUDIENCE: { status: 401, message: 'The bearer token is not issued for this audience' },
  AUTH_WRONG_ISSUER: { status: 401, message: 'The bearer token is not from the configured issuer' },
  AUTH_BAD_SIGNATURE: { status: 401, message: 'The bearer token signature does not verify against the issuer keys' },
  AUTH_ALGORITHM_REFUSED: { status: 401, message: 'The bearer token algorithm is refused (only asymmetric signatures are accepted)' },
  AUTH_ISSUER_UNAVAILABLE: { status: 503, message: 'The OAuth2 issuer (discovery document or JWKS) could not be reached' },
  PEER_UNAUTHORIZED: { status: 502, message: 'The peer node refused this node\'s credentials (check http.bearerToken)' },

  // ── crypto ────────────────────────────────────────────────────────────────────────────────
  CRYPTO_BAD_KEY: { status: 400, message: 'A key has the wrong length or is not a valid point' },
  CRYPTO_BAD_SEED: { status: 400, message: 'A seed has the wrong length' },
  CRYPTO_DECRYPT_FAILED: { status: 400, message: 'Authenticated decryption failed' },
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
  DOCUMENT_FETCH_TIMEOUT: { status: 404, message: 'No peer provided the document in time' },
  DOCUMENT_CID_MISMATCH: { status: 400, message: 'The document bytes do not hash to the claimed CID' },
  DOCUMENT_CORRUPT: { status: 500, message: 'A stored document no longer matches its CID' },
  DOCUMENT_TOO_LARGE: { status: 413, message: 'The document is larger than the store accepts' },
  DOCUMENT_NOT_CANONICAL: { status: 422, message: 'The document DAG is not the canonical one (what ipfs add gives for its bytes); the same bytes have another CID' },
  DOCUMENT_STORE_STOPPED: { status: 503, message: 'The document store is not running' },
  DOCUMENT_STORE_BAD_CONFIG: { status: 500, message: 'The document store configuration is invalid' },
  DOCUMENT_STORE_SWARM_KEY_INSECURE: { status: 500, message: 'The IPFS private-network key file (ipfs.swarmKeyFile) is readable by group or others; chmod 600 it' },

  // ── config (PROTOCOL §10) ─────────────────────────────────────────────────────────────────
  CONFIG_INVALID: { status: 500, message: 'The configuration is invalid' },
  CONFIG_UNREADABLE: { status: 500, message: 'The configuration file could not be read' },
  CONFIG_WRITE_FAILED: { status: 500, message: 'The configuration file could not be written' },

  // ── the home folder and its listeners (docs/operations.md) ────────────────────────────────
  HOME_LOCKED: { status: 409, message: 'Another milagro process is using this home' },
  HOME_UNUSABLE: { status: 500, message: 'The home folder cannot be used (it is missing or not writable)' },
  HOME_INIT_UNFINISHED: { status: 500, message: 'This home has an unfinished init that cannot be resumed as it is' },
  HOME_JOIN_FAILED: { status: 500, message: 'This home cannot join the node as a replica' },
  LISTEN_ADDRESS_IN_USE: { status: 500, message: 'The listen address is already in use' },
  LISTEN_PERMISSION_DENIED: { status: 500, message: 'Not permitted to listen on the address' },
  LISTEN_FAILED: { status: 500, message: 'Cannot listen on the address' },
  TLS_FILE_INVALID: { status: 500, message: 'A TLS certificate, key or CA file is missing, unreadable, insecure or malformed' },
  TLS_CLIENT_CERT_REQUIRED: { status: 401, message: 'This call needs a client certificate verified by the node\'s client CA' },
  TLS_CLIENT_MISMATCH: { status: 403, message: 'The client certificate names another identity than the one the request acts as' },
  POLICY_DENIED: { status: 403, message: 'The caller\'s token is not granted this operation (http.policies)' },

  // ── state (PROTOCOL §9) ───────────────────────────────────────────────────────────────────
  STATE_UNAVAILABLE: { status: 503, message: 'The state database is not available' },
  STATE_BAD_CONFIG: { status: 500, message: 'The state database settings are invalid' },
  STATE_SCHEMA_TOO_NEW: { status: 500, message: 'The state database was written by a newer version of this server' },
  STATE_BAD_PAGE: { status: 400, message: 'page must be an integer ≥ 1 and perPage an integer from 1 to 100' },
  STATE_BAD_RECORD: { status: 500, message: 'A record given to the state repository is incomplete or malformed' },
  STATE_IDENTITY_EXISTS: { status: 409, message: 'An identity with this CID is already stored' },
  STATE_NODE_IDENTITY_EXISTS: { status: 409, message: 'This node already has a node identity' },
  STATE_ORDER_EXISTS: { status: 409, message: 'An order with this reference already exists' },
  STATE_ORDER_CONFLICT: { status: 409, message: 'The order reference is already used by a different order' },
  STATE_ORDER_NOT_FOUND: { status: 404, message: 'No order with this reference' },
  STATE_ORDER_PART_MISSING: { status: 409, message: 'The order does not have the previous part yet' },
  STATE_SEED_EXISTS: { status: 409, message: 'A sealed seed with this record id is already stored' },
  STATE_SEED_NOT_FOUND: { status: 404, message: 'No sealed seed with this record id' },
  STATE_SEED_KEY_MISMATCH: { status: 409, message: 'The sealed seed is not under the expected key' },

  // ── custody (PROTOCOL §9) ─────────────────────────────────────────────────────────────────
  CUSTODY_UNAVAILABLE: { status: 503, message: 'Custody is not available' },
  CUSTODY_INTEGRITY: { status: 500, message: 'A sealed record failed its integrity check' },
  CUSTODY_WRONG_KEY: { status: 500, message: 'A sealed record was sealed under a different key encryption key' },
  CUSTODY_UNSUPPORTED_VERSION: { status: 500, message: 'A sealed record has an unknown format version' },
  CUSTODY_BAD_RECORD_ID: { status: 500, message: 'A custody record id must be 1 to 256 characters' },
  CUSTODY_KEY_FILE_EXISTS: { status: 500, message: 'The custody key file already exists; refusing to overwrite it' },
  CUSTODY_KEY_FILE_NOT_FOUND: { status: 500, message: 'The custody key file does not exist' },
  CUSTODY_KEY_FILE_INSECURE: { status: 500, message: 'The custody key file is readable by group or others; chmod 600 it' },
  CUSTODY_KEY_FILE_INVALID: { status: 500, message: 'The custody key file is not a 32-byte regular file' },
  CUSTODY_PARAMS_INVALID: { status: 500, message: 'The custody parameters file is missing or malformed' },
  CUSTODY_PASSPHRASE_MISSING: { status: 500, message: 'A custody passphrase is required but was not given' },
  CUSTODY_WRONG_PASSPHRASE: { status: 500, message: 'The custody passphrase does not match the one set at init' },
  CUSTODY_PKCS11_MODULE_NOT_FOUND: { status: 500, message: 'The PKCS#11 module (or the pkcs11js addon) could not be loaded' },
  CUSTODY_PKCS11_TOKEN_NOT_FOUND: { status: 500, message: 'No PKCS#11 token has the configured label' },
  CUSTODY_PKCS11_PIN_MISSING: { status: 500, message: 'A PKCS#11 PIN is required: set MILAGRO_NODE_PKCS11PIN or node.pkcs11PinFile' },
  CUSTODY_PKCS11_PIN_FILE_INVALID: { status: 500, message: 'The PKCS#11 PIN file is missing, empty, not a regular file, or readable by group or others' },
  CUSTODY_PKCS11_PIN_INCORRECT: { status: 500, message: 'The PKCS#11 token refused the PIN' },
  CUSTODY_PKCS11_PIN_LOCKED: { status: 500, message: 'The PKCS#11 token has locked the user PIN' },
  CUSTODY_PKCS11_KEY_NOT_FOUND: { status: 500, message: 'The PKCS#11 token holds no key with the configured label; run `milagro init` (or `milagro custody migrate --to pkcs11`)' },
  CUSTODY_PKCS11_AMBIGUOUS: { status: 500, message: 'More than one PKCS#11 token or key has the configured label; refusing to guess' },
  CUSTODY_PKCS11_KEY_INVALID: { status: 500, message: 'The PKCS#11 key is not a token-resident, private, always-sensitive, never-extractable AES-256 encrypt/decrypt key without wrap, unwrap or derive' },
  CUSTODY_PKCS11_FAILED: { status: 503, message: 'The PKCS#11 module reported an error' },
  CUSTODY_MIGRATION_INCOMPLETE: { status: 500, message: 'The custody migration left records it could not re-seal; the configured backend was not switched' },

  // ── plugins (PROTOCOL §7) ─────────────────────────────────────────────────────────────────
  PLUGIN_UNKNOWN: { status: 400, message: 'No plugin of that name' },
  PLUGIN_BAD_EXTENSION: { status: 422, message: 'The extension fields are not valid for this plugin' },
  PLUGIN_REFUSED: { status: 403, message: 'The plugin refused the request' },

  // ── the transparency log (docs/log.md) ───────────────────────────────────────────────────
  LOG_BAD_REQUEST: { status: 400, message: 'The log request names an impossible leaf index or tree size' },
  LOG_TILE_NOT_FOUND: { status: 404, message: 'No such tile in the log (not a tile path, or not part of the current tree)' },
  LOG_STORE_CORRUPT: { status: 500, message: 'The stored log does not match its signed checkpoint: it was altered outside this server' },
  LOG_BAD_NOTE: { status: 502, message: 'A signed note is malformed' },
  LOG_BAD_SIGNATURE: { status: 502, message: 'The checkpoint is not signed by the log key of that node' },
  LOG_BAD_CHECKPOINT: { status: 502, message: 'The checkpoint is malformed or names another log' },
  LOG_BAD_KEY_DOCUMENT: { status: 502, message: 'The log key statement is not one signed by that node identity' },
  LOG_BAD_LEAF: { status: 502, message: 'A log entry is not a well-formed leaf' },
  LOG_BAD_TILE: { status: 502, message: 'A log tile or entry bundle is malformed' },
  LOG_TREE_NOT_FOUND: { status: 404, message: 'The log has no tree of that size (yet)' },
  LOG_LEAF_NOT_FOUND: { status: 404, message: 'The log holds no leaf for that document' },
  LOG_KEY_CHANGED: { status: 502, message: 'The node answered with another log key than the one seen before' },
  LOG_PROOF_MISSING: { status: 502, message: 'The fiduciary answered without the log proof of its document' },
  LOG_NOT_INCLUDED: { status: 502, message: 'The inclusion proof does not show the document in the signed log' },
  LOG_FORKED: { status: 502, message: 'The fiduciary\'s log is not consistent with a checkpoint seen before: it shows different histories (kept as evidence)' },
  LOG_ROLLED_BACK: { status: 502, message: 'The fiduciary\'s log is older than a checkpoint seen before and not a prefix of it: it was rolled back (kept as evidence)' },
  LOG_NO_ADDRESS: { status: 403, message: 'This node knows no address of that trusted fiduciary\'s log, so it cannot check that the part 4 is in it (see node.trustedFiduciaryServers)' },
  LOG_WITNESS_QUORUM: { status: 503, message: 'Too few of the configured witnesses cosigned this node\'s checkpoint (node.witnesses, node.witnessQuorum)' },
  LOG_NOT_WITNESSED: { status: 502, message: 'The fiduciary\'s checkpoint lacks the cosignatures of the witnesses this node requires (node.fiduciaryWitnesses)' },
  WITNESS_BAD_REQUEST: { status: 400, message: 'Not an add-checkpoint request: old <size>, proof lines, an empty line, a signed checkpoint no smaller than old' },
  WITNESS_UNKNOWN_LOG: { status: 404, message: 'This node does not witness that log (node.witnessFor)' },
  WITNESS_BAD_SIGNATURE: { status: 403, message: 'The checkpoint is not signed by the key of the log it names' },
  WITNESS_CONFLICT: { status: 409, message: 'The request\'s old size is not the size this witness last cosigned, or the same size has another root' },
  WITNESS_BAD_PROOF: { status: 422, message: 'The consistency proof from the checkpoint last cosigned does not verify (both checkpoints are kept as evidence)' },
  LOG_VERIFY_FAILED: { status: 502, message: 'The log does not verify' },

  // ── orders and entitlement (PROTOCOL §2, §6) ─────────────────────────────────────────────
  ORDER_NOT_FOUND: { status: 404, message: 'No order with that reference' },
  ORDER_REFERENCE_REUSED: { status: 409, message: 'The order reference is already used by a different order' },
  ORDER_NOT_PRINCIPAL: { status: 403, message: 'The order is not signed by its principal' },
  ORDER_NOT_ENTITLED: { status: 403, message: 'The requester is not entitled to this secret' },
  ORDER_CHAIN_BROKEN: { status: 403, message: 'The document does not follow the part this fiduciary issued' },
  ORDER_BAD_DOCUMENT: { status: 422, message: 'The order document is invalid' },
  ORDER_BAD_COMMITMENT: { status: 502, message: 'The fiduciary commitment or its proof of possession is invalid' },
  ORDER_SECRET_MISMATCH: { status: 502, message: 'The released secret does not match the commitment the fiduciary made' },
  ORDER_FIDUCIARY_NOT_TRUSTED: { status: 403, message: 'This node does not redeem orders of that fiduciary (see node.trustedFiduciaries)' },
  ORDER_ALREADY_REDEEMED_ELSEWHERE: { status: 409, message: 'The order was already redeemed for another beneficiary' },
  // ── threshold orders (docs/threshold.md) ──────────────────────────────────────────────────
  THRESHOLD_BAD_PARAMETERS: { status: 422, message: 'A threshold order needs 2 ≤ t ≤ n ≤ 18 distinct fiduciaries (extension.fiduciaries, extension.threshold)' },
  THRESHOLD_FIDUCIARY_UNKNOWN: { status: 422, message: 'This node knows no address of that fiduciary (add CID=URL to node.thresholdFiduciaries)' },
  THRESHOLD_BAD_MESSAGE: { status: 422, message: 'A key-generation message is malformed or not bound to this order' },
  THRESHOLD_BAD_PACKAGE: { status: 422, message: 'A round-1 key-generation package is invalid (its commitments or proof of knowledge)' },
  THRESHOLD_BAD_SHARE: { status: 422, message: 'A key-generation share does not match its sender\'s commitments' },
  THRESHOLD_TRANSCRIPT_MISMATCH: { status: 502, message: 'The fiduciaries did not all see the same round-1 packages' },
  THRESHOLD_DKG_STATE_LOST: { status: 409, message: 'This fiduciary holds no key-generation state for that order (it restarted, the state expired, or the rounds came out of order)' },
  THRESHOLD_DKG_FAILED: { status: 502, message: 'The key generation failed: a fiduciary refused or answered wrongly' },
  THRESHOLD_NOT_ENOUGH_SHARES: { status: 502, message: 'Fewer than t fiduciaries released a correct share' },
  THRESHOLD_KEY_MISMATCH: { status: 502, message: 'The combined key does not match the group key' },
  IDENTITY_NOT_FOUND: { status: 404, message: 'No identity with that CID' },
  IDENTITY_NOT_HELD: { status: 403, message: 'This node does not hold the secret keys of that identity' },
  PEER_UNREACHABLE: { status: 502, message: 'The peer node could not be reached' },
  PEER_TLS_FAILED: { status: 502, message: 'The TLS connection to the peer failed its checks' },
  PEER_ERROR: { status: 502, message: 'The peer node answered with an error' },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

/**
 * Codes of the state port that mean what an order code means: a repository reports in its own
 * words (test/conformance/state.ts checks them), and a client sees one code per meaning. Mapped
 * here, in one place, when an error becomes an answer (`DtaError.toJSON`); a test checks each pair
 * has one status.
 */
export const ANSWERED_AS: Partial<Record<ErrorCode, ErrorCode>> = {
  STATE_ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
  STATE_ORDER_CONFLICT: 'ORDER_REFERENCE_REUSED',
}

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

  /** The answer body; a code of ANSWERED_AS is answered as the code it means. */
  toJSON (): { statusCode: number, code: ErrorCode, message: string } {
    const code = ANSWERED_AS[this.code] ?? this.code
    const spec: ErrorSpec = ERRORS[code]
    return { statusCode: spec.status, code, message: this.detail === undefined ? spec.message : `${spec.message}: ${this.detail}` }
  }
}

export function isDtaError (err: unknown, code?: ErrorCode): err is DtaError {
  return err instanceof DtaError && (code === undefined || err.code === code)
}

/**
 * A listener that could not bind `address`, by the errno of the failure: EADDRINUSE is
 * LISTEN_ADDRESS_IN_USE, EACCES LISTEN_PERMISSION_DENIED, anything else LISTEN_FAILED (the errno
 * in the detail). The caller that knows which setting chose the address adds it (src/node.ts).
 */
export function listenError (errno: unknown, address: string, options?: { cause?: unknown }): DtaError {
  const code: ErrorCode = errno === 'EADDRINUSE' ? 'LISTEN_ADDRESS_IN_USE' : errno === 'EACCES' ? 'LISTEN_PERMISSION_DENIED' : 'LISTEN_FAILED'
  return new DtaError(code, code === 'LISTEN_FAILED' && typeof errno === 'string' ? `${address} (${errno})` : address, options)
}

/** Maps an AbortSignal's reason to our codes: a timeout becomes `timeoutCode`, anything else ABORTED. */
export function abortError (signal: AbortSignal, timeoutCode: ErrorCode = 'TIMEOUT'): DtaError {
  const reason: unknown = signal.reason
  const isTimeout = reason instanceof Error && reason.name === 'TimeoutError'
  return new DtaError(isTimeout ? timeoutCode : 'ABORTED', undefined, { cause: reason })
}
