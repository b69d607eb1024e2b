/** In-place optimizer steps on fused kernels (outside the tape, like assign). */
import { isGradEnabled } from "../autograd.js";
import { sameShape, shapeString } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { backendOf, requireFloat, viewOf } from "./core.js";

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1 for the first step (bias correction). */
  step: number;
}

/**
 * One torch.optim.AdamW update of param and its moments m and v, in place, with the fused
 * `adamw` kernel: p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).
 */
export function adamwStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper: AdamWStep): void {
  if (isGradEnabled() && param.requiresGrad) {
    throw new Error("adamwStep: parameters can only be updated in place inside noGrad()");
  }
  requireFloat("adamwStep", param, "parameter");
  for (const [name, t] of [
    ["grad", grad],
    ["m", m],
    ["v", v],
  ] as const) {
    if (!sameShape(t.shape, param.shape) || t.dtype !== param.dtype) {
      throw new RangeError(
        `adamwStep: ${name} is ${t.dtype} ${shapeString(t.shape)}, the parameter ${param.dtype} ${shapeString(param.shape)}`,
      );
    }
  }
  if (!Number.isInteger(hyper.step) || hyper.step < 1)
    throw new RangeError(`adamwStep: step must be 1, 2, ..., got ${hyper.step}`);
  const backend = backendOf("adamwStep", param, grad, m, v);
  for (const t of [param, m, v]) t.storage.version++;
  backend.run("adamw", { param: viewOf(param), grad: viewOf(grad), m: viewOf(m), v: viewOf(v), ...hyper });
}
