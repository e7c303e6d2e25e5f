/**
 * `milagro custody …`: moving a node's sealed secrets between custody backends (PROTOCOL §9).
 *
 * `milagro custody migrate --to pkcs11|local` re-seals every sealed record of the state database
 * — identity root seeds, order seeds, and the sealed values plugins keep in their stores — from
 * the other backend's KEK to the target's, then sets `node.custody` in config.yaml:
 * - the target KEK is made if absent (the HSM key is found or generated once; a local key file is
 *   created), since, like `milagro init`, this runs while no node is serving;
 * - each record is opened with the source KEK, sealed with the target KEK, opened again with the
 *   target and compared, and only then swapped in by `resealSeed(recordId, new, sourceKeyId)` (or
 *   `resealPluginValue`), a compare-and-swap on the key id in one transaction. So a failure at any
 *   point loses nothing: the record is either still under the source KEK or verified under the
 *   target one;
 * - records already under the target key id are skipped, so running it again after a failure
 *   resumes where it stopped, and running it twice is harmless;
 * - a record under neither key, or a plugin value that does not open under the id it is stored
 *   under, is left alone and reported (CUSTODY_MIGRATION_INCOMPLETE): the backend is not switched;
 * - it refuses to run while another milagro process holds the home lock (HOME_LOCKED, "already
 *   running (pid N)": src/adapters/home-lock.ts), and holds it itself until done, so no daemon
 *   starts mid-migration; it also refuses while the node's API answers (a node that holds no lock)
 *   — a running node would keep using the old KEK.
 *
 * `milagro custody rotate` (custody-rotate.ts) makes a new KEK for the same backend and re-seals
 * every record under it, the same way.
 *
 * `milagro custody status` prints the configured backend, its key id, and how many records are
 * under it and under other keys.
 * @module
 */
import { DtaError } from '../errors.ts'
import { lockHome } from '../adapters/home-lock.ts'
import { loadConfig, writeConfig } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import { timingSafeEqual, wipe } from '../crypto/hash.ts'
import { createCustodyKey, openCustody, openState } from '../wiring.ts'
import type { CustodyBackend } from '../wiring.ts'
import type { Custody } from '../ports/custody.ts'
import { pluginSealRecordId } from '../ports/state.ts'
import type { StateRepository } from '../ports/state.ts'

export const CUSTODY_BACKENDS: readonly CustodyBackend[] = ['local', 'pkcs11']
const PAGE = 100
const SHOWN = 5

export interface MigrateOptions {
  home: string
  to: CustodyBackend
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>
  /** Tests: runs before each record is swapped in; throwing stops the migration there. */
  beforeReseal?: (recordId: string, done: number) => void | Promise<void>
  /** Skip the "is the node's API answering?" probe (tests that run in-process); the home lock is always taken. */
  skipRunningCheck?: boolean
}

export interface MigrateResult {
  from: CustodyBackend
  to: CustodyBackend
  /** Key id of the target KEK. */
  keyId: string
  /** Seeds and plugin values re-sealed by this run. */
  resealed: number
  /** Whether config.yaml was changed (false if node.custody already named the target). */
  switched: boolean
}

function otherBackend (to: CustodyBackend): CustodyBackend {
  return to === 'pkcs11' ? 'local' : 'pkcs11'
}

/**
 * Refuses if the node's API answers on its configured address: its status names this node, or it
 * refuses the probe's Host (403 HOST_NOT_ALLOWED: a D-TA node listens there under a name it was
 * not given, and a running node must never be migrated under).
 */
export async function refuseIfRunning (config: Config): Promise<void> {
  const at = config.http.listenAddr.lastIndexOf(':')
  const port = Number(config.http.listenAddr.slice(at + 1))
  if (port === 0) return
  let host = config.http.listenAddr.slice(0, at)
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1'
  if (host === '[::]') host = '[::1]'
  const url = `http://${host}:${port}/v1/status`
  let answered = false
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
    const body = await response.json() as { nodeCID?: unknown, code?: unknown }
    answered = response.ok ? body.nodeCID === config.node.nodeID : body.code === 'HOST_NOT_ALLOWED'
  } catch { /* nothing listening: good */ }
  if (answered) throw new DtaError('CUSTODY_UNAVAILABLE', `the node is running (${url} answers): stop it before migrating custody`)
}

/** Seals `plain` under the target, opens the result again and checks it gives `plain` back. */
async function resealVerified (target: Custody, recordId: string, plain: Uint8Array): Promise<Uint8Array> {
  const next = await target.seal(recordId, plain)
  const check = await target.unseal(recordId, next)
  try {
    if (!timingSafeEqual(check, plain)) throw new DtaError('CUSTODY_INTEGRITY', `${recordId}: the re-sealed record does not open to the same secret`)
  } finally {
    wipe(check)
  }
  return next
}

/**
 * Re-seals every sealed record of a state database not yet under `target`'s KEK — seeds, then the
 * sealed values of plugin stores — from the source KEK (opened when first needed): each one opened,
 * re-sealed, verified, and swapped in by a compare-and-swap on the source key id. A record under
 * neither key, or a plugin value that does not open under its id, is left alone, and then
 * CUSTODY_MIGRATION_INCOMPLETE names them. Used by `migrate` and by `rotate` (custody-rotate.ts).
 */
export async function resealAll (s: StateRepository, t: Custody, openSource: () => Promise<Custody>, beforeReseal?: (recordId: string, done: number) => void | Promise<void>): Promise<{ resealed: number }> {
  const stuck: string[] = []
  let resealed = 0
  // Seeds: identities' root seeds and orders' seeds.
  let after: string | undefined
  for (;;) {
    const page = await s.listSeeds({ after, limit: PAGE, excludeKeyId: t.keyId })
    for (const seed of page) {
      const src = await openSource()
      if (seed.keyId !== src.keyId) {
        stuck.push(`${seed.recordId} (key ${seed.keyId})`)
        continue
      }
      const plain = await src.unseal(seed.recordId, seed.sealed)
      try {
        const next = await resealVerified(t, seed.recordId, plain)
        await beforeReseal?.(seed.recordId, resealed)
        await s.resealSeed(seed.recordId, next, src.keyId)
        resealed++
      } finally {
        wipe(plain)
      }
    }
    if (page.length < PAGE) break
    after = page[page.length - 1].recordId
  }

  // Sealed values in plugin stores, sealed under pluginSealRecordId(plugin, key).
  let afterValue: { plugin: string, key: string } | undefined
  for (;;) {
    const page = await s.listSealedPluginValues({ after: afterValue, limit: PAGE, excludeKeyId: t.keyId })
    for (const value of page) {
      const recordId = pluginSealRecordId(value.plugin, value.key)
      const src = await openSource()
      if (value.keyId !== src.keyId) {
        stuck.push(`${recordId} (key ${value.keyId})`)
        continue
      }
      let plain: Uint8Array
      try {
        plain = await src.unseal(recordId, value.sealed)
      } catch (err) {
        stuck.push(`${recordId} (${err instanceof DtaError ? err.code : 'error'})`)
        continue
      }
      try {
        const next = await resealVerified(t, recordId, plain)
        await beforeReseal?.(recordId, resealed)
        await s.resealPluginValue(value.plugin, value.key, next, src.keyId)
        resealed++
      } finally {
        wipe(plain)
      }
    }
    if (page.length < PAGE) break
    afterValue = { plugin: page[page.length - 1].plugin, key: page[page.length - 1].key }
  }

  if (stuck.length > 0) {
    const shown = stuck.slice(0, SHOWN).join(', ')
    throw new DtaError('CUSTODY_MIGRATION_INCOMPLETE',
      `${stuck.length} record(s) under neither KEK or not openable: ${shown}${stuck.length > SHOWN ? ', …' : ''} (${resealed} re-sealed this run)`)
  }
  return { resealed }
}

/**
 * Re-seals every sealed record of a home's state database under the `to` backend's KEK, then
 * switches `node.custody` to it (see the module comment). Idempotent and resumable.
 */
export async function migrateCustody (options: MigrateOptions): Promise<MigrateResult> {
  const { home, to } = options
  if (!CUSTODY_BACKENDS.includes(to)) throw new DtaError('CONFIG_INVALID', `--to must be one of ${CUSTODY_BACKENDS.join(', ')}`)
  const env = options.env ?? process.env
  const config = await loadConfig({ home, env })
  if (config.node.nodeID === '') throw new DtaError('CONFIG_INVALID', `${home} is not initialised: run \`milagro init\` first`)
  // The home lock keeps a daemon (and another migration) off the home until the migration is
  // done; the HTTP probe also catches a node that holds no lock (an older version, another mount).
  const lock = await lockHome(home, 'milagro custody migrate')
  const from = otherBackend(to)
  let target: Custody | undefined
  let source: Custody | undefined
  let state: StateRepository | undefined
  try {
    if (options.skipRunningCheck !== true) await refuseIfRunning(config)
    await createCustodyKey(home, config, to, { ifAbsent: true })
    target = await openCustody(home, config, to)
    state = await openState(home, config)
    const { resealed } = await resealAll(state, target, async () => (source ??= await openCustody(home, config, from)), options.beforeReseal)

    let switched = false
    if (config.node.custody !== to) {
      // Only what config.yaml itself says (no environment layer), with the backend switched.
      const fileOnly = await loadConfig({ home, env: {} })
      await writeConfig(home, { ...fileOnly, node: { ...fileOnly.node, custody: to } })
      switched = true
    }
    return { from, to, keyId: target.keyId, resealed, switched }
  } finally {
    await source?.close()
    await target?.close()
    await state?.close()
    await lock.release()
  }
}

export interface CustodyStatus {
  backend: CustodyBackend
  keyId: string
  /** Seeds under the configured KEK, and under any other key. */
  seeds: { current: number, other: number }
  /** Sealed plugin-store values under the configured KEK, and under any other key. */
  pluginValues: { current: number, other: number }
}

/** The configured backend, its key id, and how many records are under it and under other keys. */
export async function custodyStatus (options: { home: string, env?: Record<string, string | undefined> }): Promise<CustodyStatus> {
  const config = await loadConfig({ home: options.home, env: options.env ?? process.env })
  const custody = await openCustody(options.home, config)
  const state = await openState(options.home, config)
  try {
    const seeds = { current: 0, other: 0 }
    for (let after: string | undefined; ;) {
      const page = await state.listSeeds({ after, limit: PAGE })
      for (const seed of page) seeds[seed.keyId === custody.keyId ? 'current' : 'other']++
      if (page.length < PAGE) break
      after = page[page.length - 1].recordId
    }
    const pluginValues = { current: 0, other: 0 }
    for (let after: { plugin: string, key: string } | undefined; ;) {
      const page = await state.listSealedPluginValues({ after, limit: PAGE })
      for (const v of page) pluginValues[v.keyId === custody.keyId ? 'current' : 'other']++
      if (page.length < PAGE) break
      after = { plugin: page[page.length - 1].plugin, key: page[page.length - 1].key }
    }
    return { backend: config.node.custody, keyId: custody.keyId, seeds, pluginValues }
  } finally {
    await custody.close()
    await state.close()
  }
}

/**
 * The `custody` command of the CLI: `custody migrate --to pkcs11|local`, `custody status`.
 * `usage(message)` makes the CLI's usage error (exit code 2).
 */
export async function custodyCommand (home: string, args: string[], values: { to?: string, json?: boolean }, usage: (message: string) => Error): Promise<void> {
  const sub = args[0]
  if (sub === 'migrate') {
    const to = values.to
    if (to === undefined || !CUSTODY_BACKENDS.includes(to as CustodyBackend)) throw usage(`custody migrate needs --to ${CUSTODY_BACKENDS.join('|')}`)
    const result = await migrateCustody({ home, to: to as CustodyBackend })
    if (values.json === true) {
      console.log(JSON.stringify(result, null, 2))
      return
    }
    console.log(`Re-sealed ${result.resealed} record(s) under the ${result.to} KEK (key id ${result.keyId}); records already under it were skipped.`)
    console.log(result.switched ? `node.custody is now ${result.to} in config.yaml.` : `node.custody was already ${result.to}.`)
    const envBackend = process.env.MILAGRO_NODE_CUSTODY
    if (envBackend !== undefined && envBackend !== result.to) console.log(`Note: MILAGRO_NODE_CUSTODY=${envBackend} in the environment overrides config.yaml.`)
  } else if (sub === 'rotate') {
    const { rotateCustody } = await import('./custody-rotate.ts')
    const result = await rotateCustody({ home })
    if (values.json === true) {
      console.log(JSON.stringify(result, null, 2))
      return
    }
    console.log(`${result.resumed ? 'Resumed the rotation and re-sealed' : 'Re-sealed'} ${result.resealed} record(s) under the new KEK (key id ${result.newKeyId}, was ${result.oldKeyId}); config.yaml now uses it.`)
    console.log(`The old KEK is kept: ${result.oldKey}. Remove it once no backup of the database from before the rotation is needed.`)
  } else if (sub === 'status') {
    const status = await custodyStatus({ home })
    if (values.json === true) {
      console.log(JSON.stringify(status, null, 2))
      return
    }
    console.log([
      `backend: ${status.backend}`,
      `keyId: ${status.keyId}`,
      `seeds: ${status.seeds.current} under this key, ${status.seeds.other} under other keys`,
      `plugin values: ${status.pluginValues.current} under this key, ${status.pluginValues.other} under other keys`,
    ].join('\n'))
  } else {
    throw usage(`unknown command: custody ${sub ?? ''}`.trim())
  }
}
