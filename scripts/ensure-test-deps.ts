/**
 * Runs before `npm test`: the suite compares our CIDs with Debian's `ipfs_cid` (what `ipfs add`
 * prints), so make sure it is there — installing the Debian package when we may (root with
 * apt-get, as on CI and the project's machines), or saying exactly what to install otherwise.
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process'

function has (cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

if (!has('ipfs_cid')) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.error('installing Debian package ipfs-cid (needed by the CID tests)…')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'ipfs-cid'], { stdio: 'inherit', env })
  } else {
    console.error('The tests need `ipfs_cid` (Debian package ipfs-cid): sudo apt-get install ipfs-cid')
    process.exit(1)
  }
}
