/**
 * The PostgreSQL state repository (src/ports/state.ts), for several replicas of one server that
 * share their state (PROTOCOL §9), through postgres.js (docs/storage.md says why that client).
 * The one module the rest of the code imports from this folder.
 *
 * The folder, one concern per file, as ../sqlite/:
 * - open.ts — the URL, the pool and its settings, migrating, assembling the port;
 * - migrations.ts — the schema and the invariants it enforces;
 * - connection.ts — every method's wrapper (signal, closed check, error mapping), write
 *   transactions and their retry;
 * - rows.ts — rows → records;
 * - identities.ts, orders.ts, seeds.ts, sealed-plugin-values.ts, plugin-store.ts, audit.ts;
 * - log.ts, log-seen.ts — the transparency log's storage (src/ports/log.ts), `transparency`.
 * Checks on the values crossing the port are shared with SQLite in ../validate.ts.
 * @module
 */
export { describeDatabase, openPostgresState, parseDatabaseUrl } from './open.ts'
export type { DatabaseAddress, PostgresStateOptions } from './open.ts'
export { MIGRATIONS } from './migrations.ts'
