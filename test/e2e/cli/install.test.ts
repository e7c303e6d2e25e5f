/**
 * Issue 14 item 7: the supported way to get a `milagro` command on PATH (docs/cli.md) —
 * `npm install -g --prefix DIR .` of the checkout, offline — gives a command that works from any
 * folder on the checkout's pinned Node 24, even when the first `node` on PATH is older (the
 * system's v20 here): package.json's bin is the launcher bin/milagro, which execs
 * node_modules/node/bin/node. npm links the global package to the checkout, so nothing is copied
 * and no registry is asked.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ROOT, fakeNode, run } from './milagro.ts'
import type { FakeNode } from './milagro.ts'

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

/** The first `node` on PATH that is not the project's own (node_modules), e.g. /usr/bin/node. */
function systemNode (): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue
    const candidate = path.join(dir, 'node')
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' })
      return candidate
    } catch { /* not there */ }
  }
  return undefined
}

/** The environment of a user's shell: no npm_* (from `npm test`), no MILAGRO_*, no test-runner variables. */
function userEnv (extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(npm_|MILAGRO_|NODE_TEST|NODE_OPTIONS$)/i.test(k)) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

describe('milagro installed on PATH', () => {
  let prefix: string
  let elsewhere: string
  let node: FakeNode
  before(async () => {
    prefix = mkdtempSync(path.join(tmpdir(), 'dta-cli-prefix-'))
    elsewhere = mkdtempSync(path.join(tmpdir(), 'dta-cli-cwd-'))
    node = await fakeNode({ nodeCID: 'QmInstalled', nodeType: 'multi', plugin: 'milagro' })
  })
  after(async () => {
    await node.close()
    rmSync(prefix, { recursive: true, force: true })
    rmSync(elsewhere, { recursive: true, force: true })
  })

  it('`npm install -g --prefix DIR .` gives a command that runs on the pinned Node 24 from any folder', { timeout: 120_000 }, async (t) => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const install = await run(npm, ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', ROOT], { env: userEnv({}), cwd: elsewhere, timeoutMs: 110_000 })
    assert.equal(install.code, 0, `${install.stdout}\n${install.stderr}`)

    const system = systemNode()
    const PATH = [path.join(prefix, 'bin'), ...(system === undefined ? [] : [path.dirname(system)]), '/usr/bin', '/bin'].join(path.delimiter)
    const env = userEnv({ PATH })
    // The first `node` on this PATH is the system's (v20 on the CI image), not the project's Node 24.
    const first = await run('node', ['-p', 'process.execPath + " " + process.version'], { env, cwd: elsewhere })
    t.diagnostic(`first node on PATH: ${first.stdout.trim() || 'none'}`)
    if (first.code === 0) assert.doesNotMatch(first.stdout, /node_modules/)

    const version = await run('milagro', ['--version'], { env, cwd: elsewhere })
    assert.equal(version.code, 0, version.stderr)
    assert.equal(version.stdout, `milagro ${VERSION}\n`)

    const status = await run('milagro', ['status', '--json', '--url', node.url], { env, cwd: elsewhere })
    assert.equal(status.code, 0, status.stderr)
    assert.equal(JSON.parse(status.stdout).nodeCID, 'QmInstalled')

    const noHome = await run('milagro', ['status'], { env: { ...env, MILAGRO_HOME: path.join(elsewhere, 'missing') }, cwd: elsewhere })
    assert.equal(noHome.code, 1)
    assert.match(noHome.stderr, /no node home at/)
    assert.doesNotMatch(noHome.stderr, /needs Node 24/)
  })
})
