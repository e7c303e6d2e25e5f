/**
 * `npm run bench:log`: the transparency log alone (src/services/log/log.ts over the SQLite
 * adapter, a database file with its group commit, as a node runs it). Prints:
 *
 * - appends/s through the log service at concurrency 1, 16 and 256 — each append awaited until
 *   its leaf is durable and a signed checkpoint covers it; the service batches what waits, so the
 *   batch size (leaves per transaction, signature and fsync) is printed too, and the process's CPU
 *   time per append (the fsync's kernel time included);
 * - the time to make an inclusion proof for a document (by CID, against the newest checkpoint:
 *   what a fulfil answer carries) and a consistency proof between two random sizes, p50 and p99
 *   over 2000 proofs, at 10^4 and at 10^6 leaves — the log is filled to 10^6 with store appends
 *   of 4096 leaves, whose rate is printed as well;
 * - the database's size per leaf.
 *
 * Options (env): BENCH_LOG_MAX (largest size, default 1000000), BENCH_HOME_DIR (where the
 * database is made, default the OS temp folder). Asserts nothing.
 * @module
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { openSqliteState } from '../src/adapters/storage/sqlite/index.ts'
import { formatCheckpoint, originOf } from '../src/core/log/checkpoint.ts'
import { deriveLogSigner } from '../src/core/log/key.ts'
import { encodeLeaf } from '../src/core/log/leaf.ts'
import { noteVerifier, signNote } from '../src/core/log/note.ts'
import { openTransparencyLog } from '../src/services/log/log.ts'
import type { LogHead } from '../src/ports/log.ts'

const MAX = Number(process.env.BENCH_LOG_MAX ?? 1_000_000)
const NODE = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** A distinct CIDv0-shaped string per n (the log does not parse CIDs, only their shape). */
function cid (n: number): string {
  let s = ''
  for (let x = n, i = 0; i < 44; i++) { s += ALPHABET[x % 58]; x = Math.floor(x / 58) + (i === 0 ? 7 : 0) }
  return `Qm${s}`
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

async function main (): Promise<void> {
  const dir = mkdtempSync(path.join(process.env.BENCH_HOME_DIR ?? tmpdir(), 'dta-bench-log-'))
  const file = path.join(dir, 'state.sqlite')
  const state = await openSqliteState({ path: file })
  try {
    const signer = deriveLogSigner(new Uint8Array(32).fill(7))
    const verifier = noteVerifier(originOf(NODE), signer.publicKey)
    const store = state.transparency!.log
    const log = await openTransparencyLog({ store, signer, verifier, keyDocument: { cid: NODE, bytes: new Uint8Array(1) } })
    const sign = (head: LogHead): string => signNote(formatCheckpoint({ origin: verifier.name, ...head }), { name: verifier.name, publicKey: signer.publicKey, sign: signer.sign })
    let n = 0
    const leaf = (i: number) => ({ type: 'order-2' as const, cid: cid(i), signer: NODE })
    console.log(`D-TA transparency log benchmark: SQLite file (group commit), Node ${process.version}`)

    console.log('\nappends through the log service (each durable and checkpointed before it resolves)')
    console.log('concurrency  appends/s   leaves per commit   p50 ms   p99 ms   CPU µs/append (user+sys, fsync included)')
    for (const c of [1, 16, 256]) {
      const total = c === 1 ? 300 : c === 16 ? 3000 : 10000
      const cps: number[] = []
      const latencies: number[] = []
      let before = (await log.checkpoint()).size
      let commits = 0
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      let next = 0
      await Promise.all(Array.from({ length: c }, async () => {
        while (next < total) {
          next++
          const t = performance.now()
          await log.append(leaf(n++))
          latencies.push(performance.now() - t)
          const size = (await log.checkpoint()).size
          if (size !== before) { commits++; before = size }
        }
      }))
      const seconds = (performance.now() - t0) / 1000
      const cpu = process.cpuUsage(cpu0)
      cps.push(total / seconds)
      latencies.sort((a, b) => a - b)
      console.log(`${String(c).padStart(11)}  ${(total / seconds).toFixed(0).padStart(9)}   ${(total / Math.max(commits, 1)).toFixed(1).padStart(17)}   ${percentile(latencies, 0.5).toFixed(2).padStart(6)}  ${percentile(latencies, 0.99).toFixed(2).padStart(7)}   ${((cpu.user + cpu.system) / total).toFixed(0).padStart(8)}`)
    }

    async function proofs (at: number): Promise<void> {
      const size = (await log.checkpoint()).size
      const inclusion: number[] = []
      const consistency: number[] = []
      for (let i = 0; i < 2000; i++) {
        const target = cid(Math.floor(Math.random() * n))
        let t = performance.now()
        await log.proof(target)
        inclusion.push((performance.now() - t) * 1000)
        const first = 1 + Math.floor(Math.random() * (size - 1))
        t = performance.now()
        await log.consistency(first, size)
        consistency.push((performance.now() - t) * 1000)
      }
      inclusion.sort((a, b) => a - b)
      consistency.sort((a, b) => a - b)
      console.log(`${String(at).padStart(9)}  ${percentile(inclusion, 0.5).toFixed(0).padStart(15)}  ${percentile(inclusion, 0.99).toFixed(0).padStart(15)}  ${percentile(consistency, 0.5).toFixed(0).padStart(17)}  ${percentile(consistency, 0.99).toFixed(0).padStart(17)}`)
    }

    const fill = async (to: number): Promise<number> => {
      const t0 = performance.now()
      const from = n
      while (n < to) {
        const batch = Array.from({ length: Math.min(4096, to - n) }, () => { const l = leaf(n++); return { key: l.cid, data: encodeLeaf(l) } })
        await store.append(batch, sign)
      }
      return (to - from) / ((performance.now() - t0) / 1000)
    }
    console.log('\nproofs (µs), made from the stored nodes as a fulfil answer or GET /v1/log/proof/… makes them')
    console.log('   leaves  inclusion p50  inclusion p99  consistency p50  consistency p99')
    await fill(10_000)
    await proofs(10_000)
    let rate = 0
    if (MAX > 10_000) {
      rate = await fill(MAX)
      await proofs(MAX)
    }
    const bytes = statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0)
    console.log(`\nfilling to ${MAX}: ${rate.toFixed(0)} leaves/s in store appends of 4096; database ${(bytes / 1e6).toFixed(0)} MB, ${(bytes / n).toFixed(0)} bytes per leaf`)
  } finally {
    await state.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
