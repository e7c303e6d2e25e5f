/**
 * Files that hold a secret on disk — the local custody key file, the IPFS private-network key
 * (`swarm.key`), the IPFS peer key (`peer.key`) — are refused when group or others have any
 * permission on them (the operator fixes it with `chmod 600`), exactly as ssh refuses a readable
 * private key: a key that other accounts could read is a key that may already have been copied.
 *
 * The check is made on the opened file's own `fstat`, never on the path before opening it, so a
 * file swapped between the check and the read is never read unchecked. Windows has no POSIX mode
 * bits; the check is skipped there (as Node reports them, they say nothing about the ACL).
 * Errors name the file and its mode, never its content; each caller chooses its own codes.
 *
 * `writeSecretFile` is the one atomic write of such files (and of config.yaml): a temporary file
 * beside the target — the same folder, so the same filesystem — created with the caller's mode
 * (set again with chmod, whatever the umask), written, fsynced, then renamed over the target or,
 * when it must not replace anything, hard-linked to it (link() is atomic and fails if the target
 * exists); then the folder is fsynced so the new entry survives a crash. A crash leaves the old
 * file (or none) or the complete new one, never a part of one.
 * @module
 */
import { link, open, rename, rm } from 'node:fs/promises'
import { constants as fsConstants } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import { DtaError } from '../errors.ts'
import type { ErrorCode } from '../errors.ts'

/**
 * Throws `code` (detail: `<path> has mode <octal>`, then ` (<hint>)` if given) if group or others
 * have any permission bit.
 */
export function assertOwnerOnly (path: string, stats: { mode: number }, code: ErrorCode, hint?: string): void {
  if (process.platform === 'win32') return
  if ((stats.mode & 0o077) !== 0) {
    throw new DtaError(code, `${path} has mode ${(stats.mode & 0o777).toString(8)}${hint === undefined ? '' : ` (${hint})`}`)
  }
}

export interface ReadSecretFileOptions {
  /** The code when group or others may access the file. */
  insecureCode: ErrorCode
  /** The code when the file is not a regular file, or is smaller or larger than allowed. */
  invalidCode: ErrorCode
  /** The code when the file exists but cannot be opened (detail `cannot open <path> (<errno>)`). Default: `invalidCode`. */
  unreadableCode?: ErrorCode
  /** The code when the file does not exist (detail: the path). Default: as when it cannot be opened. */
  missingCode?: ErrorCode
  /** Smallest accepted size in bytes. Default 1: an empty file is refused. */
  minBytes?: number
  /** Largest accepted size in bytes. */
  maxBytes: number
  /** Added to the detail of `insecureCode` when its message does not say how to fix it, e.g. `chmod 600`. */
  insecureHint?: string
}

/**
 * Reads a whole secret file: a regular file of `minBytes` (default 1) to `maxBytes`, with no
 * group or other permission bit. The caller owns (and should wipe) the returned buffer.
 */
export async function readSecretFile (path: string, options: ReadSecretFileOptions): Promise<Buffer> {
  const bytes = await readSecretFileIfPresent(path, options)
  if (bytes === undefined) {
    if (options.missingCode !== undefined) throw new DtaError(options.missingCode, path)
    throw new DtaError(options.unreadableCode ?? options.invalidCode, `cannot open ${path} (ENOENT)`)
  }
  return bytes
}

/** As `readSecretFile`, but a file that does not exist gives `undefined` (e.g. to create it). */
export async function readSecretFileIfPresent (path: string, options: ReadSecretFileOptions): Promise<Buffer | undefined> {
  const minBytes = options.minBytes ?? 1
  const size = minBytes === options.maxBytes ? `${minBytes}` : `${minBytes} to ${options.maxBytes}`
  const invalid = (): DtaError => new DtaError(options.invalidCode, `${path} must be a regular file of ${size} bytes`)
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    const errno = (err as { code?: unknown }).code
    if (errno === 'ENOENT') return undefined
    throw new DtaError(options.unreadableCode ?? options.invalidCode, `cannot open ${path} (${typeof errno === 'string' ? errno : 'error'})`, { cause: err })
  }
  try {
    const stats = await handle.stat() // of the opened file: no race with a swapped path
    if (!stats.isFile() || stats.size < minBytes || stats.size > options.maxBytes) throw invalid()
    assertOwnerOnly(path, stats, options.insecureCode, options.insecureHint)
    const bytes = await handle.readFile()
    if (bytes.length < minBytes || bytes.length > options.maxBytes) { // changed since the stat
      bytes.fill(0)
      throw invalid()
    }
    return bytes
  } finally {
    await handle.close()
  }
}

export interface WriteSecretFileOptions {
  /** Permission bits of the file, e.g. 0o600 (set with chmod, so the umask cannot loosen or tighten them). */
  mode: number
  /**
   * true: never replace an existing file — the write fails with the `EEXIST` error and `path` is
   * left as it was (the temporary file is hard-linked into place). false: replace it atomically (rename).
   */
  exclusive: boolean
}

/**
 * Writes `data` to `path` atomically and durably (see the module comment). The folder must
 * exist. Throws the filesystem error itself (its `code`: EEXIST, EACCES, ENOSPC…) for the caller
 * to turn into its own error code; the temporary file is removed in every case.
 */
export async function writeSecretFile (path: string, data: Uint8Array | string, options: WriteSecretFileOptions): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const handle = await open(tmp, 'wx', options.mode) // wx: never through a file or link already there
    try {
      await handle.chmod(options.mode)
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (options.exclusive) await link(tmp, path)
    else await rename(tmp, path)
  } finally {
    await rm(tmp, { force: true }) // after link(): the second name; after rename(): already gone
  }
  await syncDir(dirname(path))
}

/** Fsyncs a folder so that a new entry in it survives a crash. */
async function syncDir (dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, fsConstants.O_RDONLY)
    await handle.sync()
  } catch {
    // Some platforms (Windows) cannot open a directory; the file itself is already synced.
  } finally {
    await handle?.close()
  }
}
