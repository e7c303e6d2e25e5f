/**
 * The networked document store: an embedded IPFS node (Helia) so that a D-TA server is a real IPFS
 * peer and documents travel between servers by bitswap (PROTOCOL §9).
 *
 * Everything is configured explicitly, because `createHelia()`'s defaults reach the public
 * internet (bootstrap peers, delegated HTTP routing, trustless gateways, autoTLS, DHT, mDNS, UPnP,
 * relays). This node has: TCP on the configured addresses, noise, yamux, identify, bitswap, an
 * optional private-network key — and nothing else. It finds peers only through the configured
 * peer list (static peering, re-dialled with backoff), stores blocks and pins in `<path>`, keeps its
 * libp2p identity in `<path>/peer.key` (0600) so its peer id survives restarts, and bounds every
 * fetch by `fetchTimeoutMs` (an unknown CID otherwise waits forever). The private-network key
 * file (`swarmKeyFile`, read at start) is refused unless only its owner may read it
 * (DOCUMENT_STORE_SWARM_KEY_INSECURE, the same check as the custody key file: src/adapters/secret-file.ts).
 *
 * A fetched document is kept (pinned, cached) only once `exportCidV0` has checked it: every block
 * hashed to its CID, a UnixFS file within the size limit, and the canonical DAG of its bytes —
 * a peer serving another layout of the same bytes gets DOCUMENT_NOT_CANONICAL (PROTOCOL §6). The
 * blocks bitswap already wrote to the blockstore stay there unpinned (Helia writes each block as
 * it arrives, and a block may be shared with a pinned document, so none is deleted); `has` looks
 * at pins, so it stays false for such a document.
 *
 * CIDs come from the same CIDv0 helpers as the local store (`unixfs.ts`), never from
 * `@helia/unixfs`, whose defaults are CIDv1.
 * @module
 */

import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { FsBlockstore } from 'blockstore-fs'
import { createLibp2p } from 'libp2p'
import { DtaError } from '../../errors.ts'
import type { DocumentStore } from '../../ports/document-store.ts'
import type { Startable } from '../../ports/startable.ts'
import { readSecretFile } from '../secret-file.ts'
import { createOperations } from './operations.ts'
import { createStaticPeering } from './peering.ts'
import type { StaticPeering } from './peering.ts'
import { CachedFsBlockstore } from './blockstore.ts'
import { SqliteDatastore } from './sqlite-datastore.ts'
import { assertDocumentBytes, buildCidV0, exportCidV0, parseCidV0, verifyingReader } from './unixfs.ts'
import type { Block, BlockSource } from './unixfs.ts'
import * as dagPb from '@ipld/dag-pb'
import { createUnsafe } from 'multiformats/block'
import type { GraphNode, GraphWalkerFactory } from '@helia/interface'
import type { BlockBroker, Helia, HeliaInit } from 'helia'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'

export interface HeliaDocumentStoreInit {
  /** Home folder: `blocks/` (blockstore), `datastore/` (pins), `peer.key` (libp2p identity). */
  path: string
  /** TCP multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/4001` (port 0 picks a free port). */
  listen: string[]
  /** Static peers, each a TCP multiaddr ending in `/p2p/<peer id>`; dialled at start and re-dialled. */
  peers: string[]
  /** Private network: the contents of a go-ipfs `swarm.key` file. Only nodes with the key connect. */
  swarmKey?: string
  /**
   * Private network: the path of a go-ipfs `swarm.key` file, read at start (instead of `swarmKey`).
   * It must not be readable by group or others (DOCUMENT_STORE_SWARM_KEY_INSECURE: chmod 600 it).
   */
  swarmKeyFile?: string
  /** Upper bound of every `get` that has to ask the network. */
  fetchTimeoutMs: number
  /** Addresses to advertise to peers instead of the listen addresses (e.g. behind NAT). */
  announce?: string[]
  /** First re-dial delay after a configured peer is lost or unreachable. Default 500 ms. */
  redialMinMs?: number
  /** Ceiling of the re-dial backoff: a lost peer is tried at least this often. Default 30 s. */
  redialMaxMs?: number
  /**
   * Bitswap waits this long before sending a new want, to batch wants. Default 0: documents are
   * fetched one at a time and the batching only adds latency (see docs/ipfs.md and bench/ipfs.ts).
   */
  wantlistDebounceMs?: number
  /** Bytes of recently written, accepted or fetched documents kept in memory for reads. Default 32 MiB. */
  documentCacheBytes?: number
}

export interface HeliaDocumentStore extends DocumentStore, Startable {
  /** This node's libp2p peer id (stable across restarts); available once started. */
  peerId (): string
  /** Addresses peers can dial, each ending in `/p2p/<peer id>`; empty when stopped. */
  multiaddrs (): string[]
  /** Peer ids of the peers currently connected. */
  connectedPeers (): string[]
  /** Names of the libp2p services running on the node (for status, and to prove nothing extra runs). */
  services (): string[]
  /** Protocols the node answers (for status, and to prove nothing extra runs). */
  protocols (): string[]
}

export const DEFAULT_REDIAL_MIN_MS = 500
export const DEFAULT_REDIAL_MAX_MS = 30_000
export const DEFAULT_WANTLIST_DEBOUNCE_MS = 0
export const DEFAULT_DOCUMENT_CACHE_BYTES = 32 * 1024 * 1024
/** Recently written or read blocks kept in memory (pinning and bitswap read a block right after it is written). */
const BLOCK_CACHE_BYTES = 8 * 1024 * 1024
const MAX_TIMER_MS = 2_147_483_647
const PEER_KEY_FILE = 'peer.key'

interface ValidatedInit {
  path: string
  listen: string[]
  announce: string[]
  peers: Array<{ address: Multiaddr, peerId: string }>
  psk: Uint8Array | undefined
  swarmKeyFile: string | undefined
  fetchTimeoutMs: number
  redialMinMs: number
  redialMaxMs: number
  wantlistDebounceMs: number
  documentCacheBytes: number
}

export function createHeliaDocumentStore (init: HeliaDocumentStoreInit): HeliaDocumentStore {
  const config = validateInit(init)
  const operations = createOperations()
  let node: RunningNode | undefined
  let lastPeerId: string | undefined
  let starting: Promise<void> | undefined

  function running (): RunningNode {
    if (node === undefined || !operations.started) throw new DtaError('DOCUMENT_STORE_STOPPED')
    return node
  }

  // Documents this node wrote, accepted or fetched recently, by CID: a cycle reads back the parts
  // it just wrote or received, and the bytes were hashed to their CID on the way in.
  const recent = new RecentDocuments(config.documentCacheBytes)

  async function store (bytes: Uint8Array, expected: string | undefined, signal: AbortSignal): Promise<string> {
    assertDocumentBytes(bytes)
    const { cid, blocks } = await buildCidV0(bytes)
    if (expected !== undefined && cid.toString() !== expected) {
      throw new DtaError('DOCUMENT_CID_MISMATCH', `expected ${expected}, the bytes hash to ${cid.toString()}`)
    }
    const { helia, blockstore, bitswap } = running()
    // Written to disk first, then announced: Helia's own blockstore.put() announces before it
    // writes, so a peer already waiting for the block can be told DONT_HAVE and never get it.
    for (const block of blocks) await blockstore.put(block.cid, block.bytes, { signal })
    for (const block of blocks) await bitswap.announce?.(block.cid, { signal })
    await pin(helia, cid, signal, blocks.length === 1 ? blocks[0] : undefined)
    recent.add(cid.toString(), bytes)
    return cid.toString()
  }

  return {
    async start () {
      if (node !== undefined) return
      starting ??= startNode(config).then((started) => {
        node = started
        lastPeerId = started.libp2p.peerId.toString()
        operations.open()
      }).finally(() => { starting = undefined })
      await starting
    },

    async stop () {
      await starting?.catch(() => {})
      const current = node
      if (current === undefined) return
      node = undefined
      operations.close()
      await current.stop()
    },

    async put (bytes, options) {
      return operations.run(options, async (signal) => store(bytes, undefined, signal))
    },

    async accept (cid, bytes, options) {
      parseCidV0(cid)
      await operations.run(options, async (signal) => store(bytes, cid, signal))
    },

    async get (cid, options) {
      const root = parseCidV0(cid)
      return operations.run(options, async (signal) => {
        const { helia, blockstore } = running()
        const cached = recent.get(cid)
        if (cached !== undefined) return cached
        let fetched = false
        // Helia's blockstore reads the disk first and asks bitswap only for missing blocks (which it
        // verifies and keeps); the verifying reader re-hashes every block, local ones included.
        const source: BlockSource = {
          async * get (blockCid, blockOptions) {
            if (!(await blockstore.has(blockCid, blockOptions))) fetched = true
            yield * helia.blockstore.get(blockCid, blockOptions)
          }
        }
        const bytes = await exportCidV0(root, verifyingReader(source, root), { signal })
        // keep what was fetched (and repair a pin lost to a crash between writing and pinning)
        if (fetched || !(await helia.pins.isPinned(root, { signal }))) await pin(helia, root, signal)
        recent.add(cid, bytes)
        return bytes
      }, config.fetchTimeoutMs)
    },

    async has (cid, options) {
      const root = parseCidV0(cid)
      // pinned means every block of the DAG was walked locally when it was pinned
      return operations.run(options, async (signal) => recent.has(cid) || await running().helia.pins.isPinned(root, { signal }))
    },

    peerId () {
      if (lastPeerId === undefined) throw new DtaError('DOCUMENT_STORE_STOPPED', 'the peer id is known once started')
      return lastPeerId
    },

    multiaddrs () {
      return node?.libp2p.getMultiaddrs().map(String) ?? []
    },

    connectedPeers () {
      return node?.libp2p.getPeers().map(String) ?? []
    },

    services () {
      return node === undefined ? [] : Object.keys(node.libp2p.services)
    },

    protocols () {
      return node?.libp2p.getProtocols() ?? []
    }
  }
}

/**
 * Pins `cid` with Helia's `pins.add` (so `pins.isPinned` and `pins.ls` see it). `leaf` is the
 * document's only block when it is a single dag-pb leaf, just written: every order part and
 * identity document is one. Then the walk over the DAG is that block alone, handed to `pins.add`
 * as its walker — the same pin records as Helia's default walker writes, without reading the
 * block back through the blockstore and without its job queue, whose 'empty'/'idle' events wait
 * for a 1 ms debounce timer. Measured (in-process, 2.6 KiB documents): 1.4 ms of latency and
 * ~0.4 ms of CPU per pin with the default walker, 0.13 ms with this one — 8 pins per order cycle,
 * each on the cycle's critical path. Larger documents keep the default walker.
 */
async function pin (helia: Helia, cid: CID, signal: AbortSignal, leaf?: Block): Promise<void> {
  const walker = leaf === undefined || !leaf.cid.equals(cid) ? undefined : singleLeafWalker(leaf)
  try {
    for await (const _ of helia.pins.add(cid, walker === undefined ? { signal } : { signal, walker })) { /* drain: pins.add is a generator */ }
  } catch (err) {
    if ((err as { name?: string }).name !== 'AlreadyPinnedError') throw err
  }
}

/** A graph walker over a DAG that is one dag-pb block without links (see `pin`; exported for its test). */
export function singleLeafWalker (leaf: Block): GraphWalkerFactory {
  return () => ({
    async * walk () {
      const block = createUnsafe({ cid: leaf.cid, bytes: leaf.bytes, codec: dagPb })
      for (const _ of block.links()) throw new DtaError('INTERNAL', 'a single-leaf document has links')
      yield { block, depth: 0, path: [leaf.cid] } as GraphNode<any>
    }
  })
}

// ── node lifecycle ───────────────────────────────────────────────────────────────────────────────

interface RunningNode {
  helia: HeliaWithLibp2p
  libp2p: Libp2p
  blockstore: FsBlockstore
  bitswap: BlockBroker
  stop (): Promise<void>
}

/** What `withBitswap` needs: a Helia node with a libp2p node attached. */
type HeliaWithLibp2p = Helia & { libp2p: Libp2p }

type HeliaClass = new (init: HeliaInit & { name: string, version: string }) => Helia

/**
 * Helia's node class, imported from its own module: the `helia` entry point also imports
 * `@helia/libp2p`'s default configuration (WebRTC, WebSockets, autoTLS, kad-dht, delegated routing,
 * UPnP…), which costs ~0.35 s and ~50 MB per process for code this node must never run. The class is
 * the one `createHeliaLight()` instantiates; the path is fixed by the pinned `helia` version.
 */
async function loadHeliaClass (): Promise<HeliaClass> {
  const entry = import.meta.resolve('helia')
  const module = await import(new URL('./helia.js', entry).href) as { Helia?: HeliaClass }
  if (typeof module.Helia !== 'function') throw new DtaError('INTERNAL', 'the installed helia has no Helia class module')
  return module.Helia
}

async function startNode (config: ValidatedInit): Promise<RunningNode> {
  const psk = config.swarmKeyFile === undefined ? config.psk : await readSwarmKeyFile(config.swarmKeyFile)
  await mkdir(config.path, { recursive: true, mode: 0o700 })
  const privateKey = await loadOrCreatePeerKey(join(config.path, PEER_KEY_FILE))
  const ownPeerId = peerIdFromPrivateKey(privateKey).toString()
  const blockstore = new CachedFsBlockstore(join(config.path, 'blocks'), BLOCK_CACHE_BYTES)
  const datastore = new SqliteDatastore(join(config.path, 'datastore.sqlite'))
  const cleanups: Array<() => Promise<void>> = []
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
    cleanups.length = 0
  }
  try {
    await blockstore.open()
    cleanups.push(async () => { await blockstore.close() })
    await datastore.open()
    cleanups.push(async () => { await datastore.close() })

    const libp2p = await createLibp2p({
      start: false,
      privateKey,
      addresses: { listen: config.listen, announce: config.announce },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      ...(psk === undefined ? {} : { connectionProtector: preSharedKey({ psk }) }),
      // no peerDiscovery (bootstrap, mDNS), no content/peer routers (DHT, delegated routing)
      peerDiscovery: [],
      contentRouters: [],
      peerRouters: [],
      // identify tells bitswap which connected peers speak it; nothing else runs
      services: { identify: identify() },
      nodeInfo: { name: 'milagro-dta', version: '0' }
      // the peer store stays in memory: the only state a restart needs is the key and the blocks
    })

    const Helia = await loadHeliaClass()
    const helia = new Helia({
      name: 'milagro-dta',
      version: '0',
      blockstore,
      datastore,
      blockBrokers: [], // bitswap is added below; no trustless HTTP gateways
      routers: [] // no DHT, no delegated routing: peers come from the static list only
    })
    Object.defineProperty(helia, 'libp2p', { value: libp2p, enumerable: true })
    // withBitswap() creates its broker inside start(); keep a handle on it to announce new blocks
    let bitswap: BlockBroker | undefined
    const addBlockBroker = helia.addBlockBroker.bind(helia)
    helia.addBlockBroker = (broker) => {
      if (typeof broker !== 'function' && broker.name === 'bitswap') bitswap = broker
      addBlockBroker(broker)
    }
    const node = withBitswap(helia as HeliaWithLibp2p, {
      sendWantlistDebounce: config.wantlistDebounceMs
    })

    try {
      await libp2p.start()
    } catch (err) {
      throw new DtaError('DOCUMENT_STORE_BAD_CONFIG', `cannot listen on ${config.listen.join(', ')}`, { cause: err })
    }
    cleanups.push(async () => { await libp2p.stop() })
    await node.start()
    cleanups.push(async () => { await node.stop() })
    if (bitswap === undefined) throw new DtaError('INTERNAL', 'bitswap did not start')

    const peering: StaticPeering = createStaticPeering(libp2p, config.peers.filter(p => p.peerId !== ownPeerId), {
      minMs: config.redialMinMs,
      maxMs: config.redialMaxMs
    })
    peering.start()
    cleanups.push(async () => { peering.stop() })

    return {
      helia: node,
      libp2p,
      blockstore,
      bitswap,
      stop: cleanup
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** Loads the node's libp2p key, or creates one (Ed25519) in a 0600 file on first start. */
async function loadOrCreatePeerKey (file: string): Promise<PrivateKey> {
  let bytes: Uint8Array
  try {
    const info = await stat(file)
    if ((info.mode & 0o077) !== 0) {
      throw new DtaError('DOCUMENT_STORE_BAD_CONFIG', `${file} must not be readable by group or others (chmod 600)`)
    }
    bytes = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const key = await generateKeyPair('Ed25519')
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`
    try {
      await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
      await chmod(tmp, 0o600) // in case the umask was stricter than usual, never looser
      await rename(tmp, file)
    } finally {
      await rm(tmp, { force: true })
    }
    return key
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new DtaError('DOCUMENT_STORE_BAD_CONFIG', `${file} does not hold a libp2p private key`, { cause: err })
  }
}

// ── configuration ────────────────────────────────────────────────────────────────────────────────

function bad (detail: string): DtaError {
  return new DtaError('DOCUMENT_STORE_BAD_CONFIG', detail)
}

function validateInit (init: HeliaDocumentStoreInit): ValidatedInit {
  if (init === null || typeof init !== 'object') throw bad('expected an options object')
  if (typeof init.path !== 'string' || init.path === '') throw bad('path must be a non-empty string')
  const listen = stringList(init.listen, 'listen').map((value, i) => {
    assertTcpAddress(value, `listen[${i}]`, false)
    return value
  })
  const announce = stringList(init.announce ?? [], 'announce').map((value, i) => {
    parseMultiaddr(value, `announce[${i}]`)
    return value
  })
  const peers = stringList(init.peers, 'peers').map((value, i) => {
    const address = assertTcpAddress(value, `peers[${i}]`, true)
    const p2p = address.getComponents().find(c => c.name === 'p2p')
    return { address, peerId: p2p?.value ?? '' }
  })
  if (init.swarmKeyFile !== undefined && (typeof init.swarmKeyFile !== 'string' || init.swarmKeyFile === '')) {
    throw bad('swarmKeyFile must be a non-empty path')
  }
  if (init.swarmKeyFile !== undefined && init.swarmKey !== undefined) throw bad('give swarmKey or swarmKeyFile, not both')
  const redialMinMs = positiveMs(init.redialMinMs, 'redialMinMs', DEFAULT_REDIAL_MIN_MS)
  const redialMaxMs = positiveMs(init.redialMaxMs, 'redialMaxMs', Math.max(DEFAULT_REDIAL_MAX_MS, redialMinMs))
  if (redialMaxMs < redialMinMs) throw bad('redialMaxMs must not be smaller than redialMinMs')
  return {
    path: init.path,
    listen,
    announce,
    peers,
    psk: init.swarmKey === undefined ? undefined : parseSwarmKey(init.swarmKey),
    swarmKeyFile: init.swarmKeyFile,
    fetchTimeoutMs: positiveMs(init.fetchTimeoutMs, 'fetchTimeoutMs', undefined),
    redialMinMs,
    redialMaxMs,
    wantlistDebounceMs: nonNegativeMs(init.wantlistDebounceMs, 'wantlistDebounceMs', DEFAULT_WANTLIST_DEBOUNCE_MS),
    documentCacheBytes: cacheBytes(init.documentCacheBytes)
  }
}

function stringList (value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every(v => typeof v === 'string')) throw bad(`${name} must be an array of multiaddr strings`)
  return value
}

function parseMultiaddr (value: string, name: string): Multiaddr {
  try {
    return multiaddr(value)
  } catch (err) {
    throw new DtaError('DOCUMENT_STORE_BAD_CONFIG', `${name} is not a valid multiaddr: ${JSON.stringify(value.slice(0, 200))}`, { cause: err })
  }
}

const HOSTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])

/** `/ip4|ip6/<host>/tcp/<port>` (dns names allowed for peers), with `/p2p/<id>` for peers only. */
function assertTcpAddress (value: string, name: string, isPeer: boolean): Multiaddr {
  const address = parseMultiaddr(value, name)
  const parts = address.getComponents()
  const shape = parts.map(c => c.name).join('/')
  const hostOk = parts[0] !== undefined && (isPeer ? HOSTS.has(parts[0].name) : parts[0].name === 'ip4' || parts[0].name === 'ip6')
  const expected = isPeer ? 3 : 2
  if (!hostOk || parts[1]?.name !== 'tcp' || parts.length !== expected || (isPeer && parts[2]?.name !== 'p2p')) {
    const want = isPeer ? '/ip4|ip6|dns4|dns6/<host>/tcp/<port>/p2p/<peer id>' : '/ip4|ip6/<address>/tcp/<port>'
    throw bad(`${name} must look like ${want}, got ${shape === '' ? 'nothing' : '/' + shape}`)
  }
  if (isPeer) {
    try {
      peerIdFromString(parts[2].value ?? '')
    } catch (err) {
      throw new DtaError('DOCUMENT_STORE_BAD_CONFIG', `${name} does not end in a valid peer id`, { cause: err })
    }
  }
  return address
}

const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
const SWARM_KEY_ENCODING = '/base16/'

/** A go-ipfs swarm.key is three short lines; anything much larger is not one. */
const MAX_SWARM_KEY_FILE_BYTES = 1024

/**
 * Parses a go-ipfs `swarm.key` (three lines: `/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex digits)
 * and returns it in the canonical form @libp2p/pnet reads. The key never appears in an error;
 * `name` (the option, or the file it came from) does.
 */
export function parseSwarmKey (text: unknown, name = 'swarmKey'): Uint8Array {
  const usage = `${name} must be a go-ipfs swarm.key: "${SWARM_KEY_HEADER}", "${SWARM_KEY_ENCODING}" and 64 hex digits on three lines`
  if (typeof text !== 'string') throw bad(usage)
  const lines = text.split(/\r?\n/)
  while (lines.length > 3 && lines[lines.length - 1].trim() === '') lines.pop()
  if (lines.length !== 3 || lines[0].trim() !== SWARM_KEY_HEADER || lines[1].trim() !== SWARM_KEY_ENCODING ||
      !/^[0-9a-fA-F]{64}$/.test(lines[2].trim())) {
    throw bad(usage)
  }
  return new TextEncoder().encode(`${SWARM_KEY_HEADER}\n${SWARM_KEY_ENCODING}\n${lines[2].trim().toLowerCase()}`)
}

/**
 * Reads and parses a `swarm.key` file: a regular file of at most 1 KiB that only its owner may
 * access — DOCUMENT_STORE_SWARM_KEY_INSECURE (naming the file and its mode) otherwise, as for the
 * custody key file; DOCUMENT_STORE_BAD_CONFIG if it is missing, not a regular file, or not a key.
 */
export async function readSwarmKeyFile (file: string): Promise<Uint8Array> {
  const bytes = await readSecretFile(file, {
    insecureCode: 'DOCUMENT_STORE_SWARM_KEY_INSECURE',
    invalidCode: 'DOCUMENT_STORE_BAD_CONFIG',
    maxBytes: MAX_SWARM_KEY_FILE_BYTES
  })
  try {
    return parseSwarmKey(bytes.toString('utf8'), file)
  } finally {
    bytes.fill(0)
  }
}

function positiveMs (value: unknown, name: string, fallback: number | undefined): number {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw bad(`${name} must be a whole number of milliseconds between 1 and ${MAX_TIMER_MS}`)
  }
  return value
}

function cacheBytes (value: unknown): number {
  if (value === undefined) return DEFAULT_DOCUMENT_CACHE_BYTES
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad('documentCacheBytes must be a whole number of bytes ≥ 0')
  return value
}

function nonNegativeMs (value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMER_MS) {
    throw bad(`${name} must be a whole number of milliseconds between 0 and ${MAX_TIMER_MS}`)
  }
  return value
}


/**
 * A bounded, least-recently-used map of documents by CID. Entries are content-addressed, so they
 * never go stale; readers get a copy, so nobody can alter what the next reader sees.
 */
class RecentDocuments {
  readonly #limit: number
  readonly #map = new Map<string, Uint8Array>()
  #bytes = 0

  constructor (limit: number) { this.#limit = limit }

  add (cid: string, bytes: Uint8Array): void {
    if (bytes.length > this.#limit || this.#map.has(cid)) return
    this.#map.set(cid, Uint8Array.from(bytes))
    this.#bytes += bytes.length
    for (const [oldest, value] of this.#map) {
      if (this.#bytes <= this.#limit) break
      this.#map.delete(oldest)
      this.#bytes -= value.length
    }
  }

  has (cid: string): boolean {
    return this.#map.has(cid)
  }

  get (cid: string): Uint8Array | undefined {
    const bytes = this.#map.get(cid)
    if (bytes === undefined) return undefined
    this.#map.delete(cid)
    this.#map.set(cid, bytes)
    return Uint8Array.from(bytes)
  }
}
