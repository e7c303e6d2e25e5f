// The console's shell: asks the node who it is (GET /v1/node) before anything else — a 401 means
// the API needs a token, and then the sign-in view is all there is, no data — then shows the
// header (with a warning on every view when the API is open to anyone), the navigation and the view
// the URL's hash names.
import { html, render, useLayoutEffect, useState } from './lib/html.js'
import { api, hasToken, setToken, whenUnauthorized } from './lib/api.js'
import { ordersOn } from './lib/format.js'
import { href, useRoute } from './lib/router.js'
import { ErrorNote, Loading } from './components/common.js'
import { AuditPage } from './pages/audit.js'
import { IdentitiesPage } from './pages/identities.js'
import { NodePage } from './pages/node.js'
import { OrderPage } from './pages/order.js'
import { OrdersPage } from './pages/orders.js'
import { PlaceOrderPage } from './pages/place-order.js'
import { SignIn } from './pages/signin.js'

function Nav ({ node, current, onSignOut }) {
  const items = [['', 'Node'], ...(ordersOn(node) ? [['orders', 'Orders']] : []), ['identities', 'Identities'], ['audit', 'Audit trail']]
  return html`<nav class="main-nav" aria-label="Console">
    <ul>${items.map(([path, label]) => html`<li key=${path}><a href=${href(path)} aria-current=${current === path ? 'page' : undefined}>${label}</a></li>`)}</ul>
    ${hasToken() ? html`<button type="button" class="link" onClick=${onSignOut}>Sign out</button>` : null}
  </nav>`
}

function AuthWarning ({ node }) {
  if (node === null || node.authentication.enabled) return null
  return html`<div class="warning" role="note" id="auth-warning">
    <strong>Authentication is off.</strong> Anyone who can reach this node's API listener can place and redeem orders and read them. Set <code>http.oidcIssuer</code> and <code>http.oidcAudience</code> to require OAuth2 bearer tokens.
  </div>`
}

function View ({ node, route }) {
  const [first, second] = route.path
  if (first === undefined || first === '') return html`<${NodePage} node=${node} />`
  if (first === 'orders' && second === 'new' && ordersOn(node)) return html`<${PlaceOrderPage} node=${node} />`
  if (first === 'orders' && ordersOn(node)) return html`<${OrdersPage} node=${node} params=${route.params} />`
  if (first === 'order' && /^[0-9a-f]{32}$/.test(second ?? '') && ordersOn(node)) return html`<${OrderPage} key=${second} node=${node} reference=${second} />`
  if (first === 'identities') return html`<${IdentitiesPage} node=${node} params=${route.params} />`
  if (first === 'audit') return html`<${AuditPage} params=${route.params} />`
  return html`<p>No such view. <a href=${href('')}>Back to the node</a>.</p>`
}

function App () {
  const route = useRoute()
  const [node, setNode] = useState(null)
  const [needsToken, setNeedsToken] = useState(false)
  const [error, setError] = useState(null)
  const [tokenError, setTokenError] = useState(null)
  const load = async () => {
    try {
      setNode(await api.get('v1/node'))
      setNeedsToken(false)
      setError(null)
    } catch (e) {
      if (e.status !== 401) setError(e)
    }
  }
  // before the first paint (useEffect would wait for the next frame): the answer is usually here already
  useLayoutEffect(() => {
    whenUnauthorized((e) => {
      // a refused or expired token: forget it and every datum shown with it
      if (hasToken()) setTokenError(e)
      setToken(null)
      setNode(null)
      setNeedsToken(true)
    })
    void load()
  }, [])
  const signIn = (token) => { setTokenError(null); setToken(token); void load() }
  const signOut = () => { setToken(null); setNode(null); setNeedsToken(true) }
  const current = route.path[0] === 'order' ? 'orders' : (route.path[0] ?? '')
  const skip = (event) => { event.preventDefault(); document.querySelector('main h1')?.focus() }
  return html`
    <a class="skip-link" href="#main" onClick=${skip}>Skip to the content</a>
    <header class="top">
      <div class="brand"><a href=${href('')}>Milagro D-TA</a> <span class="muted">console</span></div>
      ${node === null ? null : html`<${Nav} node=${node} current=${current} onSignOut=${signOut} />`}
    </header>
    <${AuthWarning} node=${node} />
    <main id="main">
      ${needsToken
        ? html`<${SignIn} onToken=${signIn} error=${tokenError} />`
        : error !== null
          ? html`<${ErrorNote} error=${error} what="The node did not answer" />`
          : node === null ? html`<${Loading} what="Asking the node" />` : html`<${View} node=${node} route=${route} />`}
    </main>
    <div id="announce" class="visually-hidden" aria-live="polite"></div>`
}

render(html`<${App} />`, document.getElementById('app'))
