/**
 * The home lock: one milagro process at a time works on a home folder — the daemon for as long as
 * it runs, `init` while it builds the home, `custody migrate` while it re-seals — since two would
 * share the IPFS peer id and the SQLite file, and a migration under a running node would leave it
 * on the old key.
 *
 * The lock is the file `milagro.lock` in the home, one JSON line: `pid`, `command`, `since`, and on
 * Linux `procStart` (the process's start time from /proc/<pid>/stat, so that a pid the kernel has
 * since given to another process is not mistaken for the holder). It is created whole and never
 * replaced (`writeSecretFile` exclusive: a synced temporary file hard-linked into place, the
 * O_EXCL of a file that appears with its content), so a reader never sees half a lock.
 *
 * A lock whose process is gone (SIGKILL, a crash, a power cut) is stale: it is taken over and the
 * caller is told (`replaced`) so it can say so. Processes racing to take it over do it one at a
 * time, inside a short critical section guarded by a second exclusive file, `milagro.lock.takeover`
 * (its holder's pid in it): the holder re-reads the lock, removes it only if it is still the record
 * judged stale, and then competes for the exclusive create like everyone else — so the lock file is
 * only ever removed by one process, after it checked the content, and created exclusively, and
 * exactly one process wins (a test races eight, three times). A takeover file whose process is
 * gone is removed; the one gap left needs a process to die inside the critical section while two
 * others judge its takeover file stale at the same moment. A lock file that cannot be read as one
 * is never taken over: the message names the file to delete.
 *
 * `release()` removes the file only if it is still this process's lock; an 'exit' hook does the
 * same when the process ends without releasing (process.exit on a signal or a timeout). The OS
 * keeps no lock for us, so SIGKILL always leaves a stale file behind.
 * @module
 */
import { readFileSync, unlinkSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { DtaError } from '../errors.ts'
import { writeSecretFile } from './secret-file.ts'

export const LOCK_FILE = 'milagro.lock'
const ATTEMPTS = 40
/** How long a process waits before looking again while another takes a stale lock over. */
const TAKEOVER_PAUSE_MS = 25

interface LockRecord {
  pid: number
  command: string
  since: string
  procStart?: string
}

export interface HomeLock {
  /** The lock file. */
  readonly file: string
  /** The stale lock this one took over (its process was gone), for the caller to report. */
  readonly replaced: { pid: number, command: string, since: string } | undefined
  /** Removes the lock file if it is still this lock. Idempotent. */
  release (): Promise<void>
}

/** Lock files this process holds: a second lock of the same home in one process is refused too. */
const held = new Map<string, LockRecord>()

function errnoOf (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** The start time of a process (clock ticks after boot) on Linux; undefined elsewhere or if it is gone. */
function procStart (pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; starttime is field 22
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

function parse (text: string): LockRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<LockRecord>
    if (!Number.isSafeInteger(r.pid) || (r.pid as number) <= 0) return undefined
    return { pid: r.pid as number, command: String(r.command ?? 'milagro'), since: String(r.since ?? 'an unknown time'), procStart: typeof r.procStart === 'string' ? r.procStart : undefined }
  } catch {
    return undefined
  }
}

/** The lock in `file`: a record, 'gone' if there is no file, 'unreadable' if it is not a lock. */
async function readLock (file: string): Promise<LockRecord | 'gone' | 'unreadable'> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    return errnoOf(err) === 'ENOENT' ? 'gone' : 'unreadable'
  }
  return parse(text) ?? 'unreadable'
}

/** Whether the process that wrote `lock` still runs. */
function isRunning (lock: LockRecord): boolean {
  // our own pid in a lock this process does not hold: an earlier process given the same pid (pid 1 in a container)
  if (lock.pid === process.pid) return false
  try {
    process.kill(lock.pid, 0)
  } catch (err) {
    if (errnoOf(err) === 'ESRCH') return false // EPERM: it exists, under another user
  }
  const start = lock.procStart === undefined ? undefined : procStart(lock.pid)
  return start === undefined || start === lock.procStart
}

function same (a: LockRecord, b: LockRecord): boolean {
  return a.pid === b.pid && a.since === b.since && a.procStart === b.procStart
}

function lockedBy (file: string, lock: LockRecord): DtaError {
  return new DtaError('HOME_LOCKED',
    `already running (pid ${lock.pid}): ${lock.command}, since ${lock.since}, holds ${file}; stop it first — or, if no milagro process has pid ${lock.pid}, delete that file`)
}

/**
 * Locks `home` (which must exist) for `command` (e.g. 'milagro daemon'), taking over a stale lock.
 * HOME_LOCKED when another process holds it ("already running (pid N)"), HOME_UNUSABLE when the
 * lock file cannot be created.
 */
export async function lockHome (home: string, command: string): Promise<HomeLock> {
  const file = join(resolve(home), LOCK_FILE)
  const mine = held.get(file)
  if (mine !== undefined) throw lockedBy(file, mine)
  const record: LockRecord = { pid: process.pid, command, since: new Date().toISOString(), procStart: procStart(process.pid) }
  let replaced: HomeLock['replaced']
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      await writeSecretFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600, exclusive: true })
      return hold(file, record, replaced)
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw new DtaError('HOME_UNUSABLE', `cannot create ${file} (${errnoOf(err) ?? 'error'})`, { cause: err })
    }
    const other = await readLock(file)
    if (other === 'gone') continue
    if (other === 'unreadable') throw new DtaError('HOME_LOCKED', `${file} is not a milagro lock file; delete it if no milagro process uses ${home}`)
    if (isRunning(other)) throw lockedBy(file, other)
    // Stale: take it over inside the critical section, one process at a time.
    const section = await enterTakeover(file)
    if (section === undefined) continue // another process is taking it over: look again
    try {
      const still = await readLock(file)
      if (typeof still === 'object' && same(still, other)) {
        await rm(file, { force: true })
        replaced = { pid: other.pid, command: other.command, since: other.since }
      }
    } finally {
      await section.leave()
    }
  }
  throw new DtaError('HOME_LOCKED', `${file} kept changing while this process tried to take it; is another milagro starting?`)
}

/**
 * Enters the takeover critical section of `file`, or answers undefined (after a short pause) when
 * another live process is in it. A takeover file left by a process that is gone is removed.
 */
async function enterTakeover (file: string): Promise<{ leave: () => Promise<void> } | undefined> {
  const guard = `${file}.takeover`
  const me = { pid: process.pid, command: 'takeover', since: new Date().toISOString(), procStart: procStart(process.pid) }
  try {
    await writeSecretFile(guard, `${JSON.stringify(me)}\n`, { mode: 0o600, exclusive: true })
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw new DtaError('HOME_UNUSABLE', `cannot create ${guard} (${errnoOf(err) ?? 'error'})`, { cause: err })
    const holder = await readLock(guard)
    if (typeof holder === 'object' && !isRunning(holder)) await rm(guard, { force: true })
    await new Promise(resolve => setTimeout(resolve, TAKEOVER_PAUSE_MS))
    return undefined
  }
  return {
    async leave () {
      const current = await readLock(guard)
      if (typeof current === 'object' && same(current, me)) await rm(guard, { force: true })
    },
  }
}

function hold (file: string, record: LockRecord, replaced: HomeLock['replaced']): HomeLock {
  held.set(file, record)
  const stillMine = (text: string): boolean => {
    const current = parse(text)
    return current !== undefined && same(current, record)
  }
  const onExit = (): void => {
    try {
      if (stillMine(readFileSync(file, 'utf8'))) unlinkSync(file)
    } catch { /* gone already */ }
  }
  process.once('exit', onExit)
  let released = false
  return {
    file,
    replaced,
    async release () {
      if (released) return
      released = true
      process.off('exit', onExit)
      held.delete(file)
      try {
        if (stillMine(await readFile(file, 'utf8'))) await rm(file, { force: true })
      } catch { /* gone already */ }
    },
  }
}
