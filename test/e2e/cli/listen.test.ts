/**
 * A listen address that cannot be bound (issue 14, item 3), with the real `milagro` binary: for
 * each of the three listeners — the API (`http.listenAddr`), metrics (`http.metricsListenAddr`)
 * and IPFS (`ipfs.listenAddr`) — a port held by a plain TCP server makes `milagro daemon` exit 1
 * with one line naming the address, the setting and its variable, and the likely cause; nothing
 * says "listening" first, and the home lock is released. A privileged port (EACCES) and an address
 * that is not this machine's are reported the same way. `milagro init` opens no IPFS port.
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { failureLine, nodeEnv, occupy, run, tempHome } from './processes.ts'

const NOBODY = 65534

function lastLine (text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? ''
}

describe('a listen address in use', () => {
  const listeners = [
    { setting: 'http.listenAddr', variable: 'MILAGRO_HTTP_LISTENADDR', value: (port: number) => `127.0.0.1:${port}`, shown: (port: number) => `127.0.0.1:${port}` },
    { setting: 'http.metricsListenAddr', variable: 'MILAGRO_HTTP_METRICSLISTENADDR', value: (port: number) => `127.0.0.1:${port}`, shown: (port: number) => `127.0.0.1:${port}` },
    { setting: 'ipfs.listenAddr', variable: 'MILAGRO_IPFS_LISTENADDR', value: (port: number) => `/ip4/127.0.0.1/tcp/${port}`, shown: (port: number) => `/ip4/127.0.0.1/tcp/${port}` },
  ]

  it('makes the daemon exit 1 with one line: LISTEN_ADDRESS_IN_USE, the address, the setting that chose it, the likely cause', async (t) => {
    const home = tempHome(t, 'dta-listen-')
    assert.equal((await run(['init'], nodeEnv(home))).code, 0)
    for (const listener of listeners) {
      const { port } = await occupy(t)
      const result = await run(['daemon'], nodeEnv(home, { [listener.variable]: listener.value(port) }))
      assert.equal(result.code, 1, `${listener.setting}: ${result.stderr}`)
      const line = failureLine(result.stderr, 'daemon')
      assert.ok(line !== undefined, `${listener.setting}: no failure line in\n${result.stderr}`)
      assert.equal(lastLine(result.stderr), line, 'the failure is the last line, and one line')
      assert.ok(line.startsWith('milagro daemon: LISTEN_ADDRESS_IN_USE: '), line)
      assert.ok(line.includes(listener.shown(port)), `${line} names the address`)
      assert.ok(line.includes(listener.setting) && line.includes(listener.variable), `${line} names ${listener.setting} and ${listener.variable}`)
      assert.match(line, /another milagro node or (another )?program/)
      assert.match(line, /port 0/)
      assert.ok(!result.stderr.includes('listening'), `${listener.setting}: nothing said "listening" before failing:\n${result.stderr}`)
      assert.ok(!existsSync(path.join(home, 'milagro.lock')), 'the failed start released the home lock')
    }
  })

  it('an address that is not this machine\'s is LISTEN_FAILED (EADDRNOTAVAIL), naming the setting', async (t) => {
    const home = tempHome(t, 'dta-listen-addr-')
    assert.equal((await run(['init'], nodeEnv(home))).code, 0)
    const result = await run(['daemon'], nodeEnv(home, { MILAGRO_HTTP_LISTENADDR: '192.0.2.1:5556' }))
    assert.equal(result.code, 1)
    const line = failureLine(result.stderr, 'daemon') ?? ''
    assert.match(line, /^milagro daemon: LISTEN_FAILED: .*192\.0\.2\.1:5556.*EADDRNOTAVAIL.*http\.listenAddr.*MILAGRO_HTTP_LISTENADDR/)
  })

  it('a privileged port is LISTEN_PERMISSION_DENIED (EACCES), naming the setting', async (t) => {
    let unprivilegedStart = 1024 // the default where /proc does not say (not Linux)
    try { unprivilegedStart = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) } catch { /* keep it */ }
    if (unprivilegedStart < 2) return t.skip('every port is unprivileged here')
    const asRoot = process.getuid?.() === 0
    // As root every port can be bound: run the node as nobody, in a home nobody owns.
    const root = mkdtempSync(path.join(tmpdir(), 'dta-listen-eacces-'))
    t.after(() => { rmSync(root, { recursive: true, force: true }) })
    if (asRoot) chownSync(root, NOBODY, NOBODY)
    const home = path.join(root, 'home')
    const as = asRoot ? { uid: NOBODY, gid: NOBODY } : {}
    assert.equal((await run(['init'], nodeEnv(home), as)).code, 0)
    const port = unprivilegedStart - 1
    const result = await run(['daemon'], nodeEnv(home, { MILAGRO_HTTP_METRICSLISTENADDR: `127.0.0.1:${port}` }), as)
    assert.equal(result.code, 1, result.stderr)
    const line = failureLine(result.stderr, 'daemon') ?? ''
    assert.match(line, new RegExp(`^milagro daemon: LISTEN_PERMISSION_DENIED: .*127\\.0\\.0\\.1:${port}.*http\\.metricsListenAddr`))
    assert.match(line, /privileged port.*MILAGRO_HTTP_METRICSLISTENADDR/)
  })
})

describe('milagro init', () => {
  it('succeeds while the IPFS port is in use: it does not listen', async (t) => {
    const home = tempHome(t, 'dta-listen-init-')
    const { port } = await occupy(t)
    const result = await run(['init'], nodeEnv(home, { MILAGRO_IPFS_LISTENADDR: `/ip4/127.0.0.1/tcp/${port}` }))
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /Node identity: Qm/)
  })
})
