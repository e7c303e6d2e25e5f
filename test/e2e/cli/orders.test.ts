/**
 * Issue 14 item 6, with the real binary against three real nodes (fiduciary, principal, and a
 * beneficiary's principal-type node, as three-servers.test.ts peers them): `order secret
 * --beneficiary` for a beneficiary held elsewhere prints the hand-off, and the command it prints
 * gives the secret on the beneficiary's node; `order create` on the fiduciary says orders go to a
 * principal or multi node; `order redeem` with a CID that is not a part 4 says what it is;
 * `order list` shows created time (UTC), plugin and state; `order get` reads as text; `audit`
 * pages the audit trail; times are ISO 8601 UTC in text and raw with --json.
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createCluster } from '../server/harness.ts'
import { literal, milagro } from './milagro.ts'

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ'
const HEX64 = /^[0-9a-f]{64}$/

/** The text answer's `key: value` line. */
function field (text: string, key: string): string {
  const value = new RegExp(`^${key}: (.*)$`, 'm').exec(text)?.[1]
  assert.ok(value !== undefined, `no ${key} in\n${text}`)
  return value
}

/** An ISO time within a day of now (a Unix-seconds value read as milliseconds would give 1970). */
function recent (iso: string): void {
  assert.ok(Math.abs(Date.parse(iso) - Date.now()) < 86_400_000, `${iso} is not today`)
}

describe('order commands across nodes', () => {
  it('hand-off, fiduciary refusal, not-a-part-4, list with state, get, audit, readable times', { timeout: 180_000 }, async (t) => {
    const cluster = await createCluster(t, 'dta-cli-orders-')
    const fiduciary = await cluster.init('fiduciary', { nodeType: 'fiduciary' })
    await fiduciary.start()
    const master = { cid: fiduciary.cid, url: fiduciary.url }
    const [beneficiaryNode, principal] = await Promise.all([
      cluster.init('beneficiary', { nodeType: 'principal', masterFiduciary: master }),
      cluster.init('principal', { nodeType: 'principal', masterFiduciary: master }),
    ])
    await beneficiaryNode.start({ peers: fiduciary.multiaddrs })
    await principal.start({ peers: [...fiduciary.multiaddrs, ...beneficiaryNode.multiaddrs] })
    await principal.waitForPeers(2)
    await beneficiaryNode.waitForPeers(2)
    const on = async (node: { url: string }, ...args: string[]) => await milagro([...args, '--url', node.url])

    const bob = (await on(beneficiaryNode, 'identity', 'create', 'bob')).stdout.trim()
    assert.match(bob, /^Qm\w{44}$/)
    const identities = await on(beneficiaryNode, 'identity', 'list')
    const bobLine = new RegExp(`^${bob}  bob +(${ISO})$`, 'm').exec(identities.stdout)
    assert.ok(bobLine !== null, identities.stdout)
    recent(bobLine[1])

    // ── the hand-off: the principal gets no secret, and is told what to give to whom ─────────────
    const handed = JSON.parse((await on(principal, 'order', 'create', '--json')).stdout) as Record<string, string>
    const released = await on(principal, 'order', 'secret', handed.orderReference, '--beneficiary', bob)
    assert.equal(released.code, 0, released.stderr)
    assert.doesNotMatch(released.stdout, /^secret:/m, 'no secret on the principal')
    const part4 = field(released.stdout, 'orderPart4CID')
    assert.match(released.stdout, literal(`give orderPart4CID ${part4} to ${bob}; on its node run`))
    const printed = /^ {2}(milagro order redeem .*)$/m.exec(released.stdout)?.[1]
    assert.equal(printed, `milagro order redeem ${part4}`)
    const redeemed = await on(beneficiaryNode, ...printed.split(' ').slice(1))
    assert.equal(redeemed.code, 0, redeemed.stderr)
    assert.match(field(redeemed.stdout, 'secret'), HEX64, 'the printed command gives the secret on the beneficiary\'s node')

    // ── order create on a fiduciary ──────────────────────────────────────────────────────────────
    const onFiduciary = await on(fiduciary, 'order', 'create')
    assert.equal(onFiduciary.code, 1)
    assert.match(onFiduciary.stderr, literal(`${fiduciary.url} is a fiduciary node`))
    assert.match(onFiduciary.stderr, /Orders go to a principal or multi node/)

    // ── order redeem with what is not a part 4 ───────────────────────────────────────────────────
    const part3 = field(released.stdout, 'orderPart3CID')
    const notPart4 = await on(beneficiaryNode, 'order', 'redeem', part3)
    assert.equal(notPart4.code, 1)
    assert.match(notPart4.stderr, literal(`${part3} is not a part 4 this node can redeem: it is signed by ${principal.cid} (principal)`))
    const identityCID = await on(beneficiaryNode, 'order', 'redeem', bob)
    assert.match(identityCID.stderr, literal(`${bob} is the identity document of bob, not an order's part 4`))
    const part1 = await on(principal, 'order', 'redeem', handed.orderPart1CID)
    assert.match(part1.stderr, literal(`${handed.orderPart1CID} is part 1 of order ${handed.orderReference} on this node, not its part 4`))
    const reference = await on(beneficiaryNode, 'order', 'redeem', handed.orderReference)
    assert.equal(reference.code, 2)
    assert.match(reference.stderr, /is an order reference, not a part 4 CID/)

    // ── order list and get: created, plugin, state ───────────────────────────────────────────────
    const mine = JSON.parse((await on(principal, 'order', 'create', '--json')).stdout) as Record<string, string>
    const secret = await on(principal, 'order', 'secret', mine.orderReference)
    assert.match(field(secret.stdout, 'secret'), HEX64)
    const open = JSON.parse((await on(principal, 'order', 'create', '--json')).stdout) as Record<string, string>
    const list = await on(principal, 'order', 'list')
    assert.equal(list.code, 0, list.stderr)
    const row = (ref: string): string[] => {
      const match = new RegExp(`^${ref}  (${ISO})  (\\w+) +(.+)$`, 'm').exec(list.stdout)
      assert.ok(match !== null, `no row for ${ref} in\n${list.stdout}`)
      recent(match[1])
      return [match[2], match[3]]
    }
    assert.deepEqual(row(open.orderReference), ['milagro', 'ordered'])
    assert.deepEqual(row(mine.orderReference), ['milagro', 'redeemed'])
    assert.deepEqual(row(handed.orderReference), ['milagro', `released to ${bob} (on another node: it redeems there)`])
    const listJson = JSON.parse((await on(principal, 'order', 'list', '--json')).stdout) as { orderReference: string[] }
    assert.deepEqual(new Set(listJson.orderReference), new Set([open.orderReference, mine.orderReference, handed.orderReference]), '--json: the API\'s answer')

    const shown = await on(principal, 'order', 'get', mine.orderReference)
    assert.match(shown.stdout, new RegExp(`^created +${ISO}$`, 'm'))
    assert.match(shown.stdout, /^state +redeemed$/m)
    assert.match(shown.stdout, new RegExp(`^secret +${field(secret.stdout, 'secret')}$`, 'm'))
    const shownJson = JSON.parse((await on(principal, 'order', 'get', mine.orderReference, '--json')).stdout) as { order: string }
    assert.equal(typeof (JSON.parse(shownJson.order) as { Timestamp: unknown }).Timestamp, 'number', '--json: raw Unix seconds')
    assert.match(field((await on(principal, 'order', 'create')).stdout, 'createdAt'), new RegExp(`^${ISO}$`))

    // ── audit ────────────────────────────────────────────────────────────────────────────────────
    const audit = await on(fiduciary, 'audit', '--per-page', '100')
    assert.equal(audit.code, 0, audit.stderr)
    const released4 = new RegExp(`^\\d+ +(${ISO}) +seed\\.released +order/fiduciary/${handed.orderReference} +${bob}`, 'm').exec(audit.stdout)
    assert.ok(released4 !== null, audit.stdout)
    recent(released4[1])
    const page = await on(fiduciary, 'audit', '--per-page', '1', '--page', '1')
    assert.equal(page.stdout.trim().split('\n').length, 1)
    const auditJson = JSON.parse((await on(fiduciary, 'audit', '--json')).stdout) as { auditList: Array<{ at: unknown }> }
    assert.equal(typeof auditJson.auditList[0].at, 'number', '--json: raw milliseconds')
  })
})
