/** Reductions: accumulators are float64 whatever the dtype; the per-op loops are reduce-ops.ts (generated). */
import type { KernelArgs } from "../types.js";
import { argReduceLane, reduceFinish, reduceInit, reduceRow } from "./reduce-ops.js";
import { contiguousStrides, dataOf, lanes, product, Rows } from "./strided.js";

export function reduce({ op, x, axes, out }: KernelArgs["reduce"]): void {
  const xs = dataOf(x);
  // Walk x in its own order; the accumulator index ignores the reduced axes (stride 0).
  const accStrides = contiguousStrides(out.shape);
  for (const a of axes) accStrides[a] = 0;
  const acc = new Float64Array(product(out.shape));
  acc.fill(reduceInit(op));
  const it = new Rows(x.shape, [x.strides, accStrides], [x.offset, 0]);
  const [sx, sa] = it.steps as [number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    const [px, pa] = it.offsets as [number, number];
    reduceRow(op, xs, px, sx, acc, pa, sa, it.length);
  }
  let count = 1;
  for (const a of axes) count *= x.shape[a]!;
  reduceFinish(op, acc, dataOf(out), out.offset, count);
}

/** The winner along dim (argReduceLane, reduce-ops.ts): its index, and its value when asked. */
export function argReduce({ op, x, dim, values, indices }: KernelArgs["argReduce"]): void {
  const xs = dataOf(x);
  const idx = dataOf(indices);
  const vals = values ? dataOf(values) : null;
  const it = lanes(x.shape, dim, [x]);
  const step = it.steps[0]!;
  const n = it.length;
  for (let r = 0; r < it.rows; r++, it.next()) {
    const p = it.offsets[0]!;
    const best = argReduceLane(op, xs, p, step, n);
    idx[indices.offset + r] = best;
    if (vals) vals[values!.offset + r] = xs[p + best * step]!;
  }
}

export function topk({ x, k, dim, largest, values, indices }: KernelArgs["topk"]): void {
  const xs = dataOf(x);
  const vals = dataOf(values);
  const idx = dataOf(indices);
  const n = x.shape[dim]!;
  const it = lanes(x.shape, dim, [x, values, indices]);
  const sx = it.steps[0]!;
  const sv = values.strides[dim]!;
  const si = indices.strides[dim]!;
  const order = Array.from({ length: n }, (_, i) => i);
  const lane = new Float64Array(n);
  for (let r = 0; r < it.rows; r++, it.next()) {
    const [px, pv, pi] = it.offsets as [number, number, number];
    for (let j = 0; j < n; j++) {
      lane[j] = xs[px + j * sx]!;
      order[j] = j;
    }
    // Stable sort, so equal values keep index order.
    order.sort((a, b) => (largest ? lane[b]! - lane[a]! : lane[a]! - lane[b]!) || a - b);
    for (let j = 0; j < k; j++) {
      vals[pv + j * sv] = lane[order[j]!]!;
      idx[pi + j * si] = order[j]!;
    }
  }
}
