/**
 * The services wired in process with their transparency logs, as src/node.ts wires them: a
 * fiduciary whose answers carry log proofs, and principal-side nodes (principal, beneficiary)
 * that check them — every node with its own real SQLite state (and log) and local custody, one
 * shared local document store as the network.
 *
 * The fiduciary can be made to lie the way a malicious one would: it keeps two logs (`forks.a`,
 * `forks.b`, the second in another database, signed with the same key) and `fork(name)` picks
 * the one it appends to, proves from and answers consistency requests from — so one principal can
 * be shown one history and another a different one; switching to `b` after principals saw `a`
 * grow is also a log rolled back to an earlier state (both start with the same two leaves).
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalKeyFile, openLocalCustody } from '../../../src/adapters/custody/local.ts'
import { createLocalDocumentStore } from '../../../src/adapters/ipfs/local.ts'
import { cidV0Of } from '../../../src/adapters/ipfs/unixfs.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import type { FulfillOrderResponse, FulfillOrderSecretResponse, FulfilService, OrderService } from '../../../src/ports/api.ts'
import type { Custody } from '../../../src/ports/custody.ts'
import type { DocumentStore } from '../../../src/ports/document-store.ts'
import type { LogReader } from '../../../src/ports/log.ts'
import type { Plugin } from '../../../src/ports/plugin.ts'
import type { StateRepository } from '../../../src/ports/state.ts'
import { createPluginContext } from '../../../src/services/context.ts'
import { createFulfilService } from '../../../src/services/fulfil.ts'
import { Identities } from '../../../src/services/identities.ts'
import type { HeldIdentity } from '../../../src/services/identities.ts'
import { checkedFiduciary, LogChecker, openNodeLog, part4Check, withLogProofs } from '../../../src/services/log/index.ts'
import type { NodeLog } from '../../../src/services/log/index.ts'
import { createOrderService } from '../../../src/services/order.ts'

export interface LoggedNode {
  readonly name: string
  readonly cid: string
  readonly held: HeldIdentity
  readonly state: StateRepository
  readonly custody: Custody
  readonly log: NodeLog
  readonly checker: LogChecker
  /** Principal-side nodes. */
  readonly order: OrderService
}

export interface LogNetwork {
  readonly documents: DocumentStore
  readonly fiduciary: { cid: string, state: StateRepository, fulfil: FulfilService, forks: { a: NodeLog, b: NodeLog }, reader: LogReader, databasePath: string }
  readonly principal: LoggedNode
  readonly beneficiary: LoggedNode
  /** Which log the fiduciary uses from now on. */
  fork (name: 'a' | 'b'): void
  /** From now on the fiduciary changes its answers with `change` before sending them (undefined: honest again). */
  answers (change: ((answer: FulfillOrderResponse | FulfillOrderSecretResponse) => Promise<FulfillOrderResponse | FulfillOrderSecretResponse>) | undefined): void
  close (): Promise<void>
}

async function home (dir: string, name: string): Promise<{ state: StateRepository, custody: Custody }> {
  const path = join(dir, name, 'state.sqlite')
  const state = await openSqliteState({ path })
  await createLocalKeyFile(join(dir, name, 'custody.key'))
  return { state, custody: await openLocalCustody({ keyFile: join(dir, name, 'custody.key') }) }
}

export async function logNetwork (plugin: Plugin): Promise<LogNetwork> {
  const dir = await mkdtemp(join(tmpdir(), 'dta-log-'))
  const documents = createLocalDocumentStore({ path: join(dir, 'documents') })
  await documents.start()
  const closers: Array<() => Promise<void>> = []

  // ── the fiduciary, with two logs ──
  const f = await home(dir, 'fiduciary')
  const fHeld = await new Identities({ documents, state: f.state, custody: f.custody }).create('fiduciary', { isNodeIdentity: true })
  const forkA = (await openNodeLog({ state: f.state, custody: f.custody, documents, node: fHeld }))!
  const other = await openSqliteState({ path: join(dir, 'fiduciary', 'fork-b.sqlite') })
  const forkB = (await openNodeLog({ state: { getNodeIdentity: f.state.getNodeIdentity, transparency: other.transparency }, custody: f.custody, documents, node: fHeld }))!
  closers.push(async () => { await f.state.close(); await other.close(); await f.custody.close() })
  let current: NodeLog = forkA
  const logged: DocumentStore = {
    put: async (bytes, o) => await current.documents.put(bytes, o),
    accept: async (cid, bytes, o) => { await current.documents.accept(cid, bytes, o) },
    get: async (cid, o) => await current.documents.get(cid, o),
    has: async (cid, o) => await current.documents.has(cid, o),
  }
  const fIdentities = new Identities({ documents: logged, state: f.state, custody: f.custody })
  const log = {
    get keyDocument () { return current.log.keyDocument },
    proof: async (cid: string, o?: { signal?: AbortSignal }) => await current.log.proof(cid, o),
    proofAt: async (cid: string, size: number, o?: { signal?: AbortSignal }) => await current.log.proofAt(cid, size, o),
    consistency: async (a: number, b: number, o?: { signal?: AbortSignal }) => await current.log.consistency(a, b, o),
  }
  const fulfil = withLogProofs(createFulfilService({
    documents: logged, state: f.state, custody: f.custody, identities: fIdentities, plugin, pluginContext: createPluginContext(plugin, f.state, f.custody), node: fHeld, cidOf: cidV0Of,
  }), log)
  const reader: LogReader = {
    checkpoint: async (o) => await current.reader.checkpoint(o),
    // a few turns of the event loop, as a network round trip would take: concurrent checks interleave
    consistency: async (a, b, o) => { for (let i = 0; i < 5; i++) await new Promise(setImmediate); return await current.reader.consistency(a, b, o) },
    inclusion: async (cid, o) => await current.reader.inclusion(cid, o),
    keyDocument: async (o) => await current.reader.keyDocument(o),
  }

  let tamper: Parameters<LogNetwork['answers']>[0]
  const change = async (a: FulfillOrderResponse | FulfillOrderSecretResponse): Promise<FulfillOrderResponse | FulfillOrderSecretResponse> => tamper === undefined ? a : await tamper(a)

  // ── principal-side nodes, each checking the fiduciary's log ──
  async function principalSide (name: string): Promise<LoggedNode> {
    const h = await home(dir, name)
    closers.push(async () => { await h.state.close(); await h.custody.close() })
    const held = await new Identities({ documents, state: h.state, custody: h.custody }).create(name, { isNodeIdentity: true })
    const nodeLog = (await openNodeLog({ state: h.state, custody: h.custody, documents, node: held }))!
    const identities = new Identities({ documents: nodeLog.documents, state: h.state, custody: h.custody })
    const checker = new LogChecker({ checkpoints: nodeLog.checkpoints, identities, audit: h.state, cidOf: cidV0Of })
    const sent = { fulfillOrder: async (r: Parameters<FulfilService['order']>[0], o?: { signal?: AbortSignal }) => await change(await fulfil.order(r, o)) as FulfillOrderResponse, fulfillOrderSecret: async (r: Parameters<FulfilService['secret']>[0], o?: { signal?: AbortSignal }) => await change(await fulfil.secret(r, o)) as FulfillOrderSecretResponse }
    const client = checkedFiduciary(sent, fHeld.cid, reader, checker)
    const order = createOrderService({
      documents: nodeLog.documents, state: h.state, identities, plugin, pluginContext: createPluginContext(plugin, h.state, h.custody), node: held, cidOf: cidV0Of,
      fiduciary: client, fiduciaryCID: fHeld.cid, trustedFiduciaries: new Set([fHeld.cid]), checkPart4: part4Check(cid => (cid === fHeld.cid ? reader : undefined), checker),
    })
    return { name, cid: held.cid, held, state: h.state, custody: h.custody, log: nodeLog, checker, order }
  }
  const principal = await principalSide('principal')
  const beneficiary = await principalSide('beneficiary')

  return {
    documents,
    fiduciary: { cid: fHeld.cid, state: f.state, fulfil, forks: { a: forkA, b: forkB }, reader, databasePath: join(dir, 'fiduciary', 'state.sqlite') },
    principal,
    beneficiary,
    fork (name) { current = name === 'a' ? forkA : forkB },
    answers (fn) { tamper = fn },
    async close () {
      for (const close of closers) await close()
      await documents.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
