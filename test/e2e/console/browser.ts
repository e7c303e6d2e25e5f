/**
 * The browser side of the console tests: Debian's Chromium (`/usr/bin/chromium`, package
 * `chromium`, installed by .ci/run and scripts/ensure-test-deps.ts) driven by playwright-core —
 * never a downloaded browser — headless, with a fresh profile folder per test file.
 *
 * - `openBrowser()` launches it (playwright's `launchPersistentContext`: it refuses
 *   `--user-data-dir` among the arguments of `launch`, and a persistent context on a new, empty
 *   folder is exactly a fresh profile); `close()` ends it and removes the profile.
 * - `watch(page)` collects what the page reports: uncaught errors, console errors and CSP
 *   violations (the console must work under its own Content-Security-Policy, so there must be none).
 * - `axe(page)` runs axe-core (node_modules/axe-core/axe.min.js, evaluated over the DevTools
 *   protocol, which the page's CSP does not govern) and returns the serious and critical
 *   violations, WCAG 2.1 A/AA rules and best practices.
 * - `shoot(page, name)` writes a full-page PNG to the test output folder (`.tmp/test-output/console/`,
 *   or $TEST_OUTPUT_DIR) and, with UPDATE_SCREENSHOTS=1, copies it into docs/console/ for docs/console.md.
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'

// Browser globals, for the functions page.evaluate runs in the page (the project's lib has no DOM).
declare const document: any, requestAnimationFrame: (callback: (time: number) => void) => number, localStorage: any, sessionStorage: any
type Storage = any

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]
export const SIZES = [{ name: 'wide', width: 1280, height: 800 }, { name: 'narrow', width: 390, height: 844 }] as const

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const OUTPUT_DIR = process.env.TEST_OUTPUT_DIR ?? path.join(ROOT, '.tmp', 'test-output', 'console')
export const DOCS_DIR = path.join(ROOT, 'docs', 'console')
const AXE = readFileSync(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')

export interface Browser { context: BrowserContext, close (): Promise<void> }

/** Chromium on a fresh profile folder; `close()` ends it and removes the folder. `args` are added to CHROMIUM_ARGS. */
export async function openBrowser (args: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/ensure-test-deps.ts does it before npm test)`)
  const profile = mkdtempSync(path.join(tmpdir(), 'dta-chromium-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...args], timeout: 60_000 })
  context.setDefaultTimeout(20_000)
  return {
    context,
    async close () {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** Two animation frames: the layout has followed the last change (a resize, a render). */
export async function settled (page: Page): Promise<void> {
  await page.evaluate(async () => { await new Promise(resolve => { requestAnimationFrame(() => { requestAnimationFrame(resolve) }) }) })
}

export interface Watched { problems: string[] }

/** Collects the page's uncaught errors, console errors and CSP violations. */
export function watch (page: Page): Watched {
  const watched: Watched = { problems: [] }
  page.on('pageerror', (err) => { watched.problems.push(`pageerror: ${err.message}`) })
  page.on('console', (message) => {
    const text = message.text()
    // a refused API call is logged by Chromium as "Failed to load resource"; the tests assert those themselves
    if (/Content Security Policy|Refused to/.test(text) || (message.type() === 'error' && !text.startsWith('Failed to load resource'))) watched.problems.push(`console ${message.type()}: ${text}`)
  })
  return watched
}

export interface AxeViolation { id: string, impact: string | null, help: string, nodes: string[] }

/** axe-core's serious and critical violations on the page as it is now. */
export async function axe (page: Page): Promise<AxeViolation[]> {
  await page.evaluate(`${AXE}\n;undefined`)
  const result = await page.evaluate(async () => {
    const run = (globalThis as unknown as { axe: { run: (ctx: unknown, options: unknown) => Promise<{ violations: Array<{ id: string, impact: string | null, help: string, nodes: Array<{ target: unknown[] }> }> }> } }).axe
    const { violations } = await run.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] })
    return violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => JSON.stringify(n.target)) }))
  })
  return result.filter(v => v.impact === 'serious' || v.impact === 'critical')
}

/**
 * A full-page screenshot into the output folder; returns its path. With UPDATE_SCREENSHOTS=1 it is
 * also copied into docs/console/ (for docs/console.md), so that an ordinary test run leaves the
 * checkout as it was.
 */
export async function shoot (page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true })
  const file = path.join(OUTPUT_DIR, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' })
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_DIR, { recursive: true })
    copyFileSync(file, path.join(DOCS_DIR, `${name}.png`))
  }
  return file
}

/** Whether `needle` is anywhere in the page: its DOM (attributes and text), its title and the tab's storage. */
export async function pageHolds (page: Page, needle: string): Promise<boolean> {
  return await page.evaluate((n) => {
    const storage = (s: Storage): string => Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i) ?? '')}`).join('\n')
    const inputs = Array.from(document.querySelectorAll('input, textarea, output') as ArrayLike<{ value: string }>).map(e => e.value).join('\n')
    return [document.documentElement.outerHTML, document.body.innerText, document.title, inputs, storage(localStorage), storage(sessionStorage)].some(text => text.includes(n))
  }, needle)
}

