/**
 * The client commands: call a running node's HTTP API so a person can use it without curl —
 * status, identity, order. Output is readable text, or the API's JSON with --json; the node is
 * `--url`, else the address the home's config gives.
 * @module
 */
import { DtaError } from '../errors.ts'
import { loadConfig, resolveHome } from '../config/load.ts'
import { UsageError } from './usage.ts'
import type { Values } from './usage.ts'

async function baseUrl (values: Values): Promise<string> {
  if (values.url !== undefined) return values.url.replace(/\/+$/, '')
  const config = await loadConfig({ home: resolveHome() })
  const [host, port] = config.http.listenAddr.split(/:(?=\d+$)/)
  return `http://${host === '0.0.0.0' || host === '' ? '127.0.0.1' : host}:${port}`
}

function extension (values: Values): Record<string, string> | undefined {
  if (values.ext === undefined) return undefined
  const out: Record<string, string> = {}
  for (const pair of values.ext) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new UsageError(`--ext takes key=value, got ${pair}`)
    out[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return out
}

function listQuery (values: Values): string {
  const q = new URLSearchParams()
  if (values.page !== undefined) q.set('page', values.page)
  if (values['per-page'] !== undefined) q.set('perPage', values['per-page'])
  if (values.sort !== undefined) q.set('sortBy', values.sort === 'asc' ? 'dateCreatedAsc' : values.sort === 'desc' ? 'dateCreatedDesc' : values.sort)
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

async function api (values: Values, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
  const url = `${await baseUrl(values)}${path}`
  let response: Response
  try {
    const token = values.token ?? process.env.MILAGRO_TOKEN
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' }
    if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (err) {
    throw new DtaError('PEER_UNREACHABLE', `${url} (is the daemon running?)`, { cause: err })
  }
  const payload = await response.json() as Record<string, unknown>
  if (!response.ok) {
    const err = new Error(`${String(payload.code ?? response.status)}: ${String(payload.message ?? '')}`)
    throw Object.assign(err, { payload })
  }
  return payload
}

function print (values: Values, payload: Record<string, unknown>, text: () => string): void {
  console.log(values.json === true ? JSON.stringify(payload, null, 2) : text())
}

function fields (payload: Record<string, unknown>): string {
  return Object.entries(payload).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n')
}

export async function client (command: string, args: string[], values: Values): Promise<void> {
  const sub = args[0]
  const need = (what: string): string => {
    const value = args[1]
    if (value === undefined) throw new UsageError(`${command} ${sub ?? ''} needs ${what}`)
    return value
  }
  if (command === 'status') {
    const p = await api(values, 'GET', '/v1/status')
    print(values, p, () => fields(p))
  } else if (command === 'identity' && sub === 'create') {
    const p = await api(values, 'POST', '/v1/identity', { name: need('a NAME') })
    print(values, p, () => String(p.idDocumentCID))
  } else if (command === 'identity' && sub === 'get') {
    const p = await api(values, 'GET', `/v1/identity/${encodeURIComponent(need('a CID'))}`)
    print(values, p, () => fields(p))
  } else if (command === 'identity' && sub === 'list') {
    const p = await api(values, 'GET', `/v1/identity${listQuery(values)}`)
    const list = p.idDocumentList as Array<Record<string, unknown>>
    print(values, p, () => list.map(i => `${String(i.idDocumentCID)}  ${String(i.authenticationReference)}  ${new Date(Number(i.timestamp)).toISOString()}`).join('\n'))
  } else if (command === 'order' && sub === 'create') {
    const p = await api(values, 'POST', '/v1/order', { beneficiaryIDDocumentCID: values.beneficiary, extension: extension(values) })
    print(values, p, () => fields(p))
  } else if (command === 'order' && sub === 'list') {
    const p = await api(values, 'GET', `/v1/order${listQuery(values)}`)
    print(values, p, () => (p.orderReference as string[]).join('\n'))
  } else if (command === 'order' && sub === 'get') {
    const p = await api(values, 'GET', `/v1/order/${encodeURIComponent(need('a REFERENCE'))}`)
    print(values, p, () => `orderCID: ${String(p.orderCID)}\n${JSON.stringify(JSON.parse(String(p.order)), null, 2)}`)
  } else if (command === 'order' && sub === 'secret') {
    const p = await api(values, 'POST', '/v1/order/secret', { orderReference: need('a REFERENCE'), beneficiaryIDDocumentCID: values.beneficiary, extension: extension(values) })
    print(values, p, () => fields(p))
  } else if (command === 'order' && sub === 'redeem') {
    const p = await api(values, 'POST', '/v1/order/secret', { orderPart4CID: need('a PART4CID'), extension: extension(values) })
    print(values, p, () => fields(p))
  } else {
    throw new UsageError(`unknown command: ${[command, sub].filter(Boolean).join(' ')}`)
  }
}

