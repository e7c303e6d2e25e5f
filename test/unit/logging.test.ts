/**
 * Issue 14, item 11: the logs.
 * - `log.format` is `auto` by default: readable text when the output is a terminal, JSON lines
 *   otherwise; `json` and `text` force one;
 * - a real node writes one info line per domain event — identity created, order placed (and
 *   accepted, on its fiduciary side), secret released (to whom) and redeemed, order and release
 *   refused (the code and why) — and each HTTP request only at debug;
 * - the process title names the node: `milagro <nodename>`.
 * @module
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import { createLogger, logDomainEvents, textLine } from '../../src/logging.ts'
import { createNode, initNode } from '../../src/node.ts'

/** A stream that keeps what is written; `isTTY` as a terminal's stderr has it. */
function sink (isTTY: boolean): Writable & { text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _enc, done) { chunks.push(chunk.toString('utf8')); done() } }) as Writable & { text: () => string, isTTY?: boolean }
  if (isTTY) stream.isTTY = true
  stream.text = () => chunks.join('')
  return stream
}

async function flushed (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
}

describe('log format', () => {
  it('is auto by default: text on a terminal, JSON otherwise', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'dta-log-format-'))
    try {
      const config = await loadConfig({ home, env: {} })
      assert.equal(config.log.format, 'auto')
      const terminal = sink(true)
      const piped = sink(false)
      createLogger(config.log, terminal).info({ orderReference: 'abc', reason: 'two words' }, 'order placed')
      createLogger(config.log, piped).info({ orderReference: 'abc' }, 'order placed')
      await flushed()
      assert.match(terminal.text(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  order placed orderReference=abc reason="two words"\n$/)
      const line = JSON.parse(piped.text()) as Record<string, unknown>
      assert.equal(line.msg, 'order placed')
      assert.equal(line.level, 30)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })

  it('json and text force their format, whatever the output', async () => {
    const terminal = sink(true)
    const piped = sink(false)
    createLogger({ level: 'info', format: 'json' }, terminal).warn('w')
    createLogger({ level: 'info', format: 'text' }, piped).warn({ n: 1 }, 'w')
    await flushed()
    assert.equal((JSON.parse(terminal.text()) as { msg: string }).msg, 'w')
    assert.match(piped.text(), /Z WARN  w n=1\n$/)
    assert.equal(textLine('not json'), 'not json')
  })

  it('a failure event (a 5xx code) is a warning, a refusal an info line', async () => {
    const out = sink(false)
    const events = logDomainEvents(createLogger({ level: 'info', format: 'json' }, out))
    events.emit({ type: 'release.refused', role: 'principal', plugin: 'milagro', code: 'PEER_UNREACHABLE', reason: 'The peer node could not be reached' })
    events.emit({ type: 'release.refused', role: 'fiduciary', plugin: 'milagro', code: 'ORDER_NOT_ENTITLED', reason: 'neither principal nor beneficiary' })
    await flushed()
    const lines = out.text().trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(lines.map(l => [l.level, l.msg, l.event, l.code]), [
      [40, 'release failed', 'release.refused', 'PEER_UNREACHABLE'],
      [30, 'release refused', 'release.refused', 'ORDER_NOT_ENTITLED'],
    ])
  })
})

describe('a node\'s log', () => {
  it('one info line per domain event, requests at debug only, and the process title', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'dta-log-events-'))
    const env = { MILAGRO_IPFS_LISTENADDR: '/ip4/127.0.0.1/tcp/0', MILAGRO_IPFS_FETCHTIMEOUTMS: '300' }
    const out = sink(false)
    const debugOut = sink(false)
    try {
      await initNode({ home, nodeName: 'logbook', env })
      const config = await loadConfig({ home, env })
      const node = await createNode({ home, config, logger: createLogger({ level: 'info', format: 'json' }, out) })
      try {
        assert.equal(process.title, 'milagro logbook')
        const call = async (method: 'GET' | 'POST', url: string, payload?: object): Promise<Record<string, string>> =>
          (await node.app.inject({ method, url, ...(payload === undefined ? {} : { payload }) })).json()
        const bob = (await call('POST', '/v1/identity', { name: 'bob' })).idDocumentCID!
        const order = await call('POST', '/v1/order', { beneficiaryIDDocumentCID: bob })
        const redeemed = await call('POST', '/v1/order/secret', { orderReference: order.orderReference! })
        assert.match(String(redeemed.secret), /^[0-9a-f]{64}$/)
        // the fiduciary side refuses a part 3 from someone who is neither principal nor beneficiary
        assert.equal((await call('POST', '/v1/fulfill/order/secret', { orderPart3CID: order.orderPart2CID!, documentCID: bob })).code, 'ENVELOPE_WRONG_SIGNER')
        assert.equal((await call('POST', '/v1/order', { extension: { nope: 'x' } })).code, 'PLUGIN_BAD_EXTENSION')
        await call('GET', '/v1/status')
        await flushed()

        const lines = out.text().trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
        const events = lines.filter(l => l.event !== undefined)
        assert.deepEqual(events.map(l => [l.level, l.msg]), [
          [30, 'identity created'],
          [30, 'order accepted'],
          [30, 'order placed'],
          [30, 'secret released'],
          [30, 'secret redeemed'],
          [30, 'release refused'],
          [30, 'order refused'],
        ], JSON.stringify(events))
        const [created, accepted, placed, released, redeemedLine, refused, orderRefused] = events
        assert.equal(created!.idDocumentCID, bob)
        assert.deepEqual([accepted!.role, accepted!.orderReference, accepted!.principalCID, accepted!.beneficiaryCID], ['fiduciary', order.orderReference, node.nodeCID, bob])
        assert.deepEqual([placed!.role, placed!.plugin, placed!.orderPart1CID, placed!.orderPart2CID], ['principal', 'milagro', order.orderPart1CID, order.orderPart2CID])
        assert.deepEqual([released!.role, released!.recipientCID, released!.orderPart4CID], ['fiduciary', bob, redeemed.orderPart4CID], 'to whom')
        assert.deepEqual([redeemedLine!.role, redeemedLine!.recipientCID, redeemedLine!.handedOff], ['principal', bob, false])
        assert.deepEqual([refused!.role, refused!.code, refused!.requesterCID], ['fiduciary', 'ENVELOPE_WRONG_SIGNER', bob])
        assert.match(String(refused!.reason), /not signed by the expected identity/, 'why')
        assert.deepEqual([orderRefused!.code, orderRefused!.reason], ['PLUGIN_BAD_EXTENSION', 'The extension fields are not valid for this plugin: unknown field(s) nope'])
        // no access line at info, and no secret in any line
        assert.ok(!lines.some(l => ['incoming request', 'request completed', 'request refused'].includes(String(l.msg))), out.text())
        assert.ok(!out.text().includes(String(redeemed.secret)))
      } finally {
        await node.stop()
      }

      // at debug, one line per request
      const debugNode = await createNode({ home, config: await loadConfig({ home, env: { ...env, MILAGRO_LOG_LEVEL: 'debug' } }), logger: createLogger({ level: 'debug', format: 'json' }, debugOut) })
      try {
        await debugNode.app.inject({ method: 'GET', url: '/v1/identity?perPage=2' })
        await flushed()
        const access = debugOut.text().trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>).filter(l => l.msg === 'request completed')
        assert.deepEqual(access.map(l => [l.level, l.method, l.url, l.route, l.statusCode]), [[20, 'GET', '/v1/identity?perPage=2', '/v1/identity', 200]])
      } finally {
        await debugNode.stop()
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
