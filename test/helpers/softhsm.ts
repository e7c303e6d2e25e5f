/**
 * A throwaway SoftHSM2 for tests: a temp folder under os.tmpdir() holding a softhsm2.conf and a
 * token directory, tokens made with Debian's `softhsm2-util --init-token --free`, and the
 * environment (SOFTHSM2_CONF) that points the module at it. `cleanup()` removes the folder.
 *
 * SoftHSM reads SOFTHSM2_CONF and scans its tokens at C_Initialize, so a test process sets the
 * variable (`use()`) and makes its tokens before it opens any custody; node:test runs each test
 * file in its own process, so files do not disturb each other.
 * @module
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DEFAULT_PKCS11_MODULE } from '../../src/adapters/custody/pkcs11/index.ts'

const run = promisify(execFile)

export const SOFTHSM_MODULE = DEFAULT_PKCS11_MODULE

export interface SoftHsm {
  readonly dir: string
  readonly conf: string
  readonly module: string
  /** `{ SOFTHSM2_CONF }` for child processes. */
  readonly env: Record<string, string>
  /** Sets SOFTHSM2_CONF in this process (before the module is first initialised). */
  use (): void
  /** `softhsm2-util --init-token --free --label … --pin … --so-pin …` */
  initToken (label: string, pin: string, soPin?: string): Promise<void>
  cleanup (): Promise<void>
}

/** Throws a clear error when Debian's softhsm2 is not installed (`npm test` installs it first). */
export function requireSoftHsm (): void {
  if (!existsSync(SOFTHSM_MODULE)) {
    throw new Error(`SoftHSM2 is not installed (${SOFTHSM_MODULE} is missing): apt-get install softhsm2, or run npm test (scripts/ensure-test-deps.ts)`)
  }
}

export async function createSoftHsm (): Promise<SoftHsm> {
  requireSoftHsm()
  const dir = await mkdtemp(join(tmpdir(), 'dta-softhsm-'))
  const tokens = join(dir, 'tokens')
  await mkdir(tokens, { mode: 0o700 })
  const conf = join(dir, 'softhsm2.conf')
  await writeFile(conf, [
    `directories.tokendir = ${tokens}`,
    'objectstore.backend = file',
    'log.level = ERROR',
    'slots.removable = false',
    'slots.mechanisms = ALL',
    'library.reset_on_fork = false',
    '',
  ].join('\n'), { mode: 0o600 })
  const env = { SOFTHSM2_CONF: conf }
  return {
    dir,
    conf,
    module: SOFTHSM_MODULE,
    env,
    use () { process.env.SOFTHSM2_CONF = conf },
    async initToken (label, pin, soPin = 'so-pin-1234') {
      await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], {
        env: { ...process.env, ...env },
      })
    },
    async cleanup () { await rm(dir, { recursive: true, force: true }) },
  }
}
