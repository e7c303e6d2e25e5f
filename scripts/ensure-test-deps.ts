/**
 * Runs before `npm test`: make sure the Debian tools the suite relies on are there — installing the
 * Debian packages when we may (root with apt-get, as on CI and the project's machines), or saying
 * exactly what to install otherwise:
 * - `ipfs_cid` (package ipfs-cid): the suite compares our CIDs with what `ipfs add` prints;
 * - `softhsm2-util` (package softhsm2, which also brings /usr/lib/softhsm/libsofthsm2.so): the
 *   pkcs11 custody tests run against a SoftHSM2 token made in a temp folder;
 * - `curl` and `jq`: the original D-TA clients' flows (test/e2e/compat/original-clients.sh);
 * - PostgreSQL 15's server binaries (package postgresql-15): the PostgreSQL state tests start
 *   their own throwaway cluster (test/helpers/postgres.ts);
 * - `go` and golang.org/x/mod (packages golang-go, golang-golang-x-mod-dev, which puts it under
 *   /usr/share/gocode): the transparency log's independent check builds a Go verifier offline
 *   (test/interop/tlog.test.ts).
 * - Debian's Chromium (package chromium, /usr/bin/chromium): the web console's tests drive it with
 *   playwright-core (test/e2e/console/browser.ts) — never a browser playwright would download.
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process'

function has (cmd: string): boolean {
  return spawnSync('sh', ['-c', cmd.startsWith('test ') ? cmd : `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

/** `command`: a program to find, or a `test …` condition. */
const NEEDED: ReadonlyArray<{ command: string, pkg: string, why: string }> = [
  { command: 'ipfs_cid', pkg: 'ipfs-cid', why: 'the CID tests' },
  { command: 'softhsm2-util', pkg: 'softhsm2', why: 'the pkcs11 custody tests' },
  { command: 'curl', pkg: 'curl', why: 'the original clients\' flows' },
  { command: 'jq', pkg: 'jq', why: 'the original clients\' flows' },
  { command: '/usr/lib/postgresql/15/bin/postgres', pkg: 'postgresql-15', why: 'the PostgreSQL state tests' },
  { command: 'go', pkg: 'golang-go', why: 'the Go cross-check of the transparency log' },
  { command: 'test -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog', pkg: 'golang-golang-x-mod-dev', why: 'the Go cross-check of the transparency log' },
  { command: '/usr/bin/chromium', pkg: 'chromium', why: 'the web console tests' },
]

const missing = NEEDED.filter(n => !has(n.command))
if (missing.length > 0) {
  const pkgs = missing.map(n => n.pkg)
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.error(`installing Debian package(s) ${pkgs.join(', ')} (needed by ${missing.map(n => n.why).join(' and ')})…`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env })
  } else {
    for (const n of missing) console.error(`The tests need \`${n.command}\` (Debian package ${n.pkg}) for ${n.why}.`)
    console.error(`Install: sudo apt-get install ${pkgs.join(' ')}`)
    process.exit(1)
  }
}
