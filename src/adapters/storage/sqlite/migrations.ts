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
 *   set again to the same value (trigger), and the release decision is a conditional UPDATE on it;
 * - the transparency log (version 4) is append-only: leaves are inserted in index order and never
 *   changed, nodes never changed, the checkpoint and the checkpoints seen of other logs never go
 *   back to a smaller tree (nor to another root at the same size), evidence is never removed.
 *
 * - version 5 only adds the indexes that serve the order list's sort columns, the search by
 *   beneficiary and the audit trail filtered by operation (src/adapters/storage/order-list.ts).
 *
 * Version 3 is left to a migration developed in parallel; versions are applied in order of their
 * number, each once, so a database that got 4 first takes 3 when it arrives.
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
  },
  {
    version: 4,
    name: 'transparency log',
    // docs/log.md. log_nodes holds the hash of every complete subtree (level 0: the leaf hashes).
    sql: `
      CREATE TABLE log_leaves (
        idx  INTEGER PRIMARY KEY,
        key  TEXT NOT NULL UNIQUE,
        data BLOB NOT NULL
      ) STRICT;
      CREATE TRIGGER log_leaves_in_order BEFORE INSERT ON log_leaves
        WHEN NEW.idx IS NOT (SELECT coalesce(max(idx) + 1, 0) FROM log_leaves)
        BEGIN SELECT RAISE(ABORT, 'log leaves are appended in index order'); END;
      CREATE TRIGGER log_leaves_no_update BEFORE UPDATE ON log_leaves BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
      CREATE TRIGGER log_leaves_no_delete BEFORE DELETE ON log_leaves BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;

      CREATE TABLE log_nodes (
        level INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
        idx   INTEGER NOT NULL CHECK (idx >= 0),
        hash  BLOB NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
      ) STRICT, WITHOUT ROWID;
      CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
      CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;

      CREATE TABLE log_checkpoint (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        size INTEGER NOT NULL CHECK (size >= 0),
        root BLOB NOT NULL CHECK (length(root) = 32),
        note TEXT NOT NULL
      ) STRICT;
      CREATE TRIGGER log_checkpoint_covers_leaves BEFORE INSERT ON log_checkpoint
        WHEN NEW.size <> (SELECT coalesce(max(idx) + 1, 0) FROM log_leaves)
        BEGIN SELECT RAISE(ABORT, 'a checkpoint covers exactly the stored leaves'); END;
      CREATE TRIGGER log_checkpoint_grows BEFORE UPDATE ON log_checkpoint
        WHEN NEW.size < OLD.size OR (NEW.size = OLD.size AND NEW.root IS NOT OLD.root)
          OR NEW.size <> (SELECT coalesce(max(idx) + 1, 0) FROM log_leaves)
        BEGIN SELECT RAISE(ABORT, 'the checkpoint never goes back and covers exactly the stored leaves'); END;
      CREATE TRIGGER log_checkpoint_no_delete BEFORE DELETE ON log_checkpoint BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;

      CREATE TABLE log_seen (
        origin           TEXT PRIMARY KEY,
        size             INTEGER NOT NULL CHECK (size >= 0),
        root             BLOB NOT NULL CHECK (length(root) = 32),
        note             TEXT NOT NULL,
        key_document_cid TEXT NOT NULL,
        updated_at       INTEGER NOT NULL
      ) STRICT;
      CREATE TRIGGER log_seen_grows BEFORE UPDATE ON log_seen
        WHEN NEW.origin IS NOT OLD.origin OR NEW.size < OLD.size OR (NEW.size = OLD.size AND NEW.root IS NOT OLD.root)
        BEGIN SELECT RAISE(ABORT, 'a seen checkpoint never goes back'); END;
      CREATE TRIGGER log_seen_no_delete BEFORE DELETE ON log_seen BEGIN SELECT RAISE(ABORT, 'seen checkpoints are kept'); END;

      CREATE TABLE log_evidence (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        at     INTEGER NOT NULL,
        origin TEXT NOT NULL,
        kind   TEXT NOT NULL CHECK (kind IN ('fork', 'rollback')),
        first  TEXT NOT NULL,
        second TEXT NOT NULL,
        detail TEXT
      ) STRICT;
      CREATE INDEX log_evidence_origin ON log_evidence (origin, id);
      CREATE TRIGGER log_evidence_no_update BEFORE UPDATE ON log_evidence BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END;
      CREATE TRIGGER log_evidence_no_delete BEFORE DELETE ON log_evidence BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END;
    `
  },
  {
    version: 5,
    name: 'list indexes',
    // reference: the UNIQUE (role, reference) index; created: orders_role_created. NULL
    // beneficiaries come first in an ascending index, as orderBySql places them.
    sql: `
      CREATE INDEX orders_role_plugin ON orders (role, plugin, reference);
      CREATE INDEX orders_role_beneficiary ON orders (role, beneficiary_cid, reference);
      CREATE INDEX audit_op ON audit (op, id);
    `
  }
]
