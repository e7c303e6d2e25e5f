/**
 * The bitcoinwallet plugin (PROTOCOL §7): a Bitcoin key split between the fiduciary and a second
 * party, so that neither the fiduciary nor the principal alone ever holds the final key.
 *
 *   POST /v1/order         extension {coin: "0" | "1"}   → commitment (final public key), extension {address}
 *   POST /v1/order/secret  extension {}                  → secret (final private key), commitment, extension {address}
 *
 * The final private key is k = k_f + k_o (mod n), where
 * - k_f is the fiduciary's share: the order key derived from the order seed (released in part 4);
 * - k_o is the other share: the identity EC key of the beneficiary named at order time, or — when
 *   none is — a per-order share the principal draws here, seals with custody (`ctx.seal`) and keeps
 *   in its plugin store. If a beneficiary is then named at redemption, the principal hands that
 *   share to it inside part 3, encrypted to the beneficiary alone (`ctx.encryptTo`): part 3 is also
 *   readable by the fiduciary, which must never hold both shares.
 *
 * The commitment is the compressed final public key K = K_f + K_o and `address` the P2PKH address
 * of its UNCOMPRESSED encoding (as the 2019 D-TA did), on mainnet (coin 0) or testnet (coin 1).
 * Because the principal computes K only after the fiduciary has proved possession of k_f (the
 * order service verifies the part 2 proof for every plugin before `completeOrder`), the fiduciary
 * cannot choose K_f = X − K_o and control the final key alone.
 *
 * Beneficiary rules: a beneficiary named at order time cannot be replaced at redemption
 * (PLUGIN_REFUSED on the principal in prepareRedemption and on the fiduciary in checkRedemption),
 * and a redemption-time beneficiary of an order without one must receive the principal's share.
 * @module
 */
import { DtaError } from '../../core/errors.ts'
import { toHex, wipe } from '../../crypto/hash.ts'
import {
  orderKeyFromSeed, p2pkhAddress, secpAddPrivateKeys, secpAddPublicKeys, secpPublicKey, secpRandomPrivateKey,
  secpUncompressedPublicKey, SECP_PRIVATE_KEY_BYTES,
} from '../../crypto/secp256k1.ts'
import type { Extension, OrderView, Plugin, PluginContext } from '../../ports/plugin.ts'
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

/** The principal's share of an order without an order-time beneficiary: stored one, or a new one sealed and stored. */
async function principalShare (ctx: PluginContext, reference: string, create: boolean): Promise<Uint8Array> {
  const key = principalShareKey(reference)
  const stored = await ctx.store.get(key)
  if (stored instanceof Uint8Array) return await ctx.unseal(key, stored)
  if (stored !== undefined) throw new DtaError('INTERNAL', 'principal share record has the wrong type')
  if (!create) throw new DtaError('PLUGIN_REFUSED', 'this node holds no principal share for that order')
  const share = secpRandomPrivateKey()
  await ctx.store.put(key, await ctx.seal(key, share))
  return share
}

function checkShare (share: Uint8Array, what: string): void {
  if (share.length !== SECP_PRIVATE_KEY_BYTES) throw new DtaError('ORDER_BAD_DOCUMENT', `${what} has the wrong length`)
}

export function bitcoinWalletPlugin (): Plugin {
  return {
    name: 'bitcoinwallet',
    vendor: 'Milagro',

    async prepareOrder (_ctx, { extension }) {
      return { coin: checkCoinExtension(extension) }
    },

    async checkOrder (_ctx, order) {
      refuseUnknownExtension(order.extension, [])
      networkOf(order.coin)
    },

    async completeOrder (ctx, { order, requestExtension, beneficiary }) {
      checkCoinExtension(requestExtension)
      const fiduciaryKey = commitmentKeyOf(order)
      let otherKey: Uint8Array
      if (order.beneficiaryCID !== undefined) {
        if (beneficiary?.cid !== order.beneficiaryCID) throw new DtaError('ORDER_BAD_DOCUMENT', 'the order-time beneficiary is unknown')
        otherKey = beneficiary.ecPublicKey
      } else {
        const share = await principalShare(ctx, order.reference, true)
        otherKey = secpPublicKey(share)
        wipe(share)
      }
      const finalKey = secpAddPublicKeys(fiduciaryKey, otherKey)
      return { commitment: toHex(finalKey), extension: { address: bitcoinAddress(finalKey, order.coin) } }
    },

    async prepareRedemption (ctx, { order, extension, beneficiary }) {
      refuseUnknownExtension(extension, [])
      checkBeneficiaryUnchanged(order, beneficiary?.cid)
      if (order.beneficiaryCID !== undefined || beneficiary === undefined) return {}
      // No order-time beneficiary, one named now: it gets the principal's share, readable by it alone.
      const share = await principalShare(ctx, order.reference, false)
      try {
        return { beneficiaryEncryptedData: ctx.encryptTo(beneficiary, share) }
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
      if (order.beneficiaryCID === undefined && part3.beneficiaryCID !== undefined && part3.beneficiaryEncryptedData.length === 0) {
        throw new DtaError('PLUGIN_REFUSED', 'a beneficiary named at redemption needs the principal\'s share')
      }
    },

    async completeRedemption (ctx, { order, requestExtension, keys }) {
      refuseUnknownExtension(requestExtension, [])
      const fiduciary = orderKeyFromSeed(keys.orderSeed)
      let other: Uint8Array | undefined
      let finalKey: Uint8Array | undefined
      try {
        if (order.part2 !== undefined && !Buffer.from(fiduciary.publicKey).equals(order.part2.commitmentPublicKey)) {
          throw new DtaError('ORDER_BAD_DOCUMENT', 'the released seed does not match the commitment')
        }
        if (order.beneficiaryCID !== undefined) {
          // The recipient is the order-time beneficiary: its identity key is the other share.
          if (keys.beneficiaryECPrivateKey === undefined) throw new DtaError('PLUGIN_REFUSED', 'only the order\'s beneficiary can complete this key')
          other = new Uint8Array(keys.beneficiaryECPrivateKey)
        } else if (order.part3?.beneficiaryCID !== undefined) {
          // A beneficiary named at redemption: the principal's share came in part 3, encrypted to it.
          if (keys.beneficiaryECPrivateKey === undefined) throw new DtaError('PLUGIN_REFUSED', 'only the order\'s beneficiary can complete this key')
          other = keys.decrypt(order.part3.beneficiaryEncryptedData)
          checkShare(other, 'the principal share')
        } else {
          other = await principalShare(ctx, order.reference, false)
        }
        finalKey = secpAddPrivateKeys(fiduciary.privateKey, other)
        const publicKey = secpPublicKey(finalKey)
        return { secret: toHex(finalKey), commitment: toHex(publicKey), extension: { address: bitcoinAddress(publicKey, order.coin) } }
      } finally {
        wipe(fiduciary.privateKey)
        if (other !== undefined) wipe(other)
        if (finalKey !== undefined) wipe(finalKey)
      }
    },
  }
}
