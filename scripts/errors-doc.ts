/**
 * Writes docs/errors.md from the error registry (src/errors.ts). A unit test fails when the
 * committed table and the registry differ, so run `npm run docs:errors` after adding a code.
 * @module
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ANSWERED_AS, ERRORS } from '../src/errors.ts'

export function renderErrorsDoc (): string {
  const rows = Object.entries(ERRORS).map(([code, spec]) => {
    const alias = ANSWERED_AS[code as keyof typeof ERRORS]
    return `| \`${code}\` | ${spec.status} | ${spec.message}${alias === undefined ? '' : ` (answered as \`${alias}\`)`} |`
  })
  return [
    '# Error codes',
    '',
    'Every failure the D-TA reports carries one of these stable codes. Over HTTP the body is',
    '`{statusCode, code, message}`; the message may add a detail (a CID, a field name, a size) after',
    'a colon, never a secret. Codes are never renamed or reused. Generated from `src/errors.ts`',
    'by `npm run docs:errors`.',
    '',
    '| code | HTTP status | message |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc())
}
