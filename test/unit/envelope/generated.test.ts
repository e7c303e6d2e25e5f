/**
 * The checked-in generated code is exactly what the pinned generator makes from the .proto, so
 * the schema and the code cannot drift apart.
 * @module
 */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

it('src/envelope/gen matches a fresh `npm run generate`', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'dta-gen-'))
  try {
    execFileSync(process.execPath, [new URL('../../../scripts/generate-proto.ts', import.meta.url).pathname, out], { stdio: 'pipe' })
    const fresh = readFileSync(path.join(out, 'src/envelope/gen/dta_pb.ts'), 'utf8')
    const committed = readFileSync(new URL('../../../src/envelope/gen/dta_pb.ts', import.meta.url), 'utf8')
    assert.equal(committed, fresh)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
