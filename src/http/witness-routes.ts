/**
 * The witness endpoints (C2SP tlog-witness; docs/log.md "Witnesses"), registered by buildApp
 * (app.ts) when the node witnesses other logs (node.witnessFor), behind the same Host/Origin
 * guard and bearer authentication as every route (policy operation `fulfil`: node to node):
 *
 * - `POST /v1/witness/add-checkpoint`, text/plain, at most 24 KiB: the cosignature line
 *   (text/plain), or 409 with the size the witness has (`text/x.tlog.size`), or a JSON error;
 * - `GET /v1/witness/key`: the witness's name and verifier key.
 * @module
 */
import type { FastifyInstance, FastifyBaseLogger, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { isDtaError } from '../errors.ts'
import * as L from '../ports/log-api.ts'
import type { WitnessService } from '../ports/log-api.ts'
import * as S from '../ports/api.ts'

type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

const errorResponses = { '4xx': S.ClientErrorBody, '5xx': S.ServerErrorBody }

export function registerWitnessRoutes (app: App, witness: WitnessService, signalOf: (request: object) => AbortSignal | undefined): void {
  app.post('/v1/witness/add-checkpoint', {
    bodyLimit: L.MAX_ADD_CHECKPOINT_BYTES,
    schema: {
      ...L.WITNESS_OPERATIONS.addCheckpoint, tags: ['log'],
      body: Type.String({ maxLength: L.MAX_ADD_CHECKPOINT_BYTES, description: 'old <size>, proof lines, an empty line, the signed checkpoint' }),
      response: { 200: Type.String({ 'x-response-description': 'The cosignature line (text/plain)' }), 409: Type.String({ 'x-response-description': 'The size the witness has (text/x.tlog.size)' }), ...errorResponses },
    },
  }, async (request, reply) => {
    try {
      const line = await witness.addCheckpoint(request.body, { signal: signalOf(request) })
      return await reply.type('text/plain; charset=utf-8').send(line)
    } catch (err) {
      if (isDtaError(err, 'WITNESS_CONFLICT')) return await reply.code(409).type('text/x.tlog.size').send(`${err.detail ?? '0'}\n`)
      throw err
    }
  })

  app.get('/v1/witness/key', {
    schema: { ...L.WITNESS_OPERATIONS.key, tags: ['log'], response: { 200: L.WitnessKeyResponse, ...errorResponses } },
  }, async () => witness.key())
}
