/**
 * The networked document store: an embedded IPFS node (Helia, assembled in ./node.ts) so that a
 * D-TA server is a real IPFS peer and documents travel between servers by bitswap (PROTOCOL §9).
 * This file is the `DocumentStore` side — put/get/accept/has, pinning, the recent-documents cache —
 * and the store's start/stop; its options are checked in ./init.ts.
 *
 * Bitswap asks the connected peers, then (content routing on, the default) the holders the
 * private network's DHT names (./dht.ts); a document put, accepted or fetched and kept is
 * recorded as held here and announced in the background.
 *
 * Every fetch is bounded by `fetchTimeoutMs` (an unknown CID otherwise waits forever), and says
 * what it tried: a document that is not on disk while no peer at all is connected fails at once
 * with DOCUMENT_NOT_FOUND ("no IPFS peer is connected") — nobody could answer, so waiting the whole
 * timeout only hides the cause, a peering problem — and a fetch that times out says how many
 * connected peers were asked and for how long. "At once" means after the dials of configured
 * peers already in flight (a node that just started is still connecting): those end within the
 * dial timeout, and the fetch's own deadline still bounds the wait. DOCUMENT_NOT_FOUND rather
 * than a new code: for the caller it is the port's "not here and nobody to ask" (as the local
 * store's miss), the services already treat it as the document's absence (IDENTITY_NOT_FOUND
 * for an identity document), and the detail names the cause. Each get that had to ask the
 * network is reported to the optional `onNetworkFetch` (its duration and outcome, for the
 * metrics).
 *
 * A fetched document is kept (pinned, cached) only once `exportCidV0` has checked it: every block
 * hashed to its CID, a UnixFS file within the size limit, and the canonical DAG of its bytes —
 * a peer serving another layout of the same bytes gets DOCUMENT_NOT_CANONICAL (PROTOCOL §6). The
 * blocks bitswap already wrote to the blockstore stay there unpinned (Helia writes each block as
 * it arrives, and a block may be shared with a pinned document, so none is deleted); `has` looks
 * at pins, so it stays false for such a document.
 *
 * CIDs come from the same CIDv0 helpers as the local store (`../unixfs.ts`), never from
 * `@helia/unixfs`, whose defaults are CIDv1.
 * @module
 */

import * as dagPb from '@ipld/dag-pb'
import { createUnsafe } from 'multiformats/block'
import type { GraphNode, GraphWalkerFactory } from '@helia/interface'
import type { Helia } from 'helia'
import type { CID } from 'multiformats/cid'
import { DtaError, isDtaError } from '../../../errors.ts'
import type { AbortOptions } from '../../../ports/common.ts'
import type { NetworkDocumentStore } from '../../../ports/document-store.ts'
import type { DhtRecordCounts } from '../dht-datastore.ts'
import { createOperations } from '../operations.ts'
import { assertDocumentBytes, buildCidV0, exportCidV0, parseCidV0, verifyingReader } from '../unixfs.ts'
import type { Block, BlockSource } from '../unixfs.ts'
import { validateInit } from './init.ts'
import type { HeliaDocumentStoreInit } from './init.ts'
import { openHeliaNode } from './node.ts'
import type { HeliaNode } from './node.ts'

/** What the node's content routing is doing (status, tests, the bench). */
export interface ContentRoutingStatus {
  mode: 'dht' | 'none'
  /** Peers in the DHT routing table. */
  routingTable: number
  /** Provider records of other peers kept here, this node's own, and records refused since start. */
  records: DhtRecordCounts
  /** Announcements of documents waiting or running. */
  announcing: number
}

/** The port's networked store (libp2p peer id, stable across restarts; addresses end in `/p2p/<peer id>`), plus what tests inspect. */
export interface HeliaDocumentStore extends NetworkDocumentStore {
  /** Names of the libp2p services running on the node (for status, and to prove nothing extra runs). */
  services (): string[]
  /** Protocols the node answers (for status, and to prove nothing extra runs). */
  protocols (): string[]
  contentRouting (): ContentRoutingStatus
  /**
   * Peer ids of the nodes the DHT names as holding `cid` (a lookup bounded by `fetchTimeoutMs`;
   * empty without content routing): what a fetch of a missing document asks before bitswap.
   */
  providers (cid: string, options?: AbortOptions): Promise<string[]>
}

/** Checks `init` (DOCUMENT_STORE_BAD_CONFIG) and builds the store, without I/O: `start()` opens the node. */
export function createHeliaDocumentStore (init: HeliaDocumentStoreInit): HeliaDocumentStore {
  const config = validateInit(init)
  const operations = createOperations()
  let node: HeliaNode | undefined
  let lastPeerId: string | undefined
  let starting: Promise<void> | undefined

  function running (): HeliaNode {
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
    running().dht?.announcer.announce(cid)
    return cid.toString()
  }

  return {
    async start () {
      if (node !== undefined) return
      starting ??= openHeliaNode(config).then((started) => {
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
      await current.close()
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
      const started = performance.now()
      let fetched = false
      const fetchedIn = (result: string): void => { if (fetched) config.onNetworkFetch?.((performance.now() - started) / 1000, result) }
      try {
        const bytes = await operations.run(options, async (signal, startDeadline) => {
          const { helia, blockstore, libp2p, peering, dht } = running()
          const cached = recent.get(cid)
          if (cached !== undefined) return cached
          // Helia's blockstore reads the disk first and asks bitswap only for missing blocks (which it
          // verifies and keeps); the verifying reader re-hashes every block, local ones included.
          const source: BlockSource = {
            async * get (blockCid, blockOptions) {
              if (!(await blockstore.has(blockCid, blockOptions))) {
                // ipfs.fetchTimeoutMs bounds the wait for the network, from the first missing block
                startDeadline()
                fetched = true
                if (libp2p.getPeers().length === 0) await peering.settled()
                if (libp2p.getPeers().length === 0) throw noPeer(cid, blockCid.equals(root) ? undefined : blockCid.toString())
              }
              yield * helia.blockstore.get(blockCid, blockOptions)
            }
          }
          const exported = await exportCidV0(root, verifyingReader(source, root), { signal })
          // keep what was fetched (and repair a pin lost to a crash between writing and pinning)
          if (fetched || !(await helia.pins.isPinned(root, { signal }))) await pin(helia, root, signal)
          // a document fetched and kept is one more copy the network can find here
          if (fetched) dht?.announcer.announce(root)
          recent.add(cid, exported)
          return exported
        }, config.fetchTimeoutMs, true)
        fetchedIn('ok')
        return bytes
      } catch (err) {
        const failure = isDtaError(err, 'DOCUMENT_FETCH_TIMEOUT') ? timedOut(cid, node?.libp2p.getPeers().length ?? 0, config.fetchTimeoutMs, config.contentRouting === 'dht', err) : err
        fetchedIn(isDtaError(failure) ? failure.code : 'INTERNAL')
        throw failure
      }
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
    },

    contentRouting () {
      const dht = node?.dht
      return {
        mode: config.contentRouting,
        routingTable: (dht?.service as { routingTable?: { size: number } } | undefined)?.routingTable?.size ?? 0,
        records: dht?.records.counts() ?? { others: 0, own: 0, refused: 0 },
        announcing: dht?.announcer.pending() ?? 0
      }
    },

    async providers (cid, options) {
      const root = parseCidV0(cid)
      return operations.run(options, async (signal) => {
        const { dht, libp2p } = running()
        const found = new Set<string>()
        if (dht === undefined) return []
        try {
          for await (const event of dht.service.findProviders(root, { signal })) {
            if (event.name !== 'PROVIDER') continue
            for (const provider of event.providers) if (!provider.id.equals(libp2p.peerId)) found.add(provider.id.toString())
          }
        } catch (err) {
          if (!signal.aborted) throw err
        }
        return [...found]
      }, config.fetchTimeoutMs).catch((err: unknown) => {
        throw isDtaError(err, 'DOCUMENT_FETCH_TIMEOUT') ? new DtaError('DOCUMENT_FETCH_TIMEOUT', `${cid}: the DHT lookup did not end within ${config.fetchTimeoutMs} ms (ipfs.fetchTimeoutMs)`, { cause: err }) : err
      })
    }
  }
}

// ── what a failed fetch says ──────────────────────────────────────────────────────────────────────

function noPeer (cid: string, block: string | undefined): DtaError {
  const what = block === undefined ? cid : `${cid} (block ${block})`
  return new DtaError('DOCUMENT_NOT_FOUND', `${what} is not on this node and no IPFS peer is connected to ask (check ipfs.peers and that those nodes run)`)
}

function timedOut (cid: string, peers: number, ms: number, dht: boolean, cause: unknown): DtaError {
  const asked = `asked ${peers} connected IPFS peer${peers === 1 ? '' : 's'} for ${ms} ms (ipfs.fetchTimeoutMs)`
  return new DtaError('DOCUMENT_FETCH_TIMEOUT', `${cid}: ${asked}${dht ? ' and looked for other holders in the DHT' : ''}; none had it`, { cause })
}

// ── pinning ──────────────────────────────────────────────────────────────────────────────────────

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

// ── the recent-documents cache ───────────────────────────────────────────────────────────────────

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
