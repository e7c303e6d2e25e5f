// The console's view layer: preact with htm's tagged templates, so there is no JSX and no build
// step — the browser loads these modules as they are (docs/console.md). preact and htm are served
// by the node from their npm packages under /ui/vendor/ (src/http/console.ts).
import { h, render, Fragment } from '../vendor/preact.mjs'
import htm from '../vendor/htm.mjs'

export { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from '../vendor/hooks.mjs'
export { h, render, Fragment }
export const html = htm.bind(h)
