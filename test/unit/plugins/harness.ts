/**
 * A simulated order flow for plugin tests: three "nodes" (principal, fiduciary, beneficiary), each
 * with its own real SQLite state and real local custody in a temp folder, a real plugin context
 * (`createPluginContext`), real identities (`createIdentityDocument`, CIDs from `cidV0Of`), a real
 * order seed, commitment and commitment proof of possession. The hooks are called in the order the
 * services call them (src/ports/plugin.ts), with the inputs the services give them — but with no
 * envelopes, documents or HTTP, so a test sees exactly what the plugin does.
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import type { Extension } from '../../../src/ports/common.ts'
import { createLocalKeyFile, openLocalCustody } from '../../../src/adapters/custody/local.ts'
import { cidV0Of } from '../../../src/adapters/ipfs/unixfs.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite.ts'
import { DtaError, isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { createIdentityDocument } from '../../../src/core/identity.ts'
import { newOrderReference } from '../../../src/core/order.ts'
import { randomBytes } from '../../../src/crypto/random.ts'
import { commitmentPopSign, commitmentPopVerify, orderKeyFromSeed } from '../../../src/crypto/secp256k1.ts'
import type { Custody } from '../../../src/ports/custody.ts'
import type {
  IdentityInfo, OrderBinding, OrderResult, OrderView, Plugin, PluginContext, RedemptionKeys, RedemptionResult,
} from '../../../src/ports/plugin.ts'
import type { StateRepository } from '../../../src/ports/state.ts'
import { createPluginContext } from '../../../src/services/context.ts'
import { decryptForIdentity } from '../../../src/services/identities.ts'
import type { HeldIdentity } from '../../../src/services/identities.ts'

export async function rejectsCode (promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isDtaError(err, code), `expected DtaError ${code}, got ${String(err)}`)
    return true
  })
}

export interface TestNode {
  held: HeldIdentity
  info: IdentityInfo
  state: StateRepository
  custody: Custody
  ctx: PluginContext
}

async function newNode (plugin: Plugin, dir: string, name: string): Promise<TestNode> {
  const state = await openSqliteState({ path: join(dir, name, 'state.sqlite') })
  await createLocalKeyFile(join(dir, name, 'custody.key'))
  const custody = await openLocalCustody({ keyFile: join(dir, name, 'custody.key') })
  const { bytes, document, keys } = createIdentityDocument(randomBytes(32), name)
  const cid = await cidV0Of(bytes)
  return {
    held: { cid, document, keys },
    info: { cid, ecPublicKey: document.beneficiaryECPublicKey, kemPublicKey: document.kemPublicKey },
    state,
    custody,
    ctx: createPluginContext(plugin, state, custody),
  }
}

export interface Network {
  plugin: Plugin
  principal: TestNode
  fiduciary: TestNode
  beneficiary: TestNode
  /** Another identity, on its own node, never part of the order. */
  stranger: TestNode
  close (): Promise<void>
}

export async function network (plugin: Plugin): Promise<Network> {
  const dir = await mkdtemp(join(tmpdir(), `dta-plugin-${plugin.name}-`))
  const [principal, fiduciary, beneficiary, stranger] = await Promise.all(
    ['principal', 'fiduciary', 'beneficiary', 'stranger'].map(async name => await newNode(plugin, dir, name)))
  return {
    plugin,
    principal: principal!,
    fiduciary: fiduciary!,
    beneficiary: beneficiary!,
    stranger: stranger!,
    async close () {
      for (const node of [principal!, fiduciary!, beneficiary!, stranger!]) {
        await node.state.close()
        await node.custody.close()
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** An order as it stands after part 2, with the fiduciary's seed kept for the redemption. */
export interface PlacedOrder {
  view: OrderView
  orderSeed: Uint8Array
  result: OrderResult
  requestExtension: Extension
  beneficiary?: IdentityInfo
}

const fakeCid = async (): Promise<string> => await cidV0Of(randomBytes(64))

/** Safeguard flow: principal prepareOrder → fiduciary checkOrder → (seed, commitment, PoP) → principal completeOrder. */
export async function placeOrder (net: Network, extension: Extension, options: { beneficiary?: TestNode } = {}): Promise<PlacedOrder> {
  const { plugin, principal, fiduciary } = net
  const beneficiary = options.beneficiary?.info
  const reference = newOrderReference()
  const prepared = await plugin.prepareOrder(principal.ctx, { reference, extension, beneficiary })
  const view1: OrderView = {
    reference,
    plugin: plugin.name,
    coin: prepared.coin ?? 0,
    principalCID: principal.held.cid,
    fiduciaryCID: fiduciary.held.cid,
    createdAt: Date.now(),
    extension: { ...(prepared.extension ?? {}) },
    part1CID: await fakeCid(),
  }
  if (beneficiary !== undefined) view1.beneficiaryCID = beneficiary.cid
  await plugin.checkOrder(fiduciary.ctx, view1)
  const orderSeed = randomBytes(32)
  const key = orderKeyFromSeed(orderSeed)
  const statement = { reference, part1CID: view1.part1CID, plugin: plugin.name }
  const pop = commitmentPopSign(key.privateKey, statement)
  assert.equal(commitmentPopVerify(key.publicKey, statement, pop), true) // what the order service checks
  const view: OrderView = { ...view1, part2: { cid: await fakeCid(), commitmentPublicKey: key.publicKey, extension: {} } }
  const result = await plugin.completeOrder(principal.ctx, { order: view, requestExtension: extension, beneficiary })
  return { view, orderSeed, result, requestExtension: extension, beneficiary }
}

export interface RedemptionRequest {
  extension?: Extension
  /** A beneficiary named at redemption; the same as the order's is no change (as in the service). */
  beneficiary?: TestNode
}

/** Principal prepareRedemption → fiduciary checkRedemption: the order view with part 3. */
export async function requestRedemption (net: Network, order: PlacedOrder, request: RedemptionRequest = {}): Promise<OrderView> {
  const { plugin, principal, fiduciary } = net
  const named = request.beneficiary?.info
  // as the order service: the plugin is given the beneficiary part 4 goes to (order-time, else named now);
  // part 3 records only one named now for an order without one
  const beneficiary = order.beneficiary ?? named
  const redemptionBeneficiary = order.view.beneficiaryCID === undefined ? named : undefined
  const prepared = await plugin.prepareRedemption(principal.ctx, { order: order.view, extension: request.extension ?? {}, beneficiary })
  const view: OrderView = {
    ...order.view,
    part3: {
      cid: await fakeCid(),
      beneficiaryEncryptedData: prepared.beneficiaryEncryptedData ?? new Uint8Array(0),
      extension: { ...(prepared.extension ?? {}) },
    },
  }
  if (redemptionBeneficiary !== undefined) view.part3!.beneficiaryCID = redemptionBeneficiary.cid
  await plugin.checkRedemption(fiduciary.ctx, { order: view })
  return view
}

/** The order binding of shares encrypted to a beneficiary (reference and part 2 CID). */
export function bindingOf (order: OrderView): OrderBinding {
  return { reference: order.reference, part2CID: order.part2!.cid }
}

/**
 * The part 4 keys as the order service builds them for `recipient` (src/services/order.ts
 * `redemptionKeys`): the order key checked against the commitment, a decryption bound to the order.
 */
export function keysFor (order: OrderView, orderSeed: Uint8Array, recipient: TestNode): RedemptionKeys {
  const orderKey = orderKeyFromSeed(orderSeed)
  if (!Buffer.from(orderKey.publicKey).equals(order.part2!.commitmentPublicKey)) throw new DtaError('ORDER_SECRET_MISMATCH', 'harness')
  const keys: RedemptionKeys = { orderSeed, orderKey, decrypt: (data) => decryptForIdentity(recipient.held, bindingOf(order), data) }
  const beneficiaryCID = order.beneficiaryCID ?? order.part3?.beneficiaryCID
  if (beneficiaryCID !== undefined && recipient.held.cid === beneficiaryCID) keys.beneficiaryECPrivateKey = recipient.held.keys.ecPrivateKey
  return keys
}

/** completeRedemption on the recipient's node. */
export async function completeRedemption (net: Network, order: OrderView, orderSeed: Uint8Array, recipient: TestNode, requestExtension: Extension = {}): Promise<RedemptionResult> {
  return await net.plugin.completeRedemption(recipient.ctx, { order, requestExtension, keys: keysFor(order, orderSeed, recipient) })
}
