/**
 * The error registry and its documentation stay in step, and DtaError carries code and status.
 * @module
 */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DtaError, ERRORS, isDtaError } from '../../../src/errors.ts'
import { renderErrorsDoc } from '../../../scripts/errors-doc.ts'

it('docs/errors.md is the rendering of the registry (run `npm run docs:errors`)', () => {
  assert.equal(readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8'), renderErrorsDoc())
})

it('codes are upper snake case and statuses are HTTP error statuses', () => {
  for (const [code, spec] of Object.entries(ERRORS)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/)
    assert.ok(spec.status >= 400 && spec.status <= 599, code)
  }
})

it('DtaError serialises to the HTTP error body', () => {
  const err = new DtaError('DOCUMENT_NOT_FOUND', 'QmX')
  assert.deepEqual(err.toJSON(), { statusCode: 404, code: 'DOCUMENT_NOT_FOUND', message: 'The document could not be found: QmX' })
  assert.ok(isDtaError(err, 'DOCUMENT_NOT_FOUND'))
  assert.ok(!isDtaError(new Error('x')))
})
