/**
 * The one source of randomness: `node:crypto` (the OS CSPRNG via OpenSSL). Nothing else in the
 * project may draw random bytes. Fills a fresh Uint8Array directly, so the result never shares
 * memory with Node's Buffer pool and can be wiped by the caller.
 * @module
 */
import { randomFillSync } from 'node:crypto'
import { accounted } from '../accounting.ts'

/** `n` cryptographically secure random bytes. */
export const randomBytes = accounted('crypto', function randomBytes (n: number): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('randomBytes: n must be a non-negative integer')
  const out = new Uint8Array(n)
  // randomFillSync handles at most 2^31-1 bytes per call; our callers ask for keys and nonces.
  randomFillSync(out)
  return out
})
