/**
 * Opening the PostgreSQL state database: the connection URL, the pool and its settings, the
 * schema migrations, and the repositories of this folder put together as one `StateRepository`.
 *
 * The URL names the server, the role and the database, never the password (that comes from the
 * environment, like every other secret: MILAGRO_NODE_DATABASEPASSWORD). Two forms:
 * `postgres://role@host:port/database` (TCP) and `postgres://role@/database?host=/run/postgresql`
 * (a unix socket in that folder, as libpq writes it). A URL with a password, or any other query
 * parameter, is STATE_BAD_CONFIG: a parameter we do not understand could weaken a setting below.
 *
 * Settings, and why: `synchronous_commit = on` for every connection, and a server with
 * `fsync = off` refused, so a commit is durable when it returns (PROTOCOL §6); `application_name`
 * names the node in `pg_stat_activity`; bigint parsed to numbers (every time and id we store is
 * a safe integer); notices not printed. Migrations take a transaction-scoped advisory lock, so
 * replicas starting at once migrate one after the other.
 * @module
 */
import postgres from 'postgres'
import { DtaError, isDtaError } from '../../../errors.ts'
import type { StateRepository } from '../../../ports/state.ts'
import { createAuditLog } from './audit.ts'
import { PgConnection, postgresFailure } from './connection.ts'
import type { Q, Row } from './connection.ts'
import { createIdentityRepository } from './identities.ts'
import { createPgLogStore } from './log.ts'
import { createPgCheckpointStore } from './log-seen.ts'
import { MIGRATIONS } from './migrations.ts'
import type { Migration } from './migrations.ts'
import { createOrderRepository } from './orders.ts'
import { createPluginStore } from './plugin-store.ts'
import { createSealedPluginValues } from './sealed-plugin-values.ts'
import { createSeedRepository } from './seeds.ts'

export interface PostgresStateOptions {
  /** postgres://role@host:port/database or postgres://role@/database?host=/socket/folder */
  url: string
  /** The role's password (from the environment); empty for none (peer/trust authentication). */
  password?: string
  /** Connections in the pool. Default 10. */
  poolSize?: number
  /** Clock for createdAt/updatedAt/audit times. Default Date.now. */
  now?: () => number
  /** Tests only: a different migration list. */
  migrations?: readonly Migration[]
  /** Shown in pg_stat_activity. Default milagro-dta. */
  applicationName?: string
}

export interface DatabaseAddress {
  /** A TCP host, or the folder of a unix socket. */
  host: string
  port: number
  database: string
  user: string
  /** The unix socket path when `host` is a folder. */
  socket?: string
}

/** A key that must not be in the migration lock's id space of other software: 'milagro' as a number. */
const MIGRATION_LOCK = 0x6d696c6167726f

/** Parses a database URL (see the module comment); STATE_BAD_CONFIG names what is wrong. */
export function parseDatabaseUrl (url: string): DatabaseAddress {
  // By hand: WHATWG URL refuses libpq's `role@/database` (a user with an empty host).
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url)
  if (m === null) throw new DtaError('STATE_BAD_CONFIG', 'node.databaseUrl is not a URL (postgres://role@host:port/database)')
  const [, scheme, userinfo = '', hostport, path = '', query = ''] = m as unknown as [string, string, string | undefined, string, string | undefined, string | undefined]
  if (scheme !== 'postgres' && scheme !== 'postgresql') throw new DtaError('STATE_BAD_CONFIG', `node.databaseUrl must start with postgres://, not ${scheme}://`)
  if (userinfo.includes(':')) throw new DtaError('STATE_BAD_CONFIG', 'node.databaseUrl must not hold a password: set MILAGRO_NODE_DATABASEPASSWORD instead')
  const decode = (part: string, what: string): string => {
    try { return decodeURIComponent(part) } catch { throw new DtaError('STATE_BAD_CONFIG', `node.databaseUrl: the ${what} is not valid percent-encoding`) }
  }
  const user = decode(userinfo, 'role')
  if (user === '') throw new DtaError('STATE_BAD_CONFIG', 'node.databaseUrl must name the role: postgres://role@host/database')
  const database = decode(path.replace(/^\//, ''), 'database')
  if (database === '' || database.includes('/')) throw new DtaError('STATE_BAD_CONFIG', 'node.databaseUrl must name one database: postgres://role@host/database')
  const params = new URLSearchParams(query)
  const extra = [...params.keys()].filter(k => k !== 'host')
  if (extra.length > 0) throw new DtaError('STATE_BAD_CONFIG', `node.databaseUrl has parameters this node does not use: ${extra.join(', ')} (only host=/socket/folder)`)
  const hp = /^(\[[^\]]+\]|[^:]*)(?::(\d{1,5}))?$/.exec(hostport)
  if (hp === null) throw new DtaError('STATE_BAD_CONFIG', 'node.databaseUrl: the host:port is malformed')
  const hostname = (hp[1] ?? '').replace(/^\[(.*)\]$/, '$1')
  const port = hp[2] === undefined ? 5432 : Number(hp[2])
  if (port < 1 || port > 65535) throw new DtaError('STATE_BAD_CONFIG', 'node.databaseUrl: the port must be 1..65535')
  const socketDir = params.get('host')
  if (socketDir !== null) {
    if (hostname !== '') throw new DtaError('STATE_BAD_CONFIG', 'node.databaseUrl names both a host and a socket folder (?host=)')
    if (!socketDir.startsWith('/')) throw new DtaError('STATE_BAD_CONFIG', 'node.databaseUrl ?host= must be the absolute path of the socket folder')
    return { host: socketDir, port, database, user, socket: `${socketDir.replace(/\/+$/, '')}/.s.PGSQL.${port}` }
  }
  if (hostname === '') throw new DtaError('STATE_BAD_CONFIG', 'node.databaseUrl names no host: postgres://role@host/database, or ?host=/socket/folder')
  return { host: hostname, port, database, user }
}

/** Where the database is, for messages: role@host:port/database (or the socket). */
export function describeDatabase (a: DatabaseAddress): string {
  return `${a.user}@${a.socket ?? `${a.host}:${a.port}`}/${a.database}`
}

/** Applies the migrations the database lacks, in order, in one transaction under the migration lock. */
async function migrate (conn: PgConnection, q: Q, migrations: readonly Migration[]): Promise<void> {
  await conn.tx(q, async tx => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`
    const applied = new Set((await tx`SELECT version FROM schema_migrations`).map(r => (r as Row).version as number))
    const known = new Set(migrations.map(m => m.version))
    const unknown = [...applied].filter(v => !known.has(v))
    if (unknown.length > 0) throw new DtaError('STATE_SCHEMA_TOO_NEW', `unknown schema version ${Math.max(...unknown)}`)
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue
      await tx.unsafe(m.sql)
      await tx`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${conn.now()})`
    }
  })
}

/** Opens the PostgreSQL state database and brings its schema up to date. */
export async function openPostgresState (options: PostgresStateOptions): Promise<StateRepository> {
  const address = parseDatabaseUrl(options.url)
  const where = describeDatabase(address)
  const poolSize = options.poolSize ?? 10
  if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > 1000) throw new DtaError('STATE_BAD_CONFIG', 'node.databasePoolSize must be 1..1000')
  const sql = postgres({
    ...(address.socket === undefined ? { host: address.host, port: address.port } : { path: address.socket }),
    database: address.database,
    username: address.user,
    password: options.password ?? '',
    max: poolSize,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'milagro-dta', synchronous_commit: 'on' },
    types: { int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
  })
  const conn = new PgConnection(sql, options.now ?? Date.now, where)
  try {
    await conn.run(undefined, async q => {
      const [row] = await q`SELECT current_setting('fsync') AS fsync, current_setting('server_version_num')::int AS version`
      if ((row as Row).fsync !== 'on') throw new DtaError('STATE_UNAVAILABLE', `postgres ${where}: the server runs with fsync = off, so a commit is not durable; a custody server refuses it`)
      if (((row as Row).version as number) < 130000) throw new DtaError('STATE_UNAVAILABLE', `postgres ${where}: PostgreSQL 13 or newer is needed`)
      await migrate(conn, q, options.migrations ?? MIGRATIONS)
    })
  } catch (err) {
    await conn.close().catch(() => {})
    throw isDtaError(err) ? err : postgresFailure(err, where)
  }
  return {
    ...createIdentityRepository(conn),
    ...createOrderRepository(conn),
    ...createSeedRepository(conn),
    ...createSealedPluginValues(conn),
    ...createAuditLog(conn),
    pluginStore: plugin => createPluginStore(conn, plugin),
    transparency: { log: createPgLogStore(conn), checkpoints: createPgCheckpointStore(conn) },
    close: async () => { await conn.close() }
  }
}
