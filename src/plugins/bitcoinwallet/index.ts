/**
 * The bitcoinwallet plugin (PROTOCOL §7): a Bitcoin key split between the fiduciary and other
 * parties, so that neither the fiduciary nor the principal alone ever holds the final key.
 *
 *   POST /v1/order         extension {coin: "0" | "1"}   → commitment (final public key), extension {address}
 *   POST /v1/order/secret  extension {}                  → secret (final private key), commitment, extension {address}
 *
 * The final private key is k = k_f + k_p [+ k_b] (mod n), where
 * - k_f is the fiduciary's share: the order key derived from the order seed (released in part 4);
 * - k_p is a per-order share the principal draws here, seals with custody (`ctx.seal`) and keeps
 *   in its plugin store — always, also when a beneficiary is named at order time;
 * - k_b, only when a beneficiary is named at order time, is that beneficiary's identity EC key.
 * When part 4 goes to a beneficiary (named at order time or at redemption), the principal hands
 * k_p to it inside part 3, encrypted to the beneficiary alone and bound to this order
 * (`ctx.encryptTo` with the reference and part 2 CID): part 3 is also readable by the fiduciary,
 * which must never hold k_f and k_p together, and a ciphertext lifted into another chain must
 * not open there.
 *
 * Why k_p always (the 2019 design used k_f + k_b): with k_f + k_b alone, a fiduciary that ever
 * saw one final key learned k_b — the beneficiary's long-lived identity key, and with it every
 * other order naming that beneficiary — and a node that redeemed a chain with a k_f chosen by the
 * caller computed k_b for it. With k_p in every sum, one case is one code path and a leaked final
 * key gives away nothing beyond that order.
 *
 * The commitment is the compressed final public key K = K_f + K_p [+ K_b] and `address` the
 * P2PKH address of its UNCOMPRESSED encoding (as the 2019 D-TA did), on mainnet (coin 0) or
 * testnet (coin 1). The principal computes K only after the fiduciary has proved possession of
 * k_f (the order service verifies the part 2 BIP-340 proof for every plugin before
 * `completeOrder`), and draws k_p only then, so the fiduciary cannot choose K_f to cancel the
 * other shares.
 *
 * Beneficiary rules: a beneficiary named at order time cannot be replaced at redemption
 * (PLUGIN_REFUSED on the principal in prepareRedemption and on the fiduciary in checkRedemption),
 * and a redemption for any beneficiary must carry the principal's share (the fiduciary refuses a
 * part 3 without it).
 * @module
 */
import type { AbortOptions, Extension } from '../../ports/common.ts'
import { DtaError } from '../../errors.ts'
import { toHex, wipe } from '../../crypto/hash.ts'
import {
  p2pkhAddress, secpAddPrivateKeys, secpAddPublicKeys, secpPublicKey, secpRandomPrivateKey, secpUncompressedPublicKey,
  SECP_PRIVATE_KEY_BYTES,
} from '../../crypto/secp256k1.ts'
import type { OrderView, Plugin, PluginContext } from '../../ports/plugin.ts'
import { refuseUnknownExtension } from '../milagro/index.ts'

const NETWORKS = ['mainnet', 'testnet'] as const

/** The plugin-store key, and the custody record id (scoped to this plugin), of an order's principal share. */
export function principalShareKey (reference: string): string {
  return `share/${reference}`
}

function networkOf (coin: number): 'mainnet' | 'testnet' {
  const network = NETWORKS[coin]
  if (network === undefined) throw new DtaError('PLUGIN_REFUSED', `coin ${coin} is neither 0 (mainnet) nor 1 (testnet)`)
  return network
}

/** The P2PKH address of a final public key (any SEC1 encoding), hashed uncompressed as the original did. */
export function bitcoinAddress (publicKey: Uint8Array, coin: number): string {
  return p2pkhAddress(secpUncompressedPublicKey(publicKey), networkOf(coin))
}

/** Checks an order request: exactly `coin`, "0" or "1". */
export function checkCoinExtension (extension: Extension): number {
  refuseUnknownExtension(extension, ['coin'])
  const coin = extension.coin
  if (coin === undefined) throw new DtaError('PLUGIN_BAD_EXTENSION', 'coin is required ("0" mainnet, "1" testnet)')
  const value = coin === '0' ? 0 : coin === '1' ? 1 : undefined
  if (value === undefined) throw new DtaError('PLUGIN_BAD_EXTENSION', 'coin must be "0" (mainnet) or "1" (testnet)')
  return value
}

/** Refuses a redemption-time beneficiary other than the one named at order time. */
function checkBeneficiaryUnchanged (order: OrderView, redemptionBeneficiaryCID: string | undefined): void {
  if (order.beneficiaryCID !== undefined && redemptionBeneficiaryCID !== undefined && redemptionBeneficiaryCID !== order.beneficiaryCID) {
    throw new DtaError('PLUGIN_REFUSED', 'the beneficiary named at order time cannot be replaced')
  }
}

function commitmentKeyOf (order: OrderView): Uint8Array {
  if (order.part2 === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'no commitment')
  return order.part2.commitmentPublicKey
}

/** The principal's share of an order: the stored one, or (at order time) a new one sealed and stored. */
async function principalShare (ctx: PluginContext, reference: string, create: boolean, options?: AbortOptions): Promise<Uint8Array> {
  const key = principalShareKey(reference)
  const stored = await ctx.store.get(key, options)
  if (stored instanceof Uint8Array) return await ctx.unseal(key, stored, options)
  if (stored !== undefined) throw new DtaError('INTERNAL', 'principal share record has the wrong type')
  if (!create) throw new DtaError('PLUGIN_REFUSED', 'this node holds no principal share for that order')
  const share = secpRandomPrivateKey()
  await ctx.store.put(key, await ctx.seal(key, share, options), options)
  return share
}

function checkShare (share: Uint8Array, what: string): void {
  if (share.length !== SECP_PRIVATE_KEY_BYTES) throw new DtaError('ORDER_BAD_DOCUMENT', `${what} has the wrong length`)
}

export function bitcoinWalletPlugin (): Plugin {
  return {
    name: 'bitcoinwallet',
    vendor: 'Milagro',
    description: 'A Bitcoin key split between the fiduciary, the principal and an order-time beneficiary; the address is P2PKH.',
    extensionFields: {
      order: [{ name: 'coin', description: '"0" mainnet or "1" testnet', required: true, example: '0' }],
      orderAnswer: [{ name: 'address', description: 'the P2PKH address of the final public key' }],
      secret: [],
      secretAnswer: [{ name: 'address', description: 'the same address; secret is its private key' }],
    },

    async prepareOrder (_ctx, { extension }) {
      return { coin: checkCoinExtension(extension) }
    },

    async checkOrder (_ctx, order) {
      refuseUnknownExtension(order.extension, [])
      networkOf(order.coin)
    },

    async completeOrder (ctx, { order, requestExtension, beneficiary }, options) {
      checkCoinExtension(requestExtension)
      const share = await principalShare(ctx, order.reference, true, options)
      let finalKey: Uint8Array
      try {
        finalKey = secpAddPublicKeys(commitmentKeyOf(order), secpPublicKey(share))
      } finally {
        wipe(share)
      }
      if (order.beneficiaryCID !== undefined) {
        if (beneficiary?.cid !== order.beneficiaryCID) throw new DtaError('ORDER_BAD_DOCUMENT', 'the order-time beneficiary is unknown')
        finalKey = secpAddPublicKeys(finalKey, beneficiary.ecPublicKey)
      }
      return { commitment: toHex(finalKey), extension: { address: bitcoinAddress(finalKey, order.coin) } }
    },

    async prepareRedemption (ctx, { order, extension, beneficiary }, options) {
      refuseUnknownExtension(extension, [])
      checkBeneficiaryUnchanged(order, beneficiary?.cid)
      if (beneficiary === undefined) return {}
      // Part 4 goes to a beneficiary: it gets the principal's share, readable by it alone, in this order alone.
      if (order.part2 === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'no commitment')
      const share = await principalShare(ctx, order.reference, false, options)
      try {
        return { beneficiaryEncryptedData: ctx.encryptTo(beneficiary, { reference: order.reference, part2CID: order.part2.cid }, share) }
      } finally {
        wipe(share)
      }
    },

    async checkRedemption (_ctx, { order }) {
      networkOf(order.coin)
      const part3 = order.part3
      if (part3 === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'no part 3')
      refuseUnknownExtension(part3.extension, [])
      checkBeneficiaryUnchanged(order, part3.beneficiaryCID)
      const toBeneficiary = order.beneficiaryCID !== undefined || part3.beneficiaryCID !== undefined
      if (toBeneficiary && part3.beneficiaryEncryptedData.length === 0) {
        throw new DtaError('PLUGIN_REFUSED', 'a redemption for a beneficiary needs the principal\'s share')
      }
    },

    async completeRedemption (ctx, { order, requestExtension, keys }, options) {
      refuseUnknownExtension(requestExtension, [])
      const toBeneficiary = order.beneficiaryCID !== undefined || order.part3?.beneficiaryCID !== undefined
      let share: Uint8Array | undefined
      let finalKey: Uint8Array | undefined
      try {
        if (toBeneficiary) {
          // The recipient is the beneficiary: the principal's share came in part 3, encrypted to it for this order.
          if (keys.beneficiaryECPrivateKey === undefined) throw new DtaError('PLUGIN_REFUSED', 'only the order\'s beneficiary can complete this key')
          share = keys.decrypt(order.part3?.beneficiaryEncryptedData ?? new Uint8Array(0))
          checkShare(share, 'the principal share')
        } else {
          share = await principalShare(ctx, order.reference, false, options)
        }
        finalKey = secpAddPrivateKeys(keys.orderKey.privateKey, share)
        if (order.beneficiaryCID !== undefined) {
          const withBeneficiary = secpAddPrivateKeys(finalKey, keys.beneficiaryECPrivateKey!)
          wipe(finalKey)
          finalKey = withBeneficiary
        }
        const publicKey = secpPublicKey(finalKey)
        return { secret: toHex(finalKey), commitment: toHex(publicKey), extension: { address: bitcoinAddress(publicKey, order.coin) } }
      } finally {
        if (share !== undefined) wipe(share)
        if (finalKey !== undefined) wipe(finalKey)
      }
    },
  }
}
