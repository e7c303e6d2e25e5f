/**
 * Row mapping for SQLite: the shared one (../rows.ts), with `node:sqlite`'s BLOBs, which already
 * are Uint8Arrays.
 * @module
 */
import { toIdentity as identityOf, toSeed as seedOf } from '../rows.ts'
import type { Row } from '../rows.ts'
import type { IdentityRecord, SealedSeed } from '../../../ports/state.ts'

export { IDENTITY_SELECT, ORDER_COLUMNS, SEED_COLUMNS, toAudit, toOrder } from '../rows.ts'
export type { Row } from '../rows.ts'

const blob = (value: unknown): Uint8Array => value as Uint8Array

export function toIdentity (row: Row): IdentityRecord { return identityOf(row, blob) }
export function toSeed (row: Row): SealedSeed { return seedOf(row, blob) }
