/** A document store that holds nothing, for log services built in tests without documents. */
import { DtaError } from '../../src/errors.ts'

export const noDocuments = {
  get: async (cid: string): Promise<Uint8Array> => { throw new DtaError('DOCUMENT_NOT_FOUND', cid) },
}
