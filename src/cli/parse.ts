/**
 * From the words of a command line to a command of commands.ts, or to a usage error of one line:
 * an unknown command or option gets "did you mean" (help.ts `closest`), an option the command
 * does not take or a missing or extra argument is named. main.ts decides what to do with it.
 * @module
 */
import { COMMANDS, GROUPS, acceptedOptions, findCommand, subcommands } from './commands.ts'
import type { CommandSpec } from './commands.ts'
import { closest, didYouMean } from './help.ts'
import { OPTIONS, UsageError } from './usage.ts'
import type { OptionName, Values } from './usage.ts'

export type Found =
  | { kind: 'command', spec: CommandSpec, args: string[] }
  | { kind: 'group', group: string }
  | { kind: 'help', words: string[] }
  | { kind: 'none' }
  | { kind: 'unknown', error: UsageError }

const SINGLE = COMMANDS.filter(c => !c.name.includes(' ')).map(c => c.name)

export function find (words: string[]): Found {
  const [first, second] = words
  if (first === undefined) return { kind: 'none' }
  if (first === 'help') return { kind: 'help', words: words.slice(1) }
  const single = findCommand(first)
  if (single !== undefined) return { kind: 'command', spec: single, args: words.slice(1) }
  if (GROUPS.includes(first)) {
    if (second === undefined) return { kind: 'group', group: first }
    const spec = findCommand(`${first} ${second}`)
    if (spec !== undefined) return { kind: 'command', spec, args: words.slice(2) }
    const subs = subcommands(first).map(c => c.name.split(' ')[1])
    return { kind: 'unknown', error: new UsageError(`unknown command: ${first} ${second}${didYouMean(second, subs, `${first} `)}`, first) }
  }
  const near = closest(first, [...SINGLE, ...GROUPS])
  const suggestion = near !== undefined && GROUPS.includes(near) && second !== undefined && findCommand(`${near} ${second}`) !== undefined ? `${near} ${second}` : near
  return { kind: 'unknown', error: new UsageError(`unknown command: ${first}${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`, '') }
}

/** parseArgs' errors, as one line with a suggestion. */
export function parseError (err: unknown, spec: CommandSpec | undefined): UsageError {
  const e = err as { code?: string, message: string }
  const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? ''
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = quoted.replace(/^-+/, '').split('=')[0]
    const accepted = spec === undefined ? Object.keys(OPTIONS) : [...acceptedOptions(spec)]
    return new UsageError(`unknown option ${quoted}${didYouMean(name, accepted, '--')}`)
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /--[\w-]+/.exec(quoted)?.[0] ?? quoted
    if (/argument missing/.test(e.message)) return new UsageError(`${option} needs a value`)
    if (/does not take an argument/.test(e.message)) return new UsageError(`${option} takes no value`)
    if (/ambiguous/.test(e.message)) return new UsageError(`${option} is followed by an option, not a value (write ${option}=VALUE for a value that starts with -)`)
  }
  return new UsageError(e.message.split('. ')[0])
}

export function checkCommandLine (spec: CommandSpec, args: string[], values: Values): void {
  const accepted = acceptedOptions(spec)
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && !accepted.has(name as OptionName)) throw new UsageError(`does not take --${name}`)
  }
  const required = spec.args.filter(a => !a.endsWith('?'))
  if (args.length < required.length) throw new UsageError(`needs ${spec.args.slice(args.length).join(' ')}`)
  if (args.length > spec.args.length) {
    throw new UsageError(`takes ${spec.args.length === 0 ? 'no arguments' : spec.args.join(' ')}; unexpected: ${args.slice(spec.args.length).join(' ')}`)
  }
}
