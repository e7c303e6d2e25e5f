/**
 * The Helia document store's options (`HeliaDocumentStoreInit`), their checks, and the
 * private-network key: parsing a go-ipfs `swarm.key` and reading one from a file.
 *
 * Why the store checks its options although src/config/schema.ts validates `ipfs.*`: the two
 * check different things, and each is the only place for what it checks.
 * - The schema is the operator's side: it sees config.yaml, the environment and CLI flags, names
 *   the layer a bad value came from, lists every problem at once, and sets the policy ranges
 *   (`fetchTimeoutMs` 100..600 000). Its multiaddr patterns are shallow (starts with '/', a peer
 *   ends in `/p2p/<x>`) — a regular expression cannot parse a multiaddr. The adapter cannot use
 *   it: config/ sits above adapters/ (CONVENTIONS habit 13), and the redial, want-list and cache
 *   options here are not config keys at all.
 * - This module is the store's own contract, and the only check for the callers that construct
 *   the store directly (tests, the bench, the e2e fixtures) with values that never went through
 *   the schema. It keeps what the store needs and a pattern cannot say: each address parses as a
 *   multiaddr, a listen address is `/ip4|ip6/…/tcp/…` (TCP is the only transport built in),
 *   a peer is a TCP address ending in a *valid* peer id, the swarm key's format, the timer
 *   ceiling of `setTimeout`, `redialMaxMs ≥ redialMinMs` — and the plain type checks (a
 *   non-empty path, arrays of strings, whole numbers), because a direct caller gets
 *   DOCUMENT_STORE_BAD_CONFIG for them today and the tests hold it to that.
 * So a configured value meets both, for different reasons: the schema at load (a readable message
 * naming the layer), then this module at `createHeliaDocumentStore` (node.ts passes the values on
 * unchanged). The overlap is small and deliberate — that a peer ends in `/p2p/`, that a timeout
 * is a whole number: without it in the schema a bad peer would pass `loadConfig` and fail only
 * at start; without it here a direct caller could build a store with no fetch timeout.
 * @module
 */

import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { DtaError } from '../../../errors.ts'
import { readSecretFile } from '../../secret-file.ts'
import { DEFAULT_MAX_PROVIDER_RECORDS, DEFAULT_MAX_PROVIDER_RECORDS_PER_PEER } from '../dht-datastore.ts'
import type { DhtDatastoreLimits } from '../dht-datastore.ts'
import type { PeeringLog } from '../peering.ts'

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
  /**
   * How the node finds documents no connected peer has: `dht` (default), the private network's
   * Kademlia DHT on `/milagro-dta/kad/1.0.0`, bootstrapped from the configured peers only; `none`,
   * ask connected peers only (docs/ipfs.md, "How documents are found").
   */
  contentRouting?: ContentRouting
  /** Bounds on the DHT provider records peers may leave on this node (see ../dht-datastore.ts). */
  dhtLimits?: Partial<DhtDatastoreLimits>
  /** Optional: warnings about configured peers that cannot be reached (a node passes its logger). */
  log?: PeeringLog
  /**
   * Optional: told of each `get` that had to ask the network (a block was not on disk), with how
   * long it took and how it ended: 'ok' or the error code (metrics).
   */
  onNetworkFetch?: (seconds: number, result: string) => void
}

export const CONTENT_ROUTING = ['dht', 'none'] as const
export type ContentRouting = typeof CONTENT_ROUTING[number]
export const DEFAULT_CONTENT_ROUTING: ContentRouting = 'dht'
export const DEFAULT_REDIAL_MIN_MS = 500
export const DEFAULT_REDIAL_MAX_MS = 30_000
export const DEFAULT_WANTLIST_DEBOUNCE_MS = 0
export const DEFAULT_DOCUMENT_CACHE_BYTES = 32 * 1024 * 1024
/** The longest delay `setTimeout` honours (a longer one fires at once). */
const MAX_TIMER_MS = 2_147_483_647

/** The options once checked, with every default filled in. */
export interface ValidatedInit {
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
  contentRouting: ContentRouting
  dhtLimits: DhtDatastoreLimits
  log: PeeringLog | undefined
  onNetworkFetch: ((seconds: number, result: string) => void) | undefined
}

function bad (detail: string): DtaError {
  return new DtaError('DOCUMENT_STORE_BAD_CONFIG', detail)
}

/** Checks the options (DOCUMENT_STORE_BAD_CONFIG naming the option, never a key) and fills in defaults. */
export function validateInit (init: HeliaDocumentStoreInit): ValidatedInit {
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
  const redialMinMs = timerMs(init.redialMinMs, 'redialMinMs', 1, DEFAULT_REDIAL_MIN_MS)
  const redialMaxMs = timerMs(init.redialMaxMs, 'redialMaxMs', 1, Math.max(DEFAULT_REDIAL_MAX_MS, redialMinMs))
  if (redialMaxMs < redialMinMs) throw bad('redialMaxMs must not be smaller than redialMinMs')
  return {
    path: init.path,
    listen,
    announce,
    peers,
    psk: init.swarmKey === undefined ? undefined : parseSwarmKey(init.swarmKey),
    swarmKeyFile: init.swarmKeyFile,
    fetchTimeoutMs: timerMs(init.fetchTimeoutMs, 'fetchTimeoutMs', 1, undefined),
    redialMinMs,
    redialMaxMs,
    wantlistDebounceMs: timerMs(init.wantlistDebounceMs, 'wantlistDebounceMs', 0, DEFAULT_WANTLIST_DEBOUNCE_MS),
    documentCacheBytes: cacheBytes(init.documentCacheBytes),
    contentRouting: contentRouting(init.contentRouting),
    dhtLimits: dhtLimits(init.dhtLimits),
    log: init.log,
    onNetworkFetch: init.onNetworkFetch
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

/** A whole number of milliseconds from `min` (0 or 1) to the timer ceiling; `fallback` when absent (required if none). */
function timerMs (value: unknown, name: string, min: 0 | 1, fallback: number | undefined): number {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    throw bad(`${name} must be a whole number of milliseconds between ${min} and ${MAX_TIMER_MS}`)
  }
  return value
}

function contentRouting (value: unknown): ContentRouting {
  if (value === undefined) return DEFAULT_CONTENT_ROUTING
  if (!CONTENT_ROUTING.includes(value as ContentRouting)) throw bad(`contentRouting must be one of ${CONTENT_ROUTING.join(', ')}`)
  return value as ContentRouting
}

function dhtLimits (value: Partial<DhtDatastoreLimits> | undefined): DhtDatastoreLimits {
  if (value !== undefined && (value === null || typeof value !== 'object')) throw bad('dhtLimits must be an object')
  const limit = (n: unknown, name: string, fallback: number): number => {
    if (n === undefined) return fallback
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad(`dhtLimits.${name} must be a whole number ≥ 0`)
    return n
  }
  return {
    maxProviderRecords: limit(value?.maxProviderRecords, 'maxProviderRecords', DEFAULT_MAX_PROVIDER_RECORDS),
    maxProviderRecordsPerPeer: limit(value?.maxProviderRecordsPerPeer, 'maxProviderRecordsPerPeer', DEFAULT_MAX_PROVIDER_RECORDS_PER_PEER)
  }
}

function cacheBytes (value: unknown): number {
  if (value === undefined) return DEFAULT_DOCUMENT_CACHE_BYTES
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad('documentCacheBytes must be a whole number of bytes ≥ 0')
  return value
}

// ── the private-network key ──────────────────────────────────────────────────────────────────────

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
