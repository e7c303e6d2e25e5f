/**
 * Loaded PKCS#11 modules, the token, and the login, shared in the process:
 * - one loaded module per module path per process, shared by reference count; C_Initialize with
 *   CKF_OS_LOCKING_OK (the async calls run on libuv worker threads: without it the module's state
 *   is corrupted), C_Finalize when the last user closes;
 * - PKCS#11 login is per application and token, so the first session logs in and the others
 *   inherit it; the process remembers an HMAC of the PIN it logged in with, so a second instance
 *   with a different (wrong) PIN is refused although the token would answer
 *   CKR_USER_ALREADY_LOGGED_IN. Closing the last session logs the application out (PKCS#11 §5.6);
 *   we never C_Logout, which would log out other users in this process.
 *
 * Errors: missing module or addon → CUSTODY_PKCS11_MODULE_NOT_FOUND; no such token →
 * CUSTODY_PKCS11_TOKEN_NOT_FOUND (or _AMBIGUOUS); PIN → CUSTODY_PKCS11_PIN_INCORRECT / _LOCKED.
 * The PIN never appears in an error.
 * @module
 */
import { existsSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type * as P11 from 'pkcs11js'
import { DtaError } from '../../../errors.ts'
import { hmacSha256, timingSafeEqual, utf8, wipe } from '../../../crypto/hash.ts'
import { randomBytes } from '../../../crypto/random.ts'
import { pkcs11js } from './binding.ts'
import type { Pkcs11Js } from './binding.ts'
import { CKR, ckrCode, ckrName, failure } from './ckr.ts'

/** Debian's SoftHSM2 module, the default `node.pkcs11Module`. */
export const DEFAULT_PKCS11_MODULE = '/usr/lib/softhsm/libsofthsm2.so'

interface LoginEntry {
  /** Custody instances (and init calls) of this process with sessions open on the token. */
  refs: number
  /** HMAC of the PIN the process logged in with. */
  pinDigest: Uint8Array
}

export interface SharedModule {
  readonly path: string
  readonly js: Pkcs11Js
  readonly lib: P11.PKCS11
  refs: number
  /** Whether we called C_Initialize (and so must C_Finalize). */
  readonly finalize: boolean
  /** By slot id (hex). */
  readonly logins: Map<string, LoginEntry>
}

export interface Token {
  readonly slot: P11.Handle
  readonly slotKey: string
  readonly serial: string
}

const modules = new Map<string, SharedModule>()
const PIN_DIGEST_KEY = randomBytes(32)

function pinDigest (pin: string): Uint8Array {
  return hmacSha256(PIN_DIGEST_KEY, utf8(pin))
}

function moduleKey (path: string): string {
  return path.includes('/') ? resolve(path) : path
}

/** Loads and initialises the module at `path`, or takes one more reference to the loaded one. */
export function acquireModule (path: string): SharedModule {
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

/** Drops a reference; the last one finalises (if we initialised) and unloads the module. */
export function releaseModule (m: SharedModule): void {
  if (--m.refs > 0) return
  modules.delete(m.path)
  try {
    if (m.finalize) m.lib.C_Finalize()
  } catch { /* best effort: nothing of ours is open any more */ }
  try { m.lib.close() } catch { /* best effort */ }
}

/** The one initialised token labelled `label`. */
export function findToken (m: SharedModule, label: string): Token {
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
export function login (m: SharedModule, token: Token, session: P11.Handle, pin: string): void {
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

/** Records one more user of the login on `token` (after a successful `login`). */
export function registerLogin (m: SharedModule, token: Token, pin: string): void {
  const entry = m.logins.get(token.slotKey)
  if (entry !== undefined) entry.refs++
  else m.logins.set(token.slotKey, { refs: 1, pinDigest: pinDigest(pin) })
}

/** Forgets one user of the login on `token`; the last one wipes the PIN's HMAC. */
export function unregisterLogin (m: SharedModule, token: Token): void {
  const entry = m.logins.get(token.slotKey)
  if (entry === undefined) return
  if (--entry.refs <= 0) {
    wipe(entry.pinDigest)
    m.logins.delete(token.slotKey)
  }
}

/** Tests only: the number of modules this process holds loaded (each is finalised when unused). */
export function loadedPkcs11Modules (): number {
  return modules.size
}
