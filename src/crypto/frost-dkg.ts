/**
 * Distributed key generation over secp256k1 for threshold orders (docs/threshold.md): thin
 * wrappers over `@noble/curves`' `secp256k1_FROST.DKG` (Pedersen DKG with Feldman commitments and
 * a proof of knowledge of each dealer's constant term), with typed errors, and the checks the
 * project makes with plain point arithmetic instead of the FROST module (recent and only
 * self-audited, so it is not trusted alone): each share against its sender's commitments, the
 * group key and every verifying share from the public commitments, and the Lagrange combination
 * of released shares.
 *
 * Participants are numbered 1..n (their position in the order's list of fiduciaries); that number
 * is the FROST identifier. Pure: no I/O. The DKG round state holds the dealer's polynomial and
 * lives in the caller's memory only between rounds.
 * @module
 */
import { secp256k1, secp256k1_FROST as FROST, secp256k1_hasher } from '@noble/curves/secp256k1.js'
import { DtaError } from '../errors.ts'
import { concatBytes, lengthPrefixed, sha256, timingSafeEqual, utf8 } from './hash.ts'

export const MIN_THRESHOLD = 2
/** Principal + n fiduciaries + a beneficiary must fit the 20 recipients of an envelope. */
export const MAX_THRESHOLD_FIDUCIARIES = 18
export const SHARE_BYTES = 32
export const POINT_BYTES = 33
export const TRANSCRIPT_HASH_BYTES = 32
const PROOF_OF_KNOWLEDGE_BYTES = 65

const Point = secp256k1.Point
const Fn = Point.Fn
type P = InstanceType<typeof Point>

/** One dealer's public round-1 package: Feldman commitments C_k = a_k·G (k < t) and its proof of knowledge of a_0. */
export interface DkgPackage {
  index: number
  commitments: Uint8Array[]
  proofOfKnowledge: Uint8Array
}

/** The dealer's private round state (its polynomial): kept in memory between rounds, never stored. */
export interface DkgState {
  readonly index: number
  readonly t: number
  readonly n: number
  /** noble's mutable DKG state. */
  readonly secret: ReturnType<typeof FROST.DKG.round1>['secret']
}

/** The result of round 3 for one participant. `signingShare` is its secret s_j; the caller seals and wipes it. */
export interface DkgResult {
  signingShare: Uint8Array
  groupKey: Uint8Array
  verifyingShares: Map<number, Uint8Array>
}

export function checkThresholdParameters (t: number, n: number): void {
  if (!Number.isInteger(t) || !Number.isInteger(n) || t < MIN_THRESHOLD || n > MAX_THRESHOLD_FIDUCIARIES || t > n) {
    throw new DtaError('THRESHOLD_BAD_PARAMETERS', `t = ${t}, n = ${n}`)
  }
}

const identifier = (index: number): string => FROST.Identifier.fromNumber(index)
const indexOf = (id: string): number => Number(BigInt('0x' + id))

function parsePoint (bytes: Uint8Array, what: string): P {
  if (bytes.length !== POINT_BYTES) throw new DtaError('THRESHOLD_BAD_PACKAGE', `${what}: not a 33-byte point`)
  try {
    const p = Point.fromBytes(bytes)
    p.assertValidity()
    if (p.equals(Point.ZERO)) throw new Error('identity')
    return p
  } catch (err) {
    throw new DtaError('THRESHOLD_BAD_PACKAGE', `${what}: not a point of secp256k1`, { cause: err })
  }
}

function scalar (bytes: Uint8Array, code: 'THRESHOLD_BAD_SHARE' | 'THRESHOLD_BAD_MESSAGE', what: string): bigint {
  if (bytes.length !== SHARE_BYTES) throw new DtaError(code, `${what}: not a 32-byte scalar`)
  const v = Fn.fromBytes(bytes, true)
  if (v >= Fn.ORDER) throw new DtaError(code, `${what}: not a scalar below the group order`)
  return v
}

/** Round 1: a fresh random polynomial of degree t − 1 for participant `index` of n. */
export function dkgRound1 (index: number, t: number, n: number): { package: DkgPackage, state: DkgState } {
  checkThresholdParameters(t, n)
  if (!Number.isInteger(index) || index < 1 || index > n) throw new DtaError('THRESHOLD_BAD_PARAMETERS', `participant ${index} of ${n}`)
  const r1 = FROST.DKG.round1(identifier(index), { min: t, max: n })
  return {
    package: { index, commitments: r1.public.commitment.map(c => Uint8Array.from(c)), proofOfKnowledge: Uint8Array.from(r1.public.proofOfKnowledge) },
    state: { index, t, n, secret: r1.secret },
  }
}

/** Shape of a package: t points and a proof of the right length, for a participant 1..n. */
export function checkPackageShape (p: DkgPackage, t: number, n: number): void {
  if (!Number.isInteger(p.index) || p.index < 1 || p.index > n) throw new DtaError('THRESHOLD_BAD_PACKAGE', `participant ${p.index} of ${n}`)
  if (p.commitments.length !== t) throw new DtaError('THRESHOLD_BAD_PACKAGE', `participant ${p.index}: ${p.commitments.length} commitments, not t = ${t}`)
  if (p.proofOfKnowledge.length !== PROOF_OF_KNOWLEDGE_BYTES) throw new DtaError('THRESHOLD_BAD_PACKAGE', `participant ${p.index}: proof of knowledge length`)
  p.commitments.forEach((c, k) => parsePoint(c, `participant ${p.index} commitment ${k}`))
  if (!verifyProofOfKnowledge(p)) throw new DtaError('THRESHOLD_BAD_PACKAGE', `participant ${p.index}: the proof of knowledge does not verify`)
}

const POK_DST = utf8('FROST-secp256k1-SHA256-v1dkg')

/**
 * The dealer's Schnorr proof of knowledge of a_0 (R ‖ z, with c = H_DKG(id ‖ C_0 ‖ R) and
 * z·G = R + c·C_0), checked here with plain arithmetic so that a wrong one is named (noble's
 * round 2 checks it again, without saying whose).
 */
export function verifyProofOfKnowledge (p: DkgPackage): boolean {
  try {
    const R = Point.fromBytes(p.proofOfKnowledge.subarray(0, POINT_BYTES))
    const z = Fn.fromBytes(p.proofOfKnowledge.subarray(POINT_BYTES), true)
    if (z >= Fn.ORDER) return false
    const c0 = parsePoint(p.commitments[0]!, 'commitment 0')
    const c = secp256k1_hasher.hashToScalar(concatBytes(Fn.toBytes(BigInt(p.index)), c0.toBytes(true), R.toBytes(true)), { DST: POK_DST })
    return Point.BASE.multiplyUnsafe(z).equals(R.add(c0.multiplyUnsafe(c)))
  } catch {
    return false
  }
}

const toNoble = (p: DkgPackage): { identifier: string, commitment: Uint8Array[], proofOfKnowledge: Uint8Array } =>
  ({ identifier: identifier(p.index), commitment: p.commitments, proofOfKnowledge: p.proofOfKnowledge })

/** The others' packages, each checked (shape, then its proof of knowledge alone, so a bad one is named). */
function checkedOthers (state: DkgState, others: readonly DkgPackage[]): DkgPackage[] {
  if (others.length !== state.n - 1) throw new DtaError('THRESHOLD_BAD_PACKAGE', `${others.length} packages from others, not n − 1 = ${state.n - 1}`)
  const seen = new Set<number>([state.index])
  for (const p of others) {
    checkPackageShape(p, state.t, state.n)
    if (seen.has(p.index)) throw new DtaError('THRESHOLD_BAD_PACKAGE', `participant ${p.index} twice`)
    seen.add(p.index)
  }
  return [...others].sort((a, b) => a.index - b.index)
}

/**
 * Round 2: checks every other dealer's package (a wrong proof of knowledge is THRESHOLD_BAD_PACKAGE
 * naming the participant) and returns f(j) for every other participant j. Repeating it with the
 * same packages gives the same shares; with other packages it is refused.
 */
export function dkgRound2 (state: DkgState, others: readonly DkgPackage[]): Map<number, Uint8Array> {
  const sorted = checkedOthers(state, others)
  let out: Record<string, { signingShare: Uint8Array }>
  try {
    out = FROST.DKG.round2(state.secret, sorted.map(toNoble))
  } catch (err) {
    // every proof was checked above: what is left is a second round 2 with other packages
    throw new DtaError('THRESHOLD_BAD_PACKAGE', 'the packages are not those this participant answered before', { cause: err })
  }
  return new Map(Object.entries(out).map(([id, v]) => [indexOf(id), Uint8Array.from(v.signingShare)]))
}

/** Σ_k x^k·C_k: the public image of a polynomial with commitments C at x (Horner; public data, so variable time). */
function evaluateCommitments (commitments: readonly Uint8Array[], x: number): P {
  let acc = Point.ZERO
  for (let k = commitments.length - 1; k >= 0; k--) acc = acc.multiplyUnsafe(BigInt(x)).add(parsePoint(commitments[k]!, 'commitment'))
  return acc
}

/** True if `share` = f_sender(recipient), i.e. share·G = Σ_k recipient^k·C_k of the sender's commitments. */
export function verifyShare (share: Uint8Array, senderCommitments: readonly Uint8Array[], recipientIndex: number): boolean {
  if (share.length !== SHARE_BYTES) return false
  const v = Fn.fromBytes(share, true)
  if (v === 0n || v >= Fn.ORDER) return false
  return Point.BASE.multiply(v).equals(evaluateCommitments(senderCommitments, recipientIndex))
}

/**
 * Round 3: every share received is checked against its sender's commitments first (a wrong one is
 * THRESHOLD_BAD_SHARE naming the sender by `name(index)`), then noble finishes the DKG. The result's
 * group key and verifying shares are checked against `groupPublic` (independent arithmetic).
 */
export function dkgRound3 (state: DkgState, others: readonly DkgPackage[], shares: ReadonlyMap<number, Uint8Array>, name: (index: number) => string = String): DkgResult {
  const sorted = checkedOthers(state, others)
  for (const p of sorted) {
    const share = shares.get(p.index)
    if (share === undefined) throw new DtaError('THRESHOLD_BAD_SHARE', `no share from ${name(p.index)}`)
    if (!verifyShare(share, p.commitments, state.index)) throw new DtaError('THRESHOLD_BAD_SHARE', `from ${name(p.index)}`)
  }
  if (shares.size !== sorted.length) throw new DtaError('THRESHOLD_BAD_SHARE', 'shares from participants outside the set')
  let key
  try {
    key = FROST.DKG.round3(state.secret, sorted.map(toNoble), sorted.map(p => ({ identifier: identifier(p.index), signingShare: shares.get(p.index)! })))
  } catch (err) {
    throw new DtaError('THRESHOLD_DKG_STATE_LOST', 'the round-1 packages are not those of round 2', { cause: err })
  }
  const signingShare = Uint8Array.from(key.secret.signingShare)
  const pub = groupPublic([...sorted, ownPackage(state)], state.n)
  const groupKey = Uint8Array.from(key.public.commitments[0]!)
  const mine = pub.verifyingShares.get(state.index)!
  if (!timingSafeEqual(groupKey, pub.groupKey) || !timingSafeEqual(verifyingShareOf(signingShare), mine)) {
    throw new DtaError('THRESHOLD_KEY_MISMATCH', 'the DKG result disagrees with the commitments')
  }
  return { signingShare, groupKey: pub.groupKey, verifyingShares: pub.verifyingShares }
}

/** This participant's own public package, from its round state. */
function ownPackage (state: DkgState): DkgPackage {
  return { index: state.index, commitments: state.secret.commitment.map(c => Uint8Array.from(c)), proofOfKnowledge: new Uint8Array(PROOF_OF_KNOWLEDGE_BYTES) }
}

/** Wipes the round state's polynomial (best effort: bigints may have copies). */
export function dkgForget (state: DkgState): void {
  FROST.DKG.clean(state.secret)
}

/**
 * The group key Y = Σ_i C_i0 and every verifying share Y_j = Σ_i Σ_k j^k·C_ik, computed from the
 * public packages of all n dealers with plain point arithmetic — what the principal checks every
 * fiduciary's part 2 against.
 */
export function groupPublic (packages: readonly DkgPackage[], n: number): { groupKey: Uint8Array, verifyingShares: Map<number, Uint8Array> } {
  if (packages.length !== n || new Set(packages.map(p => p.index)).size !== n) throw new DtaError('THRESHOLD_BAD_PACKAGE', 'not one package per participant')
  // Σ_i Σ_k j^k·C_ik = Σ_k j^k·(Σ_i C_ik): sum the n polynomials' commitments once (each point
  // parsed once), then evaluate the summed commitments at every j
  const t = packages[0]!.commitments.length
  const summed = Array.from({ length: t }, () => Point.ZERO)
  for (const p of packages) {
    if (p.commitments.length !== t) throw new DtaError('THRESHOLD_BAD_PACKAGE', `participant ${p.index}: ${p.commitments.length} commitments, not ${t}`)
    p.commitments.forEach((c, k) => { summed[k] = summed[k]!.add(parsePoint(c, `participant ${p.index} commitment ${k}`)) })
  }
  const verifyingShares = new Map<number, Uint8Array>()
  for (let j = 1; j <= n; j++) {
    let yj = Point.ZERO
    for (let k = t - 1; k >= 0; k--) yj = yj.multiplyUnsafe(BigInt(j)).add(summed[k]!)
    if (yj.equals(Point.ZERO)) throw new DtaError('THRESHOLD_BAD_PACKAGE', `the verifying share of participant ${j} is the identity`)
    verifyingShares.set(j, yj.toBytes(true))
  }
  if (summed[0]!.equals(Point.ZERO)) throw new DtaError('THRESHOLD_BAD_PACKAGE', 'the group key is the identity')
  return { groupKey: summed[0]!.toBytes(true), verifyingShares }
}

/** s·G, compressed. */
export function verifyingShareOf (share: Uint8Array): Uint8Array {
  return Point.BASE.multiply(scalar(share, 'THRESHOLD_BAD_SHARE', 'share')).toBytes(true)
}

/**
 * The transcript hash every fiduciary signs: SHA-256 of a tag, the order (reference, part 1 CID,
 * t and the fiduciary CIDs in order) and every round-1 package in participant order.
 */
export function transcriptHash (input: { reference: string, part1CID: string, t: number, fiduciaryCIDs: readonly string[], packages: readonly DkgPackage[] }): Uint8Array {
  const packages = [...input.packages].sort((a, b) => a.index - b.index)
  if (packages.length !== input.fiduciaryCIDs.length) throw new DtaError('THRESHOLD_BAD_PACKAGE', 'not one package per fiduciary')
  const parts: Uint8Array[] = [utf8('milagro-dta/threshold/transcript/v1'), lengthPrefixed(input.reference, input.part1CID, String(input.t), ...input.fiduciaryCIDs)]
  for (const p of packages) {
    parts.push(lengthPrefixed(String(p.index), String(p.commitments.length)), ...p.commitments, p.proofOfKnowledge)
  }
  return sha256(concatBytes(...parts))
}

/** The Lagrange coefficient of participant `i` at 0 over the set `indices`. */
function lagrangeAtZero (i: number, indices: readonly number[]): bigint {
  let num = 1n; let den = 1n
  for (const j of indices) {
    if (j === i) continue
    num = Fn.mul(num, BigInt(j))
    den = Fn.mul(den, Fn.sub(BigInt(j), BigInt(i)))
  }
  return Fn.div(num, den)
}

/**
 * The secret s = Σ λ_i·s_i from exactly t shares (distinct participants), by plain field
 * arithmetic; the caller checks s·G against the group key (`checkCombined`) and wipes the result.
 */
export function combineShares (shares: ReadonlyArray<{ index: number, share: Uint8Array }>): Uint8Array {
  const indices = shares.map(s => s.index)
  if (new Set(indices).size !== indices.length || shares.length < MIN_THRESHOLD) throw new DtaError('THRESHOLD_BAD_PARAMETERS', 'shares of distinct participants, at least 2')
  let s = 0n
  for (const { index, share } of shares) s = Fn.add(s, Fn.mul(scalar(share, 'THRESHOLD_BAD_SHARE', `share ${index}`), lagrangeAtZero(index, indices)))
  return Fn.toBytes(s)
}

/** THRESHOLD_KEY_MISMATCH unless secret·G is the group key. */
export function checkCombined (secret: Uint8Array, groupKey: Uint8Array): void {
  if (!timingSafeEqual(verifyingShareOf(secret), groupKey)) throw new DtaError('THRESHOLD_KEY_MISMATCH')
}

/** True if a released share s_j gives the verifying share Y_j (s_j·G = Y_j). */
export function shareMatches (share: Uint8Array, verifyingShare: Uint8Array): boolean {
  try {
    return timingSafeEqual(verifyingShareOf(share), verifyingShare)
  } catch {
    return false
  }
}
