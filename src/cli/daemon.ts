/**
 * `milagro daemon` runs the node of a home until SIGINT/SIGTERM (graceful shutdown); `milagro
 * start` initialises a new home with defaults first — the README's one command — or finishes an
 * unfinished init (no config.yaml yet: init resumes it). The server (Helia, Fastify, SQLite…) is
 * imported only here, so that client commands start in a fraction of the time.
 *
 * The daemon holds the home lock (src/adapters/home-lock.ts) from before it opens anything until
 * it has closed everything: a second daemon, `init` or `custody migrate` on the home refuses with
 * HOME_LOCKED ("already running (pid N)"). The lock is released on a graceful stop (SIGINT,
 * SIGTERM), on a start that fails, and by the lock's exit hook when the shutdown times out; a
 * SIGKILL leaves it stale, and the next start takes it over and says so.
 * @module
 */
import { CONFIG_FILE, loadConfig, resolveHome, resolveInHome } from '../config/load.ts'
import { DtaError } from '../errors.ts'
import { init } from './init.ts'
import { exists } from './usage.ts'
import type { Values } from './usage.ts'

export async function daemon (): Promise<void> {
  const home = resolveHome()
  const config = await loadConfig({ home })
  if (config.node.nodeID === '') {
    const unfinished = await exists(home) && !await exists(resolveInHome(home, CONFIG_FILE))
    throw new DtaError('CONFIG_INVALID', `node.nodeID is empty: run \`milagro init\` for ${home} first${unfinished ? ' (it finishes the init that was interrupted there)' : ''}`)
  }
  const { createLogger } = await import('../logging.ts')
  const { createNode } = await import('../node.ts')
  const { lockHome } = await import('../adapters/home-lock.ts')
  const logger = createLogger(config.log)
  const lock = await lockHome(home, 'milagro daemon')
  if (lock.replaced !== undefined) {
    logger.warn({ lock: lock.file, stalePid: lock.replaced.pid }, `took over a stale lock: pid ${lock.replaced.pid} (${lock.replaced.command}, since ${lock.replaced.since}) is no longer running; it did not stop cleanly`)
  }
  if (config.http.oidcIssuer === '') {
    logger.warn('NO AUTHENTICATION: http.oidcIssuer is not set, so anyone who can reach the API can create identities and redeem secrets. Keep http.listenAddr on loopback or configure OAuth2.')
  }
  const creating = createNode({ home, config, logger })
  // The handlers are in place before the node is opened, so a signal at any moment — while it
  // opens, or right after the "listening" line (a supervisor, a test) — is a graceful stop that
  // releases the lock: on a busy machine the process can be descheduled between any two lines.
  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    const force = setTimeout(() => { logger.error('shutdown timed out'); process.exit(1) }, config.http.shutdownTimeoutMs)
    force.unref()
    creating.then(async (node) => { await node.stop() }, () => { /* it failed to open: nothing to stop */ })
      .then(async () => { await lock.release(); logger.info('stopped'); process.exit(0) },
        (err: unknown) => { logger.error({ err }, 'shutdown failed'); process.exit(1) })
  }
  process.on('SIGINT', () => { shutdown('SIGINT') })
  process.on('SIGTERM', () => { shutdown('SIGTERM') })
  let node
  let address: string
  try {
    node = await creating
    if (stopping) return // a signal came while it opened: shutdown stops it
    address = await node.start()
  } catch (err) {
    if (stopping) return
    await node?.stop()
    await lock.release()
    throw err
  }
  if (stopping) return
  const [listenHost] = config.http.listenAddr.split(/:(?=\d+$)/)
  if (!node.https && !/^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/.test(listenHost ?? '')) {
    logger.warn({ listenAddr: config.http.listenAddr }, 'PLAIN HTTP ON A NETWORK ADDRESS: bearer tokens and released secrets cross the network in clear text. Set http.tlsCertFile and http.tlsKeyFile (`milagro tls` makes a self-signed pair), or listen on 127.0.0.1 behind a TLS proxy.')
  }
  process.on('SIGHUP', () => {
    node.reloadTls().then(() => { if (node.https) logger.info('TLS certificate reloaded') },
      (err: unknown) => { logger.error({ code: (err as DtaError).code, err: String(err) }, 'TLS reload failed; the previous certificate stays in use') })
  })
  logger.info({ address, metrics: node.metricsAddress(), nodeCID: node.nodeCID, nodeType: config.node.nodeType, plugin: config.plugins.service, peerID: node.documents.peerId(), ipfs: node.documents.multiaddrs() }, 'milagro node listening')
}

export async function start (values: Values): Promise<void> {
  const home = resolveHome()
  if (!await exists(resolveInHome(home, CONFIG_FILE))) await init(values)
  await daemon()
}
