/**
 * `milagro init`: creates a node's home (src/node.ts `initNode`) from flags, or from answers with
 * --interactive.
 * @module
 */
import { createInterface } from 'node:readline/promises'
import { resolveHome } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import { UsageError } from './usage.ts'
import type { Values } from './usage.ts'

async function ask (question: string, fallback: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    const answer = (await rl.question(`${question} [${fallback}]: `)).trim()
    return answer === '' ? fallback : answer
  } finally {
    rl.close()
  }
}

export async function init (values: Values): Promise<void> {
  const home = resolveHome()
  let nodeName = values.nodename
  let nodeType = values.nodetype
  let service = values.service
  let master = values.masterfiduciarynode
  if (values.interactive === true) {
    nodeName = await ask('Node name', nodeName ?? 'node')
    nodeType = await ask('Node type (multi, principal, fiduciary)', nodeType ?? 'multi')
    service = await ask('Plugin (milagro, safeguardsecret, bitcoinwallet)', service ?? 'milagro')
    if (nodeType === 'principal') master = await ask('Master fiduciary (CID,URL)', master ?? '')
  }
  let masterFiduciary: { cid: string, url: string } | undefined
  if (master !== undefined && master !== '') {
    const [cid, url, ...rest] = master.split(',')
    if (cid === undefined || url === undefined || rest.length > 0) throw new UsageError('--masterfiduciarynode takes CID,URL')
    masterFiduciary = { cid, url }
  }
  const { initNode } = await import('../node.ts')
  const config = await initNode({
    home,
    nodeName,
    nodeType: nodeType as Config['node']['nodeType'] | undefined,
    service: service as Config['plugins']['service'] | undefined,
    masterFiduciary,
  })
  console.log(`Initialised ${home}\nNode identity: ${config.node.nodeID}\nNode type: ${config.node.nodeType}, plugin: ${config.plugins.service}`)
}

