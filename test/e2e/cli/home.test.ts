/**
 * The home folder cannot be bricked (issue 14, items 1 and 2), shown with the real `milagro`
 * binary as a person uses it:
 * - an init that fails or is interrupted (SIGINT, SIGKILL) at any moment leaves a home that the
 *   next `milagro start` (or `init`) finishes, with the custody key it already made, never a new
 *   one (for pkcs11 custody, the HSM key it made is found under its label again); a home whose
 *   custody key no longer opens its stored node identity is refused with a message that says
 *   what to do, and no key is made;
 * - the home is locked: a second daemon on it refuses ("already running (pid N)", HOME_LOCKED),
 *   as does `custody migrate` while the daemon runs; the lock goes on exit (SIGTERM, SIGINT),
 *   and a stale one (its pid is gone: SIGKILL) is taken over, with a warning.
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { createSoftHsm } from '../../helpers/softhsm.ts'
import { failureLine, launch, nodeEnv, run, tempHome, waitForFile } from './processes.ts'

const LOCK = 'milagro.lock'
const SWARM_KEY = `/key/swarm/psk/1.0.0/\n/base16/\n${'ab'.repeat(32)}\n`

function nodeIdOf (home: string): string | undefined {
  return readFileSync(path.join(home, 'config.yaml'), 'utf8').match(/nodeID: (Qm\w+)/)?.[1]
}

async function statusOf (info: Record<string, unknown>): Promise<Record<string, unknown>> {
  return await (await fetch(`${String(info.address)}/v1/status`)).json() as Record<string, unknown>
}

/** A pid that no process has now (a child that has exited). */
function deadPid (): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' })
  return Number(child.stdout.trim())
}

describe('an unfinished init', () => {
  it('interrupted at any moment (SIGINT or SIGKILL during the first `milagro start`), is finished by the next start with the same custody key', async (t) => {
    const moments: Array<[string, NodeJS.Signals]> = [
      ['state.sqlite', 'SIGKILL'],
      ['custody.key', 'SIGKILL'],
      ['custody.key', 'SIGINT'],
      ['ipfs/peer.key', 'SIGINT'],
      ['ipfs/peer.key', 'SIGKILL'],
    ]
    let interrupted = 0
    for (const [file, signal] of moments) {
      const home = tempHome(t, 'dta-home-kill-')
      const env = nodeEnv(home)
      const first = launch(['start'], env)
      const appeared = await waitForFile(path.join(home, file), 30_000, first.exited)
      assert.ok(appeared, `${file} appeared before the first start exited:\n${first.lines.join('\n')}`)
      first.child.kill(signal)
      await first.exited
      if (!existsSync(path.join(home, 'config.yaml'))) interrupted++
      const key = existsSync(path.join(home, 'custody.key')) ? readFileSync(path.join(home, 'custody.key')) : undefined

      const second = launch(['start'], env)
      const info = await second.ready
      assert.equal((await statusOf(info)).nodeCID, info.nodeCID)
      assert.equal(nodeIdOf(home), info.nodeCID, `after ${signal} at ${file}: config.yaml names the node identity`)
      if (key !== undefined) assert.deepEqual(readFileSync(path.join(home, 'custody.key')), key, `after ${signal} at ${file}: the custody key was kept`)
      assert.equal((await second.stop()).code, 0)
    }
    assert.ok(interrupted >= 3, `at least three of the ${moments.length} starts were interrupted before config.yaml was written (${interrupted})`)
  })

  it('that failed after making the custody key (an insecure swarm.key) is resumed once the cause is fixed, keeping the key', async (t) => {
    const home = tempHome(t, 'dta-home-fail-')
    mkdirSync(home, { mode: 0o700 })
    writeFileSync(path.join(home, 'swarm.key'), SWARM_KEY, { mode: 0o644 })
    chmodSync(path.join(home, 'swarm.key'), 0o644)
    const env = nodeEnv(home, { MILAGRO_IPFS_SWARMKEYFILE: 'swarm.key' })
    const failed = await run(['init', '--nodename', 'alice'], env)
    assert.equal(failed.code, 1, failed.stderr)
    assert.match(failureLine(failed.stderr, 'init') ?? '', /DOCUMENT_STORE_SWARM_KEY_INSECURE/)
    assert.ok(!existsSync(path.join(home, 'config.yaml')))
    const key = readFileSync(path.join(home, 'custody.key'))

    chmodSync(path.join(home, 'swarm.key'), 0o600)
    const resumed = await run(['init', '--nodename', 'alice'], env)
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stdout + resumed.stderr, /[Rr]esum/, 'it says that it resumes an unfinished init')
    assert.match(resumed.stdout, /Node identity: Qm/)
    assert.deepEqual(readFileSync(path.join(home, 'custody.key')), key, 'the custody key made by the failed init is kept')

    const node = launch(['daemon'], env)
    const info = await node.ready
    assert.equal(info.nodeCID, nodeIdOf(home))
    assert.equal((await node.stop()).code, 0)
  })

  it('with passphrase custody: a failed init needs the same passphrase to resume (and says so); a missing passphrase leaves nothing behind', async (t) => {
    const home = tempHome(t, 'dta-home-pass-')
    const missing = await run(['init'], nodeEnv(home, { MILAGRO_NODE_CUSTODYKEYSOURCE: 'passphrase' }))
    assert.equal(missing.code, 1)
    assert.match(failureLine(missing.stderr, 'init') ?? '', /CUSTODY_PASSPHRASE_MISSING.*MILAGRO_NODE_PASSPHRASE/)
    assert.deepEqual(existsSync(home) ? spawnSync('ls', ['-A', home], { encoding: 'utf8' }).stdout : '', '', 'nothing was created')

    mkdirSync(home, { recursive: true, mode: 0o700 })
    writeFileSync(path.join(home, 'swarm.key'), SWARM_KEY, { mode: 0o644 })
    chmodSync(path.join(home, 'swarm.key'), 0o644)
    const base = { MILAGRO_NODE_CUSTODYKEYSOURCE: 'passphrase', MILAGRO_IPFS_SWARMKEYFILE: 'swarm.key' }
    const failed = await run(['init'], nodeEnv(home, { ...base, MILAGRO_NODE_PASSPHRASE: 'first passphrase' }))
    assert.equal(failed.code, 1, failed.stderr)
    const params = readFileSync(path.join(home, 'custody-params.json'))
    chmodSync(path.join(home, 'swarm.key'), 0o600)

    const other = await run(['init'], nodeEnv(home, { ...base, MILAGRO_NODE_PASSPHRASE: 'another passphrase' }))
    assert.equal(other.code, 1)
    const line = failureLine(other.stderr, 'init') ?? ''
    assert.match(line, /HOME_INIT_UNFINISHED/)
    assert.match(line, /custody-params\.json/)
    assert.match(line, /same passphrase/)
    assert.deepEqual(readFileSync(path.join(home, 'custody-params.json')), params, 'the parameters file is kept')

    const resumed = await run(['init'], nodeEnv(home, { ...base, MILAGRO_NODE_PASSPHRASE: 'first passphrase' }))
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.deepEqual(readFileSync(path.join(home, 'custody-params.json')), params)
  })

  it('with pkcs11 custody: a missing PIN leaves nothing; a failed init is resumed with the HSM key it made (found under its label, not made twice)', async (t) => {
    const hsm = await createSoftHsm()
    t.after(async () => { await hsm.cleanup() })
    await hsm.initToken('milagro', '1234')
    const home = tempHome(t, 'dta-home-hsm-')
    const pkcs11 = { ...hsm.env, MILAGRO_NODE_CUSTODY: 'pkcs11' }
    const noPin = await run(['init'], nodeEnv(home, pkcs11))
    assert.equal(noPin.code, 1)
    assert.match(failureLine(noPin.stderr, 'init') ?? '', /CUSTODY_PKCS11_PIN_MISSING/)
    assert.ok(!existsSync(home), 'nothing was created')

    mkdirSync(home, { mode: 0o700 })
    writeFileSync(path.join(home, 'swarm.key'), SWARM_KEY, { mode: 0o644 })
    chmodSync(path.join(home, 'swarm.key'), 0o644)
    const env = nodeEnv(home, { ...pkcs11, MILAGRO_NODE_PKCS11PIN: '1234', MILAGRO_IPFS_SWARMKEYFILE: 'swarm.key' })
    const failed = await run(['init'], env)
    assert.equal(failed.code, 1, failed.stderr)
    assert.match(failureLine(failed.stderr, 'init') ?? '', /DOCUMENT_STORE_SWARM_KEY_INSECURE/)
    chmodSync(path.join(home, 'swarm.key'), 0o600)
    const resumed = await run(['init'], env)
    assert.equal(resumed.code, 0, resumed.stderr)
    const status = await run(['custody', 'status', '--json'], env)
    assert.equal(status.code, 0, status.stderr)
    assert.deepEqual((JSON.parse(status.stdout) as { seeds: unknown }).seeds, { current: 1, other: 0 }, 'the node identity is sealed under the one HSM key')
  })

  it('that stored the node identity but not config.yaml resumes with that identity; one whose custody key is gone is refused and no key is made', async (t) => {
    const home = tempHome(t, 'dta-home-identity-')
    const env = nodeEnv(home)
    const done = await run(['init', '--nodename', 'bob'], env)
    assert.equal(done.code, 0, done.stderr)
    const cid = nodeIdOf(home)
    const key = readFileSync(path.join(home, 'custody.key'))
    rmSync(path.join(home, 'config.yaml')) // as if killed between storing the identity and writing the config

    const started = launch(['start'], env)
    const info = await started.ready
    assert.equal(info.nodeCID, cid, 'the node identity the unfinished init stored')
    assert.deepEqual(readFileSync(path.join(home, 'custody.key')), key)
    assert.match(readFileSync(path.join(home, 'config.yaml'), 'utf8'), /nodeName: bob/)
    assert.equal((await started.stop()).code, 0)

    rmSync(path.join(home, 'config.yaml'))
    rmSync(path.join(home, 'custody.key'))
    const refused = await run(['init'], env)
    assert.equal(refused.code, 1)
    const line = failureLine(refused.stderr, 'init') ?? ''
    assert.match(line, /HOME_INIT_UNFINISHED/)
    assert.match(line, new RegExp(`${cid}.*custody\\.key`))
    assert.match(line, /restore/)
    assert.ok(!existsSync(path.join(home, 'custody.key')), 'no new custody key was made')

    writeFileSync(path.join(home, 'custody.key'), randomBytes(32), { mode: 0o600 })
    const otherKey = readFileSync(path.join(home, 'custody.key'))
    const wrong = await run(['init'], env)
    assert.equal(wrong.code, 1)
    assert.match(failureLine(wrong.stderr, 'init') ?? '', /HOME_INIT_UNFINISHED.*another custody key/)
    assert.deepEqual(readFileSync(path.join(home, 'custody.key')), otherKey, 'a key that is there is never replaced')
  })
})

describe('the home lock', () => {
  it('of eight processes that race for a stale lock, exactly one takes it', async (t) => {
    const home = tempHome(t, 'dta-home-race-')
    mkdirSync(home, { mode: 0o700 })
    const lockModule = new URL('../../../src/adapters/home-lock.ts', import.meta.url).href
    for (let round = 0; round < 3; round++) {
      writeFileSync(path.join(home, LOCK), JSON.stringify({ pid: deadPid(), command: 'milagro daemon', since: 'then' }), { mode: 0o600 })
      const at = Date.now() + 1500
      const script = `const { lockHome } = await import(${JSON.stringify(lockModule)}); await new Promise(r => setTimeout(r, Math.max(0, ${at} - Date.now())));` +
        'try { const l = await lockHome(process.argv[1], "race"); console.log("won"); await new Promise(r => setTimeout(r, 1000)); await l.release() } catch (e) { console.log(e.code) }'
      const racers = await Promise.all(Array.from({ length: 8 }, async () => await new Promise<string>((resolve) => {
        execFile(process.execPath, ['--input-type=module', '-e', script, home], (_err, stdout) => { resolve(stdout.trim()) })
      })))
      assert.equal(racers.filter(r => r === 'won').length, 1, racers.join(', '))
      assert.equal(racers.filter(r => r === 'HOME_LOCKED').length, 7, racers.join(', '))
      assert.ok(!existsSync(path.join(home, LOCK)), 'the winner released it')
    }
  })

  it('a second daemon on a home refuses (already running, pid N) while the first serves; SIGTERM and SIGINT release the lock', async (t) => {
    const home = tempHome(t, 'dta-home-lock-')
    const env = nodeEnv(home)
    assert.equal((await run(['init'], env)).code, 0)
    const first = launch(['daemon'], env)
    const info = await first.ready
    const lock = JSON.parse(readFileSync(path.join(home, LOCK), 'utf8')) as { pid: number }
    assert.equal(lock.pid, first.pid)

    const second = await run(['daemon'], env)
    assert.equal(second.code, 1, second.stderr)
    const line = failureLine(second.stderr, 'daemon') ?? ''
    assert.match(line, new RegExp(`HOME_LOCKED: .*already running \\(pid ${first.pid}\\)`))
    assert.match(line, new RegExp(path.join(home, LOCK).replaceAll('/', '\\/')))
    const again = await run(['start'], env)
    assert.equal(again.code, 1)
    assert.match(failureLine(again.stderr, 'start') ?? '', /HOME_LOCKED/)
    const migrate = await run(['custody', 'migrate', '--to', 'local'], env)
    assert.equal(migrate.code, 1, migrate.stderr)
    assert.match(failureLine(migrate.stderr, 'custody migrate') ?? '', new RegExp(`HOME_LOCKED: .*already running \\(pid ${first.pid}\\)`))
    assert.equal((await statusOf(info)).nodeCID, info.nodeCID, 'the first daemon still serves')

    assert.equal((await first.stop('SIGTERM')).code, 0)
    assert.ok(!existsSync(path.join(home, LOCK)), 'SIGTERM released the lock')
    const third = launch(['daemon'], env)
    await third.ready
    assert.equal((await third.stop('SIGINT')).code, 0)
    assert.ok(!existsSync(path.join(home, LOCK)), 'SIGINT released the lock')
  })

  it('a stale lock (its process is gone: SIGKILL, or a pid nothing runs as) is taken over, with a warning naming it', async (t) => {
    const home = tempHome(t, 'dta-home-stale-')
    const env = nodeEnv(home)
    assert.equal((await run(['init'], env)).code, 0)
    const killed = launch(['daemon'], env)
    await killed.ready
    killed.child.kill('SIGKILL')
    await killed.exited
    assert.equal((JSON.parse(readFileSync(path.join(home, LOCK), 'utf8')) as { pid: number }).pid, killed.pid, 'SIGKILL leaves the lock')

    const next = launch(['daemon'], env)
    await next.ready
    assert.ok(next.lines.some(l => l.includes('stale') && l.includes(String(killed.pid))), `a warning names the stale lock:\n${next.lines.join('\n')}`)
    assert.equal((JSON.parse(readFileSync(path.join(home, LOCK), 'utf8')) as { pid: number }).pid, next.pid)
    assert.equal((await next.stop()).code, 0)

    const dead = deadPid()
    writeFileSync(path.join(home, LOCK), JSON.stringify({ pid: dead, command: 'milagro daemon' }), { mode: 0o600 })
    const after = launch(['daemon'], env)
    await after.ready
    assert.ok(after.lines.some(l => l.includes('stale') && l.includes(String(dead))))
    assert.equal((await after.stop()).code, 0)
    assert.ok(!existsSync(path.join(home, LOCK)))
  })
})
