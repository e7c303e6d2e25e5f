/**
 * The `milagro` command as a person uses it: `start` on an empty home initialises and serves (the
 * README's start command), a second `start` reuses the home; the client commands talk to a
 * running node and print text or, with --json, the API's JSON; usage errors exit 2, refusals 1.
 * The other CLI files: target.test.ts (which node a command talks to), help.test.ts, orders.test.ts
 * (hand-off, order list, audit), install.test.ts (`milagro` on PATH); milagro.ts has their helpers.
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createCluster } from '../server/harness.ts'

const BIN = fileURLToPath(new URL('../../../bin/milagro.js', import.meta.url))

function cleanEnv (extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MILAGRO_') && !k.startsWith('NODE_TEST')) env[k] = v
  return { ...env, ...extra }
}

async function cli (args: string[], env: Record<string, string>): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: cleanEnv(env), timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (typeof err.code === 'number' ? err.code : 1), stdout, stderr })
    })
  })
}

/** Runs `milagro start` and resolves with the "listening" log entry, and a stop function. */
async function start (env: Record<string, string>): Promise<{ info: Record<string, unknown>, stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'start'], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`not ready:\n${lines.join('\n')}`)) }, 45_000)
    createInterface({ input: child.stderr }).on('line', (line) => {
      lines.push(line)
      try {
        const entry = JSON.parse(line) as Record<string, unknown>
        if (entry.msg === 'milagro node listening') { clearTimeout(timer); resolve(entry) }
      } catch { /* not JSON */ }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}:\n${lines.join('\n')}`)) })
  })
  return {
    info,
    stop: async () => await new Promise((resolve) => { child.once('exit', (code) => { resolve(code) }); child.kill('SIGTERM') }),
  }
}

describe('milagro start', () => {
  it('initialises an empty home on first run, serves, stops on SIGTERM, and reuses the home next time', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'dta-start-'))
    const env = { MILAGRO_HOME: home, MILAGRO_HTTP_LISTENADDR: '127.0.0.1:0', MILAGRO_HTTP_METRICSLISTENADDR: '', MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0' }
    try {
      const first = await start(env)
      const status = await (await fetch(`${String(first.info.address)}/v1/status`)).json() as Record<string, unknown>
      assert.equal(status.nodeType, 'multi')
      assert.equal(status.plugin, 'milagro')
      assert.equal(status.nodeCID, first.info.nodeCID)
      assert.equal(await first.stop(), 0, 'graceful shutdown exits 0')
      assert.match(readFileSync(path.join(home, 'config.yaml'), 'utf8'), new RegExp(`nodeID: ${String(first.info.nodeCID)}`))
      const second = await start(env)
      assert.equal(second.info.nodeCID, first.info.nodeCID, 'the same node identity')
      assert.equal(await second.stop(), 0)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})

describe('client commands', () => {
  it('status, identity and order commands, as text and as JSON', async (t) => {
    const cluster = await createCluster(t, 'dta-cli-')
    const node = await cluster.init('clinode')
    await node.start()
    const env = { MILAGRO_HOME: node.home }
    const run = async (...args: string[]) => await cli([...args, '--url', node.url], env)

    const status = await run('status')
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, new RegExp(`nodeCID: ${node.cid}`))
    const statusJson = JSON.parse((await run('status', '--json')).stdout) as Record<string, unknown>
    assert.equal(statusJson.nodeCID, node.cid)

    const created = await run('identity', 'create', 'carol')
    assert.equal(created.code, 0, created.stderr)
    const carol = created.stdout.trim()
    assert.match(carol, /^Qm[1-9A-HJ-NP-Za-km-z]{44}$/)
    assert.match((await run('identity', 'get', carol)).stdout, /authenticationReference: carol/)
    assert.match((await run('identity', 'list', '--sort', 'asc')).stdout, new RegExp(`${carol}\\s+carol`))

    const order = JSON.parse((await run('order', 'create', '--json')).stdout) as Record<string, string>
    assert.match(order.orderReference, /^[0-9a-f]{32}$/)
    assert.match((await run('order', 'list')).stdout, new RegExp(order.orderReference))
    const secret = JSON.parse((await run('order', 'secret', order.orderReference, '--json')).stdout) as Record<string, string>
    assert.equal(secret.commitment, order.commitment)
    assert.match(secret.secret, /^[0-9a-f]{64}$/)
    const shown = await run('order', 'get', order.orderReference)
    assert.match(shown.stdout, new RegExp(`^secret +${secret.secret}$`, 'm'), 'as text, with the released secret')
    const shownJson = JSON.parse((await run('order', 'get', order.orderReference, '--json')).stdout) as { order: string }
    const document = JSON.parse(shownJson.order) as { OrderPart4: { Secret: string } }
    assert.equal(document.OrderPart4.Secret, secret.secret, 'the original shape, with the released secret')

    // Without --url the command finds the node through its home's config.yaml (here edited to the
    // port the harness started it on), not through MILAGRO_HTTP_LISTENADDR meant for another node.
    const configFile = path.join(node.home, 'config.yaml')
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace(/^( {2}listenAddr:) .*$/m, `$1 ${new URL(node.url).host}`))
    const viaHome = await cli(['status', '--json'], { MILAGRO_HOME: node.home, MILAGRO_HTTP_LISTENADDR: '127.0.0.1:1' })
    assert.equal(viaHome.code, 0, viaHome.stderr)
    assert.equal(JSON.parse(viaHome.stdout).nodeCID, node.cid)

    // --url at the node's metrics listener is named as such (issue 14 item 4).
    const listening = node.logTail(400).split('\n').map(line => { try { return JSON.parse(line) as Record<string, unknown> } catch { return {} } }).find(e => e.msg === 'milagro node listening')
    const metrics = `http://${String(listening?.metrics)}`
    const atMetrics = await cli(['status', '--url', metrics], env)
    assert.equal(atMetrics.code, 1)
    assert.match(atMetrics.stderr, new RegExp(`${metrics} is a node's metrics listener \\(http\\.metricsListenAddr`))

    const refused = await run('order', 'secret', '0'.repeat(32))
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /ORDER_NOT_FOUND/)
    const badExt = await run('order', 'create', '--ext', 'novalue')
    assert.equal(badExt.code, 2)
    const unknown = await run('frobnicate')
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /unknown command: frobnicate/)
    const help = await cli(['--help'], env)
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Usage: milagro/)
  })
})

describe('client authentication', () => {
  it('sends --token, or $MILAGRO_TOKEN, as a bearer token', async () => {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ authorization: req.headers.authorization ?? null }))
    })
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const flag = await cli(['status', '--json', '--url', url, '--token', 'tok.en.one'], {})
      assert.equal(JSON.parse(flag.stdout).authorization, 'Bearer tok.en.one')
      const env = await cli(['status', '--json', '--url', url], { MILAGRO_TOKEN: 'tok.en.two' })
      assert.equal(JSON.parse(env.stdout).authorization, 'Bearer tok.en.two')
      const none = await cli(['status', '--json', '--url', url], {})
      assert.equal(JSON.parse(none.stdout).authorization, null)
    } finally {
      server.close()
    }
  })
})
