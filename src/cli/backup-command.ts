/**
 * The `backup` and `restore` commands: the words around backup.ts.
 * @module
 */
import { resolve } from 'node:path'
import { resolveHome } from '../config/load.ts'
import { UsageError } from './usage.ts'
import type { Values } from './usage.ts'

export async function backupCommand (name: 'backup' | 'restore', args: string[], values: Values): Promise<void> {
  const file = args[0]
  if (file === undefined) throw new UsageError(`${name} needs the backup FILE`)
  const home = resolveHome()
  const { backupNode, restoreNode } = await import('./backup.ts')
  if (name === 'backup') {
    const manifest = await backupNode(home, resolve(file))
    console.log(`Wrote ${resolve(file)}: node ${manifest.nodeID} ("${manifest.nodeName}"), ${manifest.datastore} state, documents and pins. The custody key is not in it: keep it apart.`)
    return
  }
  const { manifest, keyChecked } = await restoreNode(home, resolve(file), values.key === undefined ? {} : { keyFile: resolve(values.key) })
  console.log(`Restored node ${manifest.nodeID} ("${manifest.nodeName}", backed up ${manifest.createdAt}) into ${home}.`)
  console.log(keyChecked
    ? 'The custody key opens the node identity. Start it with `milagro daemon`.'
    : 'Copy the node\'s custody key into the home (mode 0600; or set the passphrase, or reach the HSM) before `milagro daemon`.')
}
