/** Optimizer kernels (as ../js/optim.ts): AdamW and axpy. */
import type { KernelArgs, OptionalKernelArgs } from "../types.js";
import { type KernelContext, runMap } from "./dispatch.js";
import { checkFloat } from "./indexing.js";

export function adamw(ctx: KernelContext, a: KernelArgs["adamw"]): void {
  for (const [name, v] of Object.entries({ param: a.param, grad: a.grad, m: a.m, v: a.v })) {
    if (v.storage.dtype !== "float32") throw new Error(`webgpu adamw: ${name} must be float32`);
  }
  const decay = 1 - a.lr * a.weightDecay;
  const stepSize = a.lr / (1 - a.beta1 ** a.step);
  const bc2 = Math.sqrt(1 - a.beta2 ** a.step);
  const body = `  let g = b1[p1];
  let m = scf(1u) * b2[p2] + (1.0 - scf(1u)) * g;
  let v = scf(2u) * b3[p3] + (1.0 - scf(2u)) * g * g;
  b2[p2] = m;
  b3[p3] = v;
  b0[p0] = b0[p0] * scf(0u) - (m / (sqrt(v) / scf(3u) + scf(4u))) * scf(5u);`;
  runMap(
    ctx,
    a.param.shape,
    [
      { view: a.param, write: true },
      { view: a.grad },
      { view: a.m, write: true },
      { view: a.v, write: true },
    ],
    body,
    [{ f32: decay }, { f32: a.beta1 }, { f32: a.beta2 }, { f32: bc2 }, { f32: a.eps }, { f32: stepSize }],
  );
}

/** x ← x + alpha·y in place (gradient accumulation): one pass, where add then copy was two. */
export function axpy(ctx: KernelContext, { x, y, alpha }: OptionalKernelArgs["axpy"]): void {
  checkFloat("axpy", x, y);
  // fma rounds once, as the js kernel's float64 sum rounded to float32 does.
  runMap(ctx, x.shape, [{ view: x, write: true }, { view: y }], "  b0[p0] = fma(scf(0u), b1[p1], b0[p0]);", [
    { f32: alpha },
  ]);
}
