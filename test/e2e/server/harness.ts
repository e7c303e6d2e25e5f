/**
 * Harness of the server end-to-end suite (issue 4, tests 1–5): every D-TA node is a real OS process
 * started from `bin/milagro.js`, with its own home folder, talking to the others over 127.0.0.1.
 *
 * How the suite works (read this before adding a test):
 * - `createCluster(t)` makes one temp root under os.tmpdir() and registers `t.after` to SIGKILL
 *   every process it started and delete the root, whether the test passed or not. A process
 *   `exit` hook also SIGKILLs anything still alive, so no node outlives the test file.
 * - `cluster.init(name, {nodeType, service, masterFiduciary})` runs `milagro init` in a fresh home
 *   (`$MILAGRO_HOME`) and reads the node identity CID it prints. `node.start({peers})` runs
 *   `milagro daemon` with the HTTP API on 127.0.0.1 and IPFS on /ip4/127.0.0.1/tcp/…, both on
 *   port 0 the first time; the ports the node reports are then reused by every restart (a
 *   principal keeps the fiduciary's URL in its config, and peers keep its multiaddr).
 * - Readiness is the daemon's JSON log line `"msg":"milagro node listening"` on stderr (with
 *   `address`, `nodeCID`, `peerID`, `ipfs`), awaited with a bound; if the process exits first,
 *   the error carries the tail of its log. Configuration goes only through `MILAGRO_*`
 *   environment variables (the parent's own `MILAGRO_*` variables are dropped, since the config
 *   loader refuses unknown ones); IPFS peering is `MILAGRO_IPFS_PEERS` (comma-separated).
 * - `node.stop()` is SIGTERM (graceful) with a SIGKILL fallback; `node.kill()` is SIGKILL (crash
 *   tests); `node.start()` again restarts on the same home and ports.
 * - `node.get/post` is a small JSON client that returns `{status, body}` and never throws on an
 *   HTTP error status, so refusals are asserted on status and `body.code`.
 * - `node.logTail()` and `node.errorLines()` help diagnose a failure; logs hold no secrets (the
 *   node never logs them) and tests compare secrets with assert.ok, so they are not printed either.
 * - `readState(home)` opens a stopped (or running: WAL) node's SQLite file read-only, for the
 *   checks the API cannot show (the fiduciary's order rows, seeds and audit trail).
 *
 * Files: multi.test.ts (issue 4 test 1), two-servers.test.ts (2), three-servers.test.ts (3),
 * refusals.test.ts (4), crash.test.ts (5); flows.ts holds the per-plugin order/redemption checks
 * they share. Run them alone with `npx node --test --test-concurrency=2 "test/e2e/server/*.test.ts"`
 * (about 45–90 s on 2 cores, depending on load); `npm test` runs them with everything else.
 * @module
 */
import { spawn, execFile } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { DatabaseSync } from 'node:sqlite'
import type { TestContext } from 'node:test'

const BIN = fileURLToPath(new URL('../../../bin/milagro.js', import.meta.url))
const READY_TIMEOUT_MS = 90_000 // a bound, not a wait: a loaded 2-core machine has taken over 30 s to start a node
const STOP_TIMEOUT_MS = 15_000
const INIT_TIMEOUT_MS = 30_000
const LOG_LINES_KEPT = 400

export type NodeType = 'multi' | 'principal' | 'fiduciary'
export type PluginName = 'milagro' | 'safeguardsecret' | 'bitcoinwallet'

/** Every child process this file started that has not exited yet. */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL') } catch { /* already gone */ }
  }
})

/** Whether `port` on 127.0.0.1 can be bound right now (it is released again at once). */
async function canBind (port: number): Promise<boolean> {
  const server = createServer()
  return await new Promise<boolean>(resolve => {
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

/** A free port in 20000..32767: below Linux's default ephemeral range (32768..60999). */
async function stablePort (avoid: number[] = []): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768)
    if (!avoid.includes(port) && await canBind(port)) return port
  }
  throw new Error('no free port in 20000..32767')
}

/** The parent's environment without any MILAGRO_* (or test-runner) variable. */
function cleanEnv (): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('MILAGRO_') || k.startsWith('NODE_TEST')) continue
    env[k] = v
  }
  return env
}

/**
 * A response body for an assertion message: inline documents shown by count, long strings cut,
 * and any `secret` or `plainText` value hidden, so that a failing test never prints a secret.
 */
export function show (body: unknown): string {
  return JSON.stringify(body, (key, value: unknown) => {
    if (key === 'secret' || key === 'plainText') return '[hidden]'
    if (key === 'documents' && typeof value === 'object' && value !== null) return `[${Object.keys(value).length} inline documents]`
    if (typeof value === 'string' && value.length > 120) return `${value.slice(0, 117)}...`
    return value
  }) ?? String(body)
}

export interface HttpResult<T = any> {
  status: number
  body: T
}

/** One JSON request; the body is parsed when it is JSON, else kept as text. */
export async function httpJson<T = any> (url: string, method: 'GET' | 'POST', body?: unknown, timeoutMs = 30_000): Promise<HttpResult<T>> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const text = await response.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch { /* not JSON */ }
  return { status: response.status, body: parsed as T }
}

export interface InitOptions {
  nodeType?: NodeType
  service?: PluginName
  masterFiduciary?: { cid: string, url: string }
  /** MILAGRO_* variables for init and for every start of this node (e.g. its database and password). */
  env?: Record<string, string>
  /** More `milagro init` arguments (e.g. --join URL --peer MULTIADDR). */
  args?: string[]
  /** Called with the new home before init runs (e.g. to copy a replica's custody key into it). */
  prepare?: (home: string) => Promise<void>
}

export interface StartOptions {
  /** IPFS multiaddrs (…/p2p/<id>) of the peers to keep connected. */
  peers?: string[]
  /** More MILAGRO_* variables for this start. */
  env?: Record<string, string>
  /**
   * For a node that will be killed and restarted: take its two ports from below the kernel's
   * ephemeral range instead of port 0, so that while it is down no outgoing connection of any
   * process can be given its old port as a local port and make the restart fail (EADDRINUSE).
   */
  stablePorts?: boolean
}

export interface ListeningInfo {
  address: string
  nodeCID: string
  peerID: string
  ipfs: string[]
}

export class ServerNode {
  readonly name: string
  readonly home: string
  readonly cid: string
  readonly nodeType: NodeType
  readonly service: PluginName
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()
  #exitCode: number | null = null
  #lines: string[] = []
  #errors: string[] = []
  #httpPort = 0
  #ipfsPort = 0
  #peers: string[] = []
  #info: ListeningInfo | undefined

  /** MILAGRO_* variables every start gets (InitOptions.env). */
  readonly env: Record<string, string>

  constructor (init: { name: string, home: string, cid: string, nodeType: NodeType, service: PluginName, env?: Record<string, string> }) {
    this.name = init.name
    this.home = init.home
    this.cid = init.cid
    this.nodeType = init.nodeType
    this.service = init.service
    this.env = init.env ?? {}
  }

  get running (): boolean { return this.#child !== undefined }
  get url (): string { return this.#need().address }
  get multiaddrs (): string[] { return this.#need().ipfs }
  get peerID (): string { return this.#need().peerID }
  get pid (): number | undefined { return this.#child?.pid }

  #need (): ListeningInfo {
    if (this.#info === undefined) throw new Error(`${this.name} has not started yet`)
    return this.#info
  }

  /** Starts the daemon (or restarts it on the same ports) and waits for its "listening" line. */
  async start (options: StartOptions = {}): Promise<ListeningInfo> {
    if (this.#child !== undefined) throw new Error(`${this.name} is already running`)
    if (options.peers !== undefined) this.#peers = options.peers
    if (options.stablePorts === true && this.#httpPort === 0) {
      this.#httpPort = await stablePort()
      this.#ipfsPort = await stablePort([this.#httpPort])
    }
    const env = {
      ...cleanEnv(),
      MILAGRO_HOME: this.home,
      MILAGRO_HTTP_LISTENADDR: `127.0.0.1:${this.#httpPort}`,
      MILAGRO_IPFS_LISTENADDR: `/ip4/127.0.0.1/tcp/${this.#ipfsPort}`,
      MILAGRO_IPFS_PEERS: this.#peers.join(','),
      // Metrics would all want 127.0.0.1:5557; port 0 gives each node its own.
      MILAGRO_HTTP_METRICSLISTENADDR: '127.0.0.1:0',
      MILAGRO_LOG_LEVEL: 'info',
      MILAGRO_LOG_FORMAT: 'json',
      ...this.env,
      ...options.env,
    }
    const child = spawn(process.execPath, [BIN, 'daemon'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
    this.#child = child
    live.add(child)
    this.#exited = new Promise<void>(resolve => {
      child.once('exit', (code, signal) => {
        live.delete(child)
        this.#exitCode = code
        if (this.#child === child) this.#child = undefined
        this.#remember(`[harness] ${this.name} exited (code ${String(code)}, signal ${String(signal)})`)
        resolve()
      })
    })
    let onReady: ((info: ListeningInfo) => void) | undefined
    const ready = new Promise<ListeningInfo>(resolve => { onReady = resolve })
    createInterface({ input: child.stderr! }).on('line', line => {
      this.#remember(line)
      let entry: Record<string, unknown>
      try { entry = JSON.parse(line) as Record<string, unknown> } catch { return }
      if (typeof entry.level === 'number' && entry.level >= 50) this.#errors.push(line)
      if (entry.msg === 'milagro node listening') onReady?.(entry as unknown as ListeningInfo)
    })
    let timer: NodeJS.Timeout | undefined
    const failure = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`${this.name} not ready within ${READY_TIMEOUT_MS} ms`)) }, READY_TIMEOUT_MS)
      void this.#exited.then(() => { reject(new Error(`${this.name} exited before it was ready`)) })
    })
    try {
      const info = await Promise.race([ready, failure])
      this.#info = { address: info.address, nodeCID: info.nodeCID, peerID: info.peerID, ipfs: info.ipfs }
      if (info.nodeCID !== this.cid) throw new Error(`${this.name} reports node ${info.nodeCID}, init said ${this.cid}`)
      this.#httpPort = Number(new URL(info.address).port)
      const tcp = info.ipfs[0]?.match(/\/tcp\/(\d+)/)
      if (tcp === null || tcp === undefined) throw new Error(`${this.name} reports no IPFS TCP address`)
      this.#ipfsPort = Number(tcp[1])
      return this.#info
    } catch (err) {
      child.kill('SIGKILL')
      await this.#exited
      throw new Error(`${(err as Error).message}\n--- ${this.name} log tail ---\n${this.logTail(40)}`)
    } finally {
      clearTimeout(timer)
    }
  }

  #remember (line: string): void {
    this.#lines.push(line)
    if (this.#lines.length > LOG_LINES_KEPT) this.#lines.splice(0, this.#lines.length - LOG_LINES_KEPT)
  }

  /**
   * Stops with SIGTERM, and SIGKILL if it does not exit in time. Resolves with how it ended:
   * 'graceful' only for a clean shutdown (exit code 0).
   */
  async stop (): Promise<'graceful' | 'exit code' | 'killed' | 'not running'> {
    const child = this.#child
    if (child === undefined) return 'not running'
    child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const inTime = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(false) }, STOP_TIMEOUT_MS) }),
    ])
    clearTimeout(timer)
    if (inTime) return this.#exitCode === 0 ? 'graceful' : 'exit code'
    child.kill('SIGKILL')
    await this.#exited
    return 'killed'
  }

  /** SIGKILL: the crash case. Resolves once the process is gone. */
  async kill (): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    child.kill('SIGKILL')
    await this.#exited
  }

  async restart (options: StartOptions = {}): Promise<ListeningInfo> {
    await this.stop()
    return await this.start(options)
  }

  async get<T = any> (path: string, timeoutMs?: number): Promise<HttpResult<T>> {
    return await httpJson<T>(`${this.url}${path}`, 'GET', undefined, timeoutMs)
  }

  async post<T = any> (path: string, body: unknown, timeoutMs?: number): Promise<HttpResult<T>> {
    return await httpJson<T>(`${this.url}${path}`, 'POST', body, timeoutMs)
  }

  /** POST that must answer 200; otherwise fails with the status, the error body and the log tail. */
  async ok<T = any> (path: string, body?: unknown): Promise<T> {
    const r = body === undefined ? await this.get<T>(path) : await this.post<T>(path, body)
    if (r.status !== 200) throw new Error(`${this.name} ${body === undefined ? 'GET' : 'POST'} ${path} → ${r.status} ${show(r.body)}\n--- ${this.name} log tail ---\n${this.logTail(20)}`)
    return r.body
  }

  /** Waits (bounded) until the node's IPFS is connected to at least `count` peers. */
  async waitForPeers (count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const status = await this.ok<{ connectedPeers: number }>('/v1/status')
      if (status.connectedPeers >= count) return
      if (Date.now() > deadline) throw new Error(`${this.name} has ${status.connectedPeers} IPFS peers, wanted ${count}\n${this.logTail(20)}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  logTail (lines = 30): string {
    return this.#lines.slice(-lines).join('\n')
  }

  /** Log lines at level error or above since the node was created (e.g. "unexpected error"). */
  errorLines (): string[] {
    return [...this.#errors]
  }
}

export interface Cluster {
  readonly root: string
  readonly nodes: ServerNode[]
  /** `milagro init` in a new home; the node is not started. */
  init (name: string, options?: InitOptions): Promise<ServerNode>
  /** SIGKILLs every node still running and deletes the root folder. */
  close (): Promise<void>
}

/** Runs `milagro init` and returns the node identity CID it printed. */
async function runInit (home: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
  const env = { ...cleanEnv(), MILAGRO_HOME: home, MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_HTTP_METRICSLISTENADDR: '127.0.0.1:0', MILAGRO_LOG_LEVEL: 'warn', ...extraEnv }
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    const child = execFile(process.execPath, [BIN, 'init', ...args], { env, timeout: INIT_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`milagro init ${args.join(' ')} failed: ${err.message}\n${stderr}`))
      else resolve({ stdout })
    })
    live.add(child)
    child.once('exit', () => { live.delete(child) })
  })
  const cid = stdout.match(/Node identity: (Qm[1-9A-HJ-NP-Za-km-z]{44})/)?.[1]
  if (cid === undefined) throw new Error(`milagro init printed no node identity:\n${stdout}`)
  return cid
}

export async function createCluster (t?: Pick<TestContext, 'after'>, prefix = 'milagro-e2e-'): Promise<Cluster> {
  const root = await mkdtemp(join(tmpdir(), prefix))
  const nodes: ServerNode[] = []
  let closed = false
  const cluster: Cluster = {
    root,
    nodes,
    async init (name, options = {}) {
      const home = join(root, name)
      const nodeType = options.nodeType ?? 'multi'
      const service = options.service ?? 'milagro'
      const args = ['--nodename', name, '--nodetype', nodeType, '--service', service]
      if (options.masterFiduciary !== undefined) args.push('--masterfiduciarynode', `${options.masterFiduciary.cid},${options.masterFiduciary.url}`)
      args.push(...options.args ?? [])
      await options.prepare?.(home)
      const cid = await runInit(home, args, options.env)
      const node = new ServerNode({ name, home, cid, nodeType, service, env: options.env })
      nodes.push(node)
      return node
    },
    async close () {
      if (closed) return
      closed = true
      await Promise.all(nodes.map(async node => { await node.kill() }))
      await rm(root, { recursive: true, force: true })
    },
  }
  t?.after(async () => { await cluster.close() })
  return cluster
}

/**
 * A fiduciary and a principal ordering from it, peered over IPFS (the principal fetches the
 * fiduciary's identity document by bitswap; orders carry their documents inline).
 */
export async function startPair (cluster: Cluster, service: PluginName, options: { fiduciaryStablePorts?: boolean } = {}): Promise<{ fiduciary: ServerNode, principal: ServerNode }> {
  const fiduciary = await cluster.init('fiduciary', { nodeType: 'fiduciary', service })
  await fiduciary.start({ stablePorts: options.fiduciaryStablePorts })
  const principal = await cluster.init('principal', { nodeType: 'principal', service, masterFiduciary: { cid: fiduciary.cid, url: fiduciary.url } })
  await principal.start({ peers: fiduciary.multiaddrs })
  await principal.waitForPeers(1)
  return { fiduciary, principal }
}

// ── reading a node's SQLite state (read-only) ─────────────────────────────────────────────────

export interface OrderRow {
  role: 'principal' | 'fiduciary'
  reference: string
  principal_cid: string
  beneficiary_cid: string | null
  part1_cid: string | null
  part2_cid: string | null
  part3_cid: string | null
  part4_cid: string | null
  commitment: string | null
  seed_record_id: string | null
  /** 1 when seed_record_id names a stored sealed seed. */
  has_seed: number
}

export interface AuditRow { id: number, op: string, reference: string | null, actor: string | null, detail: string | null }

/** The order rows and audit trail of a node's database, read without changing it. */
export function readState (home: string, databaseFile = 'state.sqlite'): { orders: OrderRow[], audit: AuditRow[] } {
  const db = new DatabaseSync(join(home, databaseFile), { readOnly: true })
  try {
    const orders = db.prepare(`
      SELECT o.role, o.reference, o.principal_cid, o.beneficiary_cid, o.part1_cid, o.part2_cid, o.part3_cid, o.part4_cid,
             o.commitment, o.seed_record_id, (s.record_id IS NOT NULL) AS has_seed
      FROM orders o LEFT JOIN sealed_seeds s ON s.record_id = o.seed_record_id ORDER BY o.seq`).all() as unknown as OrderRow[]
    const audit = db.prepare('SELECT id, op, reference, actor, detail FROM audit ORDER BY id').all() as unknown as AuditRow[]
    return { orders, audit }
  } finally {
    db.close()
  }
}
