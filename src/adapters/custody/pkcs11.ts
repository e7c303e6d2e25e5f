/**
 * The `pkcs11` custody backend: the key encryption key (KEK) is an AES-256 key inside an HSM,
 * reached through a PKCS#11 module with `pkcs11js` (PROTOCOL §9). Records are sealed and opened by
 * the HSM itself (C_Encrypt / C_Decrypt with CKM_AES_GCM), in exactly the layout of
 * src/ports/custody.ts:
 *
 *     version (1) ‖ key id (8) ‖ IV (12) ‖ ciphertext ‖ tag (16),   AAD = version ‖ key id ‖ utf8(recordId)
 *
 * The IV is 96 fresh random bits from the host CSPRNG for every seal; the tag is 128 bits.
 *
 * The KEK (`createPkcs11Key`, run by `milagro init` and by `milagro custody migrate --to pkcs11`,
 * never by a running node): CKO_SECRET_KEY, CKK_AES, CKA_VALUE_LEN 32, generated inside the token
 * with CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true, CKA_EXTRACTABLE and CKA_COPYABLE false, and every
 * usage flag explicit: CKA_ENCRYPT and CKA_DECRYPT true; CKA_WRAP, CKA_UNWRAP, CKA_SIGN,
 * CKA_VERIFY and CKA_DERIVE false. It carries a label (found by it) and a random 16-byte CKA_ID.
 * Opening finds exactly one secret key with the label (none: CUSTODY_PKCS11_KEY_NOT_FOUND; two or
 * more: CUSTODY_PKCS11_AMBIGUOUS) and refuses one that is not a token-resident, private,
 * sensitive, non-extractable AES-256 encrypt+decrypt key, that was ever extractable or not
 * sensitive (CKA_NEVER_EXTRACTABLE or CKA_ALWAYS_SENSITIVE false), or that may wrap, unwrap or
 * derive (CKA_WRAP, CKA_UNWRAP, CKA_DERIVE true) — CUSTODY_PKCS11_KEY_INVALID, naming each
 * attribute at fault. `createPkcs11Key` applies the same check to a key it finds under the label.
 * SoftHSM defaults CKA_WRAP and CKA_UNWRAP to true, so a key made elsewhere without explicit
 * usage flags is refused there.
 *
 * Key id (names the KEK without revealing anything about its value):
 *     first 8 bytes of SHA-256(utf8("milagro-dta/pkcs11-kek-id") ‖ 0x00 ‖ 0x01 ‖ CKA_ID)
 * or, for a key made elsewhere without a CKA_ID,
 *     first 8 bytes of SHA-256(utf8("milagro-dta/pkcs11-kek-id") ‖ 0x00 ‖ 0x02 ‖ utf8(token serial) ‖ 0x00 ‖ utf8(key label)).
 * A key re-created under the same label gets a new random CKA_ID, hence a new key id, so records
 * of the old key are reported as CUSTODY_WRONG_KEY rather than as integrity failures.
 *
 * Module, sessions and login:
 * - one loaded module per module path per process, shared by reference count; C_Initialize with
 *   CKF_OS_LOCKING_OK (the async calls run on libuv worker threads: without it the module's state
 *   is corrupted), C_Finalize when the last user closes;
 * - each custody instance keeps a small pool of read-only sessions (default 4, the libuv pool
 *   size), opened on demand; one operation per session at a time. PKCS#11 login is per application
 *   and token, so the first session logs in and the others inherit it; the process remembers an
 *   HMAC of the PIN it logged in with, so a second instance with a different (wrong) PIN is
 *   refused although the token would answer CKR_USER_ALREADY_LOGGED_IN. Closing the last session
 *   logs the application out (PKCS#11 §5.6); we never C_Logout, which would log out other users in
 *   this process;
 * - a session lost under us (CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN,
 *   handle or device errors) is closed and replaced, the key is looked up again (same key id
 *   required) and the operation is tried once more.
 *
 * pkcs11js' asynchronous calls keep raw pointers to the JavaScript buffers without holding them,
 * so every buffer handed to the HSM is our own, kept referenced until the call completes; the
 * plaintext copies (input of a seal, output of an unseal) are zeroed when done. The PIN is a
 * JavaScript string (pkcs11js takes one) held for re-login; it never appears in an error.
 *
 * Errors (never a crash, never a secret): missing module or addon → CUSTODY_PKCS11_MODULE_NOT_FOUND;
 * no such token → CUSTODY_PKCS11_TOKEN_NOT_FOUND; PIN → CUSTODY_PKCS11_PIN_INCORRECT / _LOCKED /
 * _MISSING; a tag failure on decrypt (SoftHSM says CKR_GENERAL_ERROR; others
 * CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE or CKR_AEAD_DECRYPT_FAILED) →
 * CUSTODY_INTEGRITY; anything else → CUSTODY_PKCS11_FAILED naming the function and the CKR code.
 * @module
 */
import { existsSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { endianness } from 'node:os'
import { isAbsolute, resolve } from 'node:path'
import type * as P11 from 'pkcs11js'
import type { AbortOptions } from '../../ports/common.ts'
import { abortError, DtaError, isDtaError } from '../../errors.ts'
import { concatBytes, hmacSha256, sha256, timingSafeEqual, toHex, utf8, wipe } from '../../crypto/hash.ts'
import { randomBytes } from '../../crypto/random.ts'
import { checkRecordId, openSealedRecord, sealedRecord, sealedRecordAad, SEALED_KEY_ID_BYTES, SEALED_NONCE_BYTES, SEALED_TAG_BYTES } from '../../core/sealed-record.ts'
import type { Custody } from '../../ports/custody.ts'

/** Debian's SoftHSM2 module, the default `node.pkcs11Module`. */
export const DEFAULT_PKCS11_MODULE = '/usr/lib/softhsm/libsofthsm2.so'
/** The label hashed with the key's CKA_ID (or token serial and label) to give the key id. */
export const PKCS11_KEK_ID_LABEL = 'milagro-dta/pkcs11-kek-id'
export const DEFAULT_PKCS11_SESSIONS = 4
const MAX_SESSIONS = 32
const KEY_ID_ATTRIBUTE_BYTES = 16
const MAX_PIN_FILE_BYTES = 1024

export interface Pkcs11Options {
  /** Path of the PKCS#11 module (shared library). */
  module: string
  /** CKA_LABEL of the token (exactly one initialised token must carry it). */
  tokenLabel: string
  /** CKA_LABEL of the KEK inside the token. */
  keyLabel: string
  /** The token's user PIN. */
  pin: string
  /** Size of the session pool (1..32). Default 4. */
  sessions?: number
}

// ── the pkcs11js addon, loaded lazily so that local custody never needs it ───────────────────────

type Pkcs11Js = typeof import('pkcs11js')
let binding: Pkcs11Js | undefined

function pkcs11js (): Pkcs11Js {
  if (binding !== undefined) return binding
  try {
    binding = createRequire(import.meta.url)('pkcs11js') as Pkcs11Js
  } catch (err) {
    throw new DtaError('CUSTODY_PKCS11_MODULE_NOT_FOUND',
      'the pkcs11js addon did not load (run `npm rebuild pkcs11js`; building it needs python3, make and g++)', { cause: err })
  }
  return binding
}

// ── PKCS#11 return values we act on (PKCS#11 v2.40 / v3.0 §3) ────────────────────────────────

const CKR = {
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
const INTEGRITY_CODES: ReadonlySet<number> = new Set([
  CKR.GENERAL_ERROR, CKR.AEAD_DECRYPT_FAILED, CKR.ENCRYPTED_DATA_INVALID, CKR.ENCRYPTED_DATA_LEN_RANGE
])
/** Results after which a session (or our key handle) is not usable any more. */
const SESSION_LOST_CODES: ReadonlySet<number> = new Set([
  CKR.SESSION_HANDLE_INVALID, CKR.SESSION_CLOSED, CKR.USER_NOT_LOGGED_IN, CKR.KEY_HANDLE_INVALID,
  CKR.OBJECT_HANDLE_INVALID, CKR.OPERATION_ACTIVE, CKR.OPERATION_NOT_INITIALIZED, CKR.DEVICE_REMOVED,
  CKR.DEVICE_ERROR, CKR.TOKEN_NOT_PRESENT
])

/** The CKR code of a pkcs11js error, if it is one. */
function ckrCode (err: unknown): number | undefined {
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
function ckrName (err: unknown): string {
  const code = ckrCode(err)
  const message = typeof (err as { message?: unknown })?.message === 'string' ? (err as { message: string }).message : ''
  const name = /CKR_[A-Z0-9_]+/.exec(message)?.[0]
  if (code === undefined) return name ?? 'not a PKCS#11 error'
  return `${name ?? 'CKR'} (0x${code.toString(16)})`
}

function failure (fn: string, err: unknown): DtaError {
  if (isDtaError(err)) return err
  return new DtaError('CUSTODY_PKCS11_FAILED', `${fn}: ${ckrName(err)}`, { cause: err })
}

// ── loaded modules, shared in the process ────────────────────────────────────────────────────

interface LoginEntry {
  /** Custody instances (and init calls) of this process with sessions open on the token. */
  refs: number
  /** HMAC of the PIN the process logged in with. */
  pinDigest: Uint8Array
}

interface SharedModule {
  readonly path: string
  readonly js: Pkcs11Js
  readonly lib: P11.PKCS11
  refs: number
  /** Whether we called C_Initialize (and so must C_Finalize). */
  readonly finalize: boolean
  /** By slot id (hex). */
  readonly logins: Map<string, LoginEntry>
}

const modules = new Map<string, SharedModule>()
const PIN_DIGEST_KEY = randomBytes(32)

function pinDigest (pin: string): Uint8Array {
  return hmacSha256(PIN_DIGEST_KEY, utf8(pin))
}

function moduleKey (path: string): string {
  return path.includes('/') ? resolve(path) : path
}

function acquireModule (path: string): SharedModule {
  if (typeof path !== 'string' || path === '') throw new DtaError('CUSTODY_PKCS11_MODULE_NOT_FOUND', 'node.pkcs11Module is empty')
  const key = moduleKey(path)
  const shared = modules.get(key)
  if (shared !== undefined) {
    shared.refs++
    return shared
  }
  if ((isAbsolute(path) || path.includes('/')) && !existsSync(key)) {
    throw new DtaError('CUSTODY_PKCS11_MODULE_NOT_FOUND',
      `no file at ${key}${key === DEFAULT_PKCS11_MODULE ? ' (Debian: apt-get install softhsm2)' : ''}`)
  }
  const js = pkcs11js()
  const lib = new js.PKCS11()
  try {
    lib.load(key)
  } catch (err) {
    throw new DtaError('CUSTODY_PKCS11_MODULE_NOT_FOUND', `${key} is not a loadable PKCS#11 module`, { cause: err })
  }
  let finalize = true
  try {
    lib.C_Initialize({ flags: js.CKF_OS_LOCKING_OK })
  } catch (err) {
    if (ckrCode(err) === CKR.CRYPTOKI_ALREADY_INITIALIZED) {
      finalize = false // someone else in this process initialised it: leave it to them
    } else {
      try { lib.close() } catch { /* best effort */ }
      throw failure('C_Initialize', err)
    }
  }
  const loaded: SharedModule = { path: key, js, lib, refs: 1, finalize, logins: new Map() }
  modules.set(key, loaded)
  return loaded
}

function releaseModule (m: SharedModule): void {
  if (--m.refs > 0) return
  modules.delete(m.path)
  try {
    if (m.finalize) m.lib.C_Finalize()
  } catch { /* best effort: nothing of ours is open any more */ }
  try { m.lib.close() } catch { /* best effort */ }
}

interface Token {
  readonly slot: P11.Handle
  readonly slotKey: string
  readonly serial: string
}

function findToken (m: SharedModule, label: string): Token {
  let slots: P11.Handle[]
  try {
    slots = m.lib.C_GetSlotList(true)
  } catch (err) {
    throw failure('C_GetSlotList', err)
  }
  const seen: string[] = []
  const matches: Token[] = []
  for (const slot of slots) {
    let info: P11.TokenInfo
    try {
      info = m.lib.C_GetTokenInfo(slot)
    } catch {
      continue // a slot whose token went away between the two calls
    }
    if ((info.flags & m.js.CKF_TOKEN_INITIALIZED) === 0) continue
    const tokenLabel = info.label.replace(/[\s\0]+$/, '')
    seen.push(tokenLabel)
    if (tokenLabel === label) matches.push({ slot, slotKey: slot.toString('hex'), serial: info.serialNumber.replace(/[\s\0]+$/, '') })
  }
  if (matches.length === 0) {
    throw new DtaError('CUSTODY_PKCS11_TOKEN_NOT_FOUND',
      `"${label}" (initialised tokens: ${seen.length === 0 ? 'none' : seen.map(l => `"${l}"`).join(', ')})`)
  }
  if (matches.length > 1) throw new DtaError('CUSTODY_PKCS11_AMBIGUOUS', `${matches.length} tokens are labelled "${label}"`)
  return matches[0]
}

/**
 * Logs `session` in as the user, keeping the process-wide login record of `token` in step:
 * refuses a PIN that differs from the one the process is already logged in with.
 */
function login (m: SharedModule, token: Token, session: P11.Handle, pin: string): void {
  const entry = m.logins.get(token.slotKey)
  if (entry !== undefined && entry.refs > 0) {
    const digest = pinDigest(pin)
    const same = timingSafeEqual(digest, entry.pinDigest)
    wipe(digest)
    if (!same) throw new DtaError('CUSTODY_PKCS11_PIN_INCORRECT', 'it differs from the PIN this process is logged in with')
  }
  try {
    m.lib.C_Login(session, m.js.CKU_USER, pin)
  } catch (err) {
    switch (ckrCode(err)) {
      case CKR.USER_ALREADY_LOGGED_IN: return
      case CKR.PIN_INCORRECT:
      case CKR.PIN_INVALID:
      case CKR.PIN_LEN_RANGE:
        throw new DtaError('CUSTODY_PKCS11_PIN_INCORRECT', ckrName(err))
      case CKR.PIN_LOCKED: throw new DtaError('CUSTODY_PKCS11_PIN_LOCKED')
      case CKR.PIN_EXPIRED: throw new DtaError('CUSTODY_PKCS11_PIN_INCORRECT', 'the PIN has expired: change it on the token')
      case CKR.USER_PIN_NOT_INITIALIZED: throw new DtaError('CUSTODY_PKCS11_PIN_INCORRECT', 'the token has no user PIN yet: initialise it')
      default: throw failure('C_Login', err)
    }
  }
}

function registerLogin (m: SharedModule, token: Token, pin: string): void {
  const entry = m.logins.get(token.slotKey)
  if (entry !== undefined) entry.refs++
  else m.logins.set(token.slotKey, { refs: 1, pinDigest: pinDigest(pin) })
}

function unregisterLogin (m: SharedModule, token: Token): void {
  const entry = m.logins.get(token.slotKey)
  if (entry === undefined) return
  if (--entry.refs <= 0) {
    wipe(entry.pinDigest)
    m.logins.delete(token.slotKey)
  }
}

// ── the key ──────────────────────────────────────────────────────────────────────────────────

function findKeys (m: SharedModule, session: P11.Handle, label: string): P11.Handle[] {
  try {
    m.lib.C_FindObjectsInit(session, [
      { type: m.js.CKA_CLASS, value: m.js.CKO_SECRET_KEY },
      { type: m.js.CKA_LABEL, value: label },
    ])
  } catch (err) {
    throw failure('C_FindObjectsInit', err)
  }
  try {
    return m.lib.C_FindObjects(session, 2)
  } catch (err) {
    throw failure('C_FindObjects', err)
  } finally {
    try { m.lib.C_FindObjectsFinal(session) } catch { /* the search is over either way */ }
  }
}

function readUlong (b: Buffer): number {
  if (b.length === 8) return Number(endianness() === 'LE' ? b.readBigUInt64LE() : b.readBigUInt64BE())
  if (b.length === 4) return endianness() === 'LE' ? b.readUInt32LE() : b.readUInt32BE()
  return -1
}

/** Checks the key's attributes and returns its key id bytes. */
function inspectKey (m: SharedModule, session: P11.Handle, key: P11.Handle, token: Token, label: string): Uint8Array {
  const { js } = m
  const wanted = [
    js.CKA_KEY_TYPE, js.CKA_VALUE_LEN, js.CKA_TOKEN, js.CKA_PRIVATE, js.CKA_SENSITIVE, js.CKA_EXTRACTABLE,
    js.CKA_ALWAYS_SENSITIVE, js.CKA_NEVER_EXTRACTABLE, js.CKA_ENCRYPT, js.CKA_DECRYPT, js.CKA_WRAP, js.CKA_UNWRAP,
    js.CKA_DERIVE, js.CKA_ID
  ]
  let attrs: P11.TemplateResult
  try {
    attrs = m.lib.C_GetAttributeValue(session, key, wanted.map(type => ({ type })))
  } catch (err) {
    throw failure('C_GetAttributeValue', err)
  }
  const value = (type: number): Buffer => attrs.find(a => a.type === type)?.value ?? Buffer.alloc(0)
  const bool = (type: number): boolean => value(type)[0] === 1
  const problems: string[] = []
  if (readUlong(value(js.CKA_KEY_TYPE)) !== js.CKK_AES) problems.push('not an AES key')
  if (readUlong(value(js.CKA_VALUE_LEN)) !== 32) problems.push('not 256 bits')
  if (!bool(js.CKA_TOKEN)) problems.push('not token-resident')
  if (!bool(js.CKA_PRIVATE)) problems.push('not private')
  if (!bool(js.CKA_SENSITIVE)) problems.push('not sensitive')
  if (bool(js.CKA_EXTRACTABLE)) problems.push('extractable')
  // A key that was ever extractable or not sensitive may have left the HSM: its history counts too.
  if (!bool(js.CKA_ALWAYS_SENSITIVE)) problems.push('CKA_ALWAYS_SENSITIVE is false (it was not always sensitive)')
  if (!bool(js.CKA_NEVER_EXTRACTABLE)) problems.push('CKA_NEVER_EXTRACTABLE is false (it was extractable once)')
  if (!bool(js.CKA_ENCRYPT) || !bool(js.CKA_DECRYPT)) problems.push('not allowed to encrypt and decrypt')
  // Wrapping would export other keys under it, or import keys chosen by whoever holds the PIN;
  // deriving would turn it into other keys whose values can be extracted.
  if (bool(js.CKA_WRAP)) problems.push('CKA_WRAP is true')
  if (bool(js.CKA_UNWRAP)) problems.push('CKA_UNWRAP is true')
  if (bool(js.CKA_DERIVE)) problems.push('CKA_DERIVE is true')
  if (problems.length > 0) throw new DtaError('CUSTODY_PKCS11_KEY_INVALID', `"${label}": ${problems.join(', ')}`)
  const id = value(js.CKA_ID)
  const material = id.length > 0
    ? concatBytes(Uint8Array.of(1), id)
    : concatBytes(Uint8Array.of(2), utf8(token.serial), Uint8Array.of(0), utf8(label))
  return sha256(concatBytes(utf8(PKCS11_KEK_ID_LABEL), Uint8Array.of(0), material)).slice(0, SEALED_KEY_ID_BYTES)
}

function findKey (m: SharedModule, session: P11.Handle, token: Token, label: string): { key: P11.Handle, keyId: Uint8Array } {
  const keys = findKeys(m, session, label)
  if (keys.length === 0) throw new DtaError('CUSTODY_PKCS11_KEY_NOT_FOUND', `no secret key labelled "${label}"`)
  if (keys.length > 1) throw new DtaError('CUSTODY_PKCS11_AMBIGUOUS', `more than one secret key is labelled "${label}"`)
  return { key: keys[0], keyId: inspectKey(m, session, keys[0], token, label) }
}

function checkOptions (options: Pkcs11Options): number {
  if (typeof options.pin !== 'string' || options.pin === '') throw new DtaError('CUSTODY_PKCS11_PIN_MISSING')
  if (typeof options.tokenLabel !== 'string' || options.tokenLabel === '') throw new DtaError('CUSTODY_PKCS11_TOKEN_NOT_FOUND', 'node.pkcs11TokenLabel is empty')
  if (typeof options.keyLabel !== 'string' || options.keyLabel === '') throw new DtaError('CUSTODY_PKCS11_KEY_NOT_FOUND', 'node.pkcs11KeyLabel is empty')
  const sessions = options.sessions ?? DEFAULT_PKCS11_SESSIONS
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > MAX_SESSIONS) throw new RangeError(`sessions must be 1..${MAX_SESSIONS}`)
  return sessions
}

/**
 * Finds the KEK labelled `keyLabel` in the token, or generates it there (see the module comment
 * for its attributes). For `milagro init` and custody migration only — never at run time, so two
 * processes never race to create it. Returns the key id and whether it was created.
 */
export async function createPkcs11Key (options: Pkcs11Options): Promise<{ keyId: string, created: boolean }> {
  checkOptions(options)
  const m = acquireModule(options.module)
  try {
    const token = findToken(m, options.tokenLabel)
    const { js, lib } = m
    let session: P11.Handle
    try {
      session = lib.C_OpenSession(token.slot, js.CKF_SERIAL_SESSION | js.CKF_RW_SESSION)
    } catch (err) {
      throw failure('C_OpenSession', err)
    }
    let registered = false
    try {
      login(m, token, session, options.pin)
      registerLogin(m, token, options.pin)
      registered = true
      const existing = findKeys(m, session, options.keyLabel)
      if (existing.length > 1) throw new DtaError('CUSTODY_PKCS11_AMBIGUOUS', `more than one secret key is labelled "${options.keyLabel}"`)
      if (existing.length === 1) {
        return { keyId: toHex(inspectKey(m, session, existing[0], token, options.keyLabel)), created: false }
      }
      let key: P11.Handle
      try {
        key = lib.C_GenerateKey(session, { mechanism: js.CKM_AES_KEY_GEN }, [
          { type: js.CKA_CLASS, value: js.CKO_SECRET_KEY },
          { type: js.CKA_KEY_TYPE, value: js.CKK_AES },
          { type: js.CKA_VALUE_LEN, value: 32 },
          { type: js.CKA_LABEL, value: options.keyLabel },
          { type: js.CKA_ID, value: Buffer.from(randomBytes(KEY_ID_ATTRIBUTE_BYTES)) },
          { type: js.CKA_TOKEN, value: true },
          { type: js.CKA_PRIVATE, value: true },
          { type: js.CKA_SENSITIVE, value: true },
          { type: js.CKA_EXTRACTABLE, value: false },
          { type: js.CKA_COPYABLE, value: false },
          { type: js.CKA_ENCRYPT, value: true },
          { type: js.CKA_DECRYPT, value: true },
          { type: js.CKA_WRAP, value: false },
          { type: js.CKA_UNWRAP, value: false },
          { type: js.CKA_SIGN, value: false },
          { type: js.CKA_VERIFY, value: false },
          { type: js.CKA_DERIVE, value: false },
        ])
      } catch (err) {
        throw failure('C_GenerateKey', err)
      }
      return { keyId: toHex(inspectKey(m, session, key, token, options.keyLabel)), created: true }
    } finally {
      try { lib.C_CloseSession(session) } catch { /* best effort */ }
      if (registered) unregisterLogin(m, token)
    }
  } finally {
    releaseModule(m)
  }
}

// ── the custody ──────────────────────────────────────────────────────────────────────────────

interface Waiter {
  resolve: (session: P11.Handle) => void
  reject: (err: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

/** Thrown inside an operation when the session was lost; the caller retries once. */
class SessionLost extends Error {
  readonly original: unknown
  readonly fn: string
  constructor (original: unknown, fn: string) {
    super('session lost')
    this.original = original
    this.fn = fn
  }
}

class Pkcs11Custody implements Custody {
  readonly backend = 'pkcs11'
  readonly keyId: string
  readonly #keyIdBytes: Uint8Array
  readonly #m: SharedModule
  readonly #token: Token
  readonly #keyLabel: string
  readonly #pin: string
  readonly #size: number
  #key: P11.Handle
  #keyStale = false
  readonly #free: P11.Handle[] = []
  #open = 0
  #busy = 0
  readonly #waiters: Waiter[] = []
  #closed = false
  #closing: Promise<void> | undefined
  #idle: (() => void) | undefined

  constructor (init: { m: SharedModule, token: Token, keyLabel: string, pin: string, size: number, session: P11.Handle, key: P11.Handle, keyId: Uint8Array }) {
    this.#m = init.m
    this.#token = init.token
    this.#keyLabel = init.keyLabel
    this.#pin = init.pin
    this.#size = init.size
    this.#key = init.key
    this.#keyIdBytes = init.keyId
    this.keyId = toHex(init.keyId)
    this.#free.push(init.session)
    this.#open = 1
  }

  #openSession (): P11.Handle {
    const { lib, js } = this.#m
    let session: P11.Handle
    try {
      session = lib.C_OpenSession(this.#token.slot, js.CKF_SERIAL_SESSION)
    } catch (err) {
      throw failure('C_OpenSession', err)
    }
    try {
      login(this.#m, this.#token, session, this.#pin)
    } catch (err) {
      try { lib.C_CloseSession(session) } catch { /* best effort */ }
      throw err
    }
    return session
  }

  #acquire (signal?: AbortSignal): Promise<P11.Handle> {
    if (this.#closed) return Promise.reject(new DtaError('CUSTODY_UNAVAILABLE', 'custody is closed'))
    if (signal?.aborted === true) return Promise.reject(abortError(signal))
    const free = this.#free.pop()
    if (free !== undefined) {
      this.#busy++
      return Promise.resolve(free)
    }
    if (this.#open < this.#size) {
      this.#open++
      try {
        const session = this.#openSession()
        this.#busy++
        return Promise.resolve(session)
      } catch (err) {
        this.#open--
        return Promise.reject(err)
      }
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal }
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const at = this.#waiters.indexOf(waiter)
          if (at >= 0) this.#waiters.splice(at, 1)
          reject(abortError(signal))
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.#waiters.push(waiter)
    })
  }

  #release (session: P11.Handle, lost: boolean): void {
    this.#busy--
    if (lost) {
      try { this.#m.lib.C_CloseSession(session) } catch { /* already gone */ }
      this.#open--
    } else {
      this.#free.push(session)
    }
    // Serve waiters with a free session, or a new one in place of a lost one.
    while (this.#waiters.length > 0 && !this.#closed) {
      let next = this.#free.pop()
      if (next === undefined && this.#open < this.#size) {
        this.#open++
        try {
          next = this.#openSession()
        } catch (err) {
          this.#open--
          const waiter = this.#waiters.shift()
          if (waiter?.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort)
          waiter?.reject(err)
          continue
        }
      }
      if (next === undefined) break
      const waiter = this.#waiters.shift()
      if (waiter === undefined) { this.#free.push(next); break }
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort)
      this.#busy++
      waiter.resolve(next)
    }
    if (this.#busy === 0) this.#idle?.()
  }

  /**
   * Runs `op` on a pooled session. A lost session is replaced and the key looked up again, and
   * `op` runs once more; PKCS#11 failures become CUSTODY_PKCS11_FAILED.
   */
  async #withSession<T> (options: AbortOptions | undefined, op: (session: P11.Handle, key: P11.Handle) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.#acquire(options?.signal)
      let lost = false
      try {
        if (this.#keyStale) {
          const found = findKey(this.#m, session, this.#token, this.#keyLabel)
          if (!timingSafeEqual(found.keyId, this.#keyIdBytes)) {
            throw new DtaError('CUSTODY_UNAVAILABLE', `the key labelled "${this.#keyLabel}" is no longer the key ${this.keyId}`)
          }
          this.#key = found.key
          this.#keyStale = false
        }
        return await op(session, this.#key)
      } catch (err) {
        const lostErr = err instanceof SessionLost ? err : undefined
        const code = ckrCode(lostErr?.original ?? err)
        if (lostErr !== undefined || (code !== undefined && SESSION_LOST_CODES.has(code))) {
          lost = true
          this.#keyStale = true
          if (attempt === 0 && !this.#closed) continue
          throw new DtaError('CUSTODY_UNAVAILABLE', `the HSM session was lost (${lostErr?.fn ?? 'PKCS#11'}: ${ckrName(lostErr?.original ?? err)})`, { cause: err })
        }
        throw failure('PKCS#11', err)
      } finally {
        this.#release(session, lost)
      }
    }
  }

  #check (options?: AbortOptions): void {
    if (options?.signal?.aborted === true) throw abortError(options.signal)
    if (this.#closed) throw new DtaError('CUSTODY_UNAVAILABLE', 'custody is closed')
  }

  #mechanism (iv: Buffer, aad: Buffer): P11.Mechanism {
    const { js } = this.#m
    const parameter: P11.GcmParams = { type: js.CK_PARAMS_GCM, iv, ivBits: SEALED_NONCE_BYTES * 8, aad, tagBits: SEALED_TAG_BYTES * 8 }
    return { mechanism: js.CKM_AES_GCM, parameter }
  }

  #aad (recordId: string): Buffer {
    return Buffer.from(sealedRecordAad(this.#keyIdBytes, recordId))
  }

  async seal (recordId: string, plaintext: Uint8Array, options?: AbortOptions): Promise<Uint8Array> {
    this.#check(options)
    checkRecordId(recordId)
    if (!(plaintext instanceof Uint8Array)) throw new DtaError('CUSTODY_UNAVAILABLE', 'plaintext must be bytes')
    const iv = Buffer.from(randomBytes(SEALED_NONCE_BYTES))
    const aad = this.#aad(recordId)
    // Our own copy, held until the HSM call completes (pkcs11js does not hold the buffers).
    const input = Buffer.alloc(plaintext.length)
    input.set(plaintext)
    const output = Buffer.alloc(plaintext.length + SEALED_TAG_BYTES)
    try {
      const body = await this.#withSession(options, async (session, key) => {
        const { lib } = this.#m
        try {
          lib.C_EncryptInit(session, this.#mechanism(iv, aad), key)
        } catch (err) {
          throw sessionLostOr(err, 'C_EncryptInit')
        }
        try {
          // pkcs11js passes an empty buffer as NULL, which C_Encrypt refuses: an empty plaintext
          // is sealed by C_EncryptFinal alone (GCM then outputs just the tag).
          return input.length === 0
            ? await lib.C_EncryptFinalAsync(session, output)
            : await lib.C_EncryptAsync(session, input, output)
        } catch (err) {
          throw sessionLostOr(err, 'C_Encrypt')
        }
      })
      if (body.length !== plaintext.length + SEALED_TAG_BYTES) {
        throw new DtaError('CUSTODY_PKCS11_FAILED', `C_Encrypt returned ${body.length} bytes for ${plaintext.length}`)
      }
      return sealedRecord(this.#keyIdBytes, iv, body)
    } finally {
      wipe(input)
      void [iv, aad, output] // referenced until the HSM call is over (pkcs11js holds raw pointers)
    }
  }

  async unseal (recordId: string, sealed: Uint8Array, options?: AbortOptions): Promise<Uint8Array> {
    this.#check(options)
    checkRecordId(recordId)
    const record = openSealedRecord(sealed, this.#keyIdBytes)
    const iv = Buffer.from(record.nonce)
    const body = Buffer.from(record.ciphertextAndTag)
    const aad = this.#aad(recordId)
    // At least as long as the ciphertext: an output shorter than the module wants (or empty, which
    // pkcs11js passes as NULL) turns C_Decrypt into a length query that leaves the operation open.
    const output = Buffer.alloc(body.length)
    try {
      const plain = await this.#withSession(options, async (session, key) => {
        const { lib } = this.#m
        try {
          lib.C_DecryptInit(session, this.#mechanism(iv, aad), key)
        } catch (err) {
          throw sessionLostOr(err, 'C_DecryptInit')
        }
        try {
          return await lib.C_DecryptAsync(session, body, output)
        } catch (err) {
          const code = ckrCode(err)
          if (code !== undefined && INTEGRITY_CODES.has(code)) throw new DtaError('CUSTODY_INTEGRITY', undefined, { cause: new Error(ckrName(err)) })
          throw sessionLostOr(err, 'C_Decrypt')
        }
      })
      if (plain.length !== body.length - SEALED_TAG_BYTES) {
        wipe(plain)
        throw new DtaError('CUSTODY_PKCS11_FAILED', `C_Decrypt returned ${plain.length} bytes for ${body.length - SEALED_TAG_BYTES}`)
      }
      return Uint8Array.from(plain)
    } finally {
      wipe(output)
      void [iv, aad, body] // referenced until the HSM call is over (pkcs11js holds raw pointers)
    }
  }

  async close (): Promise<void> {
    if (this.#closing !== undefined) return await this.#closing
    this.#closed = true
    for (const waiter of this.#waiters.splice(0)) {
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort)
      waiter.reject(new DtaError('CUSTODY_UNAVAILABLE', 'custody is closed'))
    }
    this.#closing = (async () => {
      if (this.#busy > 0) await new Promise<void>(resolve => { this.#idle = resolve })
      for (const session of this.#free.splice(0)) {
        try { this.#m.lib.C_CloseSession(session) } catch { /* best effort */ }
      }
      this.#open = 0
      unregisterLogin(this.#m, this.#token)
      releaseModule(this.#m)
    })()
    await this.#closing
  }
}

function sessionLostOr (err: unknown, fn: string): unknown {
  const code = ckrCode(err)
  if (code !== undefined && SESSION_LOST_CODES.has(code)) return new SessionLost(err, fn)
  return failure(fn, err)
}

/**
 * Opens pkcs11 custody: loads the module, finds the token by label, logs in, and finds the KEK by
 * label (it must exist: `createPkcs11Key` makes it). Throws a CUSTODY_* error saying what is wrong.
 */
export async function openPkcs11Custody (options: Pkcs11Options): Promise<Custody> {
  const size = checkOptions(options)
  const m = acquireModule(options.module)
  let token: Token | undefined
  let session: P11.Handle | undefined
  let registered = false
  try {
    token = findToken(m, options.tokenLabel)
    try {
      session = m.lib.C_OpenSession(token.slot, m.js.CKF_SERIAL_SESSION)
    } catch (err) {
      throw failure('C_OpenSession', err)
    }
    login(m, token, session, options.pin)
    registerLogin(m, token, options.pin)
    registered = true
    const { key, keyId } = findKey(m, session, token, options.keyLabel)
    return new Pkcs11Custody({ m, token, keyLabel: options.keyLabel, pin: options.pin, size, session, key, keyId })
  } catch (err) {
    if (session !== undefined) {
      try { m.lib.C_CloseSession(session) } catch { /* best effort */ }
    }
    if (registered && token !== undefined) unregisterLogin(m, token)
    releaseModule(m)
    throw err
  }
}

/**
 * Reads the token PIN from a file: a regular file, mode without any group/other bit, at most
 * 1 KiB, one line (a trailing newline is dropped). CUSTODY_PKCS11_PIN_FILE_INVALID otherwise.
 */
export async function readPkcs11PinFile (path: string): Promise<string> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error'
    throw new DtaError('CUSTODY_PKCS11_PIN_FILE_INVALID', `cannot open ${path} (${code})`, { cause: err })
  }
  try {
    const st = await handle.stat()
    if (!st.isFile() || st.size === 0 || st.size > MAX_PIN_FILE_BYTES) {
      throw new DtaError('CUSTODY_PKCS11_PIN_FILE_INVALID', `${path} must be a regular file of 1..${MAX_PIN_FILE_BYTES} bytes`)
    }
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new DtaError('CUSTODY_PKCS11_PIN_FILE_INVALID', `${path} has mode ${(st.mode & 0o777).toString(8)}; chmod 600 it`)
    }
    const bytes = await handle.readFile()
    const pin = bytes.toString('utf8').replace(/\r?\n$/, '')
    bytes.fill(0)
    if (pin === '' || /[\r\n]/.test(pin)) throw new DtaError('CUSTODY_PKCS11_PIN_FILE_INVALID', `${path} must hold the PIN on one line`)
    return pin
  } finally {
    await handle.close()
  }
}

/** Tests only: the number of modules this process holds loaded (each is finalised when unused). */
export function loadedPkcs11Modules (): number {
  return modules.size
}
