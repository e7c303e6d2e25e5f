// Hash routes (#/orders?page=1), so the node serves one page and every view has a URL that can be
// bookmarked, shared or opened in a new tab — and a reload asks the node for nothing but /ui/.
import { useEffect, useState } from './html.js'

/** The current route: `#/order/abc?x=1` → { path: ['order', 'abc'], params: URLSearchParams }. */
export function currentRoute () {
  const hash = location.hash.replace(/^#\/?/, '')
  const [path, search] = hash.split('?', 2)
  return { path: path === '' ? [] : path.split('/').map(decodeURIComponent), params: new URLSearchParams(search ?? '') }
}

/** A href for a route: href('order', ref) → "#/order/<ref>"; params are left out when empty. */
export function href (...parts) {
  const last = parts[parts.length - 1]
  const params = typeof last === 'object' && last !== null ? parts.pop() : {}
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return `#/${parts.map(p => encodeURIComponent(String(p))).join('/')}${s === '' ? '' : `?${s}`}`
}

export function navigate (...parts) {
  location.hash = href(...parts)
}

export function useRoute () {
  const [route, setRoute] = useState(currentRoute)
  useEffect(() => {
    const changed = () => { setRoute(currentRoute()) }
    addEventListener('hashchange', changed)
    return () => { removeEventListener('hashchange', changed) }
  }, [])
  return route
}
