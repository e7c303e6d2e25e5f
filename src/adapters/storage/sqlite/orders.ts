/**
 * Orders in SQLite, one row per (role, reference); a `multi` node holds both rows of a reference.
 * The parts are write-once or replaced only as the port says (src/ports/state.ts); each setter
 * reads the row, checks, and updates it inside one `BEGIN IMMEDIATE` transaction.
 *
 * Two writes carry the protocol's guarantees (PROTOCOL §6):
 * - `createFiduciaryOrder` stores the row, its sealed seed and `seed.created` in one durable
 *   transaction, so a commitment is never handed out for a seed that could be lost;
 * - `claimRelease` is the release decision made by the database write itself: one conditional
 *   UPDATE that succeeds only if the order was never released or was released to the same
 *   recipient, so of two concurrent part 3s naming different recipients exactly one proceeds to
 *   part 4. A trigger (migrations.ts, version 2) refuses any later change of `released_to`;
 * - on a fiduciary row part 4 is written once per part 3: a twin request's part 4 leaves the
 *   first in place, and the twin gets the stored row back to answer with.
 * @module
 */
import type { AbortOptions, Extension } from '../../../ports/common.ts'
import { DtaError } from '../../../errors.ts'
import { orderSeedRecordId } from '../../../ports/state.ts'
import type { NewFiduciaryOrder, NewOrder, OrderFilter, OrderPageRequest, OrderRecord, OrderRepository, OrderRole } from '../../../ports/state.ts'
import { badRecord, extension, MAX_COMMITMENT, newOrderRecord, optText, orderPageArgs, role, sealedBytes, text } from '../validate.ts'
import { orderBySql, orderFilterSql } from '../order-list.ts'
import type { SqlDialect } from '../order-list.ts'
import { writeAudit } from './audit.ts'
import type { SqliteConnection } from './connection.ts'
import { ORDER_COLUMNS, toOrder } from './rows.ts'
import type { Row } from './rows.ts'
import { insertSeed } from './seeds.ts'

const SQLITE: SqlDialect = { bytes: '', param: () => '?' }

type OrderUpdate = Partial<Record<'part2_cid' | 'commitment' | 'beneficiary_cid' | 'part3_cid' | 'part4_cid' | 'extension' | 'released_to', string | null>>

function getOrder (conn: SqliteConnection, r: OrderRole, reference: string): OrderRecord | undefined {
  const row = conn.stmt(`SELECT ${ORDER_COLUMNS} FROM orders WHERE role = ? AND reference = ?`).get(r, reference)
  return row === undefined ? undefined : toOrder(row as Row)
}

function mustGetOrder (conn: SqliteConnection, r: OrderRole, reference: string): OrderRecord {
  const order = getOrder(conn, r, reference)
  if (order === undefined) throw new DtaError('STATE_ORDER_NOT_FOUND', `${r} ${reference}`)
  return order
}

function insertOrder (conn: SqliteConnection, o: NewOrder, seedRecordId: string | null): OrderRecord {
  const record = newOrderRecord(o, seedRecordId, conn.now())
  conn.stmt(`INSERT INTO orders (${ORDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    record.role, record.reference, record.plugin, record.principalCid, record.fiduciaryCid, record.beneficiaryCid,
    record.part1Cid, record.part2Cid, null, null, record.commitment, JSON.stringify(record.extension),
    seedRecordId, record.createdAt, record.updatedAt, null)
  return record
}

function update (conn: SqliteConnection, r: OrderRole, reference: string, set: OrderUpdate): void {
  const columns = Object.keys(set).sort()
  const sql = `UPDATE orders SET ${columns.map(c => `${c} = ?`).join(', ')}, updated_at = ? WHERE role = ? AND reference = ?`
  conn.stmt(sql).run(...columns.map(c => set[c as keyof typeof set] ?? null), conn.now(), r, reference)
}

/** The stored extension with `ext`'s keys merged in (new keys win), as JSON; undefined when there is nothing to merge. */
function mergedExtension (order: OrderRecord, ext: Extension | undefined): string | undefined {
  return ext === undefined ? undefined : JSON.stringify({ ...order.extension, ...extension(ext) })
}

export function createOrderRepository (conn: SqliteConnection): OrderRepository {
  return {
    async createOrder (order: NewOrder, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, db => {
        const r = role(order.role)
        const reference = text(order.reference, 'reference')
        const principalCid = text(order.principalCid, 'principalCid')
        const seed = order.sealedSeed === undefined ? null : sealedBytes(order.sealedSeed, 'sealedSeed')
        if (r === 'fiduciary' && seed === null) throw badRecord('a fiduciary order needs its sealed seed')
        return conn.tx(db, () => {
          if (getOrder(conn, r, reference) !== undefined) throw new DtaError('STATE_ORDER_EXISTS', `${r} ${reference}`)
          let recordId: string | null = null
          if (seed !== null) {
            recordId = orderSeedRecordId(r, reference)
            insertSeed(conn, recordId, seed, principalCid)
          }
          return insertOrder(conn, order, recordId)
        })
      })
    },

    async createFiduciaryOrder (order: NewFiduciaryOrder, options?: AbortOptions): Promise<{ order: OrderRecord, created: boolean }> {
      return await conn.run(options, db => {
        const reference = text(order.reference, 'reference')
        const part1Cid = text(order.part1Cid, 'part1Cid')
        const principalCid = text(order.principalCid, 'principalCid')
        const seed = sealedBytes(order.sealedSeed, 'sealedSeed')
        return conn.tx(db, () => {
          const existing = getOrder(conn, 'fiduciary', reference)
          if (existing !== undefined) {
            if (existing.part1Cid === part1Cid) return { order: existing, created: false }
            throw new DtaError('STATE_ORDER_CONFLICT', reference)
          }
          const recordId = orderSeedRecordId('fiduciary', reference)
          insertSeed(conn, recordId, seed, principalCid)
          return { order: insertOrder(conn, { ...order, role: 'fiduciary' }, recordId), created: true }
        })
      })
    },

    async getOrder (r: OrderRole, reference: string, options?: AbortOptions): Promise<OrderRecord | undefined> {
      return await conn.run(options, () => getOrder(conn, role(r), reference))
    },

    async setOrderPart2 (r: OrderRole, reference: string, part: { part2Cid: string, commitment: string, extension?: Extension }, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, db => {
        role(r)
        const part2Cid = text(part.part2Cid, 'part2Cid')
        const commitment = text(part.commitment, 'commitment', MAX_COMMITMENT)
        return conn.tx(db, () => {
          const order = mustGetOrder(conn, r, reference)
          if (order.part2Cid !== null) {
            if (order.part2Cid === part2Cid && order.commitment === commitment) return order
            throw new DtaError('STATE_ORDER_CONFLICT', `${r} ${reference}: part 2 is already recorded`)
          }
          const ext = mergedExtension(order, part.extension)
          update(conn, r, reference, { part2_cid: part2Cid, commitment, ...(ext === undefined ? {} : { extension: ext }) })
          return mustGetOrder(conn, r, reference)
        })
      })
    },

    async setOrderPart3 (r: OrderRole, reference: string, part: { part3Cid: string, beneficiaryCid?: string | null, extension?: Extension }, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, db => {
        role(r)
        const part3Cid = text(part.part3Cid, 'part3Cid')
        const beneficiaryCid = optText(part.beneficiaryCid, 'beneficiaryCid')
        return conn.tx(db, () => {
          const order = mustGetOrder(conn, r, reference)
          if (order.part2Cid === null) throw new DtaError('STATE_ORDER_PART_MISSING', `${r} ${reference}: no part 2`)
          const ext = mergedExtension(order, part.extension)
          update(conn, r, reference, {
            part3_cid: part3Cid,
            ...(order.part3Cid !== part3Cid ? { part4_cid: null } : {}),
            ...(beneficiaryCid !== null ? { beneficiary_cid: beneficiaryCid } : {}),
            ...(ext === undefined ? {} : { extension: ext })
          })
          return mustGetOrder(conn, r, reference)
        })
      })
    },

    async claimRelease (reference: string, claim: { part3Cid: string, beneficiaryCid?: string | null, releasedTo: string }, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, db => {
        const part3Cid = text(claim.part3Cid, 'part3Cid')
        const beneficiaryCid = optText(claim.beneficiaryCid, 'beneficiaryCid')
        const releasedTo = text(claim.releasedTo, 'releasedTo')
        return conn.tx(db, () => {
          const order = mustGetOrder(conn, 'fiduciary', reference)
          if (order.part2Cid === null) throw new DtaError('STATE_ORDER_PART_MISSING', `fiduciary ${reference}: no part 2`)
          // The decision is this conditional UPDATE: it changes the row only if no other recipient holds it.
          const sql = `UPDATE orders SET part3_cid = ?, part4_cid = CASE WHEN part3_cid IS ? THEN part4_cid ELSE NULL END,
            beneficiary_cid = coalesce(?, beneficiary_cid), released_to = ?, updated_at = ?
            WHERE role = 'fiduciary' AND reference = ? AND (released_to IS NULL OR released_to = ?)`
          const { changes } = conn.stmt(sql).run(part3Cid, part3Cid, beneficiaryCid, releasedTo, conn.now(), reference, releasedTo)
          if (changes === 0) throw new DtaError('ORDER_ALREADY_REDEEMED_ELSEWHERE', reference)
          return mustGetOrder(conn, 'fiduciary', reference)
        })
      })
    },

    async setOrderPart4 (r: OrderRole, reference: string, part: { part4Cid: string, part3Cid?: string, releasedTo?: string, extension?: Extension }, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, db => {
        role(r)
        const part4Cid = text(part.part4Cid, 'part4Cid')
        const releasedTo = optText(part.releasedTo, 'releasedTo')
        const part3Cid = optText(part.part3Cid, 'part3Cid')
        return conn.tx(db, () => {
          const order = mustGetOrder(conn, r, reference)
          if (order.part3Cid === null) throw new DtaError('STATE_ORDER_PART_MISSING', `${r} ${reference}: no part 3`)
          if (r === 'fiduciary') {
            if (releasedTo === null || order.releasedTo !== releasedTo) {
              throw new DtaError('ORDER_ALREADY_REDEEMED_ELSEWHERE', `${reference}: part 4 for a recipient the release was not claimed for`)
            }
            if (part3Cid === null) throw badRecord('part3Cid (the part 3 this part 4 answers) is required on a fiduciary row')
            if (order.part3Cid !== part3Cid) { // a newer part 3 of the same recipient took the row: released, not recorded
              writeAudit(conn, 'seed.released', order.seedRecordId, releasedTo, `part4 ${part4Cid}`)
              return order
            }
            if (order.part4Cid !== null) return order // this part 3 is answered already: the first part 4 stays
          }
          const ext = mergedExtension(order, part.extension)
          update(conn, r, reference, { part4_cid: part4Cid, ...(ext === undefined ? {} : { extension: ext }) })
          if (r === 'fiduciary') writeAudit(conn, 'seed.released', order.seedRecordId, releasedTo, `part4 ${part4Cid}`)
          return mustGetOrder(conn, r, reference)
        })
      })
    },

    async listOrders (r: OrderRole, page: OrderPageRequest, options?: AbortOptions): Promise<OrderRecord[]> {
      return await conn.run(options, () => {
        role(r)
        const { limit, offset, desc, key, cid } = orderPageArgs(page)
        const filter = orderFilterSql(cid, 2, SQLITE)
        return conn.stmt(`SELECT ${ORDER_COLUMNS} FROM orders WHERE role = ?${filter.sql} ORDER BY ${orderBySql(key, desc, SQLITE)} LIMIT ? OFFSET ?`)
          .all(r, ...filter.params, limit, offset).map(row => toOrder(row as Row))
      })
    },

    async countOrders (r: OrderRole, filter: OrderFilter = {}, options?: AbortOptions): Promise<number> {
      return await conn.run(options, () => {
        role(r)
        const where = orderFilterSql(filter.cid === undefined ? null : text(filter.cid, 'cid'), 2, SQLITE)
        return (conn.stmt(`SELECT count(*) AS n FROM orders WHERE role = ?${where.sql}`).get(r, ...where.params) as Row).n as number
      })
    }
  }
}
