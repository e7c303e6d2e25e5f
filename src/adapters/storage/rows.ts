/**
 * Row mapping for every SQL backend: the columns the repositories select and how a row becomes a
 * port record (src/ports/state.ts) — the one place that knows a column's name and its record
 * field. Both schemas use the same table and column names. Rows arrive as plain objects keyed by
 * column name with integers as numbers (`node:sqlite` does so; the PostgreSQL adapter registers a
 * bigint parser); a byte column is handed to the backend's `bytes` (SQLite gives Uint8Array,
 * PostgreSQL a Buffer that is copied out).
 * @module
 */
import type { Extension } from '../../ports/common.ts'
import type { AuditEntry, AuditOp, IdentityRecord, OrderRecord, OrderRole, SealedSeed } from '../../ports/state.ts'

export type Row = Record<string, unknown>
/** A byte column's value as the port hands it out. */
export type Bytes = (value: unknown) => Uint8Array

/** An identity with its sealed root seed, if it has one; append `WHERE …` / `ORDER BY …`. */
export const IDENTITY_SELECT = `SELECT i.cid, i.name, i.created_at, i.is_node, s.sealed
  FROM identities i LEFT JOIN sealed_seeds s ON s.record_id = i.seed_record_id`

export function toIdentity (row: Row, bytes: Bytes): IdentityRecord {
  return {
    cid: row.cid as string,
    name: row.name as string,
    createdAt: row.created_at as number,
    sealedRootSeed: row.sealed === null || row.sealed === undefined ? null : bytes(row.sealed),
    // SQLite's INTEGER 1, PostgreSQL's boolean
    isNodeIdentity: row.is_node === 1 || row.is_node === true
  }
}

/** Every column of `orders` a record holds, in the order `toOrder` and the INSERT use. */
export const ORDER_COLUMNS = `role, reference, plugin, principal_cid, fiduciary_cid, beneficiary_cid, part1_cid, part2_cid,
  part3_cid, part4_cid, commitment, extension, seed_record_id, created_at, updated_at, released_to`

export function toOrder (row: Row): OrderRecord {
  return {
    role: row.role as OrderRole,
    reference: row.reference as string,
    plugin: row.plugin as string,
    principalCid: row.principal_cid as string,
    fiduciaryCid: row.fiduciary_cid as string,
    beneficiaryCid: row.beneficiary_cid as string | null,
    part1Cid: row.part1_cid as string | null,
    part2Cid: row.part2_cid as string | null,
    part3Cid: row.part3_cid as string | null,
    part4Cid: row.part4_cid as string | null,
    commitment: row.commitment as string | null,
    extension: JSON.parse(row.extension as string) as Extension,
    seedRecordId: row.seed_record_id as string | null,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
    releasedTo: row.released_to as string | null
  }
}

/** The columns of `sealed_seeds` that `toSeed` reads. */
export const SEED_COLUMNS = 'record_id, sealed, key_id, created_at, updated_at'

export function toSeed (row: Row, bytes: Bytes): SealedSeed {
  return {
    recordId: row.record_id as string,
    sealed: bytes(row.sealed),
    keyId: row.key_id as string,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number
  }
}

export function toAudit (row: Row): AuditEntry {
  return {
    id: row.id as number,
    at: row.at as number,
    op: row.op as AuditOp,
    reference: row.reference as string | null,
    actor: row.actor as string | null,
    detail: row.detail as string | null
  }
}
