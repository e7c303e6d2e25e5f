/**
 * The order flows of the server e2e suite, per plugin (PROTOCOL §2, §7, §8): what each plugin is
 * asked at order time and at redemption, and what its answers must satisfy — the same commitment
 * at order and at redemption, a secret that really is the commitment's private key (milagro,
 * bitcoinwallet), the original plaintext back (safeguardsecret), the same P2PKH address at order
 * and redemption, derived from the released key (bitcoinwallet). Secrets are compared with
 * assert.ok so that a failure never prints one.
 * @module
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { p2pkhAddress, secpPublicKey, secpUncompressedPublicKey } from '../../../src/crypto/secp256k1.ts'
import { readState } from './harness.ts'
import type { PluginName, ServerNode } from './harness.ts'

export const ALL_PLUGINS: PluginName[] = ['milagro', 'safeguardsecret', 'bitcoinwallet']
const HEX = /^[0-9a-f]+$/
const CID = /^Qm[1-9A-HJ-NP-Za-km-z]{44}$/

export interface Placed {
  plugin: PluginName
  reference: string
  commitment: string
  createdAt: number
  extension: Record<string, string>
  orderPart1CID: string
  orderPart2CID: string
  beneficiary?: string
  /** safeguardsecret: the plaintext given at order time. */
  plainText?: string
  /** bitcoinwallet: the network asked for. */
  coin?: '0' | '1'
}

interface OrderAnswer {
  orderReference: string
  commitment: string
  createdAt: number
  extension: Record<string, string>
  orderPart1CID: string
  orderPart2CID: string
}

export interface Redeemed {
  secret?: string
  commitment: string
  orderReference: string
  extension: Record<string, string>
  orderPart3CID: string
  orderPart4CID: string
}

let counter = 0

/** POST /v1/order with the plugin's usual extension; checks the answer's shape. */
export async function placeOrder (node: ServerNode, plugin: PluginName, options: { beneficiary?: string } = {}): Promise<Placed> {
  counter++
  const body: Record<string, unknown> = {}
  if (options.beneficiary !== undefined) body.beneficiaryIDDocumentCID = options.beneficiary
  let plainText: string | undefined
  let coin: '0' | '1' | undefined
  if (plugin === 'safeguardsecret') {
    plainText = `e2e secret ${counter} ${randomBytes(8).toString('hex')} ✓`
    body.extension = { plainText }
  } else if (plugin === 'bitcoinwallet') {
    coin = counter % 2 === 0 ? '0' : '1'
    body.extension = { coin }
  }
  const r = await node.ok<OrderAnswer>('/v1/order', body)
  assert.match(r.orderReference, /^[0-9a-f]{32}$/)
  const placed: Placed = {
    plugin,
    reference: r.orderReference,
    commitment: r.commitment,
    createdAt: r.createdAt,
    extension: r.extension,
    orderPart1CID: r.orderPart1CID,
    orderPart2CID: r.orderPart2CID,
    beneficiary: options.beneficiary,
    plainText,
    coin,
  }
  assert.match(placed.commitment, HEX, 'commitment is hex')
  assert.match(placed.orderPart1CID, CID)
  assert.match(placed.orderPart2CID, CID)
  assert.ok(Math.abs(placed.createdAt - Date.now() / 1000) < 120, 'createdAt is in seconds, now')
  if (plugin === 'milagro') {
    assert.equal(placed.commitment.length, 66, 'a compressed secp256k1 key')
  } else if (plugin === 'safeguardsecret') {
    const { cypherText, v, t } = placed.extension
    assert.match(cypherText ?? '', HEX, 'extension.cypherText')
    assert.match(v ?? '', /^04[0-9a-f]{128}$/, 'extension.v is an uncompressed point')
    assert.match(t ?? '', /^[0-9a-f]{24}$/, 'extension.t is 12 bytes')
    assert.ok(!JSON.stringify(placed.extension).includes(plainText!), 'the plaintext is not echoed back')
  } else {
    assert.equal(placed.commitment.length, 66, 'the final compressed public key')
    assert.match(placed.extension.address ?? '', coin === '0' ? /^1[1-9A-HJ-NP-Za-km-z]{25,34}$/ : /^[mn][1-9A-HJ-NP-Za-km-z]{25,34}$/, 'P2PKH address of the network asked for')
  }
  return placed
}

/** The request body of POST /v1/order/secret for a placed order. */
export function redemptionBody (placed: Placed, options: { beneficiary?: string } = {}): Record<string, unknown> {
  const body: Record<string, unknown> = { orderReference: placed.reference }
  if (options.beneficiary !== undefined) body.beneficiaryIDDocumentCID = options.beneficiary
  if (placed.plugin === 'safeguardsecret') {
    const { cypherText, v, t } = placed.extension
    body.extension = { cypherText, v, t }
  }
  return body
}

/** The extension a beneficiary's own node needs next to orderPart4CID (safeguardsecret: the ciphertext). */
export function beneficiaryExtension (placed: Placed): Record<string, string> | undefined {
  if (placed.plugin !== 'safeguardsecret') return undefined
  const { cypherText, v, t } = placed.extension
  return { cypherText, v, t }
}

/** POST /v1/order/secret on the principal (or multi) node. */
export async function redeem (node: ServerNode, placed: Placed, options: { beneficiary?: string } = {}): Promise<Redeemed> {
  const r = await node.ok<Redeemed>('/v1/order/secret', redemptionBody(placed, options))
  assert.equal(r.orderReference, placed.reference)
  assert.match(r.orderPart3CID, CID)
  assert.match(r.orderPart4CID, CID)
  return r
}

/** The checks every redemption that released a secret to its caller must pass. */
export function checkRedeemed (placed: Placed, redeemed: Redeemed): void {
  assert.equal(redeemed.commitment, placed.commitment, 'the same commitment at order and at redemption')
  assert.equal(redeemed.orderReference, placed.reference)
  assert.equal(typeof redeemed.secret, 'string', 'a secret was released')
  const secret = redeemed.secret!
  if (placed.plugin === 'milagro' || placed.plugin === 'bitcoinwallet') {
    assert.ok(/^[0-9a-f]{64}$/.test(secret), 'the secret is a 32-byte private key in hex')
    const pub = secpPublicKey(Buffer.from(secret, 'hex'))
    assert.equal(Buffer.from(pub).toString('hex'), placed.commitment, 'the secret is the private key of the commitment')
  }
  if (placed.plugin === 'bitcoinwallet') {
    assert.equal(redeemed.extension.address, placed.extension.address, 'the same address at order and at redemption')
    const uncompressed = secpUncompressedPublicKey(secpPublicKey(Buffer.from(secret, 'hex')))
    assert.equal(redeemed.extension.address, p2pkhAddress(uncompressed, placed.coin === '0' ? 'mainnet' : 'testnet'), 'the address is the released key\'s')
  }
  if (placed.plugin === 'safeguardsecret') {
    assert.ok(redeemed.extension.plainText === placed.plainText, 'safeguardsecret returns the original plaintext')
  }
}

/** The checks of a redemption answered by a principal for a beneficiary it does not hold. */
export function checkWithheld (placed: Placed, redeemed: Redeemed, beneficiary: string): void {
  assert.equal(redeemed.secret, undefined, 'the principal answers without the secret')
  assert.ok(!('secret' in redeemed), 'no secret field at all')
  assert.equal(redeemed.extension.beneficiaryIDDocumentCID, beneficiary, 'the answer names the beneficiary who can redeem')
  if (placed.plugin === 'safeguardsecret') assert.equal(redeemed.extension.plainText, undefined, 'no plaintext either')
}

/**
 * Decodes GET /v1/order/{ref} — the original D-TA's order document shape (PROTOCOL §8) plus our
 * keys — and checks it shows the full chain after redemption, with OrderPart4.Secret the secret
 * the redemption answered when this node can read part 4.
 */
export async function checkOrderDocument (node: ServerNode, placed: Placed, redeemed: Redeemed | undefined, options: { secretReadable?: boolean, redemptionBeneficiary?: string } = {}): Promise<Record<string, any>> {
  const got = await node.ok<{ orderCID: string, order: string }>(`/v1/order/${placed.reference}`)
  const order = JSON.parse(got.order) as Record<string, any>
  assert.equal(order.Reference, placed.reference)
  assert.equal(order.Type, 'Safeguard_Secret')
  assert.equal(order.plugin, placed.plugin)
  assert.equal(order.BeneficiaryCID, placed.beneficiary ?? '')
  assert.equal(order.BeneficiaryType, placed.beneficiary === undefined ? 2 : 1)
  assert.ok(Number.isInteger(order.Timestamp) && Math.abs(order.Timestamp - Date.now() / 1000) < 3600, 'Timestamp in Unix seconds')
  assert.equal(order.chain.orderPart1CID, placed.orderPart1CID)
  assert.equal(order.chain.orderPart2CID, placed.orderPart2CID)
  assert.equal(order.OrderPart2.PreviousOrderCID, placed.orderPart1CID)
  assert.match(order.OrderPart2.CommitmentPublicKey, /^0[23][0-9a-f]{64}$/)
  assert.equal(order.proofOfPossession.length, 128)
  if (placed.plugin === 'milagro') assert.equal(order.OrderPart2.CommitmentPublicKey, placed.commitment)
  assert.equal(order.commitment, placed.commitment)
  assert.ok(Array.isArray(order.parts) && order.parts.every((p: { signerCID: string, recipients: string[] }) => typeof p.signerCID === 'string' && p.recipients.length > 0))
  if (redeemed === undefined) {
    assert.equal(got.orderCID, placed.orderPart2CID, 'an unredeemed order shows part 2 as its newest part')
    assert.equal(order.OrderPart3, undefined)
    assert.equal(order.chain.orderPart3CID, null)
    return order
  }
  assert.equal(order.chain.orderPart3CID, redeemed.orderPart3CID)
  assert.equal(order.chain.orderPart4CID, redeemed.orderPart4CID)
  assert.equal(order.OrderPart3.PreviousOrderCID, placed.orderPart2CID)
  assert.equal(order.redemptionBeneficiaryCID, options.redemptionBeneficiary ?? '')
  if (options.secretReadable ?? true) {
    assert.equal(got.orderCID, redeemed.orderPart4CID, 'the newest part is part 4')
    assert.equal(order.OrderPart4.PreviousOrderCID, redeemed.orderPart3CID)
    assert.ok(typeof redeemed.secret === 'string' && order.OrderPart4.Secret === redeemed.secret, 'OrderPart4.Secret is the secret the redemption answered')
  } else {
    assert.equal(got.orderCID, redeemed.orderPart3CID, 'part 4 is not readable here: part 3 is the newest part shown')
    assert.equal(order.OrderPart4, undefined)
  }
  return order
}

/** The secret must not appear anywhere in a response body. */
export function assertNotContains (body: unknown, secret: string, what: string): void {
  assert.ok(!JSON.stringify(body).includes(secret), `${what} does not contain the secret`)
}

/**
 * The whole single-principal tour on `node` (a multi node, or a principal with its fiduciary):
 * an identity created there as beneficiary; orders without beneficiary, with one at order time
 * and with one at redemption, each redeemed with the same commitment; a repeated redemption; one
 * order left open; the decoded chains; the order list paged and sorted; the identity list.
 * Returns the orders and their redemptions for further checks.
 */
export async function exerciseOrderFlows (node: ServerNode, plugin: PluginName): Promise<{ beneficiary: string, orders: Array<{ placed: Placed, redeemed?: Redeemed }> }> {
  const beneficiary = (await node.ok<{ idDocumentCID: string }>('/v1/identity', { name: 'beneficiary' })).idDocumentCID
  const shown = await node.ok(`/v1/identity/${beneficiary}`)
  assert.equal(shown.authenticationReference, 'beneficiary')

  // No beneficiary.
  const plain = await placeOrder(node, plugin)
  const plainRedeemed = await redeem(node, plain)
  checkRedeemed(plain, plainRedeemed)
  // Redeeming again gives the same secret (the principal writes a fresh part 3 each time; the
  // fiduciary's "same part 3 → same part 4" is checked in refusals.test.ts).
  const again = await redeem(node, plain)
  checkRedeemed(plain, again)
  assert.ok(again.secret === plainRedeemed.secret, 'the same secret again')

  // Beneficiary named at order time (an identity this node holds, so it gets the secret here).
  const atOrder = await placeOrder(node, plugin, { beneficiary })
  const atOrderRedeemed = await redeem(node, atOrder)
  checkRedeemed(atOrder, atOrderRedeemed)

  // Beneficiary named at redemption.
  const atRedemption = await placeOrder(node, plugin)
  const atRedemptionRedeemed = await redeem(node, atRedemption, { beneficiary })
  checkRedeemed(atRedemption, atRedemptionRedeemed)

  // Every order has its own key.
  assert.equal(new Set([plain.commitment, atOrder.commitment, atRedemption.commitment]).size, 3)

  // One order left unredeemed.
  const open = await placeOrder(node, plugin)

  // Full decoded chains.
  await checkOrderDocument(node, plain, again)
  await checkOrderDocument(node, atOrder, atOrderRedeemed)
  await checkOrderDocument(node, atRedemption, atRedemptionRedeemed, { redemptionBeneficiary: beneficiary })
  await checkOrderDocument(node, open, undefined)

  // The list: paged (zero-based pages), both sort orders, out of range → empty.
  const created = [plain, atOrder, atRedemption, open].map(o => o.reference)
  const all = (await node.ok<{ orderReference: string[] }>('/v1/order?perPage=100&sortBy=dateCreatedAsc')).orderReference
  assert.deepEqual(all, created, 'ascending: creation order')
  const desc = (await node.ok<{ orderReference: string[] }>('/v1/order?perPage=100&sortBy=dateCreatedDesc')).orderReference
  assert.deepEqual(desc, [...created].reverse(), 'descending: newest first')
  const paged: string[] = []
  for (let page = 0; page < 2; page++) {
    const got = (await node.ok<{ orderReference: string[] }>(`/v1/order?page=${page}&perPage=3&sortBy=dateCreatedAsc`)).orderReference
    assert.equal(got.length, page === 0 ? 3 : 1)
    paged.push(...got)
  }
  assert.deepEqual(paged, created, 'pages concatenate to the whole list')
  const descPage = (await node.ok<{ orderReference: string[] }>('/v1/order?page=1&perPage=2&sortBy=dateCreatedDesc')).orderReference
  assert.deepEqual(descPage, [created[1], created[0]])
  const beyond = await node.get('/v1/order?page=5&perPage=2')
  assert.equal(beyond.status, 200)
  assert.deepEqual(beyond.body, { orderReference: [] }, 'a page past the end is empty')
  const defaults = (await node.ok<{ orderReference: string[] }>('/v1/order')).orderReference
  assert.deepEqual(defaults, [...created].reverse(), 'default: page 0, newest first')

  // Identities held: the node's own and the beneficiary.
  const ids = (await node.ok<{ idDocumentList: Array<{ idDocumentCID: string }> }>('/v1/identity?sortBy=dateCreatedAsc')).idDocumentList.map(i => i.idDocumentCID)
  assert.deepEqual(ids, [node.cid, beneficiary])

  return { beneficiary, orders: [{ placed: plain, redeemed: again }, { placed: atOrder, redeemed: atOrderRedeemed }, { placed: atRedemption, redeemed: atRedemptionRedeemed }, { placed: open }] }
}

/**
 * Reads the stopped nodes' databases: the principal recorded every order with the part 2 it was
 * given and the commitment it answered; the fiduciary holds a row with its sealed seed and the
 * same parts for each, released (part 4, `seed.released` in the audit) exactly when redeemed.
 * With two homes, each store holds only its own side.
 */
export function checkStores (principalHome: string, fiduciaryHome: string, orders: Array<{ placed: Placed, redeemed?: Redeemed }>): void {
  const p = readState(principalHome)
  const f = principalHome === fiduciaryHome ? p : readState(fiduciaryHome)
  if (principalHome !== fiduciaryHome) {
    assert.deepEqual(p.orders.filter(o => o.role !== 'principal'), [], 'the principal store holds no fiduciary rows')
    assert.deepEqual(f.orders.filter(o => o.role !== 'fiduciary'), [], 'the fiduciary store holds no principal rows')
  }
  for (const { placed, redeemed } of orders) {
    const pr = p.orders.find(o => o.role === 'principal' && o.reference === placed.reference)
    const fr = f.orders.find(o => o.role === 'fiduciary' && o.reference === placed.reference)
    assert.ok(pr !== undefined && fr !== undefined, `both rows of ${placed.reference}`)
    assert.equal(pr.part1_cid, placed.orderPart1CID)
    assert.equal(pr.part2_cid, placed.orderPart2CID)
    assert.equal(pr.commitment, placed.commitment)
    assert.equal(fr.part1_cid, placed.orderPart1CID)
    assert.equal(fr.part2_cid, placed.orderPart2CID)
    assert.equal(fr.has_seed, 1, 'the fiduciary row has its sealed seed')
    assert.equal(fr.seed_record_id, `order/fiduciary/${placed.reference}`)
    const releases = f.audit.filter(a => a.op === 'seed.released' && a.reference === fr.seed_record_id)
    if (redeemed === undefined) {
      assert.equal(fr.part4_cid, null)
      assert.equal(releases.length, 0, 'an open order released nothing')
    } else {
      assert.equal(pr.part4_cid, redeemed.orderPart4CID)
      assert.equal(fr.part4_cid, redeemed.orderPart4CID)
      assert.ok(releases.length >= 1, 'the release is in the audit trail')
    }
    const seeds = f.audit.filter(a => a.op === 'seed.created' && a.reference === fr.seed_record_id)
    assert.equal(seeds.length, 1, 'one seed per order')
  }
}
