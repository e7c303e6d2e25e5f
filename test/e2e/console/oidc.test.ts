/**
 * The web console with OAuth2 on, in Debian's Chromium, against a real `milagro daemon` whose
 * `http.oidcIssuer` is a real OIDC provider running in the test (test/security/fixtures/oidc.ts):
 * - without a token, the console is a sign-in prompt and nothing else: no navigation, no node
 *   CID, no order — every API answer it got was 401 — also on a deep link to an order;
 * - a refused token shows the node's code, and still no data;
 * - a token from the issuer opens the deep-linked order, the node (authentication on, no warning)
 *   and its orders; the token is in memory only: nothing in localStorage or sessionStorage, and a reload asks again;
 * - the sign-in page passes axe-core at both sizes; screenshots of it.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { AUDIENCE, startTestIssuer } from '../../security/fixtures/oidc.ts'
import type { TestIssuer } from '../../security/fixtures/oidc.ts'
import { createCluster } from '../server/harness.ts'
import type { Cluster, ServerNode } from '../server/harness.ts'
import { axe, openBrowser, pageHolds, settled, shoot, SIZES, watch } from './browser.ts'
import type { Browser, Watched } from './browser.ts'

// Browser globals, for the functions page.evaluate runs in the page (the project's lib has no DOM).
declare const localStorage: { length: number }, sessionStorage: { length: number }

describe('the web console with OAuth2 bearer tokens on', () => {
  let idp: TestIssuer
  let cluster: Cluster
  let node: ServerNode
  let browser: Browser
  let page: Page
  let watched: Watched
  let reference: string
  const apiStatuses: number[] = []

  before(async () => {
    idp = await startTestIssuer()
    cluster = await createCluster(undefined, 'dta-console-oidc-')
    node = await cluster.init('console-oidc', { nodeType: 'multi', service: 'milagro', env: { MILAGRO_HTTP_OIDCISSUER: idp.issuer, MILAGRO_HTTP_OIDCAUDIENCE: AUDIENCE } })
    await node.start()
    const placed = await fetch(`${node.url}/v1/order`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await idp.token()}` }, body: '{}' })
    assert.equal(placed.status, 200)
    reference = ((await placed.json()) as { orderReference: string }).orderReference
    browser = await openBrowser()
    page = await browser.context.newPage()
    watched = watch(page)
    page.on('response', (response) => { if (new URL(response.url()).pathname.startsWith('/v1/')) apiStatuses.push(response.status()) })
  })
  after(async () => {
    await browser?.close()
    await cluster?.close()
    await idp?.stop()
  })

  async function noData (where: string): Promise<void> {
    assert.equal(await page.locator('.main-nav').count(), 0, `${where}: no navigation`)
    assert.equal(await page.locator('#auth-warning').count(), 0, `${where}: no warning either (authentication is on)`)
    for (const datum of [node.cid, node.peerID, reference]) assert.equal(await pageHolds(page, datum), false, `${where}: ${datum} is not in the page`)
  }

  it('without a token: a sign-in prompt and no data, also on a deep link to an order', async () => {
    for (const route of ['', 'audit', `order/${reference}`]) {
      apiStatuses.length = 0
      await page.goto('about:blank')
      await page.goto(`${node.url}/ui/#/${route}`)
      await page.locator('main h1', { hasText: 'Sign in' }).waitFor()
      assert.ok(await page.getByLabel('Access token').isVisible())
      await noData(`#/${route}`)
      assert.ok(apiStatuses.length > 0 && apiStatuses.every(s => s === 401), `every API answer was 401: ${apiStatuses.join(', ')}`)
    }
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height })
      await settled(page)
      assert.deepEqual(await axe(page), [], `axe on the sign-in page at ${size.width}×${size.height}`)
      await shoot(page, `signin-${size.name}`)
    }
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('a refused token shows the node\'s code, and still no data', async () => {
    await page.getByLabel('Access token').fill('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')
    await page.getByRole('button', { name: 'Sign in' }).click()
    const refusal = page.locator('.error', { hasText: 'The token was refused' })
    await refusal.waitFor()
    assert.match(await refusal.innerText(), /AUTH_ALGORITHM_REFUSED/)
    await noData('after a refused token')
  })

  it('a token from the issuer shows the node and its orders; it is kept in memory only', async () => {
    await page.getByLabel('Access token').fill(await idp.token())
    await page.getByRole('button', { name: 'Sign in' }).click()
    // signed in, the view the URL names opens: the deep link to the order the first test left
    await page.locator('#chain-verdict', { hasText: 'All 2 parts verified by this node.' }).waitFor()
    await page.getByRole('link', { name: 'Node' }).click()
    await page.locator('main h1', { hasText: 'Node' }).waitFor()
    const text = await page.locator('main').innerText()
    assert.ok(text.includes(node.cid))
    assert.match(text, /Authentication\s+On/)
    assert.ok(text.includes(idp.issuer))
    assert.equal(await page.locator('#auth-warning').count(), 0)
    await page.getByRole('link', { name: 'Orders' }).click()
    await page.locator('table.list td', { hasText: reference }).waitFor()
    assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0], 'no token in the browser\'s storage')
    await page.reload()
    await page.locator('main h1', { hasText: 'Sign in' }).waitFor()
    await noData('after a reload')
    assert.deepEqual(watched.problems, [])
  })
})
