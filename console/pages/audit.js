// The custody audit trail, oldest first as the node keeps it, a page at a time, filtered by
// operation. Read-only: the API has no way to change it.
import { html } from '../lib/html.js'
import { api, query } from '../lib/api.js'
import { AUDIT_OPS } from '../lib/audit-ops.js'
import { formatTime } from '../lib/format.js'
import { navigate } from '../lib/router.js'
import { ErrorNote, Loading, PageTitle, Pager, useLoad } from '../components/common.js'

const PER_PAGE = 20

export function AuditPage ({ params }) {
  const page = Math.max(0, Number(params.get('page') ?? 0) || 0)
  const op = AUDIT_OPS.includes(params.get('op')) ? params.get('op') : ''
  const { data, error } = useLoad(() => api.get(`v1/audit${query({ page, perPage: PER_PAGE, op })}`), [page, op])
  const list = data?.auditList
  return html`<section>
    <${PageTitle} title="Audit trail" />
    <div class="toolbar">
      <div class="field">
        <label for="audit-op">Operation</label>
        <select id="audit-op" value=${op} onChange=${(e) => navigate('audit', { op: e.currentTarget.value, page: 0 })}>
          <option value="">All operations</option>
          ${AUDIT_OPS.map(o => html`<option key=${o} value=${o}>${o}</option>`)}
        </select>
      </div>
    </div>
    <${ErrorNote} error=${error} what="The audit trail could not be read" />
    ${list === undefined
      ? (error === null ? html`<${Loading} what="Loading the audit trail" />` : null)
      : html`<table class="list audit">
          <caption>${op === '' ? 'Every operation' : op}, oldest first: ${data.total} entr${data.total === 1 ? 'y' : 'ies'}</caption>
          <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Operation</th><th scope="col">Reference</th><th scope="col">Actor</th><th scope="col">Detail</th></tr></thead>
          <tbody>${list.length === 0
            ? html`<tr><td colspan="6" class="muted">No entries on this page.</td></tr>`
            : list.map(e => html`<tr key=${e.id}>
                <td data-label="#">${e.id}</td>
                <td data-label="When">${formatTime(e.at)}</td>
                <td data-label="Operation"><code>${e.op}</code></td>
                <td data-label="Reference"><code class="wrap">${e.reference ?? '—'}</code></td>
                <td data-label="Actor"><code class="wrap">${e.actor ?? '—'}</code></td>
                <td data-label="Detail" class="wrap">${e.detail ?? ''}</td>
              </tr>`)}</tbody>
        </table>
        <${Pager} page=${page} perPage=${PER_PAGE} count=${list.length} total=${data.total} onPage=${(p) => navigate('audit', { op, page: p })} label="Audit pages" />`}
  </section>`
}
