/**
 * `milagro log verify [URL] [--documents]` (docs/cli.md, docs/log.md): verifies a node's transparency
 * log from what it serves — src/services/log/verify.ts does the checking, verify-documents.ts the
 * documents' with --documents — and prints a summary, or the
 * JSON summary with --json. The node: URL, else --url, else the home's node (target.ts); its
 * bearer token as for every client command. Exit 1 (main.ts) with LOG_VERIFY_FAILED and what
 * failed, or the peer error when the node cannot be read.
 * @module
 */
import { DtaError } from '../errors.ts'
import { cidV0Of } from '../adapters/ipfs/unixfs.ts'
import { createHttpLogReader } from '../adapters/peer/log-http.ts'
import { parseVerifierKey } from '../core/log/note.ts'
import { verifyLog } from '../services/log/verify.ts'
import { verifyLogDocuments } from '../services/log/verify-documents.ts'
import { createClient } from './api.ts'
import { checkUrl, resolveTarget } from './target.ts'
import { UsageError } from './usage.ts'
import type { Values } from './usage.ts'

export async function logVerify (args: string[], values: Values): Promise<void> {
  const target = args[0] !== undefined ? { url: checkUrl(args[0]), source: 'the command line' } : await resolveTarget(values)
  let pinned
  if (values.vkey !== undefined) {
    try {
      pinned = parseVerifierKey(values.vkey)
    } catch {
      throw new UsageError(`--vkey ${values.vkey.slice(0, 80)} is not a verifier key (name+hash+base64 key, as GET /v1/log/key shows it)`)
    }
  }
  const token = values.token ?? process.env.MILAGRO_TOKEN
  if (values.verbose === true) console.error(`milagro: reading the log of ${target.url} (${target.source})`)
  const reader = createHttpLogReader({ url: target.url, timeoutMs: 60_000, bearerToken: token, maxBytes: 16 * 1024 * 1024 })
  const api = createClient(target, { token, verbose: values.verbose })
  const source = {
    raw: reader.raw,
    async blsPublicKey (cid: string) {
      const view = await api.call('GET', `/v1/identity/${encodeURIComponent(cid)}`)
      if (typeof view.blsPublicKey !== 'string') throw new DtaError('LOG_VERIFY_FAILED', `the node shows no BLS key for ${cid}`)
      return new Uint8Array(Buffer.from(view.blsPublicKey, 'hex'))
    },
  }
  const summary = await verifyLog(source, cidV0Of, { pinned })
  const documents = values.documents === true
    ? await verifyLogDocuments(summary.leaves, { ...source, document: async (cid, options) => await reader.raw(`document/${cid}`, options) }, cidV0Of)
    : undefined
  if (values.json === true) {
    const { leaves: _, ...rest } = summary
    console.log(JSON.stringify({ ok: true, ...rest, ...(documents === undefined ? {} : { documents }) }, null, 2))
    return
  }
  const types = Object.entries(summary.leafTypes).map(([t, n]) => `${t} ${n}`).join(', ')
  console.log([
    `log ${summary.origin}: OK`,
    `  size        ${summary.size} leaves (${types === '' ? 'none' : types})`,
    `  root        ${summary.root}`,
    `  key         ${summary.verifierKey} (${summary.keySource === 'pinned' ? 'pinned with --vkey' : 'as the node states it: pin it with --vkey next time'})`,
    `  checked     ${summary.tiles} tiles and bundles, ${summary.entries} entries, the checkpoint signature`,
    ...(documents === undefined
      ? []
      : [`  documents   ${documents.documents} fetched and verified (signers' keys: ${documents.signerKeys.fromLog} from their identity documents in the log, ${documents.signerKeys.fromNode} as the node shows them)`]),
  ].join('\n'))
}
