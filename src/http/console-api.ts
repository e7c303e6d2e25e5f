/**
 * The read-only routes the web console needs beside the original API (schemas in
 * src/ports/console.ts; documented in docs/api.md): `GET /v1/node`, `GET /v1/order/summaries` and
 * `GET /v1/order/{orderReference}/chain`. They sit behind the same Host/Origin guard and the same
 * bearer-token check as every API route (nothing here is public), answer `Cache-Control: no-store`
 * like all API data (src/http/security-headers.ts), and change nothing. Kept out of app.ts so that
 * the routes of the original API and these additions can change independently.
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ClientErrorBody, ServerErrorBody } from '../ports/api.ts'
import type { NodeServices } from '../ports/api.ts'
import type { LogService } from '../ports/log-api.ts'
import * as C from '../ports/console.ts'
import type { ExtensionField, Plugin } from '../ports/plugin.ts'
import type { BearerVerifier } from './auth.ts'
import { DtaError, isDtaError } from '../errors.ts'
import { checkpointSigners } from '../core/log/cosignature.ts'

export interface ConsoleApiOptions {
  services: NodeServices
  plugin?: Pick<Plugin, 'name' | 'description' | 'extensionFields'>
  auth?: Pick<BearerVerifier, 'issuer' | 'audience'>
  /** The client's abort signal of a request (src/http/app.ts). */
  signalOf: (request: object) => AbortSignal | undefined
  /** How long GET /v1/node waits for witnesses to cosign a newer checkpoint (default WITNESS_WAIT_MS). */
  witnessWaitMs?: number
}

const errorResponses = { '4xx': ClientErrorBody, '5xx': ServerErrorBody }

/** How long GET /v1/node waits for the witnesses to cosign a newer checkpoint before it shows the log's own. */
export const WITNESS_WAIT_MS = 3000

type LogView = NonNullable<C.NodeResponse['transparencyLog']>

/**
 * With witnesses: the newest checkpoint a quorum cosigned (asking them at most `waitMs` —
 * the round goes on for the next caller), else the stored one and why. The witnessing verified
 * every cosignature it kept; a witness that is down never holds the node view up for long.
 */
async function witnessed (log: LogService, signal: AbortSignal | undefined, waitMs: number): Promise<{ checkpoint: string, witnesses?: LogView['witnesses'] }> {
  const w = log.witnesses
  if (w === undefined) return { checkpoint: await log.checkpoint({ signal }) }
  const about = { configured: [...w.names], quorum: w.quorum }
  const round = w.cosigned({ signal })
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new DtaError('LOG_WITNESS_QUORUM', `no answer within ${waitMs} ms`)) }, waitMs) })
  try {
    return { checkpoint: (await Promise.race([round, late])).note, witnesses: { ...about, cosigned: true } }
  } catch (err) {
    round.catch(() => {}) // settled for whoever asks next
    const failure = isDtaError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: new DtaError('INTERNAL').message }
    return { checkpoint: await log.checkpoint({ signal }), witnesses: { ...about, cosigned: false, failure } }
  } finally {
    clearTimeout(timer)
  }
}

/** The log's key and latest checkpoint, read from the C2SP signed note: origin, size, root, then `— name signature` lines. */
async function logSummary (log: LogService, signal: AbortSignal | undefined, waitMs: number): Promise<LogView> {
  const [key, { checkpoint, witnesses }] = await Promise.all([log.key({ signal }), witnessed(log, signal, waitMs)])
  const [, size = '0', rootHash = ''] = checkpoint.slice(0, checkpoint.indexOf('\n\n')).split('\n')
  const signatures = checkpointSigners(checkpoint, key.origin)
  return {
    origin: key.origin, verifierKey: key.verifierKey, treeSize: Number(size), rootHash, checkpoint,
    signedBy: signatures.map(s => s.name), signatures, ...(witnesses === undefined ? {} : { witnesses }),
  }
}

function fieldView (f: ExtensionField): { name: string, description: string, required: boolean, example?: string } {
  return { name: f.name, description: f.description, required: f.required === true, ...(f.example === undefined ? {} : { example: f.example }) }
}

export function registerConsoleApi (instance: FastifyInstance, options: ConsoleApiOptions): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { services, plugin, auth, signalOf } = options
  const details = services.details
  if (details !== undefined) {
    const fields = plugin?.extensionFields
    app.get('/v1/node', { schema: { ...C.CONSOLE_OPERATIONS.node, tags: ['status'], response: { 200: C.NodeResponse, ...errorResponses } } },
      async (request): Promise<C.NodeResponse> => {
        const node = await details()
        return {
          ...node,
          ...(services.log === undefined ? {} : { transparencyLog: await logSummary(services.log, signalOf(request), options.witnessWaitMs ?? WITNESS_WAIT_MS) }),
          authentication: auth === undefined ? { enabled: false } : { enabled: true, issuer: auth.issuer, audience: auth.audience },
          pluginDetails: {
            name: plugin?.name ?? node.plugin,
            vendor: node.extensionVendor,
            description: plugin?.description ?? '',
            extensionFields: {
              order: (fields?.order ?? []).map(fieldView),
              orderAnswer: (fields?.orderAnswer ?? []).map(fieldView),
              secret: (fields?.secret ?? []).map(fieldView),
              secretAnswer: (fields?.secretAnswer ?? []).map(fieldView),
            },
          },
        }
      })
  }

  const views = services.orderViews
  if (views !== undefined) {
    app.get('/v1/order/summaries', { schema: { ...C.CONSOLE_OPERATIONS.orderSummaries, tags: ['order'], querystring: C.OrderSummaryQuery, response: { 200: C.OrderSummaryList, ...errorResponses } } },
      async (request) => {
        const q = request.query
        return await views.summaries({ page: q.page, perPage: q.perPage, sort: q.sort, direction: q.direction, ...(q.search === undefined ? {} : { search: q.search }) }, { signal: signalOf(request) })
      })
    app.get('/v1/order/:orderReference/chain', { schema: { ...C.CONSOLE_OPERATIONS.orderChain, tags: ['order'], params: C.OrderChainParams, response: { 200: C.OrderChainResponse, ...errorResponses } } },
      async (request) => await views.chain(request.params.orderReference, { signal: signalOf(request) }))
  }
}
