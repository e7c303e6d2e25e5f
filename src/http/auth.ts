/**
 * OAuth2 bearer-token authentication of the HTTP API (PROTOCOL §8), as the original D-TA offered
 * it: when `http.oidcIssuer` is set, every API route except `GET /v1/status`, `/v1/health/*`, `/openapi.json`,
 * `/docs` and the console's static files (`/ui`) needs `Authorization: Bearer <JWT>`, a token issued by that OIDC issuer for
 * `http.oidcAudience`.
 *
 * Verification (with `jose`):
 * - the issuer's keys come from its JWKS, whose URL is discovered once from
 *   `${issuer}/.well-known/openid-configuration` (`jwks_uri`; the document's `issuer` must be
 *   the configured one), fetched with a timeout. `createRemoteJWKSet` caches the keys for
 *   `jwksCacheMaxAgeMs` and refetches when a token names an unknown `kid` — at most once per
 *   `jwksCooldownMs`, so a rotated key is picked up within that cooldown while a flood of
 *   made-up `kid`s costs the issuer at most one fetch per cooldown;
 * - the header's `alg` must be an asymmetric signature algorithm (RS*, PS*, ES*, EdDSA/Ed25519):
 *   `none` and HS* (whose "key" would be public) are refused before any key is looked up;
 * - the signature, then `iss`, `aud`, `exp` (required) and `nbf`, with a small clock tolerance.
 *
 * Every failure is a 401 with its own code (AUTH_*) and a `WWW-Authenticate: Bearer` challenge
 * (RFC 6750 §3: `error="invalid_token"` for a token that fails, no error for a missing one); an
 * issuer that cannot be reached is 503 AUTH_ISSUER_UNAVAILABLE. The token itself is never
 * logged or echoed; a verified request is logged at debug with its `sub` and `client_id`.
 *
 * What a token does NOT decide: which principal may order from a fiduciary — that is the
 * allow-list of identity CIDs (`http.allowPrincipals`, src/services/fulfil.ts).
 * @module
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose'
import type { JWTPayload, JWTVerifyGetKey } from 'jose'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DtaError, isDtaError } from '../errors.ts'

/** Asymmetric JWS algorithms accepted by default. Never `none`, never HS*. */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]

export const AUTH_REALM = 'milagro-dta'

export interface BearerVerifierOptions {
  /** The OIDC issuer URL, as in `http.oidcIssuer`. */
  issuer: string
  /** The audience tokens must carry, as in `http.oidcAudience`. */
  audience: string
  /** A subset of ASYMMETRIC_ALGORITHMS (default: all of them). */
  algorithms?: readonly string[]
  /** Allowed clock skew for `exp`/`nbf`, in seconds (default 30). */
  clockToleranceSeconds?: number
  /** Time limit of the discovery and JWKS fetches, in ms (default 5000). */
  fetchTimeoutMs?: number
  /** How long a fetched JWKS is used before it is fetched again, in ms (default 10 minutes). */
  jwksCacheMaxAgeMs?: number
  /** After a JWKS fetch, how long an unknown `kid` is refused without refetching, in ms (default 2000). */
  jwksCooldownMs?: number
  /** After a failed discovery, how long requests fail fast before it is tried again, in ms (default 1000). */
  discoveryRetryMs?: number
  /** Longest accepted token, in characters (default 8192). */
  maxTokenChars?: number
}

/** Who a verified token says is calling (public claims only). */
export interface AuthenticatedCaller {
  readonly subject: string | undefined
  readonly clientId: string | undefined
  readonly scope: string | undefined
  /** Seconds since the epoch. */
  readonly expiresAt: number
  /** Every claim of the verified token, for the policies (src/http/policy.ts). */
  readonly claims: Readonly<Record<string, unknown>>
}

export interface BearerVerifier {
  readonly issuer: string
  readonly audience: string
  /** Verifies the value of an Authorization header; throws AUTH_* DtaErrors. */
  verify (authorization: string | undefined): Promise<AuthenticatedCaller>
  /** Discovers the JWKS URL now (e.g. at start, to report a misconfiguration early). */
  discover (): Promise<void>
}

/** A JWS in compact form; the signature may be empty so that `alg: none` is refused by name. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const BEARER_PATTERN = /^Bearer +(\S+) *$/i

interface Discovered { issuer: string, jwks: JWTVerifyGetKey }

function trimSlash (url: string): string {
  return url.replace(/\/+$/, '')
}

function unavailable (detail: string, cause?: unknown): DtaError {
  return new DtaError('AUTH_ISSUER_UNAVAILABLE', detail, { cause })
}

/** Extracts the JWT from `Authorization: Bearer <token>`. */
function bearerToken (authorization: string | undefined, maxChars: number): string {
  if (authorization === undefined || authorization.trim() === '') throw new DtaError('AUTH_TOKEN_MISSING')
  if (authorization.length > maxChars + 64) throw new DtaError('AUTH_TOKEN_MALFORMED', `longer than ${maxChars} characters`)
  const match = BEARER_PATTERN.exec(authorization)
  if (match === null) throw new DtaError('AUTH_TOKEN_MALFORMED', 'expected the Bearer scheme')
  const token = match[1] as string
  if (!TOKEN_PATTERN.test(token)) throw new DtaError('AUTH_TOKEN_MALFORMED', 'not a compact JWS (three base64url parts)')
  return token
}

/** Maps what jose (or fetch) threw to our codes. */
function mapVerifyError (err: unknown): DtaError {
  if (isDtaError(err)) return err
  if (err instanceof errors.JWTExpired) return new DtaError('AUTH_TOKEN_EXPIRED')
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new DtaError('AUTH_WRONG_ISSUER')
    if (err.claim === 'aud') return new DtaError('AUTH_WRONG_AUDIENCE')
    if (err.claim === 'nbf') return new DtaError('AUTH_TOKEN_NOT_YET_VALID')
    return new DtaError('AUTH_TOKEN_INVALID', `claim ${err.claim} ${err.reason}`)
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new DtaError('AUTH_BAD_SIGNATURE')
  if (err instanceof errors.JWKSNoMatchingKey) return new DtaError('AUTH_BAD_SIGNATURE', 'no issuer key matches the token kid and alg')
  if (err instanceof errors.JWKSMultipleMatchingKeys) return new DtaError('AUTH_BAD_SIGNATURE', 'several issuer keys match and none verifies')
  if (err instanceof errors.JOSEAlgNotAllowed) return new DtaError('AUTH_ALGORITHM_REFUSED')
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return new DtaError('AUTH_TOKEN_MALFORMED')
  if (err instanceof errors.JOSENotSupported) return new DtaError('AUTH_TOKEN_INVALID', 'unsupported token header or key type')
  if (err instanceof errors.JWKSTimeout) return unavailable('JWKS fetch timed out', err)
  if (err instanceof errors.JWKSInvalid || err instanceof errors.JWKInvalid) return unavailable('the issuer JWKS is malformed', err)
  // Any other JOSEError here comes from the JWKS fetch (non-200, not JSON); plain errors from fetch.
  if (err instanceof errors.JOSEError) return unavailable('JWKS fetch failed', err)
  if (err instanceof TypeError || (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))) {
    return unavailable('JWKS fetch failed', err)
  }
  return new DtaError('INTERNAL', 'bearer token verification', { cause: err })
}

function callerOf (payload: JWTPayload): AuthenticatedCaller {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
  return { subject: str(payload.sub), clientId: str(payload.client_id), scope: str(payload.scope), expiresAt: payload.exp ?? 0, claims: { ...payload } }
}

export function createBearerVerifier (options: BearerVerifierOptions): BearerVerifier {
  if (!/^https?:\/\/[^\s/?#]+/.test(options.issuer)) throw new DtaError('CONFIG_INVALID', 'http.oidcIssuer must be an http(s) URL')
  if (options.audience === '') throw new DtaError('CONFIG_INVALID', 'http.oidcAudience is required when http.oidcIssuer is set')
  const algorithms = [...(options.algorithms ?? ASYMMETRIC_ALGORITHMS)]
  for (const alg of algorithms) {
    if (!ASYMMETRIC_ALGORITHMS.includes(alg)) throw new DtaError('CONFIG_INVALID', `bearer token algorithm ${alg} is not an asymmetric signature`)
  }
  const allowed = new Set(algorithms)
  const timeoutMs = options.fetchTimeoutMs ?? 5000
  const clockTolerance = options.clockToleranceSeconds ?? 30
  const maxTokenChars = options.maxTokenChars ?? 8192
  const retryMs = options.discoveryRetryMs ?? 1000
  const configured = trimSlash(options.issuer)

  let discovered: Discovered | undefined
  let pending: Promise<Discovered> | undefined
  let failure: { at: number, error: DtaError } | undefined

  async function fetchDiscovery (): Promise<Discovered> {
    const url = `${configured}/.well-known/openid-configuration`
    let response: Response
    try {
      response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) })
    } catch (err) {
      throw unavailable(`discovery ${url} failed`, err)
    }
    if (response.status !== 200) throw unavailable(`discovery ${url} answered ${response.status}`)
    let doc: { issuer?: unknown, jwks_uri?: unknown }
    try {
      doc = await response.json() as typeof doc
    } catch (err) {
      throw unavailable(`discovery ${url} is not JSON`, err)
    }
    if (typeof doc?.issuer !== 'string' || trimSlash(doc.issuer) !== configured) {
      throw unavailable(`discovery names issuer ${typeof doc?.issuer === 'string' ? doc.issuer.slice(0, 200) : '(none)'}, not ${options.issuer}`)
    }
    let jwksUrl: URL
    try {
      jwksUrl = new URL(String(doc.jwks_uri))
    } catch (err) {
      throw unavailable('discovery has no valid jwks_uri', err)
    }
    if (jwksUrl.protocol !== 'https:' && jwksUrl.protocol !== 'http:') throw unavailable('jwks_uri is not an http(s) URL')
    const jwks = createRemoteJWKSet(jwksUrl, {
      timeoutDuration: timeoutMs,
      cooldownDuration: options.jwksCooldownMs ?? 2000,
      cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
    })
    // The token's iss must be exactly what the issuer says it is (OIDC Discovery §4.3).
    return { issuer: doc.issuer, jwks }
  }

  async function discovery (): Promise<Discovered> {
    if (discovered !== undefined) return discovered
    if (failure !== undefined && Date.now() - failure.at < retryMs) throw failure.error
    pending ??= fetchDiscovery().then(
      (d) => { discovered = d; failure = undefined; return d },
      (err: unknown) => { failure = { at: Date.now(), error: mapVerifyError(err) }; throw failure.error },
    ).finally(() => { pending = undefined })
    return await pending
  }

  return {
    issuer: options.issuer,
    audience: options.audience,
    async discover () { await discovery() },
    async verify (authorization) {
      const token = bearerToken(authorization, maxTokenChars)
      let alg: unknown
      try {
        alg = decodeProtectedHeader(token).alg
      } catch {
        throw new DtaError('AUTH_TOKEN_MALFORMED', 'the token header is not base64url JSON')
      }
      if (typeof alg !== 'string' || !allowed.has(alg)) throw new DtaError('AUTH_ALGORITHM_REFUSED')
      const { issuer, jwks } = await discovery()
      try {
        const { payload } = await jwtVerify(token, jwks, {
          issuer,
          audience: options.audience,
          algorithms,
          clockTolerance,
          requiredClaims: ['exp'],
        })
        return callerOf(payload)
      } catch (err) {
        throw mapVerifyError(err)
      }
    },
  }
}

// ── the Fastify hook ──────────────────────────────────────────────────────────────────────────

/**
 * Routes anyone may call: the status, liveness and readiness, the OpenAPI document, the
 * interactive docs and the web console's static files (src/http/console.ts: they hold no data, and
 * a browser navigating to them cannot send a token; every datum the console shows comes from an
 * API route that needs one).
 */
export function isPublicRoute (routeUrl: string | undefined): boolean {
  if (routeUrl === undefined) return false
  return routeUrl === '/v1/status' || routeUrl === '/v1/health/live' || routeUrl === '/v1/health/ready' || routeUrl === '/openapi.json' ||
    routeUrl === '/docs' || routeUrl.startsWith('/docs/') || routeUrl === '/ui' || routeUrl === '/ui/*'
}

const callers = new WeakMap<object, AuthenticatedCaller>()

/** The verified caller of a request, when authentication is on. */
export function authenticatedCaller (request: FastifyRequest): AuthenticatedCaller | undefined {
  return callers.get(request)
}

function challenge (err: DtaError): string {
  if (err.code === 'AUTH_TOKEN_MISSING') return `Bearer realm="${AUTH_REALM}"`
  const description = err.message.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?')
  return `Bearer realm="${AUTH_REALM}", error="invalid_token", error_description="${description}"`
}

/**
 * Adds an onRequest hook that verifies the bearer token of every request but those to public
 * routes. It runs before the body is parsed, so an unauthenticated request is refused without
 * its body being read; unknown routes need a token too (no route enumeration without one).
 */
export function registerBearerAuth (app: FastifyInstance, verifier: BearerVerifier): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (isPublicRoute(request.routeOptions.url)) return
    try {
      const caller = await verifier.verify(request.headers.authorization)
      callers.set(request, caller)
      request.log.debug({ sub: caller.subject, clientId: caller.clientId }, 'bearer token accepted')
    } catch (err) {
      if (isDtaError(err) && err.statusCode === 401) void reply.header('www-authenticate', challenge(err))
      if (isDtaError(err, 'AUTH_ISSUER_UNAVAILABLE')) void reply.header('retry-after', '5')
      throw err
    }
  })
}
