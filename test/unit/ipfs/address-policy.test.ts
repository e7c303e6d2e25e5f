/**
 * The dial policy (src/adapters/ipfs/address-policy.ts): which addresses learned from peers the
 * node may dial — plain TCP addresses in a scope its own configuration uses — and that configured
 * peers are always allowed. Pure functions: nothing here dials.
 * @module
 */

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_ADDRESSES_PER_PEER, createAddressPolicy, scopeOf } from '../../../src/adapters/ipfs/address-policy.ts'

const ID = '12D3KooWBk3YD8y55LnVkmgBXC1ke9xkcRnoBGG3HVJBTaZfKArb'

describe('address policy', () => {
  it('tells loopback, private and public addresses apart, and refuses the never-dialled ones', () => {
    for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(scopeOf(ip), 'loopback', ip)
    for (const ip of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '169.254.1.1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1']) assert.equal(scopeOf(ip), 'private', ip)
    for (const ip of ['8.8.8.8', '203.0.113.7', '172.32.0.1', '2001:db8::1', '1.1.1.1']) assert.equal(scopeOf(ip), 'public', ip)
    for (const ip of ['0.0.0.0', '::', '224.0.0.251', '239.255.255.250', '255.255.255.255', '240.0.0.1', 'ff02::fb', 'example.com', '']) assert.equal(scopeOf(ip), undefined, ip)
  })

  it('a node on 127.0.0.1 with loopback peers dials only loopback TCP addresses', () => {
    const policy = createAddressPolicy({ listen: ['/ip4/127.0.0.1/tcp/4001'], announce: [], peers: [multiaddr(`/ip4/127.0.0.1/tcp/4002/p2p/${ID}`)] })
    assert.deepEqual([...policy.scopes], ['loopback'])
    for (const ok of ['/ip4/127.0.0.1/tcp/5000', `/ip4/127.0.0.1/tcp/5000/p2p/${ID}`, '/ip6/::1/tcp/5000']) assert.equal(policy.allows(multiaddr(ok)), true, ok)
    for (const no of [
      '/ip4/203.0.113.7/tcp/4001', '/ip4/10.0.0.2/tcp/4001', '/ip4/8.8.8.8/tcp/53',
      '/dns4/evil.example/tcp/4001', '/dnsaddr/evil.example', `/dnsaddr/evil.example/p2p/${ID}`,
      '/ip4/127.0.0.1/tcp/0', '/ip4/0.0.0.0/tcp/4001', '/ip4/127.0.0.1/udp/4001/quic-v1',
      '/ip4/127.0.0.1/tcp/4001/ws', `/ip4/127.0.0.1/tcp/4001/p2p/${ID}/p2p-circuit`
    ]) assert.equal(policy.allows(multiaddr(no)), false, no)
  })

  it('configured peers are always allowed, DNS names included; other names are not', () => {
    const policy = createAddressPolicy({ listen: ['/ip4/127.0.0.1/tcp/4001'], announce: [], peers: [multiaddr(`/dns4/dta-b/tcp/4001/p2p/${ID}`), multiaddr(`/ip4/198.51.100.9/tcp/4001/p2p/${ID}`)] })
    assert.equal(policy.allows(multiaddr(`/dns4/dta-b/tcp/4001/p2p/${ID}`)), true)
    assert.equal(policy.allows(multiaddr('/dns4/dta-b/tcp/4001')), true)
    assert.equal(policy.allows(multiaddr('/dns4/dta-c/tcp/4001')), false)
    // a public peer makes public addresses dialable
    assert.deepEqual([...policy.scopes].toSorted(), ['loopback', 'public'])
    assert.equal(policy.allows(multiaddr('/ip4/203.0.113.7/tcp/4001')), true)
    assert.equal(policy.allows(multiaddr('/ip4/10.0.0.2/tcp/4001')), false)
  })

  it('a wildcard listen address stands for this machine\'s interfaces; announce counts too', () => {
    const lan = createAddressPolicy({ listen: ['/ip4/0.0.0.0/tcp/4001'], announce: [], peers: [], interfaces: ['127.0.0.1', '10.0.0.5', '::1', 'fe80::1'] })
    assert.deepEqual([...lan.scopes].toSorted(), ['loopback', 'private'])
    const announced = createAddressPolicy({ listen: ['/ip4/10.0.0.5/tcp/4001'], announce: ['/ip4/203.0.113.7/tcp/4001'], peers: [] })
    assert.deepEqual([...announced.scopes].toSorted(), ['private', 'public'])
  })

  it('keeps at most MAX_ADDRESSES_PER_PEER allowed addresses of a peer, dropping the rest', () => {
    const policy = createAddressPolicy({ listen: ['/ip4/127.0.0.1/tcp/4001'], announce: [], peers: [] })
    const addresses = [multiaddr('/ip4/203.0.113.7/tcp/1'), multiaddr('/dns4/x.example/tcp/1'), ...Array.from({ length: 20 }, (_, i) => multiaddr(`/ip4/127.0.0.1/tcp/${1000 + i}`))]
    const mapped = policy.mapPeer({ id: 'peer', multiaddrs: addresses })
    assert.equal(mapped.id, 'peer')
    assert.equal(mapped.multiaddrs.length, MAX_ADDRESSES_PER_PEER)
    assert.ok(mapped.multiaddrs.every(a => a.toString().startsWith('/ip4/127.0.0.1/tcp/')))
  })
})
