/**
 * Custody key rotation (src/cli/custody-rotate.ts): a new KEK for the same backend, every sealed
 * record re-sealed under it. A crash injected halfway loses nothing — each record opens under the
 * old key or the new one — and running it again resumes with the same new key (not a third one)
 * and finishes: config.yaml switched, `custody.rotated` audited, the old key kept. With passphrase
 * custody the new passphrase comes from MILAGRO_NEWPASSPHRASE, and a resume needs the same one;
 * with pkcs11 custody (SoftHSM2) the new KEK is a new key in the same token.
 * @module
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { access, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDtaError } from '../../../src/errors.ts'
import { writeFile } from 'node:fs/promises'
import { createLocalKeyFile, initLocalPassphrase, openLocalCustody } from '../../../src/adapters/custody/local.ts'
import { createCustodyKey, openCustody } from '../../../src/wiring.ts'
import { createSoftHsm } from '../../helpers/softhsm.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { ROTATION_FILE, rotateCustody } from '../../../src/cli/custody-rotate.ts'
import { defaultConfig, loadConfig, writeConfig } from '../../../src/config/load.ts'
import type { Custody } from '../../../src/ports/custody.ts'
import { identitySeedRecordId, orderSeedRecordId, pluginSealRecordId } from '../../../src/ports/state.ts'

const NODE_CID = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
const homes: string[] = []
after(async () => { for (const dir of homes) await rm(dir, { recursive: true, force: true }) })

/** A home with local custody (a key file, or a passphrase) holding 1 identity, `orders` fiduciary orders and 2 sealed plugin values. */
async function makeHome (source: 'keyFile' | 'passphrase', orders = 40): Promise<{ dir: string, secrets: Map<string, Uint8Array>, env: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dta-rotate-'))
  homes.push(dir)
  const config = defaultConfig()
  await writeConfig(dir, { ...config, http: { ...config.http, listenAddr: '127.0.0.1:0' }, node: { ...config.node, nodeID: NODE_CID, nodeName: 'rotating', custodyKeySource: source } })
  const env: Record<string, string> = source === 'passphrase' ? { MILAGRO_NODE_PASSPHRASE: 'the old passphrase' } : {}
  let custody: Custody
  if (source === 'passphrase') {
    await initLocalPassphrase({ passphrase: env.MILAGRO_NODE_PASSPHRASE!, paramsFile: join(dir, 'custody-params.json') })
    custody = await openLocalCustody({ passphrase: env.MILAGRO_NODE_PASSPHRASE!, paramsFile: join(dir, 'custody-params.json') })
  } else {
    await createLocalKeyFile(join(dir, 'custody.key'))
    custody = await openLocalCustody({ keyFile: join(dir, 'custody.key') })
  }
  const state = await openSqliteState({ path: join(dir, 'state.sqlite') })
  const secrets = new Map<string, Uint8Array>()
  const seal = async (recordId: string): Promise<Uint8Array> => {
    const secret = new Uint8Array(randomBytes(32))
    secrets.set(recordId, secret)
    return await custody.seal(recordId, secret)
  }
  try {
    await state.insertIdentity({ cid: NODE_CID, name: 'rotating', createdAt: 1, sealedRootSeed: await seal(identitySeedRecordId(NODE_CID)), isNodeIdentity: true })
    for (let i = 0; i < orders; i++) {
      const reference = randomBytes(16).toString('hex')
      await state.createFiduciaryOrder({ reference, plugin: 'milagro', principalCid: NODE_CID, fiduciaryCid: NODE_CID, part1Cid: `p1-${i}`, sealedSeed: await seal(orderSeedRecordId('fiduciary', reference)) })
    }
    for (const key of ['share/a', 'share/b']) await state.pluginStore('bitcoinwallet').put(key, await seal(pluginSealRecordId('bitcoinwallet', key)))
  } finally {
    await custody.close()
    await state.close()
  }
  return { dir, secrets, env }
}

/** How many records open, and to their secret, under each of the given custodies (none may fail to open under all). */
async function census (dir: string, secrets: Map<string, Uint8Array>, custodies: Custody[]): Promise<number[]> {
  const state = await openSqliteState({ path: join(dir, 'state.sqlite') })
  const counts = custodies.map(() => 0)
  try {
    for (const [recordId, secret] of secrets) {
      const sealed = recordId.startsWith('plugin/')
        ? await state.pluginStore('bitcoinwallet').get(recordId.slice('plugin/bitcoinwallet/'.length)) as Uint8Array
        : (await state.getSeed(recordId))!.sealed
      const i = custodies.findIndex(c => { try { return c.keyId === Buffer.from(sealed.subarray(1, 9)).toString('hex') } catch { return false } })
      assert.ok(i >= 0, `${recordId} is under neither key`)
      assert.deepEqual(await custodies[i]!.unseal(recordId, sealed), secret, `${recordId} opens to its secret`)
      counts[i]!++
    }
  } finally {
    await state.close()
  }
  return counts
}

describe('custody rotate', () => {
  it('key file: a crash halfway loses nothing; the next run resumes with the same new key and finishes', async () => {
    const { dir, secrets } = await makeHome('keyFile')
    let swapped = 0
    await assert.rejects(rotateCustody({ home: dir, env: {}, skipRunningCheck: true, beforeReseal: () => { if (++swapped > 17) throw new Error('crash') } }), /crash/)
    await access(join(dir, ROTATION_FILE))
    const keyFiles = (await readdir(dir)).filter(f => /^custody-[0-9a-z]+\.key$/.test(f))
    assert.equal(keyFiles.length, 1, 'one new key file')
    const oldKey = await openLocalCustody({ keyFile: join(dir, 'custody.key') })
    const newKey = await openLocalCustody({ keyFile: join(dir, keyFiles[0]!) })
    assert.deepEqual(await census(dir, secrets, [oldKey, newKey]), [secrets.size - 17, 17])
    assert.equal((await loadConfig({ home: dir, env: {} })).node.custodyKeyFile, 'custody.key', 'config still names the old key')

    const result = await rotateCustody({ home: dir, env: {}, skipRunningCheck: true })
    assert.equal(result.resumed, true)
    assert.equal(result.newKeyId, newKey.keyId, 'the same new key, not a third one')
    assert.equal(result.resealed, secrets.size - 17)
    assert.deepEqual(await census(dir, secrets, [oldKey, newKey]), [0, secrets.size])
    assert.equal((await loadConfig({ home: dir, env: {} })).node.custodyKeyFile, keyFiles[0])
    await access(join(dir, 'custody.key')) // kept
    await assert.rejects(access(join(dir, ROTATION_FILE)))
    const state = await openSqliteState({ path: join(dir, 'state.sqlite') })
    const audit = await state.listAudit({ page: 1, perPage: 100 })
    await state.close()
    assert.ok(audit.some(e => e.op === 'custody.rotated' && e.detail?.includes(`${oldKey.keyId} -> ${newKey.keyId}`) === true))
    await oldKey.close()
    await newKey.close()
  })

  it('passphrase: the new one from MILAGRO_NEWPASSPHRASE; a resume with another is refused', async () => {
    const { dir, secrets, env } = await makeHome('passphrase', 6)
    await assert.rejects(rotateCustody({ home: dir, env, skipRunningCheck: true }), (err: unknown) => isDtaError(err, 'CUSTODY_PASSPHRASE_MISSING'))
    await rm(join(dir, ROTATION_FILE))
    const first = { ...env, MILAGRO_NEWPASSPHRASE: 'the new passphrase' }
    await assert.rejects(rotateCustody({ home: dir, env: first, skipRunningCheck: true, beforeReseal: (_id, done) => { if (done >= 3) throw new Error('crash') } }), /crash/)
    await assert.rejects(rotateCustody({ home: dir, env: { ...env, MILAGRO_NEWPASSPHRASE: 'another one' }, skipRunningCheck: true }), (err: unknown) => isDtaError(err, 'CUSTODY_WRONG_PASSPHRASE'))
    const done = await rotateCustody({ home: dir, env: first, skipRunningCheck: true })
    assert.equal(done.resumed, true)
    const config = await loadConfig({ home: dir, env: { MILAGRO_NODE_PASSPHRASE: 'the new passphrase' } })
    assert.match(config.node.custodyParamsFile, /^custody-params-[0-9a-z]+\.json$/)
    const newKey = await openLocalCustody({ passphrase: 'the new passphrase', paramsFile: join(dir, config.node.custodyParamsFile) })
    assert.deepEqual(await census(dir, secrets, [newKey]), [secrets.size])
    await newKey.close()
  })

  it('pkcs11: a new HSM key in the same token; records re-sealed under it, the old key kept', async () => {
    const hsm = await createSoftHsm()
    homes.push(hsm.dir)
    hsm.use()
    await hsm.initToken('rotate', '4242')
    const dir = await mkdtemp(join(tmpdir(), 'dta-rotate-hsm-'))
    homes.push(dir)
    const base = defaultConfig()
    const config = { ...base, http: { ...base.http, listenAddr: '127.0.0.1:0' }, node: { ...base.node, nodeID: NODE_CID, nodeName: 'hsm', custody: 'pkcs11' as const, pkcs11Module: hsm.module, pkcs11TokenLabel: 'rotate', pkcs11PinFile: 'pkcs11.pin' } }
    await writeConfig(dir, config)
    await writeFile(join(dir, 'pkcs11.pin'), '4242\n', { mode: 0o600 })
    const loaded = await loadConfig({ home: dir, env: {} })
    await createCustodyKey(dir, loaded, 'pkcs11')
    const oldKey = await openCustody(dir, loaded)
    const state = await openSqliteState({ path: join(dir, 'state.sqlite') })
    const secrets = new Map<string, Uint8Array>()
    for (let i = 0; i < 5; i++) {
      const reference = randomBytes(16).toString('hex')
      const id = orderSeedRecordId('fiduciary', reference)
      const secret = new Uint8Array(randomBytes(64))
      secrets.set(id, secret)
      await state.createFiduciaryOrder({ reference, plugin: 'milagro', principalCid: NODE_CID, fiduciaryCid: NODE_CID, part1Cid: `p1-${i}`, sealedSeed: await oldKey.seal(id, secret) })
    }
    await state.close()
    const result = await rotateCustody({ home: dir, env: {}, skipRunningCheck: true })
    const after = await loadConfig({ home: dir, env: {} })
    assert.match(after.node.pkcs11KeyLabel, /^milagro-dta-kek-[0-9a-z]+$/)
    const newKey = await openCustody(dir, after)
    assert.equal(newKey.keyId, result.newKeyId)
    assert.notEqual(newKey.keyId, oldKey.keyId)
    assert.deepEqual(await census(dir, secrets, [oldKey, newKey]), [0, secrets.size])
    const kept = await openCustody(dir, loaded) // the old HSM key is still in the token
    assert.equal(kept.keyId, oldKey.keyId)
    for (const c of [oldKey, newKey, kept]) await c.close()
  })
})
