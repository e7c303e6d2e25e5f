/**
 * Custody migration (src/cli/custody.ts) between `local` and `pkcs11` (SoftHSM2 in a temp folder):
 * a round trip local → pkcs11 → local keeps every seed and sealed plugin value readable and equal;
 * a failure injected in the middle loses nothing and a second run resumes (records already under
 * the target key are skipped); a record under neither KEK stops the switch.
 *
 * The home is built directly (config.yaml, key file, PIN file, a state database filled through
 * the repository with records sealed by local custody), so the test needs no IPFS node.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { createLocalKeyFile, openLocalCustody } from '../../../src/adapters/custody/local.ts'
import { openPkcs11Custody } from '../../../src/adapters/custody/pkcs11/index.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { custodyStatus, migrateCustody } from '../../../src/cli/custody.ts'
import { defaultConfig, loadConfig, writeConfig } from '../../../src/config/load.ts'
import type { Custody } from '../../../src/ports/custody.ts'
import { identitySeedRecordId, orderSeedRecordId, pluginSealRecordId } from '../../../src/ports/state.ts'
import { createSoftHsm } from '../../helpers/softhsm.ts'
import type { SoftHsm } from '../../helpers/softhsm.ts'

const PIN = '4242'
const NODE_CID = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'

function code (c: ErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(isDtaError(err, c), `expected ${c}, got ${String(err)}`)
    return true
  }
}

function cid (i: number): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
  let s = ''
  for (let k = 0, x = i * 104729 + 7; k < 44; k++, x = Math.floor(x / 58) + k * 131 + i) s += alphabet[x % 58]
  return `Qm${s}`
}

interface Home {
  dir: string
  /** record id → plaintext, for every sealed record the home holds. */
  secrets: Map<string, Uint8Array>
  /** plugin values that are not sealed records and must stay as they are. */
  plain: Map<string, string | Uint8Array>
}

let hsm: SoftHsm
const ready = (async () => {
  hsm = await createSoftHsm()
  hsm.use()
  await hsm.initToken('migrate-a', PIN)
  await hsm.initToken('migrate-b', PIN)
})()
const homes: string[] = []
after(async () => {
  for (const dir of homes) await rm(dir, { recursive: true, force: true })
  await hsm?.cleanup()
})

/** A home initialised with local custody, holding identities, orders (both roles) and plugin values. */
async function makeHome (tokenLabel: string, counts = { identities: 7, fiduciary: 110, principal: 6 }): Promise<Home> {
  const dir = await mkdtemp(join(tmpdir(), 'dta-migrate-'))
  homes.push(dir)
  const config = defaultConfig()
  await writeConfig(dir, {
    ...config,
    http: { ...config.http, listenAddr: '127.0.0.1:0' },
    node: { ...config.node, nodeID: NODE_CID, nodeName: 'migrating', pkcs11Module: hsm.module, pkcs11TokenLabel: tokenLabel, pkcs11PinFile: 'pkcs11.pin' },
  })
  await writeFile(join(dir, 'pkcs11.pin'), `${PIN}\n`, { mode: 0o600 })
  await createLocalKeyFile(join(dir, 'custody.key'))
  const custody = await openLocalCustody({ keyFile: join(dir, 'custody.key') })
  const state = await openSqliteState({ path: join(dir, 'state.sqlite') })
  const secrets = new Map<string, Uint8Array>()
  const plain = new Map<string, string | Uint8Array>()
  const seal = async (recordId: string): Promise<Uint8Array> => {
    const secret = new Uint8Array(randomBytes(32))
    secrets.set(recordId, secret)
    return await custody.seal(recordId, secret)
  }
  try {
    for (let i = 0; i < counts.identities; i++) {
      const c = cid(i)
      await state.insertIdentity({ cid: c, name: `id${i}`, createdAt: 1000 + i, sealedRootSeed: await seal(identitySeedRecordId(c)), isNodeIdentity: i === 0 })
    }
    for (let i = 0; i < counts.fiduciary; i++) {
      const reference = randomBytes(16).toString('hex')
      await state.createFiduciaryOrder({ reference, plugin: 'milagro', principalCid: cid(1), fiduciaryCid: cid(0), part1Cid: cid(1000 + i), sealedSeed: await seal(orderSeedRecordId('fiduciary', reference)) })
    }
    for (let i = 0; i < counts.principal; i++) {
      const reference = randomBytes(16).toString('hex')
      await state.createOrder({ role: 'principal', reference, plugin: 'bitcoinwallet', principalCid: cid(0), fiduciaryCid: cid(2), sealedSeed: await seal(orderSeedRecordId('principal', reference)) })
    }
    const store = state.pluginStore('bitcoinwallet')
    for (let i = 0; i < 3; i++) await store.put(`share/${i}`, await seal(pluginSealRecordId('bitcoinwallet', `share/${i}`)))
    await store.put('note', 'a public string')
    plain.set('note', 'a public string')
    const blob = Uint8Array.of(9, 9, 9)
    await store.put('blob', blob)
    plain.set('blob', blob)
  } finally {
    await custody.close()
    await state.close()
  }
  return { dir, secrets, plain }
}

async function readRecord (dir: string, recordId: string): Promise<Uint8Array> {
  const state = await openSqliteState({ path: join(dir, 'state.sqlite') })
  try {
    if (recordId.startsWith('plugin/')) {
      const [, plugin, ...key] = recordId.split('/')
      const value = await state.pluginStore(plugin).get(key.join('/'))
      assert.ok(value instanceof Uint8Array, `${recordId} is stored`)
      return value
    }
    const seed = await state.getSeed(recordId)
    assert.ok(seed !== undefined, `${recordId} is stored`)
    return seed.sealed
  } finally {
    await state.close()
  }
}

/** Opens every record with whichever custody names its key id; returns how many were under each. */
async function checkAll (home: Home, custodies: Custody[]): Promise<Map<string, number>> {
  const under = new Map<string, number>()
  for (const [recordId, secret] of home.secrets) {
    const sealed = await readRecord(home.dir, recordId)
    const keyId = Buffer.from(sealed.subarray(1, 9)).toString('hex')
    const custody = custodies.find(c => c.keyId === keyId)
    assert.ok(custody !== undefined, `${recordId} is under a known key`)
    assert.ok(Buffer.from(await custody.unseal(recordId, sealed)).equals(Buffer.from(secret)), `${recordId} opens to its secret`)
    under.set(custody.backend, (under.get(custody.backend) ?? 0) + 1)
  }
  const state = await openSqliteState({ path: join(home.dir, 'state.sqlite') })
  try {
    for (const [key, value] of home.plain) assert.deepEqual(await state.pluginStore('bitcoinwallet').get(key), value, `plugin value ${key} untouched`)
  } finally {
    await state.close()
  }
  return under
}

async function openBoth (home: Home, tokenLabel: string): Promise<{ local: Custody, hsmCustody: Custody, close: () => Promise<void> }> {
  const local = await openLocalCustody({ keyFile: join(home.dir, 'custody.key') })
  const hsmCustody = await openPkcs11Custody({ module: hsm.module, tokenLabel, keyLabel: 'milagro-dta-kek', pin: PIN })
  return { local, hsmCustody, close: async () => { await local.close(); await hsmCustody.close() } }
}

describe('custody migration local ⇄ pkcs11', () => {
  before(async () => { await ready })

  it('round trips local → pkcs11 → local, resuming after a failure in the middle, losing nothing', async () => {
    const home = await makeHome('migrate-a')
    const total = home.secrets.size
    assert.equal(total, 7 + 110 + 6 + 3)
    const env = {}

    // 1. A failure after 5 records were swapped (the 6th is sealed and verified, never swapped in).
    await assert.rejects(migrateCustody({
      home: home.dir, to: 'pkcs11', env,
      beforeReseal: (_id, done) => { if (done === 5) throw new Error('injected failure') },
    }), /injected failure/)
    assert.equal((await loadConfig({ home: home.dir, env })).node.custody, 'local', 'not switched after a failure')
    let both = await openBoth(home, 'migrate-a')
    try {
      const under = await checkAll(home, [both.local, both.hsmCustody])
      assert.deepEqual(Object.fromEntries(under), { local: total - 5, pkcs11: 5 })
    } finally {
      await both.close()
    }
    const midway = await custodyStatus({ home: home.dir, env })
    assert.equal(midway.backend, 'local')
    assert.equal(midway.seeds.current + midway.pluginValues.current, total - 5)
    assert.equal(midway.seeds.other + midway.pluginValues.other, 5)

    // 2. Run again: resumes, skipping the 5 already under the HSM key, then switches the config.
    const second = await migrateCustody({ home: home.dir, to: 'pkcs11', env })
    assert.equal(second.resealed, total - 5)
    assert.equal(second.switched, true)
    assert.equal((await loadConfig({ home: home.dir, env })).node.custody, 'pkcs11')
    both = await openBoth(home, 'migrate-a')
    try {
      assert.equal(second.keyId, both.hsmCustody.keyId)
      assert.deepEqual(Object.fromEntries(await checkAll(home, [both.local, both.hsmCustody])), { pkcs11: total })
    } finally {
      await both.close()
    }
    const status = await custodyStatus({ home: home.dir, env })
    assert.deepEqual(status.seeds, { current: total - 3, other: 0 })
    assert.deepEqual(status.pluginValues, { current: 3, other: 0 })

    // 3. Idempotent: nothing left to do.
    assert.deepEqual(await migrateCustody({ home: home.dir, to: 'pkcs11', env }), { from: 'local', to: 'pkcs11', keyId: second.keyId, resealed: 0, switched: false })

    // 4. And back to local.
    const back = await migrateCustody({ home: home.dir, to: 'local', env })
    assert.equal(back.resealed, total)
    assert.equal(back.switched, true)
    assert.equal((await loadConfig({ home: home.dir, env })).node.custody, 'local')
    both = await openBoth(home, 'migrate-a')
    try {
      assert.deepEqual(Object.fromEntries(await checkAll(home, [both.local, both.hsmCustody])), { local: total })
    } finally {
      await both.close()
    }

    // The audit trail records every re-seal.
    const state = await openSqliteState({ path: join(home.dir, 'state.sqlite') })
    try {
      let resealed = 0
      for (let page = 1; ; page++) {
        const entries = await state.listAudit({ page, perPage: 100 })
        resealed += entries.filter(e => e.op === 'seed.resealed').length
        if (entries.length < 100) break
      }
      assert.equal(resealed, 5 + (total - 5) + total)
    } finally {
      await state.close()
    }
  })

  it('a record under neither KEK stops the switch, and the rest is still migrated', async () => {
    const home = await makeHome('migrate-b', { identities: 2, fiduciary: 3, principal: 0 })
    const strangerKey = join(home.dir, 'stranger.key')
    await createLocalKeyFile(strangerKey)
    const stranger = await openLocalCustody({ keyFile: strangerKey })
    const state = await openSqliteState({ path: join(home.dir, 'state.sqlite') })
    const reference = 'f'.repeat(32)
    try {
      await state.createFiduciaryOrder({ reference, plugin: 'milagro', principalCid: cid(1), fiduciaryCid: cid(0), part1Cid: cid(5000), sealedSeed: await stranger.seal(orderSeedRecordId('fiduciary', reference), new Uint8Array(32)) })
      // A plugin value sealed under another id than the one it is stored under cannot be re-sealed.
      const local = await openLocalCustody({ keyFile: join(home.dir, 'custody.key') })
      await state.pluginStore('bitcoinwallet').put('moved', await local.seal('plugin/bitcoinwallet/elsewhere', Uint8Array.of(1)))
      await local.close()
    } finally {
      await stranger.close()
      await state.close()
    }
    await assert.rejects(migrateCustody({ home: home.dir, to: 'pkcs11', env: {} }), (err: unknown) => {
      assert.ok(isDtaError(err, 'CUSTODY_MIGRATION_INCOMPLETE'))
      assert.match(err.message, /2 record\(s\)/)
      assert.match(err.message, new RegExp(orderSeedRecordId('fiduciary', reference)))
      assert.match(err.message, /plugin\/bitcoinwallet\/moved \(CUSTODY_INTEGRITY\)/)
      return true
    })
    assert.equal((await loadConfig({ home: home.dir, env: {} })).node.custody, 'local')
    const both = await openBoth(home, 'migrate-b')
    try {
      assert.deepEqual(Object.fromEntries(await checkAll(home, [both.local, both.hsmCustody])), { pkcs11: home.secrets.size })
    } finally {
      await both.close()
    }
  })

  it('refuses while the node runs: its status answers, or it refuses the probe\'s Host (a name not in http.allowedHosts)', async () => {
    const home = await makeHome('migrate-running', { identities: 1, fiduciary: 1, principal: 0 })
    for (const answer of [{ status: 200, body: { nodeCID: NODE_CID } }, { status: 403, body: { statusCode: 403, code: 'HOST_NOT_ALLOWED', message: 'x' } }]) {
      const server = createServer((_req, res) => { res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body)) })
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      const config = await loadConfig({ home: home.dir, env: {} })
      await writeConfig(home.dir, { ...config, http: { ...config.http, listenAddr: `127.0.0.1:${(server.address() as AddressInfo).port}` } })
      try {
        await assert.rejects(migrateCustody({ home: home.dir, to: 'pkcs11', env: {} }), code('CUSTODY_UNAVAILABLE'))
      } finally {
        await new Promise<void>(resolve => { server.close(() => { resolve() }) })
      }
    }
    assert.equal((await loadConfig({ home: home.dir, env: {} })).node.custody, 'local', 'nothing was migrated')
  })

  it('refuses a bad target and an uninitialised home', async () => {
    await assert.rejects(migrateCustody({ home: join(tmpdir(), 'dta-migrate-none'), to: 'hsm' as never }), code('CONFIG_INVALID'))
    const empty = await mkdtemp(join(tmpdir(), 'dta-migrate-'))
    homes.push(empty)
    await assert.rejects(migrateCustody({ home: empty, to: 'pkcs11', env: {} }), code('CONFIG_INVALID'))
  })
})
