/**
 * Row mapping for PostgreSQL: the shared one (../rows.ts), with bytea (a Buffer) copied out to a
 * plain Uint8Array; bigint columns arrive as numbers (open.ts registers the parser: every value we
 * store is a safe integer).
 * @module
 */
import { toIdentity as identityOf, toSeed as seedOf } from '../rows.ts'
import type { IdentityRecord, SealedSeed } from '../../../ports/state.ts'
import { fromBytea } from './connection.ts'
import type { Row } from './connection.ts'

export { IDENTITY_SELECT, ORDER_COLUMNS, SEED_COLUMNS, toAudit, toOrder } from '../rows.ts'

export function toIdentity (row: Row): IdentityRecord { return identityOf(row, fromBytea) }
export function toSeed (row: Row): SealedSeed { return seedOf(row, fromBytea) }
