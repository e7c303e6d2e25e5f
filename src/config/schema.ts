/**
 * The configuration schema (PROTOCOL §10): one TypeBox schema gives the `Config` type, the
 * defaults, the validation (src/config/load.ts), the comments `writeConfig` puts in config.yaml,
 * and the table in docs/configuration.md (`describeConfig`, `configMarkdownTable`).
 *
 * Sections follow the original D-TA's config.yaml: `http`, `node`, `log`, `ipfs`, `plugins`.
 * Every key `<section>.<key>` can be set by the environment variable `MILAGRO_<SECTION>_<KEY>`
 * in upper case. Keys marked `envOnly` are secrets: they are accepted from the environment (or a
 * caller's overrides) and refused in the file, and `writeConfig` never writes them.
 *
 * Extra schema keywords used here (TypeBox keeps unknown keywords): `formatHint` — a readable
 * name for a `pattern`, used in error messages; `envOnly` — a secret never read from or written
 * to the file.
 * @module
 */
import { Type } from 'typebox'
import type { Static, TSchema } from 'typebox'
import { CIDV0_PATTERN } from '../ports/common.ts'

// ── formats ────────────────────────────────────────────────────────────────────────────────────

const PORT = '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)'
const HOST = '(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)'
/** host:port, with a host (IPv4, [IPv6] or a name) and a port 0..65535. */
export const LISTEN_ADDR_PATTERN = `^${HOST}:${PORT}$`
/** An http(s) URL with a host. */
export const URL_PATTERN = '^https?://[^\\s/?#@]+(/[^\\s]*)?$'
export { CIDV0_PATTERN }
/**
 * An entry of `http.allowedHosts`: a DNS name (labels of letters, digits, '-' and '_'), an IPv4
 * address, an IPv6 address (bare or in brackets), or `*` alone (src/http/host-check.ts checks
 * the IPv6 forms exactly and that `*` is the only entry).
 */
export const ALLOWED_HOST_PATTERN = '^(\\*|[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*|\\[[0-9A-Fa-f:.]+\\]|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)$'
/** A PostgreSQL URL without a password: postgres://role@host[:port]/database, or ?host=/socket/folder. */
export const DATABASE_URL_PATTERN = '^postgres(ql)?://[^:@/?#\\s]+@[^/?#\\s]*/[^/?#\\s]+(\\?host=/[^&#\\s]*)?$'
/** A multiaddr: starts with '/', no spaces. */
export const MULTIADDR_PATTERN = '^/[^\\s]+$'

const optional = (pattern: string): string => `^$|${pattern}`

const listenAddr = (def: string, description: string, allowEmpty = false) => Type.String({
  default: def,
  description,
  pattern: allowEmpty ? optional(LISTEN_ADDR_PATTERN) : LISTEN_ADDR_PATTERN,
  formatHint: 'host:port (e.g. 127.0.0.1:5556; 0.0.0.0:5556 for every interface)' + (allowEmpty ? ' or empty' : '')
})
const optionalUrl = (description: string) => Type.String({ default: '', description, pattern: optional(URL_PATTERN), formatHint: 'an http(s) URL or empty' })
const optionalCid = (description: string) => Type.String({ default: '', description, pattern: optional(CIDV0_PATTERN), formatHint: 'a CIDv0 (Qm + 44 base58 characters) or empty' })
/** A multiaddr of a peer: ends in /p2p/<peer id>. */
export const PEER_MULTIADDR_PATTERN = '^/[^\\s]+/p2p/[^\\s/]+$'
const multiaddrs = (def: string[], description: string, peers = false) => Type.Array(
  peers
    ? Type.String({ pattern: PEER_MULTIADDR_PATTERN, formatHint: "a multiaddr starting with '/' and ending in /p2p/<peer id>" })
    : Type.String({ pattern: MULTIADDR_PATTERN, formatHint: "a multiaddr starting with '/'" }),
  { default: def, description }
)
const integer = (def: number, minimum: number, maximum: number, description: string) =>
  Type.Integer({ default: def, minimum, maximum, description })

// ── the schema ─────────────────────────────────────────────────────────────────────────────────

export const HttpSchema = Type.Object({
  listenAddr: listenAddr('127.0.0.1:5556', 'Address of the API server. Loopback by default: the API creates identities and releases secrets, so expose it deliberately (0.0.0.0:5556) and only behind authentication.'),
  metricsListenAddr: listenAddr('127.0.0.1:5557', 'Address of the Prometheus metrics listener (a separate server); empty turns it off.', true),
  requestBodyLimit: integer(2 * 1024 * 1024, 1024, 64 * 1024 * 1024, 'Largest accepted request body, in bytes (a document is at most 1 MiB, and RPCs may carry one inline).'),
  requestTimeoutMs: integer(30_000, 100, 600_000, 'Time limit of one API request, in milliseconds, including calls to peers.'),
  shutdownTimeoutMs: integer(10_000, 0, 600_000, 'On SIGINT/SIGTERM, how long to let requests in flight finish, in milliseconds.'),
  oidcIssuer: optionalUrl('OAuth2/OIDC issuer whose JWKS verifies bearer tokens. Empty: no OAuth2 (the node warns at start).'),
  oidcAudience: Type.String({ default: '', description: 'Audience the bearer tokens must carry (with oidcIssuer).' }),
  allowPrincipals: Type.Array(Type.String({ pattern: CIDV0_PATTERN, formatHint: 'a CIDv0 (Qm + 44 base58 characters)' }), {
    default: [], description: 'Fiduciary: identity CIDs allowed to place orders. Empty: any principal.'
  }),
  allowedHosts: Type.Array(Type.String({ pattern: ALLOWED_HOST_PATTERN, maxLength: 255, formatHint: 'a host name or IP address without port (compared without case), or * alone' }), {
    default: [],
    description: 'Names the API and metrics listeners answer to in the Host header, besides localhost and any IP address (DNS-rebinding guard; browser Origins are checked against the same names). A fiduciary that principals call by a DNS name must list it here. The single entry * turns the check off: only behind a reverse proxy that checks Host and Origin itself.'
  }),
  bearerToken: Type.String({ default: '', description: 'Shared token for node-to-node calls. Secret: environment only.', envOnly: true }),
  policies: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_:.-]+=[^:,\\s][^:,]*:(\\s*(\\*|[a-z.]+))+\\s*$', formatHint: '"claim=value: operation operation …" (operations: *, identity.create, identity.read, order.create, order.read, order.redeem, order.redeem.own, audit.read, log.read, fulfil)' }), {
    default: [], description: 'With OAuth2: who may do what, by a claim of the token (sub, client_id, groups, roles, …). Once set, anything not granted is refused (403 POLICY_DENIED, audited). Empty: any valid token may do anything.'
  }),
  tlsCertFile: Type.String({ default: '', description: 'PEM certificate chain of the API listener, relative to the home folder; with tlsKeyFile the API serves HTTPS (TLS 1.2+), reloaded on SIGHUP. `milagro tls` makes a self-signed one. Empty: plain HTTP.' }),
  tlsKeyFile: Type.String({ default: '', description: 'PEM private key of tlsCertFile (mode 0600), relative to the home folder.' }),
  tlsClientCaFile: Type.String({ default: '', description: 'Fiduciary: PEM CA that client certificates must be signed by (mutual TLS). A caller of /v1/fulfill/* then needs one naming its identity (SAN URI milagro:identity:<CID>, or CN=<CID>), and it must be the identity the request acts as.' }),
  fiduciaryCaFile: Type.String({ default: '', description: 'Principal: PEM CA (or the fiduciary\'s own self-signed certificate, to pin it) that an https:// fiduciary must present a certificate from. Empty: the system\'s CAs.' }),
  tlsClientCertFile: Type.String({ default: '', description: 'Principal: PEM client certificate presented to the fiduciary (mutual TLS), relative to the home folder.' }),
  tlsClientKeyFile: Type.String({ default: '', description: 'Principal: PEM private key of tlsClientCertFile (mode 0600).' })
}, { additionalProperties: false, default: {}, description: 'The HTTP API.' })

export const NodeSchema = Type.Object({
  nodeType: Type.Enum(['multi', 'principal', 'fiduciary'], { default: 'multi', description: 'Role of this server: principal and fiduciary in one (multi), or one of them.' }),
  nodeName: Type.String({ default: '', maxLength: 256, description: 'Name of the node identity (its authenticationReference), set by init --nodename.' }),
  nodeID: optionalCid('CID of the node identity document, set by init.'),
  masterFiduciaryServer: optionalUrl('Base URL of the fiduciary this principal orders from (init --masterfiduciarynode CID,URL). Empty in multi mode: this node.'),
  masterFiduciaryNodeID: optionalCid('Identity CID of that fiduciary.'),
  masterFiduciaryReplicas: Type.Array(Type.String({ pattern: URL_PATTERN, formatHint: 'an http(s) URL' }), {
    default: [], description: 'Further base URLs of the same fiduciary (its replicas on one database), tried in order after masterFiduciaryServer when a call cannot connect or answers 5xx.'
  }),
  trustedFiduciaries: Type.Array(Type.String({ pattern: CIDV0_PATTERN, formatHint: 'a CIDv0 (Qm + 44 base58 characters)' }), {
    default: [], description: 'Fiduciary identity CIDs whose orders this node redeems for a beneficiary it holds (POST /v1/order/secret {orderPart4CID}). Empty: the master fiduciary only (this node itself in multi mode without one).'
  }),
  trustedFiduciaryServers: Type.Array(Type.String({ pattern: `^${CIDV0_PATTERN.slice(1, -1)}=${URL_PATTERN.slice(1)}`, formatHint: 'CID=URL (a trusted fiduciary\'s identity CID and its base URL)' }), {
    default: [], description: 'Where the log of each trusted fiduciary other than the master is read (CID=URL): a part 4 of a trusted fiduciary is redeemed only once it is found in that fiduciary\'s transparency log (docs/log.md), so a trusted fiduciary without an entry here (or the master fiduciary) cannot be redeemed from.'
  }),
  thresholdFiduciaries: Type.Array(Type.String({ pattern: `^${CIDV0_PATTERN.slice(1, -1)}=${URL_PATTERN.slice(1)}`, formatHint: 'CID=URL (a fiduciary\'s identity CID and its base URL)' }), {
    default: [], description: 'The fiduciaries a threshold order may name (POST /v1/order with extension.fiduciaries and extension.threshold, docs/threshold.md), each with the base URL this node calls it at. A fiduciary that is this node itself (multi mode) needs no entry.'
  }),
  thresholdDefault: integer(0, 0, 18, 'Makes every POST /v1/order without extension.fiduciaries a threshold order over all of node.thresholdFiduciaries, in their order, with this t (an order that gives only extension.threshold uses that set too). 0: orders are ordinary unless they name their fiduciaries.'),
  witnessFor: Type.Array(Type.String({ pattern: '^[^\\s+]+\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+={0,2}$', formatHint: 'a log\'s verifier key (name+hash+key, as GET /v1/log/key shows it)' }), {
    default: [], description: 'The logs this node witnesses: it cosigns their checkpoints at POST /v1/witness/add-checkpoint once each is consistent with the last it cosigned (docs/log.md, Witnesses). Empty: no witness endpoints.'
  }),
  witnesses: Type.Array(Type.String({ pattern: '^[^\\s+]+\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+={0,2}=https?://[^\\s/?#@]+(/[^\\s]*)?$', formatHint: 'VKEY=URL (a witness\'s verifier key, as its GET /v1/witness/key shows it, and its base URL)' }), {
    default: [], description: 'Witnesses asked to cosign this node\'s checkpoints; a fulfil answer then carries a checkpoint cosigned by node.witnessQuorum of them, or fails (LOG_WITNESS_QUORUM).'
  }),
  witnessQuorum: integer(0, 0, 64, 'How many of node.witnesses must cosign a checkpoint before this node answers with it. 0: all of them.'),
  fiduciaryWitnesses: Type.Array(Type.String({ pattern: '^[^\\s+]+\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+={0,2}$', formatHint: 'a witness\'s verifier key (name+hash+key)' }), {
    default: [], description: 'Witnesses whose cosignatures this node requires on its fiduciaries\' checkpoints (every part 2 and part 4 it checks): an answer without node.fiduciaryWitnessQuorum of them is refused (LOG_NOT_WITNESSED).'
  }),
  fiduciaryWitnessQuorum: integer(0, 0, 64, 'How many of node.fiduciaryWitnesses must have cosigned a fiduciary\'s checkpoint. 0: all of them.'),
  datastore: Type.Enum(['sqlite', 'postgres'], { default: 'sqlite', description: 'State database backend: sqlite (a file in the home folder, one process) or postgres (shared by several replicas of one server: docs/deploy.md).' }),
  databaseFile: Type.String({ default: 'state.sqlite', minLength: 1, description: 'SQLite database file, relative to the home folder.' }),
  databaseUrl: Type.String({
    default: '', pattern: `^$|${DATABASE_URL_PATTERN}`, formatHint: 'postgres://role@host:port/database or postgres://role@/database?host=/socket/folder, without a password',
    description: 'PostgreSQL database when datastore is postgres. No password here: it comes from MILAGRO_NODE_DATABASEPASSWORD.'
  }),
  databasePassword: Type.String({ default: '', description: 'Password of the databaseUrl role (empty: peer or trust authentication). Secret: environment only.', envOnly: true }),
  databasePoolSize: Type.Integer({ default: 10, minimum: 1, maximum: 1000, description: 'PostgreSQL connections this process keeps open at most.' }),
  custody: Type.Enum(['local', 'pkcs11'], { default: 'local', description: 'Custody backend for seeds: local (KEK from a key file or a passphrase) or pkcs11 (a non-extractable AES-256 KEK inside an HSM). Switch an initialised node with `milagro custody migrate --to`.' }),
  custodyKeySource: Type.Enum(['keyFile', 'passphrase'], { default: 'keyFile', description: 'Where the local custody KEK comes from: a 0600 key file, or a passphrase through scrypt.' }),
  custodyKeyFile: Type.String({ default: 'custody.key', minLength: 1, description: 'Local custody key file (32 bytes, mode 0600), relative to the home folder.' }),
  custodyParamsFile: Type.String({ default: 'custody-params.json', minLength: 1, description: 'Scrypt salt and cost for passphrase custody, relative to the home folder.' }),
  passphrase: Type.String({ default: '', description: 'Custody passphrase when custodyKeySource is passphrase. Secret: environment only.', envOnly: true }),
  pkcs11Module: Type.String({ default: '/usr/lib/softhsm/libsofthsm2.so', minLength: 1, description: 'PKCS#11 module (shared library) of the HSM, for pkcs11 custody. The default is Debian\'s SoftHSM2.' }),
  pkcs11TokenLabel: Type.String({ default: 'milagro', minLength: 1, maxLength: 32, description: 'Label of the PKCS#11 token that holds the KEK (exactly one token may have it).' }),
  pkcs11KeyLabel: Type.String({ default: 'milagro-dta-kek', minLength: 1, maxLength: 128, description: 'CKA_LABEL of the AES-256 KEK inside the token; created by `milagro init` if absent.' }),
  pkcs11PinFile: Type.String({ default: '', description: 'File holding the token user PIN (mode 0600), relative to the home folder; empty: the PIN comes from MILAGRO_NODE_PKCS11PIN.' }),
  pkcs11Pin: Type.String({ default: '', description: 'Token user PIN for pkcs11 custody (wins over pkcs11PinFile). Secret: environment only.', envOnly: true })
}, { additionalProperties: false, default: {}, description: 'This node: its role, identity, peers and storage.' })

export const LogSchema = Type.Object({
  level: Type.Enum(['debug', 'info', 'warn', 'error'], { default: 'info', description: 'Least severe level logged.' }),
  format: Type.Enum(['auto', 'json', 'text'], { default: 'auto', description: 'auto: readable text when stderr is a terminal, JSON otherwise; json: one JSON object per line; text: time LEVEL message key=value.' })
}, { additionalProperties: false, default: {}, description: 'Logging (never contains a secret).' })

export const IpfsSchema = Type.Object({
  listenAddr: multiaddrs(['/ip4/127.0.0.1/tcp/4001'], 'TCP multiaddrs the embedded IPFS node listens on.'),
  peers: multiaddrs([], 'Static peers, each a multiaddr ending in /p2p/<peer id>; dialled at start and kept connected.', true),
  announce: multiaddrs([], 'Addresses to advertise instead of the listen addresses (e.g. behind NAT).'),
  swarmKeyFile: Type.String({ default: '', description: 'Private network key file (go-ipfs swarm.key, mode 0600), relative to the home folder; empty: no private network.' }),
  fetchTimeoutMs: integer(10_000, 100, 600_000, 'Time limit for fetching a document from peers, in milliseconds.'),
  contentRouting: Type.Enum(['dht', 'none'], { default: 'dht', description: 'How a document no connected peer has is found: dht, the private network\'s Kademlia DHT (/milagro-dta/kad/1.0.0, filled from ipfs.peers only, never the public IPFS DHT); none, ask connected peers only (every node holding a document a node reads must then be in its ipfs.peers).' }),
  dataDir: Type.String({ default: 'ipfs', minLength: 1, description: 'Blockstore and peer key folder, relative to the home folder.' })
}, { additionalProperties: false, default: {}, description: 'The embedded IPFS node that stores documents.' })

export const PluginsSchema = Type.Object({
  service: Type.Enum(['milagro', 'safeguardsecret', 'bitcoinwallet'], { default: 'milagro', description: 'The plugin this server runs.' })
}, { additionalProperties: false, default: {}, description: 'The order plugin (PROTOCOL §7).' })

export const ConfigSchema = Type.Object({
  http: HttpSchema,
  node: NodeSchema,
  log: LogSchema,
  ipfs: IpfsSchema,
  plugins: PluginsSchema
}, { additionalProperties: false, default: {} })

export type Config = Static<typeof ConfigSchema>
export type ConfigSection = keyof Config

/** A config with any subset of keys, e.g. overrides from CLI flags. */
export type PartialConfig = { [S in ConfigSection]?: Partial<Config[S]> }

// ── description, for docs and error messages ─────────────────────────────────────────────────

export type ConfigValueKind = 'string' | 'integer' | 'boolean' | 'string list' | 'enum'

export interface ConfigKeyDoc {
  /** e.g. `http.listenAddr` */
  readonly path: string
  readonly section: ConfigSection
  readonly key: string
  /** e.g. `MILAGRO_HTTP_LISTENADDR` */
  readonly env: string
  readonly kind: ConfigValueKind
  readonly default: unknown
  readonly allowed: readonly string[] | undefined
  readonly minimum: number | undefined
  readonly maximum: number | undefined
  readonly formatHint: string | undefined
  readonly description: string
  readonly envOnly: boolean
  readonly schema: TSchema
}

export function envName (section: string, key: string): string {
  return `MILAGRO_${section.toUpperCase()}_${key.toUpperCase()}`
}

function kindOf (schema: Record<string, unknown>): ConfigValueKind {
  if (Array.isArray(schema.enum)) return 'enum'
  if (schema.type === 'array') return 'string list'
  if (schema.type === 'integer') return 'integer'
  if (schema.type === 'boolean') return 'boolean'
  return 'string'
}

/** Every key of the config with its default, environment variable, limits and meaning. */
export function describeConfig (schema: TSchema = ConfigSchema): ConfigKeyDoc[] {
  const out: ConfigKeyDoc[] = []
  const sections = (schema as unknown as { properties: Record<string, { properties: Record<string, TSchema> }> }).properties
  for (const [section, sectionSchema] of Object.entries(sections)) {
    for (const [key, s] of Object.entries(sectionSchema.properties)) {
      const k = s as unknown as Record<string, unknown>
      const items = k.items as Record<string, unknown> | undefined
      out.push({
        path: `${section}.${key}`,
        section: section as ConfigSection,
        key,
        env: envName(section, key),
        kind: kindOf(k),
        default: k.default,
        allowed: Array.isArray(k.enum) ? (k.enum as string[]) : undefined,
        minimum: typeof k.minimum === 'number' ? k.minimum : undefined,
        maximum: typeof k.maximum === 'number' ? k.maximum : undefined,
        formatHint: (k.formatHint ?? items?.formatHint) as string | undefined,
        description: typeof k.description === 'string' ? k.description : '',
        envOnly: k.envOnly === true,
        schema: s
      })
    }
  }
  return out
}

function cell (s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('\n', ' ')
}

function showDefault (value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '`[]`' : value.map(v => `\`${String(v)}\``).join(', ')
  if (value === '') return '""'
  return `\`${String(value)}\``
}

/** The markdown table of every key, as docs/configuration.md holds it (a test keeps them equal). */
export function configMarkdownTable (): string {
  const rows = describeConfig().map(d => {
    const type = d.kind === 'enum'
      ? `one of ${(d.allowed ?? []).map(a => `\`${a}\``).join(', ')}`
      : d.kind === 'integer'
        ? `integer ${d.minimum ?? ''}..${d.maximum ?? ''}`
        : d.formatHint !== undefined ? `${d.kind}: ${d.formatHint}` : d.kind
    const meaning = d.envOnly ? `${d.description} Refused in config.yaml.` : d.description
    return `| \`${d.path}\` | \`${d.env}\` | ${cell(type)} | ${cell(showDefault(d.default))} | ${cell(meaning)} |`
  })
  return ['| key | environment variable | type | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n')
}
