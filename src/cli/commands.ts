/**
 * Every `milagro` command, once: its words, arguments, the options it takes, a summary, details
 * and examples. main.ts finds the command here and refuses an option the command does not take;
 * help.ts prints the overview, a group's help (`milagro order --help`) and a command's help from
 * the same entries, so the help cannot drift from what the parser accepts. The plugin-specific
 * `--ext` keys are not here: help.ts asks the plugin (`Plugin.extensionFields`).
 * @module
 */
import type { OptionName } from './usage.ts'

export type Section = 'server' | 'client' | 'custody'

export interface CommandSpec {
  /** The words, e.g. `order secret`. */
  readonly name: string
  readonly section: Section
  /** Positional arguments, in order; a trailing `?` makes one optional. */
  readonly args: readonly string[]
  /** The options it takes besides --help and --version (client commands also take CLIENT_OPTIONS). */
  readonly options: readonly OptionName[]
  readonly summary: string
  readonly details?: string
  readonly examples: readonly string[]
  /** Which plugin extension fields its `--ext` sets: those of POST /v1/order or of POST /v1/order/secret. */
  readonly extension?: 'order' | 'secret'
}

/** What an option's value looks like and what it does. */
export const OPTION_HELP: Readonly<Record<OptionName, { value?: string, text: string }>> = {
  nodename: { value: 'NAME', text: 'the node identity\'s name (default: node)' },
  nodetype: { value: 'multi|principal|fiduciary', text: 'multi (principal and fiduciary in one; the default), principal or fiduciary' },
  service: { value: 'PLUGIN', text: 'the plugin: milagro (default), safeguardsecret or bitcoinwallet' },
  masterfiduciarynode: { value: 'CID,URL', text: 'a principal\'s fiduciary: its node identity CID and API URL' },
  interactive: { text: 'ask for each value instead' },
  join: { value: 'DATABASE_URL', text: 'make this home a further replica of the node whose identity is in that PostgreSQL database (docs/deploy.md)' },
  peer: { value: 'MULTIADDR', text: 'an IPFS peer to keep connected (ipfs.peers); repeat for more' },
  name: { value: 'HOST', text: 'a DNS name or IP address the certificate is for, besides localhost and 127.0.0.1; repeat for more' },
  days: { value: 'N', text: 'days the certificate is valid (default 365)' },
  client: { text: 'a client certificate naming this node\'s identity, for mutual TLS with its fiduciary' },
  key: { value: 'FILE', text: 'the node\'s custody key file, copied into the new home and checked against the node identity' },
  url: { value: 'URL', text: 'the node\'s API, e.g. http://127.0.0.1:5556 (default: http.listenAddr in the home\'s config.yaml)' },
  token: { value: 'JWT', text: 'OAuth2 bearer token, when the node requires one (default: $MILAGRO_TOKEN)' },
  json: { text: 'print the API\'s JSON answer as it is (raw times: Unix seconds, audit `at` in milliseconds)' },
  verbose: { text: 'print on stderr the URL each request goes to and where that address came from' },
  beneficiary: { value: 'CID', text: 'the identity the secret is released to instead of this node' },
  ext: { value: 'key=value', text: 'a field of the plugin\'s `extension`; repeat for more (keys below)' },
  page: { value: 'N', text: 'page number, from 0 (default 0)' },
  'per-page': { value: 'N', text: 'entries per page, 1 to 100 (default 10)' },
  sort: { value: 'asc|desc', text: 'oldest or newest first (default desc)' },
  to: { value: 'BACKEND', text: 'pkcs11 or local' },
  vkey: { value: 'VKEY', text: 'the log\'s verifier key (name+hash+key) to hold it to, from a node you trust or an earlier run (default: the key the node serves, checked only against the identity it claims)' },
  documents: { text: 'also fetch every leaf\'s document and check it: its CID, that it makes that leaf, its signature' },
  help: { text: 'this help' },
  version: { text: 'print the version' },
}

/** The options every client command takes. */
export const CLIENT_OPTIONS: readonly OptionName[] = ['url', 'token', 'json', 'verbose']

const INIT_OPTIONS: readonly OptionName[] = ['nodename', 'nodetype', 'service', 'masterfiduciarynode', 'interactive', 'join', 'peer']
const LIST_OPTIONS: readonly OptionName[] = ['page', 'per-page', 'sort']

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'init',
    section: 'server',
    args: [],
    options: INIT_OPTIONS,
    summary: 'create the node\'s home ($MILAGRO_HOME, default ~/.milagro)',
    details: 'Writes config.yaml (MILAGRO_<SECTION>_<KEY> variables set now are written into it), the custody key, the IPFS peer key and the node identity. With --join, a replica: no new identity or custody key — copy the node\'s custody key into the home first, give the same --nodetype and --service, and --peer a running replica (password: MILAGRO_NODE_DATABASEPASSWORD).',
    examples: [
      'milagro init --nodename alice',
      'MILAGRO_HOME=/srv/fid milagro init --nodetype fiduciary --nodename fid',
      'milagro init --nodetype principal --masterfiduciarynode Qm…,http://127.0.0.1:5556',
      'MILAGRO_NODE_DATASTORE=postgres MILAGRO_NODE_DATABASEURL=postgres://dta@db1/custody milagro init --nodetype fiduciary',
      'milagro init --nodetype fiduciary --join postgres://dta@db1/custody --peer /ip4/10.0.0.5/tcp/4001/p2p/12D3Koo…',
    ],
  },
  {
    name: 'tls',
    section: 'server',
    args: [],
    options: ['name', 'days', 'client'],
    summary: 'make a self-signed TLS certificate for the API (or, with --client, for calls to the fiduciary) and use it',
    details: 'Writes tls/cert.pem and tls/key.pem (0600) in the home — tls/client-cert.pem and tls/client-key.pem with --client — and sets http.tlsCertFile/tlsKeyFile (or tlsClientCertFile/tlsClientKeyFile) in config.yaml; refuses to overwrite. Restart the daemon (or send it SIGHUP after replacing files). Give the certificate to the other side as its CA file (http.fiduciaryCaFile, http.tlsClientCaFile) to pin it.',
    examples: ['milagro tls --name fid.example --name 10.0.0.5', 'milagro tls --client'],
  },
  {
    name: 'backup',
    section: 'server',
    args: ['FILE'],
    options: [],
    summary: 'write a consistent snapshot of the node\'s state and documents to FILE (never the custody key)',
    details: 'Works while the node runs: SQLite\'s online backup (or pg_dump), then the IPFS blocks and pins, into one gzipped tar (mode 0600). Keep the custody key apart from it.',
    examples: ['milagro backup /var/backups/milagro-$(date +%F).tar.gz'],
  },
  {
    name: 'restore',
    section: 'server',
    args: ['FILE'],
    options: ['key'],
    summary: 'make a new home ($MILAGRO_HOME, absent or empty) from a backup',
    details: 'PostgreSQL: into the configured (or MILAGRO_NODE_DATABASEURL) database, which must be empty. Without --key, copy the custody key into the home before starting it.',
    examples: ['MILAGRO_HOME=/srv/restored milagro restore backup.tar.gz --key /secure/custody.key'],
  },
  {
    name: 'daemon',
    section: 'server',
    args: [],
    options: [],
    summary: 'run the node of the home (graceful shutdown on SIGINT/SIGTERM)',
    examples: ['milagro daemon', 'MILAGRO_HOME=/srv/fid milagro daemon'],
  },
  {
    name: 'start',
    section: 'server',
    args: [],
    options: INIT_OPTIONS,
    summary: 'init with these options if the home is new, then daemon',
    examples: ['milagro start', 'MILAGRO_HOME=/tmp/sg milagro start --service safeguardsecret'],
  },
  {
    name: 'status',
    section: 'client',
    args: [],
    options: [],
    summary: 'the node\'s identity, type, plugin, version and IPFS peers',
    examples: ['milagro status', 'milagro status --url http://127.0.0.1:5566 -v'],
  },
  {
    name: 'identity create',
    section: 'client',
    args: ['NAME'],
    options: [],
    summary: 'create an identity on the node (e.g. to name as a beneficiary); prints its CID',
    examples: ['milagro identity create bob'],
  },
  {
    name: 'identity get',
    section: 'client',
    args: ['CID'],
    options: [],
    summary: 'an identity document: name, public keys, creation time',
    examples: ['milagro identity get Qm…'],
  },
  {
    name: 'identity list',
    section: 'client',
    args: [],
    options: LIST_OPTIONS,
    summary: 'the identities this node holds: CID, name, created (UTC)',
    examples: ['milagro identity list', 'milagro identity list --sort asc --per-page 100'],
  },
  {
    name: 'order create',
    section: 'client',
    args: [],
    options: ['beneficiary', 'ext'],
    extension: 'order',
    summary: 'place an order: the fiduciary makes a key and keeps its seed; you get the commitment',
    details: 'On a principal or multi node (a fiduciary takes orders from principals only). --beneficiary names, now, the identity the secret will be released to.',
    examples: ['milagro order create', 'milagro order create --beneficiary Qm… --json', 'milagro order create --ext fiduciaries=Qm…,Qm…,Qm… --ext threshold=2   # a 2-of-3 threshold order (docs/threshold.md)'],
  },
  {
    name: 'order list',
    section: 'client',
    args: [],
    options: LIST_OPTIONS,
    summary: 'this node\'s orders: reference, created (UTC), plugin, state',
    details: 'State is ordered, redeemed (released to this node), or released to CID (held on this node, or on another node: it redeems there).',
    examples: ['milagro order list', 'milagro order list --page 1 --sort asc'],
  },
  {
    name: 'order get',
    section: 'client',
    args: ['REFERENCE'],
    options: [],
    summary: 'one order: created, plugin, state, parties, commitment, parts, and the secret once redeemed here',
    details: 'With --json, the API\'s answer: orderCID and the order document in the original D-TA\'s shape (a JSON string).',
    examples: ['milagro order get 6d843d7f1ac89196e12877276400c2ef'],
  },
  {
    name: 'order secret',
    section: 'client',
    args: ['REFERENCE'],
    options: ['beneficiary', 'ext'],
    extension: 'secret',
    summary: 'redeem an order: the fiduciary releases the seed to this node, or to the beneficiary',
    details: 'When the beneficiary is held on another node, this node gets no secret: it prints the orderPart4CID to hand to the beneficiary, who runs `milagro order redeem` on its own node.',
    examples: ['milagro order secret 6d843d7f1ac89196e12877276400c2ef', 'milagro order secret 6d84… --beneficiary Qm…'],
  },
  {
    name: 'order redeem',
    section: 'client',
    args: ['PART4CID'],
    options: ['ext'],
    extension: 'secret',
    summary: 'on a beneficiary\'s own node: get the secret from the part 4 CID the principal handed over',
    details: 'The node redeems only orders of a fiduciary it trusts (node.trustedFiduciaries) that name one of its identities as beneficiary. A threshold order (docs/threshold.md) hands over one part 4 per fiduciary: give them all, comma-separated; their fiduciaries must be in node.thresholdFiduciaries or node.trustedFiduciaries.',
    examples: ['milagro order redeem Qm…', 'milagro order redeem Qm…,Qm…,Qm…'],
  },
  {
    name: 'audit',
    section: 'client',
    args: [],
    options: ['page', 'per-page'],
    summary: 'the custody audit trail, oldest first: id, time (UTC), operation, reference, actor, detail',
    examples: ['milagro audit', 'milagro audit --page 2 --per-page 100'],
  },
  {
    name: 'log verify',
    section: 'client',
    args: ['URL?'],
    options: ['vkey', 'documents'],
    summary: 'verify a node\'s transparency log: every tile and entry from the leaves up, against its signed checkpoint',
    details: 'Downloads the checkpoint, every hash tile and entry bundle (C2SP tlog-tiles under /v1/log/), recomputes each tile and the root from the leaves, checks the checkpoint signature, and prints a summary (origin, size, root, the key, the leaves by type). Exits 1 on any failure (LOG_VERIFY_FAILED says what). URL: the node (default: --url, else the home\'s node). Pin the key with --vkey to hold the log to it; without it the key is the node\'s own statement, checked against the identity it claims. With --documents, every leaf\'s document too (GET /v1/log/document/<cid>): it is the document of its CID, it makes that leaf (type, signer, the order part\'s number from its predecessor), and its signature verifies — identity documents self-signed with their proof of possession, the others by their signer\'s key from its identity document in the log (else as the node shows it; the summary counts both).',
    examples: ['milagro log verify', 'milagro log verify http://127.0.0.1:5556 --documents', 'milagro log verify http://fid:5556 --vkey milagro-dta/log/Qm…+1a2b3c4d+AR…'],
  },
  {
    name: 'custody migrate',
    section: 'custody',
    args: [],
    options: ['to', 'json'],
    summary: 're-seal every seed under the other backend\'s KEK, then switch node.custody',
    examples: ['milagro custody migrate --to pkcs11', 'milagro custody migrate --to local'],
  },
  {
    name: 'custody rotate',
    section: 'custody',
    args: [],
    options: ['json'],
    summary: 'a new key-encryption key for the same backend, every sealed record re-sealed under it (resumable)',
    details: 'Stop the node first. local: a new key file; passphrase: the new one from MILAGRO_NEWPASSPHRASE (the current one in MILAGRO_NODE_PASSPHRASE); pkcs11: a new key in the same token. An interrupted rotation resumes with the same new key when run again; the old key is kept.',
    examples: ['milagro custody rotate', 'MILAGRO_NODE_PASSPHRASE=old MILAGRO_NEWPASSPHRASE=new milagro custody rotate'],
  },
  {
    name: 'custody status',
    section: 'custody',
    args: [],
    options: ['json'],
    summary: 'the custody backend, its key id, and records under it or other keys',
    examples: ['milagro custody status'],
  },
]

/** The words that take a subcommand: identity, order, custody. */
export const GROUPS: readonly string[] = [...new Set(COMMANDS.filter(c => c.name.includes(' ')).map(c => c.name.split(' ')[0]))]

export function findCommand (name: string): CommandSpec | undefined {
  return COMMANDS.find(c => c.name === name)
}

export function subcommands (group: string): CommandSpec[] {
  return COMMANDS.filter(c => c.name.startsWith(`${group} `))
}

/** The options a command accepts: its own, the client ones for a client command, --help and --version. */
export function acceptedOptions (spec: CommandSpec): Set<OptionName> {
  return new Set<OptionName>([...spec.options, ...(spec.section === 'client' ? CLIENT_OPTIONS : []), 'help', 'version'])
}

/** `milagro order secret REFERENCE [--beneficiary CID] [--ext key=value ...]` */
export function synopsis (spec: CommandSpec): string {
  const args = spec.args.map(a => a.endsWith('?') ? `[${a.slice(0, -1)}]` : a)
  const options = spec.options.map(o => {
    const h = OPTION_HELP[o]
    return `[--${o}${h.value === undefined ? '' : ` ${h.value}`}${o === 'ext' ? ' ...' : ''}]`
  })
  return ['milagro', spec.name, ...args, ...options, ...(spec.section === 'client' ? ['[--url URL --token JWT --json -v]'] : [])].join(' ')
}
