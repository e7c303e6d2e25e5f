/**
 * The DNS-rebinding and cross-origin guard of the HTTP listeners (PROTOCOL §8): pure functions
 * that decide, from a request's `Host` and `Origin` headers, whether the request is addressed to
 * this node by one of its own names. The API (src/http/app.ts, an `onRequest` hook that runs
 * before authentication) and the metrics listener (src/http/metrics.ts) share them.
 *
 * Why: a node on loopback without authentication is reachable from any web page. The page's
 * origin is `http://rebind.attacker.example`; its DNS first answers the attacker's server, then
 * 127.0.0.1, and the browser — which checks the same-origin policy by NAME — lets the page read
 * what "its own" server at 127.0.0.1:5556 answers. The one thing the attacker cannot change is the
 * name: the browser sends `Host: rebind.attacker.example:5556`. So a request is answered only when
 * its Host is one of the node's names:
 * - `localhost`;
 * - any IP literal (IPv4 dotted quad, or IPv6 in brackets). Rebinding needs the browser to look
 *   the host up in DNS, and an IP literal is never looked up: a page whose Host is `127.0.0.1` was
 *   loaded from 127.0.0.1 itself, so the same-origin policy already keeps other pages out (and the
 *   WHATWG URL parser turns any host whose last label is numeric into an IPv4 address, so a DNS
 *   name can never pass for one). This keeps every IP-addressed client working — the e2e harness,
 *   principals calling `http://127.0.0.1:…`, a Prometheus scraper by address;
 * - the names listed in `http.allowedHosts` (compared without case), e.g. the name a principal's
 *   `node.masterFiduciaryServer` uses for this fiduciary, or the name behind a reverse proxy.
 * The single entry `*` turns the check off (for a proxy that rewrites Host; the proxy must then
 * do the check). Anything else — a name not listed, `localhost.attacker.example`,
 * `127.0.0.1.nip.io`, a trailing dot, a malformed, empty or absent Host — is refused.
 *
 * Cross-origin requests: the node grants no CORS, ever (no `Access-Control-Allow-*` header). A
 * request that carries an `Origin` must come from a page of the node itself: the Origin's host
 * must equal the request's own Host (same host), or be `localhost`, a loopback address or a name
 * of `http.allowedHosts`. Unlike the Host rule, an arbitrary IP literal is NOT enough here — an
 * attacker can serve a page from `http://203.0.113.5`. `Origin: null` (sandboxed frames, file
 * pages, cross-site redirects) is refused, and so is every CORS preflight (`OPTIONS` with
 * `Access-Control-Request-Method`): a preflight is by definition cross-origin. Ports and schemes
 * are not compared; see docs/security.md for what that means.
 *
 * Refusals are 403 HOST_NOT_ALLOWED and 403 ORIGIN_NOT_ALLOWED; the detail quotes the refused
 * value cut to 64 printable characters (it is attacker-chosen: no control characters, no
 * megabyte of it echoed back).
 * @module
 */
import { isIP, isIPv6 } from 'node:net'
import { DtaError } from '../errors.ts'

/** The entry of `http.allowedHosts` that turns the check off. */
export const ANY_HOST = '*'

/** Names every node answers to (besides IP literals). */
export const DEFAULT_HOST_NAMES: readonly string[] = ['localhost']

/** Longest Host header looked at: a 253-character DNS name, brackets and a port. */
const MAX_HOST_HEADER = 300
const LABEL = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?'
const NAME = new RegExp(`^${LABEL}(\\.${LABEL})*$`)
const PORT = /^:[0-9]{1,5}$/
const ORIGIN = /^https?:\/\/([^/?#@\s]+)$/i

/**
 * The host part of a `Host` header (RFC 9110 §7.2: `uri-host [":" port]`), lower-cased, without
 * the port and without the brackets of an IPv6 literal; undefined when the header is absent,
 * empty or malformed (a bare IPv6 address, a bad port, characters no host name has).
 */
export function hostOfHeader (hostHeader: string | undefined): string | undefined {
  if (typeof hostHeader !== 'string' || hostHeader === '' || hostHeader.length > MAX_HOST_HEADER) return undefined
  const value = hostHeader.toLowerCase()
  if (value.startsWith('[')) {
    const end = value.indexOf(']')
    if (end < 0) return undefined
    const literal = value.slice(1, end)
    const rest = value.slice(end + 1)
    if (!isIPv6(literal) || (rest !== '' && !PORT.test(rest))) return undefined
    return literal
  }
  const colon = value.indexOf(':')
  const host = colon < 0 ? value : value.slice(0, colon)
  if (colon >= 0 && !PORT.test(value.slice(colon))) return undefined
  if (host.length > 253 || !NAME.test(host)) return undefined
  return host
}

/** Whether a parsed host (from `hostOfHeader`) is an IP literal — never looked up in DNS. */
function isIpLiteral (host: string): boolean {
  return isIP(host) !== 0
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}

function listed (host: string, allowed: readonly string[]): boolean {
  return DEFAULT_HOST_NAMES.includes(host) || allowed.some(a => normaliseEntry(a) === host)
}

/** An entry of `http.allowedHosts` as `hostOfHeader` would give it: lower case, IPv6 without brackets. */
function normaliseEntry (entry: string): string {
  const e = entry.toLowerCase()
  return e.startsWith('[') && e.endsWith(']') ? e.slice(1, -1) : e
}

/**
 * Whether a request with this `Host` header may be answered: `localhost`, an IP literal or a name
 * of `allowed` (`http.allowedHosts`; `['*']` allows anything, even no Host).
 */
export function isAllowedHost (hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes(ANY_HOST)) return true
  const host = hostOfHeader(hostHeader)
  if (host === undefined) return false
  return isIpLiteral(host) || listed(host, allowed)
}

/**
 * Whether a request carrying this `Origin` comes from a page of this node: an http(s) origin whose
 * host is the request's own host, `localhost`, a loopback address or a name of `allowed`.
 */
export function isAllowedOrigin (origin: string, hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes(ANY_HOST)) return true
  const match = ORIGIN.exec(origin)
  if (match === null) return false
  const host = hostOfHeader(match[1])
  if (host === undefined) return false
  return host === hostOfHeader(hostHeader) || isLoopback(host) || listed(host, allowed)
}

/**
 * Checks `http.allowedHosts` once, where the listeners are built: every entry a host name or IP
 * literal (the config schema checks the shape; this checks IPv6 literals properly), and `*` only
 * alone. Throws CONFIG_INVALID; returns the list unchanged.
 */
export function checkAllowedHosts (allowed: readonly string[]): readonly string[] {
  if (allowed.includes(ANY_HOST)) {
    if (allowed.length !== 1) throw new DtaError('CONFIG_INVALID', `http.allowedHosts: "${ANY_HOST}" turns the Host check off and must be the only entry`)
    return allowed
  }
  for (const entry of allowed) {
    const e = normaliseEntry(entry)
    const ok = e.includes(':') || entry.startsWith('[') ? isIPv6(e) : e.length <= 253 && NAME.test(e)
    if (!ok) throw new DtaError('CONFIG_INVALID', `http.allowedHosts: ${quote(entry)} is not a host name or IP address (no port, no scheme)`)
  }
  return allowed
}

/** An attacker-chosen value for an error detail: at most 64 printable ASCII characters, quoted. */
export function quote (value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?')
  return JSON.stringify(printable.length > 64 ? `${printable.slice(0, 64)}...` : printable)
}

/** The request headers the guard reads (Node's lower-cased `IncomingHttpHeaders` fit). */
export interface GuardedHeaders {
  host?: string | undefined
  origin?: string | undefined
  'access-control-request-method'?: string | undefined
}

/**
 * The refusal for a request, or undefined when it may be answered: HOST_NOT_ALLOWED for a Host
 * that is not one of the node's names; ORIGIN_NOT_ALLOWED for an Origin of another site, for
 * `Origin: null` and for any CORS preflight.
 */
export function hostRefusal (method: string, headers: GuardedHeaders, allowed: readonly string[]): DtaError | undefined {
  if (!isAllowedHost(headers.host, allowed)) {
    const host = headers.host
    const what = host === undefined ? 'no Host header' : hostOfHeader(host) === undefined ? `malformed Host ${quote(host)}` : `Host ${quote(host)}`
    return new DtaError('HOST_NOT_ALLOWED', `${what}; a node called by a DNS name (e.g. a fiduciary at a principal's node.masterFiduciaryServer) must list that name in http.allowedHosts`)
  }
  if (allowed.includes(ANY_HOST)) return undefined
  const origin = headers.origin
  if (origin !== undefined && !isAllowedOrigin(origin, headers.host, allowed)) {
    return new DtaError('ORIGIN_NOT_ALLOWED', `Origin ${quote(origin)}`)
  }
  if (method === 'OPTIONS' && headers['access-control-request-method'] !== undefined) {
    return new DtaError('ORIGIN_NOT_ALLOWED', 'a CORS preflight; this node grants no cross-origin access')
  }
  return undefined
}
