// The Node view: what this node is, what it talks to, and whether its API is open to anyone.
import { html } from '../lib/html.js'
import { formatTime, NODE_TYPES } from '../lib/format.js'
import { Cid, PageTitle } from '../components/common.js'

function Fiduciary ({ node }) {
  if (node.nodeType === 'fiduciary') return html`<dd>This node is a fiduciary: it serves principals and orders from no one.</dd>`
  if (node.fiduciaryCID === node.nodeCID) return html`<dd>Itself (a multi node with no master fiduciary) <${Cid} value=${node.fiduciaryCID} label="fiduciary CID" /></dd>`
  return html`<dd><${Cid} value=${node.fiduciaryCID} label="fiduciary CID" />${node.fiduciaryURL === null ? null : html` at <code>${node.fiduciaryURL}</code>`}</dd>`
}

// One signature line of the checkpoint: the log's own key, or a witness's cosignature (its node and time).
function Signature ({ sig }) {
  if (sig.kind === 'log') return html`<li><code>${sig.name}</code> <span class="muted">the log's own key</span></li>`
  if (sig.kind === 'witness') {
    return html`<li><span class="mark ok">Witness</span> <${Cid} value=${sig.witnessCID} label="witness node CID" />${sig.cosignedAt === null ? null : html` <span class="muted">cosigned ${formatTime(sig.cosignedAt * 1000)}</span>`}</li>`
  }
  return html`<li><code>${sig.name}</code> <span class="muted">another key</span></li>`
}

function Witnesses ({ log }) {
  const w = log.witnesses
  if (w === undefined) return html`<span class="muted">none configured (<code>node.witnesses</code>): the checkpoint carries the log's own signature only</span>`
  const cosigners = log.signatures.filter(s => s.kind === 'witness').length
  if (w.cosigned) return html`<span>${cosigners} of ${w.configured.length} cosigned this checkpoint (${w.quorum} needed)</span>`
  return html`<span class="mark bad">Not cosigned</span> the witnesses could not be had now (${w.failure?.message ?? 'no answer'} <code>${w.failure?.code ?? ''}</code>): the checkpoint shown is the log's own, ${w.quorum} of ${w.configured.length} are needed`
}

// The latest signed checkpoint of the node's transparency log (docs/log.md): what a principal checks
// every answer against — with witnesses configured, the newest one a quorum of them cosigned.
function TransparencyLog ({ log }) {
  return html`<section aria-labelledby="log-title">
    <h2 id="log-title">Transparency log</h2>
    <dl class="facts">
      <dt>Origin</dt><dd><code>${log.origin}</code></dd>
      <dt>Entries</dt><dd>${log.treeSize} (one per document this node wrote or accepted)</dd>
      <dt>Root hash</dt><dd><code class="wrap">${log.rootHash}</code></dd>
      <dt>Signed by</dt><dd>${log.signatures.length === 0 ? '—' : html`<ul class="plain" id="log-signatures">${log.signatures.map(sig => html`<${Signature} key=${sig.name} sig=${sig} />`)}</ul>`}</dd>
      <dt>Witnesses</dt><dd id="log-witnesses"><${Witnesses} log=${log} /></dd>
      <dt>Verifier key</dt><dd><code class="wrap">${log.verifierKey}</code></dd>
    </dl>
  </section>`
}

export function NodePage ({ node }) {
  const auth = node.authentication
  return html`<section>
    <${PageTitle} title="Node" />
    <dl class="facts">
      <dt>Node type</dt><dd>${NODE_TYPES[node.nodeType] ?? node.nodeType}</dd>
      <dt>Identity</dt><dd><${Cid} value=${node.nodeCID} label="node identity CID" full /></dd>
      <dt>Plugin</dt><dd><strong>${node.pluginDetails.name}</strong> (${node.pluginDetails.vendor})${node.pluginDetails.description === '' ? null : html`<br /><span class="muted">${node.pluginDetails.description}</span>`}</dd>
      <dt>Fiduciary it uses</dt><${Fiduciary} node=${node} />
      ${node.trustedFiduciaries.length === 0 ? null : html`<dt>Trusted fiduciaries</dt><dd><ul class="plain">${node.trustedFiduciaries.map(cid => html`<li key=${cid}><${Cid} value=${cid} label="trusted fiduciary CID" /></li>`)}</ul><span class="muted">whose part 4 a beneficiary held here may redeem</span></dd>`}
      <dt>IPFS peer id</dt><dd><${Cid} value=${node.peerID} label="IPFS peer id" full /></dd>
      <dt>Listening on</dt><dd>${node.listenAddrs.length === 0 ? '—' : html`<ul class="plain">${node.listenAddrs.map(a => html`<li key=${a}><code>${a}</code></li>`)}</ul>`}</dd>
      <dt>Connected peers</dt><dd>${node.connectedPeers}${node.connectedPeerIDs.length === 0 ? null : html`<ul class="plain">${node.connectedPeerIDs.map(p => html`<li key=${p}><${Cid} value=${p} label="peer id" /></li>`)}</ul>`}</dd>
      <dt>Version</dt><dd>${node.application} ${node.version} (API ${node.apiVersion})</dd>
      <dt>Authentication</dt><dd>${auth.enabled
        ? html`<span class="mark ok">On</span> OAuth2 bearer tokens from <code>${auth.issuer}</code> for the audience <code>${auth.audience}</code>`
        : html`<span class="mark bad">Off</span> anyone who can reach this listener can use the API (set <code>http.oidcIssuer</code>)`}</dd>
      <dt>Answered at</dt><dd>${formatTime(Date.parse(node.timeStamp))}</dd>
    </dl>
    ${node.transparencyLog === undefined ? null : html`<${TransparencyLog} log=${node.transparencyLog} />`}
  </section>`
}
