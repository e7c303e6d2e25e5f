/**
 * An example plugin, "notary", to copy when writing a new one (docs/plugins.md walks through it).
 * It is deliberately NOT in the registry (src/plugins/registry.ts): a server cannot run it until
 * someone adds it there and to the config enum.
 *
 * What it does: an order must carry a label (`extension.label`, 1..256 characters, no other
 * field). The label is public: it is recorded in part 1, so principal, fiduciary and any
 * beneficiary can read it, and the order answers a SHA-256 digest of it bound to the order
 * reference as `extension.labelDigest`. The key itself works as in milagro (commitment = the
 * order public key, secret = its private key). Notarised orders are not transferable: the
 * fiduciary refuses a redemption that names a beneficiary the order did not name.
 *
 * Every hook is here, with the side it runs on. The rules every plugin follows:
 * - validate the extension strictly: unknown fields are PLUGIN_BAD_EXTENSION, a request the
 *   plugin will not serve is PLUGIN_REFUSED; never put a secret in an error's detail;
 * - whatever `prepareOrder`/`prepareRedemption` return in `extension` is written into the order
 *   documents (encrypted, but readable by the fiduciary): public values only;
 * - use `ctx.store` for plugin state (scoped to this plugin), `ctx.seal` for anything secret in it;
 * - the hooks are pure functions of their inputs and the plugin's store: a repeated call (a retried
 *   request) must give the same answer.
 * @module
 */
import type { Extension } from '../../ports/common.ts'
import { DtaError } from '../../errors.ts'
import { concatBytes, sha256, toHex, utf8 } from '../../crypto/hash.ts'
import type { OrderView, Plugin } from '../../ports/plugin.ts'
import { refuseUnknownExtension } from '../milagro/index.ts'

export const MAX_LABEL_CHARS = 256

function checkLabel (extension: Extension): string {
  refuseUnknownExtension(extension, ['label'])
  const label = extension.label
  if (typeof label !== 'string' || label.length === 0 || label.length > MAX_LABEL_CHARS) {
    throw new DtaError('PLUGIN_BAD_EXTENSION', `label must be 1 to ${MAX_LABEL_CHARS} characters`)
  }
  return label
}

/** hex SHA-256(utf8(reference) ‖ 0x00 ‖ utf8(label)): the label, bound to this order. */
export function labelDigest (reference: string, label: string): string {
  return toHex(sha256(concatBytes(utf8(reference), Uint8Array.of(0), utf8(label))))
}

function recordedLabel (order: OrderView): string {
  return checkLabel(order.extension)
}

export function notaryPlugin (): Plugin {
  return {
    name: 'notary',
    vendor: 'Example',
    description: 'An order key with a public label recorded in part 1 and a digest of it answered.',
    extensionFields: {
      order: [{ name: 'label', description: `a public label, 1 to ${MAX_LABEL_CHARS} characters`, required: true, example: 'deed 42' }],
      orderAnswer: [{ name: 'labelDigest', description: 'SHA-256 of the reference and the label (hex)' }],
      secret: [],
      secretAnswer: [{ name: 'labelDigest', description: 'the same digest' }],
    },

    // Principal, before part 1 is written: validate the client's extension and say what part 1 records.
    async prepareOrder (_ctx, { extension }) {
      const label = checkLabel(extension)
      return { extension: { label } }
    },

    // Fiduciary, on receiving part 1: refuse what this plugin cannot serve.
    async checkOrder (_ctx, order) {
      try {
        recordedLabel(order)
      } catch (err) {
        throw new DtaError('PLUGIN_REFUSED', 'a notary order must carry a label', { cause: err })
      }
    },

    // Principal, after verifying part 2 and its proof of possession: the answer to the client.
    async completeOrder (ctx, { order }, options) {
      if (order.part2 === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'no commitment')
      const digest = labelDigest(order.reference, recordedLabel(order))
      await ctx.store.put(`digest/${order.reference}`, digest, options) // public: plain store, no sealing
      return { commitment: toHex(order.part2.commitmentPublicKey), extension: { labelDigest: digest } }
    },

    // Principal, before part 3 is written: the redemption request takes no field.
    async prepareRedemption (_ctx, { extension }) {
      refuseUnknownExtension(extension, [])
      return {}
    },

    // Fiduciary, on receiving part 3: the plugin's beneficiary rule.
    async checkRedemption (_ctx, { order }) {
      const named = order.part3?.beneficiaryCID
      if (named !== undefined && named !== order.beneficiaryCID) throw new DtaError('PLUGIN_REFUSED', 'notary orders are not transferable')
    },

    // The recipient's node (principal, or the beneficiary's own node), with the released seed and
    // the order key it gives, which the service has checked against the commitment it verified.
    async completeRedemption (ctx, { order, requestExtension, keys }, options) {
      refuseUnknownExtension(requestExtension, [])
      const key = keys.orderKey
      const digest = labelDigest(order.reference, recordedLabel(order))
      const stored = await ctx.store.get(`digest/${order.reference}`, options) // absent on a beneficiary's own node
      if (stored !== undefined && stored !== digest) throw new DtaError('ORDER_BAD_DOCUMENT', 'the label changed since the order')
      return { secret: toHex(key.privateKey), commitment: toHex(key.publicKey), extension: { labelDigest: digest } }
    },
  }
}
