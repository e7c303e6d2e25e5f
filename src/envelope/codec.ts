/**
 * Bytes ↔ typed wire messages. Decoding never throws anything but a DtaError with the caller's
 * code: protobuf-es throws plain errors on malformed wire data (bad varints, truncated fields,
 * invalid UTF-8), which we translate so that garbage input never escapes as a crash.
 *
 * Unknown fields are refused where they would not be covered by a signature (the outer
 * SignedEnvelope) and everywhere else too: a suite-1 reader knows every field a suite-1 writer
 * may set, so an unknown field is a malformed document, not a forward-compatible extension.
 * @module
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import type { DescMessage, MessageShape, MessageInitShape } from '@bufbuild/protobuf'
import { DtaError } from '../errors.ts'
import type { ErrorCode } from '../errors.ts'
import { accounted } from '../accounting.ts'

export const encode = accounted('codec', function encode<D extends DescMessage> (schema: D, value: MessageInitShape<D>): Uint8Array {
  return toBinary(schema, create(schema, value))
})

/** Decodes `bytes` as `schema`; any wire error or unknown field becomes `DtaError(code)`. */
export const decode = accounted('codec', function decode<D extends DescMessage> (schema: D, bytes: Uint8Array, code: ErrorCode, what: string): MessageShape<D> {
  let message: MessageShape<D>
  try {
    message = fromBinary(schema, bytes, { readUnknownFields: true })
  } catch (err) {
    throw new DtaError(code, `${what} is not valid protobuf`, { cause: err })
  }
  if (hasUnknownFields(message)) throw new DtaError(code, `${what} has unknown fields`)
  return message
})

function hasUnknownFields (message: unknown): boolean {
  if (message === null || typeof message !== 'object') return false
  const unknown = (message as { $unknown?: unknown[] }).$unknown
  if (unknown !== undefined && unknown.length > 0) return true
  for (const value of Object.values(message)) {
    if (Array.isArray(value)) {
      if (value.some(hasUnknownFields)) return true
    } else if (value !== null && typeof value === 'object' && '$typeName' in value) {
      if (hasUnknownFields(value)) return true
    }
  }
  return false
}

/** uint64 milliseconds → number; values past 2^53 are not timestamps we wrote. */
export function toMillis (value: bigint, code: ErrorCode, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new DtaError(code, `${what} is out of range`)
  return Number(value)
}
