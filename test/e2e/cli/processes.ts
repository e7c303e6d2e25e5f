/**
 * Helpers of the CLI end-to-end tests that run `bin/milagro.js` as real child processes and
 * look at the home folder they leave: run a command to its end (with stdin piped in), start a
 * long-running `daemon`/`start` and wait for its "listening" line or its exit, wait (bounded)
 * for a file to appear, occupy a TCP port with a plain server. Every child still alive when the
 * test file ends is SIGKILLed. Used by home.test.ts, listen.test.ts and interactive.test.ts.
 * @module
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { after } from 'node:test'
import type { TestContext } from 'node:test'

export const BIN = fileURLToPath(new URL('../../../bin/milagro.js', import.meta.url))

const live = new Set<ChildProcess>()
function killAll (): void {
  for (const child of live) {
    try { child.kill('SIGKILL') } catch { /* gone */ }
  }
}
// after the test file (a failed assertion may leave a daemon running, which would keep it alive)
after(killAll)
process.once('exit', killAll)

/** The parent's environment without MILAGRO_* and test-runner variables, plus `extra`. */
export function cleanEnv (extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MILAGRO_') && !k.startsWith('NODE_TEST')) env[k] = v
  return { ...env, ...extra }
}

/** A home path inside a new temporary folder (the home itself does not exist yet), removed after the test. */
export function tempHome (t: Pick<TestContext, 'after'>, prefix: string): string {
  const root = mkdtempSync(path.join(tmpdir(), prefix))
  t.after(() => { rmSync(root, { recursive: true, force: true }) })
  return path.join(root, 'home')
}

/** Variables for a node that takes free ports for every listener and logs JSON at info. */
export function nodeEnv (home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MILAGRO_HOME: home,
    MILAGRO_HTTP_LISTENADDR: '127.0.0.1:0',
    MILAGRO_HTTP_METRICSLISTENADDR: '127.0.0.1:0',
    MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0',
    MILAGRO_LOG_LEVEL: 'info',
    MILAGRO_LOG_FORMAT: 'json',
    ...extra,
  }
}

export interface Finished { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/** Runs a command to its end; `input` is written to its stdin, which is then closed; `uid`/`gid` run it as another user. */
export async function run (args: string[], env: Record<string, string>, options: { input?: string, timeoutMs?: number, uid?: number, gid?: number } = {}): Promise<Finished> {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'], uid: options.uid, gid: options.gid })
  live.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdin.on('error', () => { /* the child may exit before reading it all */ })
  child.stdin.end(options.input ?? '')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, options.timeoutMs ?? 60_000)
  return await new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      live.delete(child)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

export interface Running {
  readonly child: ChildProcess
  readonly pid: number
  /** The "milagro node listening" entry; rejects if the process exits first (with its log). */
  readonly ready: Promise<Record<string, unknown>>
  /** Resolves when the process has exited. */
  readonly exited: Promise<Finished>
  /** Every stderr line so far. */
  readonly lines: string[]
  /** SIGTERM (or `signal`) and wait for the exit. */
  stop (signal?: NodeJS.Signals): Promise<Finished>
}

/** Starts a long-running command (`daemon`, `start`, or `init` to be interrupted). */
export function launch (args: string[], env: Record<string, string>, readyTimeoutMs = 45_000): Running {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  const lines: string[] = []
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  const exited = new Promise<Finished>((resolve) => {
    child.once('close', (code, signal) => { live.delete(child); resolve({ code, signal, stdout, stderr: lines.join('\n') }) })
  })
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`not ready in ${readyTimeoutMs} ms:\n${lines.join('\n')}`)) }, readyTimeoutMs)
    createInterface({ input: child.stderr }).on('line', (line) => {
      lines.push(line)
      try {
        const entry = JSON.parse(line) as Record<string, unknown>
        if (entry.msg === 'milagro node listening') { clearTimeout(timer); resolve(entry) }
      } catch { /* not JSON */ }
    })
    void exited.then((f) => { clearTimeout(timer); reject(new Error(`exited (code ${String(f.code)}, signal ${String(f.signal)}) before it was ready:\n${lines.join('\n')}\n${stdout}`)) })
  })
  ready.catch(() => { /* awaited by the test when it wants it */ })
  return {
    child,
    pid: child.pid!,
    ready,
    exited,
    lines,
    async stop (signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return await exited
    },
  }
}

/** Resolves once `file` exists (polled every millisecond or so), rejects after `timeoutMs`. */
export async function waitForFile (file: string, timeoutMs: number, stopWhen?: Promise<unknown>): Promise<boolean> {
  let stopped = false
  void stopWhen?.then(() => { stopped = true })
  const deadline = Date.now() + timeoutMs
  while (!existsSync(file)) {
    if (stopped) return false
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 1))
  }
  return true
}

/** A plain TCP server holding a free port of 127.0.0.1 until `close()`. */
export async function occupy (t: Pick<TestContext, 'after'>): Promise<{ port: number, server: Server }> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  t.after(() => { server.close() })
  return { port: (server.address() as AddressInfo).port, server }
}

/** The line of stderr the CLI prints for a failed command (`milagro <command>: …`). */
export function failureLine (stderr: string, command: string): string | undefined {
  return stderr.split('\n').find(line => line.startsWith(`milagro ${command}: `))
}
