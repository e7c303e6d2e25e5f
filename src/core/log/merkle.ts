/**
 * The Merkle tree of the transparency log, RFC 9162 §2.1 (the same tree as RFC 6962): leaf hash
 * SHA-256(0x00 ‖ data), interior node SHA-256(0x01 ‖ left ‖ right), the empty tree's hash
 * SHA-256 of nothing. Pure functions, no I/O.
 *
 * How proofs are made without holding the tree: a store keeps the hash of every *complete*
 * subtree — node (level, index) covers leaves [index·2^level, (index+1)·2^level) — which is at
 * most 2n hashes for n leaves, each written once when its last leaf arrives and never changed
 * (`appendNodes`). Any subtree hash the RFC's recursion needs is then a small expression over
 * stored nodes (`Plan`): a complete subtree is one stored node, an incomplete one (only ever at
 * the right edge of the tree) folds its O(log n) complete parts. A proof is planned first
 * (`inclusionPlan`, `consistencyPlan`), the stored nodes it names are read in one batch
 * (`planNodes`), and the proof is then evaluated (`evaluate`): O(log n) reads per proof, one
 * round trip to the database.
 *
 * Verification (`verifyInclusion`, `verifyConsistency`) follows the bit-walking algorithms of
 * RFC 9162 §2.1.3.2 and §2.1.4.2 as written, independent of the code that makes proofs, so the
 * tests check one against the other (and against golang.org/x/mod/sumdb/tlog, test/interop/).
 * @module
 */
import { DtaError } from '../../errors.ts'
import { concatBytes, sha256 } from '../../crypto/hash.ts'

export const HASH_BYTES = 32
const LEAF_PREFIX = Uint8Array.of(0x00)
const NODE_PREFIX = Uint8Array.of(0x01)

/** The largest tree size this code handles: indexes stay exact as JavaScript numbers. */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER

/** RFC 9162: MTH({}) = SHA-256(). (golang.org/x/mod/sumdb/tlog uses 32 zero bytes instead.) */
export const EMPTY_TREE_HASH: Uint8Array = sha256(new Uint8Array(0))

export function leafHash (data: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_PREFIX, data))
}

export function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_PREFIX, left, right))
}

/** A stored node: the hash of the complete subtree of 2^level leaves starting at leaf index·2^level. */
export interface NodeId {
  readonly level: number
  readonly index: number
}

export interface StoredNode extends NodeId {
  readonly hash: Uint8Array
}

/** How to compute a subtree hash from stored nodes. */
export type Plan = { readonly node: NodeId } | { readonly left: Plan, readonly right: Plan }

export function nodeKey (n: NodeId): string {
  return `${n.level}/${n.index}`
}

function isPowerOfTwo (n: number): boolean {
  return n >= 1 && Number.isInteger(Math.log2(n)) && 2 ** Math.log2(n) === n
}

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

function checkSize (size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new DtaError('LOG_BAD_REQUEST', `${what} must be a non-negative integer`)
}

/** MTH(D[lo:hi]) as a plan (hi > lo). */
export function rangePlan (lo: number, hi: number): Plan {
  const n = hi - lo
  if (n < 1) throw new DtaError('INTERNAL', 'empty subtree range')
  if (isPowerOfTwo(n) && lo % n === 0) return { node: { level: Math.log2(n), index: lo / n } }
  const k = splitPoint(n)
  return { left: rangePlan(lo, lo + k), right: rangePlan(lo + k, hi) }
}

/** The root of a tree of `size` leaves as a plan; undefined for the empty tree (EMPTY_TREE_HASH). */
export function rootPlan (size: number): Plan | undefined {
  checkSize(size, 'tree size')
  return size === 0 ? undefined : rangePlan(0, size)
}

/** RFC 9162 §2.1.3.1 PATH(index, D[0:size]), bottom first. */
export function inclusionPlan (index: number, size: number): Plan[] {
  checkSize(size, 'tree size')
  checkSize(index, 'leaf index')
  if (index >= size) throw new DtaError('LOG_BAD_REQUEST', `leaf ${index} is not in a tree of ${size}`)
  const out: Plan[] = []
  const path = (lo: number, hi: number): void => {
    if (hi - lo === 1) return
    const k = splitPoint(hi - lo)
    if (index < lo + k) {
      path(lo, lo + k)
      out.push(rangePlan(lo + k, hi))
    } else {
      path(lo + k, hi)
      out.push(rangePlan(lo, lo + k))
    }
  }
  path(0, size)
  return out
}

/**
 * RFC 9162 §2.1.4.1 PROOF(first, D[0:second]); empty when first is 0 (every tree extends the
 * empty one) or equals second.
 */
export function consistencyPlan (first: number, second: number): Plan[] {
  checkSize(first, 'first tree size')
  checkSize(second, 'second tree size')
  if (first > second) throw new DtaError('LOG_BAD_REQUEST', `tree ${first} is larger than tree ${second}`)
  const out: Plan[] = []
  if (first === 0 || first === second) return out
  const subproof = (m: number, lo: number, hi: number, complete: boolean): void => {
    const n = hi - lo
    if (m === n) {
      if (!complete) out.push(rangePlan(lo, hi))
      return
    }
    const k = splitPoint(n)
    if (m <= k) {
      subproof(m, lo, lo + k, complete)
      out.push(rangePlan(lo + k, hi))
    } else {
      subproof(m - k, lo + k, hi, false)
      out.push(rangePlan(lo, lo + k))
    }
  }
  subproof(first, 0, second, true)
  return out
}

/** The stored nodes some plans read, each once. */
export function planNodes (plans: ReadonlyArray<Plan | undefined>): NodeId[] {
  const seen = new Map<string, NodeId>()
  const visit = (p: Plan): void => {
    if ('node' in p) seen.set(nodeKey(p.node), p.node)
    else { visit(p.left); visit(p.right) }
  }
  for (const p of plans) if (p !== undefined) visit(p)
  return [...seen.values()]
}

/** Computes a plan from the stored nodes read for it (keyed by `nodeKey`). */
export function evaluate (plan: Plan, hashes: ReadonlyMap<string, Uint8Array>): Uint8Array {
  if ('node' in plan) {
    const h = hashes.get(nodeKey(plan.node))
    if (h === undefined) throw new DtaError('LOG_STORE_CORRUPT', `node ${nodeKey(plan.node)} is missing`)
    return h
  }
  return nodeHash(evaluate(plan.left, hashes), evaluate(plan.right, hashes))
}

/** The complete subtrees a tree of `size` leaves ends with: the nodes a next append may combine. */
export function frontier (size: number): NodeId[] {
  checkSize(size, 'tree size')
  const out: NodeId[] = []
  let start = 0
  for (let level = Math.floor(Math.log2(Math.max(size, 1))); level >= 0; level--) {
    const width = 2 ** level
    if (start + width <= size) {
      out.push({ level, index: start / width })
      start += width
    }
  }
  return out
}

/**
 * Appending `leafHashes` to a tree of `size` leaves whose `frontier(size)` nodes are given: the
 * new stored nodes (every leaf, and every subtree completed by these leaves), in the order a
 * store writes them, and the new root.
 */
export function appendNodes (size: number, frontierNodes: readonly StoredNode[], leafHashes: readonly Uint8Array[]): { nodes: StoredNode[], root: Uint8Array } {
  checkSize(size, 'tree size')
  if (size + leafHashes.length > MAX_TREE_SIZE) throw new DtaError('LOG_BAD_REQUEST', 'the log is full')
  const known = new Map<string, Uint8Array>()
  for (const n of frontierNodes) known.set(nodeKey(n), n.hash)
  for (const n of frontier(size)) if (!known.has(nodeKey(n))) throw new DtaError('LOG_STORE_CORRUPT', `frontier node ${nodeKey(n)} is missing`)
  const nodes: StoredNode[] = []
  let n = size
  for (const h of leafHashes) {
    if (h.length !== HASH_BYTES) throw new DtaError('INTERNAL', 'a leaf hash is 32 bytes')
    let node: StoredNode = { level: 0, index: n, hash: h }
    nodes.push(node)
    known.set(nodeKey(node), h)
    // every subtree this leaf completes: while the node is a right child
    while (node.index % 2 === 1) {
      const left = known.get(nodeKey({ level: node.level, index: node.index - 1 }))
      if (left === undefined) throw new DtaError('LOG_STORE_CORRUPT', `node ${node.level}/${node.index - 1} is missing`)
      node = { level: node.level + 1, index: (node.index - 1) / 2, hash: nodeHash(left, node.hash) }
      nodes.push(node)
      known.set(nodeKey(node), node.hash)
    }
    n++
  }
  const plan = rootPlan(n)
  return { nodes, root: plan === undefined ? EMPTY_TREE_HASH : evaluate(plan, known) }
}

function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

/** RFC 9162 §2.1.3.2: does `proof` show the leaf with `leafHashValue` at `index` in the tree (`size`, `root`)? */
export function verifyInclusion (leafHashValue: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false
  if (proof.some(p => p.length !== HASH_BYTES)) return false
  let fn = index
  let sn = size - 1
  let r = leafHashValue
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) { fn = fn / 2; sn = Math.floor(sn / 2) }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && bytesEqual(r, root)
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show the tree (`first`, `firstRoot`) to be a prefix of the tree
 * (`second`, `secondRoot`)? first = second needs an empty proof and equal roots; first = 0 an
 * empty proof (and the empty tree's hash).
 */
export function verifyConsistency (first: number, second: number, firstRoot: Uint8Array, secondRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false
  if (proof.some(p => p.length !== HASH_BYTES)) return false
  if (first === second) return proof.length === 0 && bytesEqual(firstRoot, secondRoot)
  if (first === 0) return proof.length === 0 && bytesEqual(firstRoot, EMPTY_TREE_HASH)
  if (proof.length === 0) return false
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof]
  let fn = first - 1
  let sn = second - 1
  while (fn % 2 === 1) { fn = (fn - 1) / 2; sn = Math.floor(sn / 2) }
  let fr = path[0]!
  let sr = path[0]!
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) { fn = fn / 2; sn = Math.floor(sn / 2) }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return bytesEqual(fr, firstRoot) && bytesEqual(sr, secondRoot) && sn === 0
}

/** MTH of a list of leaf hashes, straight from the definition (for checks and small trees). */
export function rootOfLeafHashes (leafHashes: readonly Uint8Array[]): Uint8Array {
  const mth = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return leafHashes[lo]!
    const k = splitPoint(hi - lo)
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi))
  }
  return leafHashes.length === 0 ? EMPTY_TREE_HASH : mth(0, leafHashes.length)
}
