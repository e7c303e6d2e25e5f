/**
 * Tampering with a stopped node's own storage, for the tests that show the node's checks failing
 * on what it stored (the console's chain view, test/unit/http/console-api.test.ts and
 * test/e2e/console/): one byte of a document's block flipped on disk (blockstore-fs, the layout
 * src/adapters/ipfs/blockstore.ts keeps: `blocks/<next-to-last two characters>/<base32 multihash>.data`),
 * or an order row pointed at another part. Only for a node that is not running (its caches would
 * keep the good copy).
 * @module
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { NextToLast } from 'blockstore-fs/sharding'
import { CID } from 'multiformats/cid'

function find (dir: string, folder: string, file: string): string | undefined {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name)
    if (!statSync(full).isDirectory()) continue
    if (name === folder && readdirSync(full).includes(file)) return path.join(full, file)
    const below = find(full, folder, file)
    if (below !== undefined) return below
  }
  return undefined
}

/** Flips one byte in the middle of the (single) block of document `cid` under `home`; returns its path. */
export function corruptDocument (home: string, cid: string): string {
  const { dir, file } = new NextToLast().encode(CID.parse(cid))
  const where = find(home, dir, file)
  if (where === undefined) throw new Error(`no block file ${dir}/${file} under ${home}`)
  const bytes = readFileSync(where)
  const at = Math.floor(bytes.length / 2)
  bytes[at] = bytes[at]! ^ 0x01
  writeFileSync(where, bytes)
  return where
}

/** Points the principal row of `reference` at another part 4 (as an attacker with the database would). */
export function swapPart4 (home: string, reference: string, part4Cid: string, databaseFile = 'state.sqlite'): void {
  const db = new DatabaseSync(path.join(home, databaseFile))
  try {
    const changed = db.prepare("UPDATE orders SET part4_cid = ? WHERE role = 'principal' AND reference = ?").run(part4Cid, reference).changes
    if (changed !== 1) throw new Error(`no principal row ${reference}`)
  } finally {
    db.close()
  }
}
