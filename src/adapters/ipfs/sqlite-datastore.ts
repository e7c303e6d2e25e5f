/**
 * The IPFS node's datastore (pins and their block reference counts) in one SQLite file in the
 * node's home folder, with node:sqlite. The layout mirrors go-ipfs's default — blocks as files
 * (flatfs; here blockstore-fs), everything else in an embedded key-value database (LevelDB there).
 *
 * Why not datastore-fs: a pin writes one file per block reference and per pin, and each file
 * write is a temp file plus a rename through the thread pool — measured at ~0.85 ms per key, so
 * pinning one document cost several milliseconds of CPU on every put. A prepared SQLite
 * statement in WAL mode costs tens of microseconds. `synchronous=NORMAL`: a power loss may drop
 * the newest pins, never corrupt the file; a document whose pin was lost is re-pinned the next
 * time it is read (see helia.ts), and nothing ever garbage-collects unpinned blocks on its own.
 * @module
 */
import { DatabaseSync } from 'node:sqlite'
import type { StatementSync } from 'node:sqlite'
import { BaseDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import type { KeyQuery, Pair, Query } from 'interface-datastore'
import { NotFoundError, OpenFailedError } from 'interface-store'
import { ACCOUNTING_ON, accounted } from '../../accounting.ts'

export class SqliteDatastore extends BaseDatastore {
  readonly #path: string
  #db: DatabaseSync | undefined
  #put: StatementSync | undefined
  #get: StatementSync | undefined
  #delete: StatementSync | undefined
  #range: StatementSync | undefined
  #rangeKeys: StatementSync | undefined

  constructor (path: string) {
    super()
    this.#path = path
    if (ACCOUNTING_ON) { // the bench's CPU accounting (src/accounting.ts): these calls are synchronous
      this.put = accounted('ipfs', this.put.bind(this))
      this.get = accounted('ipfs', this.get.bind(this))
      this.has = accounted('ipfs', this.has.bind(this))
      this.delete = accounted('ipfs', this.delete.bind(this))
    }
  }

  async open (): Promise<void> {
    try {
      const db = new DatabaseSync(this.#path)
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;')
      db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID')
      this.#put = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      this.#get = db.prepare('SELECT value FROM kv WHERE key = ?')
      this.#delete = db.prepare('DELETE FROM kv WHERE key = ?')
      this.#range = db.prepare('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key')
      this.#rangeKeys = db.prepare('SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key')
      this.#db = db
    } catch (err) {
      throw new OpenFailedError(String((err as Error).message))
    }
  }

  async close (): Promise<void> {
    this.#db?.close()
    this.#db = undefined
  }

  #ready (): void {
    if (this.#db === undefined) throw new OpenFailedError('datastore is not open')
  }

  override put (key: Key, val: Uint8Array): Key {
    this.#ready()
    this.#put!.run(key.toString(), val)
    return key
  }

  override get (key: Key): Uint8Array {
    this.#ready()
    const row = this.#get!.get(key.toString()) as { value: Uint8Array } | undefined
    if (row === undefined) throw new NotFoundError(`${key.toString()} not found`)
    return row.value
  }

  override has (key: Key): boolean {
    this.#ready()
    return this.#get!.get(key.toString()) !== undefined
  }

  override delete (key: Key): void {
    this.#ready()
    this.#delete!.run(key.toString())
  }

  /** Rows whose key starts with the query prefix (all rows without one), in key order. */
  #bounds (prefix: string | undefined): [string, string] {
    if (prefix === undefined || prefix === '') return ['', '\u{10FFFF}']
    return [prefix, prefix + '\u{10FFFF}']
  }

  override * _all (q: Query): Generator<Pair> {
    this.#ready()
    for (const row of this.#range!.iterate(...this.#bounds(q.prefix)) as Iterable<{ key: string, value: Uint8Array }>) {
      yield { key: new Key(row.key), value: row.value }
    }
  }

  override * _allKeys (q: KeyQuery): Generator<Key> {
    this.#ready()
    for (const row of this.#rangeKeys!.iterate(...this.#bounds(q.prefix)) as Iterable<{ key: string }>) {
      yield new Key(row.key)
    }
  }
}
