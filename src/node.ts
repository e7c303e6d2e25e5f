/**
 * The one place where adapters are chosen and wired (CONVENTIONS: createNode). `initNode` makes a
 * new home folder (config, custody key, IPFS peer key, node identity); `createNode` opens an
 * initialised home and returns a node whose HTTP server starts with `start()` and whose every
 * resource is released by `stop()`, in reverse order of opening.
 * @module
 */
import { mkdir, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { DtaError } from './errors.ts'
import { createHeliaDocumentStore } from './adapters/ipfs/helia/index.ts'
import { cidV0Of } from './adapters/ipfs/unixfs.ts'
import { createLocalKeyFile, initLocalPassphrase, openLocalCustody } from './adapters/custody/local.ts'
import { createPkcs11Key, openPkcs11Custody, readPkcs11PinFile } from './adapters/custody/pkcs11/index.ts'
import type { Pkcs11Options } from './adapters/custody/pkcs11/index.ts'
import { createHttpFiduciaryClient } from './adapters/peer/http.ts'
import { openSqliteState } from './adapters/storage/sqlite/index.ts'
import { CONFIG_FILE, loadConfig, resolveInHome, writeConfig } from './config/load.ts'
import type { Config, PartialConfig } from './config/schema.ts'
import { buildApp } from './http/app.ts'
import { createBearerVerifier } from './http/auth.ts'
import { createMetrics } from './http/metrics.ts'
import { createPlugin } from './plugins/registry.ts'
import type { Custody } from './ports/custody.ts'
import type { NetworkDocumentStore } from './ports/document-store.ts'
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
  /** Starts the HTTP server (and the metrics listener, if configured); resolves with the API address. */
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

async function openDocuments (home: string, config: Config): Promise<NetworkDocumentStore> {
  // read by the store at start, refused unless 0600 (DOCUMENT_STORE_SWARM_KEY_INSECURE)
  const swarmKeyFile = config.ipfs.swarmKeyFile === '' ? undefined : resolveInHome(home, config.ipfs.swarmKeyFile)
  const documents = createHeliaDocumentStore({
    path: resolveInHome(home, config.ipfs.dataDir),
    listen: config.ipfs.listenAddr,
    peers: config.ipfs.peers,
    announce: config.ipfs.announce,
    swarmKeyFile,
    fetchTimeoutMs: config.ipfs.fetchTimeoutMs,
  })
  await documents.start()
  return documents
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
}

/**
 * Creates a node's home: config.yaml, the custody key (a 0600 file, or the KEK inside the HSM for
 * pkcs11 custody: found if the token has it, generated once otherwise), the IPFS peer key and the
 * node identity (its root seed sealed by custody). Refuses a home that already has a config file.
 */
export async function initNode (options: InitOptions): Promise<Config> {
  const { home } = options
  await mkdir(home, { recursive: true, mode: 0o700 })
  const configPath = resolveInHome(home, CONFIG_FILE)
  if (await stat(configPath).then(() => true, () => false)) throw new DtaError('CONFIG_INVALID', `${configPath} exists: this home is already initialised`)
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
  await createCustodyKey(home, config, config.node.custody)
  const resources = new Resources()
  try {
    const custody = await openCustody(home, config)
    resources.add(async () => await custody.close())
    const state = await openSqliteState({ path: resolveInHome(home, config.node.databaseFile) })
    resources.add(async () => await state.close())
    const documents = await openDocuments(home, config)
    resources.add(async () => await documents.stop())
    const identities = new Identities({ documents, state, custody })
    const node = await identities.create(config.node.nodeName, { isNodeIdentity: true })
    const written = { ...config, node: { ...config.node, nodeID: node.cid } }
    await writeConfig(home, written)
    return written
  } finally {
    await resources.closeAll()
  }
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
  const resources = new Resources()
  try {
    const custody = await openCustody(home, config)
    resources.add(async () => await custody.close())
    const state: StateRepository = await openSqliteState({ path: resolveInHome(home, config.node.databaseFile) })
    resources.add(async () => await state.close())
    const documents = await openDocuments(home, config)
    resources.add(async () => await documents.stop())

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
    if (nodeType !== 'principal') fulfil = createFulfilService({ ...shared, state, custody, allowPrincipals: config.http.allowPrincipals })
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
      order = createOrderService({ ...shared, state, fiduciary, fiduciaryCID, trustedFiduciaries })
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
    const services: NodeServices = { nodeType, status, identity: createIdentityService({ identities, state }), order, fulfil, audit: createAuditService({ state }) }
    const metrics = createMetrics()
    const app = await buildApp({
      metrics,
      services,
      bodyLimit: config.http.requestBodyLimit,
      requestTimeoutMs: config.http.requestTimeoutMs,
      logger: options.logger,
      version: VERSION,
      auth,
      allowedHosts: config.http.allowedHosts,
    })
    resources.add(async () => await app.close())
    resources.add(async () => await metrics.close())

    let metricsAddress: string | undefined
    return {
      config,
      nodeCID: node.cid,
      app,
      documents,
      services,
      async start () {
        const [host, port] = splitHostPort(config.http.listenAddr)
        const address = await app.listen({ host, port })
        auth?.discover().catch((err: unknown) => { options.logger?.warn({ code: (err as DtaError).code, issuer: auth.issuer }, 'OAuth2 issuer discovery failed; requests get 503 until it succeeds') })
        if (config.http.metricsListenAddr !== '') metricsAddress = await metrics.listen(...splitHostPort(config.http.metricsListenAddr))
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

export function splitHostPort (addr: string): [string, number] {
  const at = addr.lastIndexOf(':')
  const host = addr.slice(0, at).replace(/^\[(.*)\]$/, '$1')
  return [host === '' ? '0.0.0.0' : host, Number(addr.slice(at + 1))]
}
