/**
 * The response headers that keep the API listener's answers to the pages that may read them
 * (docs/console.md, docs/security.md). Set on every answer, refusals included:
 * - `X-Content-Type-Options: nosniff` — a JSON answer is never run as a script or read as a
 *   style sheet by a page that includes it with <script src>;
 * - `Cross-Origin-Resource-Policy: same-origin` — a page of another origin cannot embed any
 *   answer (<img>, <script>, a no-cors fetch) even without reading it;
 * - `Referrer-Policy: no-referrer` — console URLs (which name order references) are not sent on;
 * - API data (everything but the console's files and the interactive docs):
 *   `Cache-Control: no-store` (unless the route set its own: the transparency log's full tiles,
 *   which never change), so no browser or proxy keeps an order, an identity or a secret,
 *   and `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`, so an answer
 *   opened as a page runs nothing and cannot be framed;
 * - the console (`/ui`): `CONSOLE_CSP` — every script, style, image and connection from the node
 *   itself, no inline script or style element, no eval, no plugins, no <base>, forms to the node
 *   only, never framed (with `X-Frame-Options: DENY` for older browsers) — and
 *   `Cross-Origin-Opener-Policy: same-origin`, so a page that opened the console keeps no handle on
 *   its window.
 * The interactive docs (`/docs`, @fastify/swagger-ui) keep their own headers.
 * @module
 */
import type { FastifyInstance } from 'fastify'

export const CONSOLE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ')

export const API_CSP = "default-src 'none'; frame-ancestors 'none'"

function isConsolePath (path: string): boolean {
  return path === '/ui' || path.startsWith('/ui/')
}

export function registerSecurityHeaders (app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff')
    void reply.header('cross-origin-resource-policy', 'same-origin')
    void reply.header('referrer-policy', 'no-referrer')
    const path = request.url.split('?')[0] ?? ''
    if (isConsolePath(path)) {
      void reply.header('content-security-policy', CONSOLE_CSP)
      void reply.header('x-frame-options', 'DENY')
      void reply.header('cross-origin-opener-policy', 'same-origin')
      if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store')
    } else if (path !== '/docs' && !path.startsWith('/docs/')) {
      // a route that chose its caching keeps it: the log's full tiles never change (private, immutable: docs/log.md)
      if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store')
      void reply.header('content-security-policy', API_CSP)
    }
    return payload
  })
}
