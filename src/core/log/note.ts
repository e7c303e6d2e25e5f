/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures, the envelope of a
 * checkpoint: the note text (ending in a newline), a blank line, then signature lines
 * `— <key name> base64(key ID ‖ signature)`. The key ID is the first 4 bytes of
 * SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key), big-endian; a verifier key is written
 * `<name>+<key ID, 8 hex digits>+base64(0x01 ‖ public key)` (golang.org/x/mod/sumdb/note's vkey).
 *
 * `openNote` follows the spec's rules: a signature whose (name, key ID) is unknown is ignored;
 * one from a known key that fails verifies the whole note as bad; a note with no verified known
 * signature is refused. Sizes are bounded (at most 64 signature lines, 16 KiB per note), and
 * only UTF-8 without control characters other than newline is accepted.
 * @module
 */
import { DtaError } from '../../errors.ts'
import { ed25519Verify, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../../crypto/ed25519.ts'
import { concatBytes, sha256, utf8 } from '../../crypto/hash.ts'

export const ED25519_NOTE_TYPE = 0x01
export const MAX_NOTE_BYTES = 16 * 1024
export const MAX_NOTE_SIGNATURES = 64
const DASH = '\u2014 '

/** A key name: non-empty, no Unicode space, no '+'. */
export function checkKeyName (name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || /[\u0000-\u001f]/.test(name)) {
    throw new DtaError('LOG_BAD_NOTE', 'a key name is non-empty, without spaces or "+"')
  }
}

/** The 4-byte key ID of an Ed25519 key, as an unsigned integer. */
export function noteKeyId (name: string, publicKey: Uint8Array): number {
  const h = sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, ED25519_NOTE_TYPE), publicKey))
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0, false)
}

export interface NoteVerifier {
  readonly name: string
  readonly keyId: number
  readonly publicKey: Uint8Array
}

export function noteVerifier (name: string, publicKey: Uint8Array): NoteVerifier {
  checkKeyName(name)
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw new DtaError('LOG_BAD_NOTE', 'an Ed25519 public key is 32 bytes')
  return { name, keyId: noteKeyId(name, publicKey), publicKey }
}

/** `name+hash+base64(0x01 ‖ public key)`. */
export function formatVerifierKey (v: NoteVerifier): string {
  return `${v.name}+${v.keyId.toString(16).padStart(8, '0')}+${Buffer.from(concatBytes(Uint8Array.of(ED25519_NOTE_TYPE), v.publicKey)).toString('base64')}`
}

/** Parses a verifier key and checks that its key ID is the one of its name and key. */
export function parseVerifierKey (vkey: string): NoteVerifier {
  // name and hash hold no '+'; the base64 key may
  const first = vkey.indexOf('+')
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1)
  const parts = second < 0 ? [] : [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)]
  if (parts.length !== 3 || !/^[0-9a-f]{8}$/.test(parts[1]!)) throw new DtaError('LOG_BAD_NOTE', 'a verifier key is name+hash+key')
  const raw = strictBase64(parts[2]!)
  if (raw === undefined || raw.length !== 1 + ED25519_PUBLIC_KEY_BYTES || raw[0] !== ED25519_NOTE_TYPE) throw new DtaError('LOG_BAD_NOTE', 'only Ed25519 verifier keys are supported')
  const v = noteVerifier(parts[0]!, raw.subarray(1))
  if (v.keyId !== parseInt(parts[1]!, 16)) throw new DtaError('LOG_BAD_NOTE', 'the key hash does not match the key')
  return v
}

/** Standard base64 that re-encodes to itself (one encoding per value), or undefined. */
export function strictBase64 (s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined
  const bytes = new Uint8Array(Buffer.from(s, 'base64'))
  return Buffer.from(bytes).toString('base64') === s ? bytes : undefined
}

function checkText (text: string, what: string): void {
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES) throw new DtaError('LOG_BAD_NOTE', `${what} is too large`)
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text) || text.includes('\uFFFD')) throw new DtaError('LOG_BAD_NOTE', `${what} holds control characters`)
}

/** A signature line for `text` by a key. */
export function signatureLine (name: string, keyId: number, signature: Uint8Array): string {
  const id = new Uint8Array(4)
  new DataView(id.buffer).setUint32(0, keyId, false)
  return `${DASH}${name} ${Buffer.from(concatBytes(id, signature)).toString('base64')}\n`
}

/** Signs a note text (which must end in a newline) with an Ed25519 signing function. */
export function signNote (text: string, key: { name: string, publicKey: Uint8Array, sign (message: Uint8Array): Uint8Array }): string {
  checkText(text, 'the note text')
  if (!text.endsWith('\n')) throw new DtaError('LOG_BAD_NOTE', 'a note text ends in a newline')
  checkKeyName(key.name)
  const signature = key.sign(utf8(text))
  return `${text}\n${signatureLine(key.name, noteKeyId(key.name, key.publicKey), signature)}`
}

export interface NoteSignature {
  readonly name: string
  readonly keyId: number
  /** The signature bytes after the key ID. */
  readonly signature: Uint8Array
  /** The line as it appeared, newline included. */
  readonly line: string
}

/** Splits a signed note into its text and signature lines, checking only the format. */
export function parseNote (note: string): { text: string, signatures: NoteSignature[] } {
  checkText(note, 'the note')
  if (!note.endsWith('\n')) throw new DtaError('LOG_BAD_NOTE', 'a note ends in a newline')
  const split = note.lastIndexOf('\n\n')
  if (split < 0) throw new DtaError('LOG_BAD_NOTE', 'no signature block')
  const text = note.slice(0, split + 1)
  const lines = note.slice(split + 2).split('\n').slice(0, -1)
  if (lines.length === 0) throw new DtaError('LOG_BAD_NOTE', 'no signature')
  if (lines.length > MAX_NOTE_SIGNATURES) throw new DtaError('LOG_BAD_NOTE', 'too many signatures')
  const signatures = lines.map(line => {
    if (!line.startsWith(DASH)) throw new DtaError('LOG_BAD_NOTE', 'a signature line starts with an em dash and a space')
    const rest = line.slice(DASH.length)
    const space = rest.lastIndexOf(' ')
    if (space <= 0) throw new DtaError('LOG_BAD_NOTE', 'malformed signature line')
    const name = rest.slice(0, space)
    checkKeyName(name)
    const raw = strictBase64(rest.slice(space + 1))
    if (raw === undefined || raw.length < 5) throw new DtaError('LOG_BAD_NOTE', 'malformed signature')
    const keyId = new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, false)
    return { name, keyId, signature: raw.slice(4), line: `${line}\n` }
  })
  return { text, signatures }
}

/**
 * Verifies a signed note against known keys: returns the text and the known keys that signed it.
 * LOG_BAD_SIGNATURE if a known key's signature fails or none of them signed it.
 */
export function openNote (note: string, known: readonly NoteVerifier[]): { text: string, signedBy: NoteVerifier[], signatures: NoteSignature[] } {
  const { text, signatures } = parseNote(note)
  const message = utf8(text)
  const signedBy: NoteVerifier[] = []
  for (const sig of signatures) {
    const key = known.find(k => k.name === sig.name && k.keyId === sig.keyId)
    if (key === undefined) continue // unknown keys are ignored (witnesses, rotation)
    if (sig.signature.length !== ED25519_SIGNATURE_BYTES || !ed25519Verify(key.publicKey, message, sig.signature)) {
      throw new DtaError('LOG_BAD_SIGNATURE', `the signature of ${key.name} does not verify`)
    }
    if (!signedBy.includes(key)) signedBy.push(key)
  }
  if (signedBy.length === 0) throw new DtaError('LOG_BAD_SIGNATURE', 'the note carries no signature of a known key')
  return { text, signedBy, signatures }
}
