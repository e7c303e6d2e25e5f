/**
 * The SQLite log storage: the conformance suite on a real file (with the tamper hook: raw SQL
 * with the append-only triggers dropped, as an operator with the file could), then what is
 * particular to SQLite — the schema itself refuses to change, remove or reorder the log, to move
 * the checkpoint back, or to forget a seen checkpoint or evidence, whatever the code does.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { openSqliteState } from '../../../src/adapters/storage/sqlite/index.ts'
import { logStoreConformance } from '../../conformance/log-store.ts'

logStoreConformance('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dta-sqlite-log-'))
  const path = join(dir, 'state.sqlite')
  return {
    async open () {
      const state = await openSqliteState({ path })
      return { storage: state.transparency!, close: async () => await state.close() }
    },
    cleanup: async () => await rm(dir, { recursive: true, force: true }),
    async tamperNode (level, index, hash) {
      const db = new DatabaseSync(path)
      db.exec('DROP TRIGGER log_nodes_no_update')
      db.prepare('UPDATE log_nodes SET hash = ? WHERE level = ? AND idx = ?').run(hash, level, index)
      db.close()
    },
  }
})

describe('sqlite log schema', () => {
  let dir: string
  let path: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dta-sqlite-log-'))
    path = join(dir, 'state.sqlite')
    const state = await openSqliteState({ path })
    const sign = (h: { size: number }): string => `o\n${h.size}\n`
    const enc = new TextEncoder()
    await state.transparency!.log.append([1, 2, 3].map(n => ({ key: `k${n}`, data: enc.encode(`leaf ${n}`) })), sign)
    await state.transparency!.checkpoints.recordSeen({ origin: 'o', size: 2, root: new Uint8Array(32), note: 'n', keyDocumentCid: 'QmK' }, null)
    await state.transparency!.checkpoints.recordEvidence({ origin: 'o', kind: 'fork', first: 'a', second: 'b', detail: null })
    await state.close()
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('refuses, by itself, every change that would rewrite history', () => {
    const db = new DatabaseSync(path)
    try {
      const refused = [
        "UPDATE log_leaves SET data = x'00' WHERE idx = 0",
        'DELETE FROM log_leaves WHERE idx = 2',
        "INSERT INTO log_leaves (idx, key, data) VALUES (7, 'k7', x'01')",
        'UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 0',
        'DELETE FROM log_nodes',
        'UPDATE log_checkpoint SET size = 2',
        'UPDATE log_checkpoint SET root = zeroblob(32)',
        'DELETE FROM log_checkpoint',
        "INSERT INTO log_leaves (idx, key, data) VALUES (3, 'k4', x'01'); UPDATE log_checkpoint SET size = 5",
        'UPDATE log_seen SET size = 1',
        'UPDATE log_seen SET root = randomblob(32)',
        'DELETE FROM log_seen',
        "UPDATE log_evidence SET first = 'x'",
        'DELETE FROM log_evidence',
      ]
      for (const sql of refused) {
        db.exec('BEGIN')
        assert.throws(() => db.exec(sql), /append-only|in index order|never goes back|covers exactly|are kept/, sql)
        db.exec('ROLLBACK')
      }
      assert.equal((db.prepare('SELECT count(*) AS n FROM log_leaves').get() as { n: number }).n, 3)
    } finally {
      db.close()
    }
  })
})
