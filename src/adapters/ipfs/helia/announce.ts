/**
 * Announcing the documents this node holds to the private network's DHT (./dht.ts): each
 * document put, accepted or fetched and kept is recorded as held here at once and announced a
 * second later in the background; at start, documents pinned while content routing was off are
 * announced too.
 * @module
 */

import type { KadDHT } from '@libp2p/kad-dht'
import type { Pins } from '@helia/interface'
import type { CID } from 'multiformats/cid'
import type { DhtDatastore } from '../dht-datastore.ts'
import { PROVIDE_CONCURRENCY } from './dht.ts'

/** An announcement (a lookup of the closest peers, then ADD_PROVIDER to each) gives up after this. */
const PROVIDE_TIMEOUT_MS = 60_000

/**
 * An announcement goes out this long after the document was stored. Measured (2 processes,
 * 2 KiB documents): announcing at once adds ~20 ms to the p50 of a peer's fetch of the document
 * it is racing with — the lookup and the ADD_PROVIDER streams compete with the bitswap answer —
 * and in a D-TA order the next node usually fetches a document within milliseconds. The node's
 * own provider record is written at once (`DhtDatastore.recordOwn`), so a lookup that reaches it
 * finds the document from the start.
 */
const ANNOUNCE_DELAY_MS = 1000

export interface Announcer {
  /** Records `cid` as held here now and queues its announcement (once per CID). */
  announce (cid: CID): void
  /** Announcements waiting or running. */
  pending (): number
  /** Drops the queue and aborts the announcements running. */
  stop (): void
}

/**
 * Announces documents in the background, `ANNOUNCE_DELAY_MS` after they were stored,
 * `PROVIDE_CONCURRENCY` at a time, each bounded by `PROVIDE_TIMEOUT_MS`: a put or a fetch never
 * waits for the network to learn of it. An announcement leaves provider records at the 20
 * servers closest to the CID. The queue holds only CIDs this node stored itself.
 */
export function createAnnouncer (dht: KadDHT, records: DhtDatastore): Announcer {
  const queue = new Map<string, { cid: CID, due: number }>()
  const running = new Set<AbortController>()
  let wake: ReturnType<typeof setTimeout> | undefined
  let stopped = false

  function pump (): void {
    clearTimeout(wake)
    wake = undefined
    while (!stopped && running.size < PROVIDE_CONCURRENCY && queue.size > 0) {
      const [key, { cid, due }] = queue.entries().next().value as [string, { cid: CID, due: number }]
      const wait = due - performance.now()
      if (wait > 0) {
        wake = setTimeout(pump, wait)
        return
      }
      queue.delete(key)
      const controller = new AbortController()
      // a cleared timer rather than AbortSignal.timeout(), so no timer outlives stop()
      const timer = setTimeout(() => { controller.abort() }, PROVIDE_TIMEOUT_MS)
      running.add(controller)
      void (async () => {
        for await (const _ of dht.provide(cid, { signal: controller.signal })) { /* drain the query's events */ }
      })().catch(() => { /* best effort: the own record is written, and the reprovider tries again */ }).finally(() => {
        clearTimeout(timer)
        running.delete(controller)
        pump()
      })
    }
  }

  return {
    announce (cid) {
      if (stopped) return
      records.recordOwn(cid.multihash.bytes)
      if (queue.has(cid.toString())) return
      queue.set(cid.toString(), { cid, due: performance.now() + ANNOUNCE_DELAY_MS })
      if (wake === undefined) pump()
    },
    pending () {
      return queue.size + running.size
    },
    stop () {
      stopped = true
      clearTimeout(wake)
      queue.clear()
      for (const controller of running) controller.abort()
    }
  }
}

/**
 * Queues an announcement of every pinned document that has no provider record of this node: the
 * documents pinned while content routing was off, or before the node had it. Runs once at start,
 * in the background; once each has been announced its record is on disk and this finds nothing.
 */
export async function announceHeld (helia: { pins: Pins }, records: DhtDatastore, announcer: Announcer, signal: AbortSignal): Promise<void> {
  for await (const pin of helia.pins.ls({ signal })) {
    if (!records.hasOwnRecord(pin.cid.multihash.bytes)) announcer.announce(pin.cid)
  }
}
