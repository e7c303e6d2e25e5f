/**
 * The private-network key file (`ipfs.swarmKeyFile`, a go-ipfs `swarm.key`) is held to the rule of
 * the custody key file: only its owner may access it. A group- or world-readable one is refused
 * with DOCUMENT_STORE_SWARM_KEY_INSECURE, naming the file and the fix, before the node listens —
 * read by the Helia store at start (`readSwarmKeyFile`) and so by `initNode`/`createNode`, which
 * pass the configured path. The key never appears in an error.
 * @module
 */

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { createHeliaDocumentStore, parseSwarmKey, readSwarmKeyFile } from '../../../src/adapters/ipfs/helia/index.ts'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import { initNode } from '../../../src/node.ts'

const LOOPBACK = '/ip4/127.0.0.1/tcp/0'

describe('swarm.key file permissions', () => {
  const folders: string[] = []
  const folder = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'dta-swarm-key-'))
    folders.push(dir)
    return dir
  }
  after(() => { for (const dir of folders) rmSync(dir, { recursive: true, force: true }) })

  const hex = (): string => randomBytes(32).toString('hex')
  const keyText = (digits: string): string => `/key/swarm/psk/1.0.0/\n/base16/\n${digits}\n`

  /** A swarm.key with `mode` (set with chmod, so the umask does not matter). */
  function keyFile (mode: number, digits = hex(), dir = folder()): string {
    const file = join(dir, 'swarm.key')
    writeFileSync(file, keyText(digits), { mode: 0o600 })
    chmodSync(file, mode)
    return file
  }

  function refused (code: ErrorCode, ...mustInclude: string[]) {
    return (err: unknown): boolean => {
      assert.ok(isDtaError(err, code), `expected ${code}, got ${String(err)}`)
      for (const text of mustInclude) assert.ok(err.message.includes(text), `"${err.message}" names ${text}`)
      return true
    }
  }

  it('reads a 0600 swarm.key (and a 0400 one)', async () => {
    const digits = hex()
    assert.deepEqual(await readSwarmKeyFile(keyFile(0o600, digits)), parseSwarmKey(keyText(digits)))
    assert.deepEqual(await readSwarmKeyFile(keyFile(0o400, digits)), parseSwarmKey(keyText(digits)))
  })

  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o601, 0o610]) {
    it(`refuses a swarm.key with mode ${mode.toString(8)}, naming the file and chmod 600, never the key`, async () => {
      const digits = hex()
      const file = keyFile(mode, digits)
      await assert.rejects(readSwarmKeyFile(file), (err: unknown) => {
        refused('DOCUMENT_STORE_SWARM_KEY_INSECURE', file, 'chmod 600', `mode ${mode.toString(8)}`)(err)
        assert.ok(!JSON.stringify(err).includes(digits) && !String((err as Error).stack).includes(digits), 'the key is not in the error')
        return true
      })
    })
  }

  it('a missing file, a folder, an oversized file and a file that is not a key are DOCUMENT_STORE_BAD_CONFIG', async () => {
    const dir = folder()
    await assert.rejects(readSwarmKeyFile(join(dir, 'absent.key')), refused('DOCUMENT_STORE_BAD_CONFIG', 'absent.key', 'ENOENT'))
    const sub = join(dir, 'a-folder')
    mkdirSync(sub, { mode: 0o700 })
    await assert.rejects(readSwarmKeyFile(sub), refused('DOCUMENT_STORE_BAD_CONFIG', 'a-folder'))
    const big = join(dir, 'big.key')
    writeFileSync(big, keyText(hex()) + ' '.repeat(2000), { mode: 0o600 })
    await assert.rejects(readSwarmKeyFile(big), refused('DOCUMENT_STORE_BAD_CONFIG', 'big.key'))
    const secret = 'c0ffee'.repeat(10) + 'beef'
    const bad = join(dir, 'bad.key')
    writeFileSync(bad, `/key/swarm/psk/9/\n/base16/\n${secret}\n`, { mode: 0o600 })
    await assert.rejects(readSwarmKeyFile(bad), (err: unknown) => {
      refused('DOCUMENT_STORE_BAD_CONFIG', bad, 'must be a go-ipfs swarm.key')(err)
      assert.ok(!String((err as Error).stack).includes(secret), 'the key is not in the error')
      return true
    })
  })

  it('the Helia store refuses to start with a group-readable swarmKeyFile, and listens on nothing', async () => {
    const store = createHeliaDocumentStore({ path: folder(), listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000, swarmKeyFile: keyFile(0o640) })
    await assert.rejects(store.start(), refused('DOCUMENT_STORE_SWARM_KEY_INSECURE', 'chmod 600'))
    assert.deepEqual(store.multiaddrs(), [])
    await assert.rejects(store.put(new Uint8Array([1])), refused('DOCUMENT_STORE_STOPPED'))
  })

  it('the Helia store starts with a 0600 swarmKeyFile; swarmKey and swarmKeyFile together are refused', async () => {
    const file = keyFile(0o600)
    const store = createHeliaDocumentStore({ path: folder(), listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000, swarmKeyFile: file })
    await store.start()
    try {
      assert.equal(store.multiaddrs().length, 1)
    } finally {
      await store.stop()
    }
    assert.throws(() => createHeliaDocumentStore({ path: folder(), listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000, swarmKeyFile: file, swarmKey: keyText(hex()) }),
      refused('DOCUMENT_STORE_BAD_CONFIG', 'not both'))
    assert.throws(() => createHeliaDocumentStore({ path: folder(), listen: [LOOPBACK], peers: [], fetchTimeoutMs: 1000, swarmKeyFile: '' }),
      refused('DOCUMENT_STORE_BAD_CONFIG', 'swarmKeyFile'))
  })

  it('a node configured with ipfs.swarmKeyFile refuses a world-readable one (node.ts reads it through the store)', async () => {
    const home = folder()
    keyFile(0o644, hex(), home)
    const env = { MILAGRO_IPFS_LISTENADDR: LOOPBACK, MILAGRO_IPFS_FETCHTIMEOUTMS: '300', MILAGRO_IPFS_SWARMKEYFILE: 'swarm.key' }
    await assert.rejects(initNode({ home, nodeName: 'pnet', env }), refused('DOCUMENT_STORE_SWARM_KEY_INSECURE', join(home, 'swarm.key'), 'chmod 600'))
  })
})
