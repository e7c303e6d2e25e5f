// The Orders view: a page of this node's orders, each with its state, sorted by any column (by the
// node: components/sort.js), and a search by order reference, by the CID of one of its parts or by
// the beneficiary's CID.
import { html, useState } from '../lib/html.js'
import { api, query } from '../lib/api.js'
import { formatTime } from '../lib/format.js'
import { href, navigate } from '../lib/router.js'
import { Cid, ErrorNote, Loading, PageTitle, Pager, useLoad } from '../components/common.js'
import { ORDER_COLUMNS, SortHeader, SortMenu, sortOf, sortWords } from '../components/sort.js'

const PER_PAGE = 10

function StateCell ({ order, nodeCID }) {
  if (order.state === 'ordered') return html`<span class="state ordered">ordered</span>`
  const to = order.releasedTo === nodeCID ? 'this node' : order.releasedTo === order.beneficiaryCID ? 'the beneficiary' : 'an identity held here'
  if (order.state === 'redeemed') return html`<span class="state redeemed">redeemed</span> <span class="muted">to ${to}</span>`
  return html`<span class="state released">released</span> <span class="muted">to the beneficiary</span> <${Cid} value=${order.releasedTo} label="recipient CID" />`
}

export function OrdersPage ({ node, params }) {
  const page = Math.max(0, Number(params.get('page') ?? 0) || 0)
  const sort = sortOf(params)
  const search = params.get('search') ?? ''
  const [text, setText] = useState(search)
  const { data, error } = useLoad(() => api.get(`v1/order/summaries${query({ page, perPage: PER_PAGE, sort: sort.key, direction: sort.dir, search })}`), [page, sort.key, sort.dir, search])
  const go = (changes) => navigate('orders', { page, sort: sort.key, dir: sort.dir, search, ...changes })
  const onSort = (next) => { go({ sort: next.key, dir: next.dir, page: 0 }) }
  const onSearch = (event) => {
    event.preventDefault()
    go({ search: text.trim(), page: 0 })
  }
  const count = (n) => `${n} order${n === 1 ? '' : 's'}`
  return html`<section>
    <${PageTitle} title="Orders" />
    <div class="toolbar">
      <form class="search" role="search" onSubmit=${onSearch}>
        <label for="order-search">Search by order reference, part CID or beneficiary CID</label>
        <div class="inline">
          <input id="order-search" type="search" value=${text} onInput=${(e) => setText(e.currentTarget.value)} spellcheck="false" autocomplete="off" />
          <button type="submit">Search</button>
          ${search === '' ? null : html`<button type="button" onClick=${() => { setText(''); go({ search: '', page: 0 }) }}>Clear</button>`}
        </div>
      </form>
      <${SortMenu} id="order-sort" sort=${sort} onSort=${onSort} />
      <a class="button primary" href=${href('orders', 'new')}>Place an order</a>
    </div>
    <${ErrorNote} error=${error} what="The orders could not be listed" />
    ${data === undefined
      ? (error === null ? html`<${Loading} what="Loading orders" />` : null)
      : html`
        <table class="list">
          <caption>${search === '' ? count(data.total) : `${count(data.total)} matching the search`}, ${sortWords(sort)}</caption>
          <thead><tr>
            ${ORDER_COLUMNS.map(column => html`<${SortHeader} key=${column.key} column=${column} sort=${sort} onSort=${onSort} />`)}
          </tr></thead>
          <tbody>
            ${data.orders.length === 0
              ? html`<tr><td colspan="5" class="muted">${search === '' ? 'No orders yet.' : 'No order has that reference, part CID or beneficiary.'}</td></tr>`
              : data.orders.map(o => html`<tr key=${o.orderReference}>
                  <td data-label="Reference"><a href=${href('order', o.orderReference)}><code>${o.orderReference}</code></a></td>
                  <td data-label="Created">${formatTime(o.createdAt * 1000)}</td>
                  <td data-label="Plugin">${o.plugin}</td>
                  <td data-label="Beneficiary">${o.beneficiaryCID === null ? html`<span class="muted">none</span>` : html`<${Cid} value=${o.beneficiaryCID} label="beneficiary CID" />`}</td>
                  <td data-label="State"><${StateCell} order=${o} nodeCID=${node.nodeCID} /></td>
                </tr>`)}
          </tbody>
        </table>
        ${search === '' || data.total > PER_PAGE ? html`<${Pager} page=${page} perPage=${PER_PAGE} count=${data.orders.length} total=${data.total} onPage=${(p) => go({ page: p })} label="Order pages" />` : null}`}
  </section>`
}
