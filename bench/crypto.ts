/**
 * `npm run bench:crypto`: the cost of each cryptographic operation an order cycle is made of, one
 * at a time in this process, as a table of ops/s and µs/op. Each item is warmed up, then run in
 * batches until at least 0.5 s has passed (BENCH_MIN_MS overrides). It asserts nothing: it is for
 * reading, and for comparing before/after a change on the same machine. Inputs are built once,
 * outside the timed loops; every op uses fresh randomness where the real one does.
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { cidV0Of } from '../src/adapters/ipfs/unixfs.ts'
import { createIdentityDocument } from '../src/core/identity.ts'
import { blsSign, blsVerify } from '../src/crypto/bls.ts'
import { eciesDecrypt, eciesEncrypt } from '../src/crypto/ecies.ts'
import { randomBytes } from '../src/crypto/random.ts'
import { commitmentPopSign, commitmentPopVerify, orderKeyFromSeed } from '../src/crypto/secp256k1.ts'
import { openEnvelope, sealEnvelope } from '../src/envelope/envelope.ts'

const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 500)
const WARMUP_MS = Math.min(200, MIN_MS / 2)

type Op = () => unknown

interface Row { name: string, opsPerSecond: number, microsPerOp: number, runs: number }

async function measure (name: string, op: Op): Promise<Row> {
  // warm-up: let the JIT and any lazy tables (noble's precomputes, blst) settle
  const warmEnd = performance.now() + WARMUP_MS
  let batch = 1
  while (performance.now() < warmEnd) await op()
  // timed: batches that double until one takes ≥ 1/10 of the budget, until the budget is spent
  let runs = 0
  const start = performance.now()
  let now = start
  while (now - start < MIN_MS) {
    const batchStart = performance.now()
    for (let i = 0; i < batch; i++) await op()
    runs += batch
    now = performance.now()
    if (now - batchStart < MIN_MS / 10) batch *= 2
  }
  const micros = (now - start) * 1000 / runs
  return { name, opsPerSecond: 1e6 / micros, microsPerOp: micros, runs }
}

function print (rows: Row[]): void {
  const width = Math.max(...rows.map(r => r.name.length))
  const line = (a: string, b: string, c: string, d: string): string => `${a.padEnd(width)}  ${b.padStart(10)}  ${c.padStart(10)}  ${d.padStart(7)}`
  console.log(line('operation', 'ops/s', 'µs/op', 'runs'))
  console.log(line('-'.repeat(width), '-'.repeat(10), '-'.repeat(10), '-'.repeat(7)))
  for (const r of rows) {
    console.log(line(r.name, r.opsPerSecond.toFixed(r.opsPerSecond < 100 ? 1 : 0), r.microsPerOp.toFixed(1), String(r.runs)))
  }
}

// ── fixtures ────────────────────────────────────────────────────────────────────────────────

const sender = createIdentityDocument(randomBytes(32), 'sender')
const alice = createIdentityDocument(randomBytes(32), 'alice')
const bob = createIdentityDocument(randomBytes(32), 'bob')
const ids = { sender: 'QmSender', alice: 'QmAlice', bob: 'QmBob' }
const recipients = [
  { cid: ids.alice, kemPublicKey: alice.keys.kemPublicKey },
  { cid: ids.bob, kemPublicKey: bob.keys.kemPublicKey },
]
const signer = { cid: ids.sender, secretKey: sender.keys.bls }
const body1k = randomBytes(1024)
const sealed = sealEnvelope({ signer, encryptedBodyType: 2, encryptedBody: body1k, recipients })
const message = randomBytes(256)
const blsSignature = blsSign(sender.keys.bls, message)
const orderSeed = randomBytes(32)
const ecSecret = secp256k1.utils.randomSecretKey()
const ecPublic = secp256k1.getPublicKey(ecSecret, true)
const ecText = randomBytes(64)
const ecCiphertext = eciesEncrypt(ecPublic, ecText)
const reference = '0123456789abcdef0123456789abcdef'
const part1CID = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
const pop = commitmentPopSign(ecSecret, { reference, part1CID, plugin: 'milagro' })
const doc1k = randomBytes(1024)
const doc1m = randomBytes(1024 * 1024)

const items: Array<[string, Op]> = [
  ['identity create (createIdentityDocument)', () => createIdentityDocument(randomBytes(32), 'bench')],
  ['seal+sign, 2 recipients, 1 KiB body', () => sealEnvelope({ signer, encryptedBodyType: 2, encryptedBody: body1k, recipients })],
  ['open+verify as a recipient', () => openEnvelope(sealed, { signer: { cid: ids.sender, blsPublicKey: sender.keys.blsPublicKey }, recipient: { cid: ids.alice, kemSecretKey: alice.keys.kem } })],
  ['BLS sign (256 B)', () => blsSign(sender.keys.bls, message)],
  ['BLS verify (256 B)', () => { if (!blsVerify(sender.keys.blsPublicKey, message, blsSignature)) throw new Error('bad') }],
  ['order key from seed (BIP39+BIP32)', () => orderKeyFromSeed(orderSeed)],
  ['ECIES encrypt (64 B)', () => eciesEncrypt(ecPublic, ecText)],
  ['ECIES decrypt (64 B)', () => eciesDecrypt(ecSecret, ecCiphertext)],
  ['commitment PoP sign', () => commitmentPopSign(ecSecret, { reference, part1CID, plugin: 'milagro' })],
  ['commitment PoP verify', () => { if (!commitmentPopVerify(ecPublic, { reference, part1CID, plugin: 'milagro' }, pop)) throw new Error('bad') }],
  ['CIDv0 of 1 KiB', async () => await cidV0Of(doc1k)],
  ['CIDv0 of 1 MiB', async () => await cidV0Of(doc1m)],
]

const only = process.argv[2]
const rows: Row[] = []
for (const [name, op] of items) {
  if (only !== undefined && !name.toLowerCase().includes(only.toLowerCase())) continue
  rows.push(await measure(name, op))
}
console.log(`node ${process.version}, ${MIN_MS} ms per item after ${WARMUP_MS} ms warm-up\n`)
print(rows)
