/**
 * The state repository port: everything a D-TA server remembers besides its documents (which live
 * in the document store) — identities, orders by role, sealed seeds, per-plugin storage and an
 * append-only audit trail (PROTOCOL §6, §9). Adapters: embedded SQLite (src/adapters/storage/
 * sqlite/) and, later, PostgreSQL; both pass test/conformance/state.ts, and share the checks of
 * what crosses this port (src/adapters/storage/validate.ts).
 *
 * Why the methods are async although SQLite answers synchronously: a PostgreSQL adapter cannot
 * answer synchronously, and services should not change when it arrives. Each method is atomic:
 * it either happens completely or not at all. Methods take `{ signal }` like every I/O call; an
 * adapter checks it before it starts (a started transaction is never abandoned half way).
 *
 * Secrets never reach this port in plaintext: seeds arrive already sealed by custody
 * (src/ports/custody.ts) under the record id given by `identitySeedRecordId` / `orderSeedRecordId`,
 * and the repository stores them under exactly that id. Order extensions and audit details hold
 * public values only.
 *
 * Durability: a method that stores a sealed seed returns only after the seed and its order or
 * identity row are committed durably together, in one transaction — the fiduciary relies on this
 * to never return a commitment whose seed could be lost (PROTOCOL §6). The repository writes the
 * custody audit entries itself inside those transactions: `seed.created` (new seed),
 * `seed.released` (part 4 recorded on a fiduciary order) and `seed.resealed`. Services append the
 * others (refusals, identity creation) with `appendAudit`. In `seed.*` entries `reference` is the
 * custody record id and `actor` the principal's or the identity's CID.
 *
 * Where an update takes an `extension`, it is merged into the stored map (new keys win).
 * @module
 */
import type { AbortOptions, Extension, SortBy } from './common.ts'
import type { LogStorage } from './log.ts'


// ── pagination ──────────────────────────────────────────────────────────────────────────────────

export const MAX_PER_PAGE = 100

/** `page` ≥ 1, `perPage` 1..100 (else STATE_BAD_PAGE); `sortBy` defaults to dateCreatedAsc. Ties keep insertion order. */
export interface PageRequest {
  page: number
  perPage: number
  sortBy?: SortBy
}

/**
 * The columns an order list sorts by (the console's Orders table), in byte order of the text
 * (SQLite's BINARY, PostgreSQL's "C" collation — the same on both backends):
 * - `reference`; `created` (createdAt, ties in insertion order, as `sortBy`); `plugin`;
 * - `beneficiary`: the beneficiary's CID, rows without one first;
 * - `state`: `ordered` (no part 4) < `redeemed` (part 4 recorded and its entitled recipient — the
 *   beneficiary, else the principal — is an identity this repository holds the seed of) <
 *   `released` (part 4 recorded for anyone else), which is also their alphabetical order.
 * Ties (all but `reference` and `created`) are broken by reference, so the order is total and
 * paging stable; `desc` is exactly the reverse of `asc`, ties included.
 */
export type OrderSortKey = 'reference' | 'created' | 'plugin' | 'beneficiary' | 'state'
export const ORDER_SORT_KEYS: readonly OrderSortKey[] = ['reference', 'created', 'plugin', 'beneficiary', 'state']
export type SortDirection = 'asc' | 'desc'
export const SORT_DIRECTIONS: readonly SortDirection[] = ['asc', 'desc']

/** Which orders of a role a list or a count covers: all, or those with `cid` as a part CID or as beneficiary. */
export interface OrderFilter {
  /** The CID of one of an order's parts 1..4, or of its beneficiary (1..512 characters, else STATE_BAD_RECORD). */
  cid?: string
}

/**
 * A page of orders: with `orderBy`, sorted by that column (unknown key or direction:
 * STATE_BAD_PAGE) and `sortBy` ignored; without, by creation time as `sortBy` says.
 */
export interface OrderPageRequest extends PageRequest, OrderFilter {
  orderBy?: { key: OrderSortKey, direction: SortDirection }
}

// ── record ids for sealed seeds ─────────────────────────────────────────────────────────────────

/** The custody record id of an identity's root seed. */
export function identitySeedRecordId (cid: string): string {
  return `identity/${cid}`
}

/** The custody record id of an order's seed on one side (the fiduciary's seed, or a principal's share). */
export function orderSeedRecordId (role: OrderRole, reference: string): string {
  return `order/${role}/${reference}`
}

/**
 * The custody record id under which a plugin seals a value (src/services/context.ts scopes a
 * plugin's seal id this way). Custody migration re-seals a sealed value found in a plugin store
 * under `pluginSealRecordId(plugin, key)` — i.e. it assumes the value was sealed with the same id
 * it is stored under, as bitcoinwallet does — and verifies that by opening it first.
 */
export function pluginSealRecordId (plugin: string, id: string): string {
  return `plugin/${plugin}/${id}`
}

// ── identities ──────────────────────────────────────────────────────────────────────────────────

export interface IdentityRecord {
  readonly cid: string
  readonly name: string
  /** ms since the epoch. */
  readonly createdAt: number
  /** The root seed sealed under `identitySeedRecordId(cid)`; null for a foreign identity we only know. */
  readonly sealedRootSeed: Uint8Array | null
  readonly isNodeIdentity: boolean
}

export interface NewIdentity {
  cid: string
  name: string
  createdAt: number
  /** Sealed under `identitySeedRecordId(cid)`; null for a foreign identity. */
  sealedRootSeed: Uint8Array | null
  /** At most one node identity exists (STATE_NODE_IDENTITY_EXISTS); it must have a seed. */
  isNodeIdentity?: boolean
}

export interface IdentityRepository {
  /**
   * Stores an identity (and its sealed seed, durably, in the same transaction). Repeating a foreign
   * identity (no seed on either side) returns the stored row; any other duplicate CID throws
   * STATE_IDENTITY_EXISTS.
   */
  insertIdentity (identity: NewIdentity, options?: AbortOptions): Promise<IdentityRecord>
  getIdentity (cid: string, options?: AbortOptions): Promise<IdentityRecord | undefined>
  getNodeIdentity (options?: AbortOptions): Promise<IdentityRecord | undefined>
  /** Identities this node holds the seed of, or all (`includeForeign`), paged and sorted by createdAt. */
  listIdentities (page: PageRequest & { includeForeign?: boolean }, options?: AbortOptions): Promise<IdentityRecord[]>
  countIdentities (filter?: { includeForeign?: boolean }, options?: AbortOptions): Promise<number>
}

// ── orders ──────────────────────────────────────────────────────────────────────────────────────

/** Which side of an order a row records; a `multi` node holds both rows for one reference. */
export type OrderRole = 'principal' | 'fiduciary'


export interface OrderRecord {
  readonly role: OrderRole
  readonly reference: string
  readonly plugin: string
  readonly principalCid: string
  readonly fiduciaryCid: string
  readonly beneficiaryCid: string | null
  readonly part1Cid: string | null
  readonly part2Cid: string | null
  readonly part3Cid: string | null
  readonly part4Cid: string | null
  readonly commitment: string | null
  readonly extension: Readonly<Extension>
  /** The custody record id of this row's sealed seed, or null when it has none. */
  readonly seedRecordId: string | null
  readonly createdAt: number
  readonly updatedAt: number
  /**
   * Fiduciary rows: the one identity the seed is (being) released to, set by `claimRelease` and
   * never changed after; null before the first release (and on rows released by schema v1).
   */
  readonly releasedTo: string | null
}

export interface NewOrder {
  role: OrderRole
  reference: string
  plugin: string
  principalCid: string
  fiduciaryCid: string
  beneficiaryCid?: string | null
  part1Cid?: string | null
  part2Cid?: string | null
  commitment?: string | null
  extension?: Readonly<Extension>
  /** Defaults to now. */
  createdAt?: number
  /**
   * A seed sealed under `orderSeedRecordId(role, reference)`, stored with the row in one transaction
   * (e.g. the principal's own share in the bitcoinwallet plugin). Required for role 'fiduciary'.
   */
  sealedSeed?: Uint8Array
}

export interface NewFiduciaryOrder {
  reference: string
  plugin: string
  principalCid: string
  fiduciaryCid: string
  beneficiaryCid?: string | null
  part1Cid: string
  /** Pass these when part 2 is already written, so a repeat of part 1 returns the same part 2. */
  part2Cid?: string | null
  commitment?: string | null
  extension?: Readonly<Extension>
  createdAt?: number
  /** The order seed sealed under `orderSeedRecordId('fiduciary', reference)`. */
  sealedSeed: Uint8Array
}

export interface OrderRepository {
  /** Inserts a new row (and its sealed seed, if any, in the same transaction); STATE_ORDER_EXISTS if (role, reference) is taken. */
  createOrder (order: NewOrder, options?: AbortOptions): Promise<OrderRecord>
  /**
   * The fiduciary's atomic insert (PROTOCOL §6): the order row, its sealed seed and a `seed.created`
   * audit entry in ONE durable transaction. The same part 1 seen again returns the stored row with
   * `created: false` (the new sealed seed is discarded); a different part 1 for a known reference
   * throws STATE_ORDER_CONFLICT.
   */
  createFiduciaryOrder (order: NewFiduciaryOrder, options?: AbortOptions): Promise<{ order: OrderRecord, created: boolean }>
  getOrder (role: OrderRole, reference: string, options?: AbortOptions): Promise<OrderRecord | undefined>
  /**
   * Records part 2 and the commitment. Part 2 is write-once: the same values again are a no-op,
   * different ones throw STATE_ORDER_CONFLICT. STATE_ORDER_NOT_FOUND if there is no such row.
   */
  setOrderPart2 (role: OrderRole, reference: string, part: { part2Cid: string, commitment: string, extension?: Readonly<Extension> }, options?: AbortOptions): Promise<OrderRecord>
  /**
   * Records a redemption request (part 3), and the beneficiary when one is named at redemption.
   * Needs part 2 (STATE_ORDER_PART_MISSING). A different part 3 replaces the old one and clears
   * part 4 (which answered the old part 3); the service decides whether that is allowed.
   */
  setOrderPart3 (role: OrderRole, reference: string, part: { part3Cid: string, beneficiaryCid?: string | null, extension?: Readonly<Extension> }, options?: AbortOptions): Promise<OrderRecord>
  /**
   * The fiduciary's release decision (PROTOCOL §6: atomic release), made by the database write
   * itself: records part 3 (and a beneficiary named at redemption) and `releasedTo` on the
   * fiduciary row, in one conditional update that succeeds only if the order was never released or
   * was released to that same recipient — otherwise ORDER_ALREADY_REDEEMED_ELSEWHERE and nothing changes. So
   * of two concurrent part 3s naming different recipients, exactly one can proceed to part 4. A
   * different part 3 clears part 4 (which answered the old one); the same part 3 keeps it. Needs
   * part 2 (STATE_ORDER_PART_MISSING).
   */
  claimRelease (reference: string, claim: { part3Cid: string, beneficiaryCid?: string | null, releasedTo: string }, options?: AbortOptions): Promise<OrderRecord>
  /**
   * Records the release (part 4). Needs part 3 (STATE_ORDER_PART_MISSING). On a fiduciary row
   * `releasedTo` must be the recipient `claimRelease` recorded (else ORDER_ALREADY_REDEEMED_ELSEWHERE), and
   * `seed.released` (actor = `releasedTo`) is appended in the same transaction. There, part 4 is
   * written once per part 3, the one named by `part3Cid` (required on a fiduciary row): when the
   * row already has a part 4 for that part 3 (a twin request, perhaps on another replica, answered
   * first), nothing changes and the stored row is returned — answer with its `part4Cid`; when the
   * row has moved on to another part 3 (a newer redemption by the same recipient), this part 4 is
   * not recorded (it still answers its own part 3, and `seed.released` is appended).
   */
  setOrderPart4 (role: OrderRole, reference: string, part: { part4Cid: string, part3Cid?: string, releasedTo?: string, extension?: Readonly<Extension> }, options?: AbortOptions): Promise<OrderRecord>
  /**
   * A page of a role's orders (OrderPageRequest), all or those matching `cid` (the console's
   * search by part or beneficiary CID: the beneficiary is indexed; the part CIDs are not, a scan
   * of the role's rows — a node's own orders are few).
   */
  listOrders (role: OrderRole, page: OrderPageRequest, options?: AbortOptions): Promise<OrderRecord[]>
  /** How many orders `listOrders` with the same filter pages through. */
  countOrders (role: OrderRole, filter?: OrderFilter, options?: AbortOptions): Promise<number>
}

// ── sealed seeds ────────────────────────────────────────────────────────────────────────────────

export interface SealedSeed {
  readonly recordId: string
  readonly sealed: Uint8Array
  /** Hex key id read from the sealed record's header. */
  readonly keyId: string
  readonly createdAt: number
  readonly updatedAt: number
}

export interface SeedRepository {
  getSeed (recordId: string, options?: AbortOptions): Promise<SealedSeed | undefined>
  /**
   * Replaces a sealed seed by the same seed sealed under another KEK (custody migration), the only
   * update a seed ever gets. With `expectedOldKeyId`, refuses (STATE_SEED_KEY_MISMATCH) unless the
   * stored record is under that key id. Appends `seed.resealed`. STATE_SEED_NOT_FOUND if absent.
   */
  resealSeed (recordId: string, newSealed: Uint8Array, expectedOldKeyId?: string, options?: AbortOptions): Promise<SealedSeed>
  /**
   * For custody migration: up to `limit` (1..100, else STATE_BAD_PAGE) sealed seeds in record id
   * order (byte order of the UTF-8 id), starting after the record id `after`; with
   * `excludeKeyId`, only those whose key id differs. Keyset paging, so re-sealing the listed
   * records while paging neither skips nor repeats any.
   */
  listSeeds (query: SeedQuery, options?: AbortOptions): Promise<SealedSeed[]>
}

export interface SeedQuery {
  after?: string
  limit: number
  excludeKeyId?: string
}

/** A plugin-store value that holds a sealed custody record (its bytes start with the record header). */
export interface SealedPluginValue {
  readonly plugin: string
  readonly key: string
  readonly sealed: Uint8Array
  /** Hex key id read from the record header. */
  readonly keyId: string
}

export interface SealedPluginValueQuery {
  after?: { plugin: string, key: string }
  limit: number
  excludeKeyId?: string
}

/** Custody migration's view of the plugin stores: the values that are sealed records. */
export interface SealedPluginValues {
  /**
   * Up to `limit` (1..100) plugin-store values that are byte strings shaped like a sealed record
   * (version 1, at least header + tag long), in (plugin, key) order after `after`; with
   * `excludeKeyId`, only those under another key id.
   */
  listSealedPluginValues (query: SealedPluginValueQuery, options?: AbortOptions): Promise<SealedPluginValue[]>
  /**
   * Replaces such a value by the same secret sealed under another KEK. Refuses
   * (STATE_SEED_KEY_MISMATCH) unless the stored value is a sealed record under `expectedOldKeyId`;
   * STATE_SEED_NOT_FOUND if absent. Appends `seed.resealed` with reference
   * `pluginSealRecordId(plugin, key)`.
   */
  resealPluginValue (plugin: string, key: string, newSealed: Uint8Array, expectedOldKeyId: string, options?: AbortOptions): Promise<void>
}

// ── plugin storage ──────────────────────────────────────────────────────────────────────────────

/** A plugin's own key-value space, isolated from every other plugin's ("like a chroot"). */
export interface PluginStore {
  readonly plugin: string
  get (key: string, options?: AbortOptions): Promise<Uint8Array | string | undefined>
  /** Inserts or replaces. Keys are 1..512 characters; values at most 1 MiB. */
  put (key: string, value: Uint8Array | string, options?: AbortOptions): Promise<void>
  /** True if the key existed. */
  delete (key: string, options?: AbortOptions): Promise<boolean>
}

// ── audit trail ─────────────────────────────────────────────────────────────────────────────────

export type AuditOp =
  | 'identity.created'
  | 'order.created'
  | 'order.refused'
  | 'seed.created'
  | 'seed.released'
  | 'seed.resealed'
  | 'release.refused'
  | 'custody.rotated'
  | 'access.denied'

export const AUDIT_OPS: readonly AuditOp[] = [
  'identity.created', 'order.created', 'order.refused', 'seed.created', 'seed.released', 'seed.resealed', 'release.refused', 'custody.rotated', 'access.denied'
]

export interface NewAuditEntry {
  op: AuditOp
  /** An order reference or custody record id. */
  reference?: string
  /** Who acted or asked (an identity CID). */
  actor?: string
  /** Public text only, at most 1000 characters. */
  detail?: string
}

export interface AuditEntry {
  readonly id: number
  readonly at: number
  readonly op: AuditOp
  readonly reference: string | null
  readonly actor: string | null
  readonly detail: string | null
}

/** Append-only: there is no way to change or remove an entry. */
export interface AuditLog {
  appendAudit (entry: NewAuditEntry, options?: AbortOptions): Promise<AuditEntry>
  /** Oldest first (id order); with `op`, only the entries of that operation. */
  listAudit (query: { page: number, perPage: number, op?: AuditOp }, options?: AbortOptions): Promise<AuditEntry[]>
  /** How many entries `listAudit` with the same `op` pages through. */
  countAudit (filter?: { op?: AuditOp }, options?: AbortOptions): Promise<number>
}

// ── the whole repository ────────────────────────────────────────────────────────────────────────

export interface StateRepository extends IdentityRepository, OrderRepository, SeedRepository, SealedPluginValues, AuditLog {
  /** The scoped store of one plugin (name 1..64 chars of [a-z0-9_-]). */
  pluginStore (plugin: string): PluginStore
  /**
   * The transparency log's storage in the same database (src/ports/log.ts: the node's own log and
   * the checkpoints it has seen of others), sharing its durability; undefined on a backend that
   * has none yet (the node then keeps no log, docs/log.md).
   */
  readonly transparency?: LogStorage
  /** Closes the database; safe to call twice; later calls throw STATE_UNAVAILABLE. */
  close (): Promise<void>
}
