/**
 * Security suite (c): secrets never leak. Full flows run on real nodes (in process, real HTTP
 * between a principal and a fiduciary) with every plugin — milagro (with and without a
 * beneficiary), safeguardsecret (plainText in, plainText out, a tampered ciphertext refused),
 * bitcoinwallet (a principal share and a beneficiary key combined with the fiduciary's), with
 * OAuth2 on between principal and fiduciary — and with the log level at debug, captured. Then
 * the test gathers every secret of the run:
 * - what the API handed out: each redeemed `secret`, the `plainText` sent and returned, the
 *   principal's node-to-node bearer token;
 * - what only custody holds, unsealed here through custody from the state database (test-only
 *   access): every identity root seed with the private keys derived from it (secp256k1, BLS,
 *   X-Wing's ML-KEM seed and X25519 key), every order seed with its order private key, and every
 *   sealed plugin value (the bitcoinwallet principal shares);
 * and asserts that none appears — as raw bytes, lower/upper hex, base64 or base64url — in the
 * logs, in any error body or other non-secret answer, or in any file of the nodes' homes: the
 * state database with its WAL (read while the nodes run, and again after they stop), the IPFS
 * blockstore and datastore, the config. The scanner itself is checked on planted canaries, so a
 * broken scanner cannot pass.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { DatabaseSync } from 'node:sqlite'
import { loadConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/schema.ts'
import { deriveIdentityKeys } from '../../src/core/identity.ts'
import { orderKeyFromSeed } from '../../src/crypto/secp256k1.ts'
import { parseOrderSecretRecord } from '../../src/core/order.ts'
import { createLogger } from '../../src/logging.ts'
import { createNode, initNode, openCustody } from '../../src/node.ts'
import type { DtaNode, InitOptions } from '../../src/node.ts'
import { pluginSealRecordId } from '../../src/ports/state.ts'
import { AUDIENCE, CLIENTS, startTestIssuer } from './fixtures/oidc.ts'
import type { TestIssuer } from './fixtures/oidc.ts'

const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '2000', MILAGRO_HTTP_METRICSLISTENADDR: '', MILAGRO_HTTP_LISTENADDR: '127.0.0.1:0' }

interface Secret { what: string, bytes: Uint8Array }

/** Every form a secret could take in text or binary: raw, hex (both cases), base64, base64url. */
function needles (secret: Secret): Array<{ form: string, needle: Buffer }> {
  const raw = Buffer.from(secret.bytes)
  const forms: Array<[string, Buffer]> = [
    ['raw', raw],
    ['hex', Buffer.from(raw.toString('hex'))],
    ['HEX', Buffer.from(raw.toString('hex').toUpperCase())],
    ['base64', Buffer.from(raw.toString('base64').replace(/=+$/, ''))],
    ['base64url', Buffer.from(raw.toString('base64url'))],
  ]
  // base64 of a value depends on its alignment inside a longer string: search the middle part,
  // which is the same at any offset divisible by 3 only, so add the encodings at offsets 1 and 2.
  for (const shift of [1, 2]) {
    const shifted = Buffer.concat([Buffer.alloc(shift), raw]).toString('base64')
    forms.push([`base64+${shift}`, Buffer.from(shifted.slice(4, shifted.length - 4))])
  }
  return forms.map(([form, needle]) => ({ form, needle }))
}

function scan (haystack: Buffer, secrets: Secret[], where: string): string[] {
  const found: string[] = []
  for (const secret of secrets) {
    for (const { form, needle } of needles(secret)) {
      if (needle.length >= 16 && haystack.indexOf(needle) >= 0) found.push(`${secret.what} (${form}) in ${where}`)
    }
  }
  return found
}

function filesUnder (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(full))
    else if (entry.isFile()) out.push(full)
  }
  return out
}

function scanFiles (homes: string[], secrets: Secret[]): { found: string[], files: number, bytes: number } {
  const found: string[] = []
  let files = 0
  let bytes = 0
  for (const home of homes) {
    for (const file of filesUnder(home)) {
      const content = readFileSync(file)
      files++
      bytes += content.length
      found.push(...scan(content, secrets, path.relative(path.dirname(home), file)))
    }
  }
  return { found, files, bytes }
}

/** Test-only: unseals every sealed record of a home through its custody, and derives the keys. */
async function custodySecrets (home: string, config: Config): Promise<Secret[]> {
  const secrets: Secret[] = []
  const custody = await openCustody(home, config)
  const db = new DatabaseSync(path.join(home, config.node.databaseFile), { readOnly: true })
  try {
    const seeds = db.prepare('SELECT record_id, sealed FROM sealed_seeds').all() as Array<{ record_id: string, sealed: Uint8Array }>
    for (const { record_id: id, sealed } of seeds) {
      const seed = await custody.unseal(id, sealed)
      secrets.push({ what: `seed ${id}`, bytes: seed })
      if (id.startsWith('identity/')) {
        const keys = deriveIdentityKeys(seed)
        secrets.push({ what: `EC private key of ${id}`, bytes: keys.ecPrivateKey })
        secrets.push({ what: `BLS secret key of ${id}`, bytes: keys.bls.key.toBytes() })
        secrets.push({ what: `ML-KEM seed of ${id}`, bytes: keys.kem.mlkem.export({ format: 'raw-seed' } as never) as unknown as Uint8Array })
        secrets.push({ what: `X25519 key of ${id}`, bytes: keys.kem.x25519.export({ format: 'raw-private' } as never) as unknown as Uint8Array })
      } else if (id.startsWith('order/fiduciary/')) {
        // the fiduciary's record: the seed and the order key it derives to (core/order.ts orderSecretRecord)
        const record = parseOrderSecretRecord(seed)
        secrets.push({ what: `order seed of ${id}`, bytes: record.seed }, { what: `order private key of ${id}`, bytes: record.orderKey })
      } else if (id.startsWith('order/')) {
        secrets.push({ what: `order private key of ${id}`, bytes: orderKeyFromSeed(seed).privateKey })
      }
    }
    const values = db.prepare("SELECT plugin, key, value FROM plugin_kv WHERE typeof(value) = 'blob'").all() as Array<{ plugin: string, key: string, value: Uint8Array }>
    for (const { plugin, key, value } of values) {
      const id = pluginSealRecordId(plugin, key)
      secrets.push({ what: `plugin secret ${id}`, bytes: await custody.unseal(id, value) })
    }
  } finally {
    db.close()
    await custody.close()
  }
  return secrets
}

describe('security: secrets never leak (logs, error bodies, state database with WAL, IPFS blockstore)', () => {
  let root: string
  let idp: TestIssuer
  const logLines: Buffer[] = []
  const logs = new Writable({ write (chunk: Buffer, _enc, done) { logLines.push(Buffer.from(chunk)); done() } })
  const logger = createLogger({ level: 'debug', format: 'json' }, logs)
  const nodes: Array<{ name: string, home: string, config: Config, node: DtaNode }> = []
  /** Answers that must hold no secret: every error body and every non-redeem answer. */
  const publicAnswers: Array<{ what: string, body: string }> = []
  /** GET /v1/order/{ref} answers: they show the released secret to its recipient (OrderPart4.Secret), nothing else secret. */
  const orderAnswers: Array<{ what: string, body: string }> = []
  const handedOut: Secret[] = []

  async function start (name: string, init: Omit<InitOptions, 'home'>, vars: Record<string, string> = {}): Promise<{ node: DtaNode, url: string }> {
    const home = path.join(root, name)
    await initNode({ ...init, home, nodeName: name, env })
    const config = await loadConfig({ home, env: { ...env, ...vars } })
    const node = await createNode({ home, config, logger })
    const url = await node.start()
    nodes.push({ name, home, config, node })
    return { node, url }
  }

  async function call (url: string, method: 'GET' | 'POST', body?: unknown, token?: string): Promise<{ status: number, body: any }> {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20_000) })
    const text = await res.text()
    const redeem = url.endsWith('/v1/order/secret') && res.status === 200
    const what = `${method} ${new URL(url).pathname} → ${res.status}`
    if (method === 'GET' && /\/v1\/order\/[0-9a-f]{32}$/.test(url) && res.status === 200) orderAnswers.push({ what, body: text })
    else if (!redeem) publicAnswers.push({ what, body: text })
    return { status: res.status, body: JSON.parse(text) }
  }
  function secretFrom (what: string, hex: unknown): void {
    assert.match(String(hex), /^[0-9a-f]{64}$/, what)
    handedOut.push({ what, bytes: Buffer.from(String(hex), 'hex') })
  }

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'dta-leak-'))
    idp = await startTestIssuer()
  })
  after(async () => {
    for (const { node } of nodes.splice(0)) await node.stop()
    await idp?.stop()
    if (root !== undefined) rmSync(root, { recursive: true, force: true })
  })

  it('runs full flows of every plugin with debug logging, then finds no secret anywhere it must not be', async (t) => {
    // ── milagro, multi node: order, redeem; an order for a held beneficiary; refusals ──────────
    {
      const { url } = await start('milagro', { service: 'milagro' })
      const ben = (await call(`${url}/v1/identity`, 'POST', { name: 'beneficiary' })).body.idDocumentCID
      const o1 = (await call(`${url}/v1/order`, 'POST', {})).body
      secretFrom('milagro secret', (await call(`${url}/v1/order/secret`, 'POST', { orderReference: o1.orderReference })).body.secret)
      const o2 = (await call(`${url}/v1/order`, 'POST', { beneficiaryIDDocumentCID: ben })).body
      secretFrom('milagro beneficiary secret', (await call(`${url}/v1/order/secret`, 'POST', { orderReference: o2.orderReference, beneficiaryIDDocumentCID: ben })).body.secret)
      await call(`${url}/v1/order/${o1.orderReference}`, 'GET')
      await call(`${url}/v1/order/secret`, 'POST', { orderReference: '0'.repeat(32) })
      await call(`${url}/v1/fulfill/order/secret`, 'POST', { orderPart3CID: o1.orderPart2CID, documentCID: ben })
      await call(`${url}/v1/fulfill/order/secret`, 'POST', { orderPart3CID: o1.orderPart2CID, documentCID: ben })
    }
    // ── safeguardsecret, multi node: plainText in, plainText out, tampered ciphertext ─────────
    const plainText = `leak canary ${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('hex')}`
    {
      const { url } = await start('safeguard', { service: 'safeguardsecret' })
      const o = await call(`${url}/v1/order`, 'POST', { extension: { plainText } })
      assert.equal(o.status, 200, JSON.stringify(o.body))
      const r = await call(`${url}/v1/order/secret`, 'POST', { orderReference: o.body.orderReference, extension: o.body.extension })
      assert.equal(r.body.extension.plainText, plainText)
      secretFrom('safeguardsecret secret', r.body.secret)
      const ext = o.body.extension as Record<string, string>
      const tampered = { ...ext, cypherText: (ext.cypherText!.startsWith('0') ? '1' : '0') + ext.cypherText!.slice(1) }
      const refused = await call(`${url}/v1/order/secret`, 'POST', { orderReference: o.body.orderReference, extension: tampered })
      assert.equal(refused.body.code, 'CRYPTO_DECRYPT_FAILED')
      await call(`${url}/v1/order/secret`, 'POST', { orderReference: o.body.orderReference, extension: { ...ext, t: 'zz' } })
      await call(`${url}/v1/order`, 'POST', { extension: { plainText, extra: 'x' } })
      await call(`${url}/v1/order/${o.body.orderReference}`, 'GET')
    }
    // ── bitcoinwallet: principal → fiduciary over HTTP, OAuth2 on the fiduciary ────────────────
    const nodeToken = await idp.token({ client: CLIENTS[1] })
    handedOut.push({ what: 'node-to-node bearer token', bytes: Buffer.from(nodeToken) })
    {
      const fiduciary = await start('btc-fiduciary', { service: 'bitcoinwallet', nodeType: 'fiduciary' }, { MILAGRO_HTTP_OIDCISSUER: idp.issuer, MILAGRO_HTTP_OIDCAUDIENCE: AUDIENCE })
      const { url } = await start('btc-principal', { service: 'bitcoinwallet', nodeType: 'principal', masterFiduciary: { cid: fiduciary.node.nodeCID, url: fiduciary.url } }, {
        MILAGRO_IPFS_PEERS: fiduciary.node.documents.multiaddrs().join(','),
        MILAGRO_HTTP_BEARERTOKEN: nodeToken,
      })
      const ben = (await call(`${url}/v1/identity`, 'POST', { name: 'btc-beneficiary' })).body.idDocumentCID
      const o1 = await call(`${url}/v1/order`, 'POST', { extension: { coin: '0' } })
      assert.equal(o1.status, 200, JSON.stringify(o1.body))
      secretFrom('bitcoinwallet secret (principal share)', (await call(`${url}/v1/order/secret`, 'POST', { orderReference: o1.body.orderReference })).body.secret)
      const o2 = await call(`${url}/v1/order`, 'POST', { beneficiaryIDDocumentCID: ben, extension: { coin: '1' } })
      secretFrom('bitcoinwallet secret (beneficiary key)', (await call(`${url}/v1/order/secret`, 'POST', { orderReference: o2.body.orderReference })).body.secret)
      await call(`${url}/v1/order`, 'POST', { extension: { coin: '7' } })
      await call(`${url}/v1/order/secret`, 'POST', { orderReference: o2.body.orderReference, beneficiaryIDDocumentCID: fiduciary.node.nodeCID })
      // straight at the fiduciary, without and with a bad token
      await call(`${fiduciary.url}/v1/fulfill/order`, 'POST', { orderPart1CID: o1.body.orderPart1CID, documentCID: ben })
      await call(`${fiduciary.url}/v1/fulfill/order`, 'POST', { orderPart1CID: o1.body.orderPart1CID, documentCID: ben }, `${nodeToken.slice(0, -2)}xx`)
    }

    // ── gather the secrets only custody holds (test-only access), while the nodes run ─────────
    const secrets: Secret[] = [...handedOut, { what: 'plainText', bytes: Buffer.from(plainText) }]
    for (const { home, config } of nodes) secrets.push(...await custodySecrets(home, config))
    const kinds = (prefix: string): number => secrets.filter(s => s.what.startsWith(prefix)).length
    assert.ok(kinds('seed identity/') >= 6 && kinds('seed order/') >= 5 && kinds('plugin secret') >= 1 && kinds('EC private key') >= 6, secrets.map(s => s.what).join('\n'))

    // the scanner finds what it looks for (planted canaries in every form), so a pass means something
    for (const form of ['raw', 'hex', 'HEX', 'base64', 'base64url', 'base64+1', 'base64+2']) {
      const s = secrets[0]!
      const needle = needles(s).find(n => n.form === form)!.needle
      assert.ok(scan(Buffer.concat([Buffer.from('xyz'), needle, Buffer.from('xyz')]), [s], 'canary').length > 0, form)
    }
    const full = Buffer.from(secrets[3]!.bytes).toString('base64')
    assert.ok(scan(Buffer.from(`{"k":"a${full}"}`), [secrets[3]!], 'canary').length > 0, 'base64 at any offset')

    const homes = nodes.map(n => n.home)
    const running = scanFiles(homes, secrets)
    assert.ok(filesUnder(root).some(f => f.endsWith('-wal') && statSync(f).size > 0), 'a non-empty WAL file was scanned')
    const canaryFile = path.join(nodes[0]!.home, 'planted-canary')
    writeFileSync(canaryFile, Buffer.from(secrets[0]!.bytes))
    assert.ok(scanFiles([nodes[0]!.home], secrets).found.some(f => f.includes('planted-canary')), 'the file scan finds a planted secret')
    rmSync(canaryFile)

    // the redeem answers carried the secrets in hex (so the forms match what the API hands out)
    const answers = publicAnswers.map(a => `${a.what}: ${a.body}`).join('\n')
    const errorBodies = publicAnswers.filter(a => / → [45]\d\d$/.test(a.what))
    assert.ok(errorBodies.length >= 8, `errors provoked: ${errorBodies.map(e => e.what).join(', ')}`)

    for (const { node } of nodes.splice(0)) await node.stop()
    const stopped = scanFiles(homes, secrets)
    const log = Buffer.concat(logLines)
    assert.ok(log.includes('request completed') && log.length > 10_000, 'the logs were captured')
    // the domain event lines (src/ports/events.ts, one info line each) are among what is scanned
    for (const msg of ['identity created', 'order placed', 'order accepted', 'secret released', 'secret redeemed', 'release refused']) {
      assert.ok(log.includes(`"msg":"${msg}"`), `the logs hold "${msg}" lines`)
    }

    assert.ok(orderAnswers.length >= 2, 'order documents (GET /v1/order/{ref}) were scanned')
    const found = [
      ...scan(log, secrets, 'the logs'),
      ...scan(Buffer.from(answers), secrets, 'an API answer'),
      ...scan(Buffer.from(orderAnswers.map(a => a.body).join('\n')), secrets.filter(s => !handedOut.some(h => Buffer.from(h.bytes).equals(Buffer.from(s.bytes)))), 'an order document'),
      ...running.found.map(f => `${f} (nodes running)`),
      ...stopped.found.map(f => `${f} (nodes stopped)`),
    ]
    t.diagnostic(`leak scan: ${secrets.length} secrets × 7 forms; ${log.length} bytes of debug logs (${log.toString().split('\n').length - 1} lines); ${publicAnswers.length} answers (${errorBodies.length} errors); ${running.files} files / ${running.bytes} bytes while running, ${stopped.files} files / ${stopped.bytes} bytes after stop`)
    assert.deepEqual(found, [])
  })
})
