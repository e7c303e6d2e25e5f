/**
 * The SQLite schema, as an ordered list of migrations. `openSqliteState` (open.ts) applies the
 * ones a database lacks, in order, inside one transaction, and records each in `schema_migrations`.
 *
 * Rules: a released migration is never edited — a change is a new migration with the next
 * version. Tables are STRICT so a wrong type is an error, not a silent conversion.
 *
 * Invariants the schema enforces by itself (so no code path can break them):
 * - a fiduciary order row cannot exist without its sealed seed (CHECK + FOREIGN KEY);
 * - the node identity has a sealed seed, and there is at most one node identity;
 * - sealed seeds are never deleted while an order or identity refers to them (FOREIGN KEY);
 * - the audit table is append-only (triggers refuse UPDATE and DELETE);
 * - a fiduciary order is released to one recipient at most: `released_to`, once set, can only be
 *   set again to the same value (trigger), and the release decision is a conditional UPDATE on it.
 * @module
 */

export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE sealed_seeds (
        record_id  TEXT PRIMARY KEY,
        sealed     BLOB NOT NULL,
        key_id     TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sealed_seeds_key_id ON sealed_seeds (key_id);

      CREATE TABLE identities (
        seq            INTEGER PRIMARY KEY,
        cid            TEXT NOT NULL UNIQUE,
        name           TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        seed_record_id TEXT REFERENCES sealed_seeds (record_id),
        is_node        INTEGER NOT NULL DEFAULT 0 CHECK (is_node IN (0, 1)),
        CHECK (is_node = 0 OR seed_record_id IS NOT NULL)
      ) STRICT;
      CREATE UNIQUE INDEX identities_one_node ON identities (is_node) WHERE is_node = 1;
      CREATE INDEX identities_created ON identities (created_at, seq);

      CREATE TABLE orders (
        seq             INTEGER PRIMARY KEY,
        role            TEXT NOT NULL CHECK (role IN ('principal', 'fiduciary')),
        reference       TEXT NOT NULL,
        plugin          TEXT NOT NULL,
        principal_cid   TEXT NOT NULL,
        fiduciary_cid   TEXT NOT NULL,
        beneficiary_cid TEXT,
        part1_cid       TEXT,
        part2_cid       TEXT,
        part3_cid       TEXT,
        part4_cid       TEXT,
        commitment      TEXT,
        extension       TEXT NOT NULL DEFAULT '{}',
        seed_record_id  TEXT REFERENCES sealed_seeds (record_id),
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        UNIQUE (role, reference),
        CHECK (role <> 'fiduciary' OR seed_record_id IS NOT NULL)
      ) STRICT;
      CREATE INDEX orders_role_created ON orders (role, created_at, seq);

      CREATE TABLE plugin_kv (
        plugin TEXT NOT NULL,
        key    TEXT NOT NULL,
        value  ANY NOT NULL,
        PRIMARY KEY (plugin, key)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE audit (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        INTEGER NOT NULL,
        op        TEXT NOT NULL,
        reference TEXT,
        actor     TEXT,
        detail    TEXT
      ) STRICT;
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    `
  },
  {
    version: 2,
    name: 'release recipient',
    // Rows released before this migration keep NULL: the fiduciary service then reads the recipient
    // from the stored part 4 once, and records it at the next redemption (src/services/fulfil.ts).
    sql: `
      ALTER TABLE orders ADD COLUMN released_to TEXT;
      CREATE TRIGGER orders_released_once BEFORE UPDATE OF released_to ON orders
        WHEN OLD.released_to IS NOT NULL AND NEW.released_to IS NOT OLD.released_to
        BEGIN SELECT RAISE(ABORT, 'an order is released to one recipient only'); END;
    `
  }
]
