/**
 * Issue 9: the original D-TA's clients work unchanged — test/e2e/compat/original-clients.sh drives
 * a multi node per plugin (`npx milagro init` / `daemon`) with curl and jq as a user of the
 * original would. This runs it and reports its checks.
 * @module
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('./original-clients.sh', import.meta.url))
const ROOT = path.resolve(path.dirname(SCRIPT), '../../..')

test('the original clients\' flows (curl + jq) pass for milagro, safeguardsecret and bitcoinwallet', { timeout: 240_000 }, async (t) => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MILAGRO_') && !k.startsWith('NODE_TEST')) env[k] = v
  // the project's Node 24 first on PATH, as npm test has it
  env.PATH = `${path.dirname(process.execPath)}:${path.join(ROOT, 'node_modules/.bin')}:${env.PATH ?? ''}`
  const child = spawn('bash', [SCRIPT], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr.on('data', (b: Buffer) => { out += b.toString() })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  const checks = out.split('\n').filter(l => l.startsWith('ok '))
  t.diagnostic(`${checks.length} checks passed`)
  assert.equal(code, 0, out.split('\n').slice(-15).join('\n'))
  assert.ok(checks.length >= 45, `${checks.length} checks`)
  assert.match(out, /all original-client flows passed/)
})
