/**
 * The custody conformance suite: every custody backend (local now, pkcs11 later) must pass it
 * unchanged. It knows only the Custody port and the sealed-record layout the port defines
 * (version ‖ key id ‖ nonce ‖ ciphertext ‖ tag, AAD = version ‖ key id ‖ record id).
 *
 * Usage: `custodyConformance('local (key file)', async () => fixture)` where the fixture opens the
 * backend under test (twice on the same KEK gives the same key), opens one under a different KEK,
 * and cleans up afterwards.
 * @module
 */

import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isDtaError } from '../../src/errors.ts'
import type { ErrorCode } from '../../src/errors.ts'
import { SEALED_HEADER_BYTES, SEALED_KEY_ID_BYTES, SEALED_MIN_BYTES, SEALED_TAG_BYTES, SEALED_VERSION, sealedRecordKeyId } from '../../src/core/sealed-record.ts'
import type { Custody } from '../../src/ports/custody.ts'

export interface CustodyFixture {
  /** Opens the backend under test; every call uses the same KEK. */
  open (): Promise<Custody>
  /** Opens the same backend under a different KEK. */
  openOther (): Promise<Custody>
  /** Removes whatever the fixture created. */
  cleanup (): Promise<void>
}

async function rejectsWith (promise: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isDtaError(err, code), `${what}: expected ${code}, got ${String(err)}`)
    return true
  })
}

function bytes (n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
}

export function custodyConformance (name: string, factory: () => Promise<CustodyFixture>): void {
  describe(`custody conformance: ${name}`, () => {
    let fixture: CustodyFixture
    let custody: Custody
    before(async () => {
      fixture = await factory()
      custody = await fixture.open()
    })
    after(async () => {
      await custody.close()
      await fixture.cleanup()
    })

    it('names its backend and a 16-hex-digit key id', () => {
      assert.equal(typeof custody.backend, 'string')
      assert.ok(custody.backend.length > 0)
      assert.match(custody.keyId, /^[0-9a-f]{16}$/)
    })

    it('round trips 0, 1, 32, 64 and 4096-byte plaintexts', async () => {
      for (const n of [0, 1, 32, 64, 4096]) {
        const plain = bytes(n, n)
        const sealed = await custody.seal(`rt/${n}`, plain)
        assert.equal(sealed.length, SEALED_MIN_BYTES + n, 'record = header ‖ ciphertext ‖ tag')
        assert.deepEqual(await custody.unseal(`rt/${n}`, sealed), plain)
      }
    })

    it('writes the self-describing header: version, key id, nonce', async () => {
      const sealed = await custody.seal('header', bytes(32, 1))
      assert.equal(sealed[0], SEALED_VERSION)
      assert.equal(sealedRecordKeyId(sealed), custody.keyId)
    })

    it('never shows the plaintext in the record', async () => {
      const plain = bytes(64, 7)
      const sealed = await custody.seal('opaque', plain)
      const hay = Buffer.from(sealed)
      assert.equal(hay.indexOf(Buffer.from(plain.subarray(0, 16))), -1)
    })

    it('draws a fresh nonce per seal: the same plaintext twice gives different records', async () => {
      const plain = bytes(32, 3)
      const a = await custody.seal('same', plain)
      const b = await custody.seal('same', plain)
      assert.notDeepEqual(a.subarray(1 + SEALED_KEY_ID_BYTES, SEALED_HEADER_BYTES), b.subarray(1 + SEALED_KEY_ID_BYTES, SEALED_HEADER_BYTES))
      assert.notDeepEqual(a, b)
      assert.deepEqual(await custody.unseal('same', a), plain)
      assert.deepEqual(await custody.unseal('same', b), plain)
    })

    it('binds the record id: a record moved to another id fails', async () => {
      const sealed = await custody.seal('order/fiduciary/abc', bytes(32, 4))
      await rejectsWith(custody.unseal('order/fiduciary/abd', sealed), 'CUSTODY_INTEGRITY', 'other id')
      await rejectsWith(custody.unseal('order/fiduciary/ab', sealed), 'CUSTODY_INTEGRITY', 'prefix id')
      await rejectsWith(custody.unseal('order/fiduciary/abc ', sealed), 'CUSTODY_INTEGRITY', 'suffix id')
    })

    it('detects a change in every byte of the record', async () => {
      const plain = bytes(64, 5)
      const sealed = await custody.seal('tamper', plain)
      for (let i = 0; i < sealed.length; i++) {
        for (const flip of [0x01, 0x80]) {
          const bad = sealed.slice()
          bad[i] ^= flip
          const code: ErrorCode = i === 0
            ? 'CUSTODY_UNSUPPORTED_VERSION'
            : i <= SEALED_KEY_ID_BYTES ? 'CUSTODY_WRONG_KEY' : 'CUSTODY_INTEGRITY'
          await rejectsWith(custody.unseal('tamper', bad), code, `byte ${i} ^ ${flip}`)
        }
      }
    })

    it('detects truncation and extension', async () => {
      const sealed = await custody.seal('trunc', bytes(64, 6))
      for (const n of [0, 1, SEALED_HEADER_BYTES, SEALED_MIN_BYTES - 1, sealed.length - 1, sealed.length - SEALED_TAG_BYTES]) {
        await rejectsWith(custody.unseal('trunc', sealed.subarray(0, n)), 'CUSTODY_INTEGRITY', `truncated to ${n}`)
      }
      const longer = new Uint8Array(sealed.length + 1)
      longer.set(sealed)
      await rejectsWith(custody.unseal('trunc', longer), 'CUSTODY_INTEGRITY', 'extended')
    })

    it('recognises a record sealed under another KEK', async () => {
      const other = await fixture.openOther()
      try {
        assert.notEqual(other.keyId, custody.keyId)
        const sealed = await other.seal('wrong-key', bytes(32, 8))
        await rejectsWith(custody.unseal('wrong-key', sealed), 'CUSTODY_WRONG_KEY', 'other KEK')
        // Even when the key id is forged to ours, the tag fails.
        const forged = sealed.slice()
        const ours = await custody.seal('x', new Uint8Array(0))
        forged.set(ours.subarray(1, 1 + SEALED_KEY_ID_BYTES), 1)
        await rejectsWith(custody.unseal('wrong-key', forged), 'CUSTODY_INTEGRITY', 'forged key id')
      } finally {
        await other.close()
      }
    })

    it('opens records sealed by another instance on the same KEK', async () => {
      const again = await fixture.open()
      try {
        assert.equal(again.keyId, custody.keyId)
        const plain = bytes(32, 9)
        assert.deepEqual(await again.unseal('reopen', await custody.seal('reopen', plain)), plain)
      } finally {
        await again.close()
      }
    })

    it('seals concurrently without mixing records', async () => {
      const n = 64
      const plains = Array.from({ length: n }, (_, i) => bytes(32, i + 100))
      const sealed = await Promise.all(plains.map(async (p, i) => await custody.seal(`c/${i}`, p)))
      const nonces = new Set(sealed.map(s => Buffer.from(s.subarray(1 + SEALED_KEY_ID_BYTES, SEALED_HEADER_BYTES)).toString('hex')))
      assert.equal(nonces.size, n)
      const opened = await Promise.all(sealed.map(async (s, i) => await custody.unseal(`c/${i}`, s)))
      opened.forEach((p, i) => assert.deepEqual(p, plains[i]))
    })

    it('refuses an empty or over-long record id', async () => {
      await rejectsWith(custody.seal('', bytes(1, 0)), 'CUSTODY_BAD_RECORD_ID', 'empty id')
      await rejectsWith(custody.seal('x'.repeat(257), bytes(1, 0)), 'CUSTODY_BAD_RECORD_ID', 'long id')
    })

    it('honours an aborted signal', async () => {
      const signal = AbortSignal.abort()
      await rejectsWith(custody.seal('abort', bytes(1, 0), { signal }), 'ABORTED', 'seal')
      const sealed = await custody.seal('abort', bytes(1, 0))
      await rejectsWith(custody.unseal('abort', sealed, { signal }), 'ABORTED', 'unseal')
    })

    it('puts no plaintext in its errors', async () => {
      const plain = bytes(32, 11)
      const sealed = await custody.seal('err', plain)
      const bad = sealed.slice()
      bad[bad.length - 1] ^= 1
      const hex = Buffer.from(plain).toString('hex')
      await assert.rejects(custody.unseal('err', bad), (err: unknown) => {
        const text = `${String(err)} ${JSON.stringify(err)} ${(err as Error).stack ?? ''}`
        assert.ok(!text.includes(hex))
        return true
      })
    })

    it('refuses every call after close, and close is idempotent', async () => {
      const c = await fixture.open()
      const sealed = await c.seal('closed', bytes(8, 1))
      await c.close()
      await c.close()
      await rejectsWith(c.seal('closed', bytes(8, 1)), 'CUSTODY_UNAVAILABLE', 'seal after close')
      await rejectsWith(c.unseal('closed', sealed), 'CUSTODY_UNAVAILABLE', 'unseal after close')
    })
  })
}
