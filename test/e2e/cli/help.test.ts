/**
 * Issue 14 item 5, with the real binary: each command and group has its own --help with examples;
 * the `--ext` keys shown are the plugin's own description (`Plugin.extensionFields`), of the
 * plugin the target node runs (GET /v1/status), else of the home's `plugins.service`, else of
 * every plugin; `--version`; a usage error is one line with "did you mean" and a pointer to the
 * command's help, not the whole usage; docs/cli.md names every command.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { COMMANDS } from '../../../src/cli/commands.ts'
import { PLUGINS, createPlugin } from '../../../src/plugins/registry.ts'
import { ROOT, configYaml, fakeNode, literal, milagro } from './milagro.ts'
import type { FakeNode } from './milagro.ts'

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

describe('milagro help', () => {
  let root: string
  let safeguard: FakeNode
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'dta-cli-help-'))
    safeguard = await fakeNode({ nodeCID: 'QmSg', nodeType: 'multi', plugin: 'safeguardsecret' })
  })
  after(async () => {
    await safeguard.close()
    rmSync(root, { recursive: true, force: true })
  })
  const nowhere = (): Record<string, string> => ({ MILAGRO_HOME: path.join(root, 'no-home') })

  it('gives each command its own help, with its options and examples', async () => {
    const create = await milagro(['order', 'create', '--help'], nowhere())
    assert.equal(create.code, 0, create.stderr)
    assert.match(create.stdout, /^milagro order create — /)
    assert.match(create.stdout, /Usage: milagro order create \[--beneficiary CID\] \[--ext key=value \.\.\.\]/)
    assert.match(create.stdout, /Examples:\n {2}milagro order create\n/)
    assert.doesNotMatch(create.stdout, /custody migrate/, 'not the overview')
    const list = await milagro(['identity', 'list', '--help'], nowhere())
    assert.match(list.stdout, /--per-page N/)
    assert.doesNotMatch(list.stdout, /--beneficiary/)
    assert.notEqual(list.stdout, create.stdout)
    assert.equal((await milagro(['help', 'order', 'create'], nowhere())).stdout, create.stdout, '`milagro help order create` is the same')

    const group = await milagro(['order', '--help'], nowhere())
    assert.equal(group.code, 0)
    for (const sub of ['create', 'list', 'get', 'secret', 'redeem']) assert.match(group.stdout, new RegExp(`^ {2}order ${sub} {2,}\\S`, 'm'))
    const top = await milagro(['--help'], nowhere())
    assert.match(top.stdout, /^ {2}audit {2,}/m)
    assert.match(top.stdout, /milagro <command> --help/)
  })

  it('lists the --ext keys of the plugin the target node runs, in the plugin\'s own words', async () => {
    const r = await milagro(['order', 'create', '--help', '--url', safeguard.url], nowhere())
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, literal(`of plugin safeguardsecret, the plugin of the node at ${safeguard.url} (GET /v1/status)`))
    const plugin = createPlugin('safeguardsecret')
    assert.match(r.stdout, literal(plugin.description))
    for (const field of [...plugin.extensionFields.order, ...plugin.extensionFields.orderAnswer]) {
      assert.match(r.stdout, new RegExp(`^ +${field.name}( \\(required\\))? +${literal(field.description).source}`, 'm'))
    }
    assert.match(r.stdout, literal("milagro order create --ext 'plainText=The Qu1ck Br0wn F0x'"), 'an example made from the field\'s example')
    assert.doesNotMatch(r.stdout, /\bcoin\b/, 'not the fields of another plugin')

    const secret = await milagro(['order', 'secret', '--help', '--url', safeguard.url], nowhere())
    assert.match(secret.stdout, /request, --ext:\n +cypherText +as the order answered/)
  })

  it('falls back to the home\'s plugins.service, then to every plugin', async () => {
    const home = path.join(root, 'btc')
    mkdirSync(home)
    const down = await fakeNode({})
    await down.close()
    writeFileSync(path.join(home, 'config.yaml'), configYaml(down.address, 'bitcoinwallet'))
    const fromHome = await milagro(['order', 'create', '--help'], { MILAGRO_HOME: home })
    assert.equal(fromHome.code, 0, fromHome.stderr)
    assert.match(fromHome.stdout, literal(`of plugin bitcoinwallet (plugins.service in ${path.join(home, 'config.yaml')}; the node did not answer)`))
    assert.match(fromHome.stdout, /coin \(required\) +"0" mainnet or "1" testnet/)
    assert.doesNotMatch(fromHome.stdout, /plainText/)

    const all = await milagro(['order', 'create', '--help'], nowhere())
    assert.match(all.stdout, /of each plugin \(no node or home to ask which one it runs\)/)
    for (const name of Object.keys(PLUGINS)) assert.match(all.stdout, new RegExp(`^ {2}${name}: `, 'm'))
  })

  it('prints the version', async () => {
    for (const args of [['--version'], ['-V'], ['order', 'create', '--version']]) {
      const r = await milagro(args)
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, `milagro ${VERSION}\n`)
    }
  })

  it('answers a usage error with one line, "did you mean", and the command\'s --help', async () => {
    const cases: Array<[string[], RegExp, string]> = [
      [['order', 'secret', '0'.repeat(32), '--benficiary', 'QmX'], /^milagro order secret: unknown option --benficiary \(did you mean --beneficiary\?\)$/, 'milagro order secret --help'],
      [['stauts'], /^milagro: unknown command: stauts \(did you mean status\?\)$/, 'milagro --help'],
      [['order', 'craete'], /^milagro: unknown command: order craete \(did you mean order create\?\)$/, 'milagro order --help'],
      [['order', 'list', '--beneficiary', 'QmX'], /^milagro order list: does not take --beneficiary$/, 'milagro order list --help'],
      [['order', 'get'], /^milagro order get: needs REFERENCE$/, 'milagro order get --help'],
      [['status', '--url'], /^milagro status: --url needs a value$/, 'milagro status --help'],
      [['order'], /^milagro order: needs a command: create, list, get, secret, redeem$/, 'milagro order --help'],
    ]
    for (const [args, first, helpOf] of cases) {
      const r = await milagro(args, nowhere())
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stdout, '')
      const lines = r.stderr.trimEnd().split('\n')
      assert.equal(lines.length, 2, `${args.join(' ')}: one line and the pointer, got\n${r.stderr}`)
      assert.match(lines[0], first)
      assert.equal(lines[1], `see \`${helpOf}\``)
    }
  })

  it('docs/cli.md lists every command', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8')
    for (const command of COMMANDS) assert.match(doc, literal(`\`milagro ${command.name}`), command.name)
  })
})
