/**
 * The `pkcs11` Custody: records are sealed and opened by the HSM itself (C_Encrypt / C_Decrypt
 * with CKM_AES_GCM under the KEK of key.ts), in exactly the layout of src/ports/custody.ts:
 *
 *     version (1) ‖ key id (8) ‖ IV (12) ‖ ciphertext ‖ tag (16),   AAD = version ‖ key id ‖ utf8(recordId)
 *
 * The IV is 96 fresh random bits from the host CSPRNG for every seal; the tag is 128 bits.
 * Also here: `openPkcs11Custody` (module, token, login, key, pool), `createPkcs11Key` (for init
 * and migration only) and `readPkcs11PinFile`.
 *
 * pkcs11js' asynchronous calls keep raw pointers to the JavaScript buffers without holding them,
 * so every buffer handed to the HSM is our own, kept referenced until the call completes; the
 * plaintext copies (input of a seal, output of an unseal) are zeroed when done. The PIN is a
 * JavaScript string (pkcs11js takes one) held for re-login; it never appears in an error.
 * A missing PIN is CUSTODY_PKCS11_PIN_MISSING; a bad PIN file CUSTODY_PKCS11_PIN_FILE_INVALID.
 * @module
 */
import type * as P11 from 'pkcs11js'
import type { AbortOptions } from '../../../ports/common.ts'
import type { Custody } from '../../../ports/custody.ts'
import { abortError, DtaError } from '../../../errors.ts'
import { toHex, wipe } from '../../../crypto/hash.ts'
import { randomBytes } from '../../../crypto/random.ts'
import { checkRecordId, openSealedRecord, sealedRecord, sealedRecordAad, SEALED_NONCE_BYTES, SEALED_TAG_BYTES } from '../../../core/sealed-record.ts'
import { readSecretFile } from '../../secret-file.ts'
import { ckrCode, ckrName, failure, INTEGRITY_CODES } from './ckr.ts'
import { findKey, findKeys, generateKey, inspectKey } from './key.ts'
import { acquireModule, findToken, login, registerLogin, releaseModule, unregisterLogin } from './module.ts'
import type { SharedModule, Token } from './module.ts'
import { SessionPool, sessionLostOr } from './pool.ts'

export const DEFAULT_PKCS11_SESSIONS = 4
const MAX_SESSIONS = 32
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

function checkOptions (options: Pkcs11Options): number {
  if (typeof options.pin !== 'string' || options.pin === '') throw new DtaError('CUSTODY_PKCS11_PIN_MISSING')
  if (typeof options.tokenLabel !== 'string' || options.tokenLabel === '') throw new DtaError('CUSTODY_PKCS11_TOKEN_NOT_FOUND', 'node.pkcs11TokenLabel is empty')
  if (typeof options.keyLabel !== 'string' || options.keyLabel === '') throw new DtaError('CUSTODY_PKCS11_KEY_NOT_FOUND', 'node.pkcs11KeyLabel is empty')
  const sessions = options.sessions ?? DEFAULT_PKCS11_SESSIONS
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > MAX_SESSIONS) throw new RangeError(`sessions must be 1..${MAX_SESSIONS}`)
  return sessions
}

class Pkcs11Custody implements Custody {
  readonly backend = 'pkcs11'
  readonly keyId: string
  readonly #keyIdBytes: Uint8Array
  readonly #m: SharedModule
  readonly #pool: SessionPool

  constructor (m: SharedModule, pool: SessionPool, keyId: Uint8Array) {
    this.#m = m
    this.#pool = pool
    this.#keyIdBytes = keyId
    this.keyId = toHex(keyId)
  }

  #check (options?: AbortOptions): void {
    if (options?.signal?.aborted === true) throw abortError(options.signal)
    if (this.#pool.closed) throw new DtaError('CUSTODY_UNAVAILABLE', 'custody is closed')
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
      const body = await this.#pool.withSession(options, async (session, key) => {
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
      const plain = await this.#pool.withSession(options, async (session, key) => {
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
    await this.#pool.close()
  }
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
    const pool = new SessionPool({ m, token, keyLabel: options.keyLabel, pin: options.pin, size, session, key, keyId })
    return new Pkcs11Custody(m, pool, keyId)
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
 * Finds the KEK labelled `keyLabel` in the token, or generates it there (see key.ts for its
 * attributes). For `milagro init` and custody migration only — never at run time, so two
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
      const key = generateKey(m, session, options.keyLabel)
      return { keyId: toHex(inspectKey(m, session, key, token, options.keyLabel)), created: true }
    } finally {
      try { lib.C_CloseSession(session) } catch { /* best effort */ }
      if (registered) unregisterLogin(m, token)
    }
  } finally {
    releaseModule(m)
  }
}

/**
 * Reads the token PIN from a file: a regular file, mode without any group/other bit, at most
 * 1 KiB (checked by `readSecretFile`), one line (a trailing newline is dropped).
 * CUSTODY_PKCS11_PIN_FILE_INVALID otherwise.
 */
export async function readPkcs11PinFile (path: string): Promise<string> {
  const bytes = await readSecretFile(path, {
    insecureCode: 'CUSTODY_PKCS11_PIN_FILE_INVALID',
    invalidCode: 'CUSTODY_PKCS11_PIN_FILE_INVALID',
    maxBytes: MAX_PIN_FILE_BYTES,
    insecureHint: 'chmod 600 it'
  })
  let pin: string
  try {
    pin = bytes.toString('utf8').replace(/\r?\n$/, '')
  } finally {
    bytes.fill(0)
  }
  if (pin === '' || /[\r\n]/.test(pin)) throw new DtaError('CUSTODY_PKCS11_PIN_FILE_INVALID', `${path} must hold the PIN on one line`)
  return pin
}
