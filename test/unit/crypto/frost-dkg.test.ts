/**
 * The threshold DKG wrappers (src/crypto/frost-dkg.ts): full (2,3) and (3,5) key generations in
 * process, the group key cross-checked three ways (the sum of the dealers' constant-term
 * commitments, the interpolated secret·G with plain point arithmetic, noble's combineSecret), a
 * wrong round-2 share detected and its sender named, a wrong released share detected, a wrong
 * proof of knowledge named, and the transcript hash changed by any change of a package.
 * @module
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { secp256k1, secp256k1_FROST } from '@noble/curves/secp256k1.js'
import { isDtaError } from '../../../src/errors.ts'
import type { ErrorCode } from '../../../src/errors.ts'
import {
  checkCombined, combineShares, dkgRound1, dkgRound2, dkgRound3, groupPublic, shareMatches, transcriptHash, verifyProofOfKnowledge, verifyShare,
} from '../../../src/crypto/frost-dkg.ts'
import type { DkgPackage, DkgResult } from '../../../src/crypto/frost-dkg.ts'

const Point = secp256k1.Point
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function throwsCode (fn: () => unknown, code: ErrorCode, detail?: RegExp): void {
  assert.throws(fn, (err: unknown) => isDtaError(err, code) && (detail === undefined || detail.test(err.message)), `expected DtaError ${code}`)
}

/** A whole DKG among n participants in process; `tamper` may change a share in flight (from, to, share). */
function runDkg (t: number, n: number, tamper?: (from: number, to: number, share: Uint8Array) => Uint8Array): { packages: DkgPackage[], results: DkgResult[] } {
  const r1 = Array.from({ length: n }, (_, i) => dkgRound1(i + 1, t, n))
  const packages = r1.map(r => r.package)
  const others = (i: number): DkgPackage[] => packages.filter(p => p.index !== i)
  const r2 = r1.map(r => dkgRound2(r.state, others(r.state.index)))
  const results = r1.map(r => {
    const j = r.state.index
    const shares = new Map<number, Uint8Array>()
    for (const [k, out] of r2.entries()) {
      if (k + 1 === j) continue
      const share = out.get(j)!
      shares.set(k + 1, tamper?.(k + 1, j, share) ?? share)
    }
    return dkgRound3(r.state, others(j), shares, i => `fiduciary #${i}`)
  })
  return { packages, results }
}

for (const [t, n] of [[2, 3], [3, 5]] as const) {
  test(`(${t},${n}) DKG: every participant agrees, and t shares give the group key (three independent checks)`, () => {
    const { packages, results } = runDkg(t, n)
    const pub = groupPublic(packages, n)
    // 1. the group key is the sum of the dealers' constant-term commitments (plain point arithmetic)
    const sumC0 = packages.reduce((acc, p) => acc.add(Point.fromBytes(p.commitments[0]!)), Point.ZERO)
    assert.equal(hex(pub.groupKey), hex(sumC0.toBytes(true)))
    for (const r of results) {
      assert.equal(hex(r.groupKey), hex(pub.groupKey))
      for (let j = 1; j <= n; j++) assert.equal(hex(r.verifyingShares.get(j)!), hex(pub.verifyingShares.get(j)!))
    }
    results.forEach((r, i) => { assert.ok(shareMatches(r.signingShare, pub.verifyingShares.get(i + 1)!)) })
    // 2. every t-subset interpolates to a secret whose secret·G (plain, BASE.multiply) is the group key
    const subsets = [results.slice(0, t), results.slice(n - t)]
    const secrets = subsets.map(sub => combineShares(sub.map(r => ({ index: results.indexOf(r) + 1, share: r.signingShare }))))
    for (const s of secrets) {
      assert.equal(hex(Point.BASE.multiply(BigInt('0x' + hex(s))).toBytes(true)), hex(sumC0.toBytes(true)))
      checkCombined(s, pub.groupKey)
    }
    assert.equal(hex(secrets[0]!), hex(secrets[1]!))
    // 3. noble's combineSecret agrees
    const noble = secp256k1_FROST.combineSecret(results.slice(0, t).map((r, i) => ({ identifier: secp256k1_FROST.Identifier.fromNumber(i + 1), signingShare: r.signingShare })), { min: t, max: n })
    assert.equal(hex(noble), hex(secrets[0]!))
    // t − 1 shares give something else
    if (t > 2) {
      const short = combineShares(results.slice(0, t - 1).map((r, i) => ({ index: i + 1, share: r.signingShare })))
      throwsCode(() => { checkCombined(short, pub.groupKey) }, 'THRESHOLD_KEY_MISMATCH')
    }
  })
}

test('a wrong round-2 share is refused naming its sender', () => {
  throwsCode(() => runDkg(3, 5, (from, to, share) => (from === 4 && to === 2 ? Uint8Array.from(share, (b, i) => (i === 31 ? b ^ 1 : b)) : share)), 'THRESHOLD_BAD_SHARE', /fiduciary #4/)
})

test('verifyShare checks a share against its sender\'s commitments', () => {
  const r1 = [1, 2, 3].map(i => dkgRound1(i, 2, 3))
  const shares = dkgRound2(r1[0]!.state, [r1[1]!.package, r1[2]!.package])
  assert.ok(verifyShare(shares.get(2)!, r1[0]!.package.commitments, 2))
  assert.ok(!verifyShare(shares.get(2)!, r1[0]!.package.commitments, 3))
  assert.ok(!verifyShare(shares.get(2)!, r1[1]!.package.commitments, 2))
})

test('a wrong released share is detected against Y_j, and the others still combine', () => {
  const { packages, results } = runDkg(3, 5)
  const pub = groupPublic(packages, 5)
  const released = results.map((r, i) => ({ index: i + 1, share: r.signingShare }))
  released[1] = { index: 2, share: results[0]!.signingShare } // fiduciary 2 releases someone else's share
  const good = released.filter(r => shareMatches(r.share, pub.verifyingShares.get(r.index)!))
  assert.deepEqual(good.map(r => r.index), [1, 3, 4, 5])
  checkCombined(combineShares(good.slice(0, 3)), pub.groupKey)
})

test('a wrong proof of knowledge is refused naming the dealer', () => {
  const r1 = [1, 2, 3].map(i => dkgRound1(i, 2, 3))
  const bad = { ...r1[2]!.package, proofOfKnowledge: r1[1]!.package.proofOfKnowledge }
  assert.ok(verifyProofOfKnowledge(r1[2]!.package))
  assert.ok(!verifyProofOfKnowledge(bad))
  throwsCode(() => dkgRound2(r1[0]!.state, [r1[1]!.package, bad]), 'THRESHOLD_BAD_PACKAGE', /participant 3/)
  // a package claiming another participant's number with its proof does not verify either
  throwsCode(() => dkgRound2(r1[0]!.state, [r1[1]!.package, { ...r1[1]!.package, index: 3 }]), 'THRESHOLD_BAD_PACKAGE')
})

test('a second round 2 with other packages is refused; the same ones give the same shares', () => {
  const r1 = [1, 2, 3].map(i => dkgRound1(i, 2, 3))
  const first = dkgRound2(r1[0]!.state, [r1[1]!.package, r1[2]!.package])
  const again = dkgRound2(r1[0]!.state, [r1[2]!.package, r1[1]!.package])
  assert.equal(hex(first.get(2)!), hex(again.get(2)!))
  const other = dkgRound1(3, 2, 3).package
  throwsCode(() => dkgRound2(r1[0]!.state, [r1[1]!.package, other]), 'THRESHOLD_BAD_PACKAGE')
})

test('the transcript hash changes with any package, the order or the set', () => {
  const packages = [1, 2, 3].map(i => dkgRound1(i, 2, 3).package)
  const base = { reference: 'a'.repeat(32), part1CID: 'QmPart1', t: 2, fiduciaryCIDs: ['QmA', 'QmB', 'QmC'], packages }
  const h = hex(transcriptHash(base))
  assert.equal(hex(transcriptHash({ ...base, packages: [...packages].reverse() })), h, 'order of arrival does not matter')
  const other = dkgRound1(2, 2, 3).package
  assert.notEqual(hex(transcriptHash({ ...base, packages: [packages[0]!, other, packages[2]!] })), h)
  assert.notEqual(hex(transcriptHash({ ...base, reference: 'b'.repeat(32) })), h)
  assert.notEqual(hex(transcriptHash({ ...base, part1CID: 'QmOther' })), h)
  assert.notEqual(hex(transcriptHash({ ...base, fiduciaryCIDs: ['QmA', 'QmC', 'QmB'] })), h)
})

test('bad parameters are refused', () => {
  throwsCode(() => dkgRound1(1, 1, 3), 'THRESHOLD_BAD_PARAMETERS')
  throwsCode(() => dkgRound1(1, 4, 3), 'THRESHOLD_BAD_PARAMETERS')
  throwsCode(() => dkgRound1(4, 2, 3), 'THRESHOLD_BAD_PARAMETERS')
  throwsCode(() => dkgRound1(1, 2, 19), 'THRESHOLD_BAD_PARAMETERS')
})
