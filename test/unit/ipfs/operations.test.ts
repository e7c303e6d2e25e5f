/**
 * How the document stores classify the end of an operation: the caller's abort, the store's stop
 * and the fetch deadline each give their own code, promptly, whatever the work underneath does.
 * @module
 */

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DtaError } from '../../../src/errors.ts'
import { createOperations } from '../../../src/adapters/ipfs/operations.ts'
import { rejectsWith } from '../../conformance/document-store.ts'

/** Work that never finishes and ignores its signal, like a library that is slow to notice. */
const forever = async (): Promise<never> => new Promise<never>(() => {})

describe('operations', () => {
  it('refuses work before open and after close', async () => {
    const ops = createOperations()
    await rejectsWith(ops.run(undefined, async () => 1), 'DOCUMENT_STORE_STOPPED')
    ops.open()
    assert.equal(await ops.run(undefined, async () => 1), 1)
    ops.close()
    await rejectsWith(ops.run(undefined, async () => 1), 'DOCUMENT_STORE_STOPPED')
  })

  it('the deadline gives DOCUMENT_FETCH_TIMEOUT, on time, even if the work ignores its signal', async () => {
    const ops = createOperations()
    ops.open()
    const started = performance.now()
    await rejectsWith(ops.run(undefined, forever, 100), 'DOCUMENT_FETCH_TIMEOUT')
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 95 && elapsed < 1000, `${elapsed} ms`)
  })

  it('the caller\'s abort gives ABORTED at once, even with a deadline pending', async () => {
    const ops = createOperations()
    ops.open()
    const controller = new AbortController()
    const outcome = rejectsWith(ops.run({ signal: controller.signal }, forever, 10_000), 'ABORTED')
    const started = performance.now()
    controller.abort()
    await outcome
    assert.ok(performance.now() - started < 50)
  })

  it('close gives DOCUMENT_STORE_STOPPED to work in flight', async () => {
    const ops = createOperations()
    ops.open()
    const outcome = rejectsWith(ops.run(undefined, forever, 10_000), 'DOCUMENT_STORE_STOPPED')
    ops.close()
    await outcome
  })

  it('a specific failure is passed through, and the work sees an aborted signal afterwards', async () => {
    const ops = createOperations()
    ops.open()
    await rejectsWith(ops.run(undefined, async () => { throw new DtaError('DOCUMENT_CORRUPT') }, 1000), 'DOCUMENT_CORRUPT')
    let seen: AbortSignal | undefined
    const controller = new AbortController()
    const outcome = rejectsWith(ops.run({ signal: controller.signal }, async (signal) => {
      seen = signal
      return forever()
    }), 'ABORTED')
    controller.abort()
    await outcome
    assert.equal(seen?.aborted, true)
  })

  it('leaves no timer behind', async () => {
    const ops = createOperations()
    ops.open()
    const before = process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
    await ops.run(undefined, async () => 1, 60_000)
    assert.equal(process.getActiveResourcesInfo().filter(r => r === 'Timeout').length, before)
  })
})
