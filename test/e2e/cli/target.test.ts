/**
 * Issue 14 item 4, with the real binary: which node a client command talks to. A home that does
 * not exist (or has no config.yaml) is refused with its path and what to do — and nothing is
 * called, even with MILAGRO_HTTP_LISTENADDR pointing at a node; the home's config.yaml wins over
 * MILAGRO_HTTP_LISTENADDR exported for another node (a note says so), `--url` wins over both;
 * `-v` prints the URL on stderr; `--url` without a scheme is refused with the fix. (`--url` at a
 * real node's metrics port: cli.test.ts, which runs a node.)
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { configYaml, fakeNode, literal, milagro } from './milagro.ts'
import type { FakeNode } from './milagro.ts'

describe('which node a client command talks to', () => {
  let root: string
  let mine: FakeNode
  let other: FakeNode
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'dta-cli-target-'))
    mine = await fakeNode({ nodeCID: 'QmMine', nodeType: 'multi', plugin: 'milagro' })
    other = await fakeNode({ nodeCID: 'QmOther', nodeType: 'multi', plugin: 'milagro' })
  })
  after(async () => {
    await mine.close()
    await other.close()
    rmSync(root, { recursive: true, force: true })
  })

  it('refuses a home that does not exist, naming it and what to do, and calls no node', async () => {
    const missing = path.join(root, 'nonexistent')
    const before = other.requests.length
    const r = await milagro(['status'], { MILAGRO_HOME: missing, MILAGRO_HTTP_LISTENADDR: other.address })
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, literal(`no node home at ${missing} (MILAGRO_HOME)`))
    assert.match(r.stderr, /milagro init/)
    assert.match(r.stderr, /--url/)
    assert.equal(other.requests.length, before, 'no request went to the node of the environment')
  })

  it('refuses a folder that is not an initialised home (no config.yaml)', async () => {
    const empty = path.join(root, 'empty')
    mkdirSync(empty)
    const r = await milagro(['order', 'list'], { MILAGRO_HOME: empty })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /not an initialised node home \(it has no config\.yaml\)/)
  })

  it('takes the address from the home\'s config.yaml over MILAGRO_HTTP_LISTENADDR, and --url over both; -v prints the URL', async () => {
    const home = path.join(root, 'home')
    mkdirSync(home)
    writeFileSync(path.join(home, 'config.yaml'), configYaml(mine.address))
    const env = { MILAGRO_HOME: home, MILAGRO_HTTP_LISTENADDR: other.address }
    const before = other.requests.length

    const viaHome = await milagro(['status', '--json'], env)
    assert.equal(viaHome.code, 0, viaHome.stderr)
    assert.equal(JSON.parse(viaHome.stdout).nodeCID, 'QmMine')
    assert.equal(other.requests.length, before, 'the variable meant for another node was not used')
    assert.match(viaHome.stderr, literal(`MILAGRO_HTTP_LISTENADDR=${other.address} is not used by client commands`))
    assert.match(viaHome.stderr, literal(`--url ${other.url}`), 'the note says how to reach the other node')

    const viaFlag = await milagro(['status', '--json', '--url', other.url], env)
    assert.equal(JSON.parse(viaFlag.stdout).nodeCID, 'QmOther')

    const verbose = await milagro(['status', '-v'], { MILAGRO_HOME: home })
    assert.equal(verbose.code, 0, verbose.stderr)
    assert.match(verbose.stderr, literal(`GET ${mine.url}/v1/status (http.listenAddr in ${path.join(home, 'config.yaml')})`))
    assert.doesNotMatch(verbose.stderr, /MILAGRO_HTTP_LISTENADDR/, 'no note when the variable is not set')
    const quiet = await milagro(['status'], { MILAGRO_HOME: home })
    assert.equal(quiet.stderr, '', 'without -v nothing on stderr')
  })

  it('refuses --url without a scheme, and says what was meant', async () => {
    const r = await milagro(['status', '--url', mine.address])
    assert.equal(r.code, 2)
    assert.match(r.stderr, literal(`--url ${mine.address} has no scheme: did you mean --url http://${mine.address}?`))
    const bare = await milagro(['status', '--url', 'localhost:5556'])
    assert.equal(bare.code, 2)
    assert.match(bare.stderr, /no scheme/)
  })

  it('says where the address came from when nothing listens there', async () => {
    const home = path.join(root, 'down')
    mkdirSync(home)
    const closed = await fakeNode({})
    await closed.close()
    writeFileSync(path.join(home, 'config.yaml'), configYaml(closed.address))
    const r = await milagro(['status'], { MILAGRO_HOME: home })
    assert.equal(r.code, 1)
    assert.match(r.stderr, literal(`cannot reach ${closed.url} (connection refused)`))
    assert.match(r.stderr, /http\.listenAddr in .*config\.yaml/)
  })
})
