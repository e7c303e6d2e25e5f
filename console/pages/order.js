// An order: its summary, its chain as this node verified it (components/chain.js), the plugin's
// extension fields, and — on an order whose part 4 this node can read — the secret, shown only
// after an explicit "Reveal" and dropped from the page (DOM and state) when hidden, after a minute,
// or when the tab is hidden. Unredeemed orders can be redeemed here.
import { html, useEffect, useRef, useState } from '../lib/html.js'
import { api, ApiError } from '../lib/api.js'
import { formatTime, ordersOn } from '../lib/format.js'
import { href } from '../lib/router.js'
import { Chain } from '../components/chain.js'
import { Cid, ErrorNote, Field, Loading, PageTitle, announce, useLoad } from '../components/common.js'
import { ExtensionInputs, extensionOf } from './place-order.js'

const SECRET_SHOWN_MS = 60_000

function Extension ({ title, values, fields }) {
  const keys = Object.keys(values)
  if (keys.length === 0) return null
  const described = new Map(fields.map(f => [f.name, f.description]))
  return html`<table class="list ext">
    <caption>${title}</caption>
    <thead><tr><th scope="col">Field</th><th scope="col">Value</th></tr></thead>
    <tbody>${keys.map(k => html`<tr key=${k}>
      <th scope="row" data-label="Field"><code>${k}</code>${described.has(k) ? html`<br /><span class="muted">${described.get(k)}</span>` : null}</th>
      <td data-label="Value"><code class="wrap">${values[k]}</code></td>
    </tr>`)}</tbody>
  </table>`
}

function SecretPanel ({ reference }) {
  const [secret, setSecret] = useState(null)
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const revealButton = useRef(null)
  const hideButton = useRef(null)
  const hide = () => {
    setSecret(null)
    announce('Secret hidden')
    setTimeout(() => revealButton.current?.focus(), 0)
  }
  useEffect(() => {
    if (secret === null) return undefined
    hideButton.current?.focus()
    const timer = setTimeout(hide, SECRET_SHOWN_MS)
    const hidden = () => { if (document.visibilityState === 'hidden') hide() }
    document.addEventListener('visibilitychange', hidden)
    return () => { clearTimeout(timer); document.removeEventListener('visibilitychange', hidden) }
  }, [secret])
  const reveal = async () => {
    setBusy(true)
    setError(null)
    try {
      // the one answer that holds the secret; only OrderPart4.Secret is kept, the rest is dropped here
      const answer = await api.get(`v1/order/${reference}`)
      const value = JSON.parse(answer.order).OrderPart4?.Secret
      if (typeof value !== 'string') throw new ApiError(0, 'NO_SECRET', 'The node showed no secret for this order')
      setSecret(value)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  return html`<section class="secret-panel" aria-labelledby="secret-title">
    <h2 id="secret-title">Secret</h2>
    <p>Part 4 was released to an identity this node holds, so this node can show the order's secret. It is never shown without asking, and it is removed from the page when hidden (after a minute at most).</p>
    <${ErrorNote} error=${error} what="The secret could not be shown" />
    ${secret === null
      ? html`<button type="button" class="danger" ref=${revealButton} disabled=${busy} onClick=${reveal}>${busy ? 'Revealing…' : 'Reveal the secret'}</button>`
      : html`<div class="secret-shown">
          <label for="secret-value">The secret</label>
          <output id="secret-value" class="secret">${secret}</output>
          <button type="button" class="primary" onClick=${hide} ref=${hideButton}>Hide the secret</button>
        </div>`}
  </section>`
}

function RedeemForm ({ order, node, onDone }) {
  const fields = node.pluginDetails.extensionFields.secret
  const [beneficiary, setBeneficiary] = useState('')
  const [values, setValues] = useState({})
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const submit = async (event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const body = { orderReference: order.orderReference, extension: extensionOf(fields, values) }
      if (beneficiary.trim() !== '') body.beneficiaryIDDocumentCID = beneficiary.trim()
      // the answer may hold the secret: only the fact that it answered is used (reveal shows it)
      await api.post('v1/order/secret', body)
      announce('Order redeemed')
      onDone()
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  return html`<section aria-labelledby="redeem-title">
    <h2 id="redeem-title">Redeem</h2>
    <p>Asks the fiduciary to release the secret: part 3 is written and part 4 comes back, encrypted to ${order.beneficiaryCID === null ? 'this node (or the beneficiary you name)' : 'the beneficiary named at order time'}.</p>
    <${ErrorNote} error=${error} what="The redemption was refused" />
    <form onSubmit=${submit}>
      ${order.beneficiaryCID === null
        ? html`<${Field} id="redeem-beneficiary" label="Beneficiary identity CID" hint="Optional: release to this beneficiary instead of this node." value=${beneficiary} onInput=${setBeneficiary} />`
        : null}
      <${ExtensionInputs} prefix="redeem" fields=${fields} values=${values} onChange=${setValues} />
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Redeeming…' : 'Redeem the order'}</button>
    </form>
  </section>`
}

export function OrderPage ({ node, reference }) {
  const { data, error, reload } = useLoad(() => api.get(`v1/order/${reference}/chain`), [reference])
  const fields = node.pluginDetails.extensionFields
  return html`<section>
    <${PageTitle} title=${`Order ${reference}`}>Order <code class="wrap">${reference}</code><//>
    <p><a href=${href('orders')}>← All orders</a></p>
    <${ErrorNote} error=${error} what="The order could not be shown" />
    ${data === undefined
      ? (error === null ? html`<${Loading} what="Checking the order's chain" />` : null)
      : html`
        <p class=${data.verified ? 'verdict ok' : 'verdict bad'} role="status" id="chain-verdict">
          ${data.verified ? `All ${data.parts.length} parts verified by this node.` : `${data.parts.filter(p => !p.verified).length} of ${data.parts.length} parts failed this node's checks.`}
        </p>
        <dl class="facts">
          <dt>Created</dt><dd>${formatTime(data.order.createdAt * 1000)}</dd>
          <dt>Plugin</dt><dd>${data.order.plugin}</dd>
          <dt>State</dt><dd>${data.order.state}${data.order.releasedTo === null ? '' : html` to <${Cid} value=${data.order.releasedTo} label="recipient CID" />`}</dd>
          <dt>Principal</dt><dd><${Cid} value=${data.order.principalCID} label="principal CID" /></dd>
          <dt>Fiduciary</dt><dd><${Cid} value=${data.order.fiduciaryCID} label="fiduciary CID" /></dd>
          <dt>Beneficiary</dt><dd>${data.order.beneficiaryCID === null ? html`<span class="muted">none</span>` : html`<${Cid} value=${data.order.beneficiaryCID} label="beneficiary CID" />`}</dd>
          <dt>Commitment</dt><dd>${data.commitment === null ? '—' : html`<${Cid} value=${data.commitment} label="commitment" full />`}</dd>
        </dl>
        <${Chain} parts=${data.parts} order=${data.order} />
        <${Extension} title="Extension fields of the order (part 1)" values=${data.extension} fields=${fields.order} />
        <${Extension} title="What the plugin answered" values=${data.answerExtension} fields=${[...fields.orderAnswer, ...fields.secretAnswer]} />
        ${data.beneficiaryElsewhere
          ? html`<div class="note" role="note"><p><strong>Only the beneficiary can read part 4.</strong> It was released to a beneficiary identity this node does not hold, so this node cannot show the secret. The beneficiary redeems it on its own node with the part 4 CID:</p><${Cid} value=${data.order.orderPart4CID} label="part 4 CID" full /></div>`
          : null}
        ${data.secretAvailable ? html`<${SecretPanel} key=${reference} reference=${reference} />` : null}
        ${data.order.state === 'ordered' && ordersOn(node) ? html`<${RedeemForm} order=${data.order} node=${node} onDone=${reload} />` : null}`}
  </section>`
}
