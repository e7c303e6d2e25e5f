/**
 * One PostgreSQL connection pool as the repositories use it: every port method goes through `run`,
 * which checks the signal and that the pool is open, and maps failures to our codes; write
 * transactions go through `tx`.
 *
 * Settings, and why:
 * - transactions run at READ COMMITTED and take the rows they change with `SELECT … FOR UPDATE`
 *   (or decide in one conditional UPDATE), so two replicas writing one order serialise on its row;
 * - creating a row under a natural key (an order's role and reference, an identity's CID) first
 *   takes a transaction-scoped advisory lock on that key (`lock`), so of two replicas creating it
 *   at once the second waits, then reads the first one's row and answers as for any duplicate;
 * - a transaction that loses an insert race nonetheless (unique violation), a serialisation failure or a
 *   deadlock is retried from the start, a bounded number of times: the retry reads what the winner
 *   committed and answers as the port says (e.g. the same part 1 → the stored row);
 * - every commit is durable when it returns: `synchronous_commit = on` is set for every connection
 *   (open.ts also refuses a server with fsync off), so a sealed seed whose commitment was handed out
 *   survives a crash of either machine (PROTOCOL §6);
 * - statements are prepared by postgres.js (named, per connection) and the queries of one
 *   transaction are pipelined.
 * Messages never carry parameter values (a value may be a sealed seed or plugin data).
 * @module
 */
import type postgres from 'postgres'
import type { AbortOptions } from '../../../ports/common.ts'
import { abortError, DtaError, isDtaError } from '../../../errors.ts'

/** A query function: the pool, or a transaction's connection. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Q = postgres.ISql<any>
export type Row = Record<string, unknown>

/** SQLSTATEs after which a transaction is retried from the start. */
const RETRY = new Set(['23505', '40001', '40P01'])
const ATTEMPTS = 5

export class PgConnection {
  #sql: postgres.Sql | undefined
  /** Clock for createdAt/updatedAt/audit times. */
  readonly now: () => number
  /** Names the database in messages (no password). */
  readonly where: string

  constructor (sql: postgres.Sql, now: () => number, where: string) {
    this.#sql = sql
    this.now = now
    this.where = where
  }

  /** Checks the signal and that the pool is open, runs `fn`, and maps failures to our codes. */
  async run<T> (options: AbortOptions | undefined, fn: (q: Q) => Promise<T>): Promise<T> {
    if (options?.signal?.aborted === true) throw abortError(options.signal)
    const sql = this.#sql
    if (sql === undefined) throw new DtaError('STATE_UNAVAILABLE', 'the database is closed')
    try {
      return await fn(sql as unknown as Q)
    } catch (err) {
      throw isDtaError(err) ? err : postgresFailure(err, this.where)
    }
  }

  /**
   * One write transaction; rolled back if `fn` throws. Retried from the start after a unique
   * violation, a serialisation failure or a deadlock (at most ATTEMPTS times): `fn` must read
   * before it decides, never carry a decision over from a failed attempt.
   */
  async tx<T> (q: Q, fn: (tx: Q) => Promise<T>): Promise<T> {
    const sql = q as unknown as postgres.Sql
    for (let attempt = 1; ; attempt++) {
      try {
        return await sql.begin(async tx => await fn(tx as unknown as Q)) as T
      } catch (err) {
        const code = (err as { code?: unknown }).code
        if (attempt >= ATTEMPTS || isDtaError(err) || typeof code !== 'string' || !RETRY.has(code)) throw err
      }
    }
  }

  /**
   * Inside a transaction: waits until no other transaction holds `key` (until it commits or rolls
   * back). Creating a row under a natural key takes it first, so a twin on another replica reads
   * the winner's committed row instead of racing it insert by insert.
   */
  async lock (tx: Q, key: string): Promise<void> {
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`
  }

  /** Waits for queries in flight (at most 5 s) and closes the pool; safe to call twice. */
  async close (): Promise<void> {
    const sql = this.#sql
    this.#sql = undefined
    await sql?.end({ timeout: 5 })
  }
}

/** A PostgreSQL or connection failure as STATE_UNAVAILABLE, with the server's reason and SQLSTATE (never a value). */
export function postgresFailure (err: unknown, where: string): DtaError {
  const e = err as { code?: unknown, message?: unknown }
  const what = typeof e?.message === 'string' ? e.message : 'unknown error'
  const code = typeof e?.code === 'string' ? ` (${e.code})` : ''
  return new DtaError('STATE_UNAVAILABLE', `postgres ${where}: ${what}${code}`, { cause: err })
}

/** Bytes for a bytea parameter. */
export function bytea (value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** A bytea value as a plain Uint8Array (a copy, so nothing else holds a reference to it). */
export function fromBytea (value: unknown): Uint8Array {
  return new Uint8Array(value as Uint8Array)
}
