// The console's one way to the node: the JSON API, same origin, relative to /ui/ (so it also works
// behind a proxy that adds a path prefix). Every request asks for no caching and sends no cookies;
// state-changing ones are JSON (a cross-site page cannot send that without a CORS preflight, which
// the node refuses). Errors become ApiError with the node's stable code (docs/errors.md).
//
// The bearer token (when the node has OAuth2 on) is kept in this module's memory only — not in
// localStorage or sessionStorage — so it is gone when the tab is closed or reloaded, never written
// to disk with the browser profile, and not readable by another tab of the same origin. The cost:
// a reload asks for the token again (navigation inside the console never reloads the page).

let token = null
/** GETs started early (prefetch), by path, each taken once. */
const early = new Map()
let onUnauthorized = () => {}

export class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

export function setToken (value) {
  token = value === '' ? null : value
  early.clear() // anything asked with the old token (or none) is asked again
}
export function hasToken () { return token !== null }
/** Called when the node answers 401: the token is missing, expired or refused. */
export function whenUnauthorized (callback) { onUnauthorized = callback }

async function request (method, path, body, priority = 'auto') {
  const headers = { accept: 'application/json' }
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response
  try {
    response = await fetch(new URL(`../${path}`, document.baseURI), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit', redirect: 'error', priority,
    })
  } catch {
    throw new ApiError(0, 'NETWORK', 'The node could not be reached')
  }
  let data
  try { data = await response.json() } catch { data = undefined }
  if (!response.ok) {
    const error = new ApiError(response.status, data?.code ?? `HTTP_${response.status}`, data?.message ?? response.statusText)
    if (response.status === 401) onUnauthorized(error)
    throw error
  }
  return data
}

/**
 * Starts a GET now, for the view that will ask for it (below). Taken once by its `api.get`; an
 * answer or a refusal reaches the view as if it had asked itself — but a 401 is dropped, so that
 * the view asks again with the token.
 */
export function prefetch (path) {
  // ahead of the modules still loading (six connections per host): the answer is what the view waits for
  const pending = request('GET', path, undefined, 'high')
  early.set(path, pending)
  // a refusal for want of a token is not kept: once signed in, the view asks again
  pending.catch((e) => { if (e.status === 401 && early.get(path) === pending) early.delete(path) })
}

/** `path` is relative to the node's root, e.g. "v1/node". */
export const api = {
  get: (path) => {
    const pending = early.get(path)
    early.delete(path)
    return pending ?? request('GET', path)
  },
  post: (path, body) => request('POST', path, body),
}

/** A query string from an object; empty values are left out. */
export function query (params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

// Asked as soon as this module runs: the node's bundle of the console (src/http/console-bundle.ts)
// runs it first, so these answers are on their way while preact and the views are still being set
// up (the order view of a deep link waits for its chain most). Without a token yet, a node with OAuth2 on answers 401,
// which is dropped (prefetch) and asked again once signed in.
prefetch('v1/node')
const deepLink = /^#\/order\/([0-9a-f]{32})$/.exec(location.hash)
if (deepLink !== null) prefetch(`v1/order/${deepLink[1]}/chain`)
