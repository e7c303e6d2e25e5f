/**
 * Hash, MAC and KDF helpers over `node:crypto`, plus the few byte utilities every crypto file
 * needs. Everything is synchronous: the native calls are microseconds long, so an async API would
 * only add scheduling cost. Outputs are always fresh plain `Uint8Array`s (never views into Node's
 * shared Buffer pool), so callers can `wipe()` them and compare them with `deepStrictEqual`.
 *
 * HKDF comes in two shapes: `hkdfSha256` (Extract+Expand in one native call) for ordinary key
 * derivation, and `hkdfExtractSha256` / `hkdfExpandSha256` for protocols such as HPKE whose
 * labelled key schedule needs the two halves separately.
 * @module
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto'
import { accounted } from '../accounting.ts'

const encoder = new TextEncoder()

/** UTF-8 encoding of a string. */
export function utf8 (s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s)
}

function bytesOf (v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? utf8(v) : v
}

/** Copies a Node Buffer into a standalone Uint8Array (a Buffer may be a view into a shared pool). */
export function fromBuffer (b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b)
}

/** A Buffer view of the same memory (no copy), for `node:crypto` signatures that are typed as Buffer-only. */
export function asBuffer (u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength)
}

/** Concatenation of byte strings. */
export function concatBytes (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** SHA-256 digest (32 bytes). */
export const sha256 = accounted('crypto', function sha256 (data: Uint8Array): Uint8Array<ArrayBuffer> {
  return fromBuffer(createHash('sha256').update(data).digest())
})

/** SHA3-256 digest (32 bytes). */
export function sha3_256 (data: Uint8Array): Uint8Array<ArrayBuffer> {
  return fromBuffer(createHash('sha3-256').update(data).digest())
}

/** SHAKE256 with `outputLength` bytes of output. */
export function shake256 (data: Uint8Array, outputLength: number): Uint8Array<ArrayBuffer> {
  return fromBuffer(createHash('shake256', { outputLength }).update(data).digest())
}

/** HMAC-SHA256 (32 bytes). */
export const hmacSha256 = accounted('crypto', function hmacSha256 (key: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
  return fromBuffer(createHmac('sha256', key).update(data).digest())
})

/** RFC 5869 HKDF-SHA256 (Extract then Expand). `salt` and `info` may be bytes or UTF-8 strings. */
export const hkdfSha256 = accounted('crypto', function hkdfSha256 (ikm: Uint8Array, salt: Uint8Array | string, info: Uint8Array | string, length: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(hkdfSync('sha256', ikm, bytesOf(salt), bytesOf(info), length))
})

/** RFC 5869 HKDF-Extract with SHA-256: PRK = HMAC-SHA256(salt, ikm). An empty salt means 32 zero bytes. */
export function hkdfExtractSha256 (salt: Uint8Array, ikm: Uint8Array): Uint8Array<ArrayBuffer> {
  return hmacSha256(salt, ikm)
}

/** RFC 5869 HKDF-Expand with SHA-256 (at most 255 × 32 bytes). */
export function hkdfExpandSha256 (prk: Uint8Array, info: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(length) || length < 0 || length > 255 * 32) {
    throw new RangeError('HKDF-Expand length out of range')
  }
  const out = new Uint8Array(length)
  let previous: Uint8Array = new Uint8Array(0)
  for (let i = 1, offset = 0; offset < length; i++) {
    const block = fromBuffer(createHmac('sha256', prk).update(previous).update(info).update(Uint8Array.of(i)).digest())
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset)
    offset += block.length
    wipe(previous)
    previous = block
  }
  wipe(previous)
  return out
}

/** Constant-time equality for equal-length inputs; `false` (early) when the lengths differ. */
export function timingSafeEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  return nodeTimingSafeEqual(a, b)
}

/**
 * An injective encoding of a list of strings: each as a 4-byte big-endian UTF-8 byte length
 * followed by its bytes, so no two different lists encode alike ("ab","c" ≠ "a","bc"). Used
 * wherever several values are bound into one signed or key-derivation input.
 */
export function lengthPrefixed (...fields: string[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = []
  for (const field of fields) {
    if (typeof field !== 'string') throw new TypeError('lengthPrefixed takes strings')
    const bytes = utf8(field)
    const len = new Uint8Array(4)
    new DataView(len.buffer).setUint32(0, bytes.length, false)
    parts.push(len, bytes)
  }
  return concatBytes(...parts)
}

/** Overwrites a buffer with zeros. */
export function wipe (buf: Uint8Array): void {
  buf.fill(0)
}

/** Lower-case hex of bytes. */
export function toHex (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}
