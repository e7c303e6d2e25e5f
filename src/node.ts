/**
 * The one place where a running node's adapters are chosen and wired (CONVENTIONS: createNode).
 * `createNode` opens an initialised home (src/init.ts makes one) and returns a node whose
 * listeners start with `start()` (metrics, then the API; a listen address that cannot be bound,
 * IPFS's included, is LISTEN_* naming the setting that chose it) and whose every resource is
 * released by `stop()`, in reverse order of opening. The adapters a config chooses are opened by
 * src/wiring.ts.
 * @module
 */
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { DtaError } from './errors.ts'
import { cidV0Of } from './adapters/ipfs/unixfs.ts'
import { createFailoverFiduciaryClient, createHttpFiduciaryClient } from './adapters/peer/http.ts'
import { createFailoverLogReader, createHttpLogReader } from './adapters/peer/log-http.ts'
import { createHttpThresholdClient } from './adapters/peer/threshold-http.ts'
import type { Config } from './config/schema.ts'
import { buildApp } from './http/app.ts'
import { createBearerVerifier } from './http/auth.ts'
import { createMetrics } from './http/metrics.ts'
import { parsePolicies } from './http/policy.ts'
import type { PolicyRecords } from './http/policy.ts'
import { logDomainEvents } from './logging.ts'
import { createPlugin } from './plugins/registry.ts'
import type { NetworkDocumentStore } from './ports/document-store.ts'
import type { DomainEvents } from './ports/events.ts'
import type { FiduciaryClient, ThresholdFiduciaryClient } from './ports/peer.ts'
import type { LogReader } from './ports/log.ts'
import type { StateRepository } from './ports/state.ts'
import type { FulfilService, NodeServices, OrderService, StatusResponse, ThresholdFulfilService } from './ports/api.ts'
import type { NodeDetails, OrderViewService } from './ports/console.ts'
import { createPluginContext } from './services/context.ts'
import { createAuditService } from './services/audit.ts'
import { createFulfilService } from './services/fulfil.ts'
import { createHealthService } from './services/health.ts'
import { Identities } from './services/identities.ts'
import { createIdentityService } from './services/identity.ts'
import { createOrderService } from './services/order.ts'
import { createThresholdFulfilService } from './services/threshold-fulfil.ts'
import { withThresholdOrders } from './services/threshold-order.ts'
import { checkedFiduciary, LogChecker, openNodeLog, part4Check, withLogProofs } from './services/log/index.ts'
import { createOrderViewService } from './services/order-views.ts'
import { openCustody, openDocuments, openState, Resources, witnessConfig, withSetting } from './wiring.ts'
import { parseCosignatureKey } from './core/log/cosignature.ts'
import { readTlsMaterial, serverTlsOptions } from './adapters/tls.ts'
import type { TlsFile } from './adapters/tls.ts'
import { resolveInHome } from './config/load.ts'

export { initNode } from './init.ts'
export type { InitOptions } from './init.ts'
export { createCustodyKey, openCustody } from './wiring.ts'
export type { CustodyBackend } from './wiring.ts'

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
  /** Whether the API serves HTTPS. */
  readonly https: boolean
  /** Reads the API's certificate and key again and uses them for new connections (SIGHUP); open ones keep theirs. */
  reloadTls (): Promise<void>
  stop (): Promise<void>
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
  const policyRules = parsePolicies(config.http.policies)
  // What the services report goes to the log (one info line per event) and to the metrics.
  const metrics = createMetrics()
  const events = fanOut(options.logger === undefined ? [metrics.events] : [logDomainEvents(options.logger), metrics.events])
  const resources = new Resources()
  // TLS files are checked before anything is opened: a bad one is TLS_FILE_INVALID naming its setting.
  const h = config.http
  const serverTls = async (): Promise<ReturnType<typeof serverTlsOptions> | undefined> => {
    if (h.tlsCertFile === '') return undefined
    const file = (key: 'tlsCertFile' | 'tlsKeyFile' | 'tlsClientCaFile'): TlsFile => ({ path: resolveInHome(home, h[key]), setting: `http.${key}` })
    return serverTlsOptions(await readTlsMaterial({ cert: file('tlsCertFile'), key: file('tlsKeyFile'), ...(h.tlsClientCaFile === '' ? {} : { ca: file('tlsClientCaFile') }) }))
  }
  const https = await serverTls()
  const clientTls = await readTlsMaterial({
    ...(h.tlsClientCertFile === '' ? {} : { cert: { path: resolveInHome(home, h.tlsClientCertFile), setting: 'http.tlsClientCertFile' }, key: { path: resolveInHome(home, h.tlsClientKeyFile), setting: 'http.tlsClientKeyFile' } }),
    ...(h.fiduciaryCaFile === '' ? {} : { ca: { path: resolveInHome(home, h.fiduciaryCaFile), setting: 'http.fiduciaryCaFile' } }),
  })
  try {
    const custody = metrics.timeCustody(await openCustody(home, config))
    resources.add(async () => await custody.close())
    const state: StateRepository = await openState(home, config)
    resources.add(async () => await state.close())
    const documents = await openDocuments(home, config, { log: options.logger?.child({ component: 'ipfs' }), onNetworkFetch: metrics.ipfsFetched })
    resources.add(async () => await documents.stop())
    metrics.watchPeers(() => documents.connectedPeers().length)

    const nodeRecord = await state.getNodeIdentity()
    if (nodeRecord === undefined || nodeRecord.cid !== config.node.nodeID) {
      throw new DtaError('CONFIG_INVALID', `node.nodeID ${config.node.nodeID} is not this home's node identity`)
    }
    const node = await new Identities({ documents, state, custody }).held(nodeRecord.cid)
    // The transparency log (docs/log.md): every envelope the services write or accept goes through `logged`.
    const peer = { timeoutMs: config.http.requestTimeoutMs, bearerToken: config.http.bearerToken, tls: clientTls }
    const tlog = await openNodeLog({ state, custody, documents, node, ...witnessConfig(config, peer) })
    const logged = tlog?.documents ?? documents
    const identities = new Identities({ documents: logged, state, custody })
    const plugin = createPlugin(config.plugins.service)
    // what both sides get; each service then declares the rest it needs (and the order service no custody)
    const shared = { documents: logged, identities, plugin, pluginContext: createPluginContext(plugin, state, custody), node, cidOf: cidV0Of }

    let fulfil: FulfilService | undefined
    let order: OrderService | undefined
    /** The fiduciary this node orders from when it is another node (readiness checks it). */
    let remoteFiduciary: FiduciaryClient | undefined
    let orderViews: OrderViewService | undefined
    // the fiduciary this node orders from, for the console (GET /v1/node)
    let fiduciaryOf: { cid: string, url: string | null } | undefined
    let trusted: string[] = []
    let thresholdFulfil: ThresholdFulfilService | undefined
    if (nodeType !== 'principal') {
      fulfil = createFulfilService({ ...shared, state, custody, allowPrincipals: config.http.allowPrincipals, events })
      thresholdFulfil = createThresholdFulfilService({ ...shared, state, custody, allowPrincipals: config.http.allowPrincipals, events })
      if (tlog !== undefined) fulfil = withLogProofs(fulfil, tlog.log, tlog.witnessing)
    }
    if (nodeType !== 'fiduciary') {
      let fiduciary: FiduciaryClient
      let fiduciaryCID: string
      let fiduciaryLog: LogReader | undefined = tlog?.reader
      if (fulfil !== undefined && config.node.masterFiduciaryServer === '') {
        const local = fulfil
        fiduciary = { fulfillOrder: local.order, fulfillOrderSecret: local.secret }
        fiduciaryCID = node.cid
      } else {
        const client = (url: string): FiduciaryClient => createHttpFiduciaryClient({ url, ...peer })
        const urls = [config.node.masterFiduciaryServer, ...config.node.masterFiduciaryReplicas]
        fiduciary = urls.length === 1 ? client(urls[0]!) : createFailoverFiduciaryClient(urls.map(client))
        fiduciaryLog = createFailoverLogReader(urls.map(url => createHttpLogReader({ url, ...peer })))
        remoteFiduciary = fiduciary
        fiduciaryCID = config.node.masterFiduciaryNodeID
      }
      // The principal checks the fiduciary's log in every answer, and a beneficiary's node part 4's (docs/log.md).
      const required = config.node.fiduciaryWitnesses.map(parseCosignatureKey)
      const witnesses = { list: required, quorum: config.node.fiduciaryWitnessQuorum === 0 ? required.length : config.node.fiduciaryWitnessQuorum }
      const checker = tlog === undefined ? undefined : new LogChecker({ checkpoints: tlog.checkpoints, identities, audit: state, cidOf: cidV0Of, witnesses })
      if (checker !== undefined && fiduciaryLog !== undefined) fiduciary = checkedFiduciary(fiduciary, fiduciaryCID, fiduciaryLog, checker)
      const trustedFiduciaries = new Set(config.node.trustedFiduciaries.length > 0 ? config.node.trustedFiduciaries : [fiduciaryCID])
      const readers = new Map<string, LogReader | undefined>([[fiduciaryCID, fiduciaryLog], [node.cid, tlog?.reader]])
      for (const entry of config.node.trustedFiduciaryServers) {
        const at = entry.indexOf('=')
        readers.set(entry.slice(0, at), createHttpLogReader({ url: entry.slice(at + 1), ...peer }))
      }
      const checkPart4 = checker === undefined ? undefined : part4Check(cid => readers.get(cid), checker)
      order = createOrderService({ ...shared, state, fiduciary, fiduciaryCID, trustedFiduciaries, events, checkPart4 })
      // threshold orders (docs/threshold.md): each fiduciary a set may name, at its URL (or this node itself)
      const thresholdClients = new Map<string, ThresholdFiduciaryClient>()
      for (const entry of config.node.thresholdFiduciaries) {
        const at = entry.indexOf('=')
        thresholdClients.set(entry.slice(0, at), createHttpThresholdClient({ url: entry.slice(at + 1), ...peer }))
      }
      if (thresholdFulfil !== undefined && fulfil !== undefined) {
        thresholdClients.set(node.cid, { thresholdRound1: thresholdFulfil.round1, thresholdRound2: thresholdFulfil.round2, thresholdRound3: thresholdFulfil.round3, fulfillOrderSecret: fulfil.secret })
      }
      const defaultSet = { t: config.node.thresholdDefault, fiduciaryCIDs: config.node.thresholdFiduciaries.map(e => e.slice(0, e.indexOf('='))) }
      order = withThresholdOrders(order, { ...shared, state, fiduciaries: thresholdClients, defaultSet, trusted: new Set([...thresholdClients.keys(), ...trustedFiduciaries]), events })
      orderViews = createOrderViewService({ documents, state, identities, node })
      fiduciaryOf = { cid: fiduciaryCID, url: fiduciaryCID === node.cid ? null : config.node.masterFiduciaryServer }
      trusted = [...trustedFiduciaries]
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
    const health = createHealthService({ state, custody, documents, ...(remoteFiduciary === undefined ? {} : { fiduciary: remoteFiduciary }) })
    const details = async (): Promise<NodeDetails> => ({
      ...await status(),
      connectedPeerIDs: documents.connectedPeers(),
      fiduciaryCID: fiduciaryOf?.cid ?? null,
      fiduciaryURL: fiduciaryOf?.url ?? null,
      trustedFiduciaries: trusted,
    })
    const services: NodeServices = { nodeType, status, identity: createIdentityService({ identities, state, events }), order, fulfil, thresholdFulfil, audit: createAuditService({ state }), health, log: tlog?.service, witness: tlog?.witness, details, orderViews }
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
      ...(https === undefined ? {} : { https }),
      policies: { rules: policyRules, records: policyRecords(state) },
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
      https: https !== undefined,
      async reloadTls () {
        const next = await serverTls()
        if (next === undefined) return
        ;(app.server as unknown as { setSecureContext: (options: object) => void }).setSecureContext(next)
      },
      async stop () {
        await resources.closeAll()
      },
    }
  } catch (err) {
    await resources.closeAll()
    throw err
  }
}

/** Where the policies keep who placed each order (a store of its own) and record denials (the audit trail). */
function policyRecords (state: StateRepository): PolicyRecords {
  const placed = state.pluginStore('node-policy')
  return {
    placedBy: async (reference) => { const v = await placed.get(`placed/${reference}`); return typeof v === 'string' ? v : undefined },
    recordPlaced: async (reference, subject) => { await placed.put(`placed/${reference}`, subject.slice(0, 512)) },
    denied: async (subject, operation, detail) => { await state.appendAudit({ op: 'access.denied', actor: subject.slice(0, 512), detail: `${operation}: ${detail}`.slice(0, 1000) }) },
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

