/**
 * The web console in Debian's Chromium (test/e2e/console/browser.ts) against a real `milagro
 * daemon` (a multi node with the bitcoinwallet plugin, authentication off; the e2e harness):
 * - the Node page, with its "authentication is off" warning;
 * - an identity created, an order placed (its `coin` field offered because the plugin describes
 *   it) and redeemed through the forms: the chain shows 4 verified parts;
 * - the secret is nowhere in the page (DOM, inputs, storage) until "Reveal", and nowhere again
 *   once hidden;
 * - the orders list: state, sorted by each column (the header buttons with aria-sort, from the
 *   keyboard too, and the narrow layout's Sort menu), searched by part CID and by beneficiary CID;
 *   the audit trail filtered by operation;
 * - keyboard: the skip link, the navigation, the focus moved to each view's heading;
 * - the order view's load time with a 4-part chain, cold (empty cache) and warm, measured and reported
 *   (no assertion on the times; the warm loads must take every console file from the cache);
 * - a part whose stored bytes were altered on disk is shown as failed, with the node's code;
 * - on every page at 1280×800 and 390×844: no serious or critical axe-core violation, a
 *   screenshot (the test output folder and docs/console/), and no CSP violation or script error.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { createCluster } from '../server/harness.ts'
import type { Cluster, ServerNode } from '../server/harness.ts'
import { corruptDocument } from '../../helpers/tamper.ts'
import { axe, openBrowser, OUTPUT_DIR, pageHolds, settled, shoot, SIZES, watch } from './browser.ts'
import type { Browser, Watched } from './browser.ts'

// Browser globals, for the functions page.evaluate runs in the page (the project's lib has no DOM).
declare const document: any

describe('the web console in Chromium, on a multi node with authentication off', () => {
  let cluster: Cluster
  let node: ServerNode
  let browser: Browser
  let page: Page
  let watched: Watched
  let reference: string
  const ui = (route = ''): string => `${node.url}/ui/#/${route}`

  before(async () => {
    cluster = await createCluster(undefined, 'dta-console-')
    node = await cluster.init('console', { nodeType: 'multi', service: 'bitcoinwallet' })
    await node.start()
    browser = await openBrowser()
    page = await browser.context.newPage()
    watched = watch(page)
  })
  after(async () => {
    await browser?.close()
    await cluster?.close()
  })

  /** At both sizes: the page is `ready`, axe finds nothing serious, and a screenshot is taken. */
  async function checkPage (name: string, ready: () => Promise<void>): Promise<void> {
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height })
      await settled(page)
      await ready()
      assert.deepEqual(await axe(page), [], `axe on ${name} at ${size.width}×${size.height}`)
      await shoot(page, `${name}-${size.name}`)
    }
    await page.setViewportSize({ width: 1280, height: 800 })
    assert.deepEqual(watched.problems, [], `no script error or CSP violation on ${name}`)
  }

  async function heading (text: string | RegExp): Promise<void> {
    await page.locator('main h1').filter({ hasText: text }).waitFor()
  }

  it('the Node page shows what the node is, and warns that authentication is off', async () => {
    await page.goto(ui())
    await heading('Node')
    const warning = page.locator('#auth-warning')
    assert.ok(await warning.isVisible())
    assert.match(await warning.innerText(), /Authentication is off/)
    const text = await page.locator('main').innerText()
    assert.ok(text.includes(node.cid), 'the node identity CID')
    assert.ok(text.includes(node.peerID), 'the IPFS peer id')
    assert.match(text, /bitcoinwallet/)
    assert.match(text, /multi \(principal and fiduciary\)/)
    assert.match(text, /Authentication\s+Off/)
    assert.match(text, /Transparency log/)
    assert.ok(text.includes(`milagro-dta/log/${node.cid}`), 'the log\'s origin, and its latest checkpoint')
    assert.match(await page.locator('#log-signatures').innerText(), /the log's own key/)
    assert.match(await page.locator('#log-witnesses').innerText(), /none configured/)
    await checkPage('node', async () => { await heading('Node') })
  })

  it('creates an identity through the form', async () => {
    await page.goto(ui('identities'))
    await heading('Identities')
    await page.getByLabel('Name').fill('alice')
    await page.getByRole('button', { name: 'Create' }).click()
    await page.getByText('Created').waitFor()
    await page.locator('table.list td', { hasText: 'alice' }).waitFor()
    await checkPage('identities', async () => { await page.locator('table.list td', { hasText: 'alice' }).waitFor() })
  })

  it('places an order through the form, with the field the plugin describes', async () => {
    await page.goto(ui('orders/new'))
    await heading('Place an order')
    const coin = page.getByLabel('coin')
    assert.equal(await coin.getAttribute('required'), '')
    assert.match(await page.locator('#order-ext-coin-hint').innerText(), /"0" mainnet or "1" testnet/)
    await checkPage('place-order', async () => { await heading('Place an order') })
    await coin.fill('1')
    await page.getByRole('button', { name: 'Place the order' }).click()
    await page.waitForURL(/#\/order\/[0-9a-f]{32}$/)
    reference = /#\/order\/([0-9a-f]{32})$/.exec(page.url())![1]!
    await page.locator('#chain-verdict', { hasText: 'All 2 parts verified by this node.' }).waitFor()
    assert.equal(await page.locator('.chain-svg .mark.ok').count(), 2)
    assert.equal(await page.locator('.chain-svg .mark.none').count(), 2, 'parts 3 and 4: not yet')
    const summaries = await node.ok<{ orders: Array<{ orderReference: string, state: string }> }>(`/v1/order/summaries?search=${reference}`)
    assert.deepEqual(summaries.orders.map(o => [o.orderReference, o.state]), [[reference, 'ordered']])
  })

  it('redeems it: four verified parts; the secret is in the page only between Reveal and Hide', async () => {
    await page.getByRole('button', { name: 'Redeem the order' }).click()
    await page.locator('#chain-verdict', { hasText: 'All 4 parts verified by this node.' }).waitFor()
    const boxes = page.locator('.chain-svg .box .part')
    assert.equal(await boxes.count(), 4)
    for (let i = 0; i < 4; i++) assert.match(await boxes.nth(i).innerText(), new RegExp(`Part ${i + 1}[\\s\\S]*Verified`))
    assert.equal(await page.locator('.chain-svg .link.ok').count(), 3, 'three previousCID links, all intact')
    const order = JSON.parse((await node.ok<{ order: string }>(`/v1/order/${reference}`)).order) as { OrderPart4: { Secret: string } }
    const secret = order.OrderPart4.Secret
    assert.ok(secret.length >= 32)
    assert.equal(await pageHolds(page, secret), false, 'redeeming did not put the secret in the page')
    await checkPage('order', async () => { await page.locator('#chain-verdict', { hasText: 'All 4 parts verified' }).waitFor() })

    await page.getByRole('button', { name: 'Reveal the secret' }).click()
    const shown = page.locator('#secret-value')
    await shown.waitFor()
    assert.equal((await shown.innerText()).trim(), secret)
    assert.equal(await pageHolds(page, secret), true)
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Hide the secret', 'the focus moves to Hide')
    assert.deepEqual(await axe(page), [], 'axe with the secret shown')
    await page.getByRole('button', { name: 'Hide the secret' }).click()
    await shown.waitFor({ state: 'detached' })
    assert.equal(await pageHolds(page, secret), false, 'hidden: nowhere in the DOM, the inputs or the storage')
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Reveal the secret')
  })

  it('lists the orders with their state, sorts them by each column (headers, keyboard, the narrow Sort menu), finds them by part and beneficiary CID', async () => {
    const second = await node.ok<{ orderReference: string }>('/v1/order', { extension: { coin: '1' } })
    const bob = await node.ok<{ idDocumentCID: string }>('/v1/identity', { name: 'bob' })
    const forBob = await node.ok<{ orderReference: string }>('/v1/order', { beneficiaryIDDocumentCID: bob.idDocumentCID, extension: { coin: '1' } })
    const chain = await node.ok<{ parts: Array<{ cid: string }> }>(`/v1/order/${reference}/chain`)
    await page.goto(ui('orders'))
    await heading('Orders')
    const rows = page.locator('table.list tbody tr')
    const references = async (): Promise<string[]> => (await page.locator('table.list tbody td[data-label="Reference"]').allInnerTexts()).map(t => t.trim())
    await rows.nth(2).waitFor()
    assert.match(await rows.nth(0).innerText(), new RegExp(`${forBob.orderReference}[\\s\\S]*ordered`), 'newest first')
    assert.match(await rows.nth(2).innerText(), new RegExp(`${reference}[\\s\\S]*redeemed[\\s\\S]*this node`))
    assert.equal(await page.locator('th[aria-sort="descending"]', { hasText: 'Created' }).count(), 1, 'newest first, said to assistive technology')
    assert.equal(await page.locator('th[aria-sort]').count(), 1, 'aria-sort on the sorted column only')
    await checkPage('orders', async () => { await rows.nth(2).waitFor() })

    await page.getByRole('button', { name: /^Created/ }).click()
    await page.locator('th[aria-sort="ascending"]', { hasText: 'Created' }).waitFor()
    assert.deepEqual(await references(), [reference, second.orderReference, forBob.orderReference], 'oldest first')
    await page.getByRole('button', { name: /^State, sort state: ordered/ }).click()
    await page.locator('th[aria-sort="ascending"]', { hasText: 'State' }).waitFor()
    assert.deepEqual(await references(), [...[second.orderReference, forBob.orderReference].sort(), reference], 'ordered first, ties by reference')
    // from the keyboard: the header button takes Enter (a native button), and the focus stays on it
    await page.getByRole('button', { name: /^State/ }).focus()
    await page.keyboard.press('Enter')
    await page.locator('th[aria-sort="descending"]', { hasText: 'State' }).waitFor()
    assert.deepEqual(await references(), [reference, ...[second.orderReference, forBob.orderReference].sort().reverse()])
    await page.getByRole('button', { name: /^Beneficiary/ }).click()
    await page.locator('th[aria-sort="ascending"]', { hasText: 'Beneficiary' }).waitFor()
    assert.equal((await references())[2], forBob.orderReference, 'orders without a beneficiary first')
    assert.match(await page.locator('caption').innerText(), /3 orders, beneficiary A to Z, none first/)

    // the narrow layout: no header row to press, the Sort menu instead
    await page.setViewportSize({ width: 390, height: 844 })
    const menu = page.getByLabel('Sort', { exact: true })
    assert.ok(await menu.isVisible())
    await menu.selectOption('reference:desc')
    await page.locator('caption', { hasText: 'reference descending' }).waitFor()
    assert.deepEqual(await references(), [reference, second.orderReference, forBob.orderReference].sort().reverse())
    assert.deepEqual(await axe(page), [], 'axe on the narrow list sorted by reference')
    await page.setViewportSize({ width: 1280, height: 800 })
    assert.equal(await menu.isVisible(), false, 'the menu is for the narrow layout only')

    const search = page.getByLabel('Search by order reference, part CID or beneficiary CID')
    await search.fill(chain.parts[3]!.cid)
    await page.getByRole('button', { name: 'Search' }).click()
    await page.locator('caption', { hasText: '1 order matching the search' }).waitFor()
    assert.deepEqual(await references(), [reference])
    await search.fill(bob.idDocumentCID)
    await page.getByRole('button', { name: 'Search' }).click()
    await page.waitForFunction((ref) => document.querySelector('table.list tbody td[data-label="Reference"]')?.textContent.trim() === ref, forBob.orderReference)
    assert.deepEqual(await references(), [forBob.orderReference], 'by the beneficiary\'s CID')
    assert.deepEqual(watched.problems, [])
  })

  it('shows the audit trail, filtered by operation', async () => {
    await page.goto(ui('audit'))
    await heading('Audit trail')
    await page.locator('table.list tbody tr').first().waitFor()
    await checkPage('audit', async () => { await page.locator('table.list tbody tr').first().waitFor() })
    await page.getByLabel('Operation').selectOption('seed.released')
    await page.locator('caption', { hasText: 'seed.released, oldest first' }).waitFor()
    const ops = await page.locator('table.list tbody td[data-label="Operation"]').allInnerTexts()
    assert.deepEqual(ops, ['seed.released'])
  })

  it('works from the keyboard: skip link, navigation, focus on each view\'s heading', async () => {
    await page.goto('about:blank')
    await page.goto(ui())
    await heading('Node')
    await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to the content')
    await page.keyboard.press('Enter')
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1')
    await page.evaluate(() => { document.querySelector('.skip-link').focus() })
    let found = false
    for (let i = 0; i < 12 && !found; i++) {
      await page.keyboard.press('Tab')
      found = await page.evaluate(() => document.activeElement?.textContent === 'Orders')
    }
    assert.ok(found, 'the Orders link is reachable with Tab')
    await page.keyboard.press('Enter')
    await heading('Orders')
    await page.waitForFunction(() => document.activeElement?.tagName === 'H1' && document.activeElement.textContent === 'Orders')
  })

  it('measures the order view with a 4-part chain, cold and warm (reported, not asserted)', async (t: TestContext) => {
    const cdp = await browser.context.newCDPSession(page)
    interface Run { wallMs: number, inPageMs: number, chainApiMs: number, files: number, filesFromCache: number }
    const load = async (cold: boolean): Promise<Run> => {
      await page.goto('about:blank')
      if (cold) await cdp.send('Network.clearBrowserCache')
      const started = performance.now()
      await page.goto(ui(`order/${reference}`))
      await page.waitForFunction(() => document.querySelectorAll('.chain-svg .mark.ok').length === 4)
      const wallMs = performance.now() - started
      const inPage = await page.evaluate(() => {
        const entries = performance.getEntriesByType('resource') as unknown as Array<{ name: string, duration: number, transferSize: number }>
        const files = entries.filter(e => e.name.includes('/ui/v/'))
        return {
          now: performance.now(),
          chain: entries.find(e => e.name.endsWith('/chain'))?.duration ?? -1,
          files: files.length,
          fromCache: files.filter(e => e.transferSize === 0).length,
        }
      })
      return { wallMs, inPageMs: inPage.now, chainApiMs: inPage.chain, files: inPage.files, filesFromCache: inPage.fromCache }
    }
    await load(true) // unmeasured: warms the node's caches
    const cold: Run[] = []
    const warm: Run[] = []
    for (let i = 0; i < 5; i++) cold.push(await load(true))
    for (let i = 0; i < 5; i++) warm.push(await load(false))
    // the chain's API answer alone, from this process (the node's time plus one loopback request)
    const server: number[] = []
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      await node.ok(`/v1/order/${reference}/chain`)
      server.push(performance.now() - started)
    }
    // the warm loads took the console's files from the browser's cache (index.html names the immutable ones)
    assert.ok(warm.every(r => r.files > 0 && r.filesFromCache === r.files), JSON.stringify(warm))
    assert.ok(cold.every(r => r.files > 0 && r.filesFromCache === 0), JSON.stringify(cold))
    const median = (xs: number[]): number => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!)
    const summary = (runs: Run[]): Record<string, number> => ({
      wallMedianMs: median(runs.map(r => r.wallMs)), inPageMedianMs: median(runs.map(r => r.inPageMs)), chainApiInPageMedianMs: median(runs.map(r => r.chainApiMs)),
    })
    const report = {
      loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
      cold: summary(cold),
      warm: summary(warm),
      chainApiServerMedianMs: median(server),
      all: { cold, warm, server },
    }
    mkdirSync(OUTPUT_DIR, { recursive: true })
    writeFileSync(path.join(OUTPUT_DIR, 'order-view-load.json'), `${JSON.stringify(report, null, 2)}\n`)
    t.diagnostic(`order view with a 4-part chain, navigation to 4 verified boxes, median of 5: cold ${report.cold.wallMedianMs} ms, warm ${report.warm.wallMedianMs} ms ` +
      `(chain API in page ${report.cold.chainApiInPageMedianMs}/${report.warm.chainApiInPageMedianMs} ms, from the test ${report.chainApiServerMedianMs} ms; loadavg ${report.loadavg})`)
  })

  it('shows a part whose stored bytes were altered as failed, with the node\'s code', async () => {
    const chain = await node.ok<{ parts: Array<{ cid: string }> }>(`/v1/order/${reference}/chain`)
    assert.equal(await node.stop(), 'graceful')
    corruptDocument(node.home, chain.parts[2]!.cid)
    await node.start()
    await page.goto('about:blank')
    await page.goto(ui(`order/${reference}`))
    await page.locator('#chain-verdict', { hasText: '1 of 4 parts failed this node\'s checks.' }).waitFor()
    const boxes = page.locator('.chain-svg .box .part')
    assert.match(await boxes.nth(2).innerText(), /Part 3[\s\S]*Failed[\s\S]*DOCUMENT_CORRUPT/)
    for (const i of [0, 1, 3]) assert.match(await boxes.nth(i).innerText(), /Verified/)
    assert.equal(await page.locator('.chain-svg g.box.bad').count(), 1)
    await checkPage('order-tampered', async () => { await page.locator('#chain-verdict', { hasText: '1 of 4 parts failed' }).waitFor() })
  })
})
