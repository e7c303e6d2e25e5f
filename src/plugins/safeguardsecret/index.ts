/**
 * The safeguardsecret plugin (PROTOCOL §7): the custodian's order key safeguards a short text.
 *
 *   POST /v1/order         extension {plainText}            → extension {cypherText, v, t}
 *   POST /v1/order/secret  extension {cypherText, v, t}     → extension {plainText}
 *
 * At order time the principal encrypts `plainText` to the commitment public key with the 2019
 * D-TA's ECIES (src/crypto/ecies.ts, byte-compatible with the original, so the original's
 * ciphertexts decrypt here) and answers the three hex fields. At redemption the recipient derives
 * the order private key from the released seed and decrypts the fields the client sends back.
 * The secret is the order private key (hex) and the commitment its compressed public key (hex),
 * as for milagro.
 *
 * Where the text goes, and where it never goes:
 * - `plainText` is never recorded: not in part 1 (prepareOrder returns no extension), not in the
 *   stored order, not in an error. The fiduciary refuses a part 1 that carries any extension, so a
 *   principal cannot leak the text to it by mistake.
 * - The three ciphertext fields are answered to the client and stored with the principal's order
 *   row, but never put in part 3: the fiduciary holds the order key and could decrypt them.
 *   A beneficiary that redeems on its own node therefore gets them from its client (the principal
 *   hands them over with the order reference; they are useless without the released key).
 * - A redemption without the three fields is allowed and answers the key only.
 * @module
 */
import type { Extension } from '../../ports/common.ts'
import { DtaError } from '../../errors.ts'
import { eciesDecrypt, eciesEncrypt, ECIES_TAG_BYTES, ECIES_V_BYTES } from '../../crypto/ecies.ts'
import { toHex, utf8, wipe } from '../../crypto/hash.ts'
import type { Plugin } from '../../ports/plugin.ts'
import { refuseUnknownExtension } from '../milagro/index.ts'

const AES_BLOCK = 16
/**
 * The longest value one extension field carries through the HTTP API (MAX_EXTENSION_VALUE_CHARS
 * in src/http/schemas.ts; a test keeps the two in step). The hex cypherText must fit in it to come
 * back at redemption, so it bounds the text: an order this plugin accepts can always be redeemed.
 */
export const MAX_FIELD_CHARS = 16384
/** The largest cypherText, in bytes (hex doubles it). */
export const MAX_CYPHERTEXT_BYTES = MAX_FIELD_CHARS / 2
/** The largest plainText accepted, in UTF-8 bytes: PKCS#7 always adds 1..16 bytes of padding. */
export const MAX_PLAINTEXT_BYTES = MAX_CYPHERTEXT_BYTES - 1
const HEX = /^(?:[0-9a-fA-F]{2})*$/
const CIPHERTEXT_FIELDS = ['cypherText', 'v', 't'] as const
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** The three hex fields of an ECIES ciphertext, as the original D-TA answered them. */
export type CiphertextExtension = { cypherText: string, v: string, t: string }

function badField (detail: string): never {
  throw new DtaError('PLUGIN_BAD_EXTENSION', detail)
}

/** Checks an order request: exactly `plainText`, a non-empty string of at most MAX_PLAINTEXT_BYTES (UTF-8). */
export function checkPlainTextExtension (extension: Extension): string {
  refuseUnknownExtension(extension, ['plainText'])
  const plainText = extension.plainText
  if (typeof plainText !== 'string' || plainText.length === 0) badField('plainText is required')
  if (Buffer.byteLength(plainText, 'utf8') > MAX_PLAINTEXT_BYTES) badField(`plainText is longer than ${MAX_PLAINTEXT_BYTES} bytes`)
  return plainText
}

function hexField (extension: Extension, name: string, check: (bytes: number) => boolean, expected: string): Uint8Array {
  const value = extension[name]
  if (typeof value !== 'string' || !HEX.test(value)) badField(`${name} must be hex`)
  const bytes = value.length / 2
  if (!check(bytes)) badField(`${name} must be ${expected}`)
  return new Uint8Array(Buffer.from(value, 'hex'))
}

/**
 * Checks a redemption request: either no field, or exactly `cypherText`, `v`, `t` in hex with the
 * format's lengths (v: 65-byte uncompressed point, t: 12 bytes, cypherText: whole AES blocks, at most MAX_CYPHERTEXT_BYTES).
 * Returns undefined for an empty extension.
 */
export function checkCiphertextExtension (extension: Extension): { cypherText: Uint8Array, v: Uint8Array, t: Uint8Array } | undefined {
  refuseUnknownExtension(extension, CIPHERTEXT_FIELDS)
  const present = CIPHERTEXT_FIELDS.filter(name => extension[name] !== undefined)
  if (present.length === 0) return undefined
  if (present.length !== CIPHERTEXT_FIELDS.length) badField('cypherText, v and t go together')
  const v = hexField(extension, 'v', n => n === ECIES_V_BYTES, `${ECIES_V_BYTES} bytes`)
  if (v[0] !== 0x04) badField('v must be an uncompressed point (04…)')
  return {
    cypherText: hexField(extension, 'cypherText', n => n > 0 && n % AES_BLOCK === 0 && n <= MAX_CYPHERTEXT_BYTES, `a multiple of ${AES_BLOCK} bytes, at most ${MAX_CYPHERTEXT_BYTES}`),
    v,
    t: hexField(extension, 't', n => n === ECIES_TAG_BYTES, `${ECIES_TAG_BYTES} bytes`),
  }
}

/** ECIES-encrypts a text to a secp256k1 public key (33 or 65 bytes); the original's hex fields. */
export function encryptPlainText (publicKey: Uint8Array, plainText: string): CiphertextExtension {
  const bytes = utf8(plainText)
  try {
    const c = eciesEncrypt(publicKey, bytes)
    return { cypherText: toHex(c.cypherText), v: toHex(c.v), t: toHex(c.t) }
  } finally {
    wipe(bytes)
  }
}

/**
 * Decrypts the original's hex fields with a 32-byte private key: PLUGIN_BAD_EXTENSION for
 * malformed fields, CRYPTO_DECRYPT_FAILED for a ciphertext that is not authentic under this key
 * (or whose text is not UTF-8).
 */
export function decryptPlainText (privateKey: Uint8Array, extension: Extension): string {
  const fields = checkCiphertextExtension(extension)
  if (fields === undefined) badField('cypherText, v and t are required')
  const bytes = eciesDecrypt(privateKey, fields)
  try {
    return strictUtf8.decode(bytes)
  } catch (err) {
    throw new DtaError('CRYPTO_DECRYPT_FAILED', 'the decrypted text is not UTF-8', { cause: err })
  } finally {
    wipe(bytes)
  }
}

export function safeguardSecretPlugin (): Plugin {
  return {
    name: 'safeguardsecret',
    vendor: 'Milagro',
    description: 'A short text encrypted (the original D-TA\'s ECIES) to an order key the fiduciary holds; redeeming the key decrypts it.',
    extensionFields: {
      order: [{ name: 'plainText', description: `the text to safeguard (1 to ${MAX_PLAINTEXT_BYTES} UTF-8 bytes); never recorded`, required: true, example: 'The Qu1ck Br0wn F0x' }],
      orderAnswer: [
        { name: 'cypherText', description: 'the ECIES ciphertext (hex); keep it with v and t to get the text back' },
        { name: 'v', description: 'the ephemeral public key (hex, 65 bytes uncompressed)' },
        { name: 't', description: 'the authentication tag (hex, 12 bytes)' },
      ],
      secret: [
        { name: 'cypherText', description: 'as the order answered (all three, or none for the key only)' },
        { name: 'v', description: 'as the order answered' },
        { name: 't', description: 'as the order answered' },
      ],
      secretAnswer: [{ name: 'plainText', description: 'the text, when cypherText, v and t were sent' }],
    },

    async prepareOrder (_ctx, { extension }) {
      checkPlainTextExtension(extension)
      return {} // the text never enters part 1
    },

    async checkOrder (_ctx, order) {
      refuseUnknownExtension(order.extension, [])
    },

    async completeOrder (_ctx, { order, requestExtension }) {
      if (order.part2 === undefined) throw new DtaError('ORDER_BAD_DOCUMENT', 'no commitment')
      const plainText = checkPlainTextExtension(requestExtension)
      const commitmentKey = order.part2.commitmentPublicKey
      return { commitment: toHex(commitmentKey), extension: { ...encryptPlainText(commitmentKey, plainText) } }
    },

    async prepareRedemption (_ctx, { extension }) {
      checkCiphertextExtension(extension)
      return {} // never the ciphertext in part 3: the fiduciary could decrypt it
    },

    async checkRedemption (_ctx, { order }) {
      if (order.part3 !== undefined) refuseUnknownExtension(order.part3.extension, [])
    },

    async completeRedemption (_ctx, { requestExtension, keys }) {
      // keys.orderKey is checked by the service against the commitment this node verified
      const key = keys.orderKey
      const fields = checkCiphertextExtension(requestExtension)
      const extension: Extension = fields === undefined ? {} : { plainText: decryptPlainText(key.privateKey, requestExtension) }
      return { secret: toHex(key.privateKey), commitment: toHex(key.publicKey), extension }
    },
  }
}
