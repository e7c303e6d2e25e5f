/**
 * Reads another node's transparency log over HTTP (src/ports/log.ts LogReader): the newest
 * checkpoint, consistency and inclusion proofs, the log key statement, and raw tiles (for
 * `milagro log verify`). Requests go through the fulfil client's transport (src/adapters/peer/
 * http.ts: node:http(s), the same TLS checks and client certificate, at most 64 MiB read), with a
 * timeout combined with the caller's signal and the node's bearer token when configured; an
 * answer over `maxBytes` is refused. Errors as the fulfil client maps them: a refusal with one of
 * our codes keeps its code, 401 is PEER_UNAUTHORIZED, transport failures PEER_UNREACHABLE (or
 * PEER_TLS_FAILED), anything else PEER_ERROR.
 * `createFailoverLogReader` reads one node's log through several replicas.
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError } from '../../errors.ts'
import type { LogProofAnswer, LogReader } from '../../ports/log.ts'
import type { TlsMaterial } from '../tls.ts'
import { bearerHeaders, deadline, failover, peerRefusal, sendBytes, transportError } from './http.ts'

export interface HttpLogReaderInit {
  /** Base URL of the node, e.g. http://127.0.0.1:5556 or https://fid.example:5556 */
  url: string
  timeoutMs: number
  bearerToken?: string
  /** For https:// URLs: the CAs to verify the node with, and this node's client certificate (as the fulfil client). */
  tls?: TlsMaterial
  /** Largest answer read, in bytes (default 1 MiB). */
  maxBytes?: number
}

export interface HttpLogReader extends LogReader {
  /** GET `/v1/log/<path>` as bytes (a tile, an entry bundle, the checkpoint). */
  raw (path: string, options?: AbortOptions): Promise<Uint8Array>
}

export function createHttpLogReader (init: HttpLogReaderInit): HttpLogReader {
  const base = init.url.replace(/\/+$/, '')
  const max = init.maxBytes ?? 1024 * 1024
  async function get (path: string, options: AbortOptions = {}): Promise<Uint8Array> {
    const url = `${base}/v1/log/${path}`
    let response: { status: number, body: Buffer }
    try {
      response = await sendBytes(new URL(url), 'GET', bearerHeaders(init.bearerToken), undefined, deadline(init.timeoutMs, options.signal), init.tls)
    } catch (err) {
      throw transportError(err, url, options.signal)
    }
    const where = `/v1/log/${path.split('?')[0]}`
    if (response.body.length > max) throw new DtaError('PEER_ERROR', `${where} answered more than ${max} bytes`)
    const body = new Uint8Array(response.body)
    if (response.status >= 200 && response.status < 300) return body
    let code: unknown
    try { code = (JSON.parse(Buffer.from(body).toString('utf8')) as { code?: unknown } | null)?.code } catch { code = undefined }
    throw peerRefusal(response.status, code, where, `answered by ${base} on ${where}`)
  }
  async function json<T> (path: string, options?: AbortOptions): Promise<T> {
    const body = await get(path, options)
    try {
      return JSON.parse(Buffer.from(body).toString('utf8')) as T
    } catch (err) {
      throw new DtaError('PEER_ERROR', `/v1/log/${path.split('?')[0]} answered without JSON`, { cause: err })
    }
  }
  return {
    raw: get,
    checkpoint: async (options) => Buffer.from(await get('checkpoint', options)).toString('utf8'),
    async consistency (first, second, options) {
      const answer = await json<{ consistencyProof?: unknown }>(`proof/consistency?first=${first}&second=${second}`, options)
      if (!Array.isArray(answer.consistencyProof)) throw new DtaError('PEER_ERROR', 'no consistencyProof in the answer')
      return answer.consistencyProof as string[]
    },
    inclusion: async (cid, options) => await json<LogProofAnswer>(`proof/inclusion?cid=${encodeURIComponent(cid)}`, options),
    async keyDocument (options) {
      const answer = await json<{ logKeyDocumentCID?: unknown, document?: unknown }>('key', options)
      if (typeof answer.logKeyDocumentCID !== 'string' || typeof answer.document !== 'string') throw new DtaError('PEER_ERROR', 'no log key statement in the answer')
      return { cid: answer.logKeyDocumentCID, bytes: new Uint8Array(Buffer.from(answer.document, 'base64')) }
    },
  }
}

/** One node's log behind several URLs: each call tries the next replica when one cannot be reached or fails on its side. */
export function createFailoverLogReader (replicas: readonly LogReader[]): LogReader {
  const call = failover(replicas, ['PEER_UNREACHABLE', 'PEER_ERROR'])
  return {
    checkpoint: async (options) => await call(async r => await r.checkpoint(options), options),
    consistency: async (first, second, options) => await call(async r => await r.consistency(first, second, options), options),
    inclusion: async (cid, options) => await call(async r => await r.inclusion(cid, options), options),
    keyDocument: async (options) => await call(async r => await r.keyDocument(options), options),
  }
}
