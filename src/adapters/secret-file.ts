/**
 * Files that hold a secret on disk — the local custody key file, the IPFS private-network key
 * (`swarm.key`) — are refused when group or others have any permission on them (the operator
 * fixes it with `chmod 600`), exactly as ssh refuses a readable private key: a key that other
 * accounts could read is a key that may already have been copied.
 *
 * The check is made on the opened file's own `fstat`, never on the path before opening it, so a
 * file swapped between the check and the read is never read unchecked. Windows has no POSIX mode
 * bits; the check is skipped there (as Node reports them, they say nothing about the ACL).
 * Errors name the file and its mode, never its content.
 * @module
 */
import { open } from 'node:fs/promises'
import { DtaError } from '../errors.ts'
import type { ErrorCode } from '../errors.ts'

/** Throws `code` (detail: `<path> has mode <octal>`) if group or others have any permission bit. */
export function assertOwnerOnly (path: string, stats: { mode: number }, code: ErrorCode): void {
  if (process.platform === 'win32') return
  if ((stats.mode & 0o077) !== 0) {
    throw new DtaError(code, `${path} has mode ${(stats.mode & 0o777).toString(8)}`)
  }
}

export interface ReadSecretFileOptions {
  /** The code when group or others may access the file. */
  insecureCode: ErrorCode
  /** The code when the file cannot be opened, is not a regular file, is empty or too large. */
  invalidCode: ErrorCode
  /** Largest accepted size in bytes. */
  maxBytes: number
}

/**
 * Reads a whole secret file: a regular, non-empty file of at most `maxBytes`, with no group or
 * other permission bit. The caller owns (and should wipe) the returned buffer.
 */
export async function readSecretFile (path: string, options: ReadSecretFileOptions): Promise<Buffer> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    const errno = (err as { code?: unknown }).code
    throw new DtaError(options.invalidCode, `cannot open ${path} (${typeof errno === 'string' ? errno : 'error'})`, { cause: err })
  }
  try {
    const stats = await handle.stat() // of the opened file: no race with a swapped path
    if (!stats.isFile() || stats.size === 0 || stats.size > options.maxBytes) {
      throw new DtaError(options.invalidCode, `${path} must be a regular file of 1 to ${options.maxBytes} bytes`)
    }
    assertOwnerOnly(path, stats, options.insecureCode)
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}
