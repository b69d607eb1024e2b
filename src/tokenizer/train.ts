/**
 * BPE training, fast: the lecture's loop (count pairs, merge the most frequent, repeat) without the
 * full recount per merge. Pair counts are updated where a merge changes the sequence, and a priority
 * queue gives the most frequent pair.
 *
 * Ties go to the pair seen first in the current sequence, as in minbpe (a Python dict keeps insertion
 * order and max() returns the first maximum). Each pair keeps the positions of its occurrences, so
 * its first position is known; the queue orders by (count desc, first position asc).
 *
 * Chunks: the Regex tokenizer trains on the regex pieces of the text. Equal pieces stay equal under
 * every merge, so each distinct piece is stored once, with its number of occurrences as a weight,
 * in order of first appearance (which keeps "first seen" the same).
 */

import { TokenizerError, type TrainOptions } from "./base.js";
import { renderToken } from "./utf8.js";

export interface MergeEvent {
  /** 0-based index of this merge. */
  index: number;
  total: number;
  pair: [number, number];
  /** The new token's id (256 + index). */
  id: number;
  /** Occurrences of the pair when it was merged. */
  count: number;
}

interface PairStats {
  key: number;
  count: number;
  /** Where the pair may occur (position of its left token); stale entries are dropped lazily. */
  positions: number[];
  /** A lower bound of the first position; exact whenever it is at the front of the queue. */
  first: number;
  /** Changed since the queue last heard of it. */
  touched: boolean;
}

interface QueueEntry {
  count: number;
  first: number;
  key: number;
}

/**
 * Learns `numMerges` merges from distinct chunks (byte arrays) with their occurrence counts.
 * Returns the merges in order; merge i makes token 256 + i. Stops early when no pair is left.
 */
export function learnMerges(
  chunks: readonly Uint8Array[],
  weights: readonly number[],
  numMerges: number,
  onMerge?: (event: MergeEvent) => void,
): [number, number][] {
  let total = 0;
  for (const c of chunks) total += c.length;
  const token = new Int32Array(total); // -1 once merged into its left neighbour
  const next = new Int32Array(total);
  const prev = new Int32Array(total);
  const weight = new Float64Array(total);
  let offset = 0;
  chunks.forEach((chunk, c) => {
    for (let i = 0; i < chunk.length; i++) {
      const p = offset + i;
      token[p] = chunk[i]!;
      next[p] = i + 1 < chunk.length ? p + 1 : -1;
      prev[p] = i > 0 ? p - 1 : -1;
      weight[p] = weights[c]!;
    }
    offset += chunk.length;
  });

  // Pair keys a·stride + b stay below 2^30 for vocabularies up to 32 768: small integers, which V8
  // hashes and stores without allocating (pairKey's a·2^21 + b would be a heap number).
  const stride = 256 + numMerges;
  const pairKey = (a: number, b: number) => a * stride + b;
  const pairOf = (key: number): [number, number] => [Math.floor(key / stride), key % stride];
  const pairs = new Map<number, PairStats>();
  const queue = new EntryHeap();
  const touched: PairStats[] = [];

  const touch = (s: PairStats) => {
    if (s.touched) return;
    s.touched = true;
    touched.push(s);
  };
  const add = (key: number, position: number, w: number) => {
    let s = pairs.get(key);
    if (!s) {
      s = { key, count: 0, positions: [], first: position, touched: false };
      pairs.set(key, s);
    }
    s.count += w;
    s.positions.push(position);
    if (position < s.first) s.first = position;
    touch(s);
  };
  const remove = (key: number, w: number) => {
    const s = pairs.get(key)!;
    s.count -= w;
    touch(s);
  };
  const occursAt = (p: number, a: number, b: number) =>
    token[p] === a && next[p] !== -1 && token[next[p]!] === b;
  /** Tells the queue about every pair whose count or first position changed (once per merge). */
  const flushTouched = () => {
    for (const s of touched) {
      s.touched = false;
      if (s.count === 0) pairs.delete(s.key);
      else queue.push({ count: s.count, first: s.first, key: s.key });
    }
    touched.length = 0;
  };
  /** Keeps only the positions where the pair still occurs; returns the first of them. */
  const compact = (key: number, s: PairStats) => {
    const [a, b] = pairOf(key);
    let first = Number.POSITIVE_INFINITY;
    let kept = 0;
    for (const p of s.positions) {
      if (!occursAt(p, a, b)) continue;
      s.positions[kept++] = p;
      if (p < first) first = p;
    }
    s.positions.length = kept;
    return first;
  };

  for (let p = 0; p < total; p++)
    if (next[p] !== -1) add(pairKey(token[p]!, token[next[p]!]!), p, weight[p]!);
  flushTouched();

  const merges: [number, number][] = [];
  while (merges.length < numMerges) {
    // The most frequent pair, first seen on ties; entries whose pair changed since are skipped.
    let chosen: number | undefined;
    while (queue.size > 0) {
      const e = queue.pop();
      const s = pairs.get(e.key);
      if (!s || s.count !== e.count || s.first !== e.first) continue;
      const first = compact(e.key, s);
      if (first !== s.first) {
        s.first = first;
        queue.push({ count: s.count, first, key: e.key });
        continue;
      }
      chosen = e.key;
      break;
    }
    if (chosen === undefined) break;
    const [a, b] = pairOf(chosen);
    const id = 256 + merges.length;
    const count = pairs.get(chosen)!.count;
    const positions = Int32Array.from(pairs.get(chosen)!.positions).sort(); // typed: a numeric sort
    // Left to right, as merge() does: an overlapping occurrence ("aaa") is gone once its left is taken.
    for (const p of positions) {
      if (!occursAt(p, a, b)) continue;
      const q = next[p]!;
      const w = weight[p]!;
      const left = prev[p]!;
      const right = next[q]!;
      if (left !== -1) remove(pairKey(token[left]!, a), w);
      if (right !== -1) remove(pairKey(b, token[right]!), w);
      remove(chosen, w);
      token[p] = id;
      token[q] = -1;
      next[p] = right;
      if (right !== -1) prev[right] = p;
      if (left !== -1) add(pairKey(token[left]!, id), left, w);
      if (right !== -1) add(pairKey(id, token[right]!), p, w);
    }
    flushTouched();
    merges.push([a, b]);
    onMerge?.({ index: merges.length - 1, total: numMerges, pair: [a, b], id, count });
  }
  return merges;
}

/** Max-heap on count, then min-heap on first position. */
class EntryHeap {
  private items: QueueEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  private static before(x: QueueEntry, y: QueueEntry): boolean {
    return x.count > y.count || (x.count === y.count && x.first < y.first);
  }

  push(x: QueueEntry): void {
    const a = this.items;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!EntryHeap.before(x, a[parent]!)) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = x;
  }

  pop(): QueueEntry {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && EntryHeap.before(a[child + 1]!, a[child]!)) child++;
        if (!EntryHeap.before(a[child]!, last)) break;
        a[i] = a[child]!;
        i = child;
      }
      a[i] = last;
    }
    return top;
  }
}

export function mergesFor(vocabSize: number): number {
  if (!Number.isInteger(vocabSize) || vocabSize < 256)
    throw new TokenizerError(`vocab size must be an integer of at least 256 (the bytes), got ${vocabSize}`);
  return vocabSize - 256;
}

/** Numbers the merges and says so when the text ran out of pairs first. */
export function completeMerges(merges: [number, number][], wanted: number): [number, number, number][] {
  if (merges.length < wanted)
    throw new TokenizerError(
      `the text has no pairs left to merge after ${merges.length} merges (asked for ${wanted}); use a smaller vocab or more text`,
    );
  return merges.map(([a, b], i) => [a, b, 256 + i]);
}

/** minbpe's verbose line, "merge i/n: (a, b) -> id (token) had count occurrences", and the callback. */
export function reporter(options: TrainOptions): ((e: MergeEvent) => void) | undefined {
  if (!options.verbose && !options.onMerge) return undefined;
  // Token bytes during training, to print them; the tokenizer's vocab is rebuilt at the end.
  const bytes: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  return (e) => {
    const [a, b] = e.pair;
    const made = new Uint8Array(bytes[a]!.length + bytes[b]!.length);
    made.set(bytes[a]!);
    made.set(bytes[b]!, bytes[a]!.length);
    bytes[e.id] = made;
    if (options.verbose)
      console.log(
        `merge ${e.index + 1}/${e.total}: (${a}, ${b}) -> ${e.id} (${renderToken(made)}) had ${e.count} occurrences`,
      );
    options.onMerge?.(e);
  };
}
