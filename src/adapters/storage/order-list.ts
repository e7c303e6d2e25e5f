/**
 * The SQL of an order list for every SQL backend (SQLite and PostgreSQL write it the same way):
 * the filter by part or beneficiary CID and the ORDER BY of each sort column of the port
 * (src/ports/state.ts `OrderSortKey`). One place, so both backends answer the same rows in the
 * same order — test/conformance/state.ts checks it against an order computed in the test.
 *
 * What differs is spelled by the dialect: the placeholder (`?` or `$n`) and the collation that
 * gives byte order of the text (SQLite compares TEXT as BINARY by default; PostgreSQL needs
 * `COLLATE "C"`, else the database's locale would order `Qmb…` and `QmB…` its own way). NULL
 * beneficiaries are placed explicitly (first ascending, last descending), as the backends' own
 * defaults differ. The indexes that serve these orders are migrations 5 (SQLite) and 3
 * (PostgreSQL); `state` is computed per row (a lookup of the entitled recipient in
 * `identities`) and has none.
 * @module
 */
import type { OrderSortKey } from '../../ports/state.ts'

export interface SqlDialect {
  /** The collation clause that gives byte order of UTF-8 text: '' for SQLite, ' COLLATE "C"' for PostgreSQL. */
  readonly bytes: string
  /** The placeholder of the `n`-th (1-based) parameter. */
  param (n: number): string
}

/** 0 ordered, 1 redeemed (part 4 to an identity held here), 2 released: the port's `state` order. */
const STATE_RANK = `CASE WHEN orders.part4_cid IS NULL THEN 0
  WHEN EXISTS (SELECT 1 FROM identities i WHERE i.cid = coalesce(orders.beneficiary_cid, orders.principal_cid) AND i.seed_record_id IS NOT NULL) THEN 1
  ELSE 2 END`

/** The ORDER BY list (without the keywords) of `key` in one direction; every key ends in a unique column, so the order is total. */
export function orderBySql (key: OrderSortKey, desc: boolean, d: SqlDialect): string {
  const dir = desc ? 'DESC' : 'ASC'
  const reference = `reference${d.bytes} ${dir}`
  switch (key) {
    case 'created': return `created_at ${dir}, seq ${dir}`
    case 'reference': return reference
    case 'plugin': return `plugin${d.bytes} ${dir}, ${reference}`
    case 'beneficiary': return `beneficiary_cid${d.bytes} ${dir} NULLS ${desc ? 'LAST' : 'FIRST'}, ${reference}`
    case 'state': return `${STATE_RANK} ${dir}, ${reference}`
  }
}

/**
 * The condition (to AND after `role = …`) of the filter by CID, with its parameters numbered from
 * `first`: the CID is a part of the order or its beneficiary. '' and no parameter without a CID.
 */
export function orderFilterSql (cid: string | null, first: number, d: SqlDialect): { sql: string, params: string[] } {
  if (cid === null) return { sql: '', params: [] }
  const columns = [`beneficiary_cid${d.bytes}`, 'part1_cid', 'part2_cid', 'part3_cid', 'part4_cid']
  return { sql: ` AND (${columns.map((c, i) => `${c} = ${d.param(first + i)}`).join(' OR ')})`, params: columns.map(() => cid) }
}
