/**
 * Assembles the embedded IPFS node behind the Helia document store: libp2p and Helia, built
 * piece by piece, plus the node's persistent identity (`peer.key`) and its static peering.
 *
 * Everything is configured explicitly, because `createHelia()`'s defaults reach the public
 * internet (bootstrap peers, delegated HTTP routing, trustless gateways, autoTLS, the public DHT,
 * mDNS, UPnP, relays). This node has: TCP on the configured addresses, noise, yamux, identify,
 * bitswap, an optional private-network key and, with `contentRouting: 'dht'` (the default), the
 * private network's DHT and the ping service it needs (./dht.ts) — and nothing else. Its routing
 * table fills only from the configured peer list (static peering, re-dialled with backoff:
 * ../peering.ts) and the peers those name; every dial goes through the address policy
 * (../address-policy.ts: the connection gater), and no `/dnsaddr/` is resolved. It stores
 * blocks, pins and DHT provider records in `<path>`, and keeps its libp2p identity in
 * `<path>/peer.key` (0600, read and written with src/adapters/secret-file.ts) so its peer id
 * survives restarts. The private-network key file (`swarmKeyFile`) is read here, at start, not
 * when the store is created (./init.ts).
 *
 * `openHeliaNode` acquires everything and returns the node with its `close()`; if a step fails,
 * what was already opened is closed again, in reverse order. A listen address that cannot be bound
 * is LISTEN_ADDRESS_IN_USE / LISTEN_PERMISSION_DENIED / LISTEN_FAILED naming it (`listenFailure`).
 * @module
 */

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { KadDHT } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import type { FsBlockstore } from 'blockstore-fs'
import { createLibp2p } from 'libp2p'
import type { ServiceFactoryMap } from 'libp2p'
import type { BlockBroker, Helia, HeliaInit } from 'helia'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { CODE_P2P } from '@multiformats/multiaddr'
import { DtaError, listenError } from '../../../errors.ts'
import { readSecretFileIfPresent, writeSecretFile } from '../../secret-file.ts'
import { MAX_ADDRESSES_PER_PEER, createAddressPolicy } from '../address-policy.ts'
import { CachedFsBlockstore } from '../blockstore.ts'
import { DhtDatastore } from '../dht-datastore.ts'
import { createStaticPeering } from '../peering.ts'
import type { StaticPeering } from '../peering.ts'
import { SqliteDatastore } from '../sqlite-datastore.ts'
import { announceHeld, createAnnouncer } from './announce.ts'
import type { Announcer } from './announce.ts'
import { createDhtRouter, dhtService, watchNewPeers } from './dht.ts'
import { readSwarmKeyFile } from './init.ts'
import type { ValidatedInit } from './init.ts'

/** Recently written or read blocks kept in memory (pinning and bitswap read a block right after it is written). */
const BLOCK_CACHE_BYTES = 8 * 1024 * 1024
const PEER_KEY_FILE = 'peer.key'
/** A libp2p private key in protobuf form is small (Ed25519: 68 bytes, RSA-4096: ~2.4 KB); a larger file is not one. */
const MAX_PEER_KEY_FILE_BYTES = 64 * 1024

/** A started node: what the document store uses, and `close()` to stop and release it all. */
export interface HeliaNode {
  helia: HeliaWithLibp2p
  libp2p: Libp2p
  blockstore: FsBlockstore
  bitswap: BlockBroker
  /** The static peering (the store waits for its dials in flight before saying no peer is connected). */
  peering: StaticPeering
  /** With content routing: the DHT, what announces the documents held, and the provider records kept. */
  dht: { service: KadDHT, announcer: Announcer, records: DhtDatastore } | undefined
  close (): Promise<void>
}

/** What `withBitswap` needs: a Helia node with a libp2p node attached. */
export type HeliaWithLibp2p = Helia & { libp2p: Libp2p }

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

/** Reads the swarm key and the peer key, opens the block and pin stores, starts libp2p, Helia, bitswap and the peering. */
export async function openHeliaNode (config: ValidatedInit): Promise<HeliaNode> {
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

    const withDht = config.contentRouting === 'dht'
    const policy = createAddressPolicy({ listen: config.listen, announce: config.announce, peers: config.peers.map(p => p.address) })
    // the DHT's provider records go to datastore.sqlite; libp2p's other state (the peer store)
    // stays in memory either way: the only state a restart needs is the key, blocks, pins, records
    const records = withDht ? new DhtDatastore(datastore, ownPeerId, config.dhtLimits) : undefined
    const libp2p = await createLibp2p({
      start: false,
      privateKey,
      addresses: { listen: config.listen, announce: config.announce },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      ...(psk === undefined ? {} : { connectionProtector: preSharedKey({ psk }) }),
      ...(records === undefined ? {} : { datastore: records }),
      // every dial, the static peering's included, passes the address policy; no resolver (a
      // /dnsaddr/ a peer names would otherwise be looked up before the policy sees the address);
      // a dial tries at most as many addresses of a peer as the DHT keeps for one
      connectionGater: { denyDialMultiaddr: (address) => !policy.allows(address) },
      connectionManager: { resolvers: {}, maxPeerAddrsToDial: MAX_ADDRESSES_PER_PEER },
      // no peerDiscovery (bootstrap, mDNS), no delegated routing; the DHT is a service (below)
      peerDiscovery: [],
      contentRouters: [],
      peerRouters: [],
      // identify tells bitswap (and the DHT) which connected peers speak it
      services: (withDht
        ? { identify: identify(), ping: ping(), dht: dhtService(policy) }
        : { identify: identify() }) as ServiceFactoryMap<Record<string, unknown>>,
      nodeInfo: { name: 'milagro-dta', version: '0' }
    })
    const service = (libp2p.services as { dht?: KadDHT }).dht

    const Helia = await loadHeliaClass()
    const helia = new Helia({
      name: 'milagro-dta',
      version: '0',
      blockstore,
      datastore,
      blockBrokers: [], // bitswap is added below; no trustless HTTP gateways
      // bitswap asks the routers for providers of a block no connected peer has: the private
      // network's DHT, or none (peers come from the static list only); never delegated routing
      routers: service === undefined ? [] : [createDhtRouter(service, policy, libp2p.peerId)]
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

    if (service !== undefined) {
      // before start: the first peers to identify (inbound ones too) already count
      const unwatch = watchNewPeers(libp2p, service)
      cleanups.push(async () => { unwatch() })
    }
    try {
      await libp2p.start()
    } catch (err) {
      throw listenFailure(err, config.listen)
    }
    cleanups.push(async () => { await libp2p.stop() })
    // the DHT names this node as a provider with the addresses in its own peer store entry,
    // which libp2p fills only 1 s after listening (a debounce): until then a lookup that reached
    // this node would find it holds nothing
    if (service !== undefined) {
      await libp2p.peerStore.patch(libp2p.peerId, { multiaddrs: libp2p.getMultiaddrs().map(a => a.decapsulateCode(CODE_P2P)) })
    }
    await node.start()
    cleanups.push(async () => { await node.stop() })
    if (bitswap === undefined) throw new DtaError('INTERNAL', 'bitswap did not start')

    const peering: StaticPeering = createStaticPeering(libp2p, config.peers.filter(p => p.peerId !== ownPeerId), {
      minMs: config.redialMinMs,
      maxMs: config.redialMaxMs,
      log: config.log
    })
    peering.start()
    cleanups.push(async () => { peering.stop() })

    let dht: HeliaNode['dht']
    if (service !== undefined && records !== undefined) {
      const announcer = createAnnouncer(service, records)
      const backfill = new AbortController()
      cleanups.push(async () => { backfill.abort(); announcer.stop() })
      // documents pinned while content routing was off (or before it existed) have no record yet
      void announceHeld(node, records, announcer, backfill.signal).catch(() => {})
      dht = { service, announcer, records }
    }

    return {
      helia: node,
      libp2p,
      blockstore,
      bitswap,
      peering,
      dht,
      close: cleanup
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/**
 * Why libp2p could not start: a listen address it could not bind, by errno (LISTEN_ADDRESS_IN_USE,
 * LISTEN_PERMISSION_DENIED, else LISTEN_FAILED), naming that address — not a configuration error:
 * the address is valid, something else holds it. libp2p gives the failed addresses only in its
 * message ("  /ip4/…/tcp/4001: Error: listen EADDRINUSE: …"), so they are read from there.
 */
function listenFailure (err: unknown, listen: string[]): DtaError {
  const found = (err instanceof Error ? err.message : String(err)).match(/^\s*(\/\S+): .*?\b(E[A-Z]{2,})\b/m)
  return listenError(found?.[2], found?.[1] ?? listen.join(', '), { cause: err })
}

/**
 * Loads the node's libp2p key, or creates one (Ed25519) in a 0600 file on first start. A key file
 * that group or others may access, or that is not a key, is DOCUMENT_STORE_BAD_CONFIG — and is
 * never replaced.
 */
async function loadOrCreatePeerKey (file: string): Promise<PrivateKey> {
  const bytes = await readSecretFileIfPresent(file, {
    insecureCode: 'DOCUMENT_STORE_BAD_CONFIG',
    insecureHint: 'chmod 600',
    invalidCode: 'DOCUMENT_STORE_BAD_CONFIG',
    maxBytes: MAX_PEER_KEY_FILE_BYTES
  })
  if (bytes === undefined) {
    const key = await generateKeyPair('Ed25519')
    await writeSecretFile(file, privateKeyToProtobuf(key), { mode: 0o600, exclusive: false })
    return key
  }
  try {
    return privateKeyFromProtobuf(bytes) // not wiped after: the key object may keep views into these bytes
  } catch (err) {
    throw new DtaError('DOCUMENT_STORE_BAD_CONFIG', `${file} does not hold a libp2p private key`, { cause: err })
  }
}
