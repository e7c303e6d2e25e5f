/**
 * The transparency log under /v1/log/ (docs/log.md), registered by buildApp (app.ts) when the
 * node keeps a log, behind the same Host/Origin guard and bearer authentication as every route:
 *
 * - C2SP tlog-tiles: `GET /v1/log/checkpoint` (text/plain, `Cache-Control: no-store`),
 *   `GET /v1/log/tile/<L>/<N>[.p/<W>]` and `/v1/log/tile/entries/<N>[.p/<W>]`
 *   (application/octet-stream). A full tile never changes: `max-age` of a year, `immutable`; a
 *   partial one is served only at the current width and cached a minute. Never `public`: with
 *   OAuth2 on, a shared cache must not hand an authenticated answer to anyone else.
 * - convenience, JSON: `GET /v1/log/proof/inclusion?cid=`, `GET /v1/log/proof/consistency?first=&second=`,
 *   `GET /v1/log/key`; and `GET /v1/log/document/<cid>`, the envelope of a leaf's document (only
 *   of leaves: it is no general IPFS gateway), for `milagro log verify --documents`.
 * A path that is not exactly a tile of the current tree is 404 LOG_TILE_NOT_FOUND (the parser
 * accepts one spelling per tile, so no path reaches anything else).
 * @module
 */
import type { FastifyInstance, FastifyBaseLogger, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { LogService } from '../ports/log-api.ts'
import * as L from '../ports/log-api.ts'
import * as S from '../ports/api.ts'

type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

const errorResponses = { '4xx': S.ClientErrorBody, '5xx': S.ServerErrorBody }
const FULL_TILE_CACHE = 'max-age=31536000, immutable'
const PARTIAL_TILE_CACHE = 'max-age=60'

export function registerLogRoutes (app: App, log: LogService, signalOf: (request: object) => AbortSignal | undefined): void {
  app.get('/v1/log/checkpoint', {
    schema: { ...L.LOG_OPERATIONS.checkpoint, tags: ['log'], response: { 200: Type.String({ 'x-response-description': 'The signed checkpoint (text/plain)' }), ...errorResponses } },
  }, async (request, reply) => {
    const note = await log.checkpoint({ signal: signalOf(request) })
    return await reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(note)
  })

  app.get('/v1/log/tile/*', {
    schema: { ...L.LOG_OPERATIONS.tile, tags: ['log'], params: L.TileParams, response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', 'x-response-description': 'The tile: concatenated 32-byte hashes, or uint16-length-prefixed leaves (application/octet-stream)' }), ...errorResponses } },
  }, async (request, reply) => {
    const tile = await log.tile(`tile/${request.params['*']}`, { signal: signalOf(request) })
    return await reply.type('application/octet-stream').header('cache-control', tile.full ? FULL_TILE_CACHE : PARTIAL_TILE_CACHE).send(Buffer.from(tile.bytes))
  })

  app.get('/v1/log/proof/inclusion', {
    schema: { ...L.LOG_OPERATIONS.inclusion, tags: ['log'], querystring: L.InclusionQuery, response: { 200: L.InclusionResponse, ...errorResponses } },
  }, async (request) => await log.inclusion(request.query.cid, { signal: signalOf(request) }))

  app.get('/v1/log/proof/consistency', {
    schema: { ...L.LOG_OPERATIONS.consistency, tags: ['log'], querystring: L.ConsistencyQuery, response: { 200: L.ConsistencyResponse, ...errorResponses } },
  }, async (request) => await log.consistency(request.query.first, request.query.second, { signal: signalOf(request) }))

  app.get('/v1/log/document/:cid', {
    schema: { ...L.LOG_OPERATIONS.document, tags: ['log'], params: L.LogDocumentParams, response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', 'x-response-description': 'The document\'s envelope (application/octet-stream)' }), ...errorResponses } },
  }, async (request, reply) => {
    const bytes = await log.document(request.params.cid, { signal: signalOf(request) })
    // a CID names its bytes for ever
    return await reply.type('application/octet-stream').header('cache-control', FULL_TILE_CACHE).send(Buffer.from(bytes))
  })

  app.get('/v1/log/key', {
    schema: { ...L.LOG_OPERATIONS.key, tags: ['log'], response: { 200: L.LogKeyResponse, ...errorResponses } },
  }, async (request) => await log.key({ signal: signalOf(request) }))
}
