/**
 * The plugin port (PROTOCOL §7): how a custodian customises the order steps without new
 * endpoints, through the free-form `extension` maps. A plugin sees domain objects and a narrow
 * context — its own scoped storage and sealing, and, on redemption, only the key material the
 * flow entitles it to. It never sees the database, the HTTP request or an identity's root seed.
 *
 * The order of calls on one order:
 *   principal  prepareOrder → (fiduciary: checkOrder) → completeOrder
 *   principal  prepareRedemption → (fiduciary: checkRedemption) → completeRedemption
 *                                              (on the recipient's node: principal or beneficiary)
 * Hooks throw DtaError('PLUGIN_BAD_EXTENSION' | 'PLUGIN_REFUSED', detail) for refusals, and take
 * `{ signal }` like every I/O method, to pass on to their store and custody calls.
 * @module
 */
import type { AbortOptions, Extension } from './common.ts'
import type { PluginStore } from './state.ts'

/** What a plugin may know of an identity: its CID and public keys. */
export interface IdentityInfo {
  cid: string
  ecPublicKey: Uint8Array
  kemPublicKey: Uint8Array
}

/** The order as it stands, decoded from the chain. Byte fields are raw. */
export interface OrderView {
  reference: string
  plugin: string
  coin: number
  principalCID: string
  fiduciaryCID: string
  beneficiaryCID?: string
  createdAt: number
  extension: Extension
  part1CID: string
  part2?: { cid: string, commitmentPublicKey: Uint8Array, extension: Extension }
  part3?: { cid: string, beneficiaryCID?: string, beneficiaryEncryptedData: Uint8Array, extension: Extension }
}

/**
 * What data encrypted to one identity is bound to: the order it belongs to. `encryptTo` puts it in
 * the HPKE `info`, so a ciphertext lifted out of this order's part 3 into another chain does not
 * open there (PROTOCOL §7).
 */
export interface OrderBinding {
  reference: string
  part2CID: string
}

export interface PluginContext {
  /** Key-value storage private to this plugin (a "chroot" view of the node's state). */
  readonly store: PluginStore
  /** Seals a plugin secret at rest under the node's custody; `id` is scoped to the plugin. */
  seal (id: string, plaintext: Uint8Array, options?: AbortOptions): Promise<Uint8Array>
  unseal (id: string, sealed: Uint8Array, options?: AbortOptions): Promise<Uint8Array>
  /** HPKE-encrypts data so that only `to` can read it, and only for this order (e.g. a key share handed to a beneficiary). */
  encryptTo (to: IdentityInfo, binding: OrderBinding, data: Uint8Array): Uint8Array
}

/** Key material released to the recipient of part 4, on the node that holds that recipient. */
export interface RedemptionKeys {
  /**
   * The order key pair released by the fiduciary (secp256k1, PROTOCOL §5; the key the order seed
   * derives to, derived once by the fiduciary at order time), already checked by the service
   * against the commitment this node verified — the part 2 it stored when it placed the order, or
   * on a beneficiary's node the part 2 of the chain it verified — never a copy carried in part 4.
   */
  orderKey: { privateKey: Uint8Array, publicKey: Uint8Array }
  /** The recipient identity's secp256k1 private key, when the recipient is the order's beneficiary. */
  beneficiaryECPrivateKey?: Uint8Array
  /** Decrypts data that was encrypted to the recipient with `encryptTo` for this order. */
  decrypt (data: Uint8Array): Uint8Array
}

export interface PreparedOrder {
  /** Bitcoin network for bitcoinwallet (0 mainnet, 1 testnet); 0 otherwise. */
  coin?: number
  /** Extension recorded (in the encrypted order document) in part 1. */
  extension?: Extension
}

export interface OrderResult { commitment: string, extension: Extension }
export interface PreparedRedemption { extension?: Extension, beneficiaryEncryptedData?: Uint8Array }
export interface RedemptionResult { secret: string, commitment: string, extension: Extension }

/** One `extension` field a plugin reads or answers: what --help, the OpenAPI document and a console show. */
export interface ExtensionField {
  name: string
  description: string
  /** The request fails without it (requests only). */
  required?: boolean
  example?: string
}

/** The plugin's `extension` fields, per request and answer of the two client calls. */
export interface ExtensionFields {
  /** POST /v1/order request. */
  order: readonly ExtensionField[]
  /** POST /v1/order answer. */
  orderAnswer: readonly ExtensionField[]
  /** POST /v1/order/secret request. */
  secret: readonly ExtensionField[]
  /** POST /v1/order/secret answer. */
  secretAnswer: readonly ExtensionField[]
}

export interface Plugin {
  readonly name: string
  readonly vendor: string
  /** One line on what an order of this plugin is. */
  readonly description: string
  /** The extension fields it takes and answers (the one description every surface shows). */
  readonly extensionFields: ExtensionFields
  /** Principal: validate the request extension and prepare part 1. */
  prepareOrder (ctx: PluginContext, input: { reference: string, extension: Extension, beneficiary?: IdentityInfo }, options?: AbortOptions): Promise<PreparedOrder>
  /** Fiduciary: refuse a part 1 this plugin cannot serve. */
  checkOrder (ctx: PluginContext, order: OrderView, options?: AbortOptions): Promise<void>
  /** Principal: turn the fiduciary's commitment key into the answer to the client. */
  completeOrder (ctx: PluginContext, input: { order: OrderView, requestExtension: Extension, beneficiary?: IdentityInfo }, options?: AbortOptions): Promise<OrderResult>
  /**
   * Principal: validate the redemption request and prepare part 3. `beneficiary` is the identity
   * part 4 will be released to when it is not the principal: the beneficiary named at order time,
   * or the one named now (`order.beneficiaryCID` tells which).
   */
  prepareRedemption (ctx: PluginContext, input: { order: OrderView, extension: Extension, beneficiary?: IdentityInfo }, options?: AbortOptions): Promise<PreparedRedemption>
  /** Fiduciary: the plugin's beneficiary rules for a part 3. */
  checkRedemption (ctx: PluginContext, input: { order: OrderView }, options?: AbortOptions): Promise<void>
  /** Recipient: turn the released seed into the final secret. */
  completeRedemption (ctx: PluginContext, input: { order: OrderView, requestExtension: Extension, keys: RedemptionKeys }, options?: AbortOptions): Promise<RedemptionResult>
}
