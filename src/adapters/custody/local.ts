/**
 * The `local` custody backend: a 256-bit key encryption key (KEK) held in this process, used to
 * seal records with AES-256-GCM in the self-describing layout of src/ports/custody.ts.
 *
 * The KEK comes from one of two places, chosen at `milagro init`:
 * - a key file: exactly 32 random bytes, created with mode 0600 by `createLocalKeyFile`, which
 *   refuses to overwrite an existing file (losing the KEK loses every seed). On open, a file that
 *   is not a regular 32-byte file, or that grants any permission to group or others, is refused;
 * - a passphrase: KEK = scrypt(passphrase (NFC), salt, N = 2^17, r = 8, p = 1, 32 bytes). The salt,
 *   the cost parameters and the KEK's key id live in a small JSON parameters file written by
 *   `initLocalPassphrase` beside the key file; the key id lets a wrong passphrase be reported at
 *   open (CUSTODY_WRONG_PASSPHRASE) instead of as integrity failures later. The key id is no
 *   help to an attacker that a sealed record in the database would not already give.
 *
 * Both files are written with `writeSecretFile` (src/adapters/secret-file.ts: a synced temporary
 * file hard-linked into place, so a crash never leaves half a key and nothing is overwritten), and
 * the key file is read with `readSecretFile` (the mode checked on the opened file).
 *
 * The KEK buffer is wiped on `close()`. Nothing here ever puts plaintext or key bytes in an error.
 * @module
 */
import { mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { scrypt } from 'node:crypto'
import type { AbortOptions } from '../../ports/common.ts'
import { abortError, DtaError, isDtaError } from '../../errors.ts'
import { aes256GcmDecrypt, aes256GcmEncrypt } from '../../crypto/aead.ts'
import { hmacSha256, toHex, utf8, wipe } from '../../crypto/hash.ts'
import { randomBytes } from '../../crypto/random.ts'
import { readSecretFile, writeSecretFile } from '../secret-file.ts'
import { checkRecordId, KEK_ID_LABEL, openSealedRecord, sealedRecord, sealedRecordAad, SEALED_KEY_ID_BYTES, SEALED_NONCE_BYTES } from '../../core/sealed-record.ts'
import type { Custody } from '../../ports/custody.ts'

export const LOCAL_KEK_BYTES = 32

/** The scrypt cost used by `initLocalPassphrase` unless told otherwise (about 128 MiB, ~0.3 s). */
export const DEFAULT_SCRYPT_COST = { N: 2 ** 17, r: 8, p: 1 } as const
/** Bounds accepted in a parameters file: N = 2^14 .. 2^20, r 1..32, p 1..16. */
const MIN_LOG_N = 14
const MAX_LOG_N = 20
const SALT_BYTES = 32
const PARAMS_FORMAT = 'milagro-dta/custody-params'

export interface LocalKeyFileSource {
  keyFile: string
}

export interface LocalPassphraseSource {
  passphrase: string
  paramsFile: string
}

export type LocalCustodySource = LocalKeyFileSource | LocalPassphraseSource

export interface ScryptCost {
  N: number
  r: number
  p: number
}

/** The parameters file written by `initLocalPassphrase` (no secret in it). */
interface ParamsFile {
  format: typeof PARAMS_FORMAT
  version: 1
  kdf: 'scrypt'
  N: number
  r: number
  p: number
  salt: string // base64
  keyId: string // hex
}

function kekKeyId (kek: Uint8Array): Uint8Array {
  const mac = hmacSha256(kek, utf8(KEK_ID_LABEL))
  const id = mac.slice(0, SEALED_KEY_ID_BYTES)
  wipe(mac)
  return id
}

function errnoCode (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
}

/**
 * Creates a new key file holding 32 random bytes, mode 0600. Refuses (CUSTODY_KEY_FILE_EXISTS)
 * if anything exists at `path`. Returns the new KEK's key id (hex).
 */
export async function createLocalKeyFile (path: string): Promise<{ keyId: string }> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const kek = randomBytes(LOCAL_KEK_BYTES)
  try {
    await writeSecretFile(path, kek, { mode: 0o600, exclusive: true })
    return { keyId: toHex(kekKeyId(kek)) }
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') throw new DtaError('CUSTODY_KEY_FILE_EXISTS', path)
    throw new DtaError('CUSTODY_UNAVAILABLE', `cannot create ${path} (${errnoCode(err) ?? 'error'})`, { cause: err })
  } finally {
    wipe(kek)
  }
}

/** Reads and checks a key file: regular file, exactly 32 bytes, no group/other permission bits. */
async function readKeyFile (path: string): Promise<Uint8Array> {
  const bytes = await readSecretFile(path, {
    missingCode: 'CUSTODY_KEY_FILE_NOT_FOUND',
    unreadableCode: 'CUSTODY_UNAVAILABLE',
    invalidCode: 'CUSTODY_KEY_FILE_INVALID',
    insecureCode: 'CUSTODY_KEY_FILE_INSECURE',
    minBytes: LOCAL_KEK_BYTES,
    maxBytes: LOCAL_KEK_BYTES
  })
  const kek = Uint8Array.from(bytes)
  bytes.fill(0)
  return kek
}

function checkCost (cost: ScryptCost): void {
  const logN = Math.log2(cost.N)
  const ok = Number.isInteger(logN) && logN >= MIN_LOG_N && logN <= MAX_LOG_N &&
    Number.isInteger(cost.r) && cost.r >= 1 && cost.r <= 32 &&
    Number.isInteger(cost.p) && cost.p >= 1 && cost.p <= 16
  if (!ok) throw new DtaError('CUSTODY_PARAMS_INVALID', `scrypt cost out of range (N = 2^${MIN_LOG_N}..2^${MAX_LOG_N}, r 1..32, p 1..16)`)
}

function passphraseBytes (passphrase: string): Uint8Array {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new DtaError('CUSTODY_PASSPHRASE_MISSING')
  return utf8(passphrase.normalize('NFC'))
}

async function deriveKek (passphrase: string, salt: Uint8Array, cost: ScryptCost): Promise<Uint8Array> {
  const pass = passphraseBytes(passphrase)
  try {
    const maxmem = 256 * cost.N * cost.r + 1024 * 1024 // scrypt needs ~128·N·r bytes; leave headroom
    const key = await new Promise<Buffer>((resolve, reject) => {
      scrypt(pass, salt, LOCAL_KEK_BYTES, { N: cost.N, r: cost.r, p: cost.p, maxmem }, (err, out) => {
        if (err !== null) reject(err)
        else resolve(out)
      })
    })
    const kek = new Uint8Array(key)
    key.fill(0)
    return kek
  } catch (err) {
    throw new DtaError('CUSTODY_UNAVAILABLE', 'scrypt failed', { cause: err })
  } finally {
    wipe(pass)
  }
}

/**
 * Sets up passphrase custody: draws a salt, derives the KEK, and writes the parameters file
 * (mode 0600, refusing to overwrite). Returns the key id. `cost` defaults to DEFAULT_SCRYPT_COST.
 */
export async function initLocalPassphrase (init: { passphrase: string, paramsFile: string, cost?: ScryptCost }): Promise<{ keyId: string }> {
  const cost = init.cost ?? DEFAULT_SCRYPT_COST
  checkCost(cost)
  wipe(passphraseBytes(init.passphrase)) // refuse an empty passphrase before touching the disk
  const salt = randomBytes(SALT_BYTES)
  const kek = await deriveKek(init.passphrase, salt, cost)
  const keyId = toHex(kekKeyId(kek))
  wipe(kek)
  const params: ParamsFile = {
    format: PARAMS_FORMAT, version: 1, kdf: 'scrypt', N: cost.N, r: cost.r, p: cost.p,
    salt: Buffer.from(salt).toString('base64'), keyId
  }
  await mkdir(dirname(init.paramsFile), { recursive: true, mode: 0o700 })
  // exclusive: a crash leaves either no parameters file or a complete one, and nothing is overwritten
  try {
    await writeSecretFile(init.paramsFile, JSON.stringify(params, null, 2) + '\n', { mode: 0o600, exclusive: true })
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') throw new DtaError('CUSTODY_KEY_FILE_EXISTS', init.paramsFile)
    throw new DtaError('CUSTODY_UNAVAILABLE', `cannot write ${init.paramsFile} (${errnoCode(err) ?? 'error'})`, { cause: err })
  }
  return { keyId }
}

async function readParams (paramsFile: string): Promise<{ salt: Uint8Array, cost: ScryptCost, keyId: string }> {
  let text: string
  try {
    text = await readFile(paramsFile, 'utf8')
  } catch (err) {
    throw new DtaError('CUSTODY_PARAMS_INVALID', `cannot read ${paramsFile} (${errnoCode(err) ?? 'error'})`, { cause: err })
  }
  let p: Partial<ParamsFile>
  try {
    p = JSON.parse(text) as Partial<ParamsFile>
  } catch (err) {
    throw new DtaError('CUSTODY_PARAMS_INVALID', `${paramsFile} is not JSON`, { cause: err })
  }
  if (typeof p !== 'object' || p === null || p.format !== PARAMS_FORMAT || p.version !== 1 || p.kdf !== 'scrypt' ||
      typeof p.N !== 'number' || typeof p.r !== 'number' || typeof p.p !== 'number' ||
      typeof p.salt !== 'string' || typeof p.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(p.keyId)) {
    throw new DtaError('CUSTODY_PARAMS_INVALID', `${paramsFile} lacks a field or has a wrong one`)
  }
  const cost = { N: p.N, r: p.r, p: p.p }
  checkCost(cost)
  const salt = new Uint8Array(Buffer.from(p.salt, 'base64'))
  if (salt.length < 16) throw new DtaError('CUSTODY_PARAMS_INVALID', `${paramsFile}: salt shorter than 16 bytes`)
  return { salt, cost, keyId: p.keyId }
}

class LocalCustody implements Custody {
  readonly backend = 'local'
  readonly keyId: string
  #kek: Uint8Array | undefined
  readonly #keyIdBytes: Uint8Array

  constructor (kek: Uint8Array) {
    this.#kek = kek
    this.#keyIdBytes = kekKeyId(kek)
    this.keyId = toHex(this.#keyIdBytes)
  }

  #key (options?: AbortOptions): Uint8Array {
    if (options?.signal?.aborted === true) throw abortError(options.signal)
    if (this.#kek === undefined) throw new DtaError('CUSTODY_UNAVAILABLE', 'custody is closed')
    return this.#kek
  }

  async seal (recordId: string, plaintext: Uint8Array, options?: AbortOptions): Promise<Uint8Array> {
    const kek = this.#key(options)
    checkRecordId(recordId)
    const nonce = randomBytes(SEALED_NONCE_BYTES)
    const body = aes256GcmEncrypt(kek, nonce, plaintext, sealedRecordAad(this.#keyIdBytes, recordId))
    return sealedRecord(this.#keyIdBytes, nonce, body)
  }

  async unseal (recordId: string, sealed: Uint8Array, options?: AbortOptions): Promise<Uint8Array> {
    const kek = this.#key(options)
    checkRecordId(recordId)
    const { nonce, ciphertextAndTag } = openSealedRecord(sealed, this.#keyIdBytes)
    try {
      return aes256GcmDecrypt(kek, nonce, ciphertextAndTag, sealedRecordAad(this.#keyIdBytes, recordId))
    } catch (err) {
      if (isDtaError(err, 'CRYPTO_DECRYPT_FAILED')) throw new DtaError('CUSTODY_INTEGRITY', undefined, { cause: err })
      throw err
    }
  }

  async close (): Promise<void> {
    if (this.#kek !== undefined) wipe(this.#kek)
    this.#kek = undefined
  }
}

/**
 * Opens local custody from a key file (`{ keyFile }`) or a passphrase and its parameters file
 * (`{ passphrase, paramsFile }`). Throws a CUSTODY_* error explaining what is wrong.
 */
export async function openLocalCustody (source: LocalCustodySource): Promise<Custody> {
  if ('keyFile' in source) return new LocalCustody(await readKeyFile(source.keyFile))
  const params = await readParams(source.paramsFile)
  const kek = await deriveKek(source.passphrase, params.salt, params.cost)
  const id = toHex(kekKeyId(kek))
  if (id !== params.keyId) {
    wipe(kek)
    throw new DtaError('CUSTODY_WRONG_PASSPHRASE')
  }
  return new LocalCustody(kek)
}
