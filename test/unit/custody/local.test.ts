/**
 * The `local` custody backend: the conformance suite on a key file and on a passphrase, plus the
 * key-file and parameters-file rules (0600, no overwrite, size, wrong passphrase, key id).
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHmac } from 'node:crypto'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import {
  createLocalKeyFile, DEFAULT_SCRYPT_COST, initLocalPassphrase, openLocalCustody
} from '../../../src/adapters/custody/local.ts'
import { custodyConformance } from '../../conformance/custody.ts'

const FAST = { N: 2 ** 14, r: 8, p: 1 } // tests only; the default is 2^17

function code (c: ErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(isDtaError(err, c), `expected ${c}, got ${String(err)}`)
    return true
  }
}

custodyConformance('local (key file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dta-custody-'))
  await createLocalKeyFile(join(dir, 'a.key'))
  await createLocalKeyFile(join(dir, 'b.key'))
  return {
    open: async () => await openLocalCustody({ keyFile: join(dir, 'a.key') }),
    openOther: async () => await openLocalCustody({ keyFile: join(dir, 'b.key') }),
    cleanup: async () => await rm(dir, { recursive: true, force: true })
  }
})

custodyConformance('local (passphrase)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dta-custody-'))
  const paramsFile = join(dir, 'custody-params.json')
  await initLocalPassphrase({ passphrase: 'correct horse battery staple', paramsFile, cost: FAST })
  return {
    open: async () => await openLocalCustody({ passphrase: 'correct horse battery staple', paramsFile }),
    // Same parameters, other passphrase: a different KEK. The params key id check is skipped by
    // opening with a second parameters file made for that passphrase.
    openOther: async () => {
      const other = join(dir, 'other-params.json')
      await rm(other, { force: true })
      await initLocalPassphrase({ passphrase: 'another passphrase', paramsFile: other, cost: FAST })
      return await openLocalCustody({ passphrase: 'another passphrase', paramsFile: other })
    },
    cleanup: async () => await rm(dir, { recursive: true, force: true })
  }
})

describe('local custody key file', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'dta-custody-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('creates a 32-byte file with mode 0600 and reports its key id', async () => {
    const path = join(dir, 'sub', 'custody.key')
    const { keyId } = await createLocalKeyFile(path)
    const st = await stat(path)
    assert.equal(st.size, 32)
    if (process.platform !== 'win32') assert.equal(st.mode & 0o777, 0o600)
    const kek = await readFile(path)
    const expected = createHmac('sha256', kek).update('milagro-dta/kek-id').digest().subarray(0, 8).toString('hex')
    assert.equal(keyId, expected)
    const custody = await openLocalCustody({ keyFile: path })
    assert.equal(custody.keyId, expected)
    assert.equal(custody.backend, 'local')
    await custody.close()
  })

  it('refuses to overwrite an existing file', async () => {
    const path = join(dir, 'exists.key')
    await writeFile(path, 'keep me')
    await assert.rejects(createLocalKeyFile(path), code('CUSTODY_KEY_FILE_EXISTS'))
    assert.equal(await readFile(path, 'utf8'), 'keep me')
  })

  it('refuses a key file readable by group or others', { skip: process.platform === 'win32' }, async () => {
    const path = join(dir, 'loose.key')
    await createLocalKeyFile(path)
    for (const mode of [0o640, 0o604, 0o660, 0o620]) {
      await chmod(path, mode)
      await assert.rejects(openLocalCustody({ keyFile: path }), (err: unknown) => {
        assert.ok(isDtaError(err, 'CUSTODY_KEY_FILE_INSECURE'))
        assert.match((err as Error).message, /chmod 600/)
        return true
      })
    }
    await chmod(path, 0o400)
    await (await openLocalCustody({ keyFile: path })).close()
  })

  it('refuses a key file of the wrong size, a folder, and a missing file', async () => {
    for (const n of [0, 31, 33, 64]) {
      const path = join(dir, `size-${n}.key`)
      await writeFile(path, new Uint8Array(n), { mode: 0o600 })
      await assert.rejects(openLocalCustody({ keyFile: path }), code('CUSTODY_KEY_FILE_INVALID'))
    }
    await assert.rejects(openLocalCustody({ keyFile: dir }), code('CUSTODY_KEY_FILE_INVALID'))
    await assert.rejects(openLocalCustody({ keyFile: join(dir, 'nope.key') }), code('CUSTODY_KEY_FILE_NOT_FOUND'))
  })

  it('after close the instance refuses to seal; reopening from the file opens old records', async () => {
    const path = join(dir, 'wipe.key')
    await createLocalKeyFile(path)
    const c = await openLocalCustody({ keyFile: path })
    const sealed = await c.seal('w', Uint8Array.of(1, 2, 3))
    await c.close()
    await assert.rejects(c.seal('w', Uint8Array.of(1)), code('CUSTODY_UNAVAILABLE'))
    const d = await openLocalCustody({ keyFile: path })
    assert.deepEqual(await d.unseal('w', sealed), Uint8Array.of(1, 2, 3))
    await d.close()
  })
})

describe('local custody passphrase', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'dta-custody-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('writes a 0600 parameters file with the scrypt cost, a salt and the key id; no secret', async () => {
    const paramsFile = join(dir, 'p1.json')
    const { keyId } = await initLocalPassphrase({ passphrase: 'pass phrase one', paramsFile, cost: FAST })
    const text = await readFile(paramsFile, 'utf8')
    const p = JSON.parse(text) as Record<string, unknown>
    assert.equal(p.kdf, 'scrypt')
    assert.equal(p.N, FAST.N)
    assert.equal(p.keyId, keyId)
    assert.equal(Buffer.from(p.salt as string, 'base64').length, 32)
    assert.ok(!text.includes('pass phrase one'))
    if (process.platform !== 'win32') assert.equal((await stat(paramsFile)).mode & 0o777, 0o600)
    await assert.rejects(initLocalPassphrase({ passphrase: 'x', paramsFile, cost: FAST }), code('CUSTODY_KEY_FILE_EXISTS'))
  })

  it('the same passphrase gives the same key; a wrong one is refused at open', async () => {
    const paramsFile = join(dir, 'p2.json')
    const { keyId } = await initLocalPassphrase({ passphrase: 'pass phrase two', paramsFile, cost: FAST })
    const c = await openLocalCustody({ passphrase: 'pass phrase two', paramsFile })
    assert.equal(c.keyId, keyId)
    await c.close()
    await assert.rejects(openLocalCustody({ passphrase: 'pass phrase 2', paramsFile }), code('CUSTODY_WRONG_PASSPHRASE'))
    await assert.rejects(openLocalCustody({ passphrase: '', paramsFile }), code('CUSTODY_PASSPHRASE_MISSING'))
  })

  it('normalises the passphrase to NFC', async () => {
    const paramsFile = join(dir, 'p3.json')
    await initLocalPassphrase({ passphrase: 'caf\u00e9', paramsFile, cost: FAST })
    await (await openLocalCustody({ passphrase: 'cafe\u0301', paramsFile })).close()
  })

  it('the default cost is scrypt N = 2^17, r = 8, p = 1', async () => {
    assert.deepEqual({ ...DEFAULT_SCRYPT_COST }, { N: 131072, r: 8, p: 1 })
    const paramsFile = join(dir, 'p4.json')
    await initLocalPassphrase({ passphrase: 'default cost', paramsFile })
    assert.equal((JSON.parse(await readFile(paramsFile, 'utf8')) as { N: number }).N, 131072)
    await (await openLocalCustody({ passphrase: 'default cost', paramsFile })).close()
  })

  it('refuses malformed parameters files and out-of-range costs', async () => {
    const paramsFile = join(dir, 'p5.json')
    await initLocalPassphrase({ passphrase: 'pp', paramsFile, cost: FAST })
    const good = JSON.parse(await readFile(paramsFile, 'utf8')) as Record<string, unknown>
    const variants: Array<Record<string, unknown> | string> = [
      'not json', { ...good, kdf: 'pbkdf2' }, { ...good, N: 1024 }, { ...good, N: 3 * 2 ** 14 },
      { ...good, keyId: 'zz' }, { ...good, salt: 'AAAA' }, { ...good, version: 2 }
    ]
    for (const v of variants) {
      const path = join(dir, 'bad.json')
      await writeFile(path, typeof v === 'string' ? v : JSON.stringify(v))
      await assert.rejects(openLocalCustody({ passphrase: 'pp', paramsFile: path }), code('CUSTODY_PARAMS_INVALID'))
    }
    await assert.rejects(openLocalCustody({ passphrase: 'pp', paramsFile: join(dir, 'missing.json') }), code('CUSTODY_PARAMS_INVALID'))
    await assert.rejects(initLocalPassphrase({ passphrase: 'pp', paramsFile: join(dir, 'p6.json'), cost: { N: 2 ** 10, r: 8, p: 1 } }), code('CUSTODY_PARAMS_INVALID'))
  })
})
