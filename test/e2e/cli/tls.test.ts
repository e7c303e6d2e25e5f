/**
 * `milagro tls`: a self-signed certificate written into the home (key 0600) and set in its
 * config.yaml; the daemon then serves HTTPS with it, and a client that pins the certificate
 * (uses it as its CA) connects; `--client` makes a client certificate naming the node identity.
 * Refuses to overwrite.
 * @module
 */
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { test } from 'node:test'
import { createCluster } from '../server/harness.ts'
import { milagro } from './milagro.ts'

test('milagro tls makes a self-signed certificate the daemon serves and a pinning client accepts', { timeout: 120_000 }, async (t) => {
  const cluster = await createCluster(t, 'milagro-tls-cli-')
  const node = await cluster.init('node', { nodeType: 'multi' })
  const env = { MILAGRO_HOME: node.home }
  const made = await milagro(['tls', '--name', 'fid.example', '--days', '30'], env)
  assert.equal(made.code, 0, made.stderr)
  const cert = new X509Certificate(await readFile(join(node.home, 'tls', 'cert.pem')))
  assert.match(String(cert.subjectAltName), /DNS:localhost/)
  assert.match(String(cert.subjectAltName), /DNS:fid\.example/)
  assert.match(String(cert.subjectAltName), /IP Address:127\.0\.0\.1/)
  assert.equal((await stat(join(node.home, 'tls', 'key.pem'))).mode & 0o777, 0o600)
  assert.match(await readFile(join(node.home, 'config.yaml'), 'utf8'), /tlsCertFile: tls\/cert\.pem/)
  const again = await milagro(['tls'], env)
  assert.equal(again.code, 1, 'a second certificate is refused while one is configured')
  assert.match(again.stderr, /already set/)

  const client = await milagro(['tls', '--client'], env)
  assert.equal(client.code, 0, client.stderr)
  const clientCert = new X509Certificate(await readFile(join(node.home, 'tls', 'client-cert.pem')))
  assert.match(String(clientCert.subjectAltName), new RegExp(`URI:milagro:identity:${node.cid}`))

  await node.start()
  assert.match(node.url, /^https:/)
  const ca = await readFile(join(node.home, 'tls', 'cert.pem'))
  const status = await new Promise<number>((resolve, reject) => {
    const r = request(`${node.url}/v1/status`, { ca }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    r.once('error', reject)
    r.end()
  })
  assert.equal(status, 200, 'a client pinning the certificate connects')
  const unpinned = await new Promise<string>(resolve => {
    const r = request(`${node.url}/v1/status`, {}, res => { res.resume(); resolve(String(res.statusCode)) })
    r.once('error', (err: Error & { code?: string }) => { resolve(err.code ?? 'error') })
    r.end()
  })
  assert.equal(unpinned, 'DEPTH_ZERO_SELF_SIGNED_CERT', 'a client that does not pin it refuses it')
})
