/**
 * The node's view of identities: creates identities (root seed generated here, sealed by custody,
 * stored with the identity row in one transaction), fetches and verifies other identities'
 * documents from the document store, and gives the services the signing/receiving handles of the
 * identities this node holds.
 *
 * Caches: verified identity documents by CID (a CID is the hash of the bytes, so a verified
 * document never changes), and the derived keys of held identities, so that an order does not
 * unseal and re-derive keys on every envelope. Both are bounded. The key cache lives in process
 * memory only; it is the working set of a signing server, as an HSM session keeps its keys.
 * @module
 */
import type { AbortOptions } from '../ports/common.ts'
import { DtaError, isDtaError } from '../errors.ts'
import { createIdentityDocument, decodeIdentityDocument, deriveIdentityKeys } from '../core/identity.ts'
import type { IdentityDocument, IdentityKeys } from '../core/identity.ts'
import { hpkeOpen, hpkeSeal } from '../crypto/hpke.ts'
import { concatBytes, lengthPrefixed, toHex, utf8, wipe } from '../crypto/hash.ts'
import { randomBytes } from '../crypto/random.ts'
import { XWING_CIPHERTEXT_BYTES } from '../crypto/xwing.ts'
import type { RecipientPublicKey, RecipientSecretKey, Signer, Verifier } from '../envelope/envelope.ts'
import type { Custody } from '../ports/custody.ts'
import type { DocumentReader, DocumentStore } from '../ports/document-store.ts'
import type { IdentityInfo, OrderBinding } from '../ports/plugin.ts'
import { identitySeedRecordId } from '../ports/state.ts'
import type { StateRepository } from '../ports/state.ts'
import type { IdentityView } from '../ports/api.ts'

const DOCUMENT_CACHE = 4096
const KEY_CACHE = 256
const ORDER_SHARE_INFO = utf8('milagro-dta/suite/1/order-share\0')

/** A map that forgets its oldest entry past `limit`. */
class Bounded<V> extends Map<string, V> {
  readonly limit: number
  constructor (limit: number) { super(); this.limit = limit }
  override set (key: string, value: V): this {
    if (!this.has(key) && this.size >= this.limit) this.delete(this.keys().next().value as string)
    return super.set(key, value)
  }
}

/**
 * Where an identity document is read from: by default the node's store; a request passes the
 * documents that came inline with it (src/services/inline.ts), which are stored only once the
 * request has been accepted.
 */
export interface ReadOptions extends AbortOptions {
  from?: DocumentReader
}

export interface HeldIdentity {
  cid: string
  document: IdentityDocument
  keys: IdentityKeys
}

export class Identities {
  readonly #documents: DocumentStore
  readonly #state: StateRepository
  readonly #custody: Custody
  readonly #docCache = new Bounded<IdentityDocument>(DOCUMENT_CACHE)
  readonly #keyCache = new Bounded<IdentityKeys>(KEY_CACHE)

  constructor (deps: { documents: DocumentStore, state: StateRepository, custody: Custody }) {
    this.#documents = deps.documents
    this.#state = deps.state
    this.#custody = deps.custody
  }

  /** Creates an identity held by this node; the seed is sealed and stored before the CID is returned. */
  async create (name: string, options: AbortOptions & { isNodeIdentity?: boolean } = {}): Promise<HeldIdentity> {
    const rootSeed = randomBytes(32)
    try {
      const { bytes, document, keys } = createIdentityDocument(rootSeed, name)
      const cid = await this.#documents.put(bytes, options)
      const sealedRootSeed = await this.#custody.seal(identitySeedRecordId(cid), rootSeed, options)
      await this.#state.insertIdentity({ cid, name, createdAt: document.timestamp, sealedRootSeed, isNodeIdentity: options.isNodeIdentity }, options)
      await this.#state.appendAudit({ op: 'identity.created', reference: identitySeedRecordId(cid), actor: cid }, options)
      this.#docCache.set(cid, document)
      this.#keyCache.set(cid, keys)
      return { cid, document, keys }
    } finally {
      wipe(rootSeed)
    }
  }

  /** Fetches and verifies an identity document (IDENTITY_NOT_FOUND if no peer has it in time). */
  async document (cid: string, options: ReadOptions = {}): Promise<IdentityDocument> {
    const cached = this.#docCache.get(cid)
    if (cached !== undefined) {
      // verified before, maybe for a request that was then refused: this one needs it, so it keeps it
      await options.from?.use?.(cid, options)
      return cached
    }
    let bytes: Uint8Array
    try {
      bytes = await (options.from ?? this.#documents).get(cid, options)
    } catch (err) {
      if (isDtaError(err, 'DOCUMENT_NOT_FOUND') || isDtaError(err, 'DOCUMENT_FETCH_TIMEOUT')) {
        throw new DtaError('IDENTITY_NOT_FOUND', cid, { cause: err })
      }
      throw err
    }
    const document = decodeIdentityDocument(bytes)
    this.#docCache.set(cid, document)
    return document
  }

  /** The keys of an identity this node holds, or undefined. */
  async keys (cid: string, options: AbortOptions = {}): Promise<IdentityKeys | undefined> {
    const cached = this.#keyCache.get(cid)
    if (cached !== undefined) return cached
    const record = await this.#state.getIdentity(cid, options)
    if (record?.sealedRootSeed == null) return undefined
    const rootSeed = await this.#custody.unseal(identitySeedRecordId(cid), record.sealedRootSeed, options)
    try {
      const keys = deriveIdentityKeys(rootSeed)
      this.#keyCache.set(cid, keys)
      return keys
    } finally {
      wipe(rootSeed)
    }
  }

  async held (cid: string, options: AbortOptions = {}): Promise<HeldIdentity> {
    const keys = await this.keys(cid, options)
    if (keys === undefined) throw new DtaError('IDENTITY_NOT_HELD', cid)
    return { cid, keys, document: await this.document(cid, options) }
  }

  async verifier (cid: string, options: ReadOptions = {}): Promise<Verifier> {
    return { cid, blsPublicKey: (await this.document(cid, options)).blsPublicKey }
  }

  async recipient (cid: string, options: ReadOptions = {}): Promise<RecipientPublicKey> {
    return { cid, kemPublicKey: (await this.document(cid, options)).kemPublicKey }
  }

  /** The KEM public keys of an envelope's recipients, each identity once (absent entries skipped). */
  async recipients (cids: ReadonlyArray<string | undefined>, options: ReadOptions = {}): Promise<RecipientPublicKey[]> {
    const unique = [...new Set(cids.filter((cid): cid is string => cid !== undefined))]
    return await Promise.all(unique.map(async cid => await this.recipient(cid, options)))
  }

  async info (cid: string, options: ReadOptions = {}): Promise<IdentityInfo> {
    const doc = await this.document(cid, options)
    return { cid, ecPublicKey: doc.beneficiaryECPublicKey, kemPublicKey: doc.kemPublicKey }
  }

  async view (cid: string, options: AbortOptions = {}): Promise<IdentityView> {
    const doc = await this.document(cid, options)
    return {
      idDocumentCID: cid,
      authenticationReference: doc.authenticationReference,
      beneficiaryECPublicKey: toHex(doc.beneficiaryECPublicKey),
      kemPublicKey: toHex(doc.kemPublicKey),
      blsPublicKey: toHex(doc.blsPublicKey),
      timestamp: Math.floor(doc.timestamp / 1000), // Unix seconds, as the original (the signed document keeps ms)
    }
  }
}

export function signerOf (held: HeldIdentity): Signer {
  return { cid: held.cid, secretKey: held.keys.bls }
}

export function recipientOf (held: HeldIdentity): RecipientSecretKey {
  return { cid: held.cid, kemSecretKey: held.keys.kem }
}

/**
 * The HPKE `info` of data encrypted to one identity outside any envelope (a plugin handing a key
 * share to a beneficiary in part 3): the suite, the recipient and the order — its reference and
 * part 2 CID — so the ciphertext opens for that recipient in that order's chain only (PROTOCOL §7).
 */
function orderShareInfo (recipientCID: string, binding: OrderBinding): Uint8Array {
  return concatBytes(ORDER_SHARE_INFO, lengthPrefixed(recipientCID, binding.reference, binding.part2CID))
}

export function encryptToIdentity (to: IdentityInfo, binding: OrderBinding, data: Uint8Array): Uint8Array {
  const { enc, ciphertext } = hpkeSeal(to.kemPublicKey, orderShareInfo(to.cid, binding), new Uint8Array(0), data)
  return concatBytes(enc, ciphertext)
}

export function decryptForIdentity (held: HeldIdentity, binding: OrderBinding, data: Uint8Array): Uint8Array {
  if (data.length <= XWING_CIPHERTEXT_BYTES) throw new DtaError('CRYPTO_BAD_CIPHERTEXT', 'shared data too short')
  return hpkeOpen(held.keys.kem, data.subarray(0, XWING_CIPHERTEXT_BYTES), orderShareInfo(held.cid, binding), new Uint8Array(0), data.subarray(XWING_CIPHERTEXT_BYTES))
}
