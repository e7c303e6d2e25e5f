/**
 * `milagro backup <file>` and `milagro restore <file>`: a consistent snapshot of a node's state
 * and documents in one tar file, and a new home made from one (docs/operations.md#backup-and-restore).
 *
 * What a backup holds: `manifest.json`, the home's `config.yaml` (which holds no secret), the
 * state — SQLite's online backup of the database (a consistent copy while the node runs), or
 * `pg_dump --format=custom` of the PostgreSQL database — and the IPFS blocks and pins (the block
 * files, and an online backup of the pin datastore). The state is copied FIRST: a document is
 * stored before its CID is recorded, so every document the copied state names is already among the
 * blocks copied after it. What it never holds: the custody key (or passphrase parameters, or PIN),
 * the IPFS peer key, the swarm key, TLS keys — keep the custody key apart from backups: either
 * alone is useless, both together are every seed.
 *
 * Restore makes a new home: it refuses a home that exists and is not empty, and (PostgreSQL) a
 * database that already has tables. With `--key FILE` it copies the custody key file into the new
 * home (0600) and checks that it opens the node identity's root seed; without, it says what to copy.
 * @module
 */
import { execFile } from 'node:child_process'
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { backup as sqliteBackup, DatabaseSync } from 'node:sqlite'
import { promisify } from 'node:util'
import * as tar from 'tar'
import { DtaError } from '../errors.ts'
import { describeDatabase, parseDatabaseUrl } from '../adapters/storage/postgres/index.ts'
import { CONFIG_FILE, loadConfig, resolveInHome, writeConfig } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import { identitySeedRecordId } from '../ports/state.ts'
import { openCustody, openState } from '../wiring.ts'
import { VERSION } from './usage.ts'

const run = promisify(execFile)
export const BACKUP_FORMAT = 'milagro-backup/1'

export interface Manifest {
  format: typeof BACKUP_FORMAT
  createdAt: string
  version: string
  nodeID: string
  nodeName: string
  nodeType: Config['node']['nodeType']
  datastore: Config['node']['datastore']
}

/** Environment for pg_dump/pg_restore: where the database is, and the password (never on a command line). */
function pgEnv (config: Config): Record<string, string> {
  const a = parseDatabaseUrl(config.node.databaseUrl)
  return {
    ...process.env as Record<string, string>,
    PGHOST: a.host, PGPORT: String(a.port), PGUSER: a.user, PGDATABASE: a.database,
    ...(config.node.databasePassword === '' ? {} : { PGPASSWORD: config.node.databasePassword }),
  }
}

async function pgTool (tool: 'pg_dump' | 'pg_restore' | 'psql', args: string[], config: Config): Promise<string> {
  try {
    return (await run(tool, args, { env: pgEnv(config), maxBuffer: 64 * 1024 * 1024 })).stdout
  } catch (err) {
    const e = err as { code?: string, stderr?: string }
    const why = e.code === 'ENOENT' ? `${tool} is not installed (Debian: postgresql-client)` : (e.stderr ?? '').trim().split('\n').slice(-2).join(' ')
    throw new DtaError('STATE_UNAVAILABLE', `${tool} on ${describeDatabase(parseDatabaseUrl(config.node.databaseUrl))}: ${why}`, { cause: err })
  }
}

/** An online, consistent copy of a SQLite file (it may be in use). */
async function copySqlite (from: string, to: string): Promise<void> {
  const db = new DatabaseSync(from, { readOnly: true })
  try {
    await sqliteBackup(db, to)
  } finally {
    db.close()
  }
}

/** Writes a backup of the home's node to `file` (mode 0600); returns its manifest. */
export async function backupNode (home: string, file: string, env: Record<string, string | undefined> = process.env): Promise<Manifest> {
  const config = await loadConfig({ home, env })
  if (config.node.nodeID === '') throw new DtaError('CONFIG_INVALID', `${home} is not initialised: nothing to back up`)
  const staging = await mkdtemp(join(tmpdir(), 'milagro-backup-'))
  try {
    // 1. the state, first (see the module comment)
    if (config.node.datastore === 'postgres') {
      await pgTool('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${join(staging, 'state.pgdump')}`], config)
    } else {
      await copySqlite(resolveInHome(home, config.node.databaseFile), join(staging, 'state.sqlite'))
    }
    // 2. the documents: block files (written once, never changed) and the pins
    const ipfs = resolveInHome(home, config.ipfs.dataDir)
    await mkdir(join(staging, 'ipfs'), { mode: 0o700 })
    await cp(join(ipfs, 'blocks'), join(staging, 'ipfs', 'blocks'), { recursive: true, filter: src => !src.endsWith('.tmp') })
    await copySqlite(join(ipfs, 'datastore.sqlite'), join(staging, 'ipfs', 'datastore.sqlite'))
    await copyFile(resolveInHome(home, CONFIG_FILE), join(staging, CONFIG_FILE))
    const manifest: Manifest = {
      format: BACKUP_FORMAT, createdAt: new Date().toISOString(), version: VERSION,
      nodeID: config.node.nodeID, nodeName: config.node.nodeName, nodeType: config.node.nodeType, datastore: config.node.datastore,
    }
    await writeFile(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    const entries = await readdir(staging)
    await mkdir(dirname(file), { recursive: true })
    await tar.create({ file, cwd: staging, gzip: true, portable: true, mode: 0o600 } as tar.TarOptionsWithAliasesAsyncFile, entries)
    return manifest
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

export interface RestoreResult { manifest: Manifest, keyChecked: boolean }

/**
 * Makes `home` (absent or empty) from a backup: config.yaml, the state (the SQLite file, or
 * pg_restore into the configured — or `env`-overridden — empty PostgreSQL database), the IPFS
 * blocks and pins; with `keyFile`, the custody key, checked against the node identity.
 */
export async function restoreNode (home: string, file: string, options: { keyFile?: string, env?: Record<string, string | undefined> } = {}): Promise<RestoreResult> {
  const env = options.env ?? process.env
  const present = await readdir(home).catch((err: { code?: string }) => { if (err.code === 'ENOENT') return []; throw err })
  if (present.length > 0) throw new DtaError('CONFIG_INVALID', `${home} is not empty: restore makes a new home`)
  await stat(file).catch(() => { throw new DtaError('CONFIG_INVALID', `${file}: no such backup`) })
  await mkdir(home, { recursive: true, mode: 0o700 })
  let done = false
  try {
    await tar.extract({ file, cwd: home, strict: true, preservePaths: false, filter: path => !path.includes('..') })
    const manifest = JSON.parse(await readFile(join(home, 'manifest.json'), 'utf8')) as Manifest
    if (manifest.format !== BACKUP_FORMAT) throw new DtaError('CONFIG_INVALID', `${basename(file)} is not a milagro backup (${String(manifest.format)})`)
    await rm(join(home, 'manifest.json'))
    const config = await loadConfig({ home, env })
    if (config.node.nodeID !== manifest.nodeID) throw new DtaError('CONFIG_INVALID', 'the backup\'s config.yaml and manifest name different nodes')
    if (manifest.datastore === 'postgres') {
      const tables = await pgTool('psql', ['-qAt', '-c', "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"], config)
      if (tables.trim() !== '0') throw new DtaError('CONFIG_INVALID', `${describeDatabase(parseDatabaseUrl(config.node.databaseUrl))} is not empty: restore into a new database (set MILAGRO_NODE_DATABASEURL)`)
      await pgTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${parseDatabaseUrl(config.node.databaseUrl).database}`, join(home, 'state.pgdump')], config)
      await rm(join(home, 'state.pgdump'))
      // restored into another database than the backed-up node's: the new home's config names it
      const fileOnly = await loadConfig({ home, env: {} })
      if (fileOnly.node.databaseUrl !== config.node.databaseUrl) await writeConfig(home, { ...fileOnly, node: { ...fileOnly.node, databaseUrl: config.node.databaseUrl } })
    } else if (resolveInHome(home, config.node.databaseFile) !== join(home, 'state.sqlite')) {
      await mkdir(dirname(resolveInHome(home, config.node.databaseFile)), { recursive: true, mode: 0o700 })
      await cp(join(home, 'state.sqlite'), resolveInHome(home, config.node.databaseFile))
      await rm(join(home, 'state.sqlite'))
    }
    const ipfs = resolveInHome(home, config.ipfs.dataDir)
    if (ipfs !== join(home, 'ipfs')) {
      await cp(join(home, 'ipfs'), ipfs, { recursive: true })
      await rm(join(home, 'ipfs'), { recursive: true })
    }
    let keyChecked = false
    if (options.keyFile !== undefined) {
      await copyFile(options.keyFile, resolveInHome(home, config.node.custodyKeyFile))
      await chmod(resolveInHome(home, config.node.custodyKeyFile), 0o600)
      keyChecked = await checkCustodyKey(home, config)
    }
    done = true
    return { manifest, keyChecked }
  } finally {
    if (!done) await rm(home, { recursive: true, force: true }).catch(() => {})
  }
}

/** Opens custody and the node identity's sealed root seed with it (CUSTODY_* if the key is not the node's). */
async function checkCustodyKey (home: string, config: Config): Promise<boolean> {
  const custody = await openCustody(home, config)
  const state = await openState(home, config)
  try {
    const node = await state.getNodeIdentity()
    if (node?.sealedRootSeed == null) throw new DtaError('CONFIG_INVALID', 'the restored state has no node identity')
    const seed = await custody.unseal(identitySeedRecordId(node.cid), node.sealedRootSeed)
    seed.fill(0)
    return true
  } finally {
    await custody.close()
    await state.close()
  }
}
