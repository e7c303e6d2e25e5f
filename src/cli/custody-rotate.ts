/**
 * `milagro custody rotate`: a new key-encryption key for the same custody backend, and every
 * sealed record re-sealed under it — resumable and idempotent like `custody migrate` (custody.ts,
 * whose `resealAll` does the work: open with the old KEK, seal with the new one, open again and
 * compare, compare-and-swap on the old key id).
 *
 * The new KEK, by backend: `local` key file → a new file `custody-<stamp>.key`; `local` passphrase
 * → a new passphrase (MILAGRO_NEWPASSPHRASE) with a new parameters file
 * `custody-params-<stamp>.json`; `pkcs11` → a new HSM key labelled `<label>-<stamp>` in the same
 * token. Where the new KEK is, is written to `custody-rotation.json` BEFORE the key is made, so a
 * rotation interrupted at any point resumes with that same key when run again (records already
 * under it are skipped). Only when every record is under the new KEK does config.yaml switch to it
 * and `custody.rotated` go into the audit trail; the old key file (or HSM key) is kept — remove it
 * once no backup needs it. Like migrate, it holds the home lock and refuses while the node's API
 * answers.
 * @module
 */
import { readFile, rm } from 'node:fs/promises'
import { DtaError, isDtaError } from '../errors.ts'
import { lockHome } from '../adapters/home-lock.ts'
import { writeSecretFile } from '../adapters/secret-file.ts'
import { loadConfig, resolveInHome, writeConfig } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import type { Custody } from '../ports/custody.ts'
import type { StateRepository } from '../ports/state.ts'
import { createCustodyKey, openCustody, openState } from '../wiring.ts'
import { refuseIfRunning, resealAll } from './custody.ts'

export const ROTATION_FILE = 'custody-rotation.json'

/** Where the new KEK is: the config keys that differ from the current custody's. */
type Target = Partial<Pick<Config['node'], 'custodyKeyFile' | 'custodyParamsFile' | 'pkcs11KeyLabel'>>

export interface RotateOptions {
  home: string
  env?: Record<string, string | undefined>
  /** Tests: runs before each record is swapped in; throwing stops the rotation there. */
  beforeReseal?: (recordId: string, done: number) => void | Promise<void>
  skipRunningCheck?: boolean
}

export interface RotateResult {
  oldKeyId: string
  newKeyId: string
  resealed: number
  /** Whether this run resumed an interrupted rotation. */
  resumed: boolean
  /** Where the old KEK still is (to remove once no backup needs it). */
  oldKey: string
}

function newTarget (config: Config): Target {
  const stamp = Date.now().toString(36)
  const n = config.node
  if (n.custody === 'pkcs11') return { pkcs11KeyLabel: `${n.pkcs11KeyLabel.replace(/-[0-9a-z]{8,9}$/, '')}-${stamp}`.slice(0, 128) }
  if (n.custodyKeySource === 'passphrase') return { custodyParamsFile: `custody-params-${stamp}.json` }
  return { custodyKeyFile: `custody-${stamp}.key` }
}

function describeKey (config: Config): string {
  const n = config.node
  if (n.custody === 'pkcs11') return `the HSM key ${n.pkcs11KeyLabel} in token ${n.pkcs11TokenLabel}`
  return n.custodyKeySource === 'passphrase' ? `${n.custodyParamsFile} with the old passphrase` : n.custodyKeyFile
}

async function readTarget (file: string): Promise<Target | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined
    throw new DtaError('CUSTODY_UNAVAILABLE', `cannot read ${file}`, { cause: err })
  }
  const parsed = JSON.parse(text) as { target?: Target }
  const t = parsed.target ?? {}
  const keys = Object.keys(t)
  if (keys.length !== 1 || !['custodyKeyFile', 'custodyParamsFile', 'pkcs11KeyLabel'].includes(keys[0]!) || typeof Object.values(t)[0] !== 'string') {
    throw new DtaError('CUSTODY_UNAVAILABLE', `${file} is not a rotation this version wrote: remove it to start a new rotation`)
  }
  return t
}

export async function rotateCustody (options: RotateOptions): Promise<RotateResult> {
  const { home } = options
  const env = options.env ?? process.env
  const config = await loadConfig({ home, env })
  if (config.node.nodeID === '') throw new DtaError('CONFIG_INVALID', `${home} is not initialised: run \`milagro init\` first`)
  const lock = await lockHome(home, 'milagro custody rotate')
  let source: Custody | undefined
  let target: Custody | undefined
  let state: StateRepository | undefined
  try {
    if (options.skipRunningCheck !== true) await refuseIfRunning(config)
    const rotationFile = resolveInHome(home, ROTATION_FILE)
    const resumed = await readTarget(rotationFile)
    const where = resumed ?? newTarget(config)
    if (resumed === undefined) await writeSecretFile(rotationFile, `${JSON.stringify({ target: where, startedAt: new Date().toISOString() }, null, 2)}\n`, { mode: 0o600, exclusive: true })
    const next: Config = {
      ...config,
      node: { ...config.node, ...where, ...(config.node.custodyKeySource === 'passphrase' && config.node.custody === 'local' ? { passphrase: env.MILAGRO_NEWPASSPHRASE ?? '' } : {}) },
    }
    if (next.node.custody === 'local' && next.node.custodyKeySource === 'passphrase' && next.node.passphrase === '') {
      throw new DtaError('CUSTODY_PASSPHRASE_MISSING', 'set MILAGRO_NEWPASSPHRASE to the new passphrase (and MILAGRO_NODE_PASSPHRASE to the current one)')
    }
    await createCustodyKey(home, next, next.node.custody, { ifAbsent: true })
    try {
      target = await openCustody(home, next)
    } catch (err) {
      if (isDtaError(err, 'CUSTODY_WRONG_PASSPHRASE')) throw new DtaError('CUSTODY_WRONG_PASSPHRASE', 'MILAGRO_NEWPASSPHRASE does not open the rotation this home started: give the same new passphrase as then', { cause: err })
      throw err
    }
    source = await openCustody(home, config)
    if (source.keyId === target.keyId) throw new DtaError('CUSTODY_UNAVAILABLE', 'the new KEK is the current one: nothing to rotate')
    state = await openState(home, config)
    const s = source
    const { resealed } = await resealAll(state, target, async () => s, options.beforeReseal)
    await state.appendAudit({ op: 'custody.rotated', detail: `key ${source.keyId} -> ${target.keyId}: ${resealed} record(s) re-sealed in the last run; old key kept: ${describeKey(config)}` })
    // Only what config.yaml itself says (no environment layer), with the new KEK's place.
    const fileOnly = await loadConfig({ home, env: {} })
    await writeConfig(home, { ...fileOnly, node: { ...fileOnly.node, ...where } })
    await rm(rotationFile, { force: true })
    return { oldKeyId: source.keyId, newKeyId: target.keyId, resealed, resumed: resumed !== undefined, oldKey: describeKey(config) }
  } finally {
    await source?.close()
    await target?.close()
    await state?.close()
    await lock.release()
  }
}
