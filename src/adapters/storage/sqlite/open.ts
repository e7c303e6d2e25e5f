/**
 * Opening the SQLite state database: the file, the connection settings, the schema migrations,
 * and the repositories of this folder put together as one `StateRepository`.
 *
 * Settings, and why:
 * - WAL journal: readers never block the writer, and a commit is one append to the WAL;
 * - `synchronous = FULL` while migrating, then `NORMAL`: from then on every commit is fsynced
 *   before its method returns by the adapter's group commit off the event loop (wal-sync.ts, which
 *   gives the measurements), so a sealed seed whose commitment was handed out survives a crash
 *   or power loss right after (PROTOCOL §6) — as FULL would, without blocking the event loop;
 * - foreign keys on, and the schema's CHECKs (migrations.ts), so a fiduciary order row cannot
 *   exist without its seed whatever the code does; `trusted_schema = OFF`;
 * - a busy timeout, so a second process (a CLI command) waits briefly instead of failing;
 * - the database file is created 0600 (SQLite gives its -wal and -shm files the same mode), its
 *   parent folders 0700.
 * Write transactions and the statement cache are in connection.ts.
 * @module
 */
import { DatabaseSync } from 'node:sqlite'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import { DtaError, isDtaError } from '../../../errors.ts'
import type { StateRepository } from '../../../ports/state.ts'
import { createAuditLog } from './audit.ts'
import { SqliteConnection, sqliteFailure } from './connection.ts'
import { createIdentityRepository } from './identities.ts'
import { createLogStore } from './log.ts'
import { createCheckpointStore } from './log-seen.ts'
import { MIGRATIONS } from './migrations.ts'
import type { Migration } from './migrations.ts'
import { createOrderRepository } from './orders.ts'
import { createPluginStore } from './plugin-store.ts'
import type { Row } from './rows.ts'
import { createSealedPluginValues } from './sealed-plugin-values.ts'
import { createSeedRepository } from './seeds.ts'

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

/** The port over one connection: each concern's repository, sharing its transactions and group commit. */
function createSqliteState (conn: SqliteConnection): StateRepository {
  return {
    ...createIdentityRepository(conn),
    ...createOrderRepository(conn),
    ...createSeedRepository(conn),
    ...createSealedPluginValues(conn),
    ...createAuditLog(conn),
    pluginStore: plugin => createPluginStore(conn, plugin),
    transparency: { log: createLogStore(conn), checkpoints: createCheckpointStore(conn) },
    close: async () => { await conn.close() }
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
    if (options.path === ':memory:') return createSqliteState(new SqliteConnection(db, now, undefined))
    // From here on commits are made durable by the adapter's group commit (WalSync), not by SQLite.
    db.exec('PRAGMA synchronous = NORMAL')
    return createSqliteState(new SqliteConnection(db, now, `${options.path}-wal`))
  } catch (err) {
    db?.close()
    throw isDtaError(err) ? err : sqliteFailure(err)
  }
}
