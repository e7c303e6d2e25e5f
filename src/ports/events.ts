/**
 * The domain events port: what the services tell the rest of the node about what happened —
 * an identity created, an order placed or committed, a secret released (and to whom), an order
 * or a release refused (with its error code and why). node.ts wires it to the logger (one info
 * line per event) and to the metrics (counters by plugin, result and code); the services only
 * call `emit`, and run without it (tests, tools).
 *
 * Events hold public values only — CIDs, order references, plugin names, error codes and the
 * fixed refusal reasons of the services — never a seed, a key, a plain text or a token, so a
 * sink may log every field as it is. `role` says which side of the protocol this node played:
 * `principal` (it asked; on a beneficiary's own node too) or `fiduciary` (it decided).
 * @module
 */

export type EventRole = 'principal' | 'fiduciary'

export type DomainEvent =
  | { type: 'identity.created', idDocumentCID: string }
  | {
    type: 'order.placed'
    role: EventRole
    plugin: string
    orderReference: string
    principalCID: string
    fiduciaryCID: string
    beneficiaryCID?: string
    orderPart1CID: string
    orderPart2CID: string
  }
  | { type: 'order.refused', role: EventRole, plugin: string, code: string, reason: string, orderReference?: string, principalCID?: string }
  | {
    type: 'secret.released'
    role: EventRole
    plugin: string
    orderReference: string
    /** The identity part 4 is encrypted to: the beneficiary, else the principal. */
    recipientCID: string
    orderPart4CID: string
    /** Principal side: the recipient is held by another node, which redeems with orderPart4CID. */
    handedOff?: boolean
  }
  | { type: 'release.refused', role: EventRole, plugin: string, code: string, reason: string, orderReference?: string, requesterCID?: string }

export type DomainEventType = DomainEvent['type']

export interface DomainEvents {
  /** Must not throw, block, or keep the event past the call; a sink's failure is its own. */
  emit (event: DomainEvent): void
}

/** A sink that drops every event (the default of the services). */
export const NO_EVENTS: DomainEvents = { emit () {} }
