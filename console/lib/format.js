// Small formatting helpers: times in UTC (the same on every screen and in screenshots), short CIDs.

const pad = (n) => String(n).padStart(2, '0')

/** ms since the epoch → "2025-01-31 14:05:09 UTC". */
export function formatTime (ms) {
  if (ms === null || ms === undefined) return '—'
  const d = new Date(ms)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`
}

/** "QmAbcdef…wxyz": enough to tell CIDs apart on screen; the full value is always one click away. */
export function shortCid (cid) {
  if (typeof cid !== 'string' || cid.length <= 16) return cid ?? '—'
  return `${cid.slice(0, 8)}…${cid.slice(-6)}`
}

export const NODE_TYPES = { multi: 'multi (principal and fiduciary)', principal: 'principal', fiduciary: 'fiduciary' }

/** Whether the node places and redeems orders (principal and multi nodes). */
export function ordersOn (node) {
  return node !== null && node.nodeType !== 'fiduciary'
}
