/** Reductions: sums accumulate in float64 whatever the dtype. */
import type { KernelArgs } from "../types.js";
import { contiguousStrides, dataOf, lanes, product, Rows } from "./strided.js";

export function reduce({ op, x, axes, out }: KernelArgs["reduce"]): void {
  const xs = dataOf(x);
  const o = dataOf(out);
  // Walk x in its own order; the accumulator index ignores the reduced axes (stride 0).
  const accStrides = contiguousStrides(out.shape);
  for (const a of axes) accStrides[a] = 0;
  const acc = new Float64Array(product(out.shape));
  const init = op === "max" ? -Infinity : op === "min" ? Infinity : op === "prod" ? 1 : 0;
  acc.fill(init);
  const it = new Rows(x.shape, [x.strides, accStrides], [x.offset, 0]);
  const [sx, sa] = it.steps as [number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [px, pa] = it.offsets as [number, number];
    const n = it.length;
    switch (op) {
      case "sum":
      case "mean":
        for (let j = 0; j < n; j++, px += sx, pa += sa) acc[pa]! += xs[px]!;
        break;
      case "prod":
        for (let j = 0; j < n; j++, px += sx, pa += sa) acc[pa]! *= xs[px]!;
        break;
      case "max":
        for (let j = 0; j < n; j++, px += sx, pa += sa) {
          const v = xs[px]!;
          if (v > acc[pa]! || Number.isNaN(v)) acc[pa] = v;
        }
        break;
      case "min":
        for (let j = 0; j < n; j++, px += sx, pa += sa) {
          const v = xs[px]!;
          if (v < acc[pa]! || Number.isNaN(v)) acc[pa] = v;
        }
        break;
    }
  }
  let count = 1;
  for (const a of axes) count *= x.shape[a]!;
  const scale = op === "mean" ? 1 / count : 1;
  for (let i = 0; i < acc.length; i++) o[out.offset + i] = op === "mean" ? acc[i]! * scale : acc[i]!;
}

/** First index of the max (min) along dim; NaN wins, as in PyTorch. */
export function argReduce({ op, x, dim, values, indices }: KernelArgs["argReduce"]): void {
  const xs = dataOf(x);
  const idx = dataOf(indices);
  const vals = values ? dataOf(values) : null;
  const it = lanes(x.shape, dim, [x]);
  const step = it.steps[0]!;
  const n = it.length;
  for (let r = 0; r < it.rows; r++, it.next()) {
    let p = it.offsets[0]!;
    let best = xs[p]!;
    let bestIndex = 0;
    for (let j = 1; j < n; j++) {
      p += step;
      const v = xs[p]!;
      if (Number.isNaN(best)) break;
      if ((op === "max" ? v > best : v < best) || Number.isNaN(v)) {
        best = v;
        bestIndex = j;
      }
    }
    idx[indices.offset + r] = bestIndex;
    if (vals) vals[values!.offset + r] = best;
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
