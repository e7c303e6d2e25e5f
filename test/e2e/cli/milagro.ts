/**
 * Helpers of the CLI tests (target, help, orders, install): run the real `bin/milagro.js` as a
 * child process with a clean environment (the parent's MILAGRO_* and test-runner variables
 * dropped), and a stand-in node — a small HTTP server answering `GET /v1/status` as a node would,
 * with the plugin and node type a test wants, recording the paths it was asked — for the tests
 * about which node a command talks to, where a real node adds nothing but seconds.
 * @module
 */
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../../bin/milagro.js', import.meta.url))
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface Result { code: number, stdout: string, stderr: string }

export function cleanEnv (extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('MILAGRO_') && !k.startsWith('NODE_TEST')) env[k] = v
  }
  return { ...env, ...extra }
}

/** Runs a command and resolves with its exit code and output (never rejects on a failing exit). */
export async function run (file: string, args: string[], options: { env: Record<string, string>, cwd?: string, timeoutMs?: number }): Promise<Result> {
  return await new Promise((resolve) => {
    execFile(file, args, { env: options.env, cwd: options.cwd, timeout: options.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (typeof err.code === 'number' ? err.code : 1), stdout, stderr })
    })
  })
}

/** `milagro ARGS` with the test's Node 24 and only the given MILAGRO_* variables. */
export async function milagro (args: string[], env: Record<string, string> = {}): Promise<Result> {
  return await run(process.execPath, [BIN, ...args], { env: cleanEnv(env) })
}

export interface FakeNode {
  url: string
  /** `host:port`, as http.listenAddr would say it. */
  address: string
  /** `METHOD path` of every request, in order. */
  requests: string[]
  close (): Promise<void>
}

/** A stand-in node: GET /v1/status answers `status`; any other path 404 ROUTE_NOT_FOUND, as the API does. */
export async function fakeNode (status: Record<string, unknown>): Promise<FakeNode> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`)
    if (req.method === 'GET' && req.url === '/v1/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status))
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, code: 'ROUTE_NOT_FOUND', message: `No such endpoint on this node: ${req.method ?? ''} ${req.url ?? ''}` }))
    }
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: `http://${address}`,
    address,
    requests,
    close: async () => { await new Promise<void>((resolve) => { server.close(() => { resolve() }); server.closeAllConnections() }) },
  }
}

/** A config.yaml as `init` writes its client-relevant keys. */
export function configYaml (listenAddr: string, service = 'milagro', metricsListenAddr = ''): string {
  return `http:\n  listenAddr: ${listenAddr}\n  metricsListenAddr: "${metricsListenAddr}"\nplugins:\n  service: ${service}\n`
}

/** `text` as a regular expression that matches it literally. */
export function literal (text: string, flags?: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), flags)
}
