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
 *
 * With a `log` (optional: tests and tools run without), a configured peer that cannot be reached
 * is reported as a warning — at its first failed dial, then at the 2nd, 4th, 8th… consecutive one,
 * so a peer down for a day costs a few dozen lines, not thousands — saying why: unreachable (the
 * dial error's code), or a node with another peer id at that address (the configured `/p2p/` id
 * is wrong, or another node took the address). Once such a peer connects, one info line says so.
 * @module
 */

import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface StaticPeer {
  address: Multiaddr
  peerId: string
}

/** Where the peering reports unreachable peers: pino's signature, so a node passes its logger. */
export interface PeeringLog {
  warn (fields: Record<string, unknown>, message: string): void
  info (fields: Record<string, unknown>, message: string): void
}

export interface StaticPeeringOptions {
  minMs: number
  maxMs: number
  /** Bound on a single dial attempt. Default 10 s. */
  dialTimeoutMs?: number
  /** Warnings about configured peers that cannot be reached (see the module comment). */
  log?: PeeringLog
}

/** Why a dial failed, in words for the log (public values only: codes, peer ids). */
export function dialFailure (err: unknown): string {
  const e = err as { name?: string, code?: string, message?: string }
  const message = typeof e?.message === 'string' ? e.message : ''
  const other = /identity key (\S+) does not match expected remote identity key/.exec(message)
  if (e?.name === 'UnexpectedPeerError' || other !== null) {
    return `another node answers at that address${other === null ? '' : ` (peer id ${other[1]})`}: the configured /p2p/ peer id does not match`
  }
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'unreachable: the dial timed out'
  if (typeof e?.code === 'string') return `unreachable: ${e.code}`
  return `unreachable: ${e?.name ?? 'error'}${message === '' ? '' : ` (${message.slice(0, 160)})`}`
}

export interface StaticPeering {
  start (): void
  stop (): void
  /** Resolves once no dial of a configured peer is in flight (right after start: once each was tried). */
  settled (): Promise<void>
}

interface PeerState {
  peer: StaticPeer
  failures: number
  timer: ReturnType<typeof setTimeout> | undefined
  dialing: boolean
  /** A warning was logged since the peer was last connected. */
  warned: boolean
}

export function createStaticPeering (libp2p: Libp2p, peers: StaticPeer[], options: StaticPeeringOptions): StaticPeering {
  const states = new Map<string, PeerState>()
  for (const peer of peers) states.set(peer.peerId, { peer, failures: 0, timer: undefined, dialing: false, warned: false })
  const dialTimeoutMs = options.dialTimeoutMs ?? 10_000
  let controller: AbortController | undefined
  const inFlight = new Set<Promise<unknown>>()

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
    const dialled = libp2p.dial(state.peer.address, { signal: attempt.signal })
    inFlight.add(dialled)
    try {
      await dialled
      state.failures = 0
    } catch (err) {
      state.failures++
      if (controller === running) report(state, err)
    } finally {
      inFlight.delete(dialled)
      clearTimeout(timer)
      running.signal.removeEventListener('abort', abort)
      state.dialing = false
    }
    if (controller === running && !isConnected(state)) schedule(state, delay(Math.max(1, state.failures)))
  }

  /** Warns at the 1st, 2nd, 4th, 8th… consecutive failure. */
  function report (state: PeerState, err: unknown): void {
    const { failures } = state
    if (options.log === undefined || (failures & (failures - 1)) !== 0) return
    state.warned = true
    options.log.warn({
      peer: state.peer.address.toString(), reason: dialFailure(err), failures, nextDialMs: Math.min(options.maxMs, options.minMs * 2 ** (failures - 1)),
    }, 'configured IPFS peer not connected')
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
    if (state.warned) options.log?.info({ peer: state.peer.address.toString() }, 'configured IPFS peer connected')
    state.warned = false
  }

  return {
    start () {
      if (controller !== undefined) return
      controller = new AbortController()
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      libp2p.addEventListener('peer:connect', onConnect)
      for (const state of states.values()) void dial(state)
    },

    async settled () {
      await Promise.allSettled([...inFlight])
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
