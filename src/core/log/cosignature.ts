/**
 * Witness cosignatures, C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), and the body of
 * a C2SP tlog-witness `add-checkpoint` request (https://c2sp.org/tlog-witness).
 *
 * A cosignature/v1 is a signed-note signature line by the witness's key over
 *
 *     cosignature/v1 LF "time " <Unix seconds> LF <the checkpoint's note text>
 *
 * whose signature bytes are the 8-byte big-endian timestamp then the Ed25519 signature; its key ID
 * is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key), and the verifier key is written
 * `<name>+<key ID hex>+base64(0x04 ‖ public key)`. A cosignature line sits in the checkpoint's
 * signed note next to the log's own signature; a note verifier that does not know the witness key
 * ignores it (note.ts, and golang.org/x/mod/sumdb/note).
 *
 * A node's witness key is named `milagro-dta/witness/<node identity CID>`.
 *
 * The request body: `old <size>` LF, up to 63 consistency-proof lines (base64 hashes) each LF, an
 * empty line, then the checkpoint's signed note.
 * @module
 */
import { DtaError } from '../../errors.ts'
import { ed25519Verify, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../../crypto/ed25519.ts'
import { concatBytes, sha256, utf8 } from '../../crypto/hash.ts'
import { HASH_BYTES, MAX_TREE_SIZE } from './merkle.ts'
import { checkKeyName, parseNote, signatureLine, strictBase64 } from './note.ts'
import type { NoteSignature } from './note.ts'

export const COSIGNATURE_TYPE = 0x04
export const WITNESS_PREFIX = 'milagro-dta/witness/'
export const MAX_PROOF_LINES = 63
const TIMESTAMP_BYTES = 8

export function witnessName (nodeCID: string): string {
  const name = `${WITNESS_PREFIX}${nodeCID}`
  checkKeyName(name)
  return name
}

export interface CosignatureVerifier {
  readonly name: string
  readonly keyId: number
  readonly publicKey: Uint8Array
}

export function cosignatureKeyId (name: string, publicKey: Uint8Array): number {
  const h = sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, COSIGNATURE_TYPE), publicKey))
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0, false)
}

export function cosignatureVerifier (name: string, publicKey: Uint8Array): CosignatureVerifier {
  checkKeyName(name)
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw new DtaError('LOG_BAD_NOTE', 'an Ed25519 public key is 32 bytes')
  return { name, keyId: cosignatureKeyId(name, publicKey), publicKey }
}

export function formatCosignatureKey (v: CosignatureVerifier): string {
  return `${v.name}+${v.keyId.toString(16).padStart(8, '0')}+${Buffer.from(concatBytes(Uint8Array.of(COSIGNATURE_TYPE), v.publicKey)).toString('base64')}`
}

/** Parses a witness's verifier key (type 0x04) and checks its key ID. */
export function parseCosignatureKey (vkey: string): CosignatureVerifier {
  const first = vkey.indexOf('+')
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1)
  if (second < 0 || !/^[0-9a-f]{8}$/.test(vkey.slice(first + 1, second))) throw new DtaError('LOG_BAD_NOTE', 'a verifier key is name+hash+key')
  const raw = strictBase64(vkey.slice(second + 1))
  if (raw === undefined || raw.length !== 1 + ED25519_PUBLIC_KEY_BYTES || raw[0] !== COSIGNATURE_TYPE) throw new DtaError('LOG_BAD_NOTE', 'a witness key is a cosignature/v1 (0x04) Ed25519 key')
  const v = cosignatureVerifier(vkey.slice(0, first), raw.subarray(1))
  if (v.keyId !== parseInt(vkey.slice(first + 1, second), 16)) throw new DtaError('LOG_BAD_NOTE', 'the key hash does not match the key')
  return v
}

function message (text: string, time: number): Uint8Array {
  return utf8(`cosignature/v1\ntime ${time}\n${text}`)
}

/** The cosignature line of a witness over a checkpoint's note text, at `time` (Unix seconds). */
export function cosign (text: string, time: number, key: { name: string, publicKey: Uint8Array, sign (message: Uint8Array): Uint8Array }): string {
  if (!Number.isSafeInteger(time) || time < 0) throw new DtaError('INTERNAL', 'a cosignature time is Unix seconds')
  const ts = new Uint8Array(TIMESTAMP_BYTES)
  new DataView(ts.buffer).setBigUint64(0, BigInt(time), false)
  return signatureLine(key.name, cosignatureKeyId(key.name, key.publicKey), concatBytes(ts, key.sign(message(text, time))))
}

/** Checks a cosignature (a parsed signature line of the note whose text is `text`); returns its time, or throws LOG_BAD_SIGNATURE. */
export function verifyCosignature (text: string, sig: Pick<NoteSignature, 'name' | 'keyId' | 'signature'>, witness: CosignatureVerifier): number {
  if (sig.name !== witness.name || sig.keyId !== witness.keyId) throw new DtaError('LOG_BAD_SIGNATURE', `not a cosignature of ${witness.name}`)
  if (sig.signature.length !== TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES) throw new DtaError('LOG_BAD_SIGNATURE', `the cosignature of ${witness.name} is malformed`)
  const time = Number(new DataView(sig.signature.buffer, sig.signature.byteOffset, TIMESTAMP_BYTES).getBigUint64(0, false))
  if (!ed25519Verify(witness.publicKey, message(text, time), sig.signature.subarray(TIMESTAMP_BYTES))) {
    throw new DtaError('LOG_BAD_SIGNATURE', `the cosignature of ${witness.name} does not verify`)
  }
  return time
}

/** The witnesses among `witnesses` whose valid cosignature a signed note carries (names once each). */
export function cosignedBy (note: string, witnesses: readonly CosignatureVerifier[]): CosignatureVerifier[] {
  const { text, signatures } = parseNote(note)
  const out: CosignatureVerifier[] = []
  for (const w of witnesses) {
    const sig = signatures.find(s => s.name === w.name && s.keyId === w.keyId)
    if (sig === undefined) continue
    verifyCosignature(text, sig, w) // a known witness's bad cosignature fails the note, as note.ts does for signatures
    out.push(w)
  }
  return out
}

/** One signature line of a checkpoint, described (the console's node view): whose key, and a cosignature's time. */
export interface CheckpointSigner {
  readonly name: string
  /** The key ID, 8 hex digits. */
  readonly keyId: string
  /** `log`: the log's own key (named by its origin); `witness`: a `milagro-dta/witness/<CID>` key; `other`: any other key. */
  readonly kind: 'log' | 'witness' | 'other'
  /** The witness node's identity CID, from its key name; null for the others. */
  readonly witnessCID: string | null
  /** A witness's cosignature/v1 time (Unix seconds), read from the signature; null for the others. */
  readonly cosignedAt: number | null
}

/**
 * Names each signature line of a signed checkpoint note (format only: the caller verified the
 * note — the log signed it, the witnessing checked each cosignature when it got it).
 */
export function checkpointSigners (note: string, origin: string): CheckpointSigner[] {
  return parseNote(note).signatures.map(s => {
    const witness = s.name !== origin && s.name.startsWith(WITNESS_PREFIX)
    const timed = witness && s.signature.length === TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES
    return {
      name: s.name,
      keyId: s.keyId.toString(16).padStart(8, '0'),
      kind: s.name === origin ? 'log' : witness ? 'witness' : 'other',
      witnessCID: witness ? s.name.slice(WITNESS_PREFIX.length) : null,
      cosignedAt: timed ? Number(new DataView(s.signature.buffer, s.signature.byteOffset, TIMESTAMP_BYTES).getBigUint64(0, false)) : null,
    }
  })
}

/** Adds signature lines to a signed note (each line ends in LF; lines already there are not repeated). */
export function addSignatureLines (note: string, lines: readonly string[]): string {
  const have = new Set(parseNote(note).signatures.map(s => s.line))
  return note + lines.filter(l => !have.has(l)).join('')
}

export interface AddCheckpointRequest {
  readonly oldSize: number
  readonly proof: Uint8Array[]
  readonly note: string
}

export function formatAddCheckpoint (r: { oldSize: number, proof: readonly string[], note: string }): string {
  return `old ${r.oldSize}\n${r.proof.map(h => `${h}\n`).join('')}\n${r.note}`
}

/** Parses an add-checkpoint body; WITNESS_BAD_REQUEST unless it is exactly the spec's shape. */
export function parseAddCheckpoint (body: string): AddCheckpointRequest {
  const bad = (why: string): DtaError => new DtaError('WITNESS_BAD_REQUEST', why)
  const split = body.indexOf('\n\n')
  if (split < 0) throw bad('no empty line before the checkpoint')
  const head = body.slice(0, split).split('\n')
  const m = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0]!)
  if (m === null || Number(m[1]) > MAX_TREE_SIZE) throw bad('the first line is "old <size>"')
  const lines = head.slice(1)
  if (lines.length > MAX_PROOF_LINES) throw bad(`at most ${MAX_PROOF_LINES} proof lines`)
  const proof = lines.map(l => {
    const h = strictBase64(l)
    if (h?.length !== HASH_BYTES) throw bad('a proof line is a base64 SHA-256 hash')
    return h
  })
  return { oldSize: Number(m[1]), proof, note: body.slice(split + 2) }
}
