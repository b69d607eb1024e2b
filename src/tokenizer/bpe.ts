/**
 * The two functions of the lecture, get_stats and merge, and the fast merge loop that encoding uses.
 *
 * A pair of token ids is one number, `a·2^21 + b`, so it can be a Map key without building strings.
 */

/** Token ids must stay below this (2^21 ≈ 2.1 M; GPT-4o's vocabulary has 200 k). */
export const MAX_TOKEN_ID = 1 << 21;

/** Marks "no merge" in rank arrays: larger than any id. */
export const NO_MERGE = 2 ** 31;

export function pairKey(a: number, b: number): number {
  return a * MAX_TOKEN_ID + b;
}

export function pairOf(key: number): [number, number] {
  const b = key % MAX_TOKEN_ID;
  return [(key - b) / MAX_TOKEN_ID, b];
}

/**
 * get_stats: how many times each consecutive pair occurs, added to `counts`. A Map keeps insertion
 * order, so iterating it visits pairs in the order they were first seen, as a Python dict does.
 */
export function getStats(ids: readonly number[], counts = new Map<number, number>()): Map<number, number> {
  for (let i = 0; i + 1 < ids.length; i++) {
    const key = pairKey(ids[i]!, ids[i + 1]!);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** merge: replace every occurrence of `pair`, left to right, by the new token `idx`. */
export function merge(ids: readonly number[], pair: readonly [number, number], idx: number): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < ids.length) {
    if (i + 1 < ids.length && ids[i] === pair[0] && ids[i + 1] === pair[1]) {
      out.push(idx);
      i += 2;
    } else {
      out.push(ids[i]!);
      i += 1;
    }
  }
  return out;
}

/** The id that merging `a` then `b` makes, or NO_MERGE. The id is also the merge's rank. */
export type MergedId = (a: number, b: number) => number;

/**
 * Byte-pair merging of one chunk: repeatedly merge the adjacent pair with the lowest rank, the
 * leftmost one on ties, until no pair merges (tiktoken's byte_pair_merge).
 *
 * This also gives minbpe's encode, which merges every occurrence of the lowest pair at once: a
 * token made by a merge only ever merges again into a later (higher) id, so after merging the
 * leftmost occurrence the lowest rank is still the same pair's, at its next occurrence.
 *
 * Short chunks (almost all of them) use a plain scan; long ones a heap, so a 100 000-byte chunk
 * costs n·log n and not n².
 */
export function bytePairMerge(ids: number[], mergedId: MergedId, heapAbove = 64): number[] {
  if (ids.length < 2) return ids;
  return ids.length > heapAbove ? mergeWithHeap(ids, mergedId) : mergeByScan(ids, mergedId);
}

function mergeByScan(ids: number[], mergedId: MergedId): number[] {
  const ranks: number[] = new Array(ids.length - 1);
  for (let i = 0; i + 1 < ids.length; i++) ranks[i] = mergedId(ids[i]!, ids[i + 1]!);
  for (;;) {
    let best = NO_MERGE;
    let at = -1;
    for (let i = 0; i < ranks.length; i++) {
      if (ranks[i]! < best) {
        best = ranks[i]!;
        at = i;
      }
    }
    if (at < 0) return ids;
    ids[at] = best;
    ids.splice(at + 1, 1);
    ranks.splice(at, 1);
    if (at > 0) ranks[at - 1] = mergedId(ids[at - 1]!, best);
    if (at < ranks.length) ranks[at] = mergedId(best, ids[at + 1]!);
  }
}

// A heap entry is one number: rank·2^32 + position, so the smallest is the lowest rank, leftmost.
const POSITION_BASE = 2 ** 32;

function mergeWithHeap(ids: number[], mergedId: MergedId): number[] {
  const n = ids.length;
  const token = Int32Array.from(ids); // -1 once merged into its left neighbour
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const rankAt = new Float64Array(n); // the rank of the pair that starts here, now
  const heap = new MinHeap();
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
    rankAt[i] = i + 1 < n ? mergedId(ids[i]!, ids[i + 1]!) : NO_MERGE;
    if (rankAt[i]! !== NO_MERGE) heap.push(rankAt[i]! * POSITION_BASE + i);
  }
  while (heap.size > 0) {
    const entry = heap.pop();
    const rank = Math.floor(entry / POSITION_BASE);
    const at = entry - rank * POSITION_BASE;
    if (token[at] === -1 || rankAt[at] !== rank) continue; // stale: the pair here changed
    const right = next[at]!;
    token[at] = rank;
    token[right] = -1;
    rankAt[right] = NO_MERGE;
    next[at] = next[right]!;
    if (next[at] !== -1) prev[next[at]!] = at;
    const left = prev[at]!;
    if (left !== -1) {
      rankAt[left] = mergedId(token[left]!, rank);
      if (rankAt[left] !== NO_MERGE) heap.push(rankAt[left]! * POSITION_BASE + left);
    }
    rankAt[at] = next[at] !== -1 ? mergedId(rank, token[next[at]!]!) : NO_MERGE;
    if (rankAt[at] !== NO_MERGE) heap.push(rankAt[at]! * POSITION_BASE + at);
  }
  const out: number[] = [];
  for (let i = 0; i !== -1; i = next[i]!) out.push(token[i]!);
  return out;
}

/** A binary min-heap of numbers. */
export class MinHeap {
  private items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(x: number): void {
    const a = this.items;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= x) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = x;
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && a[child + 1]! < a[child]!) child++;
        if (a[child]! >= last) break;
        a[i] = a[child]!;
        i = child;
      }
      a[i] = last;
    }
    return top;
  }
}
