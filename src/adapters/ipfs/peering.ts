/**
 * Static peering: the node keeps a connection to every configured peer, the way go-ipfs's
 * `Peering.Peers` does, because with no DHT or discovery the configured list is the only way
 * servers find each other. Each peer is dialled at start (a peer that is down does not fail the
 * start), and while it is not connected it is re-dialled with exponential backoff from `minMs` up
 * to `maxMs` (then every `maxMs`, forever, with ±20% jitter so restarted servers do not dial in
 * lock-step). A dropped connection restarts the backoff. `stop()` clears every timer and aborts
 * dials in flight.
 *
 * Peers are always dialled at their configured address, never at addresses learned from others.
 * @module
 */

import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface StaticPeer {
  address: Multiaddr
  peerId: string
}

export interface StaticPeeringOptions {
  minMs: number
  maxMs: number
  /** Bound on a single dial attempt. Default 10 s. */
  dialTimeoutMs?: number
}

export interface StaticPeering {
  start (): void
  stop (): void
}

interface PeerState {
  peer: StaticPeer
  failures: number
  timer: ReturnType<typeof setTimeout> | undefined
  dialing: boolean
}

export function createStaticPeering (libp2p: Libp2p, peers: StaticPeer[], options: StaticPeeringOptions): StaticPeering {
  const states = new Map<string, PeerState>()
  for (const peer of peers) states.set(peer.peerId, { peer, failures: 0, timer: undefined, dialing: false })
  const dialTimeoutMs = options.dialTimeoutMs ?? 10_000
  let controller: AbortController | undefined

  function isConnected (state: PeerState): boolean {
    return libp2p.getPeers().some(p => p.toString() === state.peer.peerId)
  }

  function delay (failures: number): number {
    const base = Math.min(options.maxMs, options.minMs * 2 ** Math.max(0, failures - 1))
    return Math.round(base * (0.8 + Math.random() * 0.4))
  }

  function schedule (state: PeerState, ms: number): void {
    if (controller === undefined || state.timer !== undefined || state.dialing) return
    state.timer = setTimeout(() => {
      state.timer = undefined
      void dial(state)
    }, ms)
    state.timer.unref?.()
  }

  async function dial (state: PeerState): Promise<void> {
    const running = controller
    if (running === undefined || state.dialing) return
    if (isConnected(state)) {
      state.failures = 0
      return
    }
    state.dialing = true
    // a cleared timer rather than AbortSignal.timeout(), so no timer outlives stop()
    const attempt = new AbortController()
    const abort = (): void => { attempt.abort() }
    running.signal.addEventListener('abort', abort, { once: true })
    const timer = setTimeout(abort, dialTimeoutMs)
    try {
      await libp2p.dial(state.peer.address, { signal: attempt.signal })
      state.failures = 0
    } catch {
      state.failures++
    } finally {
      clearTimeout(timer)
      running.signal.removeEventListener('abort', abort)
      state.dialing = false
    }
    if (controller === running && !isConnected(state)) schedule(state, delay(Math.max(1, state.failures)))
  }

  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const state = states.get(evt.detail.toString())
    if (state === undefined) return
    state.failures = 0
    schedule(state, delay(1))
  }

  const onConnect = (evt: CustomEvent<PeerId>): void => {
    const state = states.get(evt.detail.toString())
    if (state === undefined) return
    state.failures = 0
    clearTimeout(state.timer)
    state.timer = undefined
  }

  return {
    start () {
      if (controller !== undefined) return
      controller = new AbortController()
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      libp2p.addEventListener('peer:connect', onConnect)
      for (const state of states.values()) void dial(state)
    },

    stop () {
      if (controller === undefined) return
      controller.abort()
      controller = undefined
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      libp2p.removeEventListener('peer:connect', onConnect)
      for (const state of states.values()) {
        clearTimeout(state.timer)
        state.timer = undefined
      }
    }
  }
}
