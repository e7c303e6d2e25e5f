/**
 * The peer port: how a principal calls its fiduciary's fulfil RPCs (PROTOCOL §2). The HTTP
 * adapter is the real one; a `multi` node calls its own fulfil service directly.
 * @module
 */

import type { AbortOptions } from './common.ts'
import type {
  FulfillOrderRequest, FulfillOrderResponse, FulfillOrderSecretRequest, FulfillOrderSecretResponse,
} from './api.ts'

export interface FiduciaryClient {
  fulfillOrder (request: FulfillOrderRequest, options?: AbortOptions): Promise<FulfillOrderResponse>
  fulfillOrderSecret (request: FulfillOrderSecretRequest, options?: AbortOptions): Promise<FulfillOrderSecretResponse>
  /** Resolves when the fiduciary (or one of its replicas) answers its liveness check; for readiness. */
  ping? (options?: AbortOptions): Promise<void>
}
