/**
 * How client answers read as text (`--json` prints the API's JSON untouched instead): times in
 * UTC as ISO 8601 to the second (`2026-12-02T05:11:46Z`) — the API gives Unix seconds, and the
 * audit trail milliseconds —, aligned columns for lists, and an order document (the original
 * D-TA's shape plus our `chain`, `parts`, `plugin`) told as created / plugin / state / parties.
 * @module
 */
import type { Payload } from './api.ts'

/** `2026-12-02T05:11:46Z` for a time in Unix seconds (`unit` 's') or milliseconds ('ms'); '-' when absent. */
export function utc (value: unknown, unit: 's' | 'ms'): string {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN
  if (!Number.isFinite(n) || n <= 0) return typeof value === 'string' && value !== '' ? value : '-'
  return `${new Date(unit === 's' ? n * 1000 : n).toISOString().slice(0, 19)}Z`
}

function show (value: unknown): string {
  if (value === null || value === undefined || value === '') return '-'
  if (typeof value === 'string') return value
  if (Array.isArray(value) && value.every(v => typeof v === 'string')) return value.length === 0 ? '-' : value.join(', ')
  return JSON.stringify(value)
}

/** `key: value` lines; the keys in `times` are shown in UTC. */
export function fields (payload: Payload, times: Record<string, 's' | 'ms'> = {}): string {
  return Object.entries(payload).map(([k, v]) => `${k}: ${k in times ? utc(v, times[k]) : show(v)}`).join('\n')
}

/** Rows as columns two spaces apart; the last column is not padded. */
export function table (rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length) })
  return rows.map(row => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n')
}

/** A shell word: quoted when it has anything a shell would split or expand. */
export function shellWord (word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

// ── orders ─────────────────────────────────────────────────────────────────────────────────────

type Doc = Record<string, any>

/** The identity part 4 is (or will be) released to: a beneficiary named at redemption or order time, else the principal. */
export function entitled (doc: Doc): string {
  return String(doc.redemptionBeneficiaryCID || doc.BeneficiaryCID || doc.PrincipalCID || '')
}

/**
 * ordered | redeemed (released to this node's principal identity) |
 * released to CID (held on this node) | released to CID (on another node: it redeems there).
 */
export function orderState (doc: Doc): string {
  const chain = doc.chain as Record<string, string | null> | undefined
  if (chain?.orderPart4CID == null) return chain?.orderPart3CID == null ? 'ordered' : 'redemption started'
  const to = entitled(doc)
  if (to === doc.PrincipalCID) return 'redeemed'
  return `released to ${to} (${doc.OrderPart4 === undefined ? 'on another node: it redeems there' : 'held on this node'})`
}

/** The order document of GET /v1/order/{ref} (its `order` string) as text. */
export function describeOrder (answer: Payload): string {
  const doc = JSON.parse(String(answer.order)) as Doc
  const chain = (doc.chain ?? {}) as Record<string, string | null>
  const times = [doc.Timestamp, doc.OrderPart2?.Timestamp, doc.OrderPart3?.Timestamp, doc.OrderPart4?.Timestamp]
  const beneficiary = doc.BeneficiaryCID !== '' && doc.BeneficiaryCID !== undefined
    ? `${String(doc.BeneficiaryCID)} (named at order time)`
    : doc.redemptionBeneficiaryCID !== '' && doc.redemptionBeneficiaryCID !== undefined ? `${String(doc.redemptionBeneficiaryCID)} (named at redemption)` : '-'
  const rows: string[][] = [
    ['order', String(doc.Reference)],
    ['created', utc(doc.Timestamp, 's')],
    ['plugin', String(doc.plugin ?? '-')],
    ['state', orderState(doc)],
    ['principal', String(doc.PrincipalCID ?? '-')],
    ['fiduciary', String(doc.fiduciaryCID ?? '-')],
    ['beneficiary', beneficiary],
    ['commitment', show(doc.commitment)],
    ['extension', show(doc.extension)],
  ]
  if (doc.OrderPart2?.Extension !== undefined && Object.keys(doc.OrderPart2.Extension).length > 0) rows.push(['fiduciary extension', show(doc.OrderPart2.Extension)])
  if (doc.OrderPart4?.Secret !== undefined) rows.push(['secret', String(doc.OrderPart4.Secret)])
  if (doc.OrderPart4?.Extension !== undefined && Object.keys(doc.OrderPart4.Extension).length > 0) rows.push(['release extension', show(doc.OrderPart4.Extension)])
  const parts = (doc.parts ?? []) as Array<{ cid: string, signerCID: string, recipients: string[] }>
  const partRows = ([1, 2, 3, 4] as const).flatMap(n => {
    const cid = chain[`orderPart${n}CID`]
    if (cid == null) return []
    const part = parts.find(p => p.cid === cid)
    return [[`  part ${n}`, cid, utc(times[n - 1], 's'), part === undefined ? '' : `signed by ${part.signerCID}, for ${part.recipients.join(', ')}`]]
  })
  return `${table(rows)}\nparts (created UTC, signer, recipients):\n${table(partRows)}\nnewest part readable here: ${String(answer.orderCID)}`
}
