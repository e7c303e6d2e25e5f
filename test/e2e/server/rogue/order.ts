/**
 * MILAGRO_TEST_ROGUE=release-share (register.ts): the part 4 of a threshold order (no seed, the
 * fiduciary's share as order_key) carries a random scalar instead of the share. Signed and
 * sealed by the real code, so only the redeemer's check against Y_j can catch it.
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { part4Document as honest } from '../../../../src/core/order.ts'
import type { OrderDocument } from '../../../../src/envelope/gen/dta_pb.ts'

export * from '../../../../src/core/order.ts'

export function part4Document (doc3: OrderDocument, f: { part3CID: string, seed: Uint8Array, orderKey: Uint8Array, timestamp: number }): OrderDocument {
  return honest(doc3, f.seed.length === 0 ? { ...f, orderKey: secp256k1.utils.randomSecretKey() } : f)
}
