/**
 * A small seeded PRNG (xorshift128+ over BigInt-free 32-bit halves, i.e. sfc32) so that fuzz and
 * sampling tests are reproducible: a failure prints its seed and case number.
 * @module
 */
export function prng (seed: number): { next: () => number, int: (n: number) => number, bytes: (n: number) => Uint8Array } {
  let a = 0x9e3779b9 ^ seed; let b = 0x243f6a88; let c = 0xb7e15162; let d = seed | 0
  const next = (): number => {
    a |= 0; b |= 0; c |= 0; d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 16; i++) next()
  const int = (n: number): number => Math.floor(next() * n)
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256))
  return { next, int, bytes }
}
