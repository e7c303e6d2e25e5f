/**
 * Content routing inside the private network (docs/ipfs.md, "How documents are found"): libp2p's
 * Kademlia DHT on a protocol of its own, `/milagro-dta/kad/1.0.0` — never the public IPFS DHT
 * (`/ipfs/kad/1.0.0`), so a D-TA node neither joins nor answers the public network even if one
 * of its peers is a public IPFS node — with no bootstrap list: its routing table fills only from
 * the peers it is connected to (the static peering) and the peers they name. This file
 * configures the DHT service and gives Helia a router over it (bitswap asks it for the providers
 * of a block no connected peer has); ./announce.ts announces the documents the node holds.
 *
 * Settings, chosen for a private network of a few to a few dozen servers and set explicitly
 * (kad-dht's defaults are tuned for the public network of ~10⁴ servers):
 * - server mode always (`clientMode: false`): kad-dht otherwise stays a client until it sees a
 *   public address, and servers on private addresses would answer nobody;
 * - k = 20 (the bucket size and the number of closest peers a lookup ends with): with up to 20
 *   servers and complete tables (below) a lookup asks every server, so a document is found if
 *   any server holding it is up;
 * - alpha = 3 requests in flight per path and 3 disjoint paths (Kademlia's and S/Kademlia's
 *   values; kad-dht's 10 are for lookups over thousands of peers): this also bounds how many
 *   dials one hostile answer full of fake peers can start at once;
 * - prefixLength 4: at most 2⁴ buckets × 20 peers in the routing table, room for 320 servers;
 * - a lookup starts from every peer in the routing table (up to k) but follows only peers closer
 *   to the key than the one that named them, so it is exhaustive only if the table is complete —
 *   and in a small network it can be: every server knows every other. kad-dht fills the table
 *   by a self-lookup at start and every 5 minutes and a refresh at start and every 5 minutes
 *   (not configurable in kad-dht 16; one lookup per bucket in use, ~log₂ n); between them, a
 *   table that filled from a chain of static peers stays partial. So the node also looks itself
 *   up whenever a new peer that speaks the DHT has identified (`watchNewPeers`, debounced, one
 *   at a time): each answer names the answerer's table, so tables are complete within ~n rounds
 *   of a new node joining, and a stable network makes no lookups beyond kad-dht's own. The
 *   first self-lookup runs as soon as the first peer is in the table
 *   (`initialQuerySelfInterval: 0`); kad-dht holds other lookups until it has run. Each is ≤ n
 *   small requests (idle cost measured: bench/dht.ts);
 * - the router starts a lookup only if no connected peer answered within 250 ms
 *   (`PROVIDER_SEARCH_DELAY_MS`), and retries one that found no provider (after 250 ms,
 *   doubling) until the fetch's deadline: a fetch that starts while tables are still filling
 *   still finds the document;
 * - provider records live 48 h and are re-announced after 24 h, checked hourly, two at a time
 *   (kad-dht's 10 at once would be a burst on a 2-core server);
 * - no DHT values at all: every validator refuses (a PUT_VALUE is refused, nothing is stored),
 *   and ../dht-datastore.ts bounds the provider records peers may leave here;
 * - each DHT message, in or out, is at most 64 KiB (a legitimate one is a few KiB: 20 peers and
 *   their addresses) — kad-dht reads messages with no length limit, and one answer full of fake
 *   peers would otherwise fill the peer store — and a peer may have 16 DHT streams open to this
 *   node at once (kad-dht: 32): at most 1 MiB buffered per connection;
 * - every address the DHT learns goes through ../address-policy.ts (also the connection gater).
 * @module
 */

import { kadDHT } from '@libp2p/kad-dht'
import type { KadDHT, KadDHTComponents } from '@libp2p/kad-dht'
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import { NotFoundError } from '@libp2p/interface'
import { peerIdFromCID } from '@libp2p/peer-id'
import type { Router } from '@helia/interface'
import type { AddressPolicy } from '../address-policy.ts'

export const DHT_PROTOCOL = '/milagro-dta/kad/1.0.0'
/** The longest DHT message (request or answer) a node reads. */
export const MAX_DHT_MESSAGE_BYTES = 64 * 1024
/**
 * Bitswap asks the router for providers at the same moment it sends its want to the connected
 * peers; this delay lets a connected peer that holds the block answer first, and the lookup
 * (aborted once the block arrives) then never starts — in a small network, once the tables are
 * full, every server is connected to every other and almost every fetch is such a one. kubo
 * waits 1 s (`ProviderSearchDelay`); an order is a sequence of fetches, so 250 ms: above the
 * p90 of a fetch from a connected peer with five nodes on two cores (60–160 ms, bench/dht.ts;
 * 100 ms started lookups that a connected peer would have answered), and all that a fetch which
 * does need the DHT pays for it.
 */
const PROVIDER_SEARCH_DELAY_MS = 250
/** Providers of one document the router passes on (bitswap dials at most 3 of them). */
const MAX_PROVIDERS = 20
/** Announcements (ours and the reprovider's) run at most this many at a time, in the background. */
export const PROVIDE_CONCURRENCY = 2

const refuseValues = (): never => { throw new Error('this node accepts no DHT values') }

/** The DHT service for `createLibp2p({ services })` (it needs `identify` and `ping` beside it). */
export function dhtService (policy: AddressPolicy): (components: KadDHTComponents) => KadDHT {
  const create = kadDHT({
    protocol: DHT_PROTOCOL,
    clientMode: false,
    kBucketSize: 20,
    alpha: 3,
    disjointPaths: 3,
    prefixLength: 4,
    initialQuerySelfInterval: 0,
    querySelfInterval: 5 * 60_000,
    allowQueryWithZeroPeers: false,
    maxInboundStreams: 16,
    maxOutboundStreams: 32,
    peerInfoMapper: (peer) => policy.mapPeer(peer),
    validators: { pk: refuseValues, ipns: refuseValues },
    reprovide: { concurrency: PROVIDE_CONCURRENCY, interval: 60 * 60_000, threshold: 24 * 60 * 60_000, validity: 48 * 60 * 60_000 },
    logPrefix: 'milagro:dht',
    datastorePrefix: '/dht',
    metricsPrefix: 'milagro_dht'
  })
  return (components) => create(guardedComponents(components))
}

// ── the message-size guard ───────────────────────────────────────────────────────────────────────

/**
 * Aborts `stream` as soon as a length-prefixed message on it declares more than `max` bytes:
 * it reads the varint length prefixes as the bytes arrive, beside kad-dht's own reader.
 */
export function guardMessages (stream: Pick<Stream, 'addEventListener' | 'removeEventListener' | 'abort'>, max: number): void {
  let length = 0
  let shift = 0
  let remaining = 0
  const onMessage = (evt: Event): void => {
    const data = (evt as Event & { data: Uint8Array | Iterable<Uint8Array> }).data
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      let i = 0
      while (i < chunk.length) {
        if (remaining > 0) {
          const n = Math.min(remaining, chunk.length - i)
          remaining -= n
          i += n
          continue
        }
        const byte = chunk[i++]
        length += (byte & 0x7f) * 2 ** shift
        shift += 7
        if ((byte & 0x80) !== 0 && shift < 35) continue
        if (length > max || (byte & 0x80) !== 0) {
          stream.removeEventListener('message', onMessage)
          stream.abort(new Error(`DHT message of ${length} bytes, more than ${max}`))
          return
        }
        remaining = length
        length = 0
        shift = 0
      }
    }
  }
  stream.addEventListener('message', onMessage)
}

/** `target` with some methods replaced, the rest bound to it (libp2p's components use private fields). */
function withMethods<T extends object> (target: T, methods: Partial<T>): T {
  return new Proxy(target, {
    get (t, prop) {
      if (Object.hasOwn(methods, prop)) return (methods as Record<PropertyKey, unknown>)[prop]
      const value = Reflect.get(t, prop, t) as unknown
      return typeof value === 'function' ? value.bind(t) : value
    }
  })
}

/** The components kad-dht sees: its streams, inbound (registrar) and outbound (openStream), guarded. */
function guardedComponents (components: KadDHTComponents): KadDHTComponents {
  let registrar: KadDHTComponents['registrar'] | undefined
  let connectionManager: KadDHTComponents['connectionManager'] | undefined
  return new Proxy(components, {
    get (target, prop, receiver) {
      if (prop === 'registrar') {
        const real = target.registrar
        registrar ??= withMethods(real, {
          handle: async (protocol: string, handler: StreamHandler, options?: Parameters<typeof real.handle>[2]) => {
            const guarded = protocol !== DHT_PROTOCOL
              ? handler
              : (stream: Stream, connection: Connection) => { guardMessages(stream, MAX_DHT_MESSAGE_BYTES); return handler(stream, connection) }
            await real.handle(protocol, guarded, options)
          }
        })
        return registrar
      }
      if (prop === 'connectionManager') {
        const real = target.connectionManager
        connectionManager ??= withMethods(real, {
          openStream: async (peer: Parameters<typeof real.openStream>[0], protocol: string | string[], options?: Parameters<typeof real.openStream>[2]) => {
            const stream = await real.openStream(peer, protocol, options)
            if (stream.protocol === DHT_PROTOCOL) guardMessages(stream, MAX_DHT_MESSAGE_BYTES)
            return stream
          }
        })
        return connectionManager
      }
      return Reflect.get(target, prop, receiver)
    }
  })
}

// ── Helia's router over the DHT ──────────────────────────────────────────────────────────────────

/** Resolves after `ms`, or at once when `signal` aborts (a cleared timer either way). */
async function pause (ms: number, signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Helia's content router: providers of a CID (bitswap connects to them) and peers by id. */
export function createDhtRouter (dht: KadDHT, policy: AddressPolicy, self: PeerId): Router {
  return {
    name: 'milagro-dht',

    async * findProviders (cid, options) {
      const seen = new Set<string>()
      // connected peers first: a want they can answer arrives before this (see PROVIDER_SEARCH_DELAY_MS)
      await pause(PROVIDER_SEARCH_DELAY_MS, options?.signal)
      // bitswap stops asking (and aborts the signal) once it has the block or its deadline passed
      for (let retryMs = 250; options?.signal?.aborted !== true; retryMs *= 2) {
        for await (const event of dht.findProviders(cid, options)) {
          if (event.name !== 'PROVIDER') continue
          for (const provider of event.providers) {
            const id = provider.id.toString()
            if (provider.id.equals(self) || seen.has(id)) continue
            seen.add(id)
            yield { id: provider.id.toCID(), multiaddrs: policy.mapPeer(provider).multiaddrs, router: 'milagro-dht', fallback: false }
            if (seen.size >= MAX_PROVIDERS) return
          }
        }
        if (seen.size > 0 || options?.signal === undefined) return
        await pause(retryMs, options.signal)
      }
    },

    async findPeer (peer, options) {
      for await (const event of dht.findPeer(peerIdFromCID(peer), options)) {
        if (event.name === 'FINAL_PEER') return { id: event.peer.id.toCID(), multiaddrs: policy.mapPeer(event.peer).multiaddrs, router: 'milagro-dht' }
      }
      throw new NotFoundError('peer not found in the DHT')
    }
  }
}

// ── keeping the routing table complete ───────────────────────────────────────────────────────────

/** A new DHT peer triggers a self-lookup this long after the last one identified (they come in bursts). */
const NEW_PEER_DEBOUNCE_MS = 100
/** A self-lookup gives up after this. */
const SELF_LOOKUP_TIMEOUT_MS = 10_000

/** What `watchNewPeers` needs of libp2p: its peer id and the identify events. */
export interface PeerEvents {
  peerId: PeerId
  addEventListener (type: 'peer:identify', listener: (evt: CustomEvent<{ protocols: string[] }>) => void): void
  removeEventListener (type: 'peer:identify', listener: (evt: CustomEvent<{ protocols: string[] }>) => void): void
}

/**
 * Looks this node up in the DHT whenever a peer that speaks the DHT has identified (debounced,
 * one lookup at a time; see the module comment). Returns `stop`, which aborts a lookup running.
 */
export function watchNewPeers (libp2p: PeerEvents, dht: KadDHT): () => void {
  const key = libp2p.peerId.toMultihash().bytes
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: AbortController | undefined
  let again = false
  let stopped = false

  function lookup (): void {
    timer = undefined
    if (stopped) return
    if (running !== undefined) {
      again = true
      return
    }
    const controller = new AbortController()
    running = controller
    const deadline = setTimeout(() => { controller.abort() }, SELF_LOOKUP_TIMEOUT_MS)
    void (async () => {
      for await (const _ of dht.getClosestPeers(key, { signal: controller.signal })) { /* the answers fill the table */ }
    })().catch(() => { /* the next new peer, or kad-dht's own self-lookup, tries again */ }).finally(() => {
      clearTimeout(deadline)
      running = undefined
      if (again && !stopped) {
        again = false
        schedule()
      }
    })
  }

  function schedule (): void {
    clearTimeout(timer)
    timer = setTimeout(lookup, NEW_PEER_DEBOUNCE_MS)
  }

  const onIdentify = (evt: CustomEvent<{ protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(DHT_PROTOCOL)) schedule()
  }
  libp2p.addEventListener('peer:identify', onIdentify)
  return () => {
    stopped = true
    libp2p.removeEventListener('peer:identify', onIdentify)
    clearTimeout(timer)
    running?.abort()
  }
}
