/**
 * A threshold network in process, wired as src/node.ts wires it: n fiduciaries (each its own
 * SQLite state, local custody and folder, the ordinary fulfil service and the threshold fulfil
 * service), a principal with the ordinary order service behind `withThresholdOrders`, and one
 * local document store (the network, as IPFS would be). The principal reaches each fiduciary
 * through a client that a test may wrap (`wrap`) to play a hostile or absent fiduciary.
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalKeyFile, openLocalCustody } from '../../../src/adapters/custody/local.ts'
import { createLocalDocumentStore } from '../../../src/adapters/ipfs/local.ts'
import { cidV0Of } from '../../../src/adapters/ipfs/unixfs.ts'
import type { FulfilService, OrderService, ThresholdFulfilService } from '../../../src/ports/api.ts'
import type { Custody } from '../../../src/ports/custody.ts'
import type { DocumentStore } from '../../../src/ports/document-store.ts'
import type { ThresholdFiduciaryClient } from '../../../src/ports/peer.ts'
import type { Plugin } from '../../../src/ports/plugin.ts'
import type { StateRepository } from '../../../src/ports/state.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { createPluginContext } from '../../../src/services/context.ts'
import { createFulfilService } from '../../../src/services/fulfil.ts'
import { Identities } from '../../../src/services/identities.ts'
import type { HeldIdentity } from '../../../src/services/identities.ts'
import { createOrderService } from '../../../src/services/order.ts'
import { createThresholdFulfilService } from '../../../src/services/threshold-fulfil.ts'
import { withThresholdOrders } from '../../../src/services/threshold-order.ts'

export interface ThresholdFiduciary {
  readonly name: string
  readonly dir: string
  readonly cid: string
  readonly held: HeldIdentity
  readonly state: StateRepository
  readonly custody: Custody
  readonly identities: Identities
  readonly fulfil: FulfilService
  readonly threshold: ThresholdFulfilService
  /** The client the principal uses for this fiduciary. */
  readonly client: ThresholdFiduciaryClient
}

export interface ThresholdNetwork {
  readonly documents: DocumentStore
  readonly fiduciaries: ThresholdFiduciary[]
  readonly principal: { cid: string, held: HeldIdentity, identities: Identities, order: OrderService, state: StateRepository }
  /** A beneficiary's own node (its node identity is the beneficiary), trusting the n fiduciaries. */
  readonly beneficiary: { cid: string, order: OrderService }
  /** Replaces the principal's client of fiduciary `i` (0-based) by `wrap(real)`; `restore` undoes it. */
  wrap (i: number, wrap: (real: ThresholdFiduciaryClient) => ThresholdFiduciaryClient): void
  restore (): void
  close (): Promise<void>
}

async function openNode (dir: string, name: string, documents: DocumentStore) {
  const state = await openSqliteState({ path: join(dir, name, 'state.sqlite') })
  await createLocalKeyFile(join(dir, name, 'custody.key'))
  const custody = await openLocalCustody({ keyFile: join(dir, name, 'custody.key') })
  const identities = new Identities({ documents, state, custody })
  const held = await identities.create(name, { isNodeIdentity: true })
  return { dir: join(dir, name), state, custody, identities, held, cid: held.cid }
}

export async function thresholdNetwork (plugin: Plugin, n: number, options: { defaultT?: number } = {}): Promise<ThresholdNetwork> {
  const dir = await mkdtemp(join(tmpdir(), 'dta-threshold-'))
  const documents = createLocalDocumentStore({ path: join(dir, 'documents') })
  await documents.start()
  const fiduciaries: ThresholdFiduciary[] = []
  for (let i = 0; i < n; i++) {
    const name = `fiduciary${i + 1}`
    const b = await openNode(dir, name, documents)
    const shared = { documents, identities: b.identities, plugin, pluginContext: createPluginContext(plugin, b.state, b.custody), node: b.held, cidOf: cidV0Of }
    const fulfil = createFulfilService({ ...shared, state: b.state, custody: b.custody })
    const threshold = createThresholdFulfilService({ ...shared, state: b.state, custody: b.custody })
    const client: ThresholdFiduciaryClient = { thresholdRound1: threshold.round1, thresholdRound2: threshold.round2, thresholdRound3: threshold.round3, fulfillOrderSecret: fulfil.secret }
    fiduciaries.push({ name, ...b, fulfil, threshold, client })
  }
  const p = await openNode(dir, 'principal', documents)
  const clients = new Map(fiduciaries.map(f => [f.cid, f.client]))
  const shared = { documents, identities: p.identities, plugin, pluginContext: createPluginContext(plugin, p.state, p.custody), node: p.held, cidOf: cidV0Of }
  const single = createOrderService({ ...shared, state: p.state, fiduciary: { fulfillOrder: fiduciaries[0]!.fulfil.order, fulfillOrderSecret: fiduciaries[0]!.fulfil.secret }, fiduciaryCID: fiduciaries[0]!.cid, trustedFiduciaries: new Set() })
  // a beneficiary's own node: its own state and identities, the same network, trusting the n fiduciaries
  const b = await openNode(dir, 'beneficiary', documents)
  const bShared = { documents, identities: b.identities, plugin, pluginContext: createPluginContext(plugin, b.state, b.custody), node: b.held, cidOf: cidV0Of }
  const bSingle = createOrderService({ ...bShared, state: b.state, fiduciary: { fulfillOrder: fiduciaries[0]!.fulfil.order, fulfillOrderSecret: fiduciaries[0]!.fulfil.secret }, fiduciaryCID: fiduciaries[0]!.cid, trustedFiduciaries: new Set() })
  const bOrder = withThresholdOrders(bSingle, { ...bShared, state: b.state, fiduciaries: new Map(clients) })
  const defaultSet = options.defaultT === undefined ? undefined : { t: options.defaultT, fiduciaryCIDs: fiduciaries.map(f => f.cid) }
  const order = withThresholdOrders(single, { ...shared, state: p.state, fiduciaries: clients, ...(defaultSet === undefined ? {} : { defaultSet }) })
  return {
    documents,
    fiduciaries,
    principal: { cid: p.cid, held: p.held, identities: p.identities, order, state: p.state },
    beneficiary: { cid: b.cid, order: bOrder },
    wrap (i, wrap) { clients.set(fiduciaries[i]!.cid, wrap(fiduciaries[i]!.client)) },
    restore () { for (const f of fiduciaries) clients.set(f.cid, f.client) },
    async close () {
      for (const node of [...fiduciaries, p, b]) {
        await node.state.close()
        await node.custody.close()
      }
      await documents.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
