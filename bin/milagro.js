#!/usr/bin/env node
// The `milagro` command. The code is TypeScript run by Node 24's type stripping, so refuse older
// Nodes with a clear message (npm run / npx put the project's pinned Node 24 first on PATH).
const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  console.error(`milagro needs Node 24 or newer (this is ${process.version}); run it as \`npx milagro\` inside the project.`)
  process.exit(1)
}
const { run } = await import('../src/cli/main.ts')
await run(process.argv.slice(2))
