/**
 * The policy rules themselves (src/http/policy.ts has the hooks): the operations, parsing a rule,
 * what a token's claims are granted, and which operation a route is. Pure, and free of the HTTP
 * server's dependencies, so the config loader checks `http.policies` with it at load.
 * @module
 */
import { DtaError } from '../errors.ts'

export const OPERATIONS = ['identity.create', 'identity.read', 'order.create', 'order.read', 'order.redeem', 'order.redeem.own', 'audit.read', 'log.read', 'fulfil'] as const
export type Operation = typeof OPERATIONS[number]

export interface PolicyRule {
  readonly claim: string
  readonly value: string
  readonly operations: ReadonlySet<Operation | '*'>
}

/** Parses `http.policies`; CONFIG_INVALID names a bad rule and the operations there are. */
export function parsePolicies (rules: readonly string[]): PolicyRule[] {
  return rules.map((rule, i) => {
    const m = /^([A-Za-z0-9_:.-]+)=([^:,]+):(.*)$/.exec(rule)
    if (m === null) throw new DtaError('CONFIG_INVALID', `http.policies[${i}] must be "claim=value: operation operation …"`)
    const operations = m[3]!.trim().split(/\s+/).filter(o => o !== '')
    if (operations.length === 0) throw new DtaError('CONFIG_INVALID', `http.policies[${i}] grants no operation`)
    for (const op of operations) {
      if (op !== '*' && !(OPERATIONS as readonly string[]).includes(op)) {
        throw new DtaError('CONFIG_INVALID', `http.policies[${i}]: unknown operation "${op}" (one of *, ${OPERATIONS.join(', ')})`)
      }
    }
    return { claim: m[1]!, value: m[2]!.trim(), operations: new Set(operations as Array<Operation | '*'>) }
  })
}

/** The operation a route is; undefined for routes any authenticated caller may reach (the console's files). */
export function operationOf (method: string, route: string | undefined): Operation | 'console' | undefined {
  if (route === undefined) return undefined
  // the console's files, and the node's own description it shows (GET /v1/node): any authenticated caller
  if (route === '/ui' || route.startsWith('/ui/') || route === '/v1/node') return 'console'
  if (route.startsWith('/v1/fulfill/') || route.startsWith('/v1/witness/')) return 'fulfil'
  if (route.startsWith('/v1/log')) return 'log.read'
  if (route === '/v1/audit') return 'audit.read'
  if (route === '/v1/identity' && method === 'POST') return 'identity.create'
  if (route.startsWith('/v1/identity')) return 'identity.read'
  if (route === '/v1/order/secret') return 'order.redeem'
  if (route === '/v1/order' && method === 'POST') return 'order.create'
  if (route.startsWith('/v1/order')) return 'order.read'
  return undefined
}

function claimMatches (claims: Readonly<Record<string, unknown>>, rule: PolicyRule): boolean {
  const v = claims[rule.claim]
  if (Array.isArray(v)) return v.some(x => String(x) === rule.value)
  return v !== undefined && v !== null && String(v) === rule.value
}

/** The operations `claims` are granted. */
export function grantedTo (rules: readonly PolicyRule[], claims: Readonly<Record<string, unknown>>): Set<Operation | '*'> {
  const out = new Set<Operation | '*'>()
  for (const rule of rules) if (claimMatches(claims, rule)) for (const op of rule.operations) out.add(op)
  return out
}

