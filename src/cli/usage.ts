/**
 * The command line's words: the version, the usage text, the options every command parses, and
 * the error that makes a command answer with its usage (exit code 2).
 * @module
 */
import { createRequire } from 'node:module'
import { stat } from 'node:fs/promises'
import type { parseArgs } from 'node:util'

export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version

export const USAGE = `milagro ${VERSION} — Milagro Decentralized Trust Authority

Usage: milagro <command> [options]

Server:
  init      create the node's home ($MILAGRO_HOME, default ~/.milagro)
            --nodename NAME  --nodetype multi|principal|fiduciary  --service PLUGIN
            --masterfiduciarynode CID,URL  --interactive
  daemon    run the node (graceful shutdown on SIGINT/SIGTERM)
  start     init with defaults if the home is new, then daemon

Client (talk to a running node; --url URL, default from the home's config; --json for raw JSON;
        --token JWT or $MILAGRO_TOKEN when the node requires OAuth2 bearer tokens):
  status
  identity create NAME | identity get CID | identity list [--page N --per-page N --sort asc|desc]
  order create [--beneficiary CID] [--ext key=value ...]
  order list [--page N --per-page N --sort asc|desc] | order get REFERENCE
  order secret REFERENCE [--beneficiary CID] [--ext key=value ...]
  order redeem PART4CID [--ext key=value ...]     (on a beneficiary's own node)

Custody (on the home's files; stop the daemon first):
  custody migrate --to pkcs11|local   re-seal every seed under the other backend's KEK, then switch
  custody status                      backend, key id, and records under it or other keys
`

export const OPTIONS = {
  nodename: { type: 'string' },
  nodetype: { type: 'string' },
  service: { type: 'string' },
  masterfiduciarynode: { type: 'string' },
  interactive: { type: 'boolean' },
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  beneficiary: { type: 'string' },
  ext: { type: 'string', multiple: true },
  page: { type: 'string' },
  'per-page': { type: 'string' },
  sort: { type: 'string' },
  to: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS, allowPositionals: true }>>['values']

export class UsageError extends Error {}

export async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}
