/**
 * The command line's words: the version, the options every command parses (each command accepts
 * only its own, see commands.ts), and the error that makes a command answer with one line and a
 * pointer to its `--help` (exit code 2). Nothing here imports the config or the server, so that
 * `--version`, `--help` and client commands given `--url` start fast.
 * @module
 */
import { createRequire } from 'node:module'
import { stat } from 'node:fs/promises'
import type { parseArgs } from 'node:util'

export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

export const OPTIONS = {
  nodename: { type: 'string' },
  nodetype: { type: 'string' },
  service: { type: 'string' },
  masterfiduciarynode: { type: 'string' },
  interactive: { type: 'boolean' },
  join: { type: 'string' },
  peer: { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  days: { type: 'string' },
  client: { type: 'boolean' },
  key: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  beneficiary: { type: 'string' },
  ext: { type: 'string', multiple: true },
  page: { type: 'string' },
  'per-page': { type: 'string' },
  sort: { type: 'string' },
  to: { type: 'string' },
  vkey: { type: 'string' },
  documents: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const

export type OptionName = keyof typeof OPTIONS

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS, allowPositionals: true }>>['values']

/**
 * A mistake in the command line. main.ts prints `milagro <command>: <message>` and
 * "see `milagro <command> --help`", and exits 2; `command` names the help to point at when it is
 * not the command being run (e.g. the top-level help for an unknown command).
 */
export class UsageError extends Error {
  readonly command: string | undefined
  constructor (message: string, command?: string) {
    super(message)
    this.command = command
  }
}

export async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}
