/**
 * The `milagro` command (PROTOCOL §10): `init` and `daemon` as in the original D-TA, `start`
 * (init on first run, then daemon — the README's one command), and client commands that call a
 * running node's HTTP API so a person can use it without curl. Client output is readable text,
 * or the API's JSON with --json. Exit codes: 0 ok, 1 refused or failed, 2 usage. This file
 * dispatches; the commands are init.ts, daemon.ts (daemon, start), client.ts and custody.ts.
 * @module
 */
import { parseArgs } from 'node:util'
import { isDtaError } from '../errors.ts'
import { resolveHome } from '../config/load.ts'
import { client } from './client.ts'
import { daemon, start } from './daemon.ts'
import { init } from './init.ts'
import { OPTIONS, USAGE, UsageError } from './usage.ts'

export async function main (argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const [command, ...rest] = parsed.positionals
  if (command === undefined || parsed.values.help === true || command === 'help') {
    console.log(USAGE)
    return command === undefined && parsed.values.help !== true ? 2 : 0
  }
  try {
    if (command === 'init') await init(parsed.values)
    else if (command === 'daemon') await daemon()
    else if (command === 'start') await start(parsed.values)
    else if (command === 'custody') await (await import('./custody.ts')).custodyCommand(resolveHome(), rest, parsed.values, message => new UsageError(message))
    else await client(command, rest, parsed.values)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`)
      return 2
    }
    if (parsed.values.json === true && 'payload' in (err as object)) console.error(JSON.stringify((err as { payload: unknown }).payload, null, 2))
    else console.error(`milagro ${command}: ${isDtaError(err) ? `${err.code}: ${err.message}` : (err as Error).message}`)
    return 1
  }
}

/** Runs the command line and sets the exit code (servers keep running until a signal). */
export async function run (argv: string[]): Promise<void> {
  const code = await main(argv)
  if (code !== 0) process.exitCode = code
}
