/**
 * The client's HTTP calls to a node's API, and what they say when the answer is not the API's:
 * a node that cannot be reached (and where its address came from); an answer that is not JSON, or
 * a 404 for an API path — then a URL that serves `/metrics` (which the API does not) is named as
 * a node's metrics listener, whatever that listener answers to other paths; and an order endpoint
 * missing because the node is a fiduciary (orders go to a principal or multi node). A refusal by
 * the API keeps its code and its JSON body (`--json` prints it). Each request has a deadline
 * (CONVENTIONS habit 5).
 * @module
 */
import type { Target } from './target.ts'
import { addressUrl, readHomeConfig } from './target.ts'

/** Long enough for a redemption that waits on an IPFS fetch (ipfs.fetchTimeoutMs) through a fiduciary. */
const REQUEST_TIMEOUT_MS = 120_000

export type Payload = Record<string, unknown>

/** The API refused: `code` and `payload` are its JSON answer. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly payload: Payload
  /** The message explains the refusal in the client's words (not the API's code and message). */
  readonly explained: boolean
  constructor (status: number, payload: Payload, message?: string) {
    super(message ?? `${String(payload.code ?? status)}: ${String(payload.message ?? '')}`)
    this.explained = message !== undefined
    this.status = status
    this.code = String(payload.code ?? '')
    this.payload = payload
  }
}

export interface Client {
  readonly target: Target
  call (method: 'GET' | 'POST', path: string, body?: unknown, options?: { timeoutMs?: number }): Promise<Payload>
}

function why (err: unknown): string {
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  if (cause?.code === 'ECONNREFUSED') return 'connection refused'
  if ((err as Error).name === 'TimeoutError') return 'no answer in time'
  return cause?.code ?? cause?.message ?? (err as Error).message
}

function unreachable (target: Target, err: unknown): Error {
  const where = target.config === undefined
    ? 'is a node listening there?'
    : `the address is http.listenAddr in ${target.config.file}; is that node running (\`MILAGRO_HOME=${target.config.home} milagro daemon\`)? For another node, pass --url`
  return new Error(`cannot reach ${target.url} (${why(err)}): ${where}`)
}

async function probe (url: string): Promise<{ status: number, type: string, text: string } | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) })
    return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() }
  } catch {
    return undefined
  }
}

/** Whether `target` is a node's metrics listener (it serves /metrics; the API does not): a message saying so. */
async function metricsListener (target: Target): Promise<string | undefined> {
  const metrics = await probe(`${target.url}/metrics`)
  if (metrics?.status !== 200 || !/^# (HELP|TYPE) /m.test(metrics.text)) return undefined
  let hint = `${target.url} is a node's metrics listener (http.metricsListenAddr, default 127.0.0.1:5557), not its API (http.listenAddr, default 127.0.0.1:5556)`
  const home = await readHomeConfig().catch(() => undefined)
  if (home !== undefined && !('problem' in home)) hint += `; the API of the node of ${home.home} is ${addressUrl(home.listenAddr)}`
  return hint
}

/** POST /v1/order and friends are missing on a fiduciary: say that orders go elsewhere. */
async function fiduciary (client: Client, path: string): Promise<string | undefined> {
  if (!path.startsWith('/v1/order')) return undefined
  const status = await client.call('GET', '/v1/status', undefined, { timeoutMs: 5000 }).catch(() => undefined)
  if (status?.nodeType !== 'fiduciary') return undefined
  return `${client.target.url} is a fiduciary node: it keeps order seeds for principals and takes no orders from clients. ` +
    'Orders go to a principal or multi node: pass its --url, or set MILAGRO_HOME to its home'
}

export function createClient (target: Target, options: { token?: string, verbose?: boolean }): Client {
  const token = options.token ?? process.env.MILAGRO_TOKEN
  const client: Client = {
    target,
    async call (method, path, body, callOptions = {}) {
      const url = `${target.url}${path}`
      if (options.verbose === true) console.error(`milagro: ${method} ${url} (${target.source})`)
      const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' }
      if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`
      let response: Response
      let text: string
      try {
        response = await fetch(url, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(callOptions.timeoutMs ?? REQUEST_TIMEOUT_MS),
        })
        text = await response.text()
      } catch (err) {
        throw unreachable(target, err)
      }
      const type = response.headers.get('content-type') ?? ''
      let payload: Payload | undefined
      try {
        const parsed = JSON.parse(text) as unknown
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) payload = parsed as Payload
      } catch { /* not JSON */ }
      if (payload !== undefined && response.ok) return payload
      // A 404 that is not the API's refusal of a known path: the wrong listener, or a fiduciary.
      if (payload === undefined || (response.status === 404 && (payload.code === undefined || payload.code === 'ROUTE_NOT_FOUND'))) {
        const hint = await metricsListener(target) ?? (payload === undefined ? undefined : await fiduciary(client, path))
        if (hint !== undefined) throw payload === undefined ? new Error(hint) : new ApiError(response.status, payload, hint)
        if (payload === undefined) throw new Error(`${url} answered HTTP ${response.status} ${type === '' ? 'without a content type' : type}, not the API's JSON: is ${target.url} a milagro node's API (http.listenAddr)?`)
      }
      throw new ApiError(response.status, payload)
    },
  }
  return client
}
