/**
 * Calls one fiduciary of a threshold order over HTTP (docs/threshold.md): the three key-generation
 * rounds (POST /v1/fulfill/threshold/round1..3) and the ordinary release (POST
 * /v1/fulfill/order/secret), with the timeouts, TLS and bearer token of every node-to-node call
 * (src/adapters/peer/http.ts). A refusal keeps the peer's code and quotes its message, so a
 * principal can say which fiduciary a THRESHOLD_BAD_SHARE names.
 * @module
 */
import type { ThresholdFiduciaryClient } from '../../ports/peer.ts'
import { createJsonPoster } from './http.ts'
import type { HttpFiduciaryClientInit } from './http.ts'

export function createHttpThresholdClient (init: HttpFiduciaryClientInit): ThresholdFiduciaryClient {
  const post = createJsonPoster(init, true)
  return {
    thresholdRound1: async (request, options) => await post('/v1/fulfill/threshold/round1', request, options),
    thresholdRound2: async (request, options) => await post('/v1/fulfill/threshold/round2', request, options),
    thresholdRound3: async (request, options) => await post('/v1/fulfill/threshold/round3', request, options),
    fulfillOrderSecret: async (request, options) => await post('/v1/fulfill/order/secret', request, options),
  }
}
