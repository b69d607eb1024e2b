import type { Tensor } from "../tensor/index.js";
import { addInPlace, assign, zerosLike } from "../tensor/index.js";
import { Optimizer, type ParamsInput } from "./optimizer.js";

export interface RMSpropOptions {
  lr: number;
  /** Decay of the running average of squared gradients (pg-pong.py's decay_rate). */
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  /** Divide by the gradient's running variance instead of its running second moment. */
  centered: boolean;
}

/**
 * RMSprop as torch.optim.RMSprop: g += wd·p; v ← αv + (1−α)g²; with centered, the running mean
 * ḡ ← αḡ + (1−α)g and v − ḡ² in place of v; then p −= lr·g / (√v + ε), or with momentum
 * buf ← μ·buf + g / (√v + ε), p −= lr·buf. Karpathy's pg-pong.py is α = 0.99, ε = 1e-5.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsInput<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super(params, {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      ...options,
    });
  }

  protected update(p: Tensor, grad: Tensor, h: RMSpropOptions, state: Record<string, Tensor>): void {
    const g = h.weightDecay !== 0 ? grad.add(p.mul(h.weightDecay)) : grad;
    state.squareAvg ??= this.persistent(zerosLike(p));
    assign(state.squareAvg, state.squareAvg.mul(h.alpha).add(g.square().mul(1 - h.alpha)));
    let avg = state.squareAvg;
    if (h.centered) {
      state.gradAvg ??= this.persistent(zerosLike(p));
      assign(state.gradAvg, state.gradAvg.mul(h.alpha).add(g.mul(1 - h.alpha)));
      avg = avg.sub(state.gradAvg.square());
    }
    const step = g.div(avg.sqrt().add(h.eps));
    if (h.momentum > 0) {
      state.momentumBuffer ??= this.persistent(zerosLike(p));
      assign(state.momentumBuffer, state.momentumBuffer.mul(h.momentum).add(step));
      addInPlace(p, state.momentumBuffer, -h.lr);
    } else addInPlace(p, step, -h.lr);
  }
}
