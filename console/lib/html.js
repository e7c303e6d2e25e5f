// The console's view layer: preact with htm's tagged templates, so there is no JSX and no build
// step — these modules run as they are written; the node only joins them into one file when it
// starts (src/http/console-bundle.ts, docs/console.md). preact and htm come from their npm
// packages (src/http/console.ts).
import { h, render, Fragment } from '../vendor/preact.mjs'
import htm from '../vendor/htm.mjs'

export { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from '../vendor/hooks.mjs'
export { h, render, Fragment }
export const html = htm.bind(h)
