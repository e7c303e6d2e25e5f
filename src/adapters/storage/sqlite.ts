/**
 * The embedded state repository: SQLite through Node's built-in `node:sqlite` (`DatabaseSync`).
 *
 * Settings, and why:
 * - WAL journal: readers never block the writer, and a commit is one append to the WAL;
 * - every commit is fsynced before its method returns, so a sealed seed whose commitment was
 *   handed out survives a crash or power loss right after (PROTOCOL §6) — as `synchronous = FULL`
 *   would, but as a group commit off the event loop (`WalSync` below): SQLite runs with
 *   `synchronous = NORMAL` (its checkpoints still sync the WAL before and the database after),
 *   and this adapter fsyncs the WAL file on the thread pool before it resolves a method that
 *   committed — one fsync for all the commits made meanwhile. Measured (bench/run.ts), FULL's
 *   fsync inside COMMIT blocked the event loop 3–4 ms per commit under load, 7 commits per order
 *   cycle across the two servers. No method resolves while a commit it may have read is not yet
 *   durable, so nothing is acted on earlier than with FULL;
 * - foreign keys on, and the schema's CHECKs (sqlite-migrations.ts), so a fiduciary order row
 *   cannot exist without its seed whatever the code does;
 * - a busy timeout, so a second process (a CLI command) waits briefly instead of failing;
 * - every write transaction is `BEGIN IMMEDIATE`, taking the write lock up front, so two writers
 *   never deadlock on a lock upgrade;
 * - prepared statements are cached per SQL text;
 * - the database file is created 0600 (SQLite gives its -wal and -shm files the same mode).
 *
 * `DatabaseSync` answers synchronously, so each method body runs to completion without yielding:
 * the port's async methods are atomic with respect to each other in this process as well.
 * @module
 */
import { DatabaseSync } from 'node:sqlite'
import type { StatementSync } from 'node:sqlite'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { SORT_BY_VALUES } from '../../ports/common.ts'
import type { AbortOptions, Extension } from '../../ports/common.ts'
import { abortError, DtaError, isDtaError } from '../../errors.ts'
import { SEALED_KEY_ID_BYTES, SEALED_MIN_BYTES, SEALED_VERSION, sealedRecordKeyId } from '../../core/sealed-record.ts'
import { AUDIT_OPS, identitySeedRecordId, MAX_PER_PAGE, orderSeedRecordId, pluginSealRecordId } from '../../ports/state.ts'
import type {
  AuditEntry, AuditOp, IdentityRecord, NewAuditEntry, NewFiduciaryOrder, NewIdentity, NewOrder, OrderRecord,
  OrderRole, PageRequest, PluginStore, SealedPluginValue, SealedPluginValueQuery, SealedSeed, SeedQuery,
  StateRepository,
} from '../../ports/state.ts'
import { MIGRATIONS } from './sqlite-migrations.ts'
import type { Migration } from './sqlite-migrations.ts'

export interface SqliteStateOptions {
  /** Database file; created (0600, parent folders 0700) if missing. ':memory:' for a throwaway database. */
  path: string
  /** Milliseconds to wait for another process's write lock. Default 5000. */
  busyTimeoutMs?: number
  /** Clock for createdAt/updatedAt/audit times. Default Date.now. */
  now?: () => number
  /** Tests only: a different migration list. */
  migrations?: readonly Migration[]
}

const MAX_TEXT = 512
const MAX_DETAIL = 1000
const MAX_PLUGIN_KEY = 512
const MAX_PLUGIN_VALUE = 1024 * 1024
const PLUGIN_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/
const ROLES: readonly OrderRole[] = ['principal', 'fiduciary']

type Row = Record<string, unknown>

// ── input checks (STATE_BAD_RECORD names the field, never its value) ─────────────────────────

function badRecord (what: string): DtaError {
  return new DtaError('STATE_BAD_RECORD', what)
}

function text (value: unknown, what: string, max = MAX_TEXT): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw badRecord(`${what} must be 1..${max} characters`)
  return value
}

function optText (value: unknown, what: string): string | null {
  return value === undefined || value === null ? null : text(value, what)
}

function time (value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw badRecord(`${what} must be a non-negative integer (ms)`)
  return value
}

function role (value: unknown): OrderRole {
  if (!ROLES.includes(value as OrderRole)) throw badRecord("role must be 'principal' or 'fiduciary'")
  return value as OrderRole
}

function extension (value: unknown): Record<string, string> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRecord('extension must be a string map')
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw badRecord(`extension.${k} must be a string`)
    out[k] = v
  }
  return out
}

function sealedBytes (value: unknown, what: string): { sealed: Uint8Array, keyId: string } {
  if (!(value instanceof Uint8Array)) throw badRecord(`${what} must be bytes`)
  try {
    return { sealed: value, keyId: sealedRecordKeyId(value) }
  } catch {
    throw badRecord(`${what} is not a sealed custody record`)
  }
}

function pageArgs (page: { page: number, perPage: number, sortBy?: unknown }): { limit: number, offset: number, desc: boolean } {
  const ok = Number.isSafeInteger(page.page) && page.page >= 1 &&
    Number.isSafeInteger(page.perPage) && page.perPage >= 1 && page.perPage <= MAX_PER_PAGE
  if (!ok) throw new DtaError('STATE_BAD_PAGE')
  if (page.sortBy !== undefined && !SORT_BY_VALUES.includes(page.sortBy as never)) {
    throw new DtaError('STATE_BAD_PAGE', `sortBy must be one of ${SORT_BY_VALUES.join(', ')}`)
  }
  return { limit: page.perPage, offset: (page.page - 1) * page.perPage, desc: page.sortBy === 'dateCreatedDesc' }
}

// ── row mapping ──────────────────────────────────────────────────────────────────────────────

const IDENTITY_SELECT = `SELECT i.cid, i.name, i.created_at, i.is_node, s.sealed
  FROM identities i LEFT JOIN sealed_seeds s ON s.record_id = i.seed_record_id`

function toIdentity (row: Row): IdentityRecord {
  return {
    cid: row.cid as string,
    name: row.name as string,
    createdAt: row.created_at as number,
    sealedRootSeed: (row.sealed as Uint8Array | null) ?? null,
    isNodeIdentity: row.is_node === 1
  }
}

const ORDER_COLUMNS = `role, reference, plugin, principal_cid, fiduciary_cid, beneficiary_cid, part1_cid, part2_cid,
  part3_cid, part4_cid, commitment, extension, seed_record_id, created_at, updated_at, released_to`

function toOrder (row: Row): OrderRecord {
  return {
    role: row.role as OrderRole,
    reference: row.reference as string,
    plugin: row.plugin as string,
    principalCid: row.principal_cid as string,
    fiduciaryCid: row.fiduciary_cid as string,
    beneficiaryCid: row.beneficiary_cid as string | null,
    part1Cid: row.part1_cid as string | null,
    part2Cid: row.part2_cid as string | null,
    part3Cid: row.part3_cid as string | null,
    part4Cid: row.part4_cid as string | null,
    commitment: row.commitment as string | null,
    extension: JSON.parse(row.extension as string) as Extension,
    seedRecordId: row.seed_record_id as string | null,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
    releasedTo: row.released_to as string | null
  }
}

function toSeed (row: Row): SealedSeed {
  return {
    recordId: row.record_id as string,
    sealed: row.sealed as Uint8Array,
    keyId: row.key_id as string,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number
  }
}

function toAudit (row: Row): AuditEntry {
  return {
    id: row.id as number,
    at: row.at as number,
    op: row.op as AuditOp,
    reference: row.reference as string | null,
    actor: row.actor as string | null,
    detail: row.detail as string | null
  }
}

// ── group commit ─────────────────────────────────────────────────────────────────────────────

/**
 * Makes commits durable by fsyncing the WAL file on the thread pool, one fsync at a time, each
 * covering every commit made before it started (a group commit). `committed()` numbers a commit;
 * `durable(n)` resolves once commit n is on disk. In WAL mode a commit is durable once the WAL
 * holds it on disk, or once a checkpoint has copied it to the database file — and with
 * `synchronous = NORMAL` SQLite syncs the WAL before every checkpoint and the database after it,
 * so an fsync of the WAL issued after a commit returned makes that commit durable either way.
 * The WAL file stays in place while this connection is open (SQLite removes it only when the last
 * connection closes), so one handle, opened at the first sync, is enough. A failed fsync leaves
 * the durability of recent commits unknown: from then on every method fails (STATE_UNAVAILABLE)
 * until the process restarts and SQLite recovers from what is on disk.
 */
class WalSync {
  readonly #path: string
  #file: FileHandle | undefined
  #written = 0
  #synced = 0
  #syncing: Promise<void> | undefined
  failure: DtaError | undefined

  constructor (walPath: string) { this.#path = walPath }

  committed (): number { return ++this.#written }
  /** The newest commit number: what a reader may have seen. */
  get latest (): number { return this.#written }
  isDurable (n: number): boolean { return this.#synced >= n }

  async durable (n: number): Promise<void> {
    while (this.#synced < n) {
      if (this.failure !== undefined) throw this.failure
      this.#syncing ??= this.#sync()
      await this.#syncing
    }
  }

  async #sync (): Promise<void> {
    const upTo = this.#written
    try {
      this.#file ??= await open(this.#path, 'r')
      await this.#file.sync()
      this.#synced = Math.max(this.#synced, upTo)
    } catch (err) {
      this.failure = new DtaError('STATE_UNAVAILABLE', 'fsync of the write-ahead log failed: restart the node', { cause: err })
    } finally {
      this.#syncing = undefined
    }
  }

  async close (): Promise<void> {
    await this.durable(this.#written).catch(() => {})
    await this.#file?.close()
    this.#file = undefined
  }
}

// ── the repository ───────────────────────────────────────────────────────────────────────────

class SqliteState implements StateRepository {
  #db: DatabaseSync | undefined
  readonly #statements = new Map<string, StatementSync>()
  readonly #now: () => number
  /** Undefined for ':memory:', which has nothing to make durable. */
  readonly #wal: WalSync | undefined
  #changes = 0

  constructor (db: DatabaseSync, now: () => number, walPath: string | undefined) {
    this.#db = db
    this.#now = now
    this.#wal = walPath === undefined ? undefined : new WalSync(walPath)
    this.#changes = this.#totalChanges(db)
  }

  #totalChanges (db: DatabaseSync): number {
    return Number((this.#stmtOn(db, 'SELECT total_changes() AS n').get() as Row).n)
  }

  /**
   * Checks the signal and that the database is open, runs `fn`, and maps SQLite failures to our
   * codes. The result is handed out only once everything `fn` wrote — or may have read — is
   * durable: a method that changed rows waits for its commit's fsync, and one that only read waits
   * for any commit still in flight (usually none, and then it answers at once).
   */
  #run<T> (options: AbortOptions | undefined, fn: (db: DatabaseSync) => T): Promise<T> {
    try {
      if (options?.signal?.aborted === true) throw abortError(options.signal)
      if (this.#db === undefined) throw new DtaError('STATE_UNAVAILABLE', 'the database is closed')
      const wal = this.#wal
      if (wal?.failure !== undefined) throw wal.failure
      let result: T
      try {
        result = fn(this.#db)
      } finally {
        // changes made by a statement that then failed are rolled back; syncing for them is harmless
        if (wal !== undefined) {
          const changes = this.#totalChanges(this.#db)
          if (changes !== this.#changes) { this.#changes = changes; wal.committed() }
        }
      }
      if (wal === undefined || wal.isDurable(wal.latest)) return Promise.resolve(result)
      return wal.durable(wal.latest).then(() => result)
    } catch (err) {
      return Promise.reject(isDtaError(err) ? err : sqliteFailure(err))
    }
  }

  #stmt (sql: string): StatementSync {
    if (this.#db === undefined) throw new DtaError('STATE_UNAVAILABLE', 'the database is closed')
    return this.#stmtOn(this.#db, sql)
  }

  #stmtOn (db: DatabaseSync, sql: string): StatementSync {
    let s = this.#statements.get(sql)
    if (s === undefined) {
      s = db.prepare(sql)
      this.#statements.set(sql, s)
    }
    return s
  }

  /** One write transaction; rolled back if `fn` throws. */
  #tx<T> (db: DatabaseSync, fn: () => T): T {
    db.exec('BEGIN IMMEDIATE')
    try {
      const result = fn()
      db.exec('COMMIT')
      return result
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK')
      throw err
    }
  }

  #audit (op: AuditOp, reference: string | null, actor: string | null, detail: string | null): AuditEntry {
    const at = this.#now()
    const r = this.#stmt('INSERT INTO audit (at, op, reference, actor, detail) VALUES (?, ?, ?, ?, ?)')
      .run(at, op, reference, actor, detail)
    return { id: Number(r.lastInsertRowid), at, op, reference, actor, detail }
  }

  #insertSeed (recordId: string, sealed: { sealed: Uint8Array, keyId: string }, actor: string): void {
    if (this.#stmt('SELECT 1 AS x FROM sealed_seeds WHERE record_id = ?').get(recordId) !== undefined) {
      throw new DtaError('STATE_SEED_EXISTS', recordId)
    }
    const now = this.#now()
    this.#stmt('INSERT INTO sealed_seeds (record_id, sealed, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
      .run(recordId, sealed.sealed, sealed.keyId, now, now)
    this.#audit('seed.created', recordId, actor, null)
  }

  #getOrder (r: OrderRole, reference: string): OrderRecord | undefined {
    const row = this.#stmt(`SELECT ${ORDER_COLUMNS} FROM orders WHERE role = ? AND reference = ?`).get(r, reference)
    return row === undefined ? undefined : toOrder(row as Row)
  }

  #mustGetOrder (r: OrderRole, reference: string): OrderRecord {
    const order = this.#getOrder(r, reference)
    if (order === undefined) throw new DtaError('STATE_ORDER_NOT_FOUND', `${r} ${reference}`)
    return order
  }

  #getIdentity (cid: string): IdentityRecord | undefined {
    const row = this.#stmt(`${IDENTITY_SELECT} WHERE i.cid = ?`).get(cid)
    return row === undefined ? undefined : toIdentity(row as Row)
  }

  // ── identities ─────────────────────────────────────────────────────────────────────────────

  async insertIdentity (identity: NewIdentity, options?: AbortOptions): Promise<IdentityRecord> {
    return await this.#run(options, db => {
      const cid = text(identity.cid, 'cid')
      const name = identity.name
      if (typeof name !== 'string' || name.length > MAX_TEXT) throw badRecord(`name must be a string of at most ${MAX_TEXT} characters`)
      const createdAt = time(identity.createdAt, 'createdAt')
      const isNode = identity.isNodeIdentity === true
      const seed = identity.sealedRootSeed === null ? null : sealedBytes(identity.sealedRootSeed, 'sealedRootSeed')
      if (isNode && seed === null) throw badRecord('the node identity needs a sealed root seed')
      return this.#tx(db, () => {
        const existing = this.#getIdentity(cid)
        if (existing !== undefined) {
          if (seed === null && existing.sealedRootSeed === null && !isNode) return existing
          throw new DtaError('STATE_IDENTITY_EXISTS', cid)
        }
        if (isNode && this.#stmt('SELECT 1 AS x FROM identities WHERE is_node = 1').get() !== undefined) {
          throw new DtaError('STATE_NODE_IDENTITY_EXISTS')
        }
        let recordId: string | null = null
        if (seed !== null) {
          recordId = identitySeedRecordId(cid)
          this.#insertSeed(recordId, seed, cid)
        }
        this.#stmt('INSERT INTO identities (cid, name, created_at, seed_record_id, is_node) VALUES (?, ?, ?, ?, ?)')
          .run(cid, name, createdAt, recordId, isNode ? 1 : 0)
        return { cid, name, createdAt, sealedRootSeed: seed?.sealed ?? null, isNodeIdentity: isNode }
      })
    })
  }

  async getIdentity (cid: string, options?: AbortOptions): Promise<IdentityRecord | undefined> {
    return await this.#run(options, () => this.#getIdentity(cid))
  }

  async getNodeIdentity (options?: AbortOptions): Promise<IdentityRecord | undefined> {
    return await this.#run(options, () => {
      const row = this.#stmt(`${IDENTITY_SELECT} WHERE i.is_node = 1`).get()
      return row === undefined ? undefined : toIdentity(row as Row)
    })
  }

  async listIdentities (page: PageRequest & { includeForeign?: boolean }, options?: AbortOptions): Promise<IdentityRecord[]> {
    return await this.#run(options, () => {
      const { limit, offset, desc } = pageArgs(page)
      const where = page.includeForeign === true ? '' : 'WHERE i.seed_record_id IS NOT NULL'
      const order = desc ? 'i.created_at DESC, i.seq DESC' : 'i.created_at ASC, i.seq ASC'
      return this.#stmt(`${IDENTITY_SELECT} ${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
        .all(limit, offset).map(row => toIdentity(row as Row))
    })
  }

  async countIdentities (filter?: { includeForeign?: boolean }, options?: AbortOptions): Promise<number> {
    return await this.#run(options, () => {
      const where = filter?.includeForeign === true ? '' : 'WHERE seed_record_id IS NOT NULL'
      return (this.#stmt(`SELECT count(*) AS n FROM identities ${where}`).get() as Row).n as number
    })
  }

  // ── orders ─────────────────────────────────────────────────────────────────────────────────

  #insertOrder (o: NewOrder, seedRecordId: string | null): OrderRecord {
    const now = this.#now()
    const createdAt = o.createdAt === undefined ? now : time(o.createdAt, 'createdAt')
    const record: OrderRecord = {
      role: role(o.role),
      reference: text(o.reference, 'reference'),
      plugin: text(o.plugin, 'plugin'),
      principalCid: text(o.principalCid, 'principalCid'),
      fiduciaryCid: text(o.fiduciaryCid, 'fiduciaryCid'),
      beneficiaryCid: optText(o.beneficiaryCid, 'beneficiaryCid'),
      part1Cid: optText(o.part1Cid, 'part1Cid'),
      part2Cid: optText(o.part2Cid, 'part2Cid'),
      part3Cid: null,
      part4Cid: null,
      commitment: optText(o.commitment, 'commitment'),
      extension: extension(o.extension),
      seedRecordId,
      createdAt,
      updatedAt: now,
      releasedTo: null
    }
    this.#stmt(`INSERT INTO orders (${ORDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      record.role, record.reference, record.plugin, record.principalCid, record.fiduciaryCid, record.beneficiaryCid,
      record.part1Cid, record.part2Cid, null, null, record.commitment, JSON.stringify(record.extension),
      seedRecordId, record.createdAt, record.updatedAt, null)
    return record
  }

  async createOrder (order: NewOrder, options?: AbortOptions): Promise<OrderRecord> {
    return await this.#run(options, db => {
      const r = role(order.role)
      const reference = text(order.reference, 'reference')
      const principalCid = text(order.principalCid, 'principalCid')
      const seed = order.sealedSeed === undefined ? null : sealedBytes(order.sealedSeed, 'sealedSeed')
      if (r === 'fiduciary' && seed === null) throw badRecord('a fiduciary order needs its sealed seed')
      return this.#tx(db, () => {
        if (this.#getOrder(r, reference) !== undefined) throw new DtaError('STATE_ORDER_EXISTS', `${r} ${reference}`)
        let recordId: string | null = null
        if (seed !== null) {
          recordId = orderSeedRecordId(r, reference)
          this.#insertSeed(recordId, seed, principalCid)
        }
        return this.#insertOrder(order, recordId)
      })
    })
  }

  async createFiduciaryOrder (order: NewFiduciaryOrder, options?: AbortOptions): Promise<{ order: OrderRecord, created: boolean }> {
    return await this.#run(options, db => {
      const reference = text(order.reference, 'reference')
      const part1Cid = text(order.part1Cid, 'part1Cid')
      const principalCid = text(order.principalCid, 'principalCid')
      const seed = sealedBytes(order.sealedSeed, 'sealedSeed')
      return this.#tx(db, () => {
        const existing = this.#getOrder('fiduciary', reference)
        if (existing !== undefined) {
          if (existing.part1Cid === part1Cid) return { order: existing, created: false }
          throw new DtaError('STATE_ORDER_CONFLICT', reference)
        }
        const recordId = orderSeedRecordId('fiduciary', reference)
        this.#insertSeed(recordId, seed, principalCid)
        return { order: this.#insertOrder({ ...order, role: 'fiduciary' }, recordId), created: true }
      })
    })
  }

  async getOrder (r: OrderRole, reference: string, options?: AbortOptions): Promise<OrderRecord | undefined> {
    return await this.#run(options, () => this.#getOrder(role(r), reference))
  }

  #update (r: OrderRole, reference: string, set: Partial<Record<'part2_cid' | 'commitment' | 'beneficiary_cid' | 'part3_cid' | 'part4_cid' | 'extension' | 'released_to', string | null>>): void {
    const columns = Object.keys(set).sort()
    const sql = `UPDATE orders SET ${columns.map(c => `${c} = ?`).join(', ')}, updated_at = ? WHERE role = ? AND reference = ?`
    this.#stmt(sql).run(...columns.map(c => set[c as keyof typeof set] ?? null), this.#now(), r, reference)
  }

  #mergedExtension (order: OrderRecord, ext: Extension | undefined): string | undefined {
    return ext === undefined ? undefined : JSON.stringify({ ...order.extension, ...extension(ext) })
  }

  async setOrderPart2 (r: OrderRole, reference: string, part: { part2Cid: string, commitment: string, extension?: Extension }, options?: AbortOptions): Promise<OrderRecord> {
    return await this.#run(options, db => {
      role(r)
      const part2Cid = text(part.part2Cid, 'part2Cid')
      const commitment = text(part.commitment, 'commitment', 4096)
      return this.#tx(db, () => {
        const order = this.#mustGetOrder(r, reference)
        if (order.part2Cid !== null) {
          if (order.part2Cid === part2Cid && order.commitment === commitment) return order
          throw new DtaError('STATE_ORDER_CONFLICT', `${r} ${reference}: part 2 is already recorded`)
        }
        const ext = this.#mergedExtension(order, part.extension)
        this.#update(r, reference, { part2_cid: part2Cid, commitment, ...(ext === undefined ? {} : { extension: ext }) })
        return this.#mustGetOrder(r, reference)
      })
    })
  }

  async setOrderPart3 (r: OrderRole, reference: string, part: { part3Cid: string, beneficiaryCid?: string | null, extension?: Extension }, options?: AbortOptions): Promise<OrderRecord> {
    return await this.#run(options, db => {
      role(r)
      const part3Cid = text(part.part3Cid, 'part3Cid')
      const beneficiaryCid = optText(part.beneficiaryCid, 'beneficiaryCid')
      return this.#tx(db, () => {
        const order = this.#mustGetOrder(r, reference)
        if (order.part2Cid === null) throw new DtaError('STATE_ORDER_PART_MISSING', `${r} ${reference}: no part 2`)
        const ext = this.#mergedExtension(order, part.extension)
        this.#update(r, reference, {
          part3_cid: part3Cid,
          ...(order.part3Cid !== part3Cid ? { part4_cid: null } : {}),
          ...(beneficiaryCid !== null ? { beneficiary_cid: beneficiaryCid } : {}),
          ...(ext === undefined ? {} : { extension: ext })
        })
        return this.#mustGetOrder(r, reference)
      })
    })
  }

  async claimRelease (reference: string, claim: { part3Cid: string, beneficiaryCid?: string | null, releasedTo: string }, options?: AbortOptions): Promise<OrderRecord> {
    return await this.#run(options, db => {
      const part3Cid = text(claim.part3Cid, 'part3Cid')
      const beneficiaryCid = optText(claim.beneficiaryCid, 'beneficiaryCid')
      const releasedTo = text(claim.releasedTo, 'releasedTo')
      return this.#tx(db, () => {
        const order = this.#mustGetOrder('fiduciary', reference)
        if (order.part2Cid === null) throw new DtaError('STATE_ORDER_PART_MISSING', `fiduciary ${reference}: no part 2`)
        // The decision is this conditional UPDATE: it changes the row only if no other recipient holds it.
        const sql = `UPDATE orders SET part3_cid = ?, part4_cid = CASE WHEN part3_cid IS ? THEN part4_cid ELSE NULL END,
          beneficiary_cid = coalesce(?, beneficiary_cid), released_to = ?, updated_at = ?
          WHERE role = 'fiduciary' AND reference = ? AND (released_to IS NULL OR released_to = ?)`
        const { changes } = this.#stmt(sql).run(part3Cid, part3Cid, beneficiaryCid, releasedTo, this.#now(), reference, releasedTo)
        if (changes === 0) throw new DtaError('STATE_RELEASE_CONFLICT', reference)
        return this.#mustGetOrder('fiduciary', reference)
      })
    })
  }

  async setOrderPart4 (r: OrderRole, reference: string, part: { part4Cid: string, releasedTo?: string, extension?: Extension }, options?: AbortOptions): Promise<OrderRecord> {
    return await this.#run(options, db => {
      role(r)
      const part4Cid = text(part.part4Cid, 'part4Cid')
      const releasedTo = optText(part.releasedTo, 'releasedTo')
      return this.#tx(db, () => {
        const order = this.#mustGetOrder(r, reference)
        if (order.part3Cid === null) throw new DtaError('STATE_ORDER_PART_MISSING', `${r} ${reference}: no part 3`)
        if (r === 'fiduciary' && (releasedTo === null || order.releasedTo !== releasedTo)) {
          throw new DtaError('STATE_RELEASE_CONFLICT', `${reference}: part 4 for a recipient the release was not claimed for`)
        }
        const ext = this.#mergedExtension(order, part.extension)
        this.#update(r, reference, { part4_cid: part4Cid, ...(ext === undefined ? {} : { extension: ext }) })
        if (r === 'fiduciary' && order.part4Cid !== part4Cid) {
          this.#audit('seed.released', order.seedRecordId, releasedTo, `part4 ${part4Cid}`)
        }
        return this.#mustGetOrder(r, reference)
      })
    })
  }

  async listOrders (r: OrderRole, page: PageRequest, options?: AbortOptions): Promise<OrderRecord[]> {
    return await this.#run(options, () => {
      role(r)
      const { limit, offset, desc } = pageArgs(page)
      const order = desc ? 'created_at DESC, seq DESC' : 'created_at ASC, seq ASC'
      return this.#stmt(`SELECT ${ORDER_COLUMNS} FROM orders WHERE role = ? ORDER BY ${order} LIMIT ? OFFSET ?`)
        .all(r, limit, offset).map(row => toOrder(row as Row))
    })
  }

  async countOrders (r: OrderRole, options?: AbortOptions): Promise<number> {
    return await this.#run(options, () => {
      role(r)
      return (this.#stmt('SELECT count(*) AS n FROM orders WHERE role = ?').get(r) as Row).n as number
    })
  }

  // ── sealed seeds ───────────────────────────────────────────────────────────────────────────

  async getSeed (recordId: string, options?: AbortOptions): Promise<SealedSeed | undefined> {
    return await this.#run(options, () => {
      const row = this.#stmt('SELECT record_id, sealed, key_id, created_at, updated_at FROM sealed_seeds WHERE record_id = ?').get(recordId)
      return row === undefined ? undefined : toSeed(row as Row)
    })
  }

  async resealSeed (recordId: string, newSealed: Uint8Array, expectedOldKeyId?: string, options?: AbortOptions): Promise<SealedSeed> {
    return await this.#run(options, db => {
      const next = sealedBytes(newSealed, 'newSealed')
      return this.#tx(db, () => {
        const row = this.#stmt('SELECT record_id, sealed, key_id, created_at, updated_at FROM sealed_seeds WHERE record_id = ?').get(recordId)
        if (row === undefined) throw new DtaError('STATE_SEED_NOT_FOUND', recordId)
        const old = toSeed(row as Row)
        if (expectedOldKeyId !== undefined && old.keyId !== expectedOldKeyId) {
          throw new DtaError('STATE_SEED_KEY_MISMATCH', `${recordId} is under key ${old.keyId}`)
        }
        const now = this.#now()
        this.#stmt('UPDATE sealed_seeds SET sealed = ?, key_id = ?, updated_at = ? WHERE record_id = ?')
          .run(next.sealed, next.keyId, now, recordId)
        this.#audit('seed.resealed', recordId, null, `key ${old.keyId} -> ${next.keyId}`)
        return { recordId, sealed: next.sealed, keyId: next.keyId, createdAt: old.createdAt, updatedAt: now }
      })
    })
  }

  async listSeeds (query: SeedQuery, options?: AbortOptions): Promise<SealedSeed[]> {
    return await this.#run(options, () => {
      const { limit } = pageArgs({ page: 1, perPage: query.limit })
      const after = query.after ?? ''
      if (typeof after !== 'string') throw badRecord('after must be a record id')
      const rows = query.excludeKeyId === undefined
        ? this.#stmt(`SELECT record_id, sealed, key_id, created_at, updated_at FROM sealed_seeds
            WHERE record_id > ? ORDER BY record_id LIMIT ?`).all(after, limit)
        : this.#stmt(`SELECT record_id, sealed, key_id, created_at, updated_at FROM sealed_seeds
            WHERE record_id > ? AND key_id <> ? ORDER BY record_id LIMIT ?`).all(after, query.excludeKeyId, limit)
      return rows.map(row => toSeed(row as Row))
    })
  }

  // ── sealed values in plugin stores (custody migration) ─────────────────────────────────────

  async listSealedPluginValues (query: SealedPluginValueQuery, options?: AbortOptions): Promise<SealedPluginValue[]> {
    return await this.#run(options, () => {
      const { limit } = pageArgs({ page: 1, perPage: query.limit })
      const after = query.after ?? { plugin: '', key: '' }
      if (typeof after.plugin !== 'string' || typeof after.key !== 'string') throw badRecord('after must be a plugin and a key')
      const exclude = query.excludeKeyId === undefined ? null : String(query.excludeKeyId).toLowerCase()
      // Values shaped like a sealed record: bytes, version 1, at least header + tag long.
      const rows = this.#stmt(`SELECT plugin, key, value FROM plugin_kv
          WHERE typeof(value) = 'blob' AND length(value) >= ? AND substr(value, 1, 1) = x'01'
            AND (plugin, key) > (?, ?) AND (? IS NULL OR lower(hex(substr(value, 2, ?))) <> ?)
          ORDER BY plugin, key LIMIT ?`)
        .all(SEALED_MIN_BYTES, after.plugin, after.key, exclude, SEALED_KEY_ID_BYTES, exclude, limit)
      return rows.map(row => {
        const r = row as Row
        const sealed = r.value as Uint8Array
        return { plugin: r.plugin as string, key: r.key as string, sealed, keyId: sealedRecordKeyId(sealed) }
      })
    })
  }

  async resealPluginValue (plugin: string, key: string, newSealed: Uint8Array, expectedOldKeyId: string, options?: AbortOptions): Promise<void> {
    await this.#run(options, db => {
      const next = sealedBytes(newSealed, 'newSealed')
      this.#tx(db, () => {
        const row = this.#stmt('SELECT value FROM plugin_kv WHERE plugin = ? AND key = ?').get(plugin, key) as Row | undefined
        const recordId = pluginSealRecordId(plugin, key)
        if (row === undefined) throw new DtaError('STATE_SEED_NOT_FOUND', recordId)
        const old = row.value
        let oldKeyId: string | undefined
        if (old instanceof Uint8Array && old[0] === SEALED_VERSION) {
          try { oldKeyId = sealedRecordKeyId(old) } catch { oldKeyId = undefined }
        }
        if (oldKeyId !== expectedOldKeyId) {
          throw new DtaError('STATE_SEED_KEY_MISMATCH', `${recordId} is ${oldKeyId === undefined ? 'not a sealed record' : `under key ${oldKeyId}`}`)
        }
        this.#stmt('UPDATE plugin_kv SET value = ? WHERE plugin = ? AND key = ?').run(next.sealed, plugin, key)
        this.#audit('seed.resealed', recordId, null, `key ${oldKeyId} -> ${next.keyId}`)
      })
    })
  }

  // ── plugin storage ─────────────────────────────────────────────────────────────────────────

  pluginStore (plugin: string): PluginStore {
    if (typeof plugin !== 'string' || !PLUGIN_NAME.test(plugin)) throw badRecord('plugin name must be 1..64 characters of [a-z0-9_-]')
    const key = (k: unknown): string => text(k, 'plugin store key', MAX_PLUGIN_KEY)
    return {
      plugin,
      get: async (k, options) => await this.#run(options, () => {
        const row = this.#stmt('SELECT value FROM plugin_kv WHERE plugin = ? AND key = ?').get(plugin, key(k)) as Row | undefined
        return row === undefined ? undefined : row.value as Uint8Array | string
      }),
      put: async (k, value, options) => { await this.#run(options, () => {
        const size = typeof value === 'string' ? Buffer.byteLength(value) : value instanceof Uint8Array ? value.length : -1
        if (size < 0) throw badRecord('plugin store value must be bytes or a string')
        if (size > MAX_PLUGIN_VALUE) throw badRecord(`plugin store value must be at most ${MAX_PLUGIN_VALUE} bytes`)
        this.#stmt('INSERT INTO plugin_kv (plugin, key, value) VALUES (?, ?, ?) ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value')
          .run(plugin, key(k), value)
      }) },
      delete: async (k, options) => await this.#run(options, () =>
        this.#stmt('DELETE FROM plugin_kv WHERE plugin = ? AND key = ?').run(plugin, key(k)).changes > 0)
    }
  }

  // ── audit ──────────────────────────────────────────────────────────────────────────────────

  async appendAudit (entry: NewAuditEntry, options?: AbortOptions): Promise<AuditEntry> {
    return await this.#run(options, () => {
      if (!AUDIT_OPS.includes(entry.op)) throw badRecord(`audit op must be one of ${AUDIT_OPS.join(', ')}`)
      return this.#audit(entry.op, optText(entry.reference, 'reference'), optText(entry.actor, 'actor'),
        entry.detail === undefined ? null : text(entry.detail, 'detail', MAX_DETAIL))
    })
  }

  async listAudit (page: { page: number, perPage: number }, options?: AbortOptions): Promise<AuditEntry[]> {
    return await this.#run(options, () => {
      const { limit, offset } = pageArgs(page)
      return this.#stmt('SELECT id, at, op, reference, actor, detail FROM audit ORDER BY id ASC LIMIT ? OFFSET ?')
        .all(limit, offset).map(row => toAudit(row as Row))
    })
  }

  async close (): Promise<void> {
    const db = this.#db
    this.#db = undefined
    if (db === undefined) return
    await this.#wal?.close()
    this.#statements.clear()
    try {
      db.exec('PRAGMA optimize')
    } finally {
      db.close()
    }
  }
}

function sqliteFailure (err: unknown): DtaError {
  const e = err as { errstr?: unknown, message?: unknown }
  const what = typeof e?.errstr === 'string' ? e.errstr : typeof e?.message === 'string' ? e.message : 'unknown error'
  return new DtaError('STATE_UNAVAILABLE', `sqlite: ${what}`, { cause: err })
}

/** Applies the migrations `db` lacks, in order, in one transaction. */
function migrate (db: DatabaseSync, migrations: readonly Migration[], now: number): void {
  db.exec('BEGIN IMMEDIATE')
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT')
    const applied = new Set(db.prepare('SELECT version FROM schema_migrations').all().map(r => (r as Row).version as number))
    const known = new Set(migrations.map(m => m.version))
    const unknown = [...applied].filter(v => !known.has(v))
    if (unknown.length > 0) throw new DtaError('STATE_SCHEMA_TOO_NEW', `unknown schema version ${Math.max(...unknown)}`)
    const insert = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue
      db.exec(m.sql)
      insert.run(m.version, m.name, now)
    }
    db.exec('COMMIT')
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK')
    throw err
  }
}

/** Opens (creating if needed) the SQLite state database at `options.path` and brings its schema up to date. */
export async function openSqliteState (options: SqliteStateOptions): Promise<StateRepository> {
  const now = options.now ?? Date.now
  let db: DatabaseSync | undefined
  try {
    if (options.path !== ':memory:') {
      mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 })
      closeSync(openSync(options.path, 'a', 0o600)) // create 0600 before SQLite does (it copies the mode to -wal/-shm)
    }
    db = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs ?? 5000, enableForeignKeyConstraints: true })
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = FULL')
    db.exec('PRAGMA foreign_keys = ON')
    db.exec('PRAGMA trusted_schema = OFF')
    migrate(db, options.migrations ?? MIGRATIONS, now())
    if (options.path === ':memory:') return new SqliteState(db, now, undefined)
    // From here on commits are made durable by the adapter's group commit (WalSync), not by SQLite.
    db.exec('PRAGMA synchronous = NORMAL')
    return new SqliteState(db, now, `${options.path}-wal`)
  } catch (err) {
    db?.close()
    throw isDtaError(err) ? err : sqliteFailure(err)
  }
}
