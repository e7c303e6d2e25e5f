/**
 * The randomness source: right lengths, no repeats, invalid lengths refused.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { randomBytes } from '../../../src/crypto/random.ts'

test('randomBytes returns n fresh bytes as a plain Uint8Array', () => {
  for (const n of [0, 1, 12, 32, 1000]) {
    const b = randomBytes(n)
    assert.equal(b.length, n)
    assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype)
  }
})

test('randomBytes does not repeat and is not constant', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 100; i++) seen.add(Buffer.from(randomBytes(16)).toString('hex'))
  assert.equal(seen.size, 100)
  const big = randomBytes(4096)
  const distinct = new Set(big).size
  assert.ok(distinct > 200, `only ${distinct} distinct byte values in 4 KiB`)
})

test('randomBytes rejects invalid lengths', () => {
  for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => randomBytes(n), RangeError)
})
