/**
 * Which addresses the IPFS node may dial. Without content routing it dials only its configured
 * peers; with the private network's DHT it also dials peers it learns of from other nodes — the
 * closer peers of a lookup, the providers of a document — at whatever addresses those nodes
 * claim. A member of the network (or, without a swarm key, anyone who can connect) could claim
 * any address: a public host to make every node connect to it, a DNS name for them to resolve,
 * a `/dnsaddr/` for a TXT lookup. So a learned address is dialled only if it is
 *
 * - a plain TCP address, `/ip4|ip6/<address>/tcp/<port>` (optionally `/p2p/<id>`): no DNS names,
 *   no relays, no other transports (TCP is the only one built in, and a name would be resolved
 *   before the dial);
 * - in an address *scope* this node already uses — loopback, private (RFC 1918, CGNAT, link
 *   local, IPv6 ULA) or public — taken from its own listen and announce addresses (a wildcard
 *   listen address stands for this machine's interfaces) and its configured peers. A node whose
 *   peers are all on 127.0.0.1 never dials a public address, one on a LAN never leaves it, and a
 *   network of servers on public addresses dials public addresses;
 * - never unspecified (0.0.0.0, ::), multicast, broadcast or reserved, and never port 0.
 *
 * Configured peer addresses are always allowed (DNS names included: the operator chose them).
 * The same rule filters the addresses the DHT keeps and passes on for a peer (`mapPeer`), at most
 * `MAX_ADDRESSES_PER_PEER` of them, so that a peer cannot make a dial try hundreds of addresses.
 * The policy is computed once, when the store is created (`os.networkInterfaces()`, no I/O).
 * @module
 */

import { BlockList, isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { Multiaddr } from '@multiformats/multiaddr'
import { multiaddr } from '@multiformats/multiaddr'

export type AddressScope = 'loopback' | 'private' | 'public'

/** At most this many addresses of one peer are kept from what the DHT learns (a server has a few). */
export const MAX_ADDRESSES_PER_PEER = 8

const never = new BlockList()
for (const [net, bits] of [['0.0.0.0', 8], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) never.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [['::', 128], ['ff00::', 8]] as const) never.addSubnet(net, bits, 'ipv6')
const loopback = new BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')
const privateRanges = new BlockList()
for (const [net, bits] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['169.254.0.0', 16]] as const) privateRanges.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [['fc00::', 7], ['fe80::', 10]] as const) privateRanges.addSubnet(net, bits, 'ipv6')

/** The scope of an IP address, or undefined for one that is never dialled (or not an IP at all). */
export function scopeOf (ip: string): AddressScope | undefined {
  const family = isIP(ip)
  if (family === 0) return undefined
  const type = family === 4 ? 'ipv4' : 'ipv6'
  if (never.check(ip, type)) return undefined
  if (loopback.check(ip, type)) return 'loopback'
  if (privateRanges.check(ip, type)) return 'private'
  return 'public'
}

export interface AddressPolicyInit {
  /** The node's listen addresses (a wildcard one stands for this machine's interfaces). */
  listen: string[]
  /** The addresses it announces instead, if any. */
  announce: string[]
  /** The configured peers' addresses (each ending in /p2p/<id>). */
  peers: Multiaddr[]
  /** For tests: this machine's interface addresses (default: os.networkInterfaces()). */
  interfaces?: string[]
}

export interface AddressPolicy {
  /** The scopes learned addresses may be in. */
  readonly scopes: ReadonlySet<AddressScope>
  /** May the node dial this address (`/p2p/<id>` suffix or not)? */
  allows (address: Multiaddr): boolean
  /** A peer's addresses reduced to those it may dial, at most MAX_ADDRESSES_PER_PEER. */
  mapPeer<P extends { multiaddrs: Multiaddr[] }> (peer: P): P
}

/** The IP of `/ip4|ip6/<ip>/…`, else undefined. */
function ipOf (address: Multiaddr): string | undefined {
  const first = address.getComponents()[0]
  return first !== undefined && (first.name === 'ip4' || first.name === 'ip6') ? first.value : undefined
}

/** The address without a trailing /p2p/<id>, as a string, for comparing with the configured ones. */
function withoutPeerId (address: Multiaddr): string {
  const parts = address.getComponents()
  const kept = parts.at(-1)?.name === 'p2p' ? parts.slice(0, -1) : parts
  return kept.map(c => c.value === undefined ? `/${c.name}` : `/${c.name}/${c.value}`).join('')
}

function interfaceAddresses (): string[] {
  return Object.values(networkInterfaces()).flatMap(list => (list ?? []).map(i => i.address.replace(/%.*$/, '')))
}

export function createAddressPolicy (init: AddressPolicyInit): AddressPolicy {
  const scopes = new Set<AddressScope>()
  const configured = new Set(init.peers.map(withoutPeerId))
  const own = [...init.listen, ...init.announce].map(a => ipOf(multiaddr(a))).filter(ip => ip !== undefined)
  let interfaces: string[] | undefined
  for (const ip of own) {
    if (ip === '0.0.0.0' || ip === '::') {
      interfaces ??= init.interfaces ?? interfaceAddresses()
      for (const address of interfaces) {
        if ((isIP(address) === 4) === (ip === '0.0.0.0')) add(address)
      }
    } else {
      add(ip)
    }
  }
  for (const peer of init.peers) {
    const ip = ipOf(peer)
    if (ip !== undefined) add(ip)
  }
  function add (ip: string): void {
    const scope = scopeOf(ip)
    if (scope !== undefined) scopes.add(scope)
  }

  function allows (address: Multiaddr): boolean {
    if (configured.has(withoutPeerId(address))) return true
    const parts = address.getComponents()
    const [host, tcp, p2p] = parts
    if (host === undefined || (host.name !== 'ip4' && host.name !== 'ip6') || tcp?.name !== 'tcp') return false
    if (parts.length > 3 || (parts.length === 3 && p2p?.name !== 'p2p')) return false
    const port = Number(tcp.value)
    if (!Number.isInteger(port) || port < 1 || port > 65_535) return false
    const scope = scopeOf(host.value ?? '')
    return scope !== undefined && scopes.has(scope)
  }

  return {
    scopes,
    allows,
    mapPeer (peer) {
      const kept: Multiaddr[] = []
      for (const address of peer.multiaddrs) {
        if (kept.length === MAX_ADDRESSES_PER_PEER) break
        if (allows(address)) kept.push(address)
      }
      return { ...peer, multiaddrs: kept }
    }
  }
}
