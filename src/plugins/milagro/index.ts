/**
 * The default plugin (PROTOCOL §7): the commitment is the fiduciary's order public key
 * (secp256k1, compressed, hex) and the redeemed secret is its private key (hex), derived from the
 * released order seed exactly as the 2019 D-TA did (BIP39 → BIP32 m/44'/0'/0'/0/0); the service has
 * checked that key against the commitment before this plugin sees it (`keys.orderKey`). It accepts no
 * extension fields and has no beneficiary rules beyond the fiduciary's own (PROTOCOL §6).
 * @module
 */
import type { Extension } from '../../ports/common.ts'
import { DtaError } from '../../errors.ts'
import { toHex } from '../../crypto/hash.ts'
import type { Plugin } from '../../ports/plugin.ts'

export function refuseUnknownExtension (extension: Extension, allowed: readonly string[]): void {
  const unknown = Object.keys(extension).filter(key => !allowed.includes(key))
  if (unknown.length > 0) throw new DtaError('PLUGIN_BAD_EXTENSION', `unknown field(s) ${unknown.join(', ')}`)
}

export function milagroPlugin (): Plugin {
  return {
    name: 'milagro',
    vendor: 'Milagro',
    description: 'A secp256k1 key held by the fiduciary: the commitment is its public key, the secret its private key (hex).',
    extensionFields: { order: [], orderAnswer: [], secret: [], secretAnswer: [] },
    async prepareOrder (_ctx, { extension }) {
      refuseUnknownExtension(extension, [])
      return {}
    },
    async checkOrder () {},
    async completeOrder (_ctx, { order }) {
      if (order.part2 === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'no commitment')
      return { commitment: toHex(order.part2.commitmentPublicKey), extension: {} }
    },
    async prepareRedemption (_ctx, { extension }) {
      refuseUnknownExtension(extension, [])
      return {}
    },
    async checkRedemption () {},
    async completeRedemption (_ctx, { keys }) {
      return { secret: toHex(keys.orderKey.privateKey), commitment: toHex(keys.orderKey.publicKey), extension: {} }
    },
  }
}
