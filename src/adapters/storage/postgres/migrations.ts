/**
 * The PostgreSQL schema, as an ordered list of migrations. `openPostgresState` (open.ts) applies
 * the ones a database lacks, in order, in one transaction that first takes an advisory lock, so
 * replicas starting together migrate once; each is recorded in `schema_migrations`.
 *
 * Rules: a released migration is never edited — a change is a new migration with the next version.
 * Version 1 is the SQLite schema's versions 1 and 2 together (this backend has no older databases).
 *
 * The same invariants as the SQLite schema, enforced by the database whatever the code does:
 * - a fiduciary order row cannot exist without its sealed seed (CHECK + FOREIGN KEY);
 * - the node identity has a sealed seed, and there is at most one (partial UNIQUE index);
 * - sealed seeds are never deleted while an order or identity refers to them (FOREIGN KEY);
 * - the audit table is append-only: triggers refuse UPDATE, DELETE and TRUNCATE;
 * - a fiduciary order is released to one recipient at most: once `released_to` is set, a trigger
 *   refuses any other value, and the release decision is a conditional UPDATE on it.
 * - the transparency log (version 2, docs/log.md) is append-only as in SQLite: leaves inserted in
 *   index order and never changed, nodes never changed, the checkpoint and the checkpoints seen of
 *   other logs never back to a smaller tree or another root, evidence kept.
 * - version 3 only adds the indexes that serve the order list's sort columns, the search by
 *   beneficiary and the audit trail filtered by operation, in the "C" collation the list sorts in (src/adapters/storage/order-list.ts).
 * Text keys that are listed in order (record ids, plugin keys) use COLLATE "C": byte order of the
 * UTF-8 text, as the port promises and SQLite does, whatever the database's locale.
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
        record_id  text COLLATE "C" PRIMARY KEY,
        sealed     bytea NOT NULL,
        key_id     text NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      );
      CREATE INDEX sealed_seeds_key_id ON sealed_seeds (key_id);

      CREATE TABLE identities (
        seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        cid            text NOT NULL UNIQUE,
        name           text NOT NULL,
        created_at     bigint NOT NULL,
        seed_record_id text COLLATE "C" REFERENCES sealed_seeds (record_id),
        is_node        boolean NOT NULL DEFAULT false,
        CHECK (NOT is_node OR seed_record_id IS NOT NULL)
      );
      CREATE UNIQUE INDEX identities_one_node ON identities (is_node) WHERE is_node;
      CREATE INDEX identities_created ON identities (created_at, seq);

      CREATE TABLE orders (
        seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        role            text NOT NULL CHECK (role IN ('principal', 'fiduciary')),
        reference       text NOT NULL,
        plugin          text NOT NULL,
        principal_cid   text NOT NULL,
        fiduciary_cid   text NOT NULL,
        beneficiary_cid text,
        part1_cid       text,
        part2_cid       text,
        part3_cid       text,
        part4_cid       text,
        commitment      text,
        extension       text NOT NULL DEFAULT '{}',
        seed_record_id  text COLLATE "C" REFERENCES sealed_seeds (record_id),
        created_at      bigint NOT NULL,
        updated_at      bigint NOT NULL,
        released_to     text,
        UNIQUE (role, reference),
        CHECK (role <> 'fiduciary' OR seed_record_id IS NOT NULL)
      );
      CREATE INDEX orders_role_created ON orders (role, created_at, seq);

      CREATE FUNCTION orders_released_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.released_to IS NOT NULL AND NEW.released_to IS DISTINCT FROM OLD.released_to THEN
          RAISE EXCEPTION 'an order is released to one recipient only';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER orders_released_once BEFORE UPDATE OF released_to ON orders
        FOR EACH ROW EXECUTE FUNCTION orders_released_once();

      CREATE TABLE plugin_kv (
        plugin text COLLATE "C" NOT NULL,
        key    text COLLATE "C" NOT NULL,
        bytes  bytea,
        text   text,
        PRIMARY KEY (plugin, key),
        CHECK ((bytes IS NULL) <> (text IS NULL))
      );

      CREATE TABLE audit (
        id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at        bigint NOT NULL,
        op        text NOT NULL,
        reference text,
        actor     text,
        detail    text
      );
      CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit is append-only';
      END $$;
      CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
        FOR EACH ROW EXECUTE FUNCTION audit_append_only();
      CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
    `
  },
  {
    version: 2,
    name: 'transparency log',
    sql: `
      CREATE FUNCTION log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the log is append-only';
      END $$;

      CREATE TABLE log_leaves (
        idx  bigint PRIMARY KEY CHECK (idx >= 0),
        key  text NOT NULL UNIQUE,
        data bytea NOT NULL
      );
      CREATE FUNCTION log_leaves_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.idx IS DISTINCT FROM (SELECT coalesce(max(idx) + 1, 0) FROM log_leaves) THEN
          RAISE EXCEPTION 'log leaves are appended in index order';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER log_leaves_in_order BEFORE INSERT ON log_leaves FOR EACH ROW EXECUTE FUNCTION log_leaves_in_order();
      CREATE TRIGGER log_leaves_no_change BEFORE UPDATE OR DELETE ON log_leaves FOR EACH ROW EXECUTE FUNCTION log_append_only();
      CREATE TRIGGER log_leaves_no_truncate BEFORE TRUNCATE ON log_leaves FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();

      CREATE TABLE log_nodes (
        level smallint NOT NULL CHECK (level >= 0 AND level < 64),
        idx   bigint NOT NULL CHECK (idx >= 0),
        hash  bytea NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
      );
      CREATE TRIGGER log_nodes_no_change BEFORE UPDATE OR DELETE ON log_nodes FOR EACH ROW EXECUTE FUNCTION log_append_only();
      CREATE TRIGGER log_nodes_no_truncate BEFORE TRUNCATE ON log_nodes FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();

      CREATE TABLE log_checkpoint (
        id   smallint PRIMARY KEY CHECK (id = 1),
        size bigint NOT NULL CHECK (size >= 0),
        root bytea NOT NULL CHECK (length(root) = 32),
        note text NOT NULL
      );
      CREATE FUNCTION log_checkpoint_grows() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND (NEW.size < OLD.size OR (NEW.size = OLD.size AND NEW.root IS DISTINCT FROM OLD.root)) THEN
          RAISE EXCEPTION 'the checkpoint never goes back';
        END IF;
        IF NEW.size IS DISTINCT FROM (SELECT coalesce(max(idx) + 1, 0) FROM log_leaves) THEN
          RAISE EXCEPTION 'a checkpoint covers exactly the stored leaves';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER log_checkpoint_grows BEFORE INSERT OR UPDATE ON log_checkpoint FOR EACH ROW EXECUTE FUNCTION log_checkpoint_grows();
      CREATE TRIGGER log_checkpoint_no_delete BEFORE DELETE ON log_checkpoint FOR EACH ROW EXECUTE FUNCTION log_append_only();
      CREATE TRIGGER log_checkpoint_no_truncate BEFORE TRUNCATE ON log_checkpoint FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();

      CREATE TABLE log_seen (
        origin           text PRIMARY KEY,
        size             bigint NOT NULL CHECK (size >= 0),
        root             bytea NOT NULL CHECK (length(root) = 32),
        note             text NOT NULL,
        key_document_cid text NOT NULL,
        updated_at       bigint NOT NULL
      );
      CREATE FUNCTION log_seen_grows() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.origin IS DISTINCT FROM OLD.origin OR NEW.size < OLD.size OR (NEW.size = OLD.size AND NEW.root IS DISTINCT FROM OLD.root) THEN
          RAISE EXCEPTION 'a seen checkpoint never goes back';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER log_seen_grows BEFORE UPDATE ON log_seen FOR EACH ROW EXECUTE FUNCTION log_seen_grows();
      CREATE TRIGGER log_seen_no_delete BEFORE DELETE ON log_seen FOR EACH ROW EXECUTE FUNCTION log_append_only();
      CREATE TRIGGER log_seen_no_truncate BEFORE TRUNCATE ON log_seen FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();

      CREATE TABLE log_evidence (
        id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at     bigint NOT NULL,
        origin text NOT NULL,
        kind   text NOT NULL CHECK (kind IN ('fork', 'rollback')),
        first  text NOT NULL,
        second text NOT NULL,
        detail text
      );
      CREATE INDEX log_evidence_origin ON log_evidence (origin, id);
      CREATE TRIGGER log_evidence_no_change BEFORE UPDATE OR DELETE ON log_evidence FOR EACH ROW EXECUTE FUNCTION log_append_only();
      CREATE TRIGGER log_evidence_no_truncate BEFORE TRUNCATE ON log_evidence FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
    `
  },
  {
    version: 3,
    name: 'list indexes',
    // created: orders_role_created; the others sort in byte order, which the UNIQUE (role,
    // reference) index (the database's collation) does not give.
    sql: `
      CREATE INDEX orders_role_reference ON orders (role, reference COLLATE "C");
      CREATE INDEX orders_role_plugin ON orders (role, plugin COLLATE "C", reference COLLATE "C");
      CREATE INDEX orders_role_beneficiary ON orders (role, beneficiary_cid COLLATE "C" NULLS FIRST, reference COLLATE "C");
      CREATE INDEX audit_op ON audit (op, id);
    `
  }
]
