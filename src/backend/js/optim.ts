/** The fused AdamW step: one pass over (param, grad, m, v), computing in float64. */
import type { KernelArgs, OptionalKernelArgs } from "../types.js";
import { dataOf, Rows } from "./strided.js";

export function adamw({
  param,
  grad,
  m,
  v,
  lr,
  beta1,
  beta2,
  eps,
  weightDecay,
  step,
}: KernelArgs["adamw"]): void {
  const ps = dataOf(param);
  const gs = dataOf(grad);
  const ms = dataOf(m);
  const vs = dataOf(v);
  const decay = 1 - lr * weightDecay;
  const stepSize = lr / (1 - beta1 ** step);
  const bc2 = Math.sqrt(1 - beta2 ** step);
  const it = new Rows(
    param.shape,
    [param.strides, grad.strides, m.strides, v.strides],
    [param.offset, grad.offset, m.offset, v.offset],
  );
  const [sp, sg, sm, sv] = it.steps as [number, number, number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [pp, pg, pm, pv] = it.offsets as [number, number, number, number];
    for (let j = 0; j < it.length; j++, pp += sp, pg += sg, pm += sm, pv += sv) {
      const g = gs[pg]!;
      // Round the decayed param and the moments to storage precision, as the unfused update does.
      ps[pp] = ps[pp]! * decay;
      ms[pm] = beta1 * ms[pm]! + (1 - beta1) * g;
      vs[pv] = beta2 * vs[pv]! + (1 - beta2) * g * g;
      ps[pp] = ps[pp]! - (ms[pm]! / (Math.sqrt(vs[pv]!) / bc2 + eps)) * stepSize;
    }
  }
}

/** x ← x + alpha·y in place (float64 arithmetic, one rounding to x's dtype). */
export function axpy({ x, y, alpha }: OptionalKernelArgs["axpy"]): void {
  const xs = dataOf(x);
  const ys = dataOf(y);
  const it = new Rows(x.shape, [x.strides, y.strides], [x.offset, y.offset]);
  const [sx, sy] = it.steps as [number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [px, py] = it.offsets as [number, number];
    for (let j = 0; j < it.length; j++, px += sx, py += sy) xs[px] = xs[px]! + alpha * ys[py]!;
  }
}
