/** The wasm heap's allocator: blocks never overlap, training-shaped reuse stays cheap, merging avoids growth. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sizeClass, WasmHeap } from "../src/backend/wasm/memory.js";
import { Random } from "../src/random/index.js";

const PAGE = 65536;
const none = () => "";

function heap(pages: number): WasmHeap {
  return new WasmHeap(new WebAssembly.Memory({ initial: pages, maximum: 1024 }), 1024, 1024);
}

test("random allocs and frees: live blocks never overlap and stay inside the memory", () => {
  const h = heap(4);
  const g = new Random(7);
  const live: { ptr: number; capacity: number }[] = [];
  for (let i = 0; i < 5000; i++) {
    if (live.length > 0 && g.random() < 0.45) {
      const [b] = live.splice(g.randint(0, live.length), 1);
      h.free(b!.ptr, b!.capacity);
    } else {
      const bytes = g.random() < 0.9 ? g.randint(1, 5000) : g.randint(5000, 400_000);
      const b = h.alloc(bytes, false, none);
      assert.ok(b.capacity >= bytes && b.ptr % 64 === 0);
      assert.ok(b.ptr + b.capacity <= h.memoryBytes);
      live.push(b);
    }
  }
  const sorted = [...live].sort((a, b) => a.ptr - b.ptr);
  for (let i = 1; i < sorted.length; i++)
    assert.ok(sorted[i - 1]!.ptr + sorted[i - 1]!.capacity <= sorted[i]!.ptr, "overlapping blocks");
});

test("a training loop in a full memory reuses blocks without merging the free lists each step", () => {
  const h = heap(16);
  // A big dataset tensor came and went; then the memory filled up to the end.
  const big = h.alloc(8 * PAGE, false, none);
  h.free(big.ptr, big.capacity);
  const filler: number[] = [];
  while (h.reservedBytes + 64 <= h.memoryBytes) filler.push(h.alloc(64, false, none).ptr);
  const step = [128, 4000, 25_600, 800, 25_600, 128, 6400, 64_000, 192];
  const growths = h.growths;
  // Each step, one tensor outlives the step (the garbage collector frees it a step late), so a
  // size class misses at every step and takes a split of a bigger free block.
  let late: { ptr: number; capacity: number } | null = null;
  for (let i = 0; i < 300; i++) {
    const blocks = step.map((bytes) => h.alloc(bytes, true, none));
    if (late) h.free(late.ptr, late.capacity);
    late = blocks.pop()!;
    for (const b of blocks) h.free(b.ptr, b.capacity);
  }
  assert.equal(h.growths, growths, "the steps fit in the freed block");
  assert.ok(h.coalesces <= 3, `merged the free lists ${h.coalesces} times in 300 steps`);
});

test("neighbouring free blocks merge before the memory grows", () => {
  const h = heap(8);
  const quarter = sizeClass(PAGE);
  const blocks = Array.from({ length: 6 }, () => h.alloc(quarter, false, none));
  for (const b of blocks) h.free(b.ptr, b.capacity);
  const growths = h.growths;
  const whole = h.alloc(5 * quarter, true, none);
  assert.equal(h.growths, growths, "five freed neighbours serve a block five times their size");
  assert.ok(whole.ptr >= blocks[0]!.ptr);
  assert.equal(h.coalesces, 1);
});
