/**
 * The session pool of one custody instance, with the KEK's handle:
 * - a small pool of read-only sessions (default 4, the libuv pool size), opened on demand and
 *   logged in through module.ts; one operation per session at a time, callers beyond the pool
 *   size wait (cancellable by their signal);
 * - a session lost under us (CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN,
 *   handle or device errors) is closed and replaced, the key is looked up again (same key id
 *   required) and the operation is tried once more; a second loss is CUSTODY_UNAVAILABLE;
 * - closing waits for running operations, closes the sessions, and drops the pool's login and
 *   module references (the last session closed logs the application out).
 * @module
 */
import type * as P11 from 'pkcs11js'
import type { AbortOptions } from '../../../ports/common.ts'
import { abortError, DtaError } from '../../../errors.ts'
import { timingSafeEqual, toHex } from '../../../crypto/hash.ts'
import { ckrCode, ckrName, failure, SESSION_LOST_CODES } from './ckr.ts'
import { findKey } from './key.ts'
import { login, releaseModule, unregisterLogin } from './module.ts'
import type { SharedModule, Token } from './module.ts'

interface Waiter {
  resolve: (session: P11.Handle) => void
  reject: (err: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

/** Thrown inside an operation when the session was lost; the pool retries once. */
export class SessionLost extends Error {
  readonly original: unknown
  readonly fn: string
  constructor (original: unknown, fn: string) {
    super('session lost')
    this.original = original
    this.fn = fn
  }
}

/** What an operation throws for a failed `fn`: SessionLost if the session is gone, else `failure`. */
export function sessionLostOr (err: unknown, fn: string): unknown {
  const code = ckrCode(err)
  if (code !== undefined && SESSION_LOST_CODES.has(code)) return new SessionLost(err, fn)
  return failure(fn, err)
}

export interface SessionPoolInit {
  m: SharedModule
  token: Token
  keyLabel: string
  pin: string
  size: number
  /** A session already open and logged in (registered with `registerLogin`): the pool owns it. */
  session: P11.Handle
  key: P11.Handle
  keyId: Uint8Array
}

/** Owns its sessions, one login reference and one module reference from construction on. */
export class SessionPool {
  readonly #m: SharedModule
  readonly #token: Token
  readonly #keyLabel: string
  readonly #pin: string
  readonly #size: number
  readonly #keyIdBytes: Uint8Array
  readonly #keyId: string
  #key: P11.Handle
  #keyStale = false
  readonly #free: P11.Handle[] = []
  #open = 0
  #busy = 0
  readonly #waiters: Waiter[] = []
  #closed = false
  #closing: Promise<void> | undefined
  #idle: (() => void) | undefined

  constructor (init: SessionPoolInit) {
    this.#m = init.m
    this.#token = init.token
    this.#keyLabel = init.keyLabel
    this.#pin = init.pin
    this.#size = init.size
    this.#key = init.key
    this.#keyIdBytes = init.keyId
    this.#keyId = toHex(init.keyId)
    this.#free.push(init.session)
    this.#open = 1
  }

  /** True from the moment `close()` is called. */
  get closed (): boolean {
    return this.#closed
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
  async withSession<T> (options: AbortOptions | undefined, op: (session: P11.Handle, key: P11.Handle) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.#acquire(options?.signal)
      let lost = false
      try {
        if (this.#keyStale) {
          const found = findKey(this.#m, session, this.#token, this.#keyLabel)
          if (!timingSafeEqual(found.keyId, this.#keyIdBytes)) {
            throw new DtaError('CUSTODY_UNAVAILABLE', `the key labelled "${this.#keyLabel}" is no longer the key ${this.#keyId}`)
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

  /** Refuses waiters, waits for running operations, closes every session, drops login and module. */
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
