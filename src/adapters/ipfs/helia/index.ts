/**
 * The Helia document store — an embedded, private IPFS node that exchanges documents with the
 * configured peers by bitswap (PROTOCOL §9; docs/ipfs.md) — and the one module its users import.
 * It is split by concern:
 * - ./init.ts: the options, their checks, and the private-network key (`swarm.key`);
 * - ./node.ts: libp2p and Helia assembled explicitly (nothing that reaches the public internet),
 *   the persistent peer key, static peering;
 * - ./dht.ts: content routing inside the private network (its DHT, Helia's router over it);
 *   ./announce.ts: the announcements of what the node holds;
 * - ./store.ts: the `DocumentStore` itself — put/get/accept/has, pinning, the recent cache.
 * @module
 */

export { createHeliaDocumentStore, singleLeafWalker } from './store.ts'
export type { ContentRoutingStatus, HeliaDocumentStore } from './store.ts'
export {
  DEFAULT_DOCUMENT_CACHE_BYTES,
  DEFAULT_REDIAL_MAX_MS,
  DEFAULT_REDIAL_MIN_MS,
  DEFAULT_WANTLIST_DEBOUNCE_MS,
  parseSwarmKey,
  readSwarmKeyFile
} from './init.ts'
export type { ContentRouting, HeliaDocumentStoreInit } from './init.ts'
