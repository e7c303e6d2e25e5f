/**
 * `milagro daemon` runs the node of a home until SIGINT/SIGTERM (graceful shutdown); `milagro
 * start` initialises a new home with defaults first — the README's one command. The server (Helia,
 * Fastify, SQLite…) is imported only here, so that client commands start in a fraction of the time.
 * @module
 */
import { CONFIG_FILE, loadConfig, resolveHome, resolveInHome } from '../config/load.ts'
import { init } from './init.ts'
import { exists } from './usage.ts'
import type { Values } from './usage.ts'

export async function daemon (): Promise<void> {
  const home = resolveHome()
  const config = await loadConfig({ home })
  const { createLogger } = await import('../logging.ts')
  const { createNode } = await import('../node.ts')
  const logger = createLogger(config.log)
  if (config.http.oidcIssuer === '') {
    logger.warn('NO AUTHENTICATION: http.oidcIssuer is not set, so anyone who can reach the API can create identities and redeem secrets. Keep http.listenAddr on loopback or configure OAuth2.')
  }
  const node = await createNode({ home, config, logger })
  // The handlers are in place before the node starts, so a signal that follows the "listening"
  // line at once (a supervisor, a test) always finds them: on a busy machine the process can be
  // descheduled between writing that line and the next statement.
  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    const force = setTimeout(() => { logger.error('shutdown timed out'); process.exit(1) }, config.http.shutdownTimeoutMs)
    force.unref()
    node.stop().then(() => { logger.info('stopped'); process.exit(0) }, (err: unknown) => { logger.error({ err }, 'shutdown failed'); process.exit(1) })
  }
  process.on('SIGINT', () => { shutdown('SIGINT') })
  process.on('SIGTERM', () => { shutdown('SIGTERM') })
  let address: string
  try {
    address = await node.start()
  } catch (err) {
    if (stopping) return
    await node.stop()
    throw err
  }
  if (stopping) return
  logger.info({ address, metrics: node.metricsAddress(), nodeCID: node.nodeCID, nodeType: config.node.nodeType, plugin: config.plugins.service, peerID: node.documents.peerId(), ipfs: node.documents.multiaddrs() }, 'milagro node listening')
}

export async function start (values: Values): Promise<void> {
  const home = resolveHome()
  if (!await exists(resolveInHome(home, CONFIG_FILE))) await init(values)
  await daemon()
}

