/**
 * One open SQLite database as the repositories use it: every port method goes through `run`,
 * which checks the signal and that the database is open, maps SQLite failures to our codes, and
 * resolves only once what the method committed — or may have read — is durable (the group commit,
 * wal-sync.ts).
 *
 * Settings, and why:
 * - every write transaction is `BEGIN IMMEDIATE` (`tx`), taking the write lock up front, so two
 *   writers never deadlock on a lock upgrade;
 * - prepared statements are cached per SQL text (`stmt`).
 *
 * `DatabaseSync` answers synchronously, so each method body runs to completion without yielding:
 * the port's async methods are atomic with respect to each other in this process as well.
 * @module
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import type { AbortOptions } from '../../../ports/common.ts'
import { abortError, DtaError, isDtaError } from '../../../errors.ts'
import type { Row } from './rows.ts'
import { WalSync } from './wal-sync.ts'
import { accounted } from '../../../accounting.ts'

/** Calls `fn(db)`: the synchronous SQLite work of a port method (state, for the bench's accounting). */
const onDatabase = accounted('state', <T>(fn: (db: DatabaseSync) => T, db: DatabaseSync): T => fn(db))

export class SqliteConnection {
  #db: DatabaseSync | undefined
  readonly #statements = new Map<string, StatementSync>()
  /** Clock for createdAt/updatedAt/audit times. */
  readonly now: () => number
  /** Undefined for ':memory:', which has nothing to make durable. */
  readonly #wal: WalSync | undefined
  #changes = 0

  constructor (db: DatabaseSync, now: () => number, walPath: string | undefined) {
    this.#db = db
    this.now = now
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
  run<T> (options: AbortOptions | undefined, fn: (db: DatabaseSync) => T): Promise<T> {
    try {
      if (options?.signal?.aborted === true) throw abortError(options.signal)
      if (this.#db === undefined) throw new DtaError('STATE_UNAVAILABLE', 'the database is closed')
      const wal = this.#wal
      if (wal?.failure !== undefined) throw wal.failure
      let result: T
      try {
        result = onDatabase(fn, this.#db)
      } finally {
        // changes made by a statement that then failed are rolled back; syncing for them is harmless
        if (wal !== undefined) {
          const changes = onDatabase(db => this.#totalChanges(db), this.#db)
          if (changes !== this.#changes) { this.#changes = changes; wal.committed() }
        }
      }
      if (wal === undefined || wal.isDurable(wal.latest)) return Promise.resolve(result)
      return wal.durable(wal.latest).then(() => result)
    } catch (err) {
      return Promise.reject(isDtaError(err) ? err : sqliteFailure(err))
    }
  }

  stmt (sql: string): StatementSync {
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
  tx<T> (db: DatabaseSync, fn: () => T): T {
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

  /** Waits for the last fsync and closes the database; safe to call twice. */
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

/** A SQLite exception as STATE_UNAVAILABLE with SQLite's reason. */
export function sqliteFailure (err: unknown): DtaError {
  const e = err as { errstr?: unknown, message?: unknown }
  const what = typeof e?.errstr === 'string' ? e.errstr : typeof e?.message === 'string' ? e.message : 'unknown error'
  return new DtaError('STATE_UNAVAILABLE', `sqlite: ${what}`, { cause: err })
}
