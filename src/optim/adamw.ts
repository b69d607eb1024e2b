import type { Tensor } from "../tensor/index.js";
import { adamwStep, assign, zerosLike } from "../tensor/index.js";
import { Optimizer, type ParamsInput } from "./optimizer.js";

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/**
 * Adam with decoupled weight decay, as torch.optim.AdamW:
 *   p ← p·(1 − lr·wd);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
 *   p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
 */
export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: ParamsInput<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, ...options });
  }

  protected update(p: Tensor, grad: Tensor, h: AdamWOptions, state: Record<string, Tensor>): void {
    const [beta1, beta2] = h.betas;
    state.m ??= this.persistent(zerosLike(p));
    state.v ??= this.persistent(zerosLike(p));
    const t = this.stepCount;
    if (grad.dtype === p.dtype) {
      // The fused kernel: one pass instead of about a dozen elementwise ops and temporaries.
      adamwStep(p, grad, state.m, state.v, {
        lr: h.lr,
        beta1,
        beta2,
        eps: h.eps,
        weightDecay: h.weightDecay,
        step: t,
      });
      return;
    }
    if (h.weightDecay !== 0) assign(p, p.mul(1 - h.lr * h.weightDecay));
    assign(state.m, state.m.mul(beta1).add(grad.mul(1 - beta1)));
    assign(state.v, state.v.mul(beta2).add(grad.square().mul(1 - beta2)));
    const stepSize = h.lr / (1 - beta1 ** t);
    const denom = state.v
      .sqrt()
      .div(Math.sqrt(1 - beta2 ** t))
      .add(h.eps);
    assign(p, p.sub(state.m.div(denom).mul(stepSize)));
  }
}
