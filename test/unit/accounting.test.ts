/**
 * The bench's CPU accounting (src/accounting.ts): off, `accounted` hands back the very function it
 * was given and nothing is installed (no SIGUSR2 handler, no JSON patch, no snapshot file); on,
 * nested components are not counted twice and SIGUSR2 writes the snapshot. Each case runs in a
 * child process, because the switch is read once, when the module loads.
 * @module
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'

const MODULE = new URL('../../src/accounting.ts', import.meta.url).href
const APP = new URL('../../src/http/app.ts', import.meta.url).href

interface Child { stdout: Promise<string>, pid: number, exited: Promise<number | null>, ready: Promise<void> }

function child (code: string, env: Record<string, string>): Child {
  const clean = { ...process.env }
  delete clean.MILAGRO_BENCH_ACCOUNTING
  delete clean.MILAGRO_BENCH_ACCOUNTING_FILE
  const c = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  let onReady = (): void => {}
  const ready = new Promise<void>(resolve => { onReady = resolve })
  c.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; if (out.includes('ready')) onReady() })
  const exited = new Promise<number | null>(resolve => c.once('exit', resolve))
  return { pid: c.pid!, exited, stdout: exited.then(() => out), ready }
}

async function result (code: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const c = child(code, env)
  assert.equal(await c.exited, 0)
  return JSON.parse(await c.stdout) as Record<string, unknown>
}

test('off: accounted returns the function itself, and nothing is installed', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dta-accounting-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = path.join(dir, 'snapshot.json')
  for (const value of [undefined, '0', 'true']) {
    const out = await result(`
      const parse = JSON.parse
      const a = await import(${JSON.stringify(MODULE)})
      const f = (x) => x + 1
      const app = await (await import(${JSON.stringify(APP)})).buildApp({ services: {}, bodyLimit: 1_000_000, requestTimeoutMs: 0, version: 'test', allowedHosts: [] })
      console.log(JSON.stringify({
        on: a.ACCOUNTING_ON, same: a.accounted('crypto', f) === f, sigusr2: process.listenerCount('SIGUSR2'),
        jsonPatched: JSON.parse !== parse, requestListeners: app.server.listeners('request').length,
        snapshot: a.accountingSnapshot(),
      }))
      await app.close()
    `, { ...(value === undefined ? {} : { MILAGRO_BENCH_ACCOUNTING: value }), MILAGRO_BENCH_ACCOUNTING_FILE: file })
    assert.equal(out.on, false, String(value))
    assert.equal(out.same, true)
    assert.equal(out.sigusr2, 0)
    assert.equal(out.jsonPatched, false)
    assert.equal(out.requestListeners, 1)
    assert.deepEqual((out.snapshot as { componentMs: object }).componentMs, { crypto: 0, http: 0, state: 0, ipfs: 0, codec: 0 })
    assert.equal(existsSync(file), false)
  }
})

test('on: a nested component is subtracted from its caller, and a component inside itself is measured once', async () => {
  const out = await result(`
    const a = await import(${JSON.stringify(MODULE)})
    const spin = (n) => { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i); return x }
    const inner = a.accounted('crypto', () => spin(3e6))
    const innerTwice = a.accounted('crypto', () => inner() + inner())
    const outer = a.accounted('http', () => { spin(1e6); return innerTwice() })
    const failing = a.accounted('state', () => { inner(); throw new Error('x') })
    const t0 = performance.now()
    outer()
    const wall = performance.now() - t0
    const afterOuter = a.accountingSnapshot()
    try { failing() } catch {}
    inner()
    console.log(JSON.stringify({ wall, afterOuter, end: a.accountingSnapshot() }))
  `, { MILAGRO_BENCH_ACCOUNTING: '1' })
  const s = out.afterOuter as { componentMs: Record<string, number>, calls: Record<string, number> }
  const end = out.end as { componentMs: Record<string, number>, calls: Record<string, number> }
  assert.ok(s.componentMs.crypto! > 0 && s.componentMs.http! > 0)
  // each frame's time is capped at its wall time, so without double counting the two parts sum to
  // at most the outer call's wall time; counting the inner crypto twice (or in http) would add ~6/7 of it again
  assert.ok(s.componentMs.crypto! + s.componentMs.http! <= (out.wall as number), JSON.stringify(out))
  // the crypto calls inside innerTwice (crypto) are not measured again: one crypto call, one http call
  assert.deepEqual(s.calls, { crypto: 1, http: 1, state: 0, ipfs: 0, codec: 0 })
  // a throwing call still pops its frame: the inner call of `failing` is crypto, the later call at depth 0 too
  assert.deepEqual(end.calls, { crypto: 3, http: 1, state: 1, ipfs: 0, codec: 0 })
  assert.ok(end.componentMs.state! >= 0 && end.componentMs.crypto! > s.componentMs.crypto!)
})

test('on: SIGUSR2 writes the snapshot to MILAGRO_BENCH_ACCOUNTING_FILE', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dta-accounting-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = path.join(dir, 'snapshot.json')
  const c = child(`
    const a = await import(${JSON.stringify(MODULE)})
    JSON.stringify({ x: 1 })
    console.log('ready')
    const done = setTimeout(() => {}, 60_000)
    process.on('SIGTERM', () => { clearTimeout(done) })
  `, { MILAGRO_BENCH_ACCOUNTING: '1', MILAGRO_BENCH_ACCOUNTING_FILE: file })
  await Promise.race([c.ready, c.exited])
  const deadline = Date.now() + 30_000
  let snapshot: { seq: number, pid: number, processCpuMs: number, calls: Record<string, number> } | undefined
  while (snapshot === undefined && Date.now() < deadline) {
    process.kill(c.pid, 'SIGUSR2')
    await new Promise(resolve => setTimeout(resolve, 50))
    if (existsSync(file)) snapshot = JSON.parse(readFileSync(file, 'utf8')) as typeof snapshot
  }
  process.kill(c.pid, 'SIGTERM')
  await c.exited
  assert.ok(snapshot !== undefined, 'a snapshot was written')
  assert.equal(snapshot.pid, c.pid)
  assert.ok(snapshot.seq >= 1 && snapshot.processCpuMs > 0)
  assert.ok(snapshot.calls.codec! >= 1, 'JSON.stringify is accounted as codec')
})
