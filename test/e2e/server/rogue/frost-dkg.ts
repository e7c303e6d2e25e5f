/**
 * MILAGRO_TEST_ROGUE=dkg-share (register.ts): round 2's share for the fiduciary at the lowest
 * other position is a random scalar instead of f_i(j). It is then sealed and signed by the real
 * code, so only the recipient's check against the sender's Feldman commitments can catch it.
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { dkgRound2 as honest } from '../../../../src/crypto/frost-dkg.ts'
import type { DkgPackage, DkgState } from '../../../../src/crypto/frost-dkg.ts'

export * from '../../../../src/crypto/frost-dkg.ts'

export function dkgRound2 (state: DkgState, others: readonly DkgPackage[]): Map<number, Uint8Array> {
  const shares = honest(state, others)
  const victim = Math.min(...shares.keys())
  shares.set(victim, secp256k1.utils.randomSecretKey())
  return shares
}
