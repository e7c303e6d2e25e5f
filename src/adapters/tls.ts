/**
 * TLS for the API listener and for a principal's calls to its fiduciary (docs/operations.md#tls):
 * reading and checking the PEM files, the server and client options, who a client certificate
 * names, and a self-signed certificate for local use.
 *
 * - Private keys are secret files: refused unless 0600 (src/adapters/secret-file.ts), as the
 *   custody key is. Certificates and CA files are public; each file is parsed at start, so a
 *   wrong path or a malformed PEM is TLS_FILE_INVALID naming the file and the setting, before
 *   anything listens — and a key that does not belong to its certificate too.
 * - TLS 1.2 or newer, on both sides.
 * - Mutual TLS: with a client CA, the server asks every client for a certificate and verifies it
 *   against that CA, but lets a connection without one in (the operator's own curl, a browser):
 *   the fulfil routes then require a verified certificate that names the calling identity
 *   (src/http/client-certificate.ts). A certificate names an identity by a subject alternative
 *   name `URI:milagro:identity:<CID>`, or else its subject CN being the CID.
 * @module
 */
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { TLSSocket } from 'node:tls'
import { DtaError, isDtaError } from '../errors.ts'
import { isCIDv0 } from '../ports/common.ts'
import { readSecretFile, writeSecretFile } from './secret-file.ts'

export const TLS_MIN_VERSION = 'TLSv1.2' as const
const MAX_PEM_BYTES = 1024 * 1024
const IDENTITY_URI = 'milagro:identity:'

/** PEM material of one side: a certificate chain and its key, and CAs to verify the other side with. */
export interface TlsMaterial {
  cert?: Buffer
  key?: Buffer
  ca?: Buffer
}

/** A file and the setting that named it, for messages. */
export interface TlsFile { path: string, setting: string }

async function readPublic (file: TlsFile): Promise<Buffer> {
  try {
    const bytes = await readFile(file.path)
    if (bytes.length === 0 || bytes.length > MAX_PEM_BYTES) throw new DtaError('TLS_FILE_INVALID', `${file.path} (${file.setting}) is empty or larger than 1 MiB`)
    return bytes
  } catch (err) {
    if (isDtaError(err)) throw err
    throw new DtaError('TLS_FILE_INVALID', `cannot read ${file.path} (${file.setting}): ${(err as { code?: string }).code ?? 'error'}`, { cause: err })
  }
}

function certificates (pem: Buffer, file: TlsFile): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) throw new DtaError('TLS_FILE_INVALID', `${file.path} (${file.setting}) holds no PEM certificate`)
  try {
    return blocks.map(b => new X509Certificate(b))
  } catch (err) {
    throw new DtaError('TLS_FILE_INVALID', `${file.path} (${file.setting}) holds a malformed certificate`, { cause: err })
  }
}

/**
 * Reads a certificate chain, its private key (0600) and optionally a CA file, and checks that
 * they parse and that the key is the certificate's. `cert` and `key` come together or not at all.
 */
export async function readTlsMaterial (files: { cert?: TlsFile, key?: TlsFile, ca?: TlsFile }): Promise<TlsMaterial> {
  const out: TlsMaterial = {}
  if (files.cert !== undefined && files.key !== undefined) {
    out.cert = await readPublic(files.cert)
    const leaf = certificates(out.cert, files.cert)[0]!
    out.key = await readSecretFile(files.key.path, { insecureCode: 'TLS_FILE_INVALID', invalidCode: 'TLS_FILE_INVALID', maxBytes: MAX_PEM_BYTES, insecureHint: `chmod 600 ${files.key.path}: ${files.key.setting} is a private key` })
    let matches: boolean
    try {
      matches = leaf.checkPrivateKey(createPrivateKey(out.key))
    } catch (err) {
      throw new DtaError('TLS_FILE_INVALID', `${files.key.path} (${files.key.setting}) is not a PEM private key`, { cause: err })
    }
    if (!matches) throw new DtaError('TLS_FILE_INVALID', `${files.key.path} (${files.key.setting}) is not the key of the certificate in ${files.cert.path} (${files.cert.setting})`)
  }
  if (files.ca !== undefined) {
    out.ca = await readPublic(files.ca)
    certificates(out.ca, files.ca)
  }
  return out
}

/** The HTTPS server options of the API listener: TLS 1.2+; with a client CA, client certificates asked for and verified. */
export function serverTlsOptions (material: TlsMaterial): { cert: Buffer, key: Buffer, minVersion: typeof TLS_MIN_VERSION, ca?: Buffer, requestCert?: boolean, rejectUnauthorized?: boolean } {
  if (material.cert === undefined || material.key === undefined) throw new DtaError('INTERNAL', 'server TLS without a certificate')
  return {
    cert: material.cert,
    key: material.key,
    minVersion: TLS_MIN_VERSION,
    ...(material.ca === undefined ? {} : { ca: material.ca, requestCert: true, rejectUnauthorized: false }),
  }
}

/**
 * The identity CID a connection's client certificate names, when the certificate was verified
 * against the client CA; undefined when there is none, it did not verify, or it names no CID.
 */
export function clientIdentity (socket: unknown): string | undefined {
  const tls = socket as Partial<TLSSocket>
  if (tls.authorized !== true || typeof tls.getPeerX509Certificate !== 'function') return undefined
  const cert = tls.getPeerX509Certificate()
  if (cert === undefined) return undefined
  const uris = (cert.subjectAltName ?? '').split(/,\s*/).filter(n => n.startsWith(`URI:${IDENTITY_URI}`)).map(n => n.slice(`URI:${IDENTITY_URI}`.length))
  if (uris.length > 0) return uris.length === 1 && isCIDv0(uris[0]!) ? uris[0] : undefined
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1]
  return cn !== undefined && isCIDv0(cn) ? cn : undefined
}

/** Why a TLS connection to a peer failed, in words an operator can act on (from Node's error code). */
export function tlsFailure (code: string | undefined): string | undefined {
  switch (code) {
    case 'CERT_HAS_EXPIRED': return 'its certificate has expired'
    case 'CERT_NOT_YET_VALID': return 'its certificate is not valid yet'
    case 'ERR_TLS_CERT_ALTNAME_INVALID': return 'its certificate is for another host name'
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'its certificate is not signed by a trusted CA (http.fiduciaryCaFile)'
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
      return 'it refused this node\'s client certificate'
    case 'ERR_SSL_WRONG_VERSION_NUMBER': return 'it does not speak TLS there (an http:// URL?)'
    default: return code !== undefined && /^(ERR_SSL_|ERR_TLS_|CERT_)/.test(code) ? code : undefined
  }
}

/**
 * Writes a self-signed certificate (ECDSA P-256, SHA-256) for `names` (DNS names and IP
 * addresses), valid `days` days, and its key (0600); refuses to overwrite either file.
 * `identity`: a CID to name as the certificate's identity (for a principal's client certificate).
 */
export async function createSelfSignedCertificate (options: { certFile: string, keyFile: string, names: string[], days: number, identity?: string }): Promise<{ sha256: string }> {
  // Loaded only here (the `milagro tls` command): @peculiar/x509 needs the reflect-metadata polyfill.
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
  const ip = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i
  const altNames = [
    ...options.names.map(n => ({ type: ip.test(n) ? 'ip' as const : 'dns' as const, value: n })),
    ...(options.identity === undefined ? [] : [{ type: 'url' as const, value: `${IDENTITY_URI}${options.identity}` }]),
  ]
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${options.identity ?? options.names[0] ?? 'milagro'}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + options.days * 86_400_000),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(altNames),
    ],
  }, webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1])
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`
  const write = async (path: string, data: string, mode: number): Promise<void> => {
    try {
      await writeSecretFile(path, data, { mode, exclusive: true })
    } catch (err) {
      const code = (err as { code?: string }).code
      throw new DtaError('TLS_FILE_INVALID', code === 'EEXIST' ? `${path} exists: refusing to overwrite it` : `cannot write ${path} (${code ?? 'error'})`, { cause: err })
    }
  }
  await write(options.keyFile, keyPem, 0o600)
  await write(options.certFile, `${cert.toString('pem')}\n`, 0o644)
  return { sha256: new X509Certificate(cert.toString('pem')).fingerprint256 }
}
