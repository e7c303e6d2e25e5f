/**
 * The log's Merkle tree (src/core/log/merkle.ts): RFC 6962's reference test leaves and proofs
 * (test/vectors/rfc6962-merkle.json), then every tree shape — all leaves and all pairs of sizes
 * up to 64 exhaustively, every size up to 3000 at its edges — with proofs made from stored
 * nodes, checked by the RFC 9162 verifiers, refused when any hash, index or size is changed, and
 * read in O(log n) stored nodes.
 * @module
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  appendNodes, consistencyPlan, EMPTY_TREE_HASH, evaluate, frontier, inclusionPlan, leafHash, nodeHash, nodeKey, planNodes,
  rootOfLeafHashes, rootPlan, verifyConsistency, verifyInclusion,
} from '../../../../src/core/log/merkle.ts'
import type { Plan, StoredNode } from '../../../../src/core/log/merkle.ts'
import vectors from '../../../vectors/rfc6962-merkle.json' with { type: 'json' }

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

/** A tree kept as a store keeps it: every complete-subtree node, appended with appendNodes. */
class MemoryTree {
  readonly nodes = new Map<string, Uint8Array>()
  readonly leafHashes: Uint8Array[] = []
  size = 0
  append (hashes: Uint8Array[]): Uint8Array {
    const front: StoredNode[] = frontier(this.size).map(n => ({ ...n, hash: this.nodes.get(nodeKey(n))! }))
    const { nodes, root } = appendNodes(this.size, front, hashes)
    for (const n of nodes) {
      assert.ok(!this.nodes.has(nodeKey(n)), `node ${nodeKey(n)} is written once`)
      this.nodes.set(nodeKey(n), n.hash)
    }
    this.leafHashes.push(...hashes)
    this.size += hashes.length
    return root
  }
  /** Evaluates plans, checking they read only stored nodes. */
  run (plans: Plan[]): Uint8Array[] {
    for (const n of planNodes(plans)) assert.ok(this.nodes.has(nodeKey(n)), `plan reads a stored node ${nodeKey(n)}`)
    return plans.map(p => evaluate(p, this.nodes))
  }
  root (size: number): Uint8Array {
    const p = rootPlan(size)
    return p === undefined ? EMPTY_TREE_HASH : this.run([p])[0]!
  }
}

function leafOf (i: number): Uint8Array {
  return leafHash(new TextEncoder().encode(`leaf ${i}`))
}

function tampered (proof: Uint8Array[], i: number): Uint8Array[] {
  return proof.map((p, j) => {
    if (j !== i) return p
    const q = new Uint8Array(p)
    q[i % 32]! ^= 1
    return q
  })
}

describe('RFC 6962 reference vectors', () => {
  const leaves = vectors.leaves.map(l => leafHash(unhex(l)))

  it('leaf and node hashing, the empty tree, and the roots of sizes 1..8', () => {
    assert.equal(hex(EMPTY_TREE_HASH), vectors.emptyRoot)
    assert.equal(hex(rootOfLeafHashes([])), vectors.emptyRoot)
    assert.equal(hex(nodeHash(leaves[0]!, leaves[1]!)), vectors.roots[1])
    const tree = new MemoryTree()
    for (let n = 1; n <= 8; n++) {
      assert.equal(hex(rootOfLeafHashes(leaves.slice(0, n))), vectors.roots[n - 1], `definition, size ${n}`)
      assert.equal(hex(tree.append([leaves[n - 1]!])), vectors.roots[n - 1], `appended, size ${n}`)
    }
    for (let n = 1; n <= 8; n++) assert.equal(hex(tree.root(n)), vectors.roots[n - 1], `root of ${n} from stored nodes`)
  })

  it('the published inclusion and consistency proofs, made and verified', () => {
    const tree = new MemoryTree()
    tree.append(leaves)
    for (const v of vectors.inclusion) {
      const proof = tree.run(inclusionPlan(v.index, v.size))
      assert.deepEqual(proof.map(hex), v.proof)
      assert.ok(verifyInclusion(leaves[v.index]!, v.index, v.size, proof, unhex(vectors.roots[v.size - 1]!)))
    }
    for (const v of vectors.consistency) {
      const proof = tree.run(consistencyPlan(v.first, v.second))
      assert.deepEqual(proof.map(hex), v.proof)
      assert.ok(verifyConsistency(v.first, v.second, unhex(vectors.roots[v.first - 1]!), unhex(vectors.roots[v.second - 1]!), proof))
    }
  })
})

describe('every tree shape', () => {
  const N = 3000
  const tree = new MemoryTree()
  // appended in uneven batches, as a store receives them
  for (let i = 0, b = 1; i < N; b = (b * 7 + 3) % 23 + 1) {
    const batch = Array.from({ length: Math.min(b, N - i) }, (_, k) => leafOf(i + k))
    tree.append(batch)
    i += batch.length
  }
  const roots: Uint8Array[] = [EMPTY_TREE_HASH]
  for (let n = 1; n <= N; n++) roots.push(tree.root(n))

  it('batched appends give the roots of the definition, and each node is written once', () => {
    for (const n of [1, 2, 3, 255, 256, 257, 1023, 1024, 1025, 2999, 3000]) {
      assert.deepEqual(roots[n], rootOfLeafHashes(tree.leafHashes.slice(0, n)), `size ${n}`)
    }
    assert.ok(tree.nodes.size < 2 * N, 'at most 2n stored nodes')
  })

  it('inclusion: every leaf of every tree up to 64, verified; any changed hash, index or size refused', () => {
    for (let n = 1; n <= 64; n++) {
      for (let i = 0; i < n; i++) {
        const proof = tree.run(inclusionPlan(i, n))
        const leaf = tree.leafHashes[i]!
        assert.ok(verifyInclusion(leaf, i, n, proof, roots[n]!), `leaf ${i} of ${n}`)
        for (let j = 0; j < proof.length; j++) assert.ok(!verifyInclusion(leaf, i, n, tampered(proof, j), roots[n]!), `tampered ${j}`)
        assert.ok(!verifyInclusion(tree.leafHashes[(i + 1) % n]!, i, n, proof, roots[n]!) || n === 1, 'another leaf')
        if (n > 1) assert.ok(!verifyInclusion(leaf, (i + 1) % n, n, proof, roots[n]!), 'another index')
        assert.ok(!verifyInclusion(leaf, i, n + 1, proof, roots[n + 1]!), 'another size')
        assert.ok(!verifyInclusion(leaf, i, n, [...proof, proof[0] ?? leaf], roots[n]!), 'a longer proof')
        if (proof.length > 0) assert.ok(!verifyInclusion(leaf, i, n, proof.slice(1), roots[n]!), 'a shorter proof')
      }
      assert.ok(!verifyInclusion(tree.leafHashes[0]!, n, n, [], roots[n]!), 'index past the tree')
    }
  })

  it('consistency: every pair of sizes up to 64, verified; any changed hash or size refused', () => {
    for (let n = 1; n <= 64; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = tree.run(consistencyPlan(m, n))
        assert.ok(verifyConsistency(m, n, roots[m]!, roots[n]!, proof), `${m} → ${n}`)
        for (let j = 0; j < proof.length; j++) assert.ok(!verifyConsistency(m, n, roots[m]!, roots[n]!, tampered(proof, j)), `${m} → ${n} tampered ${j}`)
        if (m > 0 && m < n) {
          assert.ok(!verifyConsistency(m, n, roots[m - 1]!, roots[n]!, proof), 'another first root')
          assert.ok(!verifyConsistency(m, n, roots[m]!, roots[n - 1]!, proof), 'another second root')
          assert.ok(!verifyConsistency(m, n + 1, roots[m]!, roots[n + 1]!, proof), 'another second size')
          assert.ok(!verifyConsistency(m, n, roots[m]!, roots[n]!, proof.slice(1)), 'a shorter proof')
        }
      }
      assert.ok(!verifyConsistency(n, n - 1, roots[n]!, roots[n - 1]!, []), 'a smaller second tree')
      if (n > 1) assert.ok(!verifyConsistency(n, n, roots[n]!, roots[n - 1]!, []), 'one size, two roots')
    }
  })

  it('every size up to 3000 at its edges, in O(log n) stored nodes', () => {
    for (let n = 1; n <= N; n++) {
      const log = Math.ceil(Math.log2(n))
      for (const i of new Set([0, 1 % n, Math.floor(n / 2), n - 2 < 0 ? 0 : n - 2, n - 1])) {
        const plans = inclusionPlan(i, n)
        assert.ok(planNodes(plans).length <= 2 * log + 1, `inclusion ${i}/${n} reads ${planNodes(plans).length} nodes`)
        assert.ok(verifyInclusion(tree.leafHashes[i]!, i, n, tree.run(plans), roots[n]!), `leaf ${i} of ${n}`)
      }
      for (const m of new Set([1, Math.floor(n / 2) || 1, n - 1 || 1, 2 ** Math.floor(Math.log2(n)) - 1 || 1])) {
        const plans = consistencyPlan(m, n)
        assert.ok(planNodes(plans).length <= 3 * log + 2, `consistency ${m}/${n} reads ${planNodes(plans).length} nodes`)
        assert.ok(verifyConsistency(m, n, roots[m]!, roots[n]!, tree.run(plans)), `${m} → ${n}`)
      }
    }
  })

  it('refuses impossible requests with LOG_BAD_REQUEST', () => {
    for (const f of [() => inclusionPlan(3, 3), () => inclusionPlan(-1, 3), () => consistencyPlan(4, 3), () => inclusionPlan(0.5, 3), () => rootPlan(-1)]) {
      assert.throws(f, { code: 'LOG_BAD_REQUEST' })
    }
  })

  it('an append whose frontier is missing or was altered is refused or gives another root', () => {
    assert.throws(() => appendNodes(3, [], [leafOf(3)]), { code: 'LOG_STORE_CORRUPT' })
    const front = frontier(5).map(n => ({ ...n, hash: tree.nodes.get(nodeKey(n))! }))
    assert.deepEqual(appendNodes(5, front, [tree.leafHashes[5]!]).root, roots[6])
    const altered = front.map((n, i) => i === 0 ? { ...n, hash: leafOf(999) } : n)
    assert.notDeepEqual(appendNodes(5, altered, [tree.leafHashes[5]!]).root, roots[6])
  })
})
