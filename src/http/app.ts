/**
 * The HTTP API (PROTOCOL §8) as a Fastify app built from the node's services. `buildApp` never
 * listens by itself, so tests drive it in-process with `app.inject` and the daemon calls
 * `listen`. Routes exist per node type (principal: identity, order, status; fiduciary: identity,
 * fulfil, status; multi: all), because only the services the node has are passed in.
 *
 * Before anything else — authentication, body parsing, routing to a handler — every request must
 * be addressed to one of the node's own names (src/http/host-check.ts: `localhost`, an IP
 * literal, or `http.allowedHosts`) and, when it carries an `Origin`, come from a page of the node:
 * otherwise 403 HOST_NOT_ALLOWED / ORIGIN_NOT_ALLOWED. That is the DNS-rebinding guard of
 * PROTOCOL §8; it runs before the bearer-token hook so that a hostile page learns nothing from a
 * 401-versus-403 difference either. No CORS is granted: no `Access-Control-Allow-*` header is
 * ever sent, and a preflight is refused.
 *
 * Beside the original API: the web console's files under `/ui` (src/http/console.ts) and the
 * read-only routes it needs (src/http/console-api.ts); every answer carries the headers of
 * src/http/security-headers.ts (nosniff, no-store for API data, the console's strict CSP).
 *
 * Every error leaves as `{statusCode, code, message}` with a code from src/errors.ts:
 * DtaErrors keep their own; schema failures are REQUEST_INVALID (422, as the original), bad JSON
 * REQUEST_MALFORMED, oversized bodies REQUEST_TOO_LARGE; anything unexpected is INTERNAL with a
 * fixed message (the cause is logged, never returned). Request bodies are validated strictly
 * (no type coercion, no unknown fields); query strings are coerced to their declared types.
 * A schema failure says, in one place for every route (src/http/validation.ts), which field is wrong
 * and what it may be — `perPage must be 1 to 100`, `unknown field "beneficiary" (did you mean
 * beneficiaryIDDocumentCID?)`, `beneficiaryIDDocumentCID must be a CIDv0 (…) or ""` — never only
 * the validator's words ("must match a schema in anyOf"). It names fields, never echoes values.
 *
 * The OpenAPI document is built once, when the app is ready, from the route schemas: each
 * operation with its summary, typed answers and valid examples (src/ports/api.ts), the order
 * routes' `extension` described by the node's plugin, and — with OAuth2 on — the bearer scheme the
 * docs' Authorize button uses. Each request is logged at debug only ("request completed"); what
 * happened is logged by the services' domain events (src/logging.ts).
 * @module
 */
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { LogController } from 'fastify'
import type { FastifyError, FastifyInstance, FastifyBaseLogger, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Ajv } from 'ajv'
import type { ErrorObject } from 'ajv'
import { Type } from 'typebox'
import { DtaError } from '../errors.ts'
import type { ErrorCode } from '../errors.ts'
import type { ListQuery, NodeServices } from '../ports/api.ts'
import type { ExtensionField, ExtensionFields, Plugin } from '../ports/plugin.ts'
import type { Metrics } from './metrics.ts'
import { registerBearerAuth } from './auth.ts'
import type { BearerVerifier } from './auth.ts'
import { registerClientCertificateCheck } from './client-certificate.ts'
import { registerPolicies } from './policy.ts'
import type { PolicyRecords, PolicyRule } from './policy.ts'
import { checkAllowedHosts, hostRefusal } from './host-check.ts'
import type { serverTlsOptions } from '../adapters/tls.ts'
import { registerConsole } from './console.ts'
import { registerConsoleApi } from './console-api.ts'
import { registerSecurityHeaders } from './security-headers.ts'
import { validationMessage } from './validation.ts'
import { registerLogRoutes } from './log-routes.ts'
import { registerWitnessRoutes } from './witness-routes.ts'
import * as S from '../ports/api.ts'
import { ACCOUNTING_ON } from '../accounting.ts'
import { accountHttp } from './bench-accounting.ts'

export interface AppOptions {
  services: NodeServices
  /** With `auth`: the policies (src/http/policy.ts) and where they record. */
  policies?: { rules: readonly PolicyRule[], records: PolicyRecords }
  /** Serve HTTPS with these options (src/adapters/tls.ts serverTlsOptions); with `ca`, /v1/fulfill/* needs a client certificate (client-certificate.ts). */
  https?: ReturnType<typeof serverTlsOptions>
  /** Largest accepted request body in bytes. */
  bodyLimit: number
  /** Whole-request timeout in milliseconds (0 = none). */
  requestTimeoutMs: number
  /** The node's pino logger; none in tests. */
  logger?: FastifyBaseLogger
  version: string
  /** Instruments the routes when given (metrics on their own listener). */
  metrics?: Metrics
  /** OAuth2 bearer-token verification (src/http/auth.ts); none: the API is open. */
  auth?: BearerVerifier
  /** The node's plugin: its extension fields describe the order routes in the OpenAPI document. */
  plugin?: Pick<Plugin, 'name' | 'description' | 'extensionFields'>
  /**
   * `http.allowedHosts`: Host names answered besides `localhost` and IP literals (`['*']`: any).
   * The metrics listener, when given, answers to the same names.
   */
  allowedHosts: readonly string[]
}

// verbose: the errors carry their schema, which validationMessage reads (bounds, allowed fields)
const ajvBody = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes: false, allErrors: false, strict: false, verbose: true })
const ajvQuery = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes: true, allErrors: false, strict: false, verbose: true })

const signals = new WeakMap<object, AbortSignal>()
function signalOf (request: object): AbortSignal | undefined {
  return signals.get(request)
}

const errorResponses = { '4xx': S.ClientErrorBody, '5xx': S.ServerErrorBody }

function toDtaError (err: FastifyError & { validation?: unknown, validationContext?: string }): DtaError {
  if (err instanceof DtaError) return err
  if (Array.isArray(err.validation)) return new DtaError('REQUEST_INVALID', validationMessage(err.validation as ErrorObject[], err.validationContext))
  const byFastifyCode: Record<string, ErrorCode> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'REQUEST_TOO_LARGE',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'REQUEST_UNSUPPORTED_MEDIA_TYPE',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'REQUEST_MALFORMED',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'REQUEST_MALFORMED',
    // found by the security fuzz (test/security/http-fuzz.test.ts): router and static-file refusals
    FST_ERR_BAD_URL: 'BAD_REQUEST',
    FST_ERR_MAX_PARAM_LENGTH: 'REQUEST_INVALID',
    FST_STATIC_FORBIDDEN_PATH: 'NOT_FOUND',
  }
  const mapped = byFastifyCode[err.code]
  if (mapped !== undefined) return new DtaError(mapped)
  if (err instanceof SyntaxError || err.statusCode === 400) return new DtaError('REQUEST_MALFORMED')
  if (err.name === 'AbortError') return new DtaError('ABORTED')
  // any other refusal a Fastify plugin explains with a 4xx is the client's, not an internal error
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return new DtaError('BAD_REQUEST')
  return new DtaError('INTERNAL')
}

/**
 * Requests Node's HTTP parser rejects (bad request line, header overflow, timeout) never reach the
 * routes; answer them with our error shape too instead of Fastify's code-less default.
 */
function clientErrorHandler (err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const code: ErrorCode = err.code === 'HPE_HEADER_OVERFLOW' ? 'REQUEST_HEADERS_TOO_LARGE' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'BAD_REQUEST'
  const error = new DtaError(code)
  const body = JSON.stringify(error.toJSON())
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const { services } = options
  const allowedHosts = checkAllowedHosts(options.allowedHosts)
  const app = Fastify({
    ...(options.https === undefined ? {} : { https: options.https }),
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: options.bodyLimit,
    requestTimeout: options.requestTimeoutMs,
    return503OnClosing: true,
    // one debug line per request (below), not Fastify's two info lines
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    clientErrorHandler,
    frameworkErrors: (err, _request, reply) => {
      const dta = toDtaError(err)
      void (reply as FastifyReply).code(dta.statusCode).send(dta.toJSON())
    },
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>()
  if (ACCOUNTING_ON) accountHttp(app as unknown as FastifyInstance)

  // The DNS-rebinding guard, first of all hooks (before auth, before the body is read).
  app.addHook('onRequest', async (request) => {
    const refusal = hostRefusal(request.method, request.headers, allowedHosts)
    if (refusal !== undefined) throw refusal
  })

  // The client's signal: aborted when the connection closes before the answer is written.
  // (Fastify's request.signal follows the request stream, which closes once the body is read.)
  app.addHook('onRequest', async (request, reply) => {
    const controller = new AbortController()
    signals.set(request, controller.signal)
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) controller.abort(new DtaError('ABORTED', 'client went away')) })
  })

  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ method: request.method, url: request.url.slice(0, 200), route: request.routeOptions.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request completed')
  })

  options.metrics?.instrument(app, { allowedHosts })
  if (options.auth !== undefined) registerBearerAuth(app, options.auth)
  if (options.auth !== undefined && options.policies !== undefined && options.policies.rules.length > 0) registerPolicies(app as unknown as FastifyInstance, options.policies.rules, options.policies.records)
  if (options.https?.ca !== undefined) registerClientCertificateCheck(app as unknown as FastifyInstance)
  registerSecurityHeaders(app)

  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajvBody : ajvQuery).compile(schema))

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const dta = toDtaError(err)
    if (dta.code === 'INTERNAL') request.log.error({ err: { name: err.name, code: err.code } }, 'unexpected error')
    else request.log.debug({ code: dta.code }, 'request refused')
    void reply.code(dta.statusCode).send(dta.toJSON())
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(new DtaError('ROUTE_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`).toJSON())
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Milagro D-TA API',
        version: options.version,
        description: 'Decentralized Trust Authority: a key-custody server. Errors are {statusCode, code, message}; see docs/errors.md.',
      },
      ...(options.auth === undefined
        ? {}
        : {
            components: {
              securitySchemes: {
                bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: `An OAuth2 access token (JWT) from ${options.auth.issuer} for the audience ${options.auth.audience}` },
              },
            },
            security: [{ bearerAuth: [] }],
          }),
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  // built once, when every route is registered, and served as it is
  let spec: string | undefined
  app.addHook('onReady', async () => { spec = JSON.stringify(app.swagger()) })
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => {
    spec ??= JSON.stringify(app.swagger())
    return await reply.type('application/json; charset=utf-8').send(spec)
  })
  const ext = extensionSchemas(options.plugin?.extensionFields)

  app.get('/v1/health/live', { schema: { ...S.OPERATIONS.live, tags: ['status'], security: [], response: { 200: S.LiveResponse, ...errorResponses } } },
    async () => ({ status: 'live' as const }))
  app.get('/v1/health/ready', { schema: { ...S.OPERATIONS.ready, tags: ['status'], security: [], response: { 200: S.ReadyResponse, 503: S.ReadyResponse, ...errorResponses } } },
    async (request, reply) => {
      const ready = await (services.health?.ready({ signal: signalOf(request) }) ?? Promise.resolve({ status: 'ready' as const, checks: {} }))
      return await reply.code(ready.status === 'ready' ? 200 : 503).send(ready)
    })
  app.get('/v1/status', { schema: { ...S.OPERATIONS.status, tags: ['status'], security: [], response: { 200: S.StatusResponse, ...errorResponses } } },
    async () => await services.status())

  app.post('/v1/identity', { schema: { ...S.OPERATIONS.createIdentity, tags: ['identity'], body: S.CreateIdentityRequest, response: { 200: S.CreateIdentityResponse, ...errorResponses } } },
    async (request) => {
      const name = request.body.name ?? request.body.Name
      if (name === undefined) throw new DtaError('REQUEST_INVALID', 'name is required')
      return await services.identity.create(name, { signal: signalOf(request) })
    })
  app.get('/v1/identity/:idDocumentCID', { schema: { ...S.OPERATIONS.getIdentity, tags: ['identity'], params: S.IdentityParams, response: { 200: S.IdentityView, ...errorResponses } } },
    async (request) => await services.identity.get(request.params.idDocumentCID, { signal: signalOf(request) }))
  app.get('/v1/identity', { schema: { ...S.OPERATIONS.listIdentities, tags: ['identity'], querystring: S.ListQuery, response: { 200: S.IdentityListResponse, ...errorResponses } } },
    async (request) => {
      const options = { signal: signalOf(request) }
      const [idDocumentList, total] = await Promise.all([services.identity.list(listQuery(request.query), options), services.identity.count(options)])
      return { idDocumentList, total }
    })

  const order = services.order
  if (order !== undefined) {
    app.post('/v1/order', { schema: { ...S.OPERATIONS.createOrder, tags: ['order'], body: ext.orderRequest, response: { 200: ext.orderResponse, ...errorResponses } } },
      async (request) => await order.create(withoutEmpty(request.body), { signal: signalOf(request) }))
    app.get('/v1/order', { schema: { ...S.OPERATIONS.listOrders, tags: ['order'], querystring: S.ListQuery, response: { 200: S.OrderListResponse, ...errorResponses } } },
      async (request) => ({ orderReference: await order.list(listQuery(request.query), { signal: signalOf(request) }) }))
    app.get('/v1/order/:orderReference', { schema: { ...S.OPERATIONS.getOrder, tags: ['order'], params: S.OrderParams, response: { 200: S.GetOrderResponse, ...errorResponses } } },
      async (request) => await order.get(request.params.orderReference, { signal: signalOf(request) }))
    app.post('/v1/order/secret', { schema: { ...S.OPERATIONS.redeemOrder, tags: ['order'], body: ext.secretRequest, response: { 200: ext.secretResponse, ...errorResponses } } },
      async (request) => {
        const body = withoutEmpty(request.body)
        if (body.orderReference === undefined && body.orderPart4CID === undefined) {
          throw new DtaError('REQUEST_INVALID', 'orderReference (or, on a beneficiary node, orderPart4CID) is required')
        }
        return await order.secret(body, { signal: signalOf(request) })
      })
  }

  const audit = services.audit
  if (audit !== undefined) {
    app.get('/v1/audit', { schema: { ...S.OPERATIONS.listAudit, tags: ['audit'], querystring: S.AuditQuery, response: { 200: S.AuditListResponse, ...errorResponses } } },
      async (request) => {
        const options = { signal: signalOf(request) }
        const [auditList, total] = await Promise.all([audit.list(request.query, options), audit.count(request.query, options)])
        return { auditList, total }
      })
  }

  // the web console (/ui) and the read-only routes it needs beside these (docs/console.md)
  registerConsole(app)
  registerConsoleApi(app, { services, plugin: options.plugin, auth: options.auth, signalOf })

  const fulfil = services.fulfil
  if (fulfil !== undefined) {
    app.post('/v1/fulfill/order', { schema: { ...S.OPERATIONS.fulfillOrder, tags: ['fulfill'], body: S.FulfillOrderRequest, response: { 200: S.FulfillOrderResponse, ...errorResponses } } },
      async (request) => await fulfil.order(request.body, { signal: signalOf(request) }))
    app.post('/v1/fulfill/order/secret', { schema: { ...S.OPERATIONS.fulfillOrderSecret, tags: ['fulfill'], body: S.FulfillOrderSecretRequest, response: { 200: S.FulfillOrderSecretResponse, ...errorResponses } } },
      async (request) => await fulfil.secret(request.body, { signal: signalOf(request) }))
  }

  const threshold = services.thresholdFulfil
  if (threshold !== undefined) {
    const route = { tags: ['fulfill'] }
    app.post('/v1/fulfill/threshold/round1', { schema: { ...S.OPERATIONS.thresholdRound1, ...route, body: S.ThresholdRound1Request, response: { 200: S.ThresholdRound1Response, ...errorResponses } } },
      async (request) => await threshold.round1(request.body, { signal: signalOf(request) }))
    app.post('/v1/fulfill/threshold/round2', { schema: { ...S.OPERATIONS.thresholdRound2, ...route, body: S.ThresholdRound2Request, response: { 200: S.ThresholdRound2Response, ...errorResponses } } },
      async (request) => await threshold.round2(request.body, { signal: signalOf(request) }))
    app.post('/v1/fulfill/threshold/round3', { schema: { ...S.OPERATIONS.thresholdRound3, ...route, body: S.ThresholdRound3Request, response: { 200: S.ThresholdRound3Response, ...errorResponses } } },
      async (request) => await threshold.round3(request.body, { signal: signalOf(request) }))
  }

  if (services.log !== undefined) registerLogRoutes(app, services.log, signalOf)
  if (services.witness !== undefined) registerWitnessRoutes(app, services.witness, signalOf)

  return app
}

/** A list request as the services take it: the sort order by the original's rule (S.sortOrder). */
function listQuery (query: { page: number, perPage: number, sortBy: string }): ListQuery {
  return { page: query.page, perPage: query.perPage, sortBy: S.sortOrder(query.sortBy) }
}

/** The original clients send "" for "not given"; treat an empty beneficiary as absent. */
function withoutEmpty<T extends { beneficiaryIDDocumentCID?: string }> (body: T): T {
  if (body.beneficiaryIDDocumentCID === '') {
    const { beneficiaryIDDocumentCID: _, ...rest } = body
    return rest as T
  }
  return body
}

/**
 * The order routes' schemas with `extension` described by the plugin's fields (the same schemas
 * otherwise: the same validation, the same types), and request examples the docs can send as
 * they are — no beneficiary, the plugin's example fields.
 */
function extensionSchemas (fields: ExtensionFields | undefined) {
  if (fields === undefined) return { orderRequest: S.OrderRequest, orderResponse: S.OrderResponse, secretRequest: S.OrderSecretRequest, secretResponse: S.OrderSecretResponse }
  const example = (of: readonly ExtensionField[]): Record<string, unknown> => {
    const extension = S.extensionExample(of)
    return Object.keys(extension).length === 0 ? {} : { extension }
  }
  const answer = (schema: object): string => String((schema as Record<string, unknown>)['x-response-description'])
  return {
    orderRequest: Type.Object({ ...S.OrderRequest.properties, extension: Type.Optional(S.extensionFor(fields.order, 'Request fields')) }, { additionalProperties: false, examples: [example(fields.order)] }),
    orderResponse: Type.Object({ ...S.OrderResponse.properties, extension: S.extensionFor(fields.orderAnswer, 'Answer fields') }, { 'x-response-description': answer(S.OrderResponse) }),
    secretRequest: Type.Object({ ...S.OrderSecretRequest.properties, extension: Type.Optional(S.extensionFor(fields.secret, 'Request fields')) }, { additionalProperties: false, examples: [{ orderReference: S.EXAMPLE_REFERENCE, ...example(fields.secret) }] }),
    secretResponse: Type.Object({ ...S.OrderSecretResponse.properties, extension: S.extensionFor(fields.secretAnswer, 'Answer fields') }, { 'x-response-description': answer(S.OrderSecretResponse) }),
  }
}
