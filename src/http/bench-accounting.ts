/**
 * The HTTP component of the bench's CPU accounting (src/accounting.ts), installed by buildApp only
 * when MILAGRO_BENCH_ACCOUNTING=1: the server's `request` listener (Fastify's router and hooks up
 * to the first asynchronous step) and every `reply.send` (serialization, headers, the socket
 * write) are accounted as http. What runs in other callbacks — Node's HTTP parser on socket reads,
 * the rest of the hook chain, the peer client's fetch — is not wrapped and counts as other.
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { accounted } from '../accounting.ts'

type Listener = (...args: unknown[]) => void

export function accountHttp (app: FastifyInstance): void {
  const server = app.server
  const listeners = server.listeners('request') as Listener[]
  server.removeAllListeners('request')
  for (const listener of listeners) server.on('request', accounted('http', listener))
  app.addHook('onRequest', (_request, reply, done) => {
    reply.send = accounted('http', reply.send.bind(reply))
    done()
  })
}
