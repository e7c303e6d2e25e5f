/**
 * What the order and fulfil services share: the plugin's narrow context (its scoped store and
 * sealing, PROTOCOL §7), built once at wiring time (src/node.ts), and the cache of part 2
 * plaintexts. Each service declares the components it needs itself (`OrderComponents`,
 * `FulfilComponents`); documents carried inline with an RPC are src/services/inline.ts. Also
 * `refusalOf`, what a domain event (src/ports/events.ts) says of a failure.
 * @module
 */
import { isDtaError } from '../errors.ts'
import { decode, encode } from '../envelope/codec.ts'
import { OrderDocumentSchema } from '../envelope/gen/dta_pb.ts'
import type { OrderDocument } from '../envelope/gen/dta_pb.ts'
import type { Custody } from '../ports/custody.ts'
import type { Plugin, PluginContext } from '../ports/plugin.ts'
import { pluginSealRecordId } from '../ports/state.ts'
import type { StateRepository } from '../ports/state.ts'
import { encryptToIdentity } from './identities.ts'

/** The plugin's view of the node: its own store and custody records only, and encryption to one identity. */
export function createPluginContext (plugin: Plugin, state: Pick<StateRepository, 'pluginStore'>, custody: Pick<Custody, 'seal' | 'unseal'>): PluginContext {
  const scoped = (id: string): string => pluginSealRecordId(plugin.name, id)
  return {
    store: state.pluginStore(plugin.name),
    seal: async (id, plaintext, options) => await custody.seal(scoped(id), plaintext, options),
    unseal: async (id, sealed, options) => await custody.unseal(scoped(id), sealed, options),
    encryptTo: encryptToIdentity,
  }
}

/**
 * Part 2 documents by CID, as the plaintext that decrypting them gives: the part 2 this node
 * issued (fiduciary) or verified when the order was placed (principal). Both sides read their
 * part 2 back at redemption, and decrypting it again costs ~0.3 ms of CPU (an X-Wing
 * decapsulation and the HPKE key schedule) on each side of every cycle; decoding the kept
 * plaintext costs ~20 µs and gives exactly what the decryption would. A CID names one byte
 * string, so an entry never goes stale; a miss (after a restart, or once evicted) decrypts from
 * the store as before. Part 2 holds the order and the commitment public key, never the seed.
 */
export class Part2Cache {
  readonly #map = new Map<string, Uint8Array>()
  readonly #limit: number

  constructor (limit = 1024) { this.#limit = limit }

  get (cid: string): OrderDocument | undefined {
    const plaintext = this.#map.get(cid)
    return plaintext === undefined ? undefined : decode(OrderDocumentSchema, plaintext, 'ORDER_BAD_DOCUMENT', 'order document')
  }

  set (cid: string, doc: OrderDocument): void {
    if (this.#map.has(cid)) return
    if (this.#map.size >= this.#limit) this.#map.delete(this.#map.keys().next().value as string)
    this.#map.set(cid, encode(OrderDocumentSchema, doc))
  }
}

/**
 * The code and reason a refusal event carries: the error's answer (code and message, as the client
 * gets them — secret-free by the registry's rule), cut to 300 characters; anything that is not a
 * DtaError is INTERNAL, its message never repeated.
 */
export function refusalOf (err: unknown): { code: string, reason: string } {
  if (!isDtaError(err)) return { code: 'INTERNAL', reason: 'unexpected error' }
  const { code, message } = err.toJSON()
  return { code, reason: message.length > 300 ? `${message.slice(0, 297)}...` : message }
}
