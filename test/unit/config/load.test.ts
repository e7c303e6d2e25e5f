/**
 * Config loading: defaults, the file, MILAGRO_<SECTION>_<KEY> variables and overrides in that
 * order; whole-config validation with every problem listed; secrets kept out of the file and out
 * of messages; writeConfig round trips; resolveHome.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDtaError } from '../../../src/errors.ts'
import type { DtaError } from '../../../src/errors.ts'
import {
  convertEnvValue, defaultConfig, loadConfig, resolveHome, resolveInHome, writeConfig
} from '../../../src/config/load.ts'
import type { Config } from '../../../src/config/schema.ts'

const CID_A = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
const CID_B = 'QmPZ9gcCEpqKTo6aq61g2nXGUhM4iCL3ewB6LDXZCtioEB'

let root: string
let n = 0
async function home (yaml?: string): Promise<string> {
  const dir = join(root, `home-${++n}`)
  await mkdir(dir)
  if (yaml !== undefined) await writeFile(join(dir, 'config.yaml'), yaml)
  return dir
}

async function invalid (p: Promise<unknown>): Promise<DtaError> {
  try {
    await p
  } catch (err) {
    assert.ok(isDtaError(err, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${String(err)}`)
    return err
  }
  assert.fail('expected CONFIG_INVALID')
}

function problems (err: DtaError): string[] {
  return (err.detail ?? '').split('\n').slice(1).map(l => l.replace(/^\s+- /, ''))
}

before(async () => { root = await mkdtemp(join(tmpdir(), 'dta-config-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

describe('loadConfig layers', () => {
  it('a missing file gives every default', async () => {
    const c = await loadConfig({ home: await home(), env: {} })
    assert.deepEqual(c, defaultConfig())
    assert.equal(c.http.listenAddr, '127.0.0.1:5556')
    assert.equal(c.http.metricsListenAddr, '127.0.0.1:5557')
    assert.equal(c.node.nodeType, 'multi')
    assert.equal(c.node.datastore, 'sqlite')
    assert.equal(c.node.custody, 'local')
    assert.equal(c.node.custodyKeyFile, 'custody.key')
    assert.deepEqual(c.ipfs.listenAddr, ['/ip4/127.0.0.1/tcp/4001'])
    assert.deepEqual(c.ipfs.peers, [])
    assert.equal(c.ipfs.swarmKeyFile, '')
    assert.equal(c.ipfs.fetchTimeoutMs, 10000)
    assert.equal(c.plugins.service, 'milagro')
    assert.deepEqual(c.http.allowPrincipals, [])
    assert.equal(c.http.oidcIssuer, '')
    assert.equal(c.http.bearerToken, '')
  })

  it('an empty file, a comment-only file and empty sections are all defaults', async () => {
    for (const yaml of ['', '# nothing\n', 'http:\nnode:\n']) {
      assert.deepEqual(await loadConfig({ home: await home(yaml), env: {} }), defaultConfig())
    }
  })

  it('the file sets values; the rest stay default', async () => {
    const c = await loadConfig({
      home: await home(`http:\n  listenAddr: 0.0.0.0:6000\nnode:\n  nodeType: fiduciary\n  nodeID: ${CID_A}\nipfs:\n  peers:\n    - /ip4/10.0.0.2/tcp/4001/p2p/12D3KooWabc\n`),
      env: {}
    })
    assert.equal(c.http.listenAddr, '0.0.0.0:6000')
    assert.equal(c.node.nodeType, 'fiduciary')
    assert.equal(c.node.nodeID, CID_A)
    assert.deepEqual(c.ipfs.peers, ['/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWabc'])
    assert.equal(c.http.requestTimeoutMs, defaultConfig().http.requestTimeoutMs)
  })

  it('environment variables override the file, converted per the schema', async () => {
    const c = await loadConfig({
      home: await home('http:\n  listenAddr: 0.0.0.0:6000\n  requestTimeoutMs: 1000\nipfs:\n  announce: [/ip4/1.1.1.1/tcp/1]\n'),
      env: {
        MILAGRO_HTTP_LISTENADDR: '127.0.0.1:7000',
        MILAGRO_HTTP_REQUESTTIMEOUTMS: '2500',
        MILAGRO_NODE_NODETYPE: 'principal',
        MILAGRO_IPFS_LISTENADDR: '/ip4/0.0.0.0/tcp/4001, /ip6/::/tcp/4001',
        MILAGRO_IPFS_ANNOUNCE: '',
        MILAGRO_HTTP_ALLOWPRINCIPALS: `${CID_A},${CID_B}`,
        MILAGRO_HOME: '/somewhere', // not a config key: ignored
        MILAGRO_DEBUG: '1', // no section: ignored
        PATH: '/usr/bin'
      }
    })
    assert.equal(c.http.listenAddr, '127.0.0.1:7000')
    assert.equal(c.http.requestTimeoutMs, 2500)
    assert.equal(c.node.nodeType, 'principal')
    assert.deepEqual(c.ipfs.listenAddr, ['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001'])
    assert.deepEqual(c.ipfs.announce, [])
    assert.deepEqual(c.http.allowPrincipals, [CID_A, CID_B])
  })

  it('overrides (CLI flags) win over file and environment', async () => {
    const c = await loadConfig({
      home: await home('plugins:\n  service: bitcoinwallet\n'),
      env: { MILAGRO_PLUGINS_SERVICE: 'safeguardsecret', MILAGRO_NODE_NODENAME: 'env-name' },
      overrides: { plugins: { service: 'milagro' }, node: { masterFiduciaryServer: 'http://10.0.0.1:5556', masterFiduciaryNodeID: CID_B } }
    })
    assert.equal(c.plugins.service, 'milagro')
    assert.equal(c.node.nodeName, 'env-name')
    assert.equal(c.node.masterFiduciaryServer, 'http://10.0.0.1:5556')
  })

  it('converts environment strings by kind', () => {
    assert.deepEqual(convertEnvValue({ kind: 'integer' }, '42'), { value: 42 })
    assert.ok('problem' in convertEnvValue({ kind: 'integer' }, '4.2'))
    assert.ok('problem' in convertEnvValue({ kind: 'integer' }, ''))
    for (const t of ['true', 'TRUE', '1', 'yes', 'on']) assert.deepEqual(convertEnvValue({ kind: 'boolean' }, t), { value: true })
    for (const f of ['false', '0', 'No', 'off']) assert.deepEqual(convertEnvValue({ kind: 'boolean' }, f), { value: false })
    assert.ok('problem' in convertEnvValue({ kind: 'boolean' }, 'maybe'))
    assert.deepEqual(convertEnvValue({ kind: 'string list' }, ' a , b,,c '), { value: ['a', 'b', 'c'] })
    assert.deepEqual(convertEnvValue({ kind: 'string' }, ' keep spaces '), { value: ' keep spaces ' })
  })
})

describe('loadConfig validation', () => {
  it('lists every problem at once, each with its path and source', async () => {
    const err = await invalid(loadConfig({
      home: await home('http:\n  bogus: 1\n  listenAddr: ":5556"\nnode:\n  nodeType: fid\nextra: {}\n'),
      env: { MILAGRO_HTTP_REQUESTTIMEOUTMS: 'soon', MILAGRO_NODE_FOO: 'x', MILAGRO_LOG_LEVEL: 'loud' }
    }))
    const list = problems(err)
    assert.equal(list.length, 7, list.join('\n'))
    const has = (re: RegExp): void => assert.ok(list.some(l => re.test(l)), `${re} in\n${list.join('\n')}`)
    has(/^http\.bogus \(from config\.yaml\): unknown key/)
    has(/^http\.listenAddr \(from config\.yaml\): must be host:port/)
    has(/^node\.nodeType \(from config\.yaml\): must be one of multi, principal, fiduciary, got "fid"/)
    has(/^extra \(from config\.yaml\): unknown section/)
    has(/^http\.requestTimeoutMs \(from MILAGRO_HTTP_REQUESTTIMEOUTMS\): must be an integer/)
    has(/^MILAGRO_NODE_FOO: unknown configuration variable/)
    has(/^log\.level \(from MILAGRO_LOG_LEVEL\): must be one of debug, info, warn, error/)
    assert.equal(err.statusCode, 500)
  })

  it('suggests the right spelling of a key', async () => {
    const err = await invalid(loadConfig({ home: await home('node:\n  nodeId: x\n'), env: {} }))
    assert.match(err.message, /node\.nodeId .*did you mean nodeID\?/)
  })

  const cases: Array<[string, string, boolean]> = [
    ['http.listenAddr', '127.0.0.1:5556', true],
    ['http.listenAddr', '0.0.0.0:0', true],
    ['http.listenAddr', '[::1]:5556', true],
    ['http.listenAddr', 'localhost:65535', true],
    ['http.listenAddr', ':5556', false],
    ['http.listenAddr', '127.0.0.1', false],
    ['http.listenAddr', '127.0.0.1:65536', false],
    ['http.listenAddr', '127.0.0.1:55x', false],
    ['http.metricsListenAddr', '', true],
    ['http.oidcIssuer', 'https://issuer.example.com/realms/x', true],
    ['http.oidcIssuer', 'ftp://x', false],
    ['http.oidcIssuer', 'https://', false],
    ['node.masterFiduciaryServer', 'http://10.0.0.1:5556', true],
    ['node.masterFiduciaryServer', '10.0.0.1:5556', false],
    ['node.nodeID', CID_A, true],
    ['node.nodeID', CID_A.slice(0, -1), false],
    ['node.nodeID', 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', false],
    ['node.nodeID', 'Qm' + '0'.repeat(44), false],
    ['node.masterFiduciaryNodeID', 'QmI' + 'a'.repeat(43), false],
    ['node.datastore', 'postgres', false],
    ['node.custody', 'pkcs11', true],
    ['node.custody', 'hsm', false],
    ['node.pkcs11TokenLabel', 'x'.repeat(33), false],
    ['node.custodyKeySource', 'passphrase', true],
    ['log.format', 'text', true],
    ['log.format', 'xml', false],
    ['http.requestBodyLimit', '1023', false],
    ['http.requestBodyLimit', '1024', true],
    ['ipfs.fetchTimeoutMs', '700000', false],
    ['ipfs.listenAddr', '/ip4/127.0.0.1/tcp/0', true],
    ['ipfs.listenAddr', 'ip4/127.0.0.1/tcp/0', false],
    ['ipfs.peers', '/ip4/10.0.0.2/tcp/4001', false],
    ['ipfs.peers', '/dns4/fid.example/tcp/4001/p2p/12D3KooWxyz', true],
    ['http.allowPrincipals', 'alice', false],
    ['plugins.service', 'bitcoinwallet', true],
    ['plugins.service', 'wallet', false]
  ]
  for (const [path, value, ok] of cases) {
    it(`${path} = ${JSON.stringify(value)} is ${ok ? 'accepted' : 'refused'}`, async () => {
      const [section, key] = path.split('.')
      const env: Record<string, string> = { [`MILAGRO_${section.toUpperCase()}_${key.toUpperCase()}`]: value }
      if (path === 'node.masterFiduciaryServer') env.MILAGRO_NODE_MASTERFIDUCIARYNODEID = CID_A
      if (path === 'node.masterFiduciaryNodeID' || path === 'node.nodeID') env.MILAGRO_NODE_MASTERFIDUCIARYSERVER = 'http://x:1'
      if (path === 'node.nodeID') env.MILAGRO_NODE_MASTERFIDUCIARYNODEID = CID_B
      if (path === 'http.oidcIssuer') env.MILAGRO_HTTP_OIDCAUDIENCE = 'dta'
      const p = loadConfig({ home: await home(), env })
      if (ok) {
        await p
      } else {
        const err = await invalid(p)
        assert.match(err.message, new RegExp(path.replace('.', '\\.')), err.message)
      }
    })
  }

  it('an enum error names the allowed values', async () => {
    const err = await invalid(loadConfig({ home: await home('plugins:\n  service: wallet\n'), env: {} }))
    assert.match(err.message, /plugins\.service \(from config\.yaml\): must be one of milagro, safeguardsecret, bitcoinwallet, got "wallet"/)
  })

  it('reports list items by index and wrong types', async () => {
    const err = await invalid(loadConfig({ home: await home(`http:\n  allowPrincipals: [${CID_A}, QmBad, 7]\n  requestTimeoutMs: "5"\nipfs:\n  peers: /ip4/x\n`), env: {} }))
    const list = problems(err)
    assert.ok(list.some(l => l.startsWith('http.allowPrincipals[1] (from config.yaml): must be a CIDv0')), list.join('\n'))
    assert.ok(list.some(l => l.startsWith('http.allowPrincipals[2] (from config.yaml): must be of type string')), list.join('\n'))
    assert.ok(list.some(l => l.startsWith('http.requestTimeoutMs (from config.yaml): must be of type integer')), list.join('\n'))
    assert.ok(list.some(l => l.startsWith('ipfs.peers (from config.yaml): must be a list of strings')), list.join('\n'))
  })

  it('pairs go together: master fiduciary URL and CID, OIDC issuer and audience', async () => {
    const err = await invalid(loadConfig({
      home: await home(),
      env: { MILAGRO_NODE_MASTERFIDUCIARYSERVER: 'http://10.0.0.1:5556', MILAGRO_HTTP_OIDCAUDIENCE: 'dta', MILAGRO_LOG_LEVEL: 'bad' }
    }))
    const list = problems(err)
    assert.equal(list.length, 3, list.join('\n'))
    assert.ok(list.some(l => /masterFiduciaryServer, node\.masterFiduciaryNodeID.*node\.masterFiduciaryNodeID is empty/.test(l)))
    assert.ok(list.some(l => /oidcIssuer, http\.oidcAudience.*http\.oidcIssuer is empty/.test(l)))
  })

  it('refuses unknown override keys', async () => {
    const err = await invalid(loadConfig({ home: await home(), env: {}, overrides: { http: { listen: 'x' } as never, bogus: {} } as never }))
    assert.match(err.message, /http\.listen \(from overrides\): unknown key/)
    assert.match(err.message, /bogus \(from overrides\): unknown section/)
  })

  it('refuses a file that is not a mapping, or a section that is not one', async () => {
    assert.match((await invalid(loadConfig({ home: await home('- a\n- b\n'), env: {} }))).message, /config\.yaml: must be a mapping/)
    assert.match((await invalid(loadConfig({ home: await home('http: 5\n'), env: {} }))).message, /http \(from config\.yaml\): must be a mapping/)
  })

  it('a YAML syntax error is reported without quoting the file', async () => {
    const err = await invalid(loadConfig({ home: await home('node:\n  nodeName: [s3cr3t-value\n'), env: {} }))
    assert.match(err.message, /not valid YAML/)
    assert.ok(!err.message.includes('s3cr3t-value'), err.message)
    const dup = await invalid(loadConfig({ home: await home('log:\n  level: info\n  level: debug\n'), env: {} }))
    assert.match(dup.message, /unique/)
  })

  it('an unreadable config file is CONFIG_UNREADABLE', async () => {
    const h = await home()
    await mkdir(join(h, 'config.yaml'))
    await assert.rejects(loadConfig({ home: h, env: {} }), (err: unknown) => isDtaError(err, 'CONFIG_UNREADABLE'))
  })
})

describe('secrets', () => {
  it('are refused in the file, without echoing them', async () => {
    const err = await invalid(loadConfig({ home: await home('node:\n  passphrase: hunter2-secret\n  pkcs11Pin: pin-secret\nhttp:\n  bearerToken: tok-secret\n'), env: {} }))
    assert.match(err.message, /node\.passphrase .*MILAGRO_NODE_PASSPHRASE, not in the file/)
    assert.match(err.message, /node\.pkcs11Pin .*MILAGRO_NODE_PKCS11PIN, not in the file/)
    assert.match(err.message, /http\.bearerToken .*MILAGRO_HTTP_BEARERTOKEN/)
    assert.ok(!err.message.includes('hunter2-secret') && !err.message.includes('tok-secret') && !err.message.includes('pin-secret'))
  })

  it('a database password is refused in the URL and never echoed; it comes from the environment', async () => {
    const err = await invalid(loadConfig({ home: await home('node:\n  datastore: postgres\n  databaseUrl: postgres://dta:db-secret@db.example/custody\n'), env: {} }))
    assert.match(err.message, /node\.databaseUrl .*without a password/)
    assert.ok(!err.message.includes('db-secret'), err.message)
    const missing = await invalid(loadConfig({ home: await home('node:\n  datastore: postgres\n'), env: {} }))
    assert.match(missing.message, /node\.databaseUrl .*is needed when node\.datastore is postgres/)
    const c = await loadConfig({ home: await home('node:\n  datastore: postgres\n  databaseUrl: postgres://dta@/custody?host=/run/postgresql\n'), env: { MILAGRO_NODE_DATABASEPASSWORD: 'pw' } })
    assert.equal(c.node.databasePassword, 'pw')
    await assert.rejects(loadConfig({ home: await home('node:\n  databasePassword: in-file\n'), env: {} }), (e: unknown) => isDtaError(e, 'CONFIG_INVALID') && !String(e).includes('in-file'))
  })

  it('fiduciary replicas need the fiduciary they are replicas of', async () => {
    const err = await invalid(loadConfig({ home: await home('node:\n  masterFiduciaryReplicas: [http://10.0.0.8:5556]\n'), env: {} }))
    assert.match(err.message, /node\.masterFiduciaryReplicas .*needs node\.masterFiduciaryServer/)
  })

  it('a default threshold needs 2 ≤ t ≤ the threshold fiduciaries', async () => {
    const [a, b] = ['QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o']
    const set = `${a}=http://127.0.0.1:7001,${b}=http://127.0.0.1:7002`
    const c = await loadConfig({ home: await home(), env: { MILAGRO_NODE_THRESHOLDFIDUCIARIES: set, MILAGRO_NODE_THRESHOLDDEFAULT: '2' } })
    assert.equal(c.node.thresholdDefault, 2)
    assert.equal((await loadConfig({ home: await home(), env: {} })).node.thresholdDefault, 0)
    for (const t of ['1', '3']) {
      const err = await invalid(loadConfig({ home: await home(), env: { MILAGRO_NODE_THRESHOLDFIDUCIARIES: set, MILAGRO_NODE_THRESHOLDDEFAULT: t } }))
      assert.match(err.message, /node\.thresholdDefault .*2 ≤ t ≤ the 2 fiduciaries/)
    }
    await invalid(loadConfig({ home: await home(), env: { MILAGRO_NODE_THRESHOLDDEFAULT: '2' } }))
  })

  it('trusted fiduciaries\' log addresses: CID=URL, only for trusted fiduciaries other than the master, once each', async () => {
    const [a, b] = ['QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o']
    const c = await loadConfig({ home: await home(), env: { MILAGRO_NODE_TRUSTEDFIDUCIARIES: `${a},${b}`, MILAGRO_NODE_TRUSTEDFIDUCIARYSERVERS: `${a}=https://fid-a.example:5556, ${b}=http://127.0.0.1:7000` } })
    assert.deepEqual(c.node.trustedFiduciaryServers, [`${a}=https://fid-a.example:5556`, `${b}=http://127.0.0.1:7000`])
    const untrusted = await invalid(loadConfig({ home: await home(), env: { MILAGRO_NODE_TRUSTEDFIDUCIARIES: a, MILAGRO_NODE_TRUSTEDFIDUCIARYSERVERS: `${b}=http://127.0.0.1:7000` } }))
    assert.match(untrusted.message, new RegExp(`node\\.trustedFiduciaryServers .*names ${b}, which is not in node\\.trustedFiduciaries`))
    const twice = await invalid(loadConfig({ home: await home(), env: { MILAGRO_NODE_TRUSTEDFIDUCIARIES: a, MILAGRO_NODE_TRUSTEDFIDUCIARYSERVERS: `${a}=http://h:1,${a}=http://h:2` } }))
    assert.match(twice.message, /names Qm\w+ twice/)
    const master = await invalid(loadConfig({ home: await home(`node:\n  masterFiduciaryNodeID: ${a}\n  masterFiduciaryServer: http://h:1\n  trustedFiduciaries: [${a}]\n  trustedFiduciaryServers: ['${a}=http://h:2']\n`), env: {} }))
    assert.match(master.message, /names the master fiduciary .*node\.masterFiduciaryServer/)
    for (const bad of [`${a},http://h:1`, `${a}=ftp://h`, 'notacid=http://h:1', `${a}=`]) {
      await invalid(loadConfig({ home: await home(), env: { MILAGRO_NODE_TRUSTEDFIDUCIARIES: a, MILAGRO_NODE_TRUSTEDFIDUCIARYSERVERS: bad } }))
    }
  })

  it('are taken from the environment', async () => {
    const c = await loadConfig({ home: await home(), env: { MILAGRO_NODE_PASSPHRASE: 'pp from env', MILAGRO_HTTP_BEARERTOKEN: 't' } })
    assert.equal(c.node.passphrase, 'pp from env')
    assert.equal(c.http.bearerToken, 't')
  })

  it('are never written by writeConfig', async () => {
    const h = await home()
    const c: Config = structuredClone(defaultConfig())
    c.node.passphrase = 'do-not-write-me'
    c.node.pkcs11Pin = 'nor-this-pin'
    c.http.bearerToken = 'nor-me'
    await writeConfig(h, c)
    const text = await readFile(join(h, 'config.yaml'), 'utf8')
    assert.ok(!text.includes('do-not-write-me') && !text.includes('nor-me') && !text.includes('nor-this-pin'))
    assert.ok(!/^\s*passphrase:/m.test(text) && !/^\s*bearerToken:/m.test(text))
  })
})

describe('writeConfig', () => {
  it('writes a commented, 0600 config.yaml that loads back to the same config', async () => {
    const h = join(await home(), 'new-home')
    const c: Config = structuredClone(defaultConfig())
    c.node.nodeType = 'principal'
    c.node.nodeName = 'alice'
    c.node.nodeID = CID_A
    c.node.masterFiduciaryServer = 'http://10.0.0.9:5556'
    c.node.masterFiduciaryNodeID = CID_B
    c.ipfs.peers = ['/ip4/10.0.0.9/tcp/4001/p2p/12D3KooWpeer']
    c.plugins.service = 'bitcoinwallet'
    const file = await writeConfig(h, c)
    assert.equal(file, join(h, 'config.yaml'))
    if (process.platform !== 'win32') {
      assert.equal((await stat(file)).mode & 0o777, 0o600)
      assert.equal((await stat(h)).mode & 0o777, 0o700)
    }
    const text = await readFile(file, 'utf8')
    assert.match(text, /# .*\(MILAGRO_HTTP_LISTENADDR\)\n\s+listenAddr: 127\.0\.0\.1:5556/)
    assert.match(text, /^node:$/m)
    assert.deepEqual(await loadConfig({ home: h, env: {} }), c)
    c.log.level = 'debug'
    await writeConfig(h, c) // replaces
    assert.equal((await loadConfig({ home: h, env: {} })).log.level, 'debug')
  })
})

describe('home folder', () => {
  it('resolveHome uses $MILAGRO_HOME, expands ~, and defaults to ~/.milagro', () => {
    assert.equal(resolveHome({}), join(homedir(), '.milagro'))
    assert.equal(resolveHome({ MILAGRO_HOME: '' }), join(homedir(), '.milagro'))
    assert.equal(resolveHome({ MILAGRO_HOME: '/srv/dta' }), '/srv/dta')
    assert.equal(resolveHome({ MILAGRO_HOME: '~/nodes/a' }), join(homedir(), 'nodes/a'))
    assert.equal(resolveHome({ MILAGRO_HOME: 'rel/dir' }), join(process.cwd(), 'rel/dir'))
  })

  it('resolveInHome keeps absolute paths and joins relative ones', () => {
    assert.equal(resolveInHome('/h', 'custody.key'), '/h/custody.key')
    assert.equal(resolveInHome('/h', '/etc/dta/custody.key'), '/etc/dta/custody.key')
  })
})
