/**
 * The `milagro` command (PROTOCOL §10): `init` and `daemon` as in the original D-TA, `start`
 * (init on first run, then daemon — the README's one command), client commands that call a
 * running node's HTTP API so a person can use it without curl, and `custody`. This file finds the
 * command (parse.ts, from the table in commands.ts), answers --help and --version, and
 * dispatches; the commands are init.ts, daemon.ts (daemon, start), client.ts, log.ts and custody.ts, each
 * imported only when run, so that `--help` and client commands load neither the server nor the
 * config validator.
 *
 * Exit codes: 0 ok, 1 refused or failed, 2 usage. A usage error is one line and a pointer to the
 * command's help (`see \`milagro order create --help\``), with "did you mean" for a near miss.
 * @module
 */
import { parseArgs } from 'node:util'
import { isDtaError } from '../errors.ts'
import { subcommands } from './commands.ts'
import type { CommandSpec } from './commands.ts'
import { commandHelp, groupHelp, help, overview } from './help.ts'
import { checkCommandLine, find, parseError } from './parse.ts'
import { OPTIONS, UsageError, VERSION } from './usage.ts'
import type { Values } from './usage.ts'

async function run_ (spec: CommandSpec, args: string[], values: Values): Promise<void> {
  if (spec.name === 'init') await (await import('./init.ts')).init(values)
  else if (spec.name === 'daemon') await (await import('./daemon.ts')).daemon()
  else if (spec.name === 'start') await (await import('./daemon.ts')).start(values)
  else if (spec.name === 'tls') await (await import('./tls.ts')).tls(values)
  else if (spec.name === 'backup' || spec.name === 'restore') await (await import('./backup-command.ts')).backupCommand(spec.name, args, values)
  else if (spec.section === 'custody') {
    const { resolveHome } = await import('../config/load.ts')
    await (await import('./custody.ts')).custodyCommand(resolveHome(), spec.name.split(' ').slice(1), values, message => new UsageError(message))
  } else if (spec.name === 'log verify') await (await import('./log.ts')).logVerify(args, values)
  else await (await import('./client.ts')).client(spec.name, args, values)
}

function usageFailure (err: UsageError, command: string | undefined): number {
  const helpFor = err.command ?? command ?? ''
  console.error(`milagro${command === undefined || command === '' ? '' : ` ${command}`}: ${err.message}\nsee \`milagro ${helpFor === '' ? '' : `${helpFor} `}--help\``)
  return 2
}

export async function main (argv: string[]): Promise<number> {
  // Find the command first, leniently, so that an option error can point at its help.
  const loose = find(parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false }).positionals)
  const looseSpec = loose.kind === 'command' ? loose.spec : undefined
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    return usageFailure(parseError(err, looseSpec), looseSpec?.name ?? (loose.kind === 'group' ? loose.group : undefined))
  }
  const values = parsed.values
  if (values.version === true) {
    console.log(`milagro ${VERSION}`)
    return 0
  }
  const found = find(parsed.positionals)
  if (found.kind === 'none') {
    console.log(overview())
    return values.help === true ? 0 : 2
  }
  if (found.kind === 'help') {
    const unknown = found.words.length > 0 ? find(found.words) : undefined
    if (unknown?.kind === 'unknown') return usageFailure(unknown.error, 'help')
    console.log(await help(found.words, values))
    return 0
  }
  if (found.kind === 'unknown') return usageFailure(found.error, undefined)
  if (found.kind === 'group') {
    if (values.help === true) {
      console.log(groupHelp(found.group))
      return 0
    }
    return usageFailure(new UsageError(`needs a command: ${subcommands(found.group).map(c => c.name.split(' ')[1]).join(', ')}`), found.group)
  }
  const { spec, args } = found
  if (values.help === true) {
    console.log(await commandHelp(spec, values))
    return 0
  }
  try {
    checkCommandLine(spec, args, values)
    await run_(spec, args, values)
    return 0
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(err, spec.name)
    // --json: the API's refusal as it is, then the client's explanation when it has one.
    const refusal = err as { payload?: unknown, explained?: boolean }
    if (values.json === true && refusal.payload !== undefined) console.error(JSON.stringify(refusal.payload, null, 2))
    if (values.json !== true || refusal.payload === undefined || refusal.explained === true) console.error(`milagro ${spec.name}: ${isDtaError(err) ? `${err.code}: ${err.message}` : (err as Error).message}`)
    return 1
  }
}

/** Runs the command line and sets the exit code (servers keep running until a signal). */
export async function run (argv: string[]): Promise<void> {
  const code = await main(argv)
  if (code !== 0) process.exitCode = code
}
