/**
 * Who may do what (docs/security.md#policies), in the spirit of Vault's policies: with OAuth2 on
 * and `http.policies` set, every authenticated request is allowed only if a rule grants its
 * operation to a claim of the caller's token — deny by default. Each denial is 403 POLICY_DENIED
 * and an `access.denied` audit entry naming the subject and the operation.
 *
 * A rule is one string: `<claim>=<value>: <operation> [<operation>…]` (operations separated by
 * spaces, so that a list of rules fits one comma-separated MILAGRO_HTTP_POLICIES), e.g.
 * `groups=custodians: order.create order.redeem.own order.read` or `sub=ops-admin: *`. The claim
 * is any top-level claim of the verified token (`sub`, `client_id`, `groups`, `roles`, a claim of
 * your issuer's); it matches when it equals the value, or, for a list claim, contains it.
 *
 * Operations, by route:
 * - `identity.create` POST /v1/identity; `identity.read` GET /v1/identity[/…]
 * - `order.create` POST /v1/order; `order.read` GET /v1/order[/…]
 * - `order.redeem` POST /v1/order/secret, any order; `order.redeem.own` only orders the same
 *   subject placed (recorded when it placed them); a redemption on a beneficiary's node
 *   (`orderPart4CID`) is `order.redeem`
 * - `audit.read` GET /v1/audit; `log.read` /v1/log/*; `fulfil` POST /v1/fulfill/* and /v1/witness/* (node to node)
 * - `*` every operation.
 * Routes that need no token (status, health, the API documents) need no rule; the console's
 * static files (/ui) are allowed to any authenticated caller, the data they show is not.
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DtaError } from '../errors.ts'
import { authenticatedCaller, isPublicRoute } from './auth.ts'
import { grantedTo, operationOf } from './policy-rules.ts'
import type { PolicyRule } from './policy-rules.ts'

export { OPERATIONS, grantedTo, operationOf, parsePolicies } from './policy-rules.ts'
export type { Operation, PolicyRule } from './policy-rules.ts'

/** What the policy hook needs from the node: who placed an order, and where denials are recorded. */
export interface PolicyRecords {
  placedBy (orderReference: string): Promise<string | undefined>
  recordPlaced (orderReference: string, subject: string): Promise<void>
  denied (subject: string, operation: string, detail: string): Promise<void>
}

/** Adds the policy check (after authentication, once the body is parsed) and records who placed each order. */
export function registerPolicies (app: FastifyInstance, rules: readonly PolicyRule[], records: PolicyRecords): void {
  const deny = async (request: FastifyRequest, subject: string, operation: string): Promise<never> => {
    await records.denied(subject, operation, `${request.method} ${request.routeOptions.url ?? ''}`).catch(() => {})
    throw new DtaError('POLICY_DENIED', `${operation} is not granted to ${subject}`)
  }
  app.addHook('preHandler', async (request) => {
    const route = request.routeOptions.url
    if (isPublicRoute(route)) return
    const caller = authenticatedCaller(request)
    if (caller === undefined) return // authentication is off: the auth hook would have refused otherwise
    const subject = caller.subject ?? caller.clientId ?? '(no subject)'
    const operation = operationOf(request.method, route)
    if (operation === 'console') return
    if (operation === undefined) return await deny(request, subject, `${request.method} ${route ?? ''}`)
    const granted = grantedTo(rules, caller.claims)
    if (granted.has('*') || granted.has(operation)) return
    if (operation === 'order.redeem' && granted.has('order.redeem.own')) {
      const reference = (request.body as { orderReference?: unknown } | undefined)?.orderReference
      if (typeof reference === 'string' && caller.subject !== undefined && await records.placedBy(reference) === caller.subject) return
      return await deny(request, subject, 'order.redeem (not an order this subject placed)')
    }
    return await deny(request, subject, operation)
  })
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/v1/order' || reply.statusCode !== 200) return payload
    const subject = authenticatedCaller(request)?.subject
    if (subject === undefined || typeof payload !== 'string') return payload
    const reference = (JSON.parse(payload) as { orderReference?: unknown }).orderReference
    if (typeof reference === 'string') await records.recordPlaced(reference, subject)
    return payload
  })
}
