/**
 * A throwaway PostgreSQL 15 for tests: Debian's `postgresql-15` binaries, a cluster made with
 * `initdb` in a temp folder and started with `pg_ctl`, listening on a unix socket in that folder
 * only (`listen_addresses = ''`: no TCP port at all), with fsync and synchronous commit on (the defaults) as
 * in production. As root (CI) the cluster runs as the `postgres` user, since PostgreSQL refuses to
 * run as root; otherwise as the current user.
 *
 * Authentication is real: the superuser `postgres` connects by peer/trust over the socket for
 * set-up, and `createDatabase` makes a database owned by a role `milagro_<n>` with a password that
 * only scram-sha-256 accepts — what a node is given through MILAGRO_NODE_DATABASEPASSWORD.
 * `stop()` shuts the cluster down and removes the folder.
 * @module
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const PG_BIN = '/usr/lib/postgresql/15/bin'

export interface TestDatabase {
  /** postgres://role@/database?host=<socket folder> — no password in it. */
  readonly url: string
  readonly password: string
  readonly role: string
  readonly database: string
}

export interface TestPostgres {
  readonly dir: string
  readonly socketDir: string
  /** A new database and its own login role with a random password. */
  /** With `icuLocale` (e.g. 'en-US'), the database's default collation is that ICU locale's, not byte order. */
  createDatabase (options?: { icuLocale?: string }): Promise<TestDatabase>
  /** Runs SQL as the superuser (psql -v ON_ERROR_STOP=1); returns stdout without its last newline. */
  psql (sql: string, database?: string): Promise<string>
  /** Sets a server setting that a reload applies (ALTER SYSTEM; `null` resets it) and waits until new sessions see it. */
  reload (setting: string, value: string | null): Promise<void>
  stop (): Promise<void>
}

/** Throws a clear error when Debian's postgresql-15 is missing (`npm test` installs it first). */
export function requirePostgres (): void {
  if (!existsSync(join(PG_BIN, 'postgres'))) {
    throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}/postgres is missing): apt-get install postgresql-15, or run npm test (scripts/ensure-test-deps.ts)`)
  }
}

const asRoot = process.getuid?.() === 0

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
async function pg (bin: string, args: string[]): Promise<string> {
  const file = join(PG_BIN, bin)
  const { stdout } = asRoot
    ? await run('runuser', ['-u', 'postgres', '--', file, ...args], { maxBuffer: 16 * 1024 * 1024 })
    : await run(file, args, { maxBuffer: 16 * 1024 * 1024 })
  return stdout
}

let databases = 0

/** Clusters of this process not stopped yet: stopped at exit whatever happened (a crashed test file included). */
const running = new Set<string>()
process.once('exit', () => {
  for (const data of running) {
    const args = ['-D', data, '-m', 'immediate', '-w', 'stop']
    if (asRoot) spawnSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), ...args], { stdio: 'ignore' })
    else spawnSync(join(PG_BIN, 'pg_ctl'), args, { stdio: 'ignore' })
    rmSync(dirname(data), { recursive: true, force: true })
  }
})

export async function startPostgres (): Promise<TestPostgres> {
  requirePostgres()
  const dir = await mkdtemp(join(tmpdir(), 'dta-pg-'))
  await chmod(dir, 0o755)
  if (asRoot) spawnSync('chown', ['postgres:postgres', dir])
  const data = join(dir, 'data')
  await pg('initdb', ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--auth-local=trust', '--auth-host=reject', '-N'])
  // Role logins need their password (scram); only the superuser set-up connection is trusted.
  const hba = join(data, 'pg_hba.conf')
  await writeFile(hba, asRoot ? 'local all postgres trust\nlocal all all scram-sha-256\n' : 'local all all trust\n', { mode: 0o600 })
  if (asRoot) spawnSync('chown', ['postgres:postgres', hba])
  await pg('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o',
    `-c listen_addresses='' -c unix_socket_directories='${dir}' -c max_connections=200 -c password_encryption=scram-sha-256`, 'start'])
  running.add(data)

  const psql = async (sql: string, database = 'postgres'): Promise<string> =>
    (await pg('psql', ['-h', dir, '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql])).replace(/\n$/, '')

  return {
    dir,
    socketDir: dir,
    psql,
    async createDatabase (options = {}) {
      const n = ++databases
      const role = `milagro_${process.pid}_${n}`
      const database = `dta_${process.pid}_${n}`
      const password = randomBytes(18).toString('base64url')
      await psql(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`)
      const icu = options.icuLocale === undefined ? '' : ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale}'`
      await psql(`CREATE DATABASE ${database} OWNER ${role}${icu}`)
      return { url: `postgres://${role}@/${database}?host=${dir}`, password, role, database }
    },
    async reload (setting, value) {
      await psql(value === null ? `ALTER SYSTEM RESET ${setting}` : `ALTER SYSTEM SET ${setting} = '${value}'`)
      await psql('SELECT pg_reload_conf()')
      const want = value ?? await psql(`SELECT boot_val FROM pg_settings WHERE name = '${setting}'`)
      for (const deadline = Date.now() + 30_000; await psql(`SHOW ${setting}`) !== want;) {
        if (Date.now() > deadline) throw new Error(`${setting} did not become ${want} after a reload`)
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    },
    async stop () {
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => {})
      running.delete(data)
      await rm(dir, { recursive: true, force: true })
    },
  }
}
