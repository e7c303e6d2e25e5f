/**
 * Orders in PostgreSQL, one row per (role, reference); a `multi` node holds both rows of a
 * reference. Each setter takes the row with `SELECT … FOR UPDATE`, checks, and updates it in one
 * transaction, so replicas writing one order serialise on its row.
 *
 * The writes that carry the protocol's guarantees (PROTOCOL §6), across replicas as in one process:
 * - `createFiduciaryOrder` stores the row, its sealed seed and `seed.created` in one durable
 *   transaction; of two replicas given the same part 1 at once, the second waits on the
 *   reference's lock (connection.ts), then finds the first one's row;
 * - `claimRelease` is the release decision made by one conditional UPDATE on the locked row
 *   (a trigger refuses any later change of `released_to`, migrations.ts);
 * - on a fiduciary row, part 4 is written once per part 3: a second part 4 (a twin request on
 *   another replica) leaves the first in place and gets the stored row back.
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
import type { PgConnection, Q, Row } from './connection.ts'
import { ORDER_COLUMNS, toOrder } from './rows.ts'
import { insertSeed } from './seeds.ts'

const POSTGRES: SqlDialect = { bytes: ' COLLATE "C"', param: n => `$${n}` }

type OrderUpdate = Partial<Record<'part2_cid' | 'commitment' | 'beneficiary_cid' | 'part3_cid' | 'part4_cid' | 'extension', string | null>>

async function getOrder (q: Q, r: OrderRole, reference: string, lock = false): Promise<OrderRecord | undefined> {
  const [row] = await q.unsafe(`SELECT ${ORDER_COLUMNS} FROM orders WHERE role = $1 AND reference = $2${lock ? ' FOR UPDATE' : ''}`, [r, reference], { prepare: true })
  return row === undefined ? undefined : toOrder(row as Row)
}

async function lockOrder (q: Q, r: OrderRole, reference: string): Promise<OrderRecord> {
  const order = await getOrder(q, r, reference, true)
  if (order === undefined) throw new DtaError('STATE_ORDER_NOT_FOUND', `${r} ${reference}`)
  return order
}

async function insertOrder (conn: PgConnection, tx: Q, o: NewOrder, seedRecordId: string | null): Promise<OrderRecord> {
  const record = newOrderRecord(o, seedRecordId, conn.now())
  await tx`INSERT INTO orders (role, reference, plugin, principal_cid, fiduciary_cid, beneficiary_cid, part1_cid, part2_cid,
      commitment, extension, seed_record_id, created_at, updated_at)
    VALUES (${record.role}, ${record.reference}, ${record.plugin}, ${record.principalCid}, ${record.fiduciaryCid}, ${record.beneficiaryCid},
      ${record.part1Cid}, ${record.part2Cid}, ${record.commitment}, ${JSON.stringify(record.extension)}, ${seedRecordId}, ${record.createdAt}, ${record.updatedAt})`
  return record
}

async function update (conn: PgConnection, tx: Q, r: OrderRole, reference: string, set: OrderUpdate): Promise<OrderRecord> {
  const columns = Object.keys(set).sort() as Array<keyof OrderUpdate>
  const assignments = columns.map((c, i) => `${c} = $${i + 1}`).join(', ')
  const n = columns.length
  const [row] = await tx.unsafe(`UPDATE orders SET ${assignments}, updated_at = $${n + 1} WHERE role = $${n + 2} AND reference = $${n + 3} RETURNING ${ORDER_COLUMNS}`,
    [...columns.map(c => set[c] ?? null), conn.now(), r, reference], { prepare: true })
  return toOrder(row as Row)
}

/** The stored extension with `ext`'s keys merged in (new keys win), as JSON; undefined when there is nothing to merge. */
function mergedExtension (order: OrderRecord, ext: Extension | undefined): { extension: string } | undefined {
  return ext === undefined ? undefined : { extension: JSON.stringify({ ...order.extension, ...extension(ext) }) }
}

export function createOrderRepository (conn: PgConnection): OrderRepository {
  return {
    async createOrder (order: NewOrder, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, async q => {
        const r = role(order.role)
        const reference = text(order.reference, 'reference')
        const principalCid = text(order.principalCid, 'principalCid')
        const seed = order.sealedSeed === undefined ? null : sealedBytes(order.sealedSeed, 'sealedSeed')
        if (r === 'fiduciary' && seed === null) throw badRecord('a fiduciary order needs its sealed seed')
        return await conn.tx(q, async tx => {
          await conn.lock(tx, orderSeedRecordId(r, reference))
          if (await getOrder(tx, r, reference) !== undefined) throw new DtaError('STATE_ORDER_EXISTS', `${r} ${reference}`)
          let recordId: string | null = null
          if (seed !== null) {
            recordId = orderSeedRecordId(r, reference)
            await insertSeed(conn, tx, recordId, seed, principalCid)
          }
          return await insertOrder(conn, tx, order, recordId)
        })
      })
    },

    async createFiduciaryOrder (order: NewFiduciaryOrder, options?: AbortOptions): Promise<{ order: OrderRecord, created: boolean }> {
      return await conn.run(options, async q => {
        const reference = text(order.reference, 'reference')
        const part1Cid = text(order.part1Cid, 'part1Cid')
        const principalCid = text(order.principalCid, 'principalCid')
        const seed = sealedBytes(order.sealedSeed, 'sealedSeed')
        return await conn.tx(q, async tx => {
          await conn.lock(tx, orderSeedRecordId('fiduciary', reference))
          const existing = await getOrder(tx, 'fiduciary', reference)
          if (existing !== undefined) {
            if (existing.part1Cid === part1Cid) return { order: existing, created: false }
            throw new DtaError('STATE_ORDER_CONFLICT', reference)
          }
          const recordId = orderSeedRecordId('fiduciary', reference)
          await insertSeed(conn, tx, recordId, seed, principalCid)
          return { order: await insertOrder(conn, tx, { ...order, role: 'fiduciary' }, recordId), created: true }
        })
      })
    },

    async getOrder (r: OrderRole, reference: string, options?: AbortOptions): Promise<OrderRecord | undefined> {
      return await conn.run(options, async q => await getOrder(q, role(r), reference))
    },

    async setOrderPart2 (r: OrderRole, reference: string, part: { part2Cid: string, commitment: string, extension?: Extension }, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, async q => {
        role(r)
        const part2Cid = text(part.part2Cid, 'part2Cid')
        const commitment = text(part.commitment, 'commitment', MAX_COMMITMENT)
        return await conn.tx(q, async tx => {
          const order = await lockOrder(tx, r, reference)
          if (order.part2Cid !== null) {
            if (order.part2Cid === part2Cid && order.commitment === commitment) return order
            throw new DtaError('STATE_ORDER_CONFLICT', `${r} ${reference}: part 2 is already recorded`)
          }
          return await update(conn, tx, r, reference, { part2_cid: part2Cid, commitment, ...mergedExtension(order, part.extension) })
        })
      })
    },

    async setOrderPart3 (r: OrderRole, reference: string, part: { part3Cid: string, beneficiaryCid?: string | null, extension?: Extension }, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, async q => {
        role(r)
        const part3Cid = text(part.part3Cid, 'part3Cid')
        const beneficiaryCid = optText(part.beneficiaryCid, 'beneficiaryCid')
        return await conn.tx(q, async tx => {
          const order = await lockOrder(tx, r, reference)
          if (order.part2Cid === null) throw new DtaError('STATE_ORDER_PART_MISSING', `${r} ${reference}: no part 2`)
          return await update(conn, tx, r, reference, {
            part3_cid: part3Cid,
            ...(order.part3Cid !== part3Cid ? { part4_cid: null } : {}),
            ...(beneficiaryCid !== null ? { beneficiary_cid: beneficiaryCid } : {}),
            ...mergedExtension(order, part.extension)
          })
        })
      })
    },

    async claimRelease (reference: string, claim: { part3Cid: string, beneficiaryCid?: string | null, releasedTo: string }, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, async q => {
        const part3Cid = text(claim.part3Cid, 'part3Cid')
        const beneficiaryCid = optText(claim.beneficiaryCid, 'beneficiaryCid')
        const releasedTo = text(claim.releasedTo, 'releasedTo')
        return await conn.tx(q, async tx => {
          const order = await lockOrder(tx, 'fiduciary', reference)
          if (order.part2Cid === null) throw new DtaError('STATE_ORDER_PART_MISSING', `fiduciary ${reference}: no part 2`)
          // The decision is this conditional UPDATE: it changes the row only if no other recipient holds it.
          const [row] = await tx.unsafe(`UPDATE orders SET part3_cid = $1,
              part4_cid = CASE WHEN part3_cid IS NOT DISTINCT FROM $1 THEN part4_cid ELSE NULL END,
              beneficiary_cid = coalesce($2, beneficiary_cid), released_to = $3, updated_at = $4
            WHERE role = 'fiduciary' AND reference = $5 AND (released_to IS NULL OR released_to = $3)
            RETURNING ${ORDER_COLUMNS}`, [part3Cid, beneficiaryCid, releasedTo, conn.now(), reference], { prepare: true })
          if (row === undefined) throw new DtaError('ORDER_ALREADY_REDEEMED_ELSEWHERE', reference)
          return toOrder(row as Row)
        })
      })
    },

    async setOrderPart4 (r: OrderRole, reference: string, part: { part4Cid: string, part3Cid?: string, releasedTo?: string, extension?: Extension }, options?: AbortOptions): Promise<OrderRecord> {
      return await conn.run(options, async q => {
        role(r)
        const part4Cid = text(part.part4Cid, 'part4Cid')
        const releasedTo = optText(part.releasedTo, 'releasedTo')
        const part3Cid = optText(part.part3Cid, 'part3Cid')
        return await conn.tx(q, async tx => {
          const order = await lockOrder(tx, r, reference)
          if (order.part3Cid === null) throw new DtaError('STATE_ORDER_PART_MISSING', `${r} ${reference}: no part 3`)
          if (r === 'fiduciary') {
            if (releasedTo === null || order.releasedTo !== releasedTo) {
              throw new DtaError('ORDER_ALREADY_REDEEMED_ELSEWHERE', `${reference}: part 4 for a recipient the release was not claimed for`)
            }
            if (part3Cid === null) throw badRecord('part3Cid (the part 3 this part 4 answers) is required on a fiduciary row')
            if (order.part3Cid !== part3Cid) { // a newer part 3 of the same recipient took the row: released, not recorded
              await writeAudit(conn, tx, 'seed.released', order.seedRecordId, releasedTo, `part4 ${part4Cid}`)
              return order
            }
            if (order.part4Cid !== null) return order // this part 3 is answered already: the first part 4 stays
          }
          const updated = await update(conn, tx, r, reference, { part4_cid: part4Cid, ...mergedExtension(order, part.extension) })
          if (r === 'fiduciary') await writeAudit(conn, tx, 'seed.released', order.seedRecordId, releasedTo, `part4 ${part4Cid}`)
          return updated
        })
      })
    },

    async listOrders (r: OrderRole, page: OrderPageRequest, options?: AbortOptions): Promise<OrderRecord[]> {
      return await conn.run(options, async q => {
        role(r)
        const { limit, offset, desc, key, cid } = orderPageArgs(page)
        const filter = orderFilterSql(cid, 2, POSTGRES)
        const n = 2 + filter.params.length
        const rows = await q.unsafe(`SELECT ${ORDER_COLUMNS} FROM orders WHERE role = $1${filter.sql} ORDER BY ${orderBySql(key, desc, POSTGRES)} LIMIT $${n} OFFSET $${n + 1}`,
          [r, ...filter.params, limit, offset], { prepare: true })
        return rows.map(row => toOrder(row as Row))
      })
    },

    async countOrders (r: OrderRole, filter: OrderFilter = {}, options?: AbortOptions): Promise<number> {
      return await conn.run(options, async q => {
        role(r)
        const where = orderFilterSql(filter.cid === undefined ? null : text(filter.cid, 'cid'), 2, POSTGRES)
        const [row] = await q.unsafe(`SELECT count(*) AS n FROM orders WHERE role = $1${where.sql}`, [r, ...where.params], { prepare: true })
        return (row as Row).n as number
      })
    }
  }
}
