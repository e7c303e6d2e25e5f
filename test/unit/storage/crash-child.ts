/**
 * Fixture for the SQLite crash test (sqlite.test.ts), not a test itself: opens the state database
 * and local custody given on the command line, prints "ready", then inserts fiduciary orders in a
 * loop, printing each reference on stdout only after `createFiduciaryOrder` has returned — i.e.
 * after the point where a fiduciary would answer with part 2. The parent SIGKILLs it at a random
 * moment and checks that every printed reference survived with its seed.
 *
 * Seeds are SHA-256("seed:" ‖ reference), so the parent can recompute each plaintext and search
 * the database files for it. Stdout to a pipe is synchronous on Linux, so a printed line really
 * left the process before the next insert started.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { openLocalCustody } from '../../../src/adapters/custody/local.ts'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { orderSeedRecordId } from '../../../src/ports/state.ts'

const [dbPath, keyFile] = process.argv.slice(2)
const state = await openSqliteState({ path: dbPath })
const custody = await openLocalCustody({ keyFile })
process.stdout.write('ready\n')

for (;;) {
  const reference = randomBytes(16).toString('hex')
  const seed = new Uint8Array(createHash('sha256').update(`seed:${reference}`).digest())
  const sealedSeed = await custody.seal(orderSeedRecordId('fiduciary', reference), seed)
  await state.createFiduciaryOrder({
    reference,
    plugin: 'milagro',
    principalCid: 'QmPrincipalPrincipalPrincipalPrincipalPrincipal',
    fiduciaryCid: 'QmFiduciaryFiduciaryFiduciaryFiduciaryFiduciar',
    part1Cid: `part1-${reference}`,
    part2Cid: `part2-${reference}`,
    commitment: `commitment-${reference}`,
    sealedSeed
  })
  process.stdout.write(`${reference}\n`)
}
