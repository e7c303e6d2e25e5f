/**
 * `initNode` makes a new home folder (config, custody key, IPFS peer key, node identity) under
 * the home lock, with config.yaml last, and resumes one whose init was interrupted or failed
 * (docs/operations.md); with `join`, the home is a further replica of a node whose identity is
 * already in a shared PostgreSQL database (docs/deploy.md).
 * @module
 */
import { mkdir, stat } from 'node:fs/promises'
import { relative } from 'node:path'
import { DtaError, isDtaError } from './errors.ts'
import { lockHome } from './adapters/home-lock.ts'
import { CONFIG_FILE, loadConfig, resolveInHome, writeConfig } from './config/load.ts'
import type { Config, PartialConfig } from './config/schema.ts'
import type { Custody } from './ports/custody.ts'
import type { DocumentStore } from './ports/document-store.ts'
import { Identities } from './services/identities.ts'
import { createCustodyKey, openCustody, openDocuments, openState, pkcs11Options, Resources, stateLocation } from './wiring.ts'

export interface InitOptions {
  home: string
  nodeName?: string
  nodeType?: Config['node']['nodeType']
  service?: Config['plugins']['service']
  masterFiduciary?: { cid: string, url: string }
  /** Further config values (e.g. listen addresses) written into config.yaml. */
  overrides?: PartialConfig
  env?: Record<string, string | undefined>
  /**
   * Make this home a further replica of the node whose identity is already in the shared
   * PostgreSQL database of the config (docs/deploy.md): no new identity and no new custody key
   * (the home must have the node's custody key), the identity document fetched from ipfs.peers.
   */
  join?: boolean
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
    const databaseFile = n.datastore === 'sqlite' ? resolveInHome(home, n.databaseFile) : undefined
    const found: string[] = []
    for (const file of [keyFile, databaseFile, resolveInHome(home, config.ipfs.dataDir)]) {
      if (file !== undefined && await exists(file)) found.push(relative(home, file).startsWith('..') ? file : relative(home, file))
    }
    if (found.length > 0 && options.join !== true) options.report?.(`Resuming the unfinished init of ${home} with the ${found.join(', ')} it made (a custody key is never replaced)`)
    const state = await openState(home, config)
    resources.add(async () => await state.close())
    const stored = await state.getNodeIdentity()
    if (options.join === true) {
      if (stored === undefined) throw new DtaError('HOME_JOIN_FAILED', `${stateLocation(config)} holds no node identity yet: init the first replica without --join`)
    } else if (stored === undefined) {
      await createCustodyKey(home, config, n.custody, { ifAbsent: true })
    }
    let custody: Custody
    try {
      custody = await openCustody(home, config)
    } catch (err) {
      throw options.join === true ? joinFailed(err, home, config, stored!.cid) : unfinished(err, home, config, stored?.cid)
    }
    resources.add(async () => await custody.close())
    const documents = await openDocuments(home, config, {}, { network: options.join === true ? 'dial' : false })
    resources.add(async () => await documents.stop())
    const identities = new Identities({ documents, state, custody })
    let node = { cid: stored?.cid ?? '', name: n.nodeName }
    if (stored === undefined) {
      node.cid = (await identities.create(n.nodeName, { isNodeIdentity: true })).cid
    } else {
      if (options.join === true) {
        await fetchIdentityDocument(documents, stored.cid, config)
      } else if (!await documents.has(stored.cid)) {
        const replica = n.datastore === 'postgres' ? ' — or, to make this home a further replica of that node, run init --join' : ''
        throw new DtaError('HOME_INIT_UNFINISHED', `the identity document of the node identity ${stored.cid} in ${stateLocation(config)} is not in ${config.ipfs.dataDir}: if nothing in ${home} is needed, delete it and run init again${replica}`)
      }
      try {
        await identities.held(stored.cid)
      } catch (err) {
        throw options.join === true ? joinFailed(err, home, config, stored.cid) : unfinished(err, home, config, stored.cid)
      }
      node = { cid: stored.cid, name: stored.name }
      options.report?.(options.join === true
        ? `Joined as a replica of the node identity ${stored.cid} ("${stored.name}") in ${stateLocation(config)}`
        : `Resuming with the node identity ${stored.cid} ("${stored.name}") the unfinished init stored`)
    }
    const written = { ...config, node: { ...n, nodeID: node.cid, nodeName: node.name } }
    await writeConfig(home, written)
    return written
  } finally {
    await resources.closeAll()
  }
}

/** Fetches (from the configured peers) and keeps the node identity document a joining replica needs. */
async function fetchIdentityDocument (documents: DocumentStore, cid: string, config: Config): Promise<void> {
  if (await documents.has(cid)) return
  try {
    await documents.accept(cid, await documents.get(cid))
  } catch (err) {
    const peers = config.ipfs.peers.length === 0 ? 'no ipfs.peers are configured' : `asked ${config.ipfs.peers.join(', ')}`
    throw new DtaError('HOME_JOIN_FAILED', `could not fetch the node identity document ${cid} (${isDtaError(err) ? err.code : String(err)}; ${peers}): give init --peer the IPFS multiaddr of a running replica`, { cause: err })
  }
}

/** Why a replica cannot join with the custody it finds, and what to do (HOME_JOIN_FAILED); any other error as it is. */
function joinFailed (err: unknown, home: string, config: Config, nodeCID: string): unknown {
  if (!isDtaError(err) || !err.code.startsWith('CUSTODY_')) return err
  const n = config.node
  const key = n.custody === 'pkcs11'
    ? `the node's HSM token ${n.pkcs11TokenLabel} with its key ${n.pkcs11KeyLabel}`
    : n.custodyKeySource === 'passphrase' ? `the node's ${n.custodyParamsFile} (into ${home}) and its passphrase` : `the node's ${n.custodyKeyFile} into ${home} (mode 0600)`
  return new DtaError('HOME_JOIN_FAILED', `the node identity ${nodeCID} is sealed under the custody key of the node it belongs to, and this home cannot open it (${err.code}): copy ${key} from a running replica, then run init --join again`, { cause: err })
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
  return new DtaError('HOME_INIT_UNFINISHED', `${stateLocation(config)} holds the node identity ${nodeCID} of an unfinished init, sealed under ${why} — or, if nothing in ${home} is needed, delete it and run init again`, { cause: err })
}

