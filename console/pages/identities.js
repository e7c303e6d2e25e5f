// The identities this node holds (their keys sealed by its custody), newest first, and — on
// principal and multi nodes — a form to create one.
import { html, useState } from '../lib/html.js'
import { api, query } from '../lib/api.js'
import { formatTime, ordersOn } from '../lib/format.js'
import { navigate } from '../lib/router.js'
import { Cid, ErrorNote, Field, Loading, PageTitle, Pager, announce, useLoad } from '../components/common.js'

const PER_PAGE = 10

function CreateIdentity ({ onCreated }) {
  const [name, setName] = useState('')
  const [error, setError] = useState(null)
  const [created, setCreated] = useState(null)
  const [busy, setBusy] = useState(false)
  const submit = async (event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const answer = await api.post('v1/identity', { name: name.trim() })
      setCreated(answer.idDocumentCID)
      setName('')
      announce('Identity created')
      onCreated()
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  return html`<section aria-labelledby="create-identity">
    <h2 id="create-identity">Create an identity</h2>
    <${ErrorNote} error=${error} what="The identity was not created" />
    ${created === null ? null : html`<p class="verdict ok" role="status">Created <${Cid} value=${created} label="new identity CID" full /></p>`}
    <form onSubmit=${submit} class="inline-form">
      <${Field} id="identity-name" label="Name" hint="A label for the identity (its authenticationReference), 1 to 256 characters." required value=${name} onInput=${setName} />
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Creating…' : 'Create'}</button>
    </form>
  </section>`
}

export function IdentitiesPage ({ node, params }) {
  const page = Math.max(0, Number(params.get('page') ?? 0) || 0)
  const { data, error, reload } = useLoad(() => api.get(`v1/identity${query({ page, perPage: PER_PAGE })}`), [page])
  const list = data?.idDocumentList
  return html`<section>
    <${PageTitle} title="Identities" />
    ${ordersOn(node) ? html`<${CreateIdentity} onCreated=${reload} />` : null}
    <h2>Held by this node</h2>
    <${ErrorNote} error=${error} what="The identities could not be listed" />
    ${list === undefined
      ? (error === null ? html`<${Loading} what="Loading identities" />` : null)
      : html`<table class="list">
          <caption>${data.total} identit${data.total === 1 ? 'y' : 'ies'} this node holds, newest first</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Identity CID</th><th scope="col">Created</th></tr></thead>
          <tbody>${list.length === 0
            ? html`<tr><td colspan="3" class="muted">None on this page.</td></tr>`
            : list.map(i => html`<tr key=${i.idDocumentCID}>
                <td data-label="Name">${i.authenticationReference}${i.idDocumentCID === node.nodeCID ? html` <span class="muted">(this node)</span>` : null}</td>
                <td data-label="Identity CID"><${Cid} value=${i.idDocumentCID} label="identity CID" full /></td>
                <td data-label="Created">${formatTime(i.timestamp * 1000)}</td>
              </tr>`)}</tbody>
        </table>
        <${Pager} page=${page} perPage=${PER_PAGE} count=${list.length} total=${data.total} onPage=${(p) => navigate('identities', { page: p })} label="Identity pages" />`}
  </section>`
}
