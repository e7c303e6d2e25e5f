/**
 * The pkcs11js addon, loaded lazily on first use so that a node with local custody never needs it
 * (nor the python3, make and g++ that build it). An addon that does not load is
 * CUSTODY_PKCS11_MODULE_NOT_FOUND, never a crash at import time.
 * @module
 */
import { createRequire } from 'node:module'
import { DtaError } from '../../../errors.ts'

export type Pkcs11Js = typeof import('pkcs11js')
let binding: Pkcs11Js | undefined

/** The pkcs11js namespace, loaded on the first call. */
export function pkcs11js (): Pkcs11Js {
  if (binding !== undefined) return binding
  try {
    binding = createRequire(import.meta.url)('pkcs11js') as Pkcs11Js
  } catch (err) {
    throw new DtaError('CUSTODY_PKCS11_MODULE_NOT_FOUND',
      'the pkcs11js addon did not load (run `npm rebuild pkcs11js`; building it needs python3, make and g++)', { cause: err })
  }
  return binding
}
