/**
 * The one place where adapters are chosen and wired (CONVENTIONS: createNode). `initNode` makes a
 * new home folder (config, custody key, IPFS peer key, node identity) under the home lock, with
 * config.yaml last, and resumes one whose init was interrupted or failed (docs/operations.md);
 * `createNode` opens an initialised home and returns a node whose listeners start with `start()`
 * (metrics, then the API; a listen address that cannot be bound, IPFS's included, is LISTEN_*
 * naming the setting that chose it) and whose every resource is released by `stop()`, in
 * reverse order of opening.
 * @module
 */
import { mkdir, stat } from 'node:fs/promises'
import { relative } from 'node:path'
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { DtaError, isDtaError, listenError } from './errors.ts'
import { createHeliaDocumentStore } from './adapters/ipfs/helia/index.ts'
import type { HeliaDocumentStoreInit } from './adapters/ipfs/helia/index.ts'
import { cidV0Of } from './adapters/ipfs/unixfs.ts'
import { lockHome } from './adapters/home-lock.ts'
import { createLocalKeyFile, initLocalPassphrase, openLocalCustody } from './adapters/custody/local.ts'
import { createPkcs11Key, openPkcs11Custody, readPkcs11PinFile } from './adapters/custody/pkcs11/index.ts'
import type { Pkcs11Options } from './adapters/custody/pkcs11/index.ts'
import { createHttpFiduciaryClient } from './adapters/peer/http.ts'
import { openSqliteState } from './adapters/storage/sqlite/index.ts'
import { CONFIG_FILE, loadConfig, resolveInHome, writeConfig } from './config/load.ts'
import { envName } from './config/schema.ts'
import type { Config, PartialConfig } from './config/schema.ts'
import { buildApp } from './http/app.ts'
import { createBearerVerifier } from './http/auth.ts'
import { createMetrics } from './http/metrics.ts'
import { logDomainEvents } from './logging.ts'
import { createPlugin } from './plugins/registry.ts'
import type { Custody } from './ports/custody.ts'
import type { NetworkDocumentStore } from './ports/document-store.ts'
import type { DomainEvents } from './ports/events.ts'
import type { FiduciaryClient } from './ports/peer.ts'
import type { StateRepository } from './ports/state.ts'
import type { FulfilService, NodeServices, OrderService, StatusResponse } from './ports/api.ts'
import { createPluginContext } from './services/context.ts'
import { createAuditService } from './services/audit.ts'
import { createFulfilService } from './services/fulfil.ts'
import { Identities } from './services/identities.ts'
import { createIdentityService } from './services/identity.ts'
import { createOrderService } from './services/order.ts'

export const APPLICATION = 'Milagro Distributed Trust'
export const API_VERSION = 'v1'
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version

export interface DtaNode {
  readonly config: Config
  readonly nodeCID: string
  readonly app: FastifyInstance
  readonly documents: NetworkDocumentStore
  readonly services: NodeServices
  /** Starts the metrics listener (if configured), then the HTTP server; resolves with the API address. A listen failure is LISTEN_* naming its setting. */
  start (): Promise<string>
  /** The metrics listener's host:port once started, or undefined when it is off. */
  metricsAddress (): string | undefined
  stop (): Promise<void>
}

export type CustodyBackend = Config['node']['custody']

/** The pkcs11 custody options of a config; the PIN from MILAGRO_NODE_PKCS11PIN, else node.pkcs11PinFile. */
export async function pkcs11Options (home: string, config: Config): Promise<Pkcs11Options> {
  const n = config.node
  let pin = n.pkcs11Pin
  if (pin === '') {
    if (n.pkcs11PinFile === '') throw new DtaError('CUSTODY_PKCS11_PIN_MISSING')
    pin = await readPkcs11PinFile(resolveInHome(home, n.pkcs11PinFile))
  }
  return { module: n.pkcs11Module, tokenLabel: n.pkcs11TokenLabel, keyLabel: n.pkcs11KeyLabel, pin }
}

/** Opens the custody backend `backend` (default: the configured one) of a home. */
export async function openCustody (home: string, config: Config, backend: CustodyBackend = config.node.custody): Promise<Custody> {
  if (backend === 'pkcs11') return await openPkcs11Custody(await pkcs11Options(home, config))
  if (config.node.custodyKeySource === 'passphrase') {
    if (config.node.passphrase === '') throw new DtaError('CUSTODY_PASSPHRASE_MISSING', 'set MILAGRO_NODE_PASSPHRASE')
    return await openLocalCustody({ passphrase: config.node.passphrase, paramsFile: resolveInHome(home, config.node.custodyParamsFile) })
  }
  return await openLocalCustody({ keyFile: resolveInHome(home, config.node.custodyKeyFile) })
}

/**
 * Makes the KEK of `backend` for a home: the local key file or passphrase parameters file
 * (refusing to overwrite one, unless `ifAbsent`, when an existing one is kept), or the HSM key,
 * found if the token already has it and generated there otherwise. Only init and custody
 * migration call this, never a running node.
 */
export async function createCustodyKey (home: string, config: Config, backend: CustodyBackend, options: { ifAbsent?: boolean } = {}): Promise<void> {
  if (backend === 'pkcs11') {
    await createPkcs11Key(await pkcs11Options(home, config))
    return
  }
  const passphrase = config.node.custodyKeySource === 'passphrase'
  const file = resolveInHome(home, passphrase ? config.node.custodyParamsFile : config.node.custodyKeyFile)
  if (options.ifAbsent === true && await stat(file).then(() => true, () => false)) return
  if (passphrase) {
    if (config.node.passphrase === '') throw new DtaError('CUSTODY_PASSPHRASE_MISSING', 'set MILAGRO_NODE_PASSPHRASE')
    await initLocalPassphrase({ passphrase: config.node.passphrase, paramsFile: file })
  } else {
    await createLocalKeyFile(file)
  }
}

/**
 * `observers`: the store's optional peering log and network-fetch timings (createNode passes them).
 * `network: false` (init): the same store, blocks and peer key, but listening nowhere and dialling
 * no peer — init only stores the node identity document, and must not need the IPFS port.
 */
async function openDocuments (home: string, config: Config, observers: Pick<HeliaDocumentStoreInit, 'log' | 'onNetworkFetch'> = {}, options: { network?: boolean } = {}): Promise<NetworkDocumentStore> {
  const network = options.network !== false
  // read by the store at start, refused unless 0600 (DOCUMENT_STORE_SWARM_KEY_INSECURE)
  const swarmKeyFile = config.ipfs.swarmKeyFile === '' ? undefined : resolveInHome(home, config.ipfs.swarmKeyFile)
  const documents = createHeliaDocumentStore({
    path: resolveInHome(home, config.ipfs.dataDir),
    listen: network ? config.ipfs.listenAddr : [],
    peers: network ? config.ipfs.peers : [],
    announce: network ? config.ipfs.announce : [],
    swarmKeyFile,
    fetchTimeoutMs: config.ipfs.fetchTimeoutMs,
    // init (no network) runs no DHT either: it only stores the node identity document
    contentRouting: network ? config.ipfs.contentRouting : 'none',
    ...observers,
  })
  try {
    await documents.start()
  } catch (err) {
    throw withSetting(err, 'ipfs', 'listenAddr')
  }
  return documents
}

/**
 * A LISTEN_* error with the setting that chose the address and what to do; other errors as they
 * are. `err` may be a raw listen error (its errno in `code`) of the listener at `address`.
 */
function withSetting (err: unknown, section: 'http' | 'ipfs', key: string, address?: string): unknown {
  const e = address !== undefined && !isDtaError(err) ? listenError((err as { code?: unknown } | null)?.code, address, { cause: err }) : err
  if (!isDtaError(e)) return e
  const setting = `${section}.${key} (${envName(section, key)})`
  let advice: string
  switch (e.code) {
    case 'LISTEN_ADDRESS_IN_USE':
      advice = `another milagro node or another program is using it; stop it, or set ${setting} to another port, or to port 0 for any free one`
      break
    case 'LISTEN_PERMISSION_DENIED':
      advice = `a privileged port (below 1024 on most systems) needs root or CAP_NET_BIND_SERVICE; set ${setting} to a higher port, or to port 0 for any free one`
      break
    case 'LISTEN_FAILED':
      advice = `is the host an address of this machine (127.0.0.1; 0.0.0.0 for every interface)? set ${setting} to one`
      break
    default:
      return e
  }
  return new DtaError(e.code, `${e.detail ?? ''}, set by ${section}.${key}: ${advice}`, { cause: e })
}

/** Opens resources in order and, if a later one fails, closes the earlier ones. */
class Resources {
  readonly #closers: Array<() => Promise<void>> = []
  add (close: () => Promise<void>): void { this.#closers.unshift(close) }
  async closeAll (): Promise<void> {
    for (const close of this.#closers.splice(0)) {
      try { await close() } catch { /* closing is best effort; the first error was already reported */ }
    }
  }
}

export interface InitOptions {
  home: string
  nodeName?: string
  nodeType?: Config['node']['nodeType']
  service?: Config['plugins']['service']
  masterFiduciary?: { cid: string, url: string }
  /** Further config values (e.g. listen addresses) written into config.yaml. */
  overrides?: PartialConfig
  env?: Record<string, string | undefined>
  /** Told what init does beyond the usual (resuming an unfinished init, a stale lock); the CLI prints it. */
  report?: (line: string) => void
}

const exists = async (path: string): Promise<boolean> => await stat(path).then(() => true, () => false)

/**
 * Creates a node's home: config.yaml, the custody key (a 0600 file, or the KEK inside the HSM for
 * pkcs11 custody: found if the token has it, generated once otherwise), the IPFS peer key and the
 * node identity (its root seed sealed by custody). Refuses a home that already has a config file,
 * and holds the home lock while it works.
 *
 * config.yaml is written last, so a home without it is an unfinished init (interrupted or failed),
 * and init resumes it: with the custody key it finds (a key or parameters file is never replaced;
 * an HSM key under the label is reused), the node identity already stored if there is one, the
 * IPFS peer key and blocks. A stored node identity that the custody it finds does not open is
 * HOME_INIT_UNFINISHED, saying what to restore, and no key is made. What can be checked without
 * touching the home (a passphrase or PKCS#11 PIN is given) is checked first: such a failure leaves
 * nothing. The IPFS store is opened without listening or dialling (the port may be taken).
 */
export async function initNode (options: InitOptions): Promise<Config> {
  const { home } = options
  const configPath = resolveInHome(home, CONFIG_FILE)
  const initialised = (): DtaError => new DtaError('CONFIG_INVALID', `${configPath} exists: this home is already initialised`)
  if (await exists(configPath)) throw initialised()
  const overrides: PartialConfig = {
    ...options.overrides,
    node: {
      ...options.overrides?.node,
      ...(options.nodeType === undefined ? {} : { nodeType: options.nodeType }),
      nodeName: options.nodeName ?? options.overrides?.node?.nodeName ?? 'node',
      ...(options.masterFiduciary === undefined ? {} : { masterFiduciaryNodeID: options.masterFiduciary.cid, masterFiduciaryServer: options.masterFiduciary.url }),
    },
    plugins: { ...options.overrides?.plugins, ...(options.service === undefined ? {} : { service: options.service }) },
  }
  const config = await loadConfig({ home, env: options.env, overrides })
  const n = config.node
  if (n.custody === 'pkcs11') await pkcs11Options(home, config)
  else if (n.custodyKeySource === 'passphrase' && n.passphrase === '') throw new DtaError('CUSTODY_PASSPHRASE_MISSING', 'set MILAGRO_NODE_PASSPHRASE')
  await mkdir(home, { recursive: true, mode: 0o700 })
  const resources = new Resources()
  const lock = await lockHome(home, 'milagro init')
  resources.add(async () => await lock.release())
  try {
    if (await exists(configPath)) throw initialised()
    if (lock.replaced !== undefined) options.report?.(`Took over the stale lock of pid ${lock.replaced.pid} (${lock.replaced.command}, which is no longer running)`)
    const keyFile = n.custody === 'pkcs11' ? undefined : resolveInHome(home, n.custodyKeySource === 'passphrase' ? n.custodyParamsFile : n.custodyKeyFile)
    const databaseFile = resolveInHome(home, n.databaseFile)
    const found: string[] = []
    for (const file of [keyFile, databaseFile, resolveInHome(home, config.ipfs.dataDir)]) {
      if (file !== undefined && await exists(file)) found.push(relative(home, file).startsWith('..') ? file : relative(home, file))
    }
    if (found.length > 0) options.report?.(`Resuming the unfinished init of ${home} with the ${found.join(', ')} it made (a custody key is never replaced)`)
    const state = await openSqliteState({ path: databaseFile })
    resources.add(async () => await state.close())
    const stored = await state.getNodeIdentity()
    if (stored === undefined) await createCustodyKey(home, config, n.custody, { ifAbsent: true })
    let custody: Custody
    try {
      custody = await openCustody(home, config)
    } catch (err) {
      throw unfinished(err, home, config, stored?.cid)
    }
    resources.add(async () => await custody.close())
    const documents = await openDocuments(home, config, {}, { network: false })
    resources.add(async () => await documents.stop())
    const identities = new Identities({ documents, state, custody })
    let node = { cid: stored?.cid ?? '', name: n.nodeName }
    if (stored === undefined) {
      node.cid = (await identities.create(n.nodeName, { isNodeIdentity: true })).cid
    } else {
      if (!await documents.has(stored.cid)) {
        throw new DtaError('HOME_INIT_UNFINISHED', `the identity document of the node identity ${stored.cid} in ${n.databaseFile} is not in ${config.ipfs.dataDir}: if nothing in ${home} is needed, delete it and run init again`)
      }
      try {
        await identities.held(stored.cid)
      } catch (err) {
        throw unfinished(err, home, config, stored.cid)
      }
      node = { cid: stored.cid, name: stored.name }
      options.report?.(`Resuming with the node identity ${stored.cid} ("${stored.name}") the unfinished init stored`)
    }
    const written = { ...config, node: { ...n, nodeID: node.cid, nodeName: node.name } }
    await writeConfig(home, written)
    return written
  } finally {
    await resources.closeAll()
  }
}

/**
 * Why an unfinished init cannot go on with the custody it finds, and what to do (HOME_INIT_UNFINISHED);
 * any other error as it is. `nodeCID`: the node identity it already stored, if any.
 */
function unfinished (err: unknown, home: string, config: Config, nodeCID: string | undefined): unknown {
  if (!isDtaError(err)) return err
  const n = config.node
  if (nodeCID === undefined) {
    if (err.code !== 'CUSTODY_WRONG_PASSPHRASE') return err
    return new DtaError('HOME_INIT_UNFINISHED', `${n.custodyParamsFile} was written by an unfinished init with another passphrase, and nothing is sealed under it yet: run init again with the same passphrase as then, or delete ${resolveInHome(home, n.custodyParamsFile)} to choose a new one`, { cause: err })
  }
  const key = n.custody === 'pkcs11' ? `the HSM key ${n.pkcs11KeyLabel} of token ${n.pkcs11TokenLabel}` : n.custodyKeySource === 'passphrase' ? `${n.custodyParamsFile} and its passphrase` : n.custodyKeyFile
  const gone = ['CUSTODY_KEY_FILE_NOT_FOUND', 'CUSTODY_PARAMS_INVALID', 'CUSTODY_PKCS11_KEY_NOT_FOUND'].includes(err.code)
  let why: string
  if (gone) why = `${key}, which is not there or not readable (${err.code}): restore ${key} as it was`
  else if (err.code === 'CUSTODY_WRONG_PASSPHRASE') why = `another passphrase (${err.code}): run init again with the passphrase given then`
  else if (err.code === 'CUSTODY_WRONG_KEY' || err.code === 'CUSTODY_INTEGRITY') why = `another custody key than ${key} (${err.code}): restore the custody key it was made with`
  else return err
  return new DtaError('HOME_INIT_UNFINISHED', `${n.databaseFile} holds the node identity ${nodeCID} of an unfinished init, sealed under ${why} — or, if nothing in ${home} is needed, delete it and run init again`, { cause: err })
}

export interface CreateNodeOptions {
  home: string
  config: Config
  logger?: Logger
}

export async function createNode (options: CreateNodeOptions): Promise<DtaNode> {
  const { home, config } = options
  if (config.node.nodeID === '') throw new DtaError('CONFIG_INVALID', `node.nodeID is empty: run \`milagro init\` for ${home} first`)
  const nodeType = config.node.nodeType
  if (nodeType === 'principal' && (config.node.masterFiduciaryNodeID === '' || config.node.masterFiduciaryServer === '')) {
    throw new DtaError('CONFIG_INVALID', 'a principal node needs node.masterFiduciaryNodeID and node.masterFiduciaryServer (init --masterfiduciarynode CID,URL)')
  }
  // OAuth2 bearer tokens on the API when an issuer is configured (src/http/auth.ts).
  const auth = config.http.oidcIssuer === '' ? undefined : createBearerVerifier({ issuer: config.http.oidcIssuer, audience: config.http.oidcAudience })
  // What the services report goes to the log (one info line per event) and to the metrics.
  const metrics = createMetrics()
  const events = fanOut(options.logger === undefined ? [metrics.events] : [logDomainEvents(options.logger), metrics.events])
  const resources = new Resources()
  try {
    const custody = metrics.timeCustody(await openCustody(home, config))
    resources.add(async () => await custody.close())
    const state: StateRepository = await openSqliteState({ path: resolveInHome(home, config.node.databaseFile) })
    resources.add(async () => await state.close())
    const documents = await openDocuments(home, config, { log: options.logger?.child({ component: 'ipfs' }), onNetworkFetch: metrics.ipfsFetched })
    resources.add(async () => await documents.stop())
    metrics.watchPeers(() => documents.connectedPeers().length)

    const identities = new Identities({ documents, state, custody })
    const nodeRecord = await state.getNodeIdentity()
    if (nodeRecord === undefined || nodeRecord.cid !== config.node.nodeID) {
      throw new DtaError('CONFIG_INVALID', `node.nodeID ${config.node.nodeID} is not this home's node identity`)
    }
    const node = await identities.held(nodeRecord.cid)
    const plugin = createPlugin(config.plugins.service)
    // what both sides get; each service then declares the rest it needs (and the order service no custody)
    const shared = { documents, identities, plugin, pluginContext: createPluginContext(plugin, state, custody), node, cidOf: cidV0Of }

    let fulfil: FulfilService | undefined
    let order: OrderService | undefined
    if (nodeType !== 'principal') fulfil = createFulfilService({ ...shared, state, custody, allowPrincipals: config.http.allowPrincipals, events })
    if (nodeType !== 'fiduciary') {
      let fiduciary: FiduciaryClient
      let fiduciaryCID: string
      if (fulfil !== undefined && config.node.masterFiduciaryServer === '') {
        const local = fulfil
        fiduciary = { fulfillOrder: local.order, fulfillOrderSecret: local.secret }
        fiduciaryCID = node.cid
      } else {
        fiduciary = createHttpFiduciaryClient({ url: config.node.masterFiduciaryServer, timeoutMs: config.http.requestTimeoutMs, bearerToken: config.http.bearerToken })
        fiduciaryCID = config.node.masterFiduciaryNodeID
      }
      const trustedFiduciaries = new Set(config.node.trustedFiduciaries.length > 0 ? config.node.trustedFiduciaries : [fiduciaryCID])
      order = createOrderService({ ...shared, state, fiduciary, fiduciaryCID, trustedFiduciaries, events })
    }

    const status = async (): Promise<StatusResponse> => ({
      application: APPLICATION,
      apiVersion: API_VERSION,
      extensionVendor: plugin.vendor,
      nodeCID: node.cid,
      timeStamp: new Date().toISOString(),
      plugin: plugin.name,
      nodeType,
      version: VERSION,
      peerID: documents.peerId(),
      listenAddrs: documents.multiaddrs(),
      connectedPeers: documents.connectedPeers().length,
    })
    const services: NodeServices = { nodeType, status, identity: createIdentityService({ identities, state, events }), order, fulfil, audit: createAuditService({ state }) }
    const app = await buildApp({
      metrics,
      services,
      plugin,
      bodyLimit: config.http.requestBodyLimit,
      requestTimeoutMs: config.http.requestTimeoutMs,
      logger: options.logger,
      version: VERSION,
      auth,
      allowedHosts: config.http.allowedHosts,
    })
    resources.add(async () => await app.close())
    resources.add(async () => await metrics.close())
    // `ps`, `top` and the journal then name the node this process runs (not `node` or `MainThread`)
    process.title = `milagro ${config.node.nodeName}`

    let metricsAddress: string | undefined
    return {
      config,
      nodeCID: node.cid,
      app,
      documents,
      services,
      // Metrics first: when a listener cannot bind, nothing has said "listening" yet. A failure is
      // LISTEN_* naming the setting (withSetting); the caller stops the node.
      async start () {
        const { listenAddr, metricsListenAddr } = config.http
        if (metricsListenAddr !== '') {
          metricsAddress = await metrics.listen(...splitHostPort(metricsListenAddr)).catch((err: unknown) => { throw withSetting(err, 'http', 'metricsListenAddr', metricsListenAddr) })
        }
        const [host, port] = splitHostPort(listenAddr)
        const address = await app.listen({ host, port }).catch((err: unknown) => { throw withSetting(err, 'http', 'listenAddr', listenAddr) })
        auth?.discover().catch((err: unknown) => { options.logger?.warn({ code: (err as DtaError).code, issuer: auth.issuer }, 'OAuth2 issuer discovery failed; requests get 503 until it succeeds') })
        return address
      },
      metricsAddress: () => metricsAddress,
      async stop () {
        await resources.closeAll()
      },
    }
  } catch (err) {
    await resources.closeAll()
    throw err
  }
}

/** One sink that hands each event to every sink; a sink that throws does not stop the others. */
function fanOut (sinks: DomainEvents[]): DomainEvents {
  return {
    emit (event) {
      for (const sink of sinks) {
        try { sink.emit(event) } catch { /* a sink's failure is its own (DomainEvents.emit) */ }
      }
    },
  }
}

export function splitHostPort (addr: string): [string, number] {
  const at = addr.lastIndexOf(':')
  const host = addr.slice(0, at).replace(/^\[(.*)\]$/, '$1')
  return [host === '' ? '0.0.0.0' : host, Number(addr.slice(at + 1))]
}
