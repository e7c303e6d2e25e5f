/**
 * Issue 15, part 1: TLS between a principal and its fiduciary, on real processes with real
 * certificates made here (a CA, server and client certificates from @peculiar/x509 with
 * node:crypto's WebCrypto). The fiduciary serves HTTPS (TLS 1.2+) and asks for client
 * certificates (mutual TLS); the principal verifies it against a CA file. Checked: a good
 * certificate works end to end; another CA, an expired certificate and one for another host name
 * are each refused by the principal with PEER_TLS_FAILED saying which (the fiduciary's new
 * certificates are taken on SIGHUP, without a restart); a client certificate naming another
 * identity is refused by the fiduciary (TLS_CLIENT_MISMATCH), and none at all too; TLS 1.1 and
 * plain HTTP are refused by the listener.
 * @module
 */
import assert from 'node:assert/strict'
import { webcrypto } from 'node:crypto'
import { rename, writeFile } from 'node:fs/promises'
import { connect } from 'node:tls'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { createCluster, show } from './harness.ts'
import type { ServerNode } from './harness.ts'
import { checkRedeemed, placeOrder, redeem } from './flows.ts'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
const DAY = 86_400_000

interface Issued { cert: string, key: string }

async function pemKey (key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key))
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`
}

async function makeCa (name: string): Promise<{ cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair, pem: string }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: `CN=${name}`, notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 30 * DAY), keys, signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  })
  return { cert, keys, pem: cert.toString('pem') }
}

let serial = 10
async function issue (ca: Awaited<ReturnType<typeof makeCa>>, options: { cn: string, dns?: string[], ips?: string[], uri?: string, notAfter?: Date }): Promise<Issued> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  const names = [
    ...(options.dns ?? []).map(value => ({ type: 'dns' as const, value })),
    ...(options.ips ?? []).map(value => ({ type: 'ip' as const, value })),
    ...(options.uri === undefined ? [] : [{ type: 'url' as const, value: options.uri }]),
  ]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'), subject: `CN=${options.cn}`, issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 2 * DAY), notAfter: options.notAfter ?? new Date(Date.now() + 30 * DAY),
    publicKey: keys.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: ALG,
    extensions: [new x509.SubjectAlternativeNameExtension(names), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth])],
  })
  return { cert: `${cert.toString('pem')}\n${ca.pem}\n`, key: await pemKey(keys.privateKey) }
}

async function put (dir: string, name: string, issued: Issued): Promise<{ cert: string, key: string }> {
  const cert = join(dir, `${name}.pem`)
  const key = join(dir, `${name}-key.pem`)
  await writeFile(`${cert}.tmp`, issued.cert)
  await writeFile(`${key}.tmp`, issued.key, { mode: 0o600 })
  await rename(`${cert}.tmp`, cert)
  await rename(`${key}.tmp`, key)
  return { cert, key }
}

/** Sends SIGHUP and waits (bounded) for the daemon to say it reloaded its certificate. */
async function reload (node: ServerNode): Promise<void> {
  const before = node.logTail(400).split('\n').filter(l => l.includes('TLS certificate reloaded')).length
  process.kill(node.pid!, 'SIGHUP')
  for (const deadline = Date.now() + 15_000; ;) {
    if (node.logTail(400).split('\n').filter(l => l.includes('TLS certificate reloaded')).length > before) return
    if (Date.now() > deadline) throw new Error(`no reload\n${node.logTail(20)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** What a TLS client with `options` gets from the listener: 'connected' or the error code. */
async function handshake (port: number, options: Record<string, unknown>): Promise<string> {
  return await new Promise(resolve => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => { socket.end(); resolve('connected') })
    socket.once('error', (err: Error & { code?: string }) => { resolve(err.code ?? err.message) })
  })
}

describe('TLS between principal and fiduciary', () => {
  test('good certificate, wrong CA, expired, wrong host name, mTLS mismatch; reload on SIGHUP', { timeout: 240_000 }, async (t) => {
    const cluster = await createCluster(t, 'milagro-tls-')
    const ca = await makeCa('milagro test CA')
    const otherCa = await makeCa('someone else')
    const dir = cluster.root
    await writeFile(join(dir, 'ca.pem'), ca.pem)
    await writeFile(join(dir, 'other-ca.pem'), otherCa.pem)
    const server = await put(dir, 'server', await issue(ca, { cn: 'fiduciary', dns: ['localhost'], ips: ['127.0.0.1'] }))

    const fiduciary = await cluster.init('fiduciary', { nodeType: 'fiduciary' })
    await fiduciary.start({ stablePorts: true, env: { MILAGRO_HTTP_TLSCERTFILE: server.cert, MILAGRO_HTTP_TLSKEYFILE: server.key, MILAGRO_HTTP_TLSCLIENTCAFILE: join(dir, 'ca.pem') } })
    assert.match(fiduciary.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    const port = Number(new URL(fiduciary.url).port)
    const master = { cid: fiduciary.cid, url: fiduciary.url }

    const principal = await cluster.init('principal', { nodeType: 'principal', masterFiduciary: master })
    const mine = await put(dir, 'principal-client', await issue(ca, { cn: 'principal', uri: `milagro:identity:${principal.cid}` }))
    const trusting = { MILAGRO_HTTP_FIDUCIARYCAFILE: join(dir, 'ca.pem'), MILAGRO_HTTP_TLSCLIENTCERTFILE: mine.cert, MILAGRO_HTTP_TLSCLIENTKEYFILE: mine.key }
    await principal.start({ peers: fiduciary.multiaddrs, env: trusting })
    await principal.waitForPeers(1)

    // a good certificate: the whole cycle over HTTPS with mutual TLS
    const placed = await placeOrder(principal, 'milagro')
    checkRedeemed(placed, await redeem(principal, placed))

    // the listener: no TLS 1.1, no plain HTTP
    assert.equal(await handshake(port, {}), 'connected')
    assert.notEqual(await handshake(port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }), 'connected', 'TLS 1.1 is refused')
    const plain = await fetch(`http://127.0.0.1:${port}/v1/status`).then(r => r.status, () => 'refused')
    assert.notEqual(plain, 200, 'plain HTTP is not served on the TLS port')

    const refusedWith = async (node: ServerNode, code: string, message?: RegExp): Promise<void> => {
      const r = await node.post('/v1/order', {})
      assert.equal(r.body.code, code, show(r.body))
      if (message !== undefined) assert.match(String(r.body.message), message)
    }

    // another CA: the principal refuses the fiduciary
    const wrongCa = await cluster.init('wrong-ca', { nodeType: 'principal', masterFiduciary: master })
    await wrongCa.start({ peers: fiduciary.multiaddrs, env: { ...trusting, MILAGRO_HTTP_FIDUCIARYCAFILE: join(dir, 'other-ca.pem') } })
    await refusedWith(wrongCa, 'PEER_TLS_FAILED', /trusted CA/)

    // mutual TLS: a certificate naming another identity, and none at all
    const impostor = await cluster.init('impostor', { nodeType: 'principal', masterFiduciary: master })
    const stolenName = await put(dir, 'impostor-client', await issue(ca, { cn: 'impostor', uri: `milagro:identity:${principal.cid}` }))
    await impostor.start({ peers: fiduciary.multiaddrs, env: { ...trusting, MILAGRO_HTTP_TLSCLIENTCERTFILE: stolenName.cert, MILAGRO_HTTP_TLSCLIENTKEYFILE: stolenName.key } })
    await refusedWith(impostor, 'TLS_CLIENT_MISMATCH')
    const anonymous = await cluster.init('anonymous', { nodeType: 'principal', masterFiduciary: master })
    await anonymous.start({ peers: fiduciary.multiaddrs, env: { MILAGRO_HTTP_FIDUCIARYCAFILE: join(dir, 'ca.pem') } })
    await refusedWith(anonymous, 'PEER_UNAUTHORIZED', /TLS_CLIENT_CERT_REQUIRED/)

    // the fiduciary's certificate expires (replaced and reloaded on SIGHUP, no restart)
    await put(dir, 'server', await issue(ca, { cn: 'fiduciary', dns: ['localhost'], ips: ['127.0.0.1'], notAfter: new Date(Date.now() - DAY) }))
    await reload(fiduciary)
    await refusedWith(principal, 'PEER_TLS_FAILED', /expired/)

    // a certificate for another host name
    await put(dir, 'server', await issue(ca, { cn: 'elsewhere', dns: ['other.example'] }))
    await reload(fiduciary)
    await refusedWith(principal, 'PEER_TLS_FAILED', /another host name/)

    // a good one again: orders go through, the running process never restarted
    await put(dir, 'server', await issue(ca, { cn: 'fiduciary', dns: ['localhost'], ips: ['127.0.0.1'] }))
    await reload(fiduciary)
    const again = await placeOrder(principal, 'milagro')
    checkRedeemed(again, await redeem(principal, again))
  })
})
