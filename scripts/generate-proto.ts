/**
 * Regenerates the TypeScript for the wire schema (src/envelope/proto → src/envelope/gen) with the
 * pinned buf CLI and protoc-gen-es from node_modules. The output is checked in; a test compares it
 * with a fresh generation so the two cannot drift.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const bin = path.join(root, 'node_modules', '.bin')
/** Optional base directory (default: the project root), e.g. for comparing a fresh generation. */
const out = process.argv[2]
const args = ['generate']
if (out !== undefined) args.push('--output', out)
execFileSync(path.join(bin, 'buf'), args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` },
})
