/**
 * The shared words of the ports, declared once: cancellation options, plugin extensions, the list
 * sort order, and what a document identifier and an order reference look like. A leaf module
 * (with src/errors.ts): every layer may import it, it imports nothing of the project.
 * @module
 */

/** Every I/O method takes these (CONVENTIONS habit 5). */
export interface AbortOptions {
  signal?: AbortSignal
}

/** Plugin-specific fields on requests, responses and order documents: public strings only. */
export type Extension = Record<string, string>

/** The sort order of a list, by creation time. */
export type SortBy = 'dateCreatedAsc' | 'dateCreatedDesc'
export const SORT_BY_VALUES: readonly SortBy[] = ['dateCreatedAsc', 'dateCreatedDesc']

/**
 * What a document identifier looks like on the API, in config and in documents: a CIDv0 string,
 * "Qm" and 44 base58btc characters (sha2-256, dag-pb). The store adapters parse it fully
 * (src/adapters/ipfs/unixfs.ts); this is the shape check.
 */
export const CIDV0_PATTERN = '^Qm[1-9A-HJ-NP-Za-km-z]{44}$'
const CIDV0 = new RegExp(CIDV0_PATTERN)

export function isCIDv0 (value: unknown): value is string {
  return typeof value === 'string' && CIDV0.test(value)
}

/** An order reference: 128 random bits in lower-case hex (PROTOCOL §6). */
export const ORDER_REFERENCE_PATTERN = '^[0-9a-f]{32}$'
const ORDER_REFERENCE = new RegExp(ORDER_REFERENCE_PATTERN)

export function isOrderReference (value: unknown): value is string {
  return typeof value === 'string' && ORDER_REFERENCE.test(value)
}
