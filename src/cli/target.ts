/**
 * Which node a client command talks to, and why. The rule (docs/cli.md):
 *
 *   1. `--url URL`, when given — checked: it needs a scheme (`http://` or `https://`);
 *   2. otherwise the node of the home — `$MILAGRO_HOME`, default `~/.milagro` — at the address in
 *      its config.yaml (`http.listenAddr`; 0.0.0.0 is called as 127.0.0.1). A home that does not
 *      exist, or has no config.yaml, is refused with what to do, never replaced by a default
 *      address (where some other node may answer).
 *
 * `MILAGRO_HTTP_*` variables are not read here: they configure a daemon, and one exported for
 * another node must not redirect a command aimed at this home. When `MILAGRO_HTTP_LISTENADDR` is
 * set and differs from the home's address, a note on stderr says which one is used and how to
 * reach the other. (`init` writes the variables set at init time into config.yaml, so a home made
 * with them exported agrees with them.)
 *
 * The home's config.yaml is read with the YAML parser only: the three keys wanted here are always
 * written by `init`, and loading the validating config loader costs more than the rest of a client
 * call (about 0.3 s of TypeBox). When a key is missing, the full loader gives its default.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { UsageError, exists } from './usage.ts'
import type { Values } from './usage.ts'

/** The same rule as config/load.ts `resolveHome` (kept here so client commands do not load the schema validator). */
export function homePath (env: Record<string, string | undefined> = process.env): string {
  const home = env.MILAGRO_HOME
  if (home === undefined || home.trim() === '') return join(homedir(), '.milagro')
  if (home === '~' || home.startsWith('~/')) return join(homedir(), home.slice(1))
  return resolve(home)
}

/** What a client needs from a home's config.yaml. */
export interface HomeConfig {
  home: string
  file: string
  listenAddr: string
  metricsListenAddr: string
  service: string
}

export interface Target {
  /** The API's base URL, without a trailing slash. */
  url: string
  /** Where the address came from, for -v and for error messages. */
  source: string
  /** The home's config, when the address came from it. */
  config?: HomeConfig
}

/** `host:port` as a base URL a client can call. */
export function addressUrl (listenAddr: string): string {
  const at = listenAddr.lastIndexOf(':')
  let host = listenAddr.slice(0, at)
  const port = listenAddr.slice(at + 1)
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1'
  else if (host === '[::]' || host === '::') host = '[::1]'
  return `http://${host}:${port}`
}

/** Checks --url: a scheme is required (a bare host:port is a common slip), http or https only. */
export function checkUrl (raw: string): string {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw)) throw new UsageError(`--url ${raw} has no scheme: did you mean --url http://${raw.replace(/^\/+/, '')}?`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UsageError(`--url ${raw} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url takes an http:// or https:// URL, got ${url.protocol}//`)
  return raw.replace(/\/+$/, '')
}

/** The home's config.yaml, or a message saying why there is none (not a throw: help uses it too). */
export async function readHomeConfig (home: string = homePath()): Promise<HomeConfig | { problem: string }> {
  const named = process.env.MILAGRO_HOME !== undefined && process.env.MILAGRO_HOME.trim() !== '' ? ' (MILAGRO_HOME)' : ' (the default home; set MILAGRO_HOME for another)'
  if (!await exists(home)) {
    return { problem: `no node home at ${home}${named}: create it with \`milagro init\` (or \`milagro start\`), set MILAGRO_HOME to an existing home, or give the node's address with --url http://HOST:PORT` }
  }
  const file = join(home, 'config.yaml')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'ENOENT') return { problem: `${home}${named} is not an initialised node home (it has no config.yaml): run \`milagro init\` there, or give the node's address with --url http://HOST:PORT` }
    return { problem: `cannot read ${file} (${code ?? 'error'})` }
  }
  let doc: Record<string, Record<string, unknown> | undefined> | undefined
  try {
    doc = parse(text) as typeof doc
  } catch {
    doc = undefined
  }
  const listenAddr = doc?.http?.listenAddr
  const metricsListenAddr = doc?.http?.metricsListenAddr
  const service = doc?.plugins?.service
  if (typeof listenAddr === 'string' && typeof metricsListenAddr === 'string' && typeof service === 'string') {
    return { home, file, listenAddr, metricsListenAddr, service }
  }
  // A hand-written config without these keys: the loader fills the defaults or says what is wrong.
  const { loadConfig } = await import('../config/load.ts')
  try {
    const config = await loadConfig({ home, env: {} })
    return { home, file, listenAddr: config.http.listenAddr, metricsListenAddr: config.http.metricsListenAddr, service: config.plugins.service }
  } catch (err) {
    return { problem: (err as Error).message }
  }
}

/** The node a client command talks to (the rule in the header); throws when there is none. */
export async function resolveTarget (values: Values): Promise<Target> {
  if (values.url !== undefined) return { url: checkUrl(values.url), source: '--url' }
  const config = await readHomeConfig()
  if ('problem' in config) throw new Error(config.problem)
  const url = addressUrl(config.listenAddr)
  const fromEnv = process.env.MILAGRO_HTTP_LISTENADDR
  if (fromEnv !== undefined && fromEnv !== '' && fromEnv !== config.listenAddr) {
    console.error(`milagro: note: MILAGRO_HTTP_LISTENADDR=${fromEnv} is not used by client commands (it configures a daemon); ` +
      `this talks to the node of ${config.home} at ${url} (http.listenAddr in its config.yaml). For the node at ${fromEnv}, pass --url ${addressUrl(fromEnv)}`)
  }
  return { url, source: `http.listenAddr in ${config.file}`, config }
}
