/**
 * The peer port: how a principal calls its fiduciary's fulfil RPCs (PROTOCOL §2). The HTTP
 * adapter is the real one; a `multi` node calls its own fulfil service directly.
 * @module
 */

import type { AbortOptions } from './common.ts'
import type {
  FulfillOrderRequest, FulfillOrderResponse, FulfillOrderSecretRequest, FulfillOrderSecretResponse,
  ThresholdRound1Request, ThresholdRound1Response, ThresholdRound2Request, ThresholdRound2Response, ThresholdRound3Request, ThresholdRound3Response,
} from './api.ts'

export interface FiduciaryClient {
  fulfillOrder (request: FulfillOrderRequest, options?: AbortOptions): Promise<FulfillOrderResponse>
  fulfillOrderSecret (request: FulfillOrderSecretRequest, options?: AbortOptions): Promise<FulfillOrderSecretResponse>
  /** Resolves when the fiduciary (or one of its replicas) answers its liveness check; for readiness. */
  ping? (options?: AbortOptions): Promise<void>
}

/** How a principal calls one fiduciary of a threshold order: the three DKG rounds and the ordinary release. */
export interface ThresholdFiduciaryClient {
  thresholdRound1 (request: ThresholdRound1Request, options?: AbortOptions): Promise<ThresholdRound1Response>
  thresholdRound2 (request: ThresholdRound2Request, options?: AbortOptions): Promise<ThresholdRound2Response>
  thresholdRound3 (request: ThresholdRound3Request, options?: AbortOptions): Promise<ThresholdRound3Response>
  fulfillOrderSecret (request: FulfillOrderSecretRequest, options?: AbortOptions): Promise<FulfillOrderSecretResponse>
}
