/**
 * The client commands: call a running node's HTTP API so a person can use it without curl —
 * status, identity, order, audit. Output is readable text (times in UTC, format.ts), or the API's
 * JSON with --json. The node is chosen by target.ts (`--url`, else the home's config.yaml), and
 * api.ts turns answers that are not the API's into messages that say what to do.
 *
 * Beyond a thin wrapper: `order list` fetches each order's document (the list endpoint answers
 * references only) to show created time, plugin and state; `order secret` for a beneficiary held
 * on another node prints the hand-off (the part 4 CID and the command to run on that node), since
 * the answer then has no secret; `order redeem` refused because the CID is not a part 4 says what
 * the CID is, when this node can tell (an identity document, an earlier part of one of its orders,
 * a document signed by a node that is no trusted fiduciary).
 * @module
 */
import { ApiError, createClient } from './api.ts'
import type { Client, Payload } from './api.ts'
import { describeOrder, fields, orderState, shellWord, table, utc } from './format.ts'
import { resolveTarget } from './target.ts'
import { UsageError } from './usage.ts'
import type { Values } from './usage.ts'

const CID = /^Qm[1-9A-HJ-NP-Za-km-z]{44}$/
const REFERENCE = /^[0-9a-f]{32}$/
/** How many order documents `order list` fetches at once. */
const PARALLEL = 8

function extension (values: Values): Record<string, string> | undefined {
  if (values.ext === undefined) return undefined
  const out: Record<string, string> = {}
  for (const pair of values.ext) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new UsageError(`--ext takes key=value, got ${pair}`)
    out[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return out
}

function listQuery (values: Values, sort: boolean): string {
  const q = new URLSearchParams()
  if (values.page !== undefined) q.set('page', values.page)
  if (values['per-page'] !== undefined) q.set('perPage', values['per-page'])
  // asc and desc, or the API's own sortBy values as they are (dateCreatedAsc, dateCreatedDsc, …)
  if (sort && values.sort !== undefined) q.set('sortBy', values.sort === 'asc' ? 'dateCreatedAsc' : values.sort === 'desc' ? 'dateCreatedDesc' : values.sort)
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

function print (values: Values, payload: unknown, text: () => string): void {
  console.log(values.json === true ? JSON.stringify(payload, null, 2) : text())
}

async function mapLimit<T, R> (items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }))
  return out
}

type Doc = Record<string, any>

async function orderDocument (api: Client, reference: string): Promise<Doc> {
  const answer = await api.call('GET', `/v1/order/${encodeURIComponent(reference)}`)
  return JSON.parse(String(answer.order)) as Doc
}

async function orderList (api: Client, values: Values): Promise<void> {
  const p = await api.call('GET', `/v1/order${listQuery(values, true)}`)
  const references = p.orderReference as string[]
  if (values.json === true) return print(values, p, () => '')
  const rows = await mapLimit(references, PARALLEL, async (reference) => {
    try {
      const doc = await orderDocument(api, reference)
      return [reference, utc(doc.Timestamp, 's'), String(doc.plugin ?? '-'), orderState(doc)]
    } catch (err) {
      return [reference, '-', '-', `unreadable (${err instanceof ApiError ? err.code : (err as Error).message})`]
    }
  })
  console.log(references.length === 0 ? 'no orders on this page' : table(rows))
}

/** The text of POST /v1/order/secret's answer, with the hand-off when the secret went to a beneficiary held elsewhere. */
function secretText (p: Payload, values: Values): string {
  const text = fields(p)
  if (p.secret !== undefined || typeof p.orderPart4CID !== 'string') return text
  const ext = p.extension as Record<string, unknown> | undefined
  const beneficiary = String(ext?.beneficiaryIDDocumentCID ?? 'the beneficiary')
  // a threshold order hands off one part 4 per fiduciary that released its share
  const handed = typeof ext?.orderPart4CIDs === 'string' ? ext.orderPart4CIDs : p.orderPart4CID
  const redeem = ['milagro', 'order', 'redeem', handed, ...(values.ext ?? []).flatMap(e => ['--ext', shellWord(e)])].join(' ')
  return [
    `The secret was released to beneficiary ${beneficiary}, which this node does not hold: this node gets no secret.`,
    `Next: give ${handed === p.orderPart4CID ? 'orderPart4CID' : 'the part 4 CIDs'} ${handed} to ${beneficiary}; on its node run`,
    `  ${redeem}`,
    '',
    text,
  ].join('\n')
}

/** Why `order redeem CID` was refused, in words, when this node can tell what the CID is. */
async function notAPart4 (api: Client, cid: string, refusal: ApiError): Promise<Error> {
  const quick = { timeoutMs: 5000 }
  const hint = 'order redeem takes the orderPart4CID that `milagro order secret` printed on the principal\'s node'
  // One of this node's own orders (the newest 50): which part the CID is.
  const list = await api.call('GET', '/v1/order?perPage=50', undefined, quick).catch(() => undefined)
  const references = (list?.orderReference ?? []) as string[]
  const docs = await mapLimit(references, PARALLEL, async r => await orderDocument(api, r).catch(() => undefined))
  for (const doc of docs) {
    const chain = (doc?.chain ?? {}) as Record<string, string | null>
    const n = [1, 2, 3, 4].find(i => chain[`orderPart${i}CID`] === cid)
    if (doc === undefined || n === undefined) continue
    if (n < 4) return new ApiError(refusal.status, refusal.payload, `${cid} is part ${n} of order ${String(doc.Reference)} on this node, not its part 4: ${hint}`)
    return new ApiError(refusal.status, refusal.payload, `${cid} is the part 4 of order ${String(doc.Reference)}, ${orderState(doc)}: no identity on this node may redeem it; the beneficiary redeems it on its own node (${refusal.code})`)
  }
  const identity = await api.call('GET', `/v1/identity/${cid}`, undefined, quick).catch((err: unknown) => err)
  if (!(identity instanceof Error)) {
    return new ApiError(refusal.status, refusal.payload, `${cid} is the identity document of ${String((identity as Payload).authenticationReference)}, not an order's part 4: ${hint}`)
  }
  if (refusal.code === 'ORDER_FIDUCIARY_NOT_TRUSTED') {
    const signer = /:\s*(Qm\w+)\s*$/.exec(String(refusal.payload.message ?? ''))?.[1]
    if (signer === undefined) return new ApiError(refusal.status, refusal.payload, `${cid} is not an order's part 4 (it is signed by no node): ${hint}`)
    const name = await api.call('GET', `/v1/identity/${signer}`, undefined, quick).then(p => ` (${String(p.authenticationReference)})`, () => '')
    return new ApiError(refusal.status, refusal.payload,
      `${cid} is not a part 4 this node can redeem: it is signed by ${signer}${name}, which is not a fiduciary this node trusts (node.trustedFiduciaries). ` +
      `A part 4 is signed by the order's fiduciary, parts 1 and 3 by the principal: ${hint}`)
  }
  if (refusal.code === 'ENVELOPE_NOT_A_RECIPIENT') {
    return new ApiError(refusal.status, refusal.payload,
      `no identity on this node can read ${cid}: it is not a part 4 (parts 1 to 3 are addressed to the principal), or it is the part 4 of a beneficiary held on another node — redeem it there (${refusal.code})`)
  }
  return refusal
}

const NOT_A_PART4 = new Set(['ENVELOPE_NOT_A_RECIPIENT', 'ORDER_FIDUCIARY_NOT_TRUSTED', 'ORDER_BAD_DOCUMENT', 'ENVELOPE_MALFORMED', 'ENVELOPE_WRONG_TYPE', 'ORDER_NOT_ENTITLED'])

async function redeem (api: Client, arg: string, values: Values): Promise<void> {
  // a threshold order: the part 4 CIDs of its fiduciaries, comma-separated, as `order secret` printed them
  const cids = arg.split(',')
  const cid = cids[0]!
  if (cids.length > 1) {
    const bad = cids.find(c => !CID.test(c))
    if (bad !== undefined) throw new UsageError(`${bad} is not a part 4 CID (Qm… and 46 characters, as \`milagro order secret\` printed them)`)
    const p = await api.call('POST', '/v1/order/secret', { orderPart4CID: cid, extension: { ...extension(values), orderPart4CIDs: arg } })
    print(values, p, () => fields(p))
    return
  }
  if (!CID.test(cid)) {
    if (REFERENCE.test(cid)) throw new UsageError(`${cid} is an order reference, not a part 4 CID: on the principal's node, \`milagro order secret ${cid} --beneficiary CID\` releases it and prints the orderPart4CID`)
    throw new UsageError(`${cid} is not a part 4 CID (Qm… and 46 characters, as \`milagro order secret\` printed it)`)
  }
  let p: Payload
  try {
    p = await api.call('POST', '/v1/order/secret', { orderPart4CID: cid, extension: extension(values) })
  } catch (err) {
    if (err instanceof ApiError && NOT_A_PART4.has(err.code)) throw await notAPart4(api, cid, err)
    throw err
  }
  print(values, p, () => fields(p))
}

export async function client (command: string, args: string[], values: Values): Promise<void> {
  const api = createClient(await resolveTarget(values), { token: values.token, verbose: values.verbose })
  const [arg] = args
  if (command === 'status') {
    const p = await api.call('GET', '/v1/status')
    print(values, p, () => fields(p))
  } else if (command === 'identity create') {
    const p = await api.call('POST', '/v1/identity', { name: arg })
    print(values, p, () => String(p.idDocumentCID))
  } else if (command === 'identity get') {
    const p = await api.call('GET', `/v1/identity/${encodeURIComponent(arg)}`)
    print(values, p, () => fields(p, { timestamp: 's' }))
  } else if (command === 'identity list') {
    const p = await api.call('GET', `/v1/identity${listQuery(values, true)}`)
    const list = p.idDocumentList as Payload[]
    print(values, p, () => list.length === 0 ? 'no identities on this page' : table(list.map(i => [String(i.idDocumentCID), String(i.authenticationReference), utc(i.timestamp, 's')])))
  } else if (command === 'order create') {
    const p = await api.call('POST', '/v1/order', { beneficiaryIDDocumentCID: values.beneficiary, extension: extension(values) })
    print(values, p, () => fields(p, { createdAt: 's' }))
  } else if (command === 'order list') {
    await orderList(api, values)
  } else if (command === 'order get') {
    const p = await api.call('GET', `/v1/order/${encodeURIComponent(arg)}`)
    print(values, p, () => describeOrder(p))
  } else if (command === 'order secret') {
    const p = await api.call('POST', '/v1/order/secret', { orderReference: arg, beneficiaryIDDocumentCID: values.beneficiary, extension: extension(values) })
    print(values, p, () => secretText(p, values))
  } else if (command === 'order redeem') {
    await redeem(api, arg, values)
  } else if (command === 'audit') {
    const p = await api.call('GET', `/v1/audit${listQuery(values, false)}`)
    const list = p.auditList as Payload[]
    print(values, p, () => list.length === 0 ? 'no audit entries on this page' : table(list.map(e => [String(e.id), utc(e.at, 'ms'), String(e.op), String(e.reference ?? '-'), String(e.actor ?? '-'), String(e.detail ?? '')])))
  } else {
    throw new UsageError(`unknown command: ${command}`)
  }
}
