/**
 * Calls a fiduciary node's fulfil endpoints over HTTP. Every call has a timeout combined with
 * the caller's signal. A refusal the peer explains with one of our codes (4xx) is re-thrown with
 * that code, so a client sees "403 ORDER_NOT_ENTITLED" whichever node refused; a 401 (the peer
 * refused this node's bearer token) is PEER_UNAUTHORIZED (502) naming the peer's code; transport
 * failures are PEER_UNREACHABLE and anything else from the peer is PEER_ERROR (502).
 * `createFailoverFiduciaryClient` puts the clients of one fiduciary's replicas behind one.
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, ERRORS, isDtaError } from '../../errors.ts'
import type { ErrorCode } from '../../errors.ts'
import type { FiduciaryClient } from '../../ports/peer.ts'

export interface HttpFiduciaryClientInit {
  /** Base URL of the fiduciary, e.g. http://127.0.0.1:5556 */
  url: string
  timeoutMs: number
  /** Bearer token sent on node-to-node calls, when configured. */
  bearerToken?: string
}

export function createHttpFiduciaryClient (init: HttpFiduciaryClientInit): FiduciaryClient {
  const base = init.url.replace(/\/+$/, '')
  async function call<T> (path: string, body: unknown, options: AbortOptions = {}): Promise<T> {
    const signals = [AbortSignal.timeout(init.timeoutMs)]
    if (options.signal !== undefined) signals.push(options.signal)
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (init.bearerToken !== undefined && init.bearerToken !== '') headers.authorization = `Bearer ${init.bearerToken}`
    let response: Response
    try {
      response = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.any(signals) })
    } catch (err) {
      if (options.signal?.aborted === true) throw new DtaError('ABORTED', undefined, { cause: err })
      throw new DtaError('PEER_UNREACHABLE', `${base}${path}`, { cause: err })
    }
    let payload: unknown
    try {
      payload = await response.json()
    } catch (err) {
      if (response.status === 401) throw new DtaError('PEER_UNAUTHORIZED', `${path} answered 401`, { cause: err })
      throw new DtaError('PEER_ERROR', `${path} answered ${response.status} without JSON`, { cause: err })
    }
    if (response.ok) return payload as T
    const code = (payload as { code?: unknown } | null)?.code
    // The fiduciary refused this node's bearer token: not the client's fault, so not a 401 here.
    if (response.status === 401) throw new DtaError('PEER_UNAUTHORIZED', `${path} answered 401${typeof code === 'string' ? ` ${code.slice(0, 64)}` : ''}`)
    if (response.status < 500 && typeof code === 'string' && Object.hasOwn(ERRORS, code)) {
      throw new DtaError(code as ErrorCode, `refused by the fiduciary on ${path}`)
    }
    throw new DtaError('PEER_ERROR', `${path} answered ${response.status}${typeof code === 'string' ? ` ${code}` : ''}`)
  }
  return {
    fulfillOrder: async (request, options) => await call('/v1/fulfill/order', request, options),
    fulfillOrderSecret: async (request, options) => await call('/v1/fulfill/order/secret', request, options),
    async ping (options = {}) {
      const signals = [AbortSignal.timeout(init.timeoutMs), ...(options.signal === undefined ? [] : [options.signal])]
      let response: Response
      try {
        response = await fetch(`${base}/v1/health/live`, { signal: AbortSignal.any(signals) })
        await response.body?.cancel()
      } catch (err) {
        throw new DtaError('PEER_UNREACHABLE', `${base}/v1/health/live`, { cause: err })
      }
      if (!response.ok) throw new DtaError('PEER_ERROR', `/v1/health/live answered ${response.status}`)
    },
  }
}

/**
 * One fiduciary behind several URLs (its replicas on one database): each call goes to the replica
 * that answered last and, when that one cannot be reached or fails on its side (PEER_UNREACHABLE,
 * PEER_ERROR — a 5xx, a timeout), to the next, each at most once per call. A refusal (a 4xx with
 * our code, PEER_UNAUTHORIZED) is the fiduciary's answer and is not retried elsewhere, nor is a
 * call the caller aborted. Retrying is safe because both fulfil calls are idempotent (PROTOCOL §6):
 * the same part 1 gives the same part 2, the same part 3 the same part 4, from any replica.
 */
export function createFailoverFiduciaryClient (replicas: readonly FiduciaryClient[]): FiduciaryClient {
  if (replicas.length === 0) throw new DtaError('INTERNAL', 'a failover client needs at least one replica')
  let current = 0
  async function call<T> (fn: (client: FiduciaryClient) => Promise<T>, options: AbortOptions = {}): Promise<T> {
    let last: unknown
    for (let i = 0; i < replicas.length; i++) {
      const at = (current + i) % replicas.length
      try {
        const result = await fn(replicas[at]!)
        current = at
        return result
      } catch (err) {
        if (options.signal?.aborted === true || !(isDtaError(err, 'PEER_UNREACHABLE') || isDtaError(err, 'PEER_ERROR'))) throw err
        last = err
      }
    }
    throw last
  }
  return {
    fulfillOrder: async (request, options) => await call(async c => await c.fulfillOrder(request, options), options),
    fulfillOrderSecret: async (request, options) => await call(async c => await c.fulfillOrderSecret(request, options), options),
    // ready when any replica answers
    ping: async (options) => { await call(async c => { await c.ping?.(options) }, options) },
  }
}
