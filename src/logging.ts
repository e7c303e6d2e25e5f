/**
 * The node's logger: pino (what Fastify uses), JSON lines by default or a readable one-line text
 * format. Redaction is a second line of defence only — code never passes secrets to the logger —
 * but any field that could carry one (authorization headers, passphrases, seeds, plain text) is
 * censored wherever it appears.
 * @module
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { Logger } from 'pino'

export interface LogConfig { level: 'debug' | 'info' | 'warn' | 'error', format: 'json' | 'text' }

const REDACT = [
  'req.headers.authorization', '*.authorization', '*.passphrase', '*.seed', '*.secret', '*.plainText', '*.privateKey', '*.bearerToken', '*.pkcs11Pin', '*.pin',
]
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

/** Turns pino's JSON lines into `time LEVEL msg key=value …`. */
function textStream (out: NodeJS.WritableStream): Writable {
  return new Writable({
    write (chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue
        try {
          const { time, level, msg, pid: _pid, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>
          const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
          out.write(`${new Date(Number(time)).toISOString()} ${LEVELS[Number(level)] ?? String(level)} ${String(msg ?? '')}${fields === '' ? '' : ' ' + fields}\n`)
        } catch {
          out.write(line + '\n')
        }
      }
      done()
    },
  })
}

export function createLogger (config: LogConfig, out: NodeJS.WritableStream = process.stderr): Logger {
  const options = { level: config.level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } }
  return pino(options, config.format === 'text' ? textStream(out) : out as unknown as pino.DestinationStream)
}
