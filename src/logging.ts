/**
 * The node's logger: pino (what Fastify uses). `log.format` chooses the line format: `json`
 * (one JSON object per line, for collectors), `text` (`time LEVEL message key=value …`, for
 * people), or `auto` (the default): text when the output is a terminal, JSON otherwise — so
 * `npm start` in a terminal reads well and a daemon under systemd, Docker or a test harness
 * writes JSON.
 *
 * What is logged at which level: one info line per domain event (`logDomainEvents`: identity
 * created, order placed or accepted, secret released — to whom —, order or release refused — the
 * code and why); the start, stop and warnings of the node; each HTTP request at debug only.
 *
 * Redaction is a second line of defence only — code never passes secrets to the logger, and
 * domain events hold public values only (src/ports/events.ts) — but any field that could carry
 * one (authorization headers, passphrases, seeds, plain text) is censored wherever it appears.
 * @module
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { Logger } from 'pino'
import { ERRORS } from './errors.ts'
import type { DomainEvent, DomainEvents } from './ports/events.ts'

export type LogFormat = 'json' | 'text' | 'auto'
export interface LogConfig { level: 'debug' | 'info' | 'warn' | 'error', format: LogFormat }

const REDACT = [
  'req.headers.authorization', '*.authorization', '*.passphrase', '*.seed', '*.secret', '*.plainText', '*.privateKey', '*.bearerToken', '*.pkcs11Pin', '*.pin',
]
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

/** A value as `key=value` shows it: bare when it is one word, JSON (quoted) otherwise. */
function textValue (value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  return JSON.stringify(value) ?? String(value)
}

/** One pino JSON line as `time LEVEL message key=value …` (exported for its test). */
export function textLine (line: string): string {
  try {
    const { time, level, msg, pid: _pid, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>
    const fields = Object.entries(rest).map(([k, v]) => `${k}=${textValue(v)}`).join(' ')
    const label = (LEVELS[Number(level)] ?? String(level)).padEnd(5)
    return `${new Date(Number(time)).toISOString()} ${label} ${String(msg ?? '')}${fields === '' ? '' : ' ' + fields}`
  } catch {
    return line
  }
}

/** Turns pino's JSON lines into text lines. */
function textStream (out: NodeJS.WritableStream): Writable {
  return new Writable({
    write (chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') out.write(textLine(line) + '\n')
      done()
    },
  })
}

/** The format `auto` resolves to for `out`: text on a terminal, JSON otherwise. */
export function resolveLogFormat (format: LogFormat, out: NodeJS.WritableStream): 'json' | 'text' {
  if (format !== 'auto') return format
  return (out as { isTTY?: boolean }).isTTY === true ? 'text' : 'json'
}

export function createLogger (config: LogConfig, out: NodeJS.WritableStream = process.stderr): Logger {
  const options = { level: config.level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } }
  return pino(options, resolveLogFormat(config.format, out) === 'text' ? textStream(out) : out as unknown as pino.DestinationStream)
}

// ── domain events as log lines ───────────────────────────────────────────────────────────────

/** A refusal (4xx: the request was refused) or a failure (5xx: the node or a peer failed). */
function failed (code: string): boolean {
  const spec = (ERRORS as Record<string, { status: number } | undefined>)[code]
  return spec === undefined || spec.status >= 500
}

/** The message of an event's line: what happened, in a few words. */
export function eventMessage (event: DomainEvent): string {
  switch (event.type) {
    case 'identity.created': return 'identity created'
    case 'order.placed': return event.role === 'principal' ? 'order placed' : 'order accepted'
    case 'order.refused': return failed(event.code) ? 'order failed' : 'order refused'
    case 'secret.released':
      if (event.role === 'fiduciary') return 'secret released'
      return event.handedOff === true ? 'secret handed off to the beneficiary\'s node' : 'secret redeemed'
    case 'release.refused': return failed(event.code) ? 'release failed' : 'release refused'
    default: return 'event'
  }
}

/**
 * The domain events sink that writes one line per event: info, or warn for a failure (a 5xx
 * code). The line's fields are the event's (public values only), with `event` its type.
 */
export function logDomainEvents (logger: Pick<Logger, 'info' | 'warn'>): DomainEvents {
  return {
    emit (event) {
      const { type, ...fields } = event
      const line = { event: type, ...fields }
      if ('code' in event && failed(event.code)) logger.warn(line, eventMessage(event))
      else logger.info(line, eventMessage(event))
    },
  }
}
