/**
 * libp2p's datastore when the node runs the private network's DHT: the DHT's provider records
 * (`/dht/provider/<multihash, base32>/<peer id>`, the time as a varint — @libp2p/kad-dht's own
 * layout) go to the node's SQLite datastore, next to Helia's pins; everything else libp2p keeps
 * (the peer store) stays in memory, as it did without the DHT.
 *
 * Why on disk: a node answers a lookup for a document from its provider records, its own
 * included. In memory, a restarted node would forget that it holds its documents and nobody
 * could find them through it until each was fetched or put again; on disk the records survive,
 * and kad-dht's reprovider re-announces them before they expire (48 h) and drops expired records
 * of others (hourly).
 *
 * What a peer may store here is bounded — any node that can connect can send ADD_PROVIDER for
 * any number of CIDs:
 * - provider records of other peers: at most `maxProviderRecords` in all and
 *   `maxProviderRecordsPerPeer` per peer (a peer may only announce itself: kad-dht drops
 *   records naming another peer); beyond, a new record is refused (PutFailedError: the sender's
 *   stream is reset), a known one is still refreshed. This node's own records are never refused:
 *   they are one per document it holds.
 * - no DHT values (`/dht/record/…`, the PUT_VALUE records): the node validates none and needs
 *   none, so every put of one is refused (the DHT's validators refuse them first; this is the
 *   second line).
 * @module
 */

import { BaseDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import type { KeyQuery, Pair, Query } from 'interface-datastore'
import { NotFoundError, PutFailedError } from 'interface-store'
import { base32 } from 'multiformats/bases/base32'
import type { SqliteDatastore } from './sqlite-datastore.ts'

const DHT_PREFIX = '/dht/'
const PROVIDER_PREFIX = '/dht/provider/'

/**
 * ~150 bytes a record on disk: 100 000 records are ~15 MB. A network of n ≤ 20 servers stores
 * every record on every node (a lookup reaches all of them), one per (document, holder): 100 000
 * is 50 000 documents held by two nodes each within the 48 h a record lives.
 */
export const DEFAULT_MAX_PROVIDER_RECORDS = 100_000
/** One peer's share: it announces only itself, one record per document it holds. */
export const DEFAULT_MAX_PROVIDER_RECORDS_PER_PEER = 25_000

export interface DhtDatastoreLimits {
  maxProviderRecords: number
  maxProviderRecordsPerPeer: number
}

export interface DhtRecordCounts {
  /** Provider records of other peers. */
  others: number
  /** This node's own provider records (the documents it announces). */
  own: number
  /** Records refused since start (a full store, or a DHT value). */
  refused: number
}

/** The peer id a provider key ends in, or undefined if the key is not a provider record. */
function providerOf (key: string): string | undefined {
  if (!key.startsWith(PROVIDER_PREFIX)) return undefined
  const parts = key.slice(PROVIDER_PREFIX.length).split('/')
  return parts.length === 2 && parts[1] !== '' ? parts[1] : undefined
}

export class DhtDatastore extends BaseDatastore {
  readonly #disk: SqliteDatastore
  /** libp2p's other keys (the peer store), in memory as without the DHT. */
  readonly #memory = new Map<string, Uint8Array>()
  readonly #self: string
  readonly #limits: DhtDatastoreLimits
  readonly #perPeer = new Map<string, number>()
  #others = 0
  #own = 0
  #refused = 0

  /** `disk` must be open; the records already on it are counted here (one range scan). */
  constructor (disk: SqliteDatastore, self: string, limits: DhtDatastoreLimits) {
    super()
    this.#disk = disk
    this.#self = self
    this.#limits = limits
    for (const key of disk._allKeys({ prefix: PROVIDER_PREFIX })) this.#count(key.toString(), 1)
  }

  #ownKey (multihash: Uint8Array): Key {
    return new Key(`${PROVIDER_PREFIX}${base32.baseEncode(multihash)}/${this.#self}`)
  }

  /** Whether this node has its own provider record for the document with this multihash. */
  hasOwnRecord (multihash: Uint8Array): boolean {
    return this.#disk.has(this.#ownKey(multihash))
  }

  /**
   * Writes (or refreshes) this node's own provider record for the document with this multihash,
   * as kad-dht's `provide` does first: the time in milliseconds as an unsigned LEB128 varint.
   * A lookup that reaches this node finds the document from now on, before any announcement.
   */
  recordOwn (multihash: Uint8Array, now = Date.now()): void {
    const bytes: number[] = []
    let n = now
    while (n >= 0x80) {
      bytes.push((n % 0x80) | 0x80)
      n = Math.floor(n / 0x80)
    }
    bytes.push(n)
    this.put(this.#ownKey(multihash), Uint8Array.from(bytes))
  }

  counts (): DhtRecordCounts {
    return { others: this.#others, own: this.#own, refused: this.#refused }
  }

  #count (key: string, delta: 1 | -1): void {
    const peer = providerOf(key)
    if (peer === undefined) return
    if (peer === this.#self) {
      this.#own += delta
      return
    }
    this.#others += delta
    const n = (this.#perPeer.get(peer) ?? 0) + delta
    if (n <= 0) this.#perPeer.delete(peer)
    else this.#perPeer.set(peer, n)
  }

  #refuse (why: string): never {
    this.#refused++
    throw new PutFailedError(why)
  }

  override put (key: Key, value: Uint8Array): Key {
    const k = key.toString()
    if (!k.startsWith(DHT_PREFIX)) {
      this.#memory.set(k, value)
      return key
    }
    const peer = providerOf(k)
    if (peer === undefined) this.#refuse('this node stores no DHT values')
    if (this.#disk.has(key)) return this.#disk.put(key, value)
    if (peer !== this.#self) {
      if (this.#others >= this.#limits.maxProviderRecords) this.#refuse('provider records full')
      if ((this.#perPeer.get(peer) ?? 0) >= this.#limits.maxProviderRecordsPerPeer) this.#refuse('provider records of this peer full')
    }
    this.#disk.put(key, value)
    this.#count(k, 1)
    return key
  }

  override get (key: Key): Uint8Array {
    const k = key.toString()
    if (k.startsWith(DHT_PREFIX)) return this.#disk.get(key)
    const value = this.#memory.get(k)
    if (value === undefined) throw new NotFoundError(`${k} not found`)
    return value
  }

  override has (key: Key): boolean {
    const k = key.toString()
    return k.startsWith(DHT_PREFIX) ? this.#disk.has(key) : this.#memory.has(k)
  }

  override delete (key: Key): void {
    const k = key.toString()
    if (!k.startsWith(DHT_PREFIX)) {
      this.#memory.delete(k)
      return
    }
    if (!this.#disk.has(key)) return
    this.#disk.delete(key)
    this.#count(k, -1)
  }

  /** The query's prefix decides: the disk holds /dht/…, memory the rest; no prefix, both. */
  #sides (prefix: string | undefined): { disk: boolean, memory: boolean } {
    const all = prefix === undefined || prefix === '' || prefix === '/'
    return { disk: all || prefix.startsWith('/dht'), memory: all || !prefix.startsWith('/dht') }
  }

  override * _all (q: Query): Generator<Pair> {
    const sides = this.#sides(q.prefix)
    if (sides.disk) {
      for (const pair of this.#disk._all({ ...q, prefix: q.prefix ?? DHT_PREFIX })) {
        // Helia's pins share the SQLite file: only the DHT's keys are libp2p's
        if (pair.key.toString().startsWith(DHT_PREFIX)) yield pair
      }
    }
    if (sides.memory) for (const [key, value] of this.#memory) yield { key: new Key(key), value }
  }

  override * _allKeys (q: KeyQuery): Generator<Key> {
    const sides = this.#sides(q.prefix)
    if (sides.disk) {
      for (const key of this.#disk._allKeys({ ...q, prefix: q.prefix ?? DHT_PREFIX })) {
        if (key.toString().startsWith(DHT_PREFIX)) yield key
      }
    }
    if (sides.memory) for (const key of this.#memory.keys()) yield new Key(key)
  }
}
