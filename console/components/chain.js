// An order's chain drawn as SVG: parts 1 → 4 as boxes, side by side on a wide screen and stacked on
// a narrow one, each joined to the part before it by an arrow that follows its previousCID (red and
// dashed when the link is broken). Each box holds HTML (a foreignObject): the part's role, the
// node's verdict (a mark with words, not colour alone), signer, recipients, time, copyable CID,
// the checks that passed and the one that failed. Boxes grow to fit what they hold.
import { html, useLayoutEffect, useRef, useState } from '../lib/html.js'
import { formatTime } from '../lib/format.js'
import { Cid } from './common.js'

const ROLES = ['the request', 'the commitment', 'the redemption request', 'the released seed']
const WIDE_FROM = 880
const SVG = 'http://www.w3.org/2000/svg'

function roleOf (cid, order) {
  if (cid === order.principalCID) return order.fiduciaryCID === order.principalCID ? 'this node (principal and fiduciary)' : 'principal'
  if (cid === order.fiduciaryCID) return 'fiduciary'
  if (cid === order.beneficiaryCID) return 'beneficiary'
  return null
}

function Recipients ({ cids, order }) {
  if (cids.length === 0) return '—'
  return html`<ul class="recipients">${cids.map(cid => html`<li key=${cid}>${roleOf(cid, order) ?? 'identity'} <${Cid} value=${cid} label="recipient CID" /></li>`)}</ul>`
}

function Mark ({ part }) {
  if (part === undefined) return html`<span class="mark none">Not yet</span>`
  return part.verified
    ? html`<span class="mark ok"><span aria-hidden="true">✓ </span>Verified</span>`
    : html`<span class="mark bad"><span aria-hidden="true">✗ </span>Failed</span>`
}

function PartBox ({ n, part, order, boxRef }) {
  const title = html`<h3 class="part-title">Part ${n} <span class="muted">· ${ROLES[n - 1]}</span></h3>`
  if (part === undefined) {
    return html`<div class="part pending" ref=${boxRef}>
      <div class="part-head">${title}<${Mark} /></div>
      <p class="muted">${n === 3 ? 'Written when the order is redeemed.' : n === 4 ? 'Written by the fiduciary when it releases the seed.' : 'Missing.'}</p>
    </div>`
  }
  return html`<div class=${part.verified ? 'part' : 'part failed'} ref=${boxRef}>
    <div class="part-head">${title}<${Mark} part=${part} /></div>
    ${part.failure === undefined ? null : html`<p class="failure"><strong>${part.failure.code}</strong>: ${part.failure.message}</p>`}
    <dl>
      <dt>CID</dt><dd><${Cid} value=${part.cid} label=${`part ${n} CID`} full /></dd>
      <dt>Signer</dt><dd>${part.signerCID === null ? '—' : html`${roleOf(part.signerCID, order) ?? 'identity'} <${Cid} value=${part.signerCID} label=${`part ${n} signer CID`} />`}</dd>
      <dt>Recipients</dt><dd><${Recipients} cids=${part.recipients} order=${order} /></dd>
      <dt>Sealed</dt><dd>${formatTime(part.createdAt)}</dd>
      ${n === 1 ? null : html`<dt>Follows</dt><dd>part ${n - 1}${part.previousCID === null ? ' (unknown)' : ''}</dd>`}
    </dl>
    ${part.readBy === null && part.signerCID !== null ? html`<p class="note">${n === 4 ? 'Encrypted to its recipient; this node cannot read it.' : 'No identity of this node can read it.'}</p>` : null}
    <details>
      <summary>${part.checks.length} check${part.checks.length === 1 ? '' : 's'} passed</summary>
      <ul class="checks">${part.checks.map(c => html`<li key=${c}>${c}</li>`)}</ul>
    </details>
  </div>`
}

/** The link from part n+1 to part n: 'ok', 'broken' or 'unknown' (part n+1 missing or unreadable). */
function linkState (parts, n) {
  const later = parts[n]
  const earlier = parts[n - 1]
  if (later === undefined || earlier === undefined) return 'pending'
  if (later.previousCID === null) return 'unknown'
  return later.previousCID === earlier.cid ? 'ok' : 'broken'
}

function Arrow ({ from, to, state, wide }) {
  // from: the later part's edge; to: the earlier part's edge (the arrow points where previousCID points)
  const [x1, y1] = from; const [x2, y2] = to
  const label = state === 'broken' ? 'broken link' : state === 'unknown' ? 'link unknown' : 'previousCID'
  const lx = wide ? (x1 + x2) / 2 : x1 + 12
  const ly = wide ? y1 - 8 : (y1 + y2) / 2 + 4
  return html`<g class=${`link ${state}`} aria-hidden="true">
    <line x1=${x1} y1=${y1} x2=${x2} y2=${y2} marker-end="url(#arrowhead)" />
    <text x=${lx} y=${ly} text-anchor=${wide ? 'middle' : 'start'}>${label}</text>
  </g>`
}

export function Chain ({ parts, order }) {
  const wrapper = useRef(null)
  const boxes = [useRef(null), useRef(null), useRef(null), useRef(null)]
  const [width, setWidth] = useState(0)
  const [boxH, setBoxH] = useState(160)
  const [, setToggles] = useState(0)
  useLayoutEffect(() => {
    const element = wrapper.current
    setWidth(element.clientWidth) // before the first paint: the boxes appear in the first frame
    const observer = new ResizeObserver(() => { setWidth(element.clientWidth) })
    observer.observe(element)
    // a <details> opening makes its box taller: measure again
    const toggled = () => { setToggles(t => t + 1) }
    element.addEventListener('toggle', toggled, true)
    return () => { observer.disconnect(); element.removeEventListener('toggle', toggled, true) }
  }, [])
  // every box as tall as the tallest one's content, measured after each render
  useLayoutEffect(() => {
    const tallest = Math.max(120, ...boxes.map(b => b.current?.offsetHeight ?? 0)) + 2
    if (Math.abs(tallest - boxH) > 1) setBoxH(tallest)
  })

  const wide = width >= WIDE_FROM
  const gap = wide ? 72 : 44
  const boxW = width === 0 ? 0 : wide ? (width - 3 * gap) / 4 : width
  const at = (i) => (wide ? [i * (boxW + gap), 0] : [0, i * (boxH + gap)])
  const height = wide ? boxH : 4 * boxH + 3 * gap
  return html`<figure class="chain" ref=${wrapper}>
    <figcaption>The chain: parts 1 to 4, each pointing by its previousCID to the part before it, as this node verified them.</figcaption>
    ${width === 0
      ? null
      : html`<svg xmlns=${SVG} width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`} class="chain-svg">
        <defs><marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" /></marker></defs>
        ${[1, 2, 3].map(n => {
          const [xa, ya] = at(n - 1); const [xb, yb] = at(n)
          const from = wide ? [xb, yb + boxH / 2] : [boxW / 2, yb]
          const to = wide ? [xa + boxW + 2, ya + boxH / 2] : [boxW / 2, ya + boxH + 2]
          return html`<${Arrow} key=${n} from=${from} to=${to} state=${linkState(parts, n)} wide=${wide} />`
        })}
        ${[1, 2, 3, 4].map(n => {
          const [x, y] = at(n - 1)
          const part = parts[n - 1]
          return html`<g key=${n} class=${part === undefined ? 'box pending' : part.verified ? 'box ok' : 'box bad'}>
            <rect x=${x + 1} y=${y + 1} width=${boxW - 2} height=${boxH - 2} rx="8" />
            <foreignObject x=${x} y=${y} width=${boxW} height=${boxH}>
              <${PartBox} n=${n} part=${part} order=${order} boxRef=${boxes[n - 1]} />
            </foreignObject>
          </g>`
        })}
      </svg>`}
  </figure>`
}
