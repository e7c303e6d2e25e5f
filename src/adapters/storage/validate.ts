/**
 * Checks on the values that cross the state port (src/ports/state.ts), shared by every storage
 * adapter: the SQLite one (src/adapters/storage/sqlite/) and the PostgreSQL one to come. None of
 * them touches a database, so two backends refuse exactly the same inputs with exactly the same
 * errors, and the conformance suite (test/conformance/state.ts) can check the codes once for both.
 *
 * A refused value is STATE_BAD_RECORD (or STATE_BAD_PAGE for paging) naming the field, never its
 * value: a field may hold a sealed seed or a plugin's data. Each check returns the value it
 * accepted, normalised where the port says so (a missing optional text is null, a missing
 * extension is `{}`).
 * @module
 */
import { SORT_BY_VALUES } from '../../ports/common.ts'
import { DtaError } from '../../errors.ts'
import { sealedRecordKeyId } from '../../core/sealed-record.ts'
import { AUDIT_OPS, MAX_PER_PAGE, ORDER_SORT_KEYS, SORT_DIRECTIONS } from '../../ports/state.ts'
import type { AuditOp, NewOrder, OrderPageRequest, OrderRecord, OrderRole, OrderSortKey } from '../../ports/state.ts'

/** Identifiers, names and CIDs: 1..512 characters. */
export const MAX_TEXT = 512
/** An order's commitment (a hex public key or similar). */
export const MAX_COMMITMENT = 4096
/** An audit entry's public detail. */
export const MAX_DETAIL = 1000
export const MAX_PLUGIN_KEY = 512
/** A plugin-store value, in bytes (a string counts its UTF-8 bytes). */
export const MAX_PLUGIN_VALUE = 1024 * 1024
export const PLUGIN_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/
export const ROLES: readonly OrderRole[] = ['principal', 'fiduciary']

export function badRecord (what: string): DtaError {
  return new DtaError('STATE_BAD_RECORD', what)
}

/** A string of 1..`max` characters. */
export function text (value: unknown, what: string, max = MAX_TEXT): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw badRecord(`${what} must be 1..${max} characters`)
  return value
}

/** Like `text`, but undefined and null are null. */
export function optText (value: unknown, what: string): string | null {
  return value === undefined || value === null ? null : text(value, what)
}

/** An identity's name: any string of at most MAX_TEXT characters, the empty one included. */
export function identityName (value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_TEXT) throw badRecord(`name must be a string of at most ${MAX_TEXT} characters`)
  return value
}

/** Milliseconds since the epoch. */
export function time (value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw badRecord(`${what} must be a non-negative integer (ms)`)
  return value
}

export function role (value: unknown): OrderRole {
  if (!ROLES.includes(value as OrderRole)) throw badRecord("role must be 'principal' or 'fiduciary'")
  return value as OrderRole
}

/** A string-to-string map; undefined is `{}`. Returns a copy. */
export function extension (value: unknown): Record<string, string> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRecord('extension must be a string map')
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw badRecord(`extension.${k} must be a string`)
    out[k] = v
  }
  return out
}

/** Bytes framed as a sealed custody record (src/core/sealed-record.ts), with the key id they name. */
export function sealedBytes (value: unknown, what: string): { sealed: Uint8Array, keyId: string } {
  if (!(value instanceof Uint8Array)) throw badRecord(`${what} must be bytes`)
  try {
    return { sealed: value, keyId: sealedRecordKeyId(value) }
  } catch {
    throw badRecord(`${what} is not a sealed custody record`)
  }
}

/** `page` ≥ 1, `perPage` 1..MAX_PER_PAGE, a known `sortBy`: as LIMIT/OFFSET and a direction. */
export function pageArgs (page: { page: number, perPage: number, sortBy?: unknown }): { limit: number, offset: number, desc: boolean } {
  const ok = Number.isSafeInteger(page.page) && page.page >= 1 &&
    Number.isSafeInteger(page.perPage) && page.perPage >= 1 && page.perPage <= MAX_PER_PAGE
  if (!ok) throw new DtaError('STATE_BAD_PAGE')
  if (page.sortBy !== undefined && !SORT_BY_VALUES.includes(page.sortBy as never)) {
    throw new DtaError('STATE_BAD_PAGE', `sortBy must be one of ${SORT_BY_VALUES.join(', ')}`)
  }
  return { limit: page.perPage, offset: (page.page - 1) * page.perPage, desc: page.sortBy === 'dateCreatedDesc' }
}

/** `pageArgs` of an order list, with the column it sorts by (`sortBy` is `created`) and its filter. */
export function orderPageArgs (page: OrderPageRequest): { limit: number, offset: number, desc: boolean, key: OrderSortKey, cid: string | null } {
  const cid = page.cid === undefined ? null : text(page.cid, 'cid')
  if (page.orderBy === undefined) return { ...pageArgs(page), key: 'created', cid }
  const { key, direction } = page.orderBy as { key: unknown, direction: unknown }
  if (!ORDER_SORT_KEYS.includes(key as never)) throw new DtaError('STATE_BAD_PAGE', `orderBy.key must be one of ${ORDER_SORT_KEYS.join(', ')}`)
  if (!SORT_DIRECTIONS.includes(direction as never)) throw new DtaError('STATE_BAD_PAGE', `orderBy.direction must be ${SORT_DIRECTIONS.join(' or ')}`)
  return { ...pageArgs({ page: page.page, perPage: page.perPage }), desc: direction === 'desc', key: key as OrderSortKey, cid }
}

/** The keyset cursor of `listSeeds`: a record id, '' (before every id) when absent. */
export function seedCursor (after: unknown): string {
  const cursor = after ?? ''
  if (typeof cursor !== 'string') throw badRecord('after must be a record id')
  return cursor
}

/** The keyset cursor of `listSealedPluginValues`: a (plugin, key) pair, ('', '') when absent. */
export function pluginValueCursor (after: { plugin: string, key: string } | undefined): { plugin: string, key: string } {
  const cursor = after ?? { plugin: '', key: '' }
  if (typeof cursor.plugin !== 'string' || typeof cursor.key !== 'string') throw badRecord('after must be a plugin and a key')
  return cursor
}

export function pluginName (value: unknown): string {
  if (typeof value !== 'string' || !PLUGIN_NAME.test(value)) throw badRecord('plugin name must be 1..64 characters of [a-z0-9_-]')
  return value
}

export function pluginKey (value: unknown): string {
  return text(value, 'plugin store key', MAX_PLUGIN_KEY)
}

/** Bytes or a string of at most MAX_PLUGIN_VALUE bytes. */
export function pluginValue (value: unknown): Uint8Array | string {
  const size = typeof value === 'string' ? Buffer.byteLength(value) : value instanceof Uint8Array ? value.length : -1
  if (size < 0) throw badRecord('plugin store value must be bytes or a string')
  if (size > MAX_PLUGIN_VALUE) throw badRecord(`plugin store value must be at most ${MAX_PLUGIN_VALUE} bytes`)
  return value as Uint8Array | string
}

export function auditOp (value: unknown): AuditOp {
  if (!AUDIT_OPS.includes(value as AuditOp)) throw badRecord(`audit op must be one of ${AUDIT_OPS.join(', ')}`)
  return value as AuditOp
}

/** An audit entry's detail: absent (null) or 1..MAX_DETAIL characters. */
export function auditDetail (value: unknown): string | null {
  return value === undefined ? null : text(value, 'detail', MAX_DETAIL)
}

/** The record a new order row will hold: every field of `o` checked, parts 3 and 4 empty, times from `now`. */
export function newOrderRecord (o: NewOrder, seedRecordId: string | null, now: number): OrderRecord {
  return {
    role: role(o.role),
    reference: text(o.reference, 'reference'),
    plugin: text(o.plugin, 'plugin'),
    principalCid: text(o.principalCid, 'principalCid'),
    fiduciaryCid: text(o.fiduciaryCid, 'fiduciaryCid'),
    beneficiaryCid: optText(o.beneficiaryCid, 'beneficiaryCid'),
    part1Cid: optText(o.part1Cid, 'part1Cid'),
    part2Cid: optText(o.part2Cid, 'part2Cid'),
    part3Cid: null,
    part4Cid: null,
    commitment: optText(o.commitment, 'commitment'),
    extension: extension(o.extension),
    seedRecordId,
    createdAt: o.createdAt === undefined ? now : time(o.createdAt, 'createdAt'),
    updatedAt: now,
    releasedTo: null
  }
}
