/**
 * `node scripts/config-doc.ts`: writes the configuration table (configMarkdownTable() of
 * src/config/schema.ts) between the markers in docs/configuration.md; test/unit/config checks it.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { configMarkdownTable } from '../src/config/schema.ts'

const file = new URL('../docs/configuration.md', import.meta.url)
const text = readFileSync(file, 'utf8')
const start = text.indexOf('\n', text.indexOf('<!-- config-table:start')) + 1
const end = text.indexOf('<!-- config-table:end -->')
if (start <= 0 || end < start) throw new Error('docs/configuration.md lacks the config-table markers')
writeFileSync(file, `${text.slice(0, start)}${configMarkdownTable()}\n${text.slice(end)}`)
