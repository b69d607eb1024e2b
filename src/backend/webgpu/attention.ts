/** Attention, fused from the kernels above (as ../js/attention.ts). */
import { contiguousStrides, product } from "../layout.js";
import type { OptionalKernelArgs, View } from "../types.js";
import { type KernelContext, runLanes } from "./dispatch.js";
import { matmul } from "./matmul.js";
import { laneSplit } from "./reduce.js";

// ---- attention (fused from the kernels above, with temporaries freed after the batch) -----

export function attention(ctx: KernelContext, a: OptionalKernelArgs["attention"]): void {
  const { q, k, v, scale, causal, out, weights } = a;
  const nd = q.shape.length;
  const T = q.shape[nd - 2]!;
  const Tk = k.shape[nd - 2]!;
  const kT: View = { ...k, shape: swapLast(k.shape), strides: swapLast(k.strides) };
  matmul(ctx, { a: q, b: kT, out: weights });
  // Scale, mask and softmax in place over the weights' last dim.
  const ws = laneSplit(weights, nd - 1);
  const body = `  let pw = outer(0u, lane);
  let row = i32(lane % sc(0u));
  let limit = select(i32(n), row + sci(1u) + 1, ${causal});
  var m = neg_inf();
  for (var j = lid; j < n; j += WG) { if (i32(j) < limit) { m = max_(m, b0[pw + inner(0u, j)] * scf(2u)); } }
  m = wmax(m, lid);
  if (m == neg_inf()) { m = 0.0; }
  var s = 0.0;
  for (var j = lid; j < n; j += WG) { if (i32(j) < limit) { s += exp(b0[pw + inner(0u, j)] * scf(2u) - m); } }
  s = wsum(s, lid);
  for (var j = lid; j < n; j += WG) {
    let e = select(0.0, exp(b0[pw + inner(0u, j)] * scf(2u) - m) / s, i32(j) < limit);
    b0[pw + inner(0u, j)] = e;
  }`;
  runLanes(
    ctx,
    ws.outer,
    ws.inner,
    [{ view: weights, write: true, outer: ws.outerStrides, inner: ws.innerStrides }],
    body,
    [T, Tk - T, { f32: scale }],
  );
  matmul(ctx, { a: weights, b: v, out });
}

export function swapLast(values: readonly number[]): number[] {
  const out = values.slice();
  const n = out.length;
  [out[n - 2], out[n - 1]] = [out[n - 1]!, out[n - 2]!];
  return out;
}

export function contiguousTemp(ctx: KernelContext, shape: readonly number[]): View {
  const storage = ctx.alloc("float32", product(shape));
  return { storage, shape, strides: contiguousStrides(shape), offset: 0 };
}

export function transposed(view: View): View {
  return { ...view, shape: swapLast(view.shape), strides: swapLast(view.strides) };
}

export function attentionBackward(ctx: KernelContext, a: OptionalKernelArgs["attentionBackward"]): void {
  const { q, k, v, weights, g, scale, dq, dk, dv } = a;
  const nd = q.shape.length;
  matmul(ctx, { a: transposed(weights), b: g, out: dv });
  const dP = contiguousTemp(ctx, weights.shape);
  matmul(ctx, { a: g, b: transposed(v), out: dP });
  // dS = scale · P ⊙ (dP − rowsum(P ⊙ dP)), in place in dP.
  const ps = laneSplit(weights, nd - 1);
  const ds = laneSplit(dP, nd - 1);
  const body = `  let pp = outer(0u, lane);
  let pd = outer(1u, lane);
  var dot = 0.0;
  for (var j = lid; j < n; j += WG) { dot += b0[pp + inner(0u, j)] * b1[pd + inner(1u, j)]; }
  dot = wsum(dot, lid);
  for (var j = lid; j < n; j += WG) {
    let p = b0[pp + inner(0u, j)];
    b1[pd + inner(1u, j)] = scf(0u) * p * (b1[pd + inner(1u, j)] - dot);
  }`;
  runLanes(
    ctx,
    ps.outer,
    ps.inner,
    [
      { view: weights, outer: ps.outerStrides, inner: ps.innerStrides },
      { view: dP, write: true, outer: ds.outerStrides, inner: ds.innerStrides },
    ],
    body,
    [{ f32: scale }],
  );
  matmul(ctx, { a: dP, b: k, out: dq });
  matmul(ctx, { a: transposed(dP), b: q, out: dk });
  ctx.free(dP.storage);
}
