/**
 * The `milagro` command (PROTOCOL §10): `init` and `daemon` as in the original D-TA, `start`
 * (init on first run, then daemon — the README's one command), and client commands that call a
 * running node's HTTP API so a person can use it without curl. Client output is readable text,
 * or the API's JSON with --json. Exit codes: 0 ok, 1 refused or failed, 2 usage.
 * @module
 */
import { parseArgs } from 'node:util'
import { stat } from 'node:fs/promises'
import { createInterface } from 'node:readline/promises'
import { DtaError, isDtaError } from '../errors.ts'
import { CONFIG_FILE, loadConfig, resolveHome, resolveInHome } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import { createRequire } from 'node:module'

// The server (Helia, Fastify, SQLite…) is imported only by the commands that run it, so that
// client commands start in a fraction of the time.
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

const USAGE = `milagro ${VERSION} — Milagro Decentralized Trust Authority

Usage: milagro <command> [options]

Server:
  init      create the node's home ($MILAGRO_HOME, default ~/.milagro)
            --nodename NAME  --nodetype multi|principal|fiduciary  --service PLUGIN
            --masterfiduciarynode CID,URL  --interactive
  daemon    run the node (graceful shutdown on SIGINT/SIGTERM)
  start     init with defaults if the home is new, then daemon

Client (talk to a running node; --url URL, default from the home's config; --json for raw JSON;
        --token JWT or $MILAGRO_TOKEN when the node requires OAuth2 bearer tokens):
  status
  identity create NAME | identity get CID | identity list [--page N --per-page N --sort asc|desc]
  order create [--beneficiary CID] [--ext key=value ...]
  order list [--page N --per-page N --sort asc|desc] | order get REFERENCE
  order secret REFERENCE [--beneficiary CID] [--ext key=value ...]
  order redeem PART4CID [--ext key=value ...]     (on a beneficiary's own node)

Custody (on the home's files; stop the daemon first):
  custody migrate --to pkcs11|local   re-seal every seed under the other backend's KEK, then switch
  custody status                      backend, key id, and records under it or other keys
`

const OPTIONS = {
  nodename: { type: 'string' },
  nodetype: { type: 'string' },
  service: { type: 'string' },
  masterfiduciarynode: { type: 'string' },
  interactive: { type: 'boolean' },
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  beneficiary: { type: 'string' },
  ext: { type: 'string', multiple: true },
  page: { type: 'string' },
  'per-page': { type: 'string' },
  sort: { type: 'string' },
  to: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS, allowPositionals: true }>>['values']

class UsageError extends Error {}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

async function ask (question: string, fallback: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    const answer = (await rl.question(`${question} [${fallback}]: `)).trim()
    return answer === '' ? fallback : answer
  } finally {
    rl.close()
  }
}

async function init (values: Values): Promise<void> {
  const home = resolveHome()
  let nodeName = values.nodename
  let nodeType = values.nodetype
  let service = values.service
  let master = values.masterfiduciarynode
  if (values.interactive === true) {
    nodeName = await ask('Node name', nodeName ?? 'node')
    nodeType = await ask('Node type (multi, principal, fiduciary)', nodeType ?? 'multi')
    service = await ask('Plugin (milagro, safeguardsecret, bitcoinwallet)', service ?? 'milagro')
    if (nodeType === 'principal') master = await ask('Master fiduciary (CID,URL)', master ?? '')
  }
  let masterFiduciary: { cid: string, url: string } | undefined
  if (master !== undefined && master !== '') {
    const [cid, url, ...rest] = master.split(',')
    if (cid === undefined || url === undefined || rest.length > 0) throw new UsageError('--masterfiduciarynode takes CID,URL')
    masterFiduciary = { cid, url }
  }
  const { initNode } = await import('../node.ts')
  const config = await initNode({
    home,
    nodeName,
    nodeType: nodeType as Config['node']['nodeType'] | undefined,
    service: service as Config['plugins']['service'] | undefined,
    masterFiduciary,
  })
  console.log(`Initialised ${home}\nNode identity: ${config.node.nodeID}\nNode type: ${config.node.nodeType}, plugin: ${config.plugins.service}`)
}

async function daemon (): Promise<void> {
  const home = resolveHome()
  const config = await loadConfig({ home })
  const { createLogger } = await import('../logging.ts')
  const { createNode } = await import('../node.ts')
  const logger = createLogger(config.log)
  if (config.http.oidcIssuer === '') {
    logger.warn('NO AUTHENTICATION: http.oidcIssuer is not set, so anyone who can reach the API can create identities and redeem secrets. Keep http.listenAddr on loopback or configure OAuth2.')
  }
  const node = await createNode({ home, config, logger })
  // The handlers are in place before the node starts, so a signal that follows the "listening"
  // line at once (a supervisor, a test) always finds them: on a busy machine the process can be
  // descheduled between writing that line and the next statement.
  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    const force = setTimeout(() => { logger.error('shutdown timed out'); process.exit(1) }, config.http.shutdownTimeoutMs)
    force.unref()
    node.stop().then(() => { logger.info('stopped'); process.exit(0) }, (err: unknown) => { logger.error({ err }, 'shutdown failed'); process.exit(1) })
  }
  process.on('SIGINT', () => { shutdown('SIGINT') })
  process.on('SIGTERM', () => { shutdown('SIGTERM') })
  let address: string
  try {
    address = await node.start()
  } catch (err) {
    if (stopping) return
    await node.stop()
    throw err
  }
  if (stopping) return
  logger.info({ address, metrics: node.metricsAddress(), nodeCID: node.nodeCID, nodeType: config.node.nodeType, plugin: config.plugins.service, peerID: node.documents.peerId(), ipfs: node.documents.multiaddrs() }, 'milagro node listening')
}

async function start (values: Values): Promise<void> {
  const home = resolveHome()
  if (!await exists(resolveInHome(home, CONFIG_FILE))) await init(values)
  await daemon()
}

// ── client commands ────────────────────────────────────────────────────────────────────────────

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

async function client (command: string, args: string[], values: Values): Promise<void> {
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

export async function main (argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const [command, ...rest] = parsed.positionals
  if (command === undefined || parsed.values.help === true || command === 'help') {
    console.log(USAGE)
    return command === undefined && parsed.values.help !== true ? 2 : 0
  }
  try {
    if (command === 'init') await init(parsed.values)
    else if (command === 'daemon') await daemon()
    else if (command === 'start') await start(parsed.values)
    else if (command === 'custody') await (await import('./custody.ts')).custodyCommand(resolveHome(), rest, parsed.values, message => new UsageError(message))
    else await client(command, rest, parsed.values)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`)
      return 2
    }
    if (parsed.values.json === true && 'payload' in (err as object)) console.error(JSON.stringify((err as { payload: unknown }).payload, null, 2))
    else console.error(`milagro ${command}: ${isDtaError(err) ? `${err.code}: ${err.message}` : (err as Error).message}`)
    return 1
  }
}

/** Runs the command line and sets the exit code (servers keep running until a signal). */
export async function run (argv: string[]): Promise<void> {
  const code = await main(argv)
  if (code !== 0) process.exitCode = code
}
