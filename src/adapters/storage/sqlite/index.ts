/**
 * The embedded state repository (src/ports/state.ts): SQLite through Node's built-in `node:sqlite`
 * (`DatabaseSync`). The one module the rest of the code imports from this folder; it exports what
 * callers need and nothing of the insides.
 *
 * The folder, one concern per file (issue 16):
 * - open.ts — `openSqliteState`: the file, the PRAGMAs and why, migrating, assembling the port;
 * - migrations.ts — the schema as an ordered list of migrations, and the invariants it enforces;
 * - connection.ts — every method's wrapper (signal, closed check, error mapping, durability),
 *   write transactions, the statement cache;
 * - wal-sync.ts — the group commit: the off-event-loop fsync of the WAL, with its measurements;
 * - rows.ts — rows → records;
 * - identities.ts, orders.ts (with the release decision, `claimRelease`), seeds.ts,
 *   sealed-plugin-values.ts, plugin-store.ts, audit.ts — the repositories;
 * - log.ts, log-seen.ts — the transparency log's storage (src/ports/log.ts), `transparency`.
 * Checks on the values crossing the port are shared with other backends in ../validate.ts.
 * @module
 */
export { openSqliteState } from './open.ts'
export type { SqliteStateOptions } from './open.ts'
export { MIGRATIONS } from './migrations.ts'
export type { Migration } from './migrations.ts'
