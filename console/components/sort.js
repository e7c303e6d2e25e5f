// The sort controls of a table whose rows the node sorts (GET /v1/order/summaries?sort=&direction=):
// each column header is a button that sorts by it (a second press reverses), its <th> carrying
// aria-sort; on a narrow screen, where the table becomes cards and has no header row, a Sort menu
// offers the same orders. Both are native controls, so Tab, Enter and Space work as anywhere.
import { html } from '../lib/html.js'

/** The Orders table's columns: the API's sort keys, the direction a first press gives, and each order in words. */
export const ORDER_COLUMNS = [
  { key: 'reference', label: 'Reference', first: 'asc', asc: 'reference ascending', desc: 'reference descending' },
  { key: 'created', label: 'Created', first: 'desc', asc: 'oldest first', desc: 'newest first' },
  { key: 'plugin', label: 'Plugin', first: 'asc', asc: 'plugin A to Z', desc: 'plugin Z to A' },
  { key: 'beneficiary', label: 'Beneficiary', first: 'asc', asc: 'beneficiary A to Z, none first', desc: 'beneficiary Z to A, none last' },
  { key: 'state', label: 'State', first: 'asc', asc: 'state: ordered, redeemed, released', desc: 'state: released, redeemed, ordered' },
]

const DEFAULT = { key: 'created', dir: 'desc' }

/** The sort a route asks for (`sort`, `dir`), the default (newest first) when it names none the node knows. */
export function sortOf (params, columns = ORDER_COLUMNS) {
  const column = columns.find(c => c.key === params.get('sort'))
  if (column === undefined) return DEFAULT
  const dir = params.get('dir')
  return { key: column.key, dir: dir === 'asc' || dir === 'desc' ? dir : column.first }
}

/** "newest first", "plugin A to Z": the sort in words, for captions and announcements. */
export function sortWords (sort, columns = ORDER_COLUMNS) {
  return columns.find(c => c.key === sort.key)?.[sort.dir] ?? ''
}

/** What pressing a column's header does: reverse the column sorted by, else sort by it in its first direction. */
export function nextSort (sort, column) {
  return sort.key === column.key ? { key: column.key, dir: sort.dir === 'asc' ? 'desc' : 'asc' } : { key: column.key, dir: column.first }
}

/** A column header that sorts: `aria-sort` on the column sorted by only; the button says what it would do. */
export function SortHeader ({ column, sort, onSort }) {
  const active = sort.key === column.key
  const next = nextSort(sort, column)
  return html`<th scope="col" aria-sort=${active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
    <button type="button" class="sort" aria-label=${`${column.label}, sort ${sortWords(next)}`} onClick=${() => onSort(next)}>
      ${column.label} <span aria-hidden="true" class=${active ? 'sort-mark active' : 'sort-mark'}>${active ? (sort.dir === 'asc' ? '▲' : '▼') : '↕'}</span>
    </button>
  </th>`
}

/** The Sort menu of the narrow layout: every column in both directions. */
export function SortMenu ({ id, sort, onSort, columns = ORDER_COLUMNS }) {
  const onChange = (e) => {
    const [key, dir] = e.currentTarget.value.split(':')
    onSort({ key, dir })
  }
  return html`<div class="field narrow-only">
    <label for=${id}>Sort</label>
    <select id=${id} value=${`${sort.key}:${sort.dir}`} onChange=${onChange}>
      ${columns.flatMap(c => [c.first, c.first === 'asc' ? 'desc' : 'asc'].map(dir => html`<option value=${`${c.key}:${dir}`}>${capital(c[dir])}</option>`))}
    </select>
  </div>`
}

function capital (text) {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
