/**
 * Issue 14, item 13: the OpenAPI document behind `/docs`.
 * - every operation has an operationId, a summary and typed answers with a description (never
 *   @fastify/swagger's "Default Response");
 * - every example is valid: it passes its own schema, and "Try it out" with the default examples
 *   on a real node never gets a schema refusal (422) nor DOCUMENT_BAD_CID (a string that merely
 *   matches the CID pattern is no multihash);
 * - with OAuth2 on, a bearer security scheme for the Authorize button (status stays open);
 * - the order routes' `extension` is described by the node's plugin (Plugin.extensionFields);
 * - the document is built once, not per request.
 * @module
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { Ajv } from 'ajv'
import type { FastifyInstance } from 'fastify'
import { parseCidV0 } from '../../../src/adapters/ipfs/unixfs.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { buildApp } from '../../../src/http/app.ts'
import type { AppOptions } from '../../../src/http/app.ts'
import { createNode, initNode } from '../../../src/node.ts'
import type { NodeServices } from '../../../src/ports/api.ts'
import { CIDV0_PATTERN } from '../../../src/ports/common.ts'
import { PLUGINS, createPlugin } from '../../../src/plugins/registry.ts'

interface Operation {
  operationId?: string
  summary?: string
  parameters?: Array<{ name: string, in: string, example?: unknown, schema: Record<string, unknown> }>
  requestBody?: { content: Record<string, { schema: Record<string, unknown>, example?: unknown }> }
  responses: Record<string, { description: string }>
  security?: unknown[]
}
type Spec = { paths: Record<string, Record<string, Operation>>, components: { securitySchemes?: Record<string, Record<string, unknown>> }, security?: unknown[] }

const none = async (): Promise<never> => { throw new Error('not called') }
const stubServices = {
  nodeType: 'multi',
  status: none,
  identity: { create: none, get: none, list: none },
  order: { create: none, list: none, get: none, secret: none },
  fulfil: { order: none, secret: none },
  audit: { list: none },
} as unknown as NodeServices

async function specOf (app: FastifyInstance): Promise<Spec> {
  const res = await app.inject({ url: '/openapi.json' })
  assert.equal(res.statusCode, 200)
  return res.json() as Spec
}

async function stubApp (options: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  return await buildApp({ services: stubServices, bodyLimit: 100_000, requestTimeoutMs: 0, version: 'test', allowedHosts: [], ...options })
}

function operations (spec: Spec): Array<[string, string, Operation]> {
  return Object.entries(spec.paths).flatMap(([p, methods]) => Object.entries(methods).map(([m, op]): [string, string, Operation] => [m.toUpperCase(), p, op]))
}

/** Every `examples` / `example` in a schema, with the schema it belongs to. */
function examplesIn (schema: unknown, where: string, out: Array<[string, Record<string, unknown>, unknown]> = []): Array<[string, Record<string, unknown>, unknown]> {
  if (schema === null || typeof schema !== 'object') return out
  const s = schema as Record<string, unknown>
  if (Array.isArray(s.examples)) for (const e of s.examples) out.push([where, s, e])
  if ('example' in s && s.type !== undefined) out.push([where, s, s.example])
  for (const [key, value] of Object.entries(s)) if (key !== 'examples' && key !== 'example') examplesIn(value, `${where}.${key}`, out)
  return out
}

describe('OpenAPI document', () => {
  it('every operation has an id, a summary and described, typed answers', async () => {
    const app = await stubApp({ plugin: createPlugin('milagro') })
    try {
      const ops = operations(await specOf(app))
      assert.ok(ops.length >= 11, `${ops.length} operations`)
      for (const [method, p, op] of ops) {
        assert.ok(op.operationId !== undefined && op.summary !== undefined && op.summary.length > 5, `${method} ${p}: ${JSON.stringify(op.summary)}`)
        for (const [status, answer] of Object.entries(op.responses)) {
          assert.notEqual(answer.description, 'Default Response', `${method} ${p} ${status}`)
          assert.ok(answer.description.length > 10, `${method} ${p} ${status}`)
        }
        assert.ok('200' in op.responses && '4XX' in op.responses && '5XX' in op.responses, `${method} ${p}`)
      }
      assert.equal(new Set(ops.map(([, , op]) => op.operationId)).size, ops.length, 'operation ids are unique')
    } finally {
      await app.close()
    }
  })

  it('every example passes its schema, and CID examples are real CIDs', async () => {
    for (const plugin of Object.keys(PLUGINS)) {
      const app = await stubApp({ plugin: createPlugin(plugin) })
      try {
        const spec = await specOf(app)
        const found = examplesIn(spec.paths, 'paths')
        assert.ok(found.length > 20, `${found.length} examples`)
        const ajv = new Ajv({ strict: false })
        for (const [where, schema, example] of found) {
          const { examples: _e, example: _x, ...rest } = schema
          assert.ok(ajv.validate(rest, example), `${plugin} ${where}: ${JSON.stringify(example)} ${ajv.errorsText()}`)
          if (rest.pattern === CIDV0_PATTERN) assert.doesNotThrow(() => parseCidV0(String(example)), where)
        }
        for (const [method, p, op] of operations(spec)) {
          const media = op.requestBody?.content['application/json']
          if (media?.example !== undefined) assert.ok(ajv.validate(media.schema, media.example), `${plugin} ${method} ${p} body example: ${ajv.errorsText()}`)
        }
      } finally {
        await app.close()
      }
    }
  })

  it('"Try it out" with the default examples on a real node gets no schema or CID refusal', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'dta-openapi-'))
    const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '300' }
    try {
      await initNode({ home, nodeName: 'docs', env })
      const node = await createNode({ home, config: await loadConfig({ home, env }) })
      try {
        const tried: string[] = []
        for (const [method, p, op] of operations(await specOf(node.app))) {
          let url = p
          const query: string[] = []
          for (const param of op.parameters ?? []) {
            if (param.in === 'path') url = url.replace(`{${param.name}}`, param.name === '*' ? String(param.example) : encodeURIComponent(String(param.example)))
            if (param.in === 'query' && param.example !== undefined) query.push(`${param.name}=${encodeURIComponent(String(param.example))}`)
          }
          if (query.length > 0) url = `${url}?${query.join('&')}`
          assert.ok(!url.includes('{'), `${method} ${p}: a path parameter without an example`)
          const body = op.requestBody?.content['application/json']
          assert.ok(body === undefined || body.example !== undefined, `${method} ${p}: a request body without an example`)
          const payload = body?.example as object | undefined
          const res = await node.app.inject({ method: method as 'GET', url, ...(payload === undefined ? {} : { payload }) })
          const answer = (String(res.headers['content-type']).includes('json') ? res.json() : {}) as { code?: string }
          assert.ok(res.statusCode !== 422 && answer.code !== 'DOCUMENT_BAD_CID' && answer.code !== 'REQUEST_INVALID', `${method} ${url} ${JSON.stringify(payload)} → ${res.statusCode} ${res.body}`)
          tried.push(`${method} ${p} → ${res.statusCode}`)
        }
        // the order placed by the docs' own example works end to end
        assert.ok(tried.includes('POST /v1/order → 200'), tried.join('\n'))
        assert.ok(tried.includes('GET /v1/identity/{idDocumentCID} → 404'), tried.join('\n'))
        // the log's examples work (a tile's example names a width the log has passed by now: 404)
        for (const op of ['GET /v1/log/checkpoint', 'GET /v1/log/proof/consistency', 'GET /v1/log/key']) assert.ok(tried.includes(`${op} → 200`), `${op}\n${tried.join('\n')}`)
      } finally {
        await node.stop()
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })

  it('with OAuth2 on: a bearer scheme for the Authorize button, required everywhere but status', async () => {
    const auth = { issuer: 'https://idp.example', audience: 'urn:milagro:dta', verify: none, discover: async () => {} }
    const app = await stubApp({ auth })
    try {
      const spec = await specOf(app)
      const scheme = spec.components.securitySchemes?.bearerAuth
      assert.deepEqual([scheme?.type, scheme?.scheme, scheme?.bearerFormat], ['http', 'bearer', 'JWT'])
      assert.match(String(scheme?.description), /https:\/\/idp\.example.*urn:milagro:dta/)
      assert.deepEqual(spec.security, [{ bearerAuth: [] }])
      assert.deepEqual(spec.paths['/v1/status']!.get!.security, [])
    } finally {
      await app.close()
    }
    const open = await stubApp()
    try {
      const spec = await specOf(open)
      assert.equal(spec.components.securitySchemes, undefined, 'no scheme when the API is open')
      assert.equal(spec.security, undefined)
    } finally {
      await open.close()
    }
  })

  it('the order routes describe the plugin\'s extension fields, as the plugin does', async () => {
    for (const name of Object.keys(PLUGINS)) {
      const plugin = createPlugin(name)
      const app = await stubApp({ plugin })
      try {
        const spec = await specOf(app)
        const requestExtension = (p: string): string => {
          const schema = spec.paths[p]!.post!.requestBody!.content['application/json']!.schema as { properties: { extension: { description: string } } }
          return schema.properties.extension.description
        }
        for (const [p, fields] of [['/v1/order', plugin.extensionFields.order], ['/v1/order/secret', plugin.extensionFields.secret]] as const) {
          const description = requestExtension(p)
          for (const field of fields) assert.ok(description.includes(`${field.name}${field.required === true ? ' (required)' : ''}: ${field.description}`), `${name} ${p}: ${description}`)
          if (fields.length === 0) assert.match(description, /has none here/)
        }
        const answer = (spec.paths['/v1/order']!.post!.responses['200'] as unknown as { content: Record<string, { schema: { properties: { extension: { description: string } } } }> })
          .content['application/json']!.schema.properties.extension.description
        for (const field of plugin.extensionFields.orderAnswer) assert.ok(answer.includes(field.name), `${name}: ${answer}`)
      } finally {
        await app.close()
      }
    }
  })

  it('is built once, not on each request', async () => {
    const app = await stubApp()
    try {
      await app.ready()
      let built = 0
      const original = app.swagger.bind(app)
      ;(app as unknown as { swagger: typeof app.swagger }).swagger = ((opts?: { yaml?: boolean }) => { built++; return original(opts as never) }) as typeof app.swagger
      const first = await app.inject({ url: '/openapi.json' })
      const second = await app.inject({ url: '/openapi.json' })
      assert.equal(first.body, second.body)
      assert.match(String(first.headers['content-type']), /^application\/json/)
      assert.equal(built, 0, 'served from what was built when the app became ready')
    } finally {
      await app.close()
    }
  })
})
