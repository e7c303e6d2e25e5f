// Pieces every page uses: a copyable CID, a page title that takes the focus when the view
// changes, a pager, an error note, a loader hook, a labelled field, announcements.
import { html, useCallback, useEffect, useLayoutEffect, useRef, useState } from '../lib/html.js'
import { shortCid } from '../lib/format.js'

/** Says `text` to screen readers through the page's one polite live region (main.js). */
export function announce (text) {
  const region = document.getElementById('announce')
  if (region === null) return
  region.textContent = ''
  setTimeout(() => { region.textContent = text }, 50)
}

/**
 * A CID (or any identifier) with a Copy button. Without a clipboard (a page over plain HTTP on
 * another host is not a secure context) the text is selected instead, for Ctrl+C.
 */
export function Cid ({ value, label = 'CID', full = false }) {
  const code = useRef(null)
  const [done, setDone] = useState('')
  if (value === null || value === undefined || value === '') return html`<span>—</span>`
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value)
      setDone('Copied')
      announce(`${label} copied`)
    } catch {
      const range = document.createRange()
      range.selectNodeContents(code.current)
      const selection = getSelection()
      selection.removeAllRanges()
      selection.addRange(range)
      setDone('Selected: press Ctrl+C')
      announce(`${label} selected; press Control C to copy`)
    }
  }
  return html`<span class=${full ? 'cid cid-full' : 'cid'}>
    <code ref=${code} title=${value}>${full ? value : shortCid(value)}</code>
    <button type="button" class="copy" onClick=${copy} aria-label=${`Copy ${label}`}>${done === '' ? 'Copy' : done}</button>
  </span>`
}

let firstView = true

/**
 * The view's heading; it names the tab, and takes the focus when the view changes (so keyboard and
 * screen-reader users land on the new view) — but not on the page's first view, where the first
 * Tab must reach the skip link.
 */
export function PageTitle ({ title, children }) {
  const ref = useRef(null)
  useEffect(() => {
    document.title = `${title} · Milagro D-TA console`
    if (firstView) firstView = false
    else ref.current?.focus()
  }, [title])
  return html`<h1 tabindex="-1" ref=${ref}>${children ?? title}</h1>`
}

export function ErrorNote ({ error, what }) {
  if (error === null || error === undefined) return null
  return html`<div class="error" role="alert"><strong>${what ?? 'The node refused'}:</strong> ${error.message} <code>${error.code}</code></div>`
}

export function Loading ({ what = 'Loading' }) {
  return html`<p class="muted" role="status">${what}…</p>`
}

/** Previous / Next; `total` (when the API gives it) shows "page n of m". */
export function Pager ({ page, perPage, count, total, onPage, label }) {
  const pages = total === undefined ? undefined : Math.max(1, Math.ceil(total / perPage))
  const hasNext = pages === undefined ? count === perPage : page + 1 < pages
  return html`<nav class="pager" aria-label=${label}>
    <button type="button" disabled=${page === 0} onClick=${() => onPage(page - 1)}>Previous</button>
    <span>Page ${page + 1}${pages === undefined ? '' : ` of ${pages}`}</span>
    <button type="button" disabled=${!hasNext} onClick=${() => onPage(page + 1)}>Next</button>
  </nav>`
}

/**
 * Loads `load()` whenever `deps` change: { data, error, reload }. What was loaded for other deps is
 * never returned — not even during the render that follows the change, before the new request
 * starts — so a view never shows one page's rows under another page's caption. `reload()` keeps
 * the data until the new answer. A late answer for old deps is dropped.
 */
export function useLoad (load, deps) {
  const key = JSON.stringify(deps)
  const [state, setState] = useState({ key: undefined, data: undefined, error: null })
  const generation = useRef(0)
  const run = useCallback(async () => {
    const mine = ++generation.current
    try {
      const data = await load()
      if (mine === generation.current) setState({ key, data, error: null })
    } catch (error) {
      if (mine === generation.current) setState({ key, data: undefined, error })
    }
  }, deps)
  // asked in the commit, before the paint: useEffect would wait for the next frame first
  useLayoutEffect(() => { void run() }, [run])
  const current = state.key === key
  return { data: current ? state.data : undefined, error: current ? state.error : null, reload: run }
}

/** A labelled input with an optional hint (its description), for the action forms. */
export function Field ({ id, label, hint, required = false, value, onInput, placeholder, type = 'text', list }) {
  const hintId = hint === undefined ? undefined : `${id}-hint`
  return html`<div class="field">
    <label for=${id}>${label}${required ? html` <span class="required">(required)</span>` : ''}</label>
    ${hint === undefined ? null : html`<p class="hint" id=${hintId}>${hint}</p>`}
    <input id=${id} name=${id} type=${type} value=${value} required=${required} placeholder=${placeholder} list=${list}
      aria-describedby=${hintId} autocomplete="off" spellcheck="false" onInput=${(e) => onInput(e.currentTarget.value)} />
  </div>`
}
