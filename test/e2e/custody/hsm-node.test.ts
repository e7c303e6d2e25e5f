/**
 * End to end, as real processes from `bin/milagro.js`: a node whose custody is an HSM (SoftHSM2,
 * token directory in the test's temp folder, SOFTHSM2_CONF in the children's environment).
 *
 * 1. `milagro init` with `MILAGRO_NODE_CUSTODY=pkcs11` creates the KEK inside the token (no key
 *    file in the home, no PIN in config.yaml) and seals the node identity's root seed there.
 * 2. The daemon (PIN from a 0600 PIN file) serves order and order/secret for the milagro plugin;
 *    every seed in the state database is under the HSM key id.
 * 3. After a restart an order placed before it is redeemed, and a redemption repeated gives the
 *    same secret.
 * 4. A wrong PIN (MILAGRO_NODE_PKCS11PIN over the file) stops the daemon at start with
 *    CUSTODY_PKCS11_PIN_INCORRECT, exit code 1, and the PIN in no output.
 * 5. `milagro custody migrate` refuses while the daemon answers; stopped, `--to local` and back
 *    `--to pkcs11` keep every earlier order redeemable to the same secret.
 * @module
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { secpPublicKey } from '../../../src/crypto/secp256k1.ts'
import { createSoftHsm } from '../../helpers/softhsm.ts'
import type { SoftHsm } from '../../helpers/softhsm.ts'

const BIN = fileURLToPath(new URL('../../../bin/milagro.js', import.meta.url))
const PIN = '73946'
const WRONG_PIN = '11112222'
const READY_MS = 30_000
const CLI_MS = 60_000

const live = new Set<ChildProcess>()
process.once('exit', () => { for (const c of live) { try { c.kill('SIGKILL') } catch { /* gone */ } } })

function baseEnv (home: string, hsm: SoftHsm, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('MILAGRO_') && !k.startsWith('NODE_TEST')) env[k] = v
  }
  return { ...env, ...hsm.env, MILAGRO_HOME: home, MILAGRO_LOG_LEVEL: 'info', MILAGRO_LOG_FORMAT: 'json', ...extra }
}

async function cli (args: string[], env: Record<string, string>): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    const child = execFile(process.execPath, [BIN, ...args], { env, timeout: CLI_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, stdout, stderr })
    })
    live.add(child)
    child.once('exit', () => { live.delete(child) })
  })
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => { resolve(port) })
    })
  })
}

interface Daemon {
  url: string
  output: () => string
  stop: () => Promise<number | null>
}

/** Starts `milagro daemon`; resolves once it logs "milagro node listening", rejects with its output if it exits first. */
async function startDaemon (env: Record<string, string>): Promise<Daemon> {
  const child = spawn(process.execPath, [BIN, 'daemon'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  const lines: string[] = []
  const exited = new Promise<number | null>(resolve => { child.once('exit', code => { live.delete(child); resolve(code) }) })
  let onReady: (url: string) => void = () => {}
  const ready = new Promise<string>(resolve => { onReady = resolve })
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', line => {
      lines.push(line)
      try {
        const entry = JSON.parse(line) as { msg?: string, address?: string }
        if (entry.msg === 'milagro node listening' && entry.address !== undefined) onReady(entry.address)
      } catch { /* not JSON */ }
    })
  }
  let timer: NodeJS.Timeout | undefined
  const url = await Promise.race([
    ready,
    exited.then(code => { throw Object.assign(new Error(`daemon exited (${String(code)}) before it was ready:\n${lines.join('\n')}`), { code, lines }) }),
    new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error(`daemon not ready in ${READY_MS} ms:\n${lines.join('\n')}`)) }, READY_MS) }),
  ]).finally(() => { clearTimeout(timer) })
  return {
    url,
    output: () => lines.join('\n'),
    async stop () {
      child.kill('SIGTERM')
      const killer = setTimeout(() => { child.kill('SIGKILL') }, 15_000)
      try { return await exited } finally { clearTimeout(killer) }
    },
  }
}

async function post<T> (url: string, body: unknown): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) })
  const payload = await response.json() as T
  assert.equal(response.status, 200, `${url} → ${response.status} ${JSON.stringify(payload)}`)
  return payload
}

interface Placed { orderReference: string, commitment: string }

async function order (daemon: Daemon): Promise<Placed> {
  const placed = await post<Placed>(`${daemon.url}/v1/order`, {})
  assert.match(placed.orderReference, /^[0-9a-f]{32}$/)
  assert.match(placed.commitment, /^0[23][0-9a-f]{64}$/)
  return placed
}

/** Redeems and checks the secret is the private key of the commitment; returns the secret. */
async function redeem (daemon: Daemon, placed: Placed): Promise<string> {
  const r = await post<{ secret?: string, commitment: string, orderReference: string }>(`${daemon.url}/v1/order/secret`, { orderReference: placed.orderReference })
  assert.equal(r.orderReference, placed.orderReference)
  assert.equal(r.commitment, placed.commitment)
  assert.ok(typeof r.secret === 'string' && /^[0-9a-f]{64}$/.test(r.secret), 'a 32-byte secret')
  assert.ok(Buffer.from(secpPublicKey(Buffer.from(r.secret, 'hex'))).toString('hex') === placed.commitment, 'the secret is the commitment\'s private key')
  return r.secret
}

function seedKeyIds (home: string): Map<string, number> {
  const db = new DatabaseSync(join(home, 'state.sqlite'), { readOnly: true })
  try {
    const rows = db.prepare('SELECT key_id, count(*) AS n FROM sealed_seeds GROUP BY key_id').all() as Array<{ key_id: string, n: number }>
    return new Map(rows.map(r => [r.key_id, r.n]))
  } finally {
    db.close()
  }
}

describe('a node whose custody is the HSM (SoftHSM2), as processes', () => {
  let root: string
  let hsm: SoftHsm
  after(async () => {
    for (const c of live) c.kill('SIGKILL')
    if (root !== undefined) await rm(root, { recursive: true, force: true })
    await hsm?.cleanup()
  })

  it('init, order and redemption, restart, wrong PIN, migration both ways', { timeout: 240_000 }, async () => {
    hsm = await createSoftHsm()
    await hsm.initToken('e2e', PIN)
    root = await mkdtemp(join(tmpdir(), 'dta-hsm-e2e-'))
    const home = join(root, 'home')
    await mkdir(home, { mode: 0o700 })
    await writeFile(join(home, 'pkcs11.pin'), `${PIN}\n`, { mode: 0o600 })
    const port = await freePort()
    const env = baseEnv(home, hsm, {
      MILAGRO_NODE_CUSTODY: 'pkcs11',
      MILAGRO_NODE_PKCS11TOKENLABEL: 'e2e',
      MILAGRO_NODE_PKCS11PINFILE: 'pkcs11.pin',
      MILAGRO_HTTP_LISTENADDR: `127.0.0.1:${port}`,
      MILAGRO_HTTP_METRICSLISTENADDR: '127.0.0.1:0',
      MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0',
    })

    // 1. init
    const init = await cli(['init', '--nodetype', 'multi', '--service', 'milagro', '--nodename', 'hsm-node'], env)
    assert.equal(init.code, 0, init.stderr)
    const nodeCID = /Node identity: (Qm\w{44})/.exec(init.stdout)?.[1]
    assert.ok(nodeCID !== undefined, init.stdout)
    const configText = await readFile(join(home, 'config.yaml'), 'utf8')
    assert.match(configText, /custody: pkcs11/)
    assert.ok(!configText.includes(PIN), 'no PIN in config.yaml')
    await assert.rejects(access(join(home, 'custody.key')), 'no local key file')
    const afterInit = seedKeyIds(home)
    assert.equal(afterInit.size, 1, 'the node identity seed is under one key')
    const hsmKeyId = [...afterInit.keys()][0]

    // 2. serve orders
    let daemon = await startDaemon(env)
    const status = await (await fetch(`${daemon.url}/v1/status`)).json() as { nodeCID: string }
    assert.equal(status.nodeCID, nodeCID)
    const a = await order(daemon)
    const secretA = await redeem(daemon, a)
    const b = await order(daemon)
    const c = await order(daemon)
    assert.deepEqual([...seedKeyIds(home)], [[hsmKeyId, 4]], 'node identity and three order seeds, all under the HSM key')

    // 5a. migration refuses while the node runs (it holds the home's lock)
    const busy = await cli(['custody', 'migrate', '--to', 'local'], env)
    assert.equal(busy.code, 1)
    assert.match(busy.stderr, /HOME_LOCKED: .*already running \(pid \d+\).*stop it first/)
    assert.equal((await stopOk(daemon)), 0)

    // 3. restart
    daemon = await startDaemon(env)
    const secretB = await redeem(daemon, b)
    assert.equal(await redeem(daemon, a), secretA, 'a repeated redemption gives the same secret')
    assert.equal(await stopOk(daemon), 0)

    // 4. wrong PIN
    await assert.rejects(startDaemon({ ...env, MILAGRO_NODE_PKCS11PIN: WRONG_PIN }), (err: unknown) => {
      const e = err as { code: number | null, message: string }
      assert.equal(e.code, 1)
      assert.match(e.message, /CUSTODY_PKCS11_PIN_INCORRECT/)
      assert.ok(!e.message.includes(WRONG_PIN) && !e.message.includes(PIN), 'no PIN in the output')
      return true
    })

    // 5b. migrate to local and back, redeeming across both
    const toLocal = await cli(['custody', 'migrate', '--to', 'local'], env)
    assert.equal(toLocal.code, 0, toLocal.stderr)
    assert.match(toLocal.stdout, /Re-sealed 4 record\(s\)/)
    assert.match(await readFile(join(home, 'config.yaml'), 'utf8'), /custody: local/)
    await access(join(home, 'custody.key'))
    const localEnv = { ...env, MILAGRO_NODE_CUSTODY: 'local' }
    const localKeyIds = seedKeyIds(home)
    assert.equal(localKeyIds.size, 1)
    assert.notEqual([...localKeyIds.keys()][0], hsmKeyId)
    daemon = await startDaemon(localEnv)
    assert.equal(await redeem(daemon, a), secretA)
    assert.equal(await redeem(daemon, b), secretB)
    const d = await order(daemon)
    assert.equal(await stopOk(daemon), 0)

    const again = await cli(['custody', 'migrate', '--to', 'local', '--json'], localEnv)
    assert.equal(again.code, 0, again.stderr)
    assert.equal((JSON.parse(again.stdout) as { resealed: number }).resealed, 0, 'nothing left to re-seal')

    const back = await cli(['custody', 'migrate', '--to', 'pkcs11'], localEnv)
    assert.equal(back.code, 0, back.stderr)
    assert.match(back.stdout, /Re-sealed 5 record\(s\)/)
    assert.deepEqual([...seedKeyIds(home)], [[hsmKeyId, 5]], 'back under the same HSM key')
    const st = await cli(['custody', 'status'], env)
    assert.equal(st.code, 0, st.stderr)
    assert.match(st.stdout, new RegExp(`backend: pkcs11\\nkeyId: ${hsmKeyId}\\nseeds: 5 under this key, 0 under other keys`))
    daemon = await startDaemon(env)
    assert.equal(await redeem(daemon, a), secretA)
    assert.equal(await redeem(daemon, b), secretB)
    await redeem(daemon, c)
    await redeem(daemon, d)
    assert.ok(!daemon.output().includes(PIN), 'no PIN in the logs')
    assert.equal(await stopOk(daemon), 0)
  })
})

async function stopOk (daemon: Daemon): Promise<number | null> {
  return await daemon.stop()
}
