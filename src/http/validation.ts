/**
 * Schema failures in words: the REQUEST_INVALID detail the HTTP layer gives for Ajv's errors
 * (src/http/app.ts maps every route's validation failure through `validationMessage`, once).
 * It names the field and what it may be — `perPage must be 1 to 100`, `unknown field
 * "beneficiary" (did you mean beneficiaryIDDocumentCID?)`, `beneficiaryIDDocumentCID must be a
 * CIDv0 (…) or ""`, `sortBy must be at most 64 characters (dateCreatedAsc: …)` — never only the
 * validator's words ("must match a schema in anyOf"). It reads the failing schema (Ajv's
 * `verbose` errors: bounds, allowed fields, descriptions) and never echoes a value the client
 * sent; an unknown field's name is quoted, cut to 64 printable characters.
 * @module
 */
import type { ErrorObject } from 'ajv'
import { EXTENSION_KEY_PATTERN } from '../ports/api.ts'
import { CIDV0_PATTERN, ORDER_REFERENCE_PATTERN } from '../ports/common.ts'

/** What a value matching one of the API's patterns is. */
const PATTERN_HINTS: Record<string, string> = {
  [CIDV0_PATTERN]: 'a CIDv0 (Qm followed by 44 base58 characters)',
  [ORDER_REFERENCE_PATTERN]: 'an order reference (32 lower-case hex digits)',
  [EXTENSION_KEY_PATTERN]: 'a letter followed by up to 63 letters, digits, "_", "." or "-"',
}

/** A name the client sent, quoted, cut to 64 printable characters (never a value). */
function quoted (name: string): string {
  const printable = name.replace(/[^\x20-\x7e]/g, '?')
  return JSON.stringify(printable.length > 64 ? `${printable.slice(0, 61)}...` : printable)
}

/** `/extension/coin` → `extension.coin`; the whole body or query when empty. */
function fieldName (instancePath: string, context: string | undefined): string {
  if (instancePath === '') return context === 'querystring' ? 'the query string' : context === 'params' ? 'the path' : 'the body'
  return instancePath.slice(1).split('/').map(part => part.replace(/~1/g, '/').replace(/~0/g, '~')).join('.')
}

function normalized (name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '')
}

/**
 * Edit distance with transpositions (optimal string alignment), for "did you mean": `nmae` is one
 * step from `name`. Names are short: at most 64 characters are compared.
 */
function distance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

/** The allowed field an unknown one was probably meant to be, if one is close enough. */
export function closestField (unknown: string, allowed: readonly string[]): string | undefined {
  const u = normalized(unknown.slice(0, 64))
  if (u === '') return undefined
  let best: { name: string, score: number } | undefined
  for (const name of allowed) {
    const n = normalized(name)
    const score = n === u ? 0 : (u.length >= 3 && (n.startsWith(u) || u.startsWith(n))) ? 1 : distance(u, n) <= Math.max(1, Math.floor(n.length / 4)) ? 2 : undefined
    if (score !== undefined && (best === undefined || score < best.score)) best = { name, score }
  }
  return best?.name
}

type SchemaOf = Record<string, unknown> | undefined

/** What one failed keyword allows, as a phrase after "must be" (for anyOf branches). */
function allowedBy (error: ErrorObject): string {
  const params = error.params as Record<string, unknown>
  const schema = error.parentSchema as SchemaOf
  switch (error.keyword) {
    case 'pattern': return PATTERN_HINTS[String(params.pattern)] ?? `a string matching ${String(params.pattern)}`
    case 'const': return JSON.stringify(params.allowedValue)
    case 'enum': return ((params.allowedValues ?? schema?.enum) as unknown[]).map(v => JSON.stringify(v)).join(' or ')
    case 'type': return `${/^[aeiou]/.test(String(params.type)) ? 'an' : 'a'} ${String(params.type)}`
    default: return error.message ?? error.keyword
  }
}

/** The bound of a range keyword, in words: `1 to 100`, `at most 64 characters`. */
function range (schema: SchemaOf, low: string, high: string, unit: string): string {
  const min = schema?.[low]; const max = schema?.[high]
  const suffix = unit === '' ? '' : ` ${unit}`
  if (typeof min === 'number' && typeof max === 'number') return `${min} to ${max}${suffix}`
  if (typeof max === 'number') return `at most ${max}${suffix}`
  return `at least ${String(min)}${suffix}`
}

/**
 * The REQUEST_INVALID detail for Ajv's errors: the field and what it may be. With `allErrors`
 * off Ajv reports the first failure, plus each branch of an `anyOf` that failed.
 */
export function validationMessage (errors: readonly ErrorObject[], context?: string): string {
  const anyOf = errors.find(e => e.keyword === 'anyOf')
  if (anyOf !== undefined) {
    const branches = errors.filter(e => e.keyword !== 'anyOf' && e.instancePath === anyOf.instancePath)
    const phrases = [...new Set(branches.map(allowedBy))]
    if (phrases.length > 0) return `${fieldName(anyOf.instancePath, context)} must be ${phrases.join(' or ')}`
  }
  const error = errors.find(e => e.keyword !== 'anyOf') ?? errors[0]
  if (error === undefined) return 'the request does not match the schema'
  const params = error.params as Record<string, unknown>
  const schema = error.parentSchema as SchemaOf
  const field = fieldName(error.instancePath, context)
  const described = typeof schema?.description === 'string' ? ` (${schema.description})` : ''
  switch (error.keyword) {
    case 'required': {
      const path = `${error.instancePath}/${String(params.missingProperty)}`
      return `${fieldName(path, context)} is required`
    }
    case 'additionalProperties': {
      const name = String(params.additionalProperty)
      const where = error.instancePath === '' ? '' : ` in ${field}`
      const patterns = Object.keys((schema?.patternProperties ?? {}) as object)
      if (patterns.length > 0) return `${field}: the key ${quoted(name)} must be ${patterns.map(p => PATTERN_HINTS[p] ?? `a string matching ${p}`).join(' or ')}`
      const allowed = Object.keys((schema?.properties ?? {}) as object)
      const guess = closestField(name, allowed)
      const hint = guess !== undefined ? ` (did you mean ${guess}?)` : allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''
      return `unknown field ${quoted(name)}${where}${hint}`
    }
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum':
      return `${field} must be ${range(schema, 'minimum', 'maximum', '')}${described}`
    case 'minLength': case 'maxLength':
      return `${field} must be ${range(schema, 'minLength', 'maxLength', 'characters')}${described}`
    case 'minProperties': case 'maxProperties':
      return `${field} must have ${range(schema, 'minProperties', 'maxProperties', 'entries')}${described}`
    case 'pattern': case 'const': case 'enum':
      return `${field} must be ${allowedBy(error)}`
    case 'type':
      return `${field} must be ${allowedBy(error)}${described}`
    default:
      return `${field} ${error.message ?? 'is invalid'}${described}`
  }
}
