/**
 * The help the command line prints: the overview (`milagro --help`), a group's (`milagro order
 * --help`) and a command's (`milagro order create --help`: synopsis, details, options, examples),
 * all from commands.ts; and "did you mean" for a misspelled command or option.
 *
 * A command that takes `--ext` lists the extension fields of the plugin it would reach, from the
 * plugin itself (`Plugin.description`, `Plugin.extensionFields` — the description the OpenAPI
 * document shows too): the plugin of the node the command targets (`GET /v1/status` says
 * `plugin`), else the home's `plugins.service`, else — nothing reachable — every plugin's fields.
 * The plugins are imported only here, for that help.
 * @module
 */
import type { ExtensionField, Plugin } from '../ports/plugin.ts'
import { CLIENT_OPTIONS, COMMANDS, GROUPS, OPTION_HELP, findCommand, subcommands, synopsis } from './commands.ts'
import type { CommandSpec } from './commands.ts'
import { shellWord } from './format.ts'
import { addressUrl, checkUrl, readHomeConfig } from './target.ts'
import { VERSION } from './usage.ts'
import type { OptionName, Values } from './usage.ts'

// ── did you mean ───────────────────────────────────────────────────────────────────────────────

/** Edit distance with adjacent transpositions (optimal string alignment). */
export function distance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The closest candidate within a small distance (2, or 1 for short words), if any. */
export function closest (word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : 2
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const n = distance(word.toLowerCase(), c.toLowerCase())
    if (n < bestDistance) { best = c; bestDistance = n }
  }
  return bestDistance <= limit ? best : undefined
}

export function didYouMean (word: string, candidates: readonly string[], prefix = ''): string {
  const match = closest(word, candidates)
  return match === undefined ? '' : ` (did you mean ${prefix}${match}?)`
}

// ── the texts ──────────────────────────────────────────────────────────────────────────────────

const SECTIONS = [
  ['server', 'Server (on the home $MILAGRO_HOME, default ~/.milagro):'],
  ['client', 'Client (talk to a running node: the home\'s, or --url):'],
  ['custody', 'Custody (on the home\'s files; stop the daemon first):'],
] as const

export function overview (): string {
  const width = Math.max(...COMMANDS.map(c => c.name.length))
  const lines = [`milagro ${VERSION} — Milagro Decentralized Trust Authority`, '', 'Usage: milagro <command> [options]', '']
  for (const [section, title] of SECTIONS) {
    lines.push(title)
    for (const c of COMMANDS.filter(c => c.section === section)) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`)
    lines.push('')
  }
  lines.push('Client options: --url URL, --token JWT ($MILAGRO_TOKEN), --json, -v/--verbose.',
    'Run `milagro <command> --help` for a command\'s options and examples; `milagro --version`.',
    'Docs: docs/cli.md (commands, which node a client command talks to, installing `milagro`).')
  return lines.join('\n')
}

export function groupHelp (group: string): string {
  const subs = subcommands(group)
  const width = Math.max(...subs.map(c => c.name.length))
  return [
    `Usage: milagro ${group} <${subs.map(c => c.name.split(' ')[1]).join('|')}> [options]`, '',
    ...subs.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`), '',
    `Run \`milagro ${group} <command> --help\` for its options and examples.`,
  ].join('\n')
}

function optionLines (names: readonly OptionName[]): string[] {
  const label = (o: OptionName): string => {
    const h = OPTION_HELP[o]
    const short = o === 'verbose' ? '-v, ' : ''
    return `${short}--${o}${h.value === undefined ? '' : ` ${h.value}`}`
  }
  const width = Math.max(...names.map(o => label(o).length))
  return names.map(o => `  ${label(o).padEnd(width)}  ${OPTION_HELP[o].text}`)
}

export async function commandHelp (spec: CommandSpec, values: Values): Promise<string> {
  const lines = [`milagro ${spec.name} — ${spec.summary}`, '', `Usage: ${synopsis(spec)}`]
  if (spec.details !== undefined) lines.push('', spec.details)
  if (spec.options.length > 0) lines.push('', 'Options:', ...optionLines(spec.options))
  if (spec.section === 'client') {
    lines.push('', 'Client options (the node: --url, else http.listenAddr of $MILAGRO_HOME\'s config.yaml; docs/cli.md):', ...optionLines(CLIENT_OPTIONS))
  }
  const examples = [...spec.examples]
  if (spec.extension !== undefined) {
    const { plugins, source } = await pluginsFor(values)
    lines.push('', `Extension fields (--ext key=value) ${source}:`)
    for (const plugin of plugins) {
      lines.push(...extensionLines(plugin, spec.extension))
      const example = exampleExt(plugin.extensionFields[spec.extension])
      if (example !== '') examples.push(`${spec.examples[0]} ${example}${plugins.length > 1 ? `   # ${plugin.name}` : ''}`)
    }
  }
  lines.push('', 'Examples:', ...examples.map(e => `  ${e}`))
  return lines.join('\n')
}

function fieldLines (title: string, list: readonly ExtensionField[]): string[] {
  if (list.length === 0) return [`    ${title}: none`]
  const width = Math.max(...list.map(f => f.name.length + (f.required === true ? 11 : 0)))
  return [`    ${title}:`, ...list.map(f => `      ${`${f.name}${f.required === true ? ' (required)' : ''}`.padEnd(width)}  ${f.description}${f.example === undefined ? '' : ` (e.g. ${f.example})`}`)]
}

function extensionLines (plugin: Plugin, which: 'order' | 'secret'): string[] {
  const fields = plugin.extensionFields
  return [
    `  ${plugin.name}: ${plugin.description}`,
    ...fieldLines('request, --ext', fields[which]),
    ...fieldLines('answer, in extension', which === 'order' ? fields.orderAnswer : fields.secretAnswer),
  ]
}

function exampleExt (list: readonly ExtensionField[]): string {
  return list.filter(f => f.example !== undefined).map(f => `--ext ${shellWord(`${f.name}=${f.example}`)}`).join(' ')
}

/** The plugins whose fields to show, and a phrase saying why those. */
async function pluginsFor (values: Values): Promise<{ plugins: Plugin[], source: string }> {
  const { PLUGINS, createPlugin } = await import('../plugins/registry.ts')
  let url: string | undefined
  let configured: { service: string, file: string } | undefined
  if (values.url !== undefined) {
    try { url = checkUrl(values.url) } catch { url = undefined }
  } else {
    const home = await readHomeConfig()
    if (!('problem' in home)) {
      url = addressUrl(home.listenAddr)
      configured = { service: home.service, file: home.file }
    }
  }
  if (url !== undefined) {
    const status = await fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(1500) })
      .then(async r => await r.json() as Record<string, unknown>).catch(() => undefined)
    if (typeof status?.plugin === 'string' && Object.hasOwn(PLUGINS, status.plugin)) {
      return { plugins: [createPlugin(status.plugin)], source: `of plugin ${status.plugin}, the plugin of the node at ${url} (GET /v1/status)` }
    }
  }
  if (configured !== undefined && Object.hasOwn(PLUGINS, configured.service)) {
    return { plugins: [createPlugin(configured.service)], source: `of plugin ${configured.service} (plugins.service in ${configured.file}; the node did not answer)` }
  }
  return { plugins: Object.keys(PLUGINS).map(createPlugin), source: 'of each plugin (no node or home to ask which one it runs)' }
}

/** `milagro help order create` / `milagro order create --help` / `milagro order --help`. */
export async function help (words: string[], values: Values): Promise<string> {
  if (words.length === 0) return overview()
  const spec = findCommand(words.slice(0, 2).join(' ')) ?? findCommand(words[0])
  if (spec !== undefined) return await commandHelp(spec, values)
  if (GROUPS.includes(words[0])) return groupHelp(words[0])
  return overview()
}
