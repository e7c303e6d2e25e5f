/**
 * Loading, validating and writing the configuration (PROTOCOL §10).
 *
 * `loadConfig` builds the config in layers — `$home/config.yaml` (a missing file means all
 * defaults), then environment variables `MILAGRO_<SECTION>_<KEY>`, then `overrides` (CLI flags),
 * then schema defaults — and validates the WHOLE result at once, throwing one
 * DtaError('CONFIG_INVALID') that lists every problem with its path and where the value came
 * from. Unknown keys in the file, unknown `MILAGRO_<SECTION>_*` variables and unknown override keys
 * are errors, not silently ignored (the 2019 code ran with a nil connector for a misspelled name).
 * Secret keys (`envOnly` in the schema) are refused in the file and never echoed in a message.
 * @module
 */
import { mkdir, readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { Value } from 'typebox/value'
import { Document, isMap, isScalar, parse } from 'yaml'
import { parsePolicies } from '../http/policy-rules.ts'
import { parseCosignatureKey } from '../core/log/cosignature.ts'
import { parseVerifierKey } from '../core/log/note.ts'
import { DtaError } from '../errors.ts'
import { writeSecretFile } from '../adapters/secret-file.ts'
import { ConfigSchema, describeConfig, envName } from './schema.ts'
import type { Config, ConfigKeyDoc, PartialConfig } from './schema.ts'

export const CONFIG_FILE = 'config.yaml'

export interface LoadConfigOptions {
  /** The node's home folder (see `resolveHome`). */
  home: string
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>
  /** Values from CLI flags; win over the file and the environment. */
  overrides?: PartialConfig
}

/** `$MILAGRO_HOME` if set (a leading `~` expanded), else `~/.milagro`; always absolute. */
export function resolveHome (env: Record<string, string | undefined> = process.env): string {
  const home = env.MILAGRO_HOME
  if (home === undefined || home.trim() === '') return join(homedir(), '.milagro')
  if (home === '~' || home.startsWith('~/')) return join(homedir(), home.slice(1))
  return resolve(home)
}

/** A path from the config (key file, database, …): absolute as is, otherwise relative to `home`. */
export function resolveInHome (home: string, path: string): string {
  return isAbsolute(path) ? path : join(home, path)
}

// ── the layers ─────────────────────────────────────────────────────────────────────────────────

type Plain = Record<string, unknown>
const KEYS: ConfigKeyDoc[] = describeConfig()
const BY_PATH = new Map(KEYS.map(k => [k.path, k]))
const BY_ENV = new Map(KEYS.map(k => [k.env, k]))
const SECTIONS = [...new Set(KEYS.map(k => k.section))]
const SECTION_ENV = new RegExp(`^MILAGRO_(${SECTIONS.map(s => s.toUpperCase()).join('|')})_`)

function isPlainObject (v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function show (doc: ConfigKeyDoc | undefined, value: unknown): string {
  if (doc?.envOnly === true) return ''
  // a password inside a URL (refused, but named in the message) is never repeated
  const s = (JSON.stringify(value) ?? String(value)).replace(/(:\/\/[^:@/\s"]*:)[^@\s"]*@/g, '$1***@')
  return `, got ${s.length > 80 ? `${s.slice(0, 77)}...` : s}`
}

/** Converts an environment string to the type the schema wants; returns a problem string on failure. */
export function convertEnvValue (doc: Pick<ConfigKeyDoc, 'kind'>, raw: string): { value: unknown } | { problem: string } {
  switch (doc.kind) {
    case 'integer':
      return /^\s*-?\d+\s*$/.test(raw) ? { value: Number(raw) } : { problem: 'must be an integer' }
    case 'boolean': {
      const v = raw.trim().toLowerCase()
      if (['true', '1', 'yes', 'on'].includes(v)) return { value: true }
      if (['false', '0', 'no', 'off'].includes(v)) return { value: false }
      return { problem: 'must be true or false' }
    }
    case 'string list':
      return { value: raw.split(',').map(s => s.trim()).filter(s => s !== '') }
    default:
      return { value: raw }
  }
}

class Problems {
  readonly list: string[] = []
  add (path: string, source: string | undefined, problem: string): void {
    this.list.push(`${path}${source === undefined ? '' : ` (from ${source})`}: ${problem}`)
  }
}

async function readConfigFile (file: string, problems: Problems): Promise<Plain> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return {}
    throw new DtaError('CONFIG_UNREADABLE', `${file} (${(err as { code?: string }).code ?? 'error'})`, { cause: err })
  }
  let doc: unknown
  try {
    doc = parse(text, { uniqueKeys: true, prettyErrors: false })
  } catch (err) {
    // Only the first line: the rest of a YAML error quotes the file, which may hold a secret.
    const first = ((err as Error).message ?? 'syntax error').split('\n')[0].replace(/:$/, '')
    problems.add(CONFIG_FILE, undefined, `not valid YAML: ${first}`)
    return {}
  }
  if (doc === null || doc === undefined) return {}
  if (!isPlainObject(doc)) {
    problems.add(CONFIG_FILE, undefined, 'must be a mapping of sections (http, node, log, ipfs, plugins)')
    return {}
  }
  return doc
}

/**
 * Checks the file's shape: known sections holding mappings, known keys, no secret keys. Bad
 * entries are reported and dropped, so the later layers and the validation still run.
 */
function checkFileShape (file: Plain, sources: Map<string, string>, problems: Problems): Plain {
  const out: Plain = {}
  for (const [section, body] of Object.entries(file)) {
    if (!SECTIONS.includes(section as never)) {
      problems.add(section, CONFIG_FILE, `unknown section; sections are ${SECTIONS.join(', ')}`)
      continue
    }
    if (body === null || body === undefined) continue
    if (!isPlainObject(body)) {
      problems.add(section, CONFIG_FILE, 'must be a mapping of keys')
      continue
    }
    const clean: Plain = {}
    for (const [key, value] of Object.entries(body)) {
      const path = `${section}.${key}`
      const doc = BY_PATH.get(path)
      if (doc === undefined) {
        problems.add(path, CONFIG_FILE, `unknown key${suggest(section, key)}`)
      } else if (doc.envOnly) {
        problems.add(path, CONFIG_FILE, `is a secret: set it with the environment variable ${doc.env}, not in the file`)
      } else {
        clean[key] = value
        sources.set(path, CONFIG_FILE)
      }
    }
    out[section] = clean
  }
  return out
}

function suggest (section: string, key: string): string {
  const match = KEYS.find(k => k.section === section && k.key.toLowerCase() === key.toLowerCase())
  if (match !== undefined) return ` (did you mean ${match.key}?)`
  const keys = KEYS.filter(k => k.section === section).map(k => k.key)
  return `; keys of ${section} are ${keys.join(', ')}`
}

function set (config: Plain, section: string, key: string, value: unknown): void {
  const body = isPlainObject(config[section]) ? config[section] as Plain : {}
  body[key] = value
  config[section] = body
}

function applyEnv (config: Plain, env: Record<string, string | undefined>, sources: Map<string, string>, problems: Problems): void {
  for (const name of Object.keys(env).sort()) {
    const raw = env[name]
    if (raw === undefined || !SECTION_ENV.test(name)) continue
    const doc = BY_ENV.get(name)
    if (doc === undefined) {
      const section = name.split('_')[1].toLowerCase()
      const vars = KEYS.filter(k => k.section === section).map(k => k.env)
      problems.add(name, undefined, `unknown configuration variable; ${section} takes ${vars.join(', ')}`)
      continue
    }
    const converted = convertEnvValue(doc, raw)
    if ('problem' in converted) {
      problems.add(doc.path, name, `${converted.problem}${show(doc, raw)}`)
      continue
    }
    set(config, doc.section, doc.key, converted.value)
    sources.set(doc.path, name)
  }
}

function applyOverrides (config: Plain, overrides: PartialConfig, sources: Map<string, string>, problems: Problems): void {
  for (const [section, body] of Object.entries(overrides as Plain)) {
    if (body === undefined) continue
    if (!SECTIONS.includes(section as never) || !isPlainObject(body)) {
      problems.add(section, 'overrides', 'unknown section')
      continue
    }
    for (const [key, value] of Object.entries(body)) {
      if (value === undefined) continue
      const path = `${section}.${key}`
      if (!BY_PATH.has(path)) {
        problems.add(path, 'overrides', 'unknown key')
        continue
      }
      set(config, section, key, value)
      sources.set(path, 'overrides')
    }
  }
}

interface SchemaError {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
  message: string
}

/** `/ipfs/peers/0` → `ipfs.peers[0]` */
function pathOf (instancePath: string): string {
  return instancePath.split('/').filter(p => p !== '').map((p, i) => /^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`).join('')
}

function describeError (e: SchemaError, doc: ConfigKeyDoc | undefined, value: unknown, itemSchema: boolean): string | undefined {
  const hint = itemSchema
    ? (doc?.formatHint)
    : doc?.kind === 'string list' ? undefined : doc?.formatHint
  switch (e.keyword) {
    case 'enum':
      return `must be one of ${(e.params.allowedValues as string[]).join(', ')}${show(doc, value)}`
    case 'type': {
      const want = e.params.type === 'array' ? 'a list of strings' : `of type ${String(e.params.type)}`
      return `must be ${want}${show(doc, value)}`
    }
    case 'pattern':
      return `must be ${hint ?? `matching ${String(e.params.pattern)}`}${show(doc, value)}`
    case 'minimum':
      return `must be at least ${String(e.params.limit ?? doc?.minimum)}${show(doc, value)}`
    case 'maximum':
      return `must be at most ${String(e.params.limit ?? doc?.maximum)}${show(doc, value)}`
    case 'minLength':
      return 'must not be empty'
    case 'maxLength':
      return `must be at most ${String(e.params.limit)} characters`
    case 'additionalProperties':
    case 'boolean': // "schema is false": an unknown key, already reported by the shape checks
    case 'anyOf':
    case 'required':
      return undefined
    default:
      return `${e.message}${show(doc, value)}`
  }
}

function validate (config: Plain, sources: Map<string, string>, problems: Problems): void {
  const seen = new Set<string>()
  for (const e of Value.Errors(ConfigSchema, config) as unknown as SchemaError[]) {
    const parts = e.instancePath.split('/').filter(p => p !== '')
    const keyPath = parts.slice(0, 2).join('.')
    const doc = BY_PATH.get(keyPath)
    const value = parts.reduce<unknown>((v, p) => (v as Plain | undefined)?.[p], config)
    const text = describeError(e, doc, value, parts.length > 2)
    if (text === undefined) continue
    const path = pathOf(e.instancePath) || '(config)'
    const line = `${path}\u0000${text}`
    if (seen.has(line)) continue
    seen.add(line)
    problems.add(path, sources.get(keyPath), text)
  }
}

/** Rules that span keys (checked whatever else is wrong, so every problem is listed at once). */
function crossCheck (config: Plain, sources: Map<string, string>, problems: Problems): void {
  const both = (section: string, a: string, b: string, why: string): void => {
    const body = isPlainObject(config[section]) ? config[section] as Plain : {}
    const va = body[a]
    const vb = body[b]
    if (typeof va === 'string' && typeof vb === 'string' && (va === '') !== (vb === '')) {
      const path = `${section}.${va === '' ? a : b}`
      problems.add(`${section}.${a}, ${section}.${b}`, sources.get(`${section}.${a}`) ?? sources.get(`${section}.${b}`),
        `${why}; ${path} is empty`)
    }
  }
  both('node', 'masterFiduciaryServer', 'masterFiduciaryNodeID', 'are set together (init --masterfiduciarynode CID,URL) or not at all')
  both('http', 'oidcIssuer', 'oidcAudience', 'are set together or not at all')
  both('http', 'tlsCertFile', 'tlsKeyFile', 'are set together (HTTPS) or not at all')
  both('http', 'tlsClientCertFile', 'tlsClientKeyFile', 'are set together (a client certificate for the fiduciary) or not at all')
  const node = isPlainObject(config.node) ? config.node : {}
  if (node.datastore === 'postgres' && node.databaseUrl === '') {
    problems.add('node.databaseUrl', sources.get('node.databaseUrl') ?? sources.get('node.datastore'), 'is needed when node.datastore is postgres (postgres://role@host/database)')
  }
  const http = isPlainObject(config.http) ? config.http : {}
  if (Array.isArray(http.policies) && http.policies.length > 0) {
    if (http.oidcIssuer === '') problems.add('http.policies', sources.get('http.policies'), 'need OAuth2 (http.oidcIssuer, http.oidcAudience): a policy grants operations to token claims')
    try {
      parsePolicies(http.policies.map(String))
    } catch (err) {
      problems.add('http.policies', sources.get('http.policies'), (err as DtaError).detail ?? String(err))
    }
  }
  if (Array.isArray(node.trustedFiduciaryServers)) {
    const trusted = Array.isArray(node.trustedFiduciaries) ? node.trustedFiduciaries.map(String) : []
    const named = new Set<string>()
    for (const entry of node.trustedFiduciaryServers.map(String)) {
      const cid = entry.split('=')[0]!
      if (named.has(cid)) problems.add('node.trustedFiduciaryServers', sources.get('node.trustedFiduciaryServers'), `names ${cid} twice`)
      named.add(cid)
      if (!trusted.includes(cid)) problems.add('node.trustedFiduciaryServers', sources.get('node.trustedFiduciaryServers'), `names ${cid}, which is not in node.trustedFiduciaries`)
      if (cid === node.masterFiduciaryNodeID) problems.add('node.trustedFiduciaryServers', sources.get('node.trustedFiduciaryServers'), `names the master fiduciary ${cid}: its log is read at node.masterFiduciaryServer`)
    }
  }
  if (Array.isArray(node.thresholdFiduciaries)) {
    const named = new Set<string>()
    for (const cid of node.thresholdFiduciaries.map(e => String(e).split('=')[0]!)) {
      if (named.has(cid)) problems.add('node.thresholdFiduciaries', sources.get('node.thresholdFiduciaries'), `names ${cid} twice`)
      named.add(cid)
    }
    const t = Number(node.thresholdDefault ?? 0)
    if (t !== 0 && (t < 2 || t > named.size)) problems.add('node.thresholdDefault', sources.get('node.thresholdDefault'), `is ${t}: a default threshold needs 2 ≤ t ≤ the ${named.size} fiduciaries of node.thresholdFiduciaries`)
  }
  // the witness keys: each one a key of its kind, the quorums within their lists
  const keys = (setting: string, list: unknown, parse: (vkey: string) => unknown): number => {
    if (!Array.isArray(list)) return 0
    for (const entry of list.map(String)) {
      const vkey = setting === 'witnesses' ? entry.slice(0, entry.lastIndexOf('=http')) : entry
      try {
        parse(vkey)
      } catch (err) {
        problems.add(`node.${setting}`, sources.get(`node.${setting}`), `${vkey.slice(0, 80)}: ${(err as DtaError).detail ?? String(err)}`)
      }
    }
    return list.length
  }
  keys('witnessFor', node.witnessFor, parseVerifierKey)
  const quorum = (setting: string, count: number): void => {
    if (typeof node[setting] === 'number' && node[setting] > count) problems.add(`node.${setting}`, sources.get(`node.${setting}`), `is more than the ${count} witnesses listed`)
  }
  quorum('witnessQuorum', keys('witnesses', node.witnesses, parseCosignatureKey))
  quorum('fiduciaryWitnessQuorum', keys('fiduciaryWitnesses', node.fiduciaryWitnesses, parseCosignatureKey))
  if (Array.isArray(node.masterFiduciaryReplicas) && node.masterFiduciaryReplicas.length > 0 && node.masterFiduciaryServer === '') {
    problems.add('node.masterFiduciaryReplicas', sources.get('node.masterFiduciaryReplicas'), 'needs node.masterFiduciaryServer: the replicas are tried after it')
  }
}

function fail (problems: Problems, file: string): never {
  const n = problems.list.length
  throw new DtaError('CONFIG_INVALID', `${n} problem${n === 1 ? '' : 's'} (file ${file}):\n  - ${problems.list.join('\n  - ')}`)
}

/**
 * Reads `$home/config.yaml`, applies `MILAGRO_<SECTION>_<KEY>` variables and `overrides`, fills
 * defaults and validates everything. Throws CONFIG_INVALID listing every problem, or
 * CONFIG_UNREADABLE when the file exists but cannot be read.
 */
export async function loadConfig (options: LoadConfigOptions): Promise<Config> {
  const file = join(options.home, CONFIG_FILE)
  const problems = new Problems()
  const sources = new Map<string, string>()
  const config = checkFileShape(await readConfigFile(file, problems), sources, problems)
  applyEnv(config, options.env ?? process.env, sources, problems)
  if (options.overrides !== undefined) applyOverrides(config, options.overrides, sources, problems)
  const withDefaults = Value.Default(ConfigSchema, structuredClone(config)) as Plain
  validate(withDefaults, sources, problems)
  crossCheck(withDefaults, sources, problems)
  if (problems.list.length > 0) fail(problems, file)
  return withDefaults as Config
}

/** The configuration with every default, as `loadConfig` gives it with no file, variables or overrides. */
export function defaultConfig (): Config {
  return Value.Default(ConfigSchema, {}) as Config
}

/** config.yaml text: every non-secret key, each with its description as a comment. */
export function renderConfigYaml (config: Config): string {
  const plain: Plain = {}
  for (const k of KEYS) {
    if (k.envOnly) continue
    set(plain, k.section, k.key, (config as unknown as Record<string, Plain>)[k.section][k.key])
  }
  const doc = new Document(plain)
  doc.commentBefore = ' Milagro D-TA node configuration (docs/configuration.md).\n' +
    ' Every key can be overridden by MILAGRO_<SECTION>_<KEY>, e.g. MILAGRO_HTTP_LISTENADDR.\n' +
    ` Secrets (${KEYS.filter(k => k.envOnly).map(k => k.path).join(', ')}) are read from the environment only.`
  const sectionDocs = (ConfigSchema as unknown as { properties: Record<string, { description?: string }> }).properties
  if (isMap(doc.contents)) {
    for (const [index, pair] of doc.contents.items.entries()) {
      if (!isScalar(pair.key)) continue
      const section = String(pair.key.value)
      pair.key.spaceBefore = index > 0
      pair.key.commentBefore = ` ── ${section}: ${sectionDocs[section]?.description ?? ''}`
      if (!isMap(pair.value)) continue
      for (const item of pair.value.items) {
        if (!isScalar(item.key)) continue
        const d = BY_PATH.get(`${section}.${String(item.key.value)}`)
        if (d !== undefined) item.key.commentBefore = ` ${d.description} (${d.env})`
      }
    }
  }
  return doc.toString({ lineWidth: 0 })
}

/**
 * Writes `$home/config.yaml` (mode 0600; the folder is created 0700) atomically with
 * `writeSecretFile`: a temporary file is synced and renamed over the old one, then the folder is
 * synced. Secret keys are never written.
 */
export async function writeConfig (home: string, config: Config): Promise<string> {
  await mkdir(home, { recursive: true, mode: 0o700 })
  const file = join(home, CONFIG_FILE)
  try {
    await writeSecretFile(file, renderConfigYaml(config), { mode: 0o600, exclusive: false })
  } catch (err) {
    throw new DtaError('CONFIG_WRITE_FAILED', `${file} (${(err as { code?: string }).code ?? 'error'})`, { cause: err })
  }
  return file
}
