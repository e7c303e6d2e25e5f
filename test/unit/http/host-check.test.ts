/**
 * The DNS-rebinding guard's pure functions (src/http/host-check.ts): how a Host header is parsed,
 * which hosts and Origins are answered, the refusal codes and their (cut, printable) details, the
 * checks on `http.allowedHosts` — and that the setting arrives through the config loader, from
 * config.yaml and from MILAGRO_HTTP_ALLOWEDHOSTS (comma-separated), validated.
 * test/adversary/web-page.test.ts performs the attacks against the app and the listeners.
 * @module
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DtaError } from '../../../src/errors.ts'
import { loadConfig } from '../../../src/config/load.ts'
import {
  checkAllowedHosts, hostOfHeader, hostRefusal, isAllowedHost, isAllowedOrigin, quote,
} from '../../../src/http/host-check.ts'

describe('hostOfHeader', () => {
  it('strips the port and the IPv6 brackets, and lower-cases', () => {
    assert.equal(hostOfHeader('localhost'), 'localhost')
    assert.equal(hostOfHeader('localhost:5556'), 'localhost')
    assert.equal(hostOfHeader('LocalHost:5556'), 'localhost')
    assert.equal(hostOfHeader('127.0.0.1:5556'), '127.0.0.1')
    assert.equal(hostOfHeader('[::1]:5556'), '::1')
    assert.equal(hostOfHeader('[::1]'), '::1')
    assert.equal(hostOfHeader('[::FFFF:127.0.0.1]:80'), '::ffff:127.0.0.1')
    assert.equal(hostOfHeader('Fid.Example:5556'), 'fid.example')
    assert.equal(hostOfHeader('my_fiduciary_1:5556'), 'my_fiduciary_1', 'docker names may have underscores')
  })

  it('is undefined for an absent, empty or malformed Host', () => {
    for (const bad of [undefined, '', ':5556', 'localhost:', 'localhost:abc', 'localhost:123456', 'localhost:5556:1', '::1', '[::1', '[::1]5556',
      '[not-ip]:80', '[127.0.0.1]', 'local host', 'localhost.', 'a..b', '.localhost', 'a/b', 'user@localhost', 'x'.repeat(301), `${'a'.repeat(64)}.example`]) {
      assert.equal(hostOfHeader(bad), undefined, JSON.stringify(bad))
    }
  })
})

describe('isAllowedHost', () => {
  it('allows localhost and every IP literal by default', () => {
    for (const ok of ['localhost', 'localhost:5556', 'LOCALHOST:5556', '127.0.0.1', '127.0.0.1:5556', '10.1.2.3:5556', '203.0.113.7', '[::1]:5556', '[::1]', '[2001:db8::1]:443']) {
      assert.equal(isAllowedHost(ok, []), true, ok)
    }
  })

  it('refuses other names, look-alikes, trailing dots and malformed or missing Hosts', () => {
    for (const bad of ['rebind.attacker.example', 'rebind.attacker.example:5556', 'REBIND.ATTACKER.EXAMPLE:5556', 'rebind.attacker.example.',
      'localhost.attacker.example', '127.0.0.1.nip.io', 'localhost.', 'sub.localhost', '127.1', '2130706433', '0x7f.0.0.1', '', undefined, '::1', 'localhost:x']) {
      assert.equal(isAllowedHost(bad, []), false, JSON.stringify(bad))
    }
  })

  it('adds the configured names, without case', () => {
    const allowed = ['Fid.Example', 'proxy', '[2001:db8::2]']
    assert.equal(isAllowedHost('fid.example:5556', allowed), true)
    assert.equal(isAllowedHost('FID.EXAMPLE', allowed), true)
    assert.equal(isAllowedHost('proxy:80', allowed), true)
    assert.equal(isAllowedHost('fid.example.', allowed), false, 'a trailing dot is another name')
    assert.equal(isAllowedHost('x.fid.example', allowed), false, 'no subdomains')
    assert.equal(isAllowedHost('rebind.attacker.example', allowed), false)
    assert.equal(isAllowedHost('localhost', allowed), true, 'the defaults stay')
  })

  it('["*"] allows anything, even no Host', () => {
    for (const any of ['rebind.attacker.example', '', undefined, 'garbage host']) assert.equal(isAllowedHost(any, ['*']), true)
  })
})

describe('isAllowedOrigin', () => {
  it('allows pages of the node itself: the same host, localhost, loopback, configured names', () => {
    assert.equal(isAllowedOrigin('http://localhost:5556', 'localhost:5556', []), true)
    assert.equal(isAllowedOrigin('http://localhost:3000', '127.0.0.1:5556', []), true)
    assert.equal(isAllowedOrigin('http://127.0.0.1:5556', '127.0.0.1:5556', []), true)
    assert.equal(isAllowedOrigin('http://[::1]:5556', 'localhost:5556', []), true)
    assert.equal(isAllowedOrigin('http://10.0.0.5:5556', '10.0.0.5:5556', []), true, 'the docs page of a node called by its address')
    assert.equal(isAllowedOrigin('https://Fid.Example', 'fid.example', ['fid.example']), true)
  })

  it('refuses other sites, IP-literal pages of another host, null and non-http origins', () => {
    for (const bad of ['http://rebind.attacker.example', 'http://rebind.attacker.example:5556', 'http://localhost.attacker.example',
      'http://203.0.113.5', 'http://10.0.0.6:5556', 'null', '', 'file://', 'chrome-extension://abc', 'http://localhost/path', 'http://localhost, http://evil.example',
      'localhost', 'http://user@localhost', 'http://localhost.']) {
      assert.equal(isAllowedOrigin(bad, '10.0.0.5:5556', []), false, JSON.stringify(bad))
    }
  })
})

describe('hostRefusal', () => {
  it('HOST_NOT_ALLOWED first, then ORIGIN_NOT_ALLOWED, then preflights; nothing for a good request', () => {
    assert.equal(hostRefusal('GET', { host: 'rebind.attacker.example', origin: 'http://rebind.attacker.example' }, [])?.code, 'HOST_NOT_ALLOWED')
    assert.equal(hostRefusal('GET', { host: 'localhost', origin: 'http://rebind.attacker.example' }, [])?.code, 'ORIGIN_NOT_ALLOWED')
    assert.equal(hostRefusal('POST', { host: 'localhost', origin: 'null' }, [])?.code, 'ORIGIN_NOT_ALLOWED')
    assert.equal(hostRefusal('OPTIONS', { host: 'localhost', origin: 'http://localhost:3000', 'access-control-request-method': 'POST' }, [])?.code, 'ORIGIN_NOT_ALLOWED')
    assert.equal(hostRefusal('OPTIONS', { host: 'localhost' }, []), undefined, 'a plain OPTIONS is no preflight (the router answers it)')
    assert.equal(hostRefusal('POST', { host: 'localhost:5556', origin: 'http://localhost:5556' }, []), undefined)
    assert.equal(hostRefusal('GET', { host: '127.0.0.1:5556' }, []), undefined)
    assert.equal(hostRefusal('GET', { host: 'evil.example', origin: 'http://evil.example' }, ['*']), undefined)
  })

  it('the detail names the refused host cut to 64 printable characters, and the setting', () => {
    const long = `${'a'.repeat(60)}.attacker.example`
    const err = hostRefusal('GET', { host: long }, [])!
    assert.equal(err.statusCode, 403)
    assert.ok(err.message.includes(`"${'a'.repeat(60)}.att..."`), err.message)
    assert.ok(!err.message.includes('attacker.example'), 'cut')
    assert.match(err.message, /http\.allowedHosts/)
    assert.match(err.message, /node\.masterFiduciaryServer/)
    assert.match(hostRefusal('GET', {}, [])!.message, /no Host header/)
    assert.match(hostRefusal('GET', { host: 'a b' }, [])!.message, /malformed Host "a b"/)
    assert.equal(quote('x\u0000\u00e9\n'), '"x???"')
  })
})

describe('checkAllowedHosts', () => {
  it('accepts names and IP literals, and * alone', () => {
    for (const ok of [[], ['fid.example'], ['FID.example', '10.0.0.1', '::1', '[2001:db8::1]', 'my_node'], ['*']]) assert.deepEqual(checkAllowedHosts(ok), ok)
  })
  it('refuses * with other entries and entries that are no host', () => {
    for (const bad of [['*', 'fid.example'], ['fid.example:5556'], ['http://fid.example'], ['1:2:3'], ['[zz]'], ['fid.example.'], ['']]) {
      assert.throws(() => checkAllowedHosts(bad), (err: unknown) => err instanceof DtaError && err.code === 'CONFIG_INVALID' && /http\.allowedHosts/.test(err.message), JSON.stringify(bad))
    }
  })
})

describe('http.allowedHosts through the config loader', () => {
  async function withHome<T> (yaml: string | undefined, fn: (home: string) => Promise<T>): Promise<T> {
    const home = await mkdtemp(path.join(tmpdir(), 'dta-hosts-'))
    try {
      if (yaml !== undefined) await writeFile(path.join(home, 'config.yaml'), yaml)
      return await fn(home)
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  }

  it('defaults to [] and is read from MILAGRO_HTTP_ALLOWEDHOSTS, comma-separated', async () => {
    await withHome(undefined, async (home) => {
      assert.deepEqual((await loadConfig({ home, env: {} })).http.allowedHosts, [])
      assert.deepEqual((await loadConfig({ home, env: { MILAGRO_HTTP_ALLOWEDHOSTS: 'fid.example, Proxy.Internal ,,10.0.0.1' } })).http.allowedHosts,
        ['fid.example', 'Proxy.Internal', '10.0.0.1'])
      assert.deepEqual((await loadConfig({ home, env: { MILAGRO_HTTP_ALLOWEDHOSTS: '*' } })).http.allowedHosts, ['*'])
      assert.deepEqual((await loadConfig({ home, env: { MILAGRO_HTTP_ALLOWEDHOSTS: '' } })).http.allowedHosts, [])
    })
  })

  it('is read from config.yaml, and the environment wins', async () => {
    await withHome('http:\n  allowedHosts: [fid.example]\n', async (home) => {
      assert.deepEqual((await loadConfig({ home, env: {} })).http.allowedHosts, ['fid.example'])
      assert.deepEqual((await loadConfig({ home, env: { MILAGRO_HTTP_ALLOWEDHOSTS: 'other.example' } })).http.allowedHosts, ['other.example'])
    })
  })

  it('refuses entries with a port, a scheme, a path or spaces, naming the entry and its source', async () => {
    await withHome(undefined, async (home) => {
      for (const bad of ['fid.example:5556', 'http://fid.example', 'fid.example/x', 'a b', 'fid.example.']) {
        await assert.rejects(loadConfig({ home, env: { MILAGRO_HTTP_ALLOWEDHOSTS: `ok.example,${bad}` } }), (err: unknown) => {
          assert.ok(err instanceof DtaError && err.code === 'CONFIG_INVALID')
          assert.match(err.message, /http\.allowedHosts\[1\] \(from MILAGRO_HTTP_ALLOWEDHOSTS\): must be a host name or IP address without port/, err.message)
          return true
        }, bad)
      }
    })
  })
})
