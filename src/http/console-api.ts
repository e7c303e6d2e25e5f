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

export interface ConsoleApiOptions {
  services: NodeServices
  plugin?: Pick<Plugin, 'name' | 'description' | 'extensionFields'>
  auth?: Pick<BearerVerifier, 'issuer' | 'audience'>
  /** The client's abort signal of a request (src/http/app.ts). */
  signalOf: (request: object) => AbortSignal | undefined
}

const errorResponses = { '4xx': ClientErrorBody, '5xx': ServerErrorBody }

/** The log's key and latest checkpoint, read from the C2SP signed note: origin, size, root, then `— name signature` lines. */
async function logSummary (log: LogService): Promise<NonNullable<C.NodeResponse['transparencyLog']>> {
  const [key, checkpoint] = await Promise.all([log.key(), log.checkpoint()])
  const [body = '', signatures = ''] = checkpoint.split('\n\n')
  const [, size = '0', rootHash = ''] = body.split('\n')
  const signedBy = signatures.split('\n').filter(l => l.startsWith('\u2014 ')).map(l => l.slice(2).split(' ')[0]!)
  return { origin: key.origin, verifierKey: key.verifierKey, treeSize: Number(size), rootHash, checkpoint, signedBy }
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
      async (): Promise<C.NodeResponse> => {
        const node = await details()
        return {
          ...node,
          ...(services.log === undefined ? {} : { transparencyLog: await logSummary(services.log) }),
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
