/**
 * The one definition of what a document identifier looks like on the API, in config and in
 * documents: a CIDv0 string, "Qm" and 44 base58btc characters (sha2-256, dag-pb). The store
 * adapters parse it fully (src/adapters/ipfs/unixfs.ts); this is the shape check.
 * @module
 */
export const CIDV0_PATTERN = '^Qm[1-9A-HJ-NP-Za-km-z]{44}$'
const CIDV0 = new RegExp(CIDV0_PATTERN)

export function isCIDv0 (value: unknown): value is string {
  return typeof value === 'string' && CIDV0.test(value)
}
