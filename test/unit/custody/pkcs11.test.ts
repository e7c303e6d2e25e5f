/**
 * The `pkcs11` custody backend against Debian's SoftHSM2 (token directory in a temp folder): the
 * shared custody conformance suite, the KEK's attributes and key id, find-or-create at init, and
 * every refusal with its typed error — wrong PIN, missing token, key or module, two keys with one
 * label, a key that is not sensitive, or that was once extractable or not sensitive, or that may
 * wrap, unwrap or derive — plus restart, a tampered record, the session pool (queueing,
 * abort, close while busy) and recovery when the HSM drops our sessions.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import type * as P11 from 'pkcs11js'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import {
  createPkcs11Key, loadedPkcs11Modules, openPkcs11Custody, PKCS11_KEK_ID_LABEL, readPkcs11PinFile
} from '../../../src/adapters/custody/pkcs11/index.ts'
import type { Pkcs11Options } from '../../../src/adapters/custody/pkcs11/index.ts'
import type { Custody } from '../../../src/ports/custody.ts'
import { SEALED_HEADER_BYTES } from '../../../src/core/sealed-record.ts'
import { custodyConformance } from '../../conformance/custody.ts'
import { createSoftHsm } from '../../helpers/softhsm.ts'
import type { SoftHsm } from '../../helpers/softhsm.ts'

const pkcs11js = createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js')

const PIN = '246810'
const OTHER_PIN = '135791'

function code (c: ErrorCode, notIn?: string) {
  return (err: unknown): boolean => {
    assert.ok(isDtaError(err, c), `expected ${c}, got ${String(err)}`)
    if (notIn !== undefined) assert.ok(!`${(err as Error).message} ${(err as Error).stack ?? ''}`.includes(notIn), 'the error shows no secret')
    return true
  }
}

// One SoftHSM for the whole file: SoftHSM reads SOFTHSM2_CONF and scans tokens at C_Initialize.
let hsm: SoftHsm
const ready = (async () => {
  hsm = await createSoftHsm()
  hsm.use()
  await hsm.initToken('conformance', PIN)
  await hsm.initToken('unit', PIN)
  await hsm.initToken('other', OTHER_PIN)
  await hsm.initToken('twin', PIN)
  await hsm.initToken('twin', PIN)
})()
after(async () => { await hsm?.cleanup() })

function options (over: Partial<Pkcs11Options> = {}): Pkcs11Options {
  return { module: hsm.module, tokenLabel: 'unit', keyLabel: 'kek', pin: PIN, ...over }
}

/** A raw pkcs11js handle on the same (process-wide) SoftHSM, to look at or disturb the token. */
function raw (): { lib: P11.PKCS11, slot: (label: string) => P11.Handle, session: (label: string, pin?: string) => P11.Handle, done: () => void } {
  const lib = new pkcs11js.PKCS11()
  lib.load(hsm.module)
  let initialised = false
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK })
    initialised = true
  } catch { /* already initialised by the custody under test */ }
  const sessions: P11.Handle[] = []
  const slot = (label: string): P11.Handle => {
    const found = lib.C_GetSlotList(true).find(s => lib.C_GetTokenInfo(s).label.trim() === label)
    assert.ok(found !== undefined, `token ${label}`)
    return found
  }
  return {
    lib,
    slot,
    session (label, pin = PIN) {
      const s = lib.C_OpenSession(slot(label), pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
      sessions.push(s)
      try { lib.C_Login(s, pkcs11js.CKU_USER, pin) } catch { /* already logged in */ }
      return s
    },
    done () {
      for (const s of sessions) { try { lib.C_CloseSession(s) } catch { /* gone */ } }
      if (initialised) lib.C_Finalize()
    },
  }
}

custodyConformance('pkcs11 (SoftHSM2)', async () => {
  await ready
  const a = options({ tokenLabel: 'conformance', keyLabel: 'conformance-a' })
  const b = options({ tokenLabel: 'conformance', keyLabel: 'conformance-b' })
  await createPkcs11Key(a)
  await createPkcs11Key(b)
  return {
    open: async () => await openPkcs11Custody(a),
    openOther: async () => await openPkcs11Custody(b),
    cleanup: async () => {},
  }
})

describe('pkcs11 custody (SoftHSM2)', () => {
  before(async () => { await ready })

  it('init creates the KEK once, then finds it; open uses it', async () => {
    const first = await createPkcs11Key(options({ keyLabel: 'once' }))
    assert.equal(first.created, true)
    assert.match(first.keyId, /^[0-9a-f]{16}$/)
    const second = await createPkcs11Key(options({ keyLabel: 'once' }))
    assert.deepEqual(second, { keyId: first.keyId, created: false })
    const custody = await openPkcs11Custody(options({ keyLabel: 'once' }))
    try {
      assert.equal(custody.backend, 'pkcs11')
      assert.equal(custody.keyId, first.keyId)
    } finally {
      await custody.close()
    }
  })

  it('makes a token-resident, private, sensitive, non-extractable AES-256 key with explicit usage flags', async () => {
    const { keyId } = await createPkcs11Key(options({ keyLabel: 'attrs' }))
    const r = raw()
    try {
      const s = r.session('unit')
      r.lib.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_LABEL, value: 'attrs' }])
      const keys = r.lib.C_FindObjects(s, 5)
      r.lib.C_FindObjectsFinal(s)
      assert.equal(keys.length, 1)
      const names: Array<[string, number]> = [
        ['TOKEN', pkcs11js.CKA_TOKEN], ['PRIVATE', pkcs11js.CKA_PRIVATE], ['SENSITIVE', pkcs11js.CKA_SENSITIVE],
        ['EXTRACTABLE', pkcs11js.CKA_EXTRACTABLE], ['ENCRYPT', pkcs11js.CKA_ENCRYPT], ['DECRYPT', pkcs11js.CKA_DECRYPT],
        ['WRAP', pkcs11js.CKA_WRAP], ['UNWRAP', pkcs11js.CKA_UNWRAP], ['SIGN', pkcs11js.CKA_SIGN],
        ['VERIFY', pkcs11js.CKA_VERIFY], ['DERIVE', pkcs11js.CKA_DERIVE], ['COPYABLE', pkcs11js.CKA_COPYABLE],
        ['ALWAYS_SENSITIVE', pkcs11js.CKA_ALWAYS_SENSITIVE], ['NEVER_EXTRACTABLE', pkcs11js.CKA_NEVER_EXTRACTABLE],
      ]
      const values = r.lib.C_GetAttributeValue(s, keys[0], names.map(([, type]) => ({ type })))
      const flags = Object.fromEntries(names.map(([name, type]) => [name, values.find(v => v.type === type)?.value[0] === 1]))
      assert.deepEqual(flags, {
        TOKEN: true, PRIVATE: true, SENSITIVE: true, EXTRACTABLE: false, ENCRYPT: true, DECRYPT: true,
        WRAP: false, UNWRAP: false, SIGN: false, VERIFY: false, DERIVE: false, COPYABLE: false,
        ALWAYS_SENSITIVE: true, NEVER_EXTRACTABLE: true,
      })
      const [len, id] = r.lib.C_GetAttributeValue(s, keys[0], [{ type: pkcs11js.CKA_VALUE_LEN }, { type: pkcs11js.CKA_ID }])
      assert.equal(len.value.readUInt32LE(0), 32)
      assert.equal(id.value.length, 16, 'a random 16-byte CKA_ID')
      assert.throws(() => r.lib.C_GetAttributeValue(s, keys[0], [{ type: pkcs11js.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/)
      // The documented key id: SHA-256(label ‖ 0x00 ‖ 0x01 ‖ CKA_ID), first 8 bytes.
      const expected = createHash('sha256').update(PKCS11_KEK_ID_LABEL).update(Uint8Array.of(0, 1)).update(id.value).digest().subarray(0, 8)
      assert.equal(keyId, expected.toString('hex'))
    } finally {
      r.done()
    }
  })

  it('a wrong PIN fails at open with CUSTODY_PKCS11_PIN_INCORRECT, even while the right one is logged in', async () => {
    await createPkcs11Key(options({ keyLabel: 'pin' }))
    await assert.rejects(openPkcs11Custody(options({ keyLabel: 'pin', pin: '000000' })), code('CUSTODY_PKCS11_PIN_INCORRECT', '000000'))
    const good = await openPkcs11Custody(options({ keyLabel: 'pin' }))
    try {
      // The token answers CKR_USER_ALREADY_LOGGED_IN without checking; we compare with the PIN in use.
      await assert.rejects(openPkcs11Custody(options({ keyLabel: 'pin', pin: '999999' })), code('CUSTODY_PKCS11_PIN_INCORRECT', '999999'))
      const again = await openPkcs11Custody(options({ keyLabel: 'pin' }))
      await again.close()
      assert.equal((await good.unseal('r', await good.seal('r', Uint8Array.of(1, 2, 3))))[2], 3, 'still logged in')
    } finally {
      await good.close()
    }
    await assert.rejects(openPkcs11Custody(options({ keyLabel: 'pin', pin: '' })), code('CUSTODY_PKCS11_PIN_MISSING'))
    await assert.rejects(createPkcs11Key(options({ keyLabel: 'pin', pin: 'bad-pin' })), code('CUSTODY_PKCS11_PIN_INCORRECT', 'bad-pin'))
  })

  it('names what is missing: token, key, module', async () => {
    await assert.rejects(openPkcs11Custody(options({ tokenLabel: 'nope' })), (err: unknown) => {
      assert.ok(isDtaError(err, 'CUSTODY_PKCS11_TOKEN_NOT_FOUND'))
      assert.match(err.message, /"nope".*"unit"/, 'lists the tokens there are')
      return true
    })
    await assert.rejects(createPkcs11Key(options({ tokenLabel: 'nope' })), code('CUSTODY_PKCS11_TOKEN_NOT_FOUND'))
    await assert.rejects(openPkcs11Custody(options({ keyLabel: 'never-created' })), code('CUSTODY_PKCS11_KEY_NOT_FOUND'))
    await assert.rejects(openPkcs11Custody(options({ module: join(hsm.dir, 'no-such-module.so') })), code('CUSTODY_PKCS11_MODULE_NOT_FOUND'))
    const notALibrary = join(hsm.dir, 'not-a-library.so')
    await writeFile(notALibrary, 'not an ELF file')
    await assert.rejects(openPkcs11Custody(options({ module: notALibrary })), code('CUSTODY_PKCS11_MODULE_NOT_FOUND'))
    await assert.rejects(openPkcs11Custody(options({ module: '' })), code('CUSTODY_PKCS11_MODULE_NOT_FOUND'))
    assert.equal(loadedPkcs11Modules(), 0, 'every failed open released the module')
  })

  it('refuses a token label or a key label that is not unique', async () => {
    await assert.rejects(openPkcs11Custody(options({ tokenLabel: 'twin' })), code('CUSTODY_PKCS11_AMBIGUOUS'))
    await createPkcs11Key(options({ keyLabel: 'dup' }))
    const r = raw()
    try {
      const s = r.session('unit')
      r.lib.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_LABEL, value: 'dup' }, { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true }, { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ])
    } finally {
      r.done()
    }
    await assert.rejects(openPkcs11Custody(options({ keyLabel: 'dup' })), code('CUSTODY_PKCS11_AMBIGUOUS'))
    await assert.rejects(createPkcs11Key(options({ keyLabel: 'dup' })), code('CUSTODY_PKCS11_AMBIGUOUS'))
  })

  it('refuses a key that is extractable or not sensitive or the wrong size', async () => {
    const r = raw()
    try {
      const s = r.session('unit')
      const make = (label: string, extra: Array<{ type: number, value: boolean | number }>): void => {
        const base = new Map<number, boolean | number>([
          [pkcs11js.CKA_VALUE_LEN, 32], [pkcs11js.CKA_TOKEN, true], [pkcs11js.CKA_PRIVATE, true],
          [pkcs11js.CKA_SENSITIVE, true], [pkcs11js.CKA_EXTRACTABLE, false], [pkcs11js.CKA_ENCRYPT, true], [pkcs11js.CKA_DECRYPT, true],
        ])
        for (const e of extra) base.set(e.type, e.value)
        r.lib.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_LABEL, value: label },
          ...[...base].map(([type, value]) => ({ type, value })),
        ])
      }
      make('extractable', [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }])
      make('not-sensitive', [{ type: pkcs11js.CKA_SENSITIVE, value: false }])
      make('aes-128', [{ type: pkcs11js.CKA_VALUE_LEN, value: 16 }])
      make('no-decrypt', [{ type: pkcs11js.CKA_DECRYPT, value: false }])
    } finally {
      r.done()
    }
    for (const keyLabel of ['extractable', 'not-sensitive', 'aes-128', 'no-decrypt']) {
      await assert.rejects(openPkcs11Custody(options({ keyLabel })), code('CUSTODY_PKCS11_KEY_INVALID'), keyLabel)
    }
  })

  it('refuses a key that was once extractable or not sensitive, or that may wrap, unwrap or derive', async () => {
    // Each key differs from the one createPkcs11Key makes in one respect only, so the error names
    // exactly that attribute. SoftHSM defaults CKA_WRAP and CKA_UNWRAP to true: the base sets all.
    const r = raw()
    const good = new Map<number, boolean | number>([
      [pkcs11js.CKA_VALUE_LEN, 32], [pkcs11js.CKA_TOKEN, true], [pkcs11js.CKA_PRIVATE, true],
      [pkcs11js.CKA_SENSITIVE, true], [pkcs11js.CKA_EXTRACTABLE, false], [pkcs11js.CKA_COPYABLE, false],
      [pkcs11js.CKA_ENCRYPT, true], [pkcs11js.CKA_DECRYPT, true], [pkcs11js.CKA_WRAP, false], [pkcs11js.CKA_UNWRAP, false],
      [pkcs11js.CKA_SIGN, false], [pkcs11js.CKA_VERIFY, false], [pkcs11js.CKA_DERIVE, false],
    ])
    try {
      const s = r.session('unit')
      const make = (label: string, change: Array<[number, boolean]>, later: Array<[number, boolean]> = []): void => {
        const template = new Map(good)
        for (const [type, value] of change) template.set(type, value)
        const key = r.lib.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_LABEL, value: label },
          ...[...template].map(([type, value]) => ({ type, value })),
        ])
        if (later.length > 0) r.lib.C_SetAttributeValue(s, key, later.map(([type, value]) => ({ type, value })))
        // what the attack relies on: today's flags look right, only the history (or a usage flag) differs
        const [sensitive, extractable] = r.lib.C_GetAttributeValue(s, key, [{ type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }])
        assert.equal(sensitive.value[0], 1, `${label} is sensitive now`)
        assert.equal(extractable.value[0], 0, `${label} is not extractable now`)
      }
      make('was-extractable', [[pkcs11js.CKA_EXTRACTABLE, true]], [[pkcs11js.CKA_EXTRACTABLE, false]])
      make('was-not-sensitive', [[pkcs11js.CKA_SENSITIVE, false]], [[pkcs11js.CKA_SENSITIVE, true]])
      make('can-wrap', [[pkcs11js.CKA_WRAP, true]])
      make('can-unwrap', [[pkcs11js.CKA_UNWRAP, true]])
      make('can-derive', [[pkcs11js.CKA_DERIVE, true]])
      make('all-good', [])
    } finally {
      r.done()
    }
    const cases: Array<[string, string]> = [
      ['was-extractable', 'CKA_NEVER_EXTRACTABLE'],
      ['was-not-sensitive', 'CKA_ALWAYS_SENSITIVE'],
      ['can-wrap', 'CKA_WRAP'],
      ['can-unwrap', 'CKA_UNWRAP'],
      ['can-derive', 'CKA_DERIVE'],
    ]
    for (const [keyLabel, attribute] of cases) {
      const named = (err: unknown): boolean => {
        assert.ok(isDtaError(err, 'CUSTODY_PKCS11_KEY_INVALID'), `${keyLabel}: expected CUSTODY_PKCS11_KEY_INVALID, got ${String(err)}`)
        const others = cases.map(([, a]) => a).filter(a => a !== attribute)
        assert.ok(err.message.includes(`"${keyLabel}": ${attribute} is`), `${keyLabel}: names ${attribute}: ${err.message}`)
        for (const other of others) assert.ok(!err.message.includes(other), `${keyLabel}: names only ${attribute}: ${err.message}`)
        return true
      }
      await assert.rejects(openPkcs11Custody(options({ keyLabel })), named, keyLabel)
      // `milagro init` finds the key under the label and refuses it the same way (it does not make another)
      await assert.rejects(createPkcs11Key(options({ keyLabel })), named, keyLabel)
    }
    // the same template without the change opens, and so does the key createPkcs11Key makes
    const custody = await openPkcs11Custody(options({ keyLabel: 'all-good' }))
    await custody.close()
    await createPkcs11Key(options({ keyLabel: 'made-by-init' }))
    const made = await openPkcs11Custody(options({ keyLabel: 'made-by-init' }))
    await made.close()
    assert.equal(loadedPkcs11Modules(), 0, 'every refused open released the module')
  })

  it('keeps working across close and open, and unloads the module when the last user closes', async () => {
    await createPkcs11Key(options({ keyLabel: 'restart' }))
    const a = await openPkcs11Custody(options({ keyLabel: 'restart' }))
    const seed = Uint8Array.from({ length: 32 }, (_, i) => i)
    const sealed = await a.seal('identity/restart', seed)
    await a.close()
    assert.equal(loadedPkcs11Modules(), 0, 'C_Finalize when nothing uses the module')
    await assert.rejects(a.unseal('identity/restart', sealed), code('CUSTODY_UNAVAILABLE'))
    for (let i = 0; i < 3; i++) {
      const b = await openPkcs11Custody(options({ keyLabel: 'restart' }))
      try {
        assert.deepEqual(await b.unseal('identity/restart', sealed), seed)
      } finally {
        await b.close()
      }
    }
  })

  it('detects a tampered record (SoftHSM: CKR_GENERAL_ERROR) and the session stays usable', async () => {
    await createPkcs11Key(options({ keyLabel: 'tamper' }))
    const custody = await openPkcs11Custody(options({ keyLabel: 'tamper', sessions: 1 }))
    try {
      const seed = new Uint8Array(32).fill(7)
      const sealed = await custody.seal('order/fiduciary/x', seed)
      for (let i = 0; i < 10; i++) {
        const bad = sealed.slice()
        bad[SEALED_HEADER_BYTES + (i % 32)] ^= 0x40
        await assert.rejects(custody.unseal('order/fiduciary/x', bad), code('CUSTODY_INTEGRITY'))
      }
      assert.deepEqual(await custody.unseal('order/fiduciary/x', sealed), seed, 'one session, still clean')
    } finally {
      await custody.close()
    }
  })

  it('queues on a full pool, honours abort while queued, and close waits for calls in flight', async () => {
    await createPkcs11Key(options({ keyLabel: 'pool' }))
    const custody = await openPkcs11Custody(options({ keyLabel: 'pool', sessions: 1 }))
    const first = custody.seal('p/1', Uint8Array.of(1))
    const controller = new AbortController()
    const queued = custody.seal('p/2', Uint8Array.of(2), { signal: controller.signal })
    controller.abort()
    await assert.rejects(queued, code('ABORTED'))
    const many = await Promise.all(Array.from({ length: 20 }, async (_, i) => await custody.seal(`p/m${i}`, Uint8Array.of(i))))
    assert.equal(many.length, 20)
    const inFlight = custody.seal('p/3', Uint8Array.of(3))
    const waiting = custody.seal('p/4', Uint8Array.of(4))
    const closed = custody.close()
    await assert.rejects(waiting, code('CUSTODY_UNAVAILABLE'))
    assert.ok((await inFlight).length > 0, 'the call in flight finished')
    await closed
    assert.ok((await first).length > 0)
  })

  it('recovers when the HSM drops every session (re-opens, logs in again, retries once)', async () => {
    await createPkcs11Key(options({ keyLabel: 'recover' }))
    const custody = await openPkcs11Custody(options({ keyLabel: 'recover' }))
    const r = raw()
    try {
      const sealed = await Promise.all([1, 2, 3, 4].map(async i => await custody.seal(`rec/${i}`, Uint8Array.of(i))))
      r.lib.C_CloseAllSessions(r.slot('unit')) // every session of this process, and so the login, is gone
      const opened = await Promise.all(sealed.map(async (s, i) => await custody.unseal(`rec/${i + 1}`, s)))
      assert.deepEqual(opened.map(o => o[0]), [1, 2, 3, 4])
      assert.ok((await custody.seal('rec/5', Uint8Array.of(5))).length > 0)
    } finally {
      r.done()
      await custody.close()
    }
  })
})

describe('pkcs11 PIN file', () => {
  before(async () => { await ready })

  it('reads a 0600 one-line file, dropping the trailing newline', async () => {
    const file = join(hsm.dir, 'pin-ok')
    await writeFile(file, `${PIN}\n`, { mode: 0o600 })
    assert.equal(await readPkcs11PinFile(file), PIN)
    await writeFile(file, `${PIN}\r\n`, { mode: 0o600 })
    assert.equal(await readPkcs11PinFile(file), PIN)
  })

  it('refuses a missing, empty, multi-line or group-readable file without showing its content', async () => {
    await assert.rejects(readPkcs11PinFile(join(hsm.dir, 'pin-missing')), code('CUSTODY_PKCS11_PIN_FILE_INVALID'))
    const empty = join(hsm.dir, 'pin-empty')
    await writeFile(empty, '', { mode: 0o600 })
    await assert.rejects(readPkcs11PinFile(empty), code('CUSTODY_PKCS11_PIN_FILE_INVALID'))
    const lines = join(hsm.dir, 'pin-lines')
    await writeFile(lines, 'secret-one\nsecret-two\n', { mode: 0o600 })
    await assert.rejects(readPkcs11PinFile(lines), code('CUSTODY_PKCS11_PIN_FILE_INVALID', 'secret-one'))
    const open = join(hsm.dir, 'pin-open')
    await writeFile(open, 'secret-pin\n', { mode: 0o600 })
    await chmod(open, 0o640)
    await assert.rejects(readPkcs11PinFile(open), code('CUSTODY_PKCS11_PIN_FILE_INVALID', 'secret-pin'))
    await assert.rejects(readPkcs11PinFile(hsm.dir), code('CUSTODY_PKCS11_PIN_FILE_INVALID'))
  })
})

describe('pkcs11 custody and the other token', () => {
  before(async () => { await ready })

  it('a key of another token has another key id and cannot open our records', async () => {
    await createPkcs11Key(options({ keyLabel: 'same-label' }))
    await createPkcs11Key(options({ tokenLabel: 'other', pin: OTHER_PIN, keyLabel: 'same-label' }))
    const ours: Custody = await openPkcs11Custody(options({ keyLabel: 'same-label' }))
    const theirs: Custody = await openPkcs11Custody(options({ tokenLabel: 'other', pin: OTHER_PIN, keyLabel: 'same-label' }))
    try {
      assert.notEqual(ours.keyId, theirs.keyId)
      await assert.rejects(theirs.unseal('x', await ours.seal('x', Uint8Array.of(1))), code('CUSTODY_WRONG_KEY'))
    } finally {
      await ours.close()
      await theirs.close()
    }
  })
})
