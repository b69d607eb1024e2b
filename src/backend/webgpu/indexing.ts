/** Gathers and scatters (as ../js/indexing.ts). */
import { product } from "../layout.js";
import type { KernelArgs, View } from "../types.js";
import type { Meta } from "./device.js";
import { type KernelContext, runMap } from "./dispatch.js";
import { fill, store } from "./elementwise.js";
import { wgslType } from "./wgsl.js";

// ---- indexing ----------------------------------------------------------------------------

export function withoutDim(strides: readonly number[], dim: number): number[] {
  const out = strides.slice();
  out[dim] = 0;
  return out;
}

export function indexAlong(index: View, rank: number, dim: number): number[] {
  const strides = new Array<number>(rank).fill(0);
  strides[dim] = index.strides[0]!;
  return strides;
}

/** out[p] = x[p without dim + index·stride]; an index out of range reads 0 (no exceptions on a GPU). */
export function gatherBody(x: View, out: View, dim: number): { body: string; scalars: Meta } {
  const to = wgslType(out.storage.dtype);
  const zero = to === "f32" ? "0.0" : to === "i32" ? "0" : "0u";
  const body = `  let i = b1[p1];
  if (i < 0 || i >= sci(0u)) { b2[p2] = ${zero}; return; }
  ${store(2, to, "b0[p0 + i * sci(1u)]", wgslType(x.storage.dtype)).replace("b2[p2] =", "b2[p2] =")}`;
  return { body, scalars: [x.shape[dim]!, x.strides[dim]!] };
}

export function indexSelect(ctx: KernelContext, { x, dim, index, out }: KernelArgs["indexSelect"]): void {
  const { body, scalars } = gatherBody(x, out, dim);
  runMap(
    ctx,
    out.shape,
    [
      { view: x, strides: withoutDim(x.strides, dim) },
      { view: index, strides: indexAlong(index, out.shape.length, dim) },
      { view: out, write: true },
    ],
    body,
    scalars,
  );
}

export function gather(ctx: KernelContext, { x, dim, index, out }: KernelArgs["gather"]): void {
  const { body, scalars } = gatherBody(x, out, dim);
  runMap(
    ctx,
    out.shape,
    [{ view: x, strides: withoutDim(x.strides, dim) }, { view: index }, { view: out, write: true }],
    body,
    scalars,
  );
}

/** Threads a scatter aims at: an embedding's gradient has few positions off the scatter dim. */
export const SCATTER_THREADS = 65536;

/**
 * out = 0, then out[.., index[j], ..] += src[.., j, ..]: one thread per position off `dim` and
 * range of out's rows along it, looping over `dim` in order and taking the indices in its range,
 * so sums are deterministic (the same order as the js kernel) and need no atomics. The ranges
 * give an embedding's backward (768 positions, 50,304 rows) tens of thousands of threads, not 768.
 */
export function scatterAlong(
  ctx: KernelContext,
  src: View,
  srcStrides: readonly number[],
  index: View,
  indexStrides: readonly number[],
  walk: readonly number[],
  dim: number,
  out: View,
): void {
  fill(ctx, { out, value: 0 });
  const shape = walk.slice();
  const n = shape[dim]!;
  shape[dim] = 1;
  const positions = product(shape);
  const rows = out.shape[dim]!;
  const range = Math.ceil(rows / Math.min(rows, Math.max(1, Math.ceil(SCATTER_THREADS / positions))));
  const chunks = Math.ceil(rows / range);
  // Chunk c (the outermost map dim) takes out rows [c·range, (c + 1)·range).
  const body = `  let lo = i32(idx / sc(5u)) * sci(6u);
  let hi = min(lo + sci(6u), sci(4u));
  for (var j = 0u; j < sc(0u); j++) {
    let i = b1[p1 + i32(j) * sci(2u)];
    if (i < lo || i >= hi) { continue; }
    let o = p2 + i * sci(3u);
    b2[o] = b2[o] + b0[p0 + i32(j) * sci(1u)];
  }`;
  runMap(
    ctx,
    [chunks, ...shape],
    [
      { view: src, strides: [0, ...withoutDim(srcStrides, dim)] },
      { view: index, strides: [0, ...withoutDim(indexStrides, dim)] },
      { view: out, write: true, strides: [0, ...withoutDim(out.strides, dim)] },
    ],
    body,
    [n, srcStrides[dim]!, indexStrides[dim]!, out.strides[dim]!, rows, positions, range],
  );
}

export function indexAdd(ctx: KernelContext, { src, dim, index, out }: KernelArgs["indexAdd"]): void {
  checkSameNumeric("indexAdd", src, out);
  scatterAlong(ctx, src, src.strides, index, indexAlong(index, src.shape.length, dim), src.shape, dim, out);
}

export function scatterAdd(ctx: KernelContext, { src, dim, index, out }: KernelArgs["scatterAdd"]): void {
  checkSameNumeric("scatterAdd", src, out);
  scatterAlong(ctx, src, src.strides, index, index.strides, index.shape, dim, out);
}

/** Sums in place need src and out of one numeric dtype (float32 or int32). */
export function checkSameNumeric(kernel: string, src: View, out: View): void {
  const d = out.storage.dtype;
  if (src.storage.dtype !== d || (d !== "float32" && d !== "int32")) {
    throw new Error(
      `webgpu ${kernel}: src and out must both be float32 or int32 (got ${src.storage.dtype}, ${d})`,
    );
  }
}

export function checkFloat(kernel: string, ...views: View[]): void {
  for (const v of views) {
    if (v.storage.dtype !== "float32") {
      throw new Error(`webgpu ${kernel}: float32 only (got ${v.storage.dtype})`);
    }
  }
}
