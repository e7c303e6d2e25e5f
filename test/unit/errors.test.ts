/**
 * The error registry and its documentation stay in step, every registered code is raised (or
 * mapped) somewhere in src/, and DtaError carries code and status.
 * @module
 */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ANSWERED_AS, DtaError, ERRORS, isDtaError } from '../../src/errors.ts'
import { renderErrorsDoc } from '../../scripts/errors-doc.ts'

it('docs/errors.md is the rendering of the registry (run `npm run docs:errors`)', () => {
  assert.equal(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8'), renderErrorsDoc())
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

it('every registered code is used in src/ (a code nothing raises is deleted, not kept)', () => {
  const src = fileURLToPath(new URL('../../src/', import.meta.url))
  const files = (dir: string): string[] => readdirSync(dir).flatMap(name => {
    const full = path.join(dir, name)
    return statSync(full).isDirectory() ? (name === 'gen' ? [] : files(full)) : full.endsWith('.ts') && full !== path.join(src, 'errors.ts') ? [full] : []
  })
  const text = files(src).map(f => readFileSync(f, 'utf8')).join('\n')
  assert.deepEqual(Object.keys(ERRORS).filter(code => !text.includes(`'${code}'`)), [])
})

it('a state code is answered as the order code it means, with the same status', () => {
  for (const [code, as] of Object.entries(ANSWERED_AS)) assert.equal(ERRORS[code as keyof typeof ERRORS].status, ERRORS[as].status, code)
  const err = new DtaError('STATE_ORDER_NOT_FOUND', 'principal 00')
  assert.equal(err.code, 'STATE_ORDER_NOT_FOUND', 'the repository reports in its own words')
  assert.deepEqual(err.toJSON(), { statusCode: 404, code: 'ORDER_NOT_FOUND', message: 'No order with that reference: principal 00' })
})
