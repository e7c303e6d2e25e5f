/**
 * Calls a fiduciary node's fulfil endpoints over HTTP. Every call has a timeout combined with
 * the caller's signal. A refusal the peer explains with one of our codes (4xx) is re-thrown with
 * that code, so a client sees "403 ORDER_NOT_ENTITLED" whichever node refused; a 401 (the peer
 * refused this node's bearer token) is PEER_UNAUTHORIZED (502) naming the peer's code; transport
 * failures are PEER_UNREACHABLE (a TLS check that failed: PEER_TLS_FAILED, saying which) and
 * anything else from the peer is PEER_ERROR (502). An https:// fiduciary is verified against
 * `tls.ca` (or the system's CAs), with TLS 1.2+, presenting `tls.cert` when given (mutual TLS).
 * `createFailoverFiduciaryClient` puts the clients of one fiduciary's replicas behind one.
 * @module
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError, ERRORS, isDtaError } from '../../errors.ts'
import type { ErrorCode } from '../../errors.ts'
import type { FiduciaryClient } from '../../ports/peer.ts'
import { TLS_MIN_VERSION, tlsFailure } from '../tls.ts'
import type { TlsMaterial } from '../tls.ts'

export interface HttpFiduciaryClientInit {
  /** Base URL of the fiduciary, e.g. http://127.0.0.1:5556 or https://fid.example:5556 */
  url: string
  timeoutMs: number
  /** Bearer token sent on node-to-node calls, when configured. */
  bearerToken?: string
  /** For https:// URLs: CAs to verify the fiduciary with (default: the system's), and this node's client certificate. */
  tls?: TlsMaterial
}

interface Answer { status: number, body: string }

/** Like `sendBytes`, the body as UTF-8 text. */
async function send (url: URL, method: 'GET' | 'POST', headers: Record<string, string>, body: string | undefined, signal: AbortSignal, tls: TlsMaterial | undefined): Promise<Answer> {
  const answer = await sendBytes(url, method, headers, body, signal, tls)
  return { status: answer.status, body: answer.body.toString('utf8') }
}

/**
 * One request with node:http(s) — not fetch, so that a CA file and a client certificate can be
 * given per fiduciary — bounded by the signal; the answer body at most 64 MiB. (Also the
 * transparency log reader's, src/adapters/peer/log-http.ts.)
 */
export async function sendBytes (url: URL, method: 'GET' | 'POST', headers: Record<string, string>, body: string | undefined, signal: AbortSignal, tls: TlsMaterial | undefined): Promise<{ status: number, body: Buffer }> {
  const secure = url.protocol === 'https:'
  const options = {
    method, headers, signal,
    ...(secure ? { minVersion: TLS_MIN_VERSION, ...(tls?.ca === undefined ? {} : { ca: tls.ca }), ...(tls?.cert === undefined ? {} : { cert: tls.cert, key: tls.key }) } : {}),
  }
  return await new Promise<{ status: number, body: Buffer }>((resolve, reject) => {
    const request = (secure ? httpsRequest : httpRequest)(url, options, response => {
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > 64 * 1024 * 1024) { request.destroy(new DtaError('PEER_ERROR', `${url.pathname} answered more than 64 MiB`)); return }
        chunks.push(chunk)
      })
      response.once('end', () => { resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }) })
      response.once('error', reject)
    })
    request.once('error', reject)
    request.end(body)
  })
}

/** A transport failure as our error: TLS checks that failed are PEER_TLS_FAILED saying which. */
export function transportError (err: unknown, where: string, signal: AbortSignal | undefined): DtaError {
  if (isDtaError(err)) return err
  if (signal?.aborted === true) return new DtaError('ABORTED', undefined, { cause: err })
  const code = (err as { code?: string }).code
  const tls = tlsFailure(code)
  if (tls !== undefined) return new DtaError('PEER_TLS_FAILED', `${where}: ${tls}`, { cause: err })
  return new DtaError('PEER_UNREACHABLE', where, { cause: err })
}

export function createHttpFiduciaryClient (init: HttpFiduciaryClientInit): FiduciaryClient {
  const base = init.url.replace(/\/+$/, '')
  async function call<T> (path: string, body: unknown, options: AbortOptions = {}): Promise<T> {
    const signals = [AbortSignal.timeout(init.timeoutMs)]
    if (options.signal !== undefined) signals.push(options.signal)
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (init.bearerToken !== undefined && init.bearerToken !== '') headers.authorization = `Bearer ${init.bearerToken}`
    let response: Answer
    try {
      response = await send(new URL(`${base}${path}`), 'POST', headers, JSON.stringify(body), AbortSignal.any(signals), init.tls)
    } catch (err) {
      throw transportError(err, `${base}${path}`, options.signal)
    }
    let payload: unknown
    try {
      payload = JSON.parse(response.body)
    } catch (err) {
      if (response.status === 401) throw new DtaError('PEER_UNAUTHORIZED', `${path} answered 401`, { cause: err })
      throw new DtaError('PEER_ERROR', `${path} answered ${response.status} without JSON`, { cause: err })
    }
    if (response.status >= 200 && response.status < 300) return payload as T
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
      let response: Answer
      try {
        response = await send(new URL(`${base}/v1/health/live`), 'GET', {}, undefined, AbortSignal.any(signals), init.tls)
      } catch (err) {
        throw transportError(err, `${base}/v1/health/live`, options.signal)
      }
      if (response.status !== 200) throw new DtaError('PEER_ERROR', `/v1/health/live answered ${response.status}`)
    },
  }
}

/**
 * One fiduciary behind several URLs (its replicas on one database): each call goes to the replica
 * that answered last and, when that one cannot be reached or fails on its side (PEER_UNREACHABLE,
 * PEER_TLS_FAILED, PEER_ERROR — a 5xx, a timeout), to the next, each at most once per call. A refusal (a 4xx with
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
        if (options.signal?.aborted === true || !(isDtaError(err, 'PEER_UNREACHABLE') || isDtaError(err, 'PEER_TLS_FAILED') || isDtaError(err, 'PEER_ERROR'))) throw err
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
