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

/** A request's signal: the caller's, and a timeout. */
export function deadline (timeoutMs: number, signal: AbortSignal | undefined): AbortSignal {
  return AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal === undefined ? [] : [signal])])
}

/** The Authorization header of node-to-node calls, when a bearer token is configured. */
export function bearerHeaders (token: string | undefined): Record<string, string> {
  return token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` }
}

/**
 * A peer's non-2xx answer as our error: 401 is PEER_UNAUTHORIZED (the peer refused this node's
 * token: not the caller's fault, so not a 401 here), a 4xx with one of our codes keeps that code
 * (`refused` says where), anything else is PEER_ERROR. The peer's code is quoted at most 64 characters.
 */
export function peerRefusal (status: number, code: unknown, path: string, refused: string): DtaError {
  const quoted = typeof code === 'string' ? ` ${code.slice(0, 64)}` : ''
  if (status === 401) return new DtaError('PEER_UNAUTHORIZED', `${path} answered 401${quoted}`)
  if (status < 500 && typeof code === 'string' && Object.hasOwn(ERRORS, code)) return new DtaError(code as ErrorCode, refused)
  return new DtaError('PEER_ERROR', `${path} answered ${status}${quoted}`)
}

/**
 * Calls over several replicas of one node: each call goes to the replica that answered last and,
 * when that one fails with one of `retryOn` (it cannot be reached, or failed on its side), to the
 * next, each at most once per call; any other error, or a call the caller aborted, is thrown at once.
 */
export function failover<C> (replicas: readonly C[], retryOn: readonly ErrorCode[]): <T>(fn: (replica: C) => Promise<T>, options?: AbortOptions) => Promise<T> {
  if (replicas.length === 0) throw new DtaError('INTERNAL', 'failover needs at least one replica')
  let current = 0
  return async (fn, options = {}) => {
    let last: unknown
    for (let i = 0; i < replicas.length; i++) {
      const at = (current + i) % replicas.length
      try {
        const result = await fn(replicas[at]!)
        current = at
        return result
      } catch (err) {
        if (options.signal?.aborted === true || !retryOn.some(c => isDtaError(err, c))) throw err
        last = err
      }
    }
    throw last
  }
}

/**
 * POSTs JSON to `path` of the fiduciary and parses its JSON answer; a refusal keeps the peer's code
 * (`peerRefusal`). With `quotePeer`, the refusal also quotes the peer's message, cut to 240
 * characters of a plain alphabet (CIDs, codes, words) — the threshold rounds name the fiduciary a
 * refusal is about (src/adapters/peer/threshold-http.ts).
 */
export function createJsonPoster (init: HttpFiduciaryClientInit, quotePeer = false): <T>(path: string, body: unknown, options?: AbortOptions) => Promise<T> {
  const base = init.url.replace(/\/+$/, '')
  return async <T>(path: string, body: unknown, options: AbortOptions = {}): Promise<T> => {
    const headers = { 'content-type': 'application/json', ...bearerHeaders(init.bearerToken) }
    let response: Answer
    try {
      response = await send(new URL(`${base}${path}`), 'POST', headers, JSON.stringify(body), deadline(init.timeoutMs, options.signal), init.tls)
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
    const answer = payload as { code?: unknown, message?: unknown } | null
    const quoted = quotePeer && typeof answer?.message === 'string' ? `: ${answer.message.replace(/[^A-Za-z0-9 :,.()=_-]/g, '').slice(0, 240)}` : ''
    throw peerRefusal(response.status, answer?.code, path, `refused by the fiduciary on ${path}${quoted}`)
  }
}

export function createHttpFiduciaryClient (init: HttpFiduciaryClientInit): FiduciaryClient {
  const base = init.url.replace(/\/+$/, '')
  const call = createJsonPoster(init)
  return {
    fulfillOrder: async (request, options) => await call('/v1/fulfill/order', request, options),
    fulfillOrderSecret: async (request, options) => await call('/v1/fulfill/order/secret', request, options),
    async ping (options = {}) {
      let response: Answer
      try {
        response = await send(new URL(`${base}/v1/health/live`), 'GET', {}, undefined, deadline(init.timeoutMs, options.signal), init.tls)
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
  const call = failover(replicas, ['PEER_UNREACHABLE', 'PEER_TLS_FAILED', 'PEER_ERROR'])
  return {
    fulfillOrder: async (request, options) => await call(async c => await c.fulfillOrder(request, options), options),
    fulfillOrderSecret: async (request, options) => await call(async c => await c.fulfillOrderSecret(request, options), options),
    // ready when any replica answers
    ping: async (options) => { await call(async c => { await c.ping?.(options) }, options) },
  }
}
