/**
 * `milagro init`: creates a node's home (src/node.ts `initNode`) from flags, or from answers with
 * --interactive. `initNode` locks the home and resumes an init that was interrupted or failed
 * (what it says about that is printed on stderr); SIGINT/SIGTERM while it works end the process
 * with 130/143 through `process.exit`, so the home lock's exit hook removes the lock.
 *
 * --interactive reads every answer through one readline interface and one async iterator over its
 * lines, for the whole session: piped answers are then one line per question (a readline per
 * question lost what the first one had buffered, and the process ended with Node's "unsettled
 * top-level await", exit 13). Each answer is checked when it is given — the node type and plugin
 * against the values the config schema allows, the master fiduciary as CID,URL — and a bad one
 * is asked again, saying what is allowed. Input that ends before every question is answered is
 * an error (exit 1); Ctrl-C at a question exits 130. Flags give the questions their defaults.
 * @module
 */
import { createInterface } from 'node:readline'
import type { Interface } from 'node:readline'
import { resolveHome } from '../config/load.ts'
import { CIDV0_PATTERN, describeConfig, URL_PATTERN } from '../config/schema.ts'
import type { Config } from '../config/schema.ts'
import { UsageError } from './usage.ts'
import type { Values } from './usage.ts'

/** The values the config schema allows for a key (node.nodeType, plugins.service). */
function allowed (path: string): readonly string[] {
  return describeConfig().find(k => k.path === path)?.allowed ?? []
}

function oneOf (path: string): (answer: string) => string | undefined {
  const values = allowed(path)
  return answer => values.includes(answer) ? undefined : `"${answer}" must be one of ${values.join(', ')}`
}

/** CID,URL of a master fiduciary: a problem, or undefined when it is well formed. */
function masterProblem (answer: string): string | undefined {
  const [cid, url, ...rest] = answer.split(',').map(s => s.trim())
  if (url === undefined || rest.length > 0) return `"${answer}" must be CID,URL (the fiduciary's node identity CID and its API URL)`
  if (!new RegExp(CIDV0_PATTERN).test(cid)) return `"${cid}" is not a node identity CID (Qm followed by 44 base58 characters)`
  if (!new RegExp(URL_PATTERN).test(url)) return `"${url}" is not an http(s) URL such as http://fid.example:5556`
  return undefined
}

/** Questions asked on one readline for the whole session (see the module comment). */
class Questions {
  readonly #rl: Interface
  readonly #lines: AsyncIterator<string>
  readonly #echo: boolean

  constructor () {
    const terminal = process.stdin.isTTY === true
    this.#rl = createInterface({ input: process.stdin, output: process.stdout, terminal })
    this.#lines = this.#rl[Symbol.asyncIterator]() // created now, so no line is emitted before it is read
    this.#echo = !terminal // piped answers are not echoed by a terminal: write them after their prompts
    this.#rl.on('SIGINT', () => { process.stdout.write('\n'); process.exit(130) })
  }

  /** Asks until `check` finds no problem with the answer (an empty answer is `fallback`). */
  async ask (question: string, fallback: string, check?: (answer: string) => string | undefined): Promise<string> {
    for (;;) {
      this.#rl.setPrompt(fallback === '' ? `${question}: ` : `${question} [${fallback}]: `)
      this.#rl.prompt()
      const line = await this.#lines.next()
      if (line.done === true) {
        if (this.#echo) process.stdout.write('\n')
        throw new Error(`no answer to "${question}": the input ended`)
      }
      if (this.#echo) process.stdout.write(`${String(line.value)}\n`)
      const answer = String(line.value).trim() === '' ? fallback : String(line.value).trim()
      const problem = check?.(answer)
      if (problem === undefined) return answer
      console.log(`  ${problem}; try again`)
    }
  }

  close (): void {
    this.#rl.close()
  }
}

async function askAll (values: Values): Promise<Pick<Values, 'nodename' | 'nodetype' | 'service' | 'masterfiduciarynode'>> {
  const questions = new Questions()
  try {
    const nodename = await questions.ask('Node name', values.nodename ?? 'node')
    const types = allowed('node.nodeType')
    const nodetype = await questions.ask(`Node type (${types.join(', ')})`, values.nodetype ?? 'multi', oneOf('node.nodeType'))
    const plugins = allowed('plugins.service')
    const service = await questions.ask(`Plugin (${plugins.join(', ')})`, values.service ?? 'milagro', oneOf('plugins.service'))
    let masterfiduciarynode = values.masterfiduciarynode
    if (nodetype === 'principal') {
      masterfiduciarynode = await questions.ask('Master fiduciary (its node identity CID,URL)', masterfiduciarynode ?? '',
        answer => answer === '' ? 'a principal needs its master fiduciary: give its CID,URL' : masterProblem(answer))
    }
    return { nodename, nodetype, service, masterfiduciarynode }
  } finally {
    questions.close()
  }
}

export async function init (values: Values): Promise<void> {
  const home = resolveHome()
  const answers = values.interactive === true ? await askAll(values) : values
  let masterFiduciary: { cid: string, url: string } | undefined
  const master = answers.masterfiduciarynode
  if (master !== undefined && master !== '') {
    const problem = masterProblem(master)
    if (problem !== undefined) throw new UsageError(`--masterfiduciarynode: ${problem}`)
    const [cid, url] = master.split(',').map(s => s.trim())
    masterFiduciary = { cid, url }
  }
  const { initNode } = await import('../node.ts')
  const onSignal = (signal: NodeJS.Signals): void => { process.exit(signal === 'SIGINT' ? 130 : 143) }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const config = await initNode({
      home,
      nodeName: answers.nodename,
      nodeType: answers.nodetype as Config['node']['nodeType'] | undefined,
      service: answers.service as Config['plugins']['service'] | undefined,
      masterFiduciary,
      join: values.join !== undefined,
      overrides: {
        ...(values.join === undefined ? {} : { node: { datastore: 'postgres', databaseUrl: values.join } }),
        ...(values.peer === undefined ? {} : { ipfs: { peers: values.peer } }),
      },
      report: line => { console.error(line) },
    })
    console.log(`Initialised ${home}\nNode identity: ${config.node.nodeID}\nNode type: ${config.node.nodeType}, plugin: ${config.plugins.service}`)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
