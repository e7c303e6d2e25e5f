/**
 * The micro-benchmark crypto floor: the sum of the crypto operations one cycle must do, each timed
 * alone in the bench process (µs per call after a warm-up). A second line beside the figure taken
 * inside the servers: `npm run bench` takes several short samples between the load levels and keeps
 * each operation's minimum, the least disturbed by whatever else the machine was doing.
 * @module
 */
import { deriveIdentityKeys } from '../../src/core/identity.ts'
import { commitmentPopSign, commitmentPopVerify, orderKeyFromSeed, secpPublicKey } from '../../src/crypto/secp256k1.ts'
import { randomBytes } from '../../src/crypto/random.ts'
import { openEnvelope, sealEnvelope } from '../../src/envelope/envelope.ts'
import { cidV0Of } from '../../src/adapters/ipfs/unixfs.ts'

/** name, µs per call, calls per cycle */
export type FloorPart = [string, number, number]

/** µs per call of `fn`, after a warm-up, over at least `ms` milliseconds. */
function time (fn: () => unknown, ms: number): number {
  for (let i = 0; i < 5; i++) fn()
  let n = 0
  const start = performance.now()
  while (performance.now() - start < ms) { fn(); n++ }
  return (performance.now() - start) * 1000 / n
}

async function timeAsync (fn: () => Promise<unknown>, ms: number): Promise<number> {
  for (let i = 0; i < 5; i++) await fn()
  let n = 0
  const start = performance.now()
  while (performance.now() - start < ms) { await fn(); n++ }
  return (performance.now() - start) * 1000 / n
}

/** One sample of every part, each timed over `ms` milliseconds. */
export async function floorSample (plugin: string, ms = 120): Promise<FloorPart[]> {
  const a = deriveIdentityKeys(randomBytes(32)); const b = deriveIdentityKeys(randomBytes(32))
  const aCid = 'QmBenchPrincipal00000000000000000000000000000'; const bCid = 'QmBenchFiduciary00000000000000000000000000000'
  const body = randomBytes(700)
  const seal = (): Uint8Array => sealEnvelope({ signer: { cid: aCid, secretKey: a.bls }, encryptedBodyType: 2, encryptedBody: body, recipients: [{ cid: aCid, kemPublicKey: a.kemPublicKey }, { cid: bCid, kemPublicKey: b.kemPublicKey }] })
  const sealed = seal()
  const seed = randomBytes(32)
  const key = orderKeyFromSeed(seed)
  const statement = { reference: 'ref', part1CID: aCid, plugin }
  const pop = commitmentPopSign(key.privateKey, statement)
  // What one cycle does: 4 parts sealed (2 recipients) and opened once by their reader, the order key
  // derived once (by the fiduciary, for the commitment) and checked once (by the recipient of part 4:
  // its public key from the released private key), one PoP signed and verified, and each of the 4
  // parts hashed to its CID by its writer and by its reader.
  return [
    ['seal+sign, 2 recipients', time(seal, ms), 4],
    ['open+verify as recipient', time(() => openEnvelope(sealed, { signer: { cid: aCid, blsPublicKey: a.blsPublicKey }, recipient: { cid: bCid, kemSecretKey: b.kem } }), ms), 4],
    ['order key from seed', time(() => orderKeyFromSeed(seed), ms), 1],
    ['released key checked', time(() => secpPublicKey(key.privateKey), ms), 1],
    ['commitment PoP sign', time(() => commitmentPopSign(key.privateKey, statement), ms), 1],
    ['commitment PoP verify', time(() => commitmentPopVerify(key.publicKey, statement, pop), ms), 1],
    ['CIDv0 of a part', await timeAsync(async () => await cidV0Of(sealed), ms), 8],
  ]
}

/** Each part's minimum over the samples. */
export function floorMin (samples: readonly FloorPart[][]): FloorPart[] {
  return samples[0]!.map(([name, , n], i) => [name, Math.min(...samples.map(s => s[i]![1])), n])
}

/** ms per cycle. */
export function floorTotal (parts: readonly FloorPart[]): number {
  return parts.reduce((sum, [, us, n]) => sum + us * n, 0) / 1000
}
