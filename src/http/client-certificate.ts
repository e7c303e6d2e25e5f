/**
 * Mutual TLS on the fulfil routes (node to node): with `http.tlsClientCaFile` set, a call to
 * `/v1/fulfill/*` must come over a connection whose client certificate verified against that CA
 * and names an identity (src/adapters/tls.ts `clientIdentity`) — else TLS_CLIENT_CERT_REQUIRED —
 * and that identity must be the one the request acts as (`documentCID`, whose signature on part 1
 * or part 3 the fiduciary then checks) — else TLS_CLIENT_MISMATCH. So a principal's certificate
 * cannot be used to place or redeem orders as another principal, even one whose documents it has.
 * Other routes (the operator's own API calls, status, health) take connections without one.
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { DtaError } from '../errors.ts'
import { clientIdentity } from '../adapters/tls.ts'

export function registerClientCertificateCheck (app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    if (request.routeOptions.url?.startsWith('/v1/fulfill/') !== true) return
    const identity = clientIdentity(request.raw.socket)
    if (identity === undefined) throw new DtaError('TLS_CLIENT_CERT_REQUIRED', 'no verified client certificate naming an identity')
    const actingAs = (request.body as { documentCID?: unknown } | undefined)?.documentCID
    if (actingAs !== identity) throw new DtaError('TLS_CLIENT_MISMATCH', `the client certificate names ${identity}`)
  })
}
