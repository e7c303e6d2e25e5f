/**
 * `milagro init --interactive` with its answers piped in (issue 14, item 8), with the real binary:
 * one reader for the whole session, so every piped line is an answer; a bad node type, plugin or
 * master fiduciary is refused at once, saying what is allowed, and asked again; empty answers take
 * the defaults; input that ends before every question is answered is an error (exit 1), never a
 * hang or Node's "unsettled top-level await" (exit 13).
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { failureLine, nodeEnv, run, tempHome } from './processes.ts'

const FIDUCIARY_CID = 'QmSuPFEMXHXsZ3F93JYPfaDSzwvp6ruQfhVd2BHbvHgTzz'

function configOf (home: string): string {
  return readFileSync(path.join(home, 'config.yaml'), 'utf8')
}

describe('milagro init --interactive', () => {
  it('reads piped answers, and asks again after a bad node type or plugin, naming the allowed values', async (t) => {
    const home = tempHome(t, 'dta-interactive-')
    const result = await run(['init', '--interactive'], nodeEnv(home), { input: 'alice\nfid\nfiduciary\nmilagr\nsafeguardsecret\n' })
    assert.equal(result.code, 0, result.stderr)
    const output = result.stdout + result.stderr
    assert.match(output, /fid.*must be one of multi, principal, fiduciary/)
    assert.match(output, /milagr.*must be one of milagro, safeguardsecret, bitcoinwallet/)
    assert.equal(output.match(/Node type \(/g)?.length, 2, 'the node type was asked twice')
    assert.equal(output.match(/Plugin \(/g)?.length, 2, 'the plugin was asked twice')
    const config = configOf(home)
    assert.match(config, /nodeName: alice/)
    assert.match(config, /nodeType: fiduciary/)
    assert.match(config, /service: safeguardsecret/)
  })

  it('for a principal, asks for the master fiduciary until it is a CID,URL pair', async (t) => {
    const home = tempHome(t, 'dta-interactive-principal-')
    const answers = ['bob', 'principal', '', '', 'not-a-cid,http://127.0.0.1:5556', `${FIDUCIARY_CID},ftp://fid`, `${FIDUCIARY_CID},http://127.0.0.1:5556`, '']
    const result = await run(['init', '--interactive'], nodeEnv(home), { input: answers.join('\n') })
    assert.equal(result.code, 0, result.stderr)
    const output = result.stdout + result.stderr
    assert.match(output, /a principal needs its master fiduciary/i)
    assert.match(output, /not-a-cid.*CID/)
    assert.match(output, /ftp:\/\/fid.*http/)
    const config = configOf(home)
    assert.match(config, /nodeType: principal/)
    assert.match(config, /service: milagro/, 'an empty answer takes the default')
    assert.match(config, new RegExp(`masterFiduciaryNodeID: ${FIDUCIARY_CID}`))
    assert.match(config, /masterFiduciaryServer: http:\/\/127\.0\.0\.1:5556/)
  })

  it('takes the defaults for empty answers', async (t) => {
    const home = tempHome(t, 'dta-interactive-defaults-')
    const result = await run(['init', '--interactive', '--nodename', 'carol'], nodeEnv(home), { input: '\n\n\n' })
    assert.equal(result.code, 0, result.stderr)
    const config = configOf(home)
    assert.match(config, /nodeName: carol/, 'a flag is the default of its question')
    assert.match(config, /nodeType: multi/)
    assert.match(config, /service: milagro/)
  })

  it('stops with exit 1 and says which question was not answered when the input ends early', async (t) => {
    const home = tempHome(t, 'dta-interactive-eof-')
    const result = await run(['init', '--interactive'], nodeEnv(home), { input: 'dave\nmulti\n', timeoutMs: 30_000 })
    assert.equal(result.signal, null, 'it did not hang')
    assert.equal(result.code, 1, result.stderr)
    assert.match(failureLine(result.stderr, 'init') ?? '', /Plugin.*input ended/)
    assert.ok(!existsSync(path.join(home, 'config.yaml')), 'nothing was initialised')
  })
})
