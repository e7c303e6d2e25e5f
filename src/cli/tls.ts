/**
 * `milagro tls`: a self-signed certificate for local use, written into the home and set in its
 * config.yaml — for the API listener (http.tlsCertFile/tlsKeyFile), or with --client for this
 * node's calls to its fiduciary (http.tlsClientCertFile/tlsClientKeyFile, naming the node
 * identity for mutual TLS). The other side pins it by using the certificate as its CA file.
 * Refuses to overwrite a file or a configured certificate.
 * @module
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig, resolveHome, writeConfig } from '../config/load.ts'
import { DtaError } from '../errors.ts'
import { UsageError } from './usage.ts'
import type { Values } from './usage.ts'

export async function tls (values: Values): Promise<void> {
  const home = resolveHome()
  const config = await loadConfig({ home })
  const days = values.days === undefined ? 365 : Number(values.days)
  if (!Number.isSafeInteger(days) || days < 1 || days > 3650) throw new UsageError('--days must be a whole number of days, 1 to 3650')
  const client = values.client === true
  if (client && config.node.nodeID === '') throw new DtaError('CONFIG_INVALID', `node.nodeID is empty: run \`milagro init\` for ${home} first (the client certificate names the node identity)`)
  const [certKey, keyKey] = client ? ['tlsClientCertFile', 'tlsClientKeyFile'] as const : ['tlsCertFile', 'tlsKeyFile'] as const
  if (config.http[certKey] !== '') throw new DtaError('CONFIG_INVALID', `http.${certKey} is already set (${config.http[certKey]}): remove it from config.yaml first to make a new one`)
  const names = [...new Set(['localhost', '127.0.0.1', ...(values.name ?? [])])]
  const certFile = client ? 'tls/client-cert.pem' : 'tls/cert.pem'
  const keyFile = client ? 'tls/client-key.pem' : 'tls/key.pem'
  await mkdir(join(home, 'tls'), { recursive: true, mode: 0o700 })
  const { createSelfSignedCertificate } = await import('../adapters/tls.ts')
  const { sha256 } = await createSelfSignedCertificate({
    certFile: join(home, certFile), keyFile: join(home, keyFile), names: client ? [] : names, days, ...(client ? { identity: config.node.nodeID } : {}),
  })
  await writeConfig(home, { ...config, http: { ...config.http, [certKey]: certFile, [keyKey]: keyFile } })
  console.log(`Wrote ${join(home, certFile)} and ${join(home, keyFile)} (valid ${days} days${client ? `, naming ${config.node.nodeID}` : `, for ${names.join(', ')}`})`)
  console.log(`SHA-256 fingerprint: ${sha256}`)
  console.log(client
    ? 'Set in config.yaml: http.tlsClientCertFile, http.tlsClientKeyFile. Give the certificate to the fiduciary as (part of) its http.tlsClientCaFile.'
    : 'Set in config.yaml: http.tlsCertFile, http.tlsKeyFile. Restart the daemon; principals pin it with http.fiduciaryCaFile set to a copy of the certificate.')
}
