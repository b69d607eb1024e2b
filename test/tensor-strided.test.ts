/**
 * Fuzz the strided machinery: random views (permutes, stepped slices, expands, size-1 dims) read
 * through the copy, binary and reduce kernels must match element-by-element index arithmetic.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeDims, mergeDimsInto } from "../src/backend/layout.js";
import * as T from "../src/tensor/index.js";
import { Random, type Tensor } from "../src/tensor/index.js";
import { testBackends } from "./tensor-backends.js";

/** Logical element i (row-major) of t, read straight from its storage by strides. */
function naiveAt(t: Tensor, storage: ArrayLike<number>, i: number): number {
  let offset = t.offset;
  for (let d = t.ndim - 1; d >= 0; d--) {
    const size = t.shape[d]!;
    offset += (i % size) * t.strides[d]!;
    i = Math.floor(i / size);
  }
  return storage[offset]!;
}

async function naiveValues(t: Tensor): Promise<number[]> {
  const storage = await t.backend.read(t.storage.handle);
  return Array.from({ length: t.numel() }, (_, i) => naiveAt(t, storage, i));
}

/** A random view of a fresh random tensor. */
function randomView(g: Random, backend: string): Tensor {
  const ndim = g.randint(1, 5);
  const shape = Array.from({ length: ndim }, () => g.randint(1, 6));
  let t = T.randn(shape, { backend, generator: g });
  const order = g.shuffle(shape.map((_, i) => i));
  t = t.permute(order);
  for (let d = 0; d < t.ndim; d++) {
    const size = t.shape[d]!;
    if (size > 1 && g.random() < 0.5) {
      const start = g.randint(0, size);
      t = t.slice(d, start, null, g.randint(1, 3));
    }
  }
  if (g.random() < 0.3) t = t.unsqueeze(g.randint(0, t.ndim + 1));
  if (g.random() < 0.3) {
    const ones = t.shape.flatMap((s, d) => (s === 1 ? [d] : []));
    if (ones.length > 0) {
      const target = [...t.shape];
      target[ones[g.randint(0, ones.length)]!] = g.randint(2, 4);
      t = t.expand(target);
    }
  }
  return t;
}

for (const backend of testBackends("all")) {
  test(`${backend}: 300 random views read, combined and reduced like index arithmetic says`, async () => {
    const g = new Random(2024);
    for (let trial = 0; trial < 300; trial++) {
      const r = T.tidy(() => {
        const a = randomView(g, backend);
        // b: another random view broadcast against a (same shape, permuted strides).
        const b = T.randn([...a.shape].reverse(), { backend, generator: g }).permute(
          a.shape.map((_, i) => a.ndim - 1 - i),
        );
        const dim = g.randint(0, a.ndim);
        return { a, b, dim, copy: a.contiguous(), sum: T.add(a, b), reduced: T.sum(a, dim, true) };
      });
      const { a, dim } = r;
      const expected = await naiveValues(a);
      assert.deepEqual(
        [...(await r.copy.data())],
        [...Float32Array.from(expected)],
        `copy of ${a.shape}/${a.strides}`,
      );

      const bValues = await naiveValues(r.b);
      const sum = await r.sum.data();
      expected.forEach((v, i) => {
        assert.equal(sum[i], Math.fround(v + bValues[i]!), `add at ${i}`);
      });

      const reduced = await r.reduced.data();
      const strides = a.shape.map((_, d) => a.shape.slice(d + 1).reduce((p, s) => p * s, 1));
      const sums = new Float64Array(reduced.length);
      expected.forEach((v, i) => {
        let outIndex = 0;
        let outStride = 1;
        for (let d = a.ndim - 1; d >= 0; d--) {
          const idx = Math.floor(i / strides[d]!) % a.shape[d]!;
          if (d !== dim) outIndex += idx * outStride;
          outStride *= d === dim ? 1 : a.shape[d]!;
        }
        sums[outIndex]! += v;
      });
      sums.forEach((s, i) => {
        assert.ok(
          Math.abs(reduced[i]! - s) <= 1e-5 * (1 + Math.abs(s)),
          `sum over dim ${dim} at ${i}: ${reduced[i]} vs ${s}`,
        );
      });
      for (const t of [r.a, r.b, r.copy, r.sum, r.reduced]) t.dispose();
    }
  });
}

test("mergeDims: size-1 dims dropped, dims merged where every operand steps over them as one; mergeDimsInto writes the same in place and stops at maxDims", () => {
  // A contiguous [2, 3, 4] with a broadcast bias [1, 1, 4]: the first two dims merge for both.
  assert.deepEqual(
    mergeDims(
      [2, 3, 4],
      [
        [12, 4, 1],
        [0, 0, 1],
      ],
    ),
    {
      shape: [6, 4],
      strides: [
        [4, 1],
        [0, 1],
      ],
    },
  );
  // A transposed operand keeps the dims apart; size-1 dims vanish whatever their stride.
  assert.deepEqual(
    mergeDims(
      [2, 1, 3],
      [
        [3, 99, 1],
        [1, 99, 2],
      ],
    ),
    {
      shape: [2, 3],
      strides: [
        [3, 1],
        [1, 2],
      ],
    },
  );
  assert.deepEqual(mergeDims([1, 1], [[1, 1]]), { shape: [], strides: [[]] });
  // In place, as the wasm backend fills its argument block: sizes at 2.., strides at 10 + d·4 + q.
  const block = new Int32Array(32).fill(-7);
  const layout = { shapeAt: 2, stridesAt: 10, operandStride: 4 };
  assert.equal(
    mergeDimsInto(block, layout, [2, 3, 4, 5], 3, [
      [60, 20, 5, 1],
      [0, 0, 5, 1],
    ]),
    2,
  );
  assert.deepEqual([...block.subarray(2, 4)], [6, 4]);
  assert.deepEqual([...block.subarray(10, 12)], [20, 0]);
  assert.deepEqual([...block.subarray(14, 16)], [5, 5]);
  assert.equal(block[4], -7, "nothing written past the merged dims");
  // Three dims that cannot merge, room for two: maxDims + 1, and nothing written past the room.
  const small = new Int32Array(16).fill(-7);
  const room = { shapeAt: 0, stridesAt: 4, operandStride: 1, maxDims: 2 };
  assert.equal(mergeDimsInto(small, room, [2, 3, 4], 3, [[1, 2, 6 * 5]]), 3);
  assert.equal(small[2], -7);
  assert.equal(small[6], -7);
});
