/**
 * Asks a witness over HTTP to cosign a checkpoint (src/ports/log.ts WitnessClient; C2SP
 * tlog-witness): `POST <url>/v1/witness/add-checkpoint` with the text body, through the fulfil
 * client's transport (node:http(s), the same TLS checks and client certificate, the node's bearer
 * token), with a deadline. 200: the cosignature lines (at most 4 KiB); 409 with
 * `text/x.tlog.size`: the size the witness has; a refusal with one of our codes keeps the code,
 * anything else is PEER_ERROR / PEER_UNREACHABLE as the fulfil client maps them.
 * @module
 */
import type { AbortOptions } from '../../ports/common.ts'
import { DtaError } from '../../errors.ts'
import type { WitnessClient } from '../../ports/log.ts'
import type { TlsMaterial } from '../tls.ts'
import { bearerHeaders, deadline, peerRefusal, sendBytes, transportError } from './http.ts'

export interface HttpWitnessClientInit {
  /** Base URL of the witness node. */
  url: string
  timeoutMs: number
  bearerToken?: string
  tls?: TlsMaterial
}

const MAX_ANSWER = 4096
const PATH = '/v1/witness/add-checkpoint'

export function createHttpWitnessClient (init: HttpWitnessClientInit): WitnessClient {
  const url = new URL(`${init.url.replace(/\/+$/, '')}${PATH}`)
  return {
    async addCheckpoint (body: string, options: AbortOptions = {}) {
      let response: { status: number, body: Buffer }
      try {
        response = await sendBytes(url, 'POST', { ...bearerHeaders(init.bearerToken), 'content-type': 'text/plain; charset=utf-8' }, body, deadline(init.timeoutMs, options.signal), init.tls)
      } catch (err) {
        throw transportError(err, url.href, options.signal)
      }
      if (response.body.length > MAX_ANSWER) throw new DtaError('PEER_ERROR', `${PATH} answered more than ${MAX_ANSWER} bytes`)
      const text = response.body.toString('utf8')
      if (response.status === 200) return { status: 'cosigned', lines: text }
      if (response.status === 409) {
        const m = /^(0|[1-9][0-9]{0,15})\n?$/.exec(text)
        if (m !== null) return { status: 'conflict', size: Number(m[1]) }
      }
      let code: unknown
      try { code = (JSON.parse(text) as { code?: unknown } | null)?.code } catch { code = undefined }
      throw peerRefusal(response.status, code, PATH, `answered by ${init.url} on ${PATH}`)
    },
  }
}
