/**
 * A curious operator (threat model: docs/threat-model.md): someone who can read the nodes' disks,
 * backups and logs, but not the custody key encryption key. What they must not find or do:
 * - find a seed, a key share or a released secret in any file of a node's home (state database
 *   with its WAL, IPFS blockstore and datastore) or in its debug log — here after a bitcoinwallet
 *   order redeemed for a beneficiary named at redemption, whose share travels in part 3;
 * - run a node on key files that others on the machine can read (custody key, swarm key): the
 *   node refuses to start.
 * test/security/leak.test.ts searches every secret of full flows of every plugin in more forms;
 * this file covers the paths the adversarial review added.
 * @module
 */
import assert from 'node:assert/strict'
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { openSqliteState } from '../../src/adapters/storage/sqlite/index.ts'
import { loadConfig } from '../../src/config/load.ts'
import { isDtaError } from '../../src/errors.ts'
import { parseOrderSecretRecord } from '../../src/core/order.ts'
import { createLogger } from '../../src/logging.ts'
import { createNode, initNode, openCustody } from '../../src/node.ts'
import { principalShareKey } from '../../src/plugins/bitcoinwallet/index.ts'
import { orderSeedRecordId, pluginSealRecordId } from '../../src/ports/state.ts'
import { createWorld, show } from './fixtures/world.ts'

async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await filesUnder(full))
    else if (entry.isFile()) out.push(full)
  }
  return out
}

/** Where `secret` appears, raw or as hex in either case or base64, in `haystack`. */
function findings (haystack: Buffer, secrets: Record<string, Uint8Array>, where: string): string[] {
  const found: string[] = []
  for (const [what, bytes] of Object.entries(secrets)) {
    const raw = Buffer.from(bytes)
    for (const [form, needle] of [['raw', raw], ['hex', Buffer.from(raw.toString('hex'))], ['HEX', Buffer.from(raw.toString('hex').toUpperCase())], ['base64', Buffer.from(raw.toString('base64').slice(0, 40))]] as const) {
      if (haystack.includes(needle)) found.push(`${what} (${form}) in ${where}`)
    }
  }
  return found
}

test('an operator reading disks and debug logs finds no seed, share or secret of a split-key order', { timeout: 180_000 }, async (t) => {
  const world = await createWorld(t)
  const log: Buffer[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { log.push(Buffer.from(chunk)); done() } })
  const logger = createLogger({ level: 'debug', format: 'json' }, sink)
  const fiduciary = await world.node('fiduciary', { nodeType: 'fiduciary', service: 'bitcoinwallet', logger })
  const principal = await world.node('principal', { nodeType: 'principal', service: 'bitcoinwallet', masterFiduciary: { cid: fiduciary.cid, url: fiduciary.url }, logger })
  const carol = (await principal.call('POST', '/v1/identity', { name: 'carol' })).body.idDocumentCID as string
  const placed = await principal.call('POST', '/v1/order', { extension: { coin: '1' } })
  assert.equal(placed.status, 200, show(placed.body))
  const reference = placed.body.orderReference as string
  const redeemed = await principal.call('POST', '/v1/order/secret', { orderReference: reference, beneficiaryIDDocumentCID: carol })
  assert.equal(redeemed.status, 200, show(redeemed.body))
  assert.equal(redeemed.body.commitment, placed.body.commitment)
  await principal.node.stop()
  await fiduciary.node.stop()

  // The needles, read the one way an operator without the KEK cannot: through custody.
  const unsealed = async (home: string, read: (state: Awaited<ReturnType<typeof openSqliteState>>) => Promise<{ id: string, sealed: Uint8Array }>): Promise<Uint8Array> => {
    const config = await loadConfig({ home })
    const state = await openSqliteState({ path: path.join(home, config.node.databaseFile) })
    const custody = await openCustody(home, config)
    try {
      const { id, sealed } = await read(state)
      return await custody.unseal(id, sealed)
    } finally {
      await custody.close()
      await state.close()
    }
  }
  const { seed, orderKey } = parseOrderSecretRecord(await unsealed(fiduciary.home, async (state) => ({ id: orderSeedRecordId('fiduciary', reference), sealed: (await state.getSeed(orderSeedRecordId('fiduciary', reference)))!.sealed })))
  const share = await unsealed(principal.home, async (state) => ({ id: pluginSealRecordId('bitcoinwallet', principalShareKey(reference)), sealed: await state.pluginStore('bitcoinwallet').get(principalShareKey(reference)) as Uint8Array }))
  const secrets = {
    'order seed': seed,
    'fiduciary share (order key)': orderKey,
    'principal share': share,
    'final key': Buffer.from(redeemed.body.secret as string, 'hex'),
  }

  const canary = path.join(world.root, 'canary.bin')
  await writeFile(canary, Buffer.concat([Buffer.from('x'), share, Buffer.from('y')]))
  assert.deepEqual(findings(await readFile(canary), { share }, 'canary'), ['share (raw) in canary'], 'the scanner finds what is there')

  const found: string[] = []
  for (const home of [fiduciary.home, principal.home]) {
    for (const file of await filesUnder(home)) found.push(...findings(await readFile(file), secrets, path.relative(world.root, file)))
  }
  const logs = Buffer.concat(log)
  assert.ok(logs.length > 1000, 'debug logging was on')
  found.push(...findings(logs, secrets, 'the debug log'))
  assert.deepEqual(found, [])
})

test('a node refuses to start on a custody key or swarm key others can read', { timeout: 60_000 }, async (t) => {
  const world = await createWorld(t)
  const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_HTTP_METRICSLISTENADDR: '', MILAGRO_HTTP_LISTENADDR: '127.0.0.1:0' }
  const home = path.join(world.root, 'loose')
  await initNode({ home, nodeName: 'loose', env })
  const config = await loadConfig({ home, env })
  await chmod(path.join(home, config.node.custodyKeyFile), 0o644)
  await assert.rejects(createNode({ home, config }), (err: unknown) => isDtaError(err, 'CUSTODY_KEY_FILE_INSECURE'))
  await chmod(path.join(home, config.node.custodyKeyFile), 0o600)

  const swarmKey = path.join(home, 'swarm.key')
  await writeFile(swarmKey, `/key/swarm/psk/1.0.0/\n/base16/\n${'ab'.repeat(32)}\n`, { mode: 0o644 })
  await chmod(swarmKey, 0o644)
  const withSwarm = await loadConfig({ home, env: { ...env, MILAGRO_IPFS_SWARMKEYFILE: 'swarm.key' } })
  await assert.rejects(createNode({ home, config: withSwarm }), (err: unknown) => isDtaError(err, 'DOCUMENT_STORE_SWARM_KEY_INSECURE'))
  await chmod(swarmKey, 0o600)
  const node = await createNode({ home, config: withSwarm })
  await node.stop()
})
