/**
 * The adapters a home's config chooses, opened for init (src/init.ts), for a running node
 * (src/node.ts) and for the CLI's offline commands (custody migration): custody, the document
 * store, the state database; and the small tools they share to open resources in order and name
 * the setting behind a listen failure.
 * @module
 */
import { DtaError, isDtaError, listenError } from './errors.ts'
import { createHeliaDocumentStore } from './adapters/ipfs/helia/index.ts'
import type { HeliaDocumentStoreInit } from './adapters/ipfs/helia/index.ts'
import { createLocalKeyFile, initLocalPassphrase, openLocalCustody } from './adapters/custody/local.ts'
import { createPkcs11Key, openPkcs11Custody, readPkcs11PinFile } from './adapters/custody/pkcs11/index.ts'
import type { Pkcs11Options } from './adapters/custody/pkcs11/index.ts'
import { openPostgresState } from './adapters/storage/postgres/index.ts'
import { openSqliteState } from './adapters/storage/sqlite/index.ts'
import { resolveInHome } from './config/load.ts'
import { envName } from './config/schema.ts'
import type { Config } from './config/schema.ts'
import type { Custody } from './ports/custody.ts'
import type { NetworkDocumentStore } from './ports/document-store.ts'
import type { StateRepository } from './ports/state.ts'
import { stat } from 'node:fs/promises'
import { createHttpWitnessClient } from './adapters/peer/witness-http.ts'
import type { HttpWitnessClientInit } from './adapters/peer/witness-http.ts'
import { parseCosignatureKey } from './core/log/cosignature.ts'
import { parseVerifierKey } from './core/log/note.ts'
import type { NoteVerifier } from './core/log/note.ts'
import type { ConfiguredWitness } from './services/log/index.ts'

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
 * `network: 'dial'` (init --join): listening nowhere either, but dialling the configured peers, to
 * fetch the node identity document from a running replica.
 */
export async function openDocuments (home: string, config: Config, observers: Pick<HeliaDocumentStoreInit, 'log' | 'onNetworkFetch'> = {}, options: { network?: boolean | 'dial' } = {}): Promise<NetworkDocumentStore> {
  const network = options.network !== false && options.network !== 'dial'
  const dial = options.network !== false
  // read by the store at start, refused unless 0600 (DOCUMENT_STORE_SWARM_KEY_INSECURE)
  const swarmKeyFile = config.ipfs.swarmKeyFile === '' ? undefined : resolveInHome(home, config.ipfs.swarmKeyFile)
  const documents = createHeliaDocumentStore({
    path: resolveInHome(home, config.ipfs.dataDir),
    listen: network ? config.ipfs.listenAddr : [],
    peers: dial ? config.ipfs.peers : [],
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
export function withSetting (err: unknown, section: 'http' | 'ipfs', key: string, address?: string): unknown {
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
export class Resources {
  readonly #closers: Array<() => Promise<void>> = []
  add (close: () => Promise<void>): void { this.#closers.unshift(close) }
  async closeAll (): Promise<void> {
    for (const close of this.#closers.splice(0)) {
      try { await close() } catch { /* closing is best effort; the first error was already reported */ }
    }
  }
}


/**
 * Opens the state database of a home: the SQLite file in it, or the PostgreSQL database its
 * config names (the password from MILAGRO_NODE_DATABASEPASSWORD), shown in pg_stat_activity as
 * this node.
 */
export async function openState (home: string, config: Config): Promise<StateRepository> {
  const n = config.node
  if (n.datastore === 'postgres') {
    return await openPostgresState({ url: n.databaseUrl, password: n.databasePassword, poolSize: n.databasePoolSize, applicationName: `milagro ${n.nodeName}`.slice(0, 63) })
  }
  return await openSqliteState({ path: resolveInHome(home, n.databaseFile) })
}

/** Where the state lives, for messages: the SQLite file, or the PostgreSQL database. */
export function stateLocation (config: Config): string {
  return config.node.datastore === 'postgres' ? 'the database node.databaseUrl names' : config.node.databaseFile
}

/**
 * The witnesses of a config (docs/log.md, Witnesses): the ones this node's checkpoints need
 * (node.witnesses, VKEY=URL, asked over HTTP like the fiduciary) and their quorum (0: all), and
 * the logs this node witnesses (node.witnessFor). The load checked every key already.
 */
export function witnessConfig (config: Config, peer: Omit<HttpWitnessClientInit, 'url'>): { witnesses?: { list: ConfiguredWitness[], quorum: number }, witnessFor: NoteVerifier[] } {
  const list = config.node.witnesses.map(entry => {
    const at = entry.lastIndexOf('=http')
    return { verifier: parseCosignatureKey(entry.slice(0, at)), client: createHttpWitnessClient({ url: entry.slice(at + 1), ...peer }) }
  })
  return {
    ...(list.length === 0 ? {} : { witnesses: { list, quorum: config.node.witnessQuorum === 0 ? list.length : config.node.witnessQuorum } }),
    witnessFor: config.node.witnessFor.map(parseVerifierKey),
  }
}
