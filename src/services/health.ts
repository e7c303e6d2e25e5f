/**
 * Readiness (GET /v1/health/ready): whether this node can serve, one check at a time, each timed
 * and each failure named by its error code — never a value, so the answer can go to a load
 * balancer without a token.
 *
 * - `database`: the state database takes a write and reads it back (a probe key in a store of its
 *   own, so nothing of a plugin or an order is touched);
 * - `custody`: custody seals a random probe and opens it again (the KEK is there, an HSM answers);
 * - `ipfs`: the IPFS node has started (a peer id); its connected peers are told, not required — a
 *   fiduciary may have none until a principal dials it;
 * - `fiduciary` (nodes that place orders with another node): the fiduciary, or one of its replicas,
 *   answers its liveness check.
 * Each check has its own time limit, so one stuck dependency cannot hang the probe.
 * @module
 */
import type { AbortOptions } from '../ports/common.ts'
import { DtaError, isDtaError } from '../errors.ts'
import { randomBytes } from '../crypto/random.ts'
import { timingSafeEqual, toHex, wipe } from '../crypto/hash.ts'
import type { Custody } from '../ports/custody.ts'
import type { NetworkDocumentStore } from '../ports/document-store.ts'
import type { FiduciaryClient } from '../ports/peer.ts'
import type { StateRepository } from '../ports/state.ts'
import type { HealthService, ReadyResponse } from '../ports/api.ts'

/** The plugin-store name the database probe writes under (plugin names are lowercase words; no plugin has this one). */
export const HEALTH_STORE = 'node-health'
const PROBE_RECORD = 'health/probe'
const CHECK_TIMEOUT_MS = 5000

export interface HealthComponents {
  state: Pick<StateRepository, 'pluginStore'>
  custody: Pick<Custody, 'seal' | 'unseal'>
  documents: Pick<NetworkDocumentStore, 'peerId' | 'connectedPeers'>
  /** The fiduciary a principal orders from, when it is another node. */
  fiduciary?: Pick<FiduciaryClient, 'ping'>
}

type Check = ReadyResponse['checks'][string]

async function timed (fn: (options: AbortOptions) => Promise<string | undefined>, outer: AbortOptions): Promise<Check> {
  const started = performance.now()
  const signal = AbortSignal.any([AbortSignal.timeout(CHECK_TIMEOUT_MS), ...(outer.signal === undefined ? [] : [outer.signal])])
  try {
    const detail = await fn({ signal })
    return { ok: true, ms: Math.round(performance.now() - started), ...(detail === undefined ? {} : { detail }) }
  } catch (err) {
    const code = isDtaError(err) ? err.code : signal.aborted ? 'TIMEOUT' : 'INTERNAL'
    return { ok: false, ms: Math.round(performance.now() - started), code }
  }
}

export function createHealthService (components: HealthComponents): HealthService {
  const { state, custody, documents, fiduciary } = components
  const store = state.pluginStore(HEALTH_STORE)
  return {
    async ready (options: AbortOptions = {}): Promise<ReadyResponse> {
      const checks: ReadyResponse['checks'] = {}
      checks.database = await timed(async (o) => {
        const value = toHex(randomBytes(8))
        await store.put('probe', value, o)
        if (await store.get('probe', o) !== value) throw new DtaError('STATE_UNAVAILABLE', 'the probe did not read back')
        return undefined
      }, options)
      checks.custody = await timed(async (o) => {
        const probe = randomBytes(32)
        const opened = await custody.unseal(PROBE_RECORD, await custody.seal(PROBE_RECORD, probe, o), o)
        try {
          if (!timingSafeEqual(opened, probe)) throw new DtaError('CUSTODY_INTEGRITY', 'the probe did not open to itself')
        } finally {
          wipe(opened)
          wipe(probe)
        }
        return undefined
      }, options)
      checks.ipfs = await timed(async () => {
        documents.peerId()
        return `${documents.connectedPeers().length} connected peer(s)`
      }, options)
      if (fiduciary?.ping !== undefined) checks.fiduciary = await timed(async (o) => { await fiduciary.ping!(o); return undefined }, options)
      const ok = Object.values(checks).every(c => c.ok)
      return { status: ok ? 'ready' : 'not ready', checks }
    },
  }
}
