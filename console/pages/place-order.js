// Placing an order: an optional beneficiary and the plugin's own extension fields, as the node
// describes them (GET /v1/node → pluginDetails.extensionFields.order) — nothing here is written for
// one plugin. POST /v1/order; on success the new order opens.
import { html, useState } from '../lib/html.js'
import { api } from '../lib/api.js'
import { navigate } from '../lib/router.js'
import { ErrorNote, Field, PageTitle, announce, useLoad } from '../components/common.js'

/** The `extension` map to send: the fields the user filled in (an empty one is left out). */
export function extensionOf (fields, values) {
  const out = {}
  for (const f of fields) {
    const v = (values[f.name] ?? '').trim()
    if (v !== '') out[f.name] = v
  }
  return out
}

/** One labelled input per extension field of the plugin, its description as the hint. */
export function ExtensionInputs ({ prefix, fields, values, onChange }) {
  if (fields.length === 0) return null
  return html`<fieldset>
    <legend>Plugin fields</legend>
    ${fields.map(f => html`<${Field} key=${f.name} id=${`${prefix}-ext-${f.name}`} label=${f.name} hint=${f.description} required=${f.required}
      placeholder=${f.example} value=${values[f.name] ?? ''} onInput=${(v) => onChange({ ...values, [f.name]: v })} />`)}
  </fieldset>`
}

export function PlaceOrderPage ({ node }) {
  const fields = node.pluginDetails.extensionFields.order
  const [beneficiary, setBeneficiary] = useState('')
  const [values, setValues] = useState({})
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const held = useLoad(() => api.get('v1/identity?perPage=100'), [])
  const submit = async (event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const body = { extension: extensionOf(fields, values) }
      if (beneficiary.trim() !== '') body.beneficiaryIDDocumentCID = beneficiary.trim()
      const answer = await api.post('v1/order', body)
      announce('Order placed')
      navigate('order', answer.orderReference)
    } catch (e) {
      setError(e)
      setBusy(false)
    }
  }
  const identities = held.data?.idDocumentList ?? []
  return html`<section>
    <${PageTitle} title="Place an order" />
    <p>The fiduciary generates and safeguards a secret for this order and answers its commitment. Plugin: <strong>${node.pluginDetails.name}</strong>${node.pluginDetails.description === '' ? '' : ` — ${node.pluginDetails.description}`}</p>
    <${ErrorNote} error=${error} what="The order was refused" />
    <form onSubmit=${submit}>
      <${Field} id="order-beneficiary" label="Beneficiary identity CID" list="held-identities" value=${beneficiary} onInput=${setBeneficiary}
        hint="Optional: the identity the secret will be released to. Leave empty to decide at redemption (or keep it for this node)." />
      <datalist id="held-identities">${identities.map(i => html`<option key=${i.idDocumentCID} value=${i.idDocumentCID}>${i.authenticationReference}</option>`)}</datalist>
      <${ExtensionInputs} prefix="order" fields=${fields} values=${values} onChange=${setValues} />
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Placing the order…' : 'Place the order'}</button>
    </form>
  </section>`
}
