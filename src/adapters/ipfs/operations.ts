/**
 * Cancellation and lifecycle shared by the document store adapters: every operation runs under one
 * signal that combines the caller's signal, the store's lifetime (aborted by `stop()`) and, for
 * network fetches, a timeout — and the error it ends with says which of them fired (ABORTED,
 * DOCUMENT_STORE_STOPPED, DOCUMENT_FETCH_TIMEOUT). Operations return as soon as their signal fires,
 * even if the library underneath is slow to notice.
 * @module
 */

import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, isDtaError } from '../../errors.ts'

export interface Operations {
  /**
   * Runs `work` if the store is started, handing it the combined signal; `timeoutMs` adds a deadline
   * after which the operation fails with DOCUMENT_FETCH_TIMEOUT. With `lazy`, the deadline starts
   * only when `work` calls `startDeadline` — when it begins to wait for the network, so that
   * reading local blocks on a busy machine is not a fetch that timed out.
   */
  run<T> (options: AbortOptions | undefined, work: (signal: AbortSignal, startDeadline: () => void) => Promise<T>, timeoutMs?: number, lazy?: boolean): Promise<T>
  /** Marks the store started (a fresh lifetime). */
  open (): void
  /** Marks the store stopped and aborts everything in flight with DOCUMENT_STORE_STOPPED. */
  close (): void
  readonly started: boolean
}

export function createOperations (): Operations {
  let lifetime: AbortController | undefined

  return {
    get started () { return lifetime !== undefined },

    open () {
      lifetime ??= new AbortController()
    },

    close () {
      lifetime?.abort(new DtaError('DOCUMENT_STORE_STOPPED'))
      lifetime = undefined
    },

    async run (options, work, timeoutMs, lazy = false) {
      const life = lifetime
      if (life === undefined) throw new DtaError('DOCUMENT_STORE_STOPPED')
      const caller = options?.signal
      if (caller?.aborted === true) throw new DtaError('ABORTED', undefined, { cause: caller.reason })
      // a cleared timer rather than AbortSignal.timeout(), so no timer outlives the operation
      let deadline: AbortSignal | undefined
      let timer: ReturnType<typeof setTimeout> | undefined
      let startDeadline = (): void => {}
      if (timeoutMs !== undefined) {
        const expiry = new AbortController()
        startDeadline = () => {
          timer ??= setTimeout(() => { expiry.abort(new DOMException('fetch timed out', 'TimeoutError')) }, timeoutMs)
        }
        if (!lazy) startDeadline()
        deadline = expiry.signal
      }
      const parts = [life.signal]
      if (caller !== undefined) parts.push(caller)
      if (deadline !== undefined) parts.push(deadline)
      const signal = parts.length === 1 ? life.signal : AbortSignal.any(parts)

      let onAbort: (() => void) | undefined
      const aborted = new Promise<never>((_resolve, reject) => {
        onAbort = () => { reject(new Error('aborted')) }
        signal.addEventListener('abort', onAbort, { once: true })
      })
      aborted.catch(() => {})
      const working = work(signal, startDeadline)
      working.catch(() => {})
      try {
        return await Promise.race([working, aborted])
      } catch (err) {
        // the caller's own abort wins, then stop, then the deadline; other failures pass through
        if (isAborted(caller)) throw new DtaError('ABORTED', undefined, { cause: caller?.reason })
        if (life.signal.aborted) throw new DtaError('DOCUMENT_STORE_STOPPED', undefined, { cause: err })
        if (deadline?.aborted === true && !isSpecific(err)) {
          throw new DtaError('DOCUMENT_FETCH_TIMEOUT', undefined, { cause: err })
        }
        throw err
      } finally {
        clearTimeout(timer)
        if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
      }
    }
  }
}

function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** A typed failure that is not itself about cancellation (e.g. DOCUMENT_CORRUPT) is kept as is. */
function isSpecific (err: unknown): boolean {
  return isDtaError(err) && err.code !== 'ABORTED' && err.code !== 'TIMEOUT'
}
