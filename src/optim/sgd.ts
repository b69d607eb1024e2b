import type { Tensor } from "../tensor/index.js";
import { addInPlace, assign } from "../tensor/index.js";
import { Optimizer, type ParamsInput } from "./optimizer.js";

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * Stochastic gradient descent as torch.optim.SGD: g += wd·p; with momentum, buf = μ·buf + (1−τ)·g
 * (buf = g on the first step) and g = buf (or g + μ·buf with Nesterov); then p −= lr·g.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected update(p: Tensor, grad: Tensor, h: SGDOptions, state: Record<string, Tensor>): void {
    let g = h.weightDecay !== 0 ? grad.add(p.mul(h.weightDecay)) : grad;
    if (h.momentum !== 0) {
      const previous = state.momentumBuffer;
      const buf = previous ? previous.mul(h.momentum).add(g.mul(1 - h.dampening)) : g.clone();
      if (previous) assign(previous, buf);
      else state.momentumBuffer = this.persistent(buf);
      g = h.nesterov ? g.add(buf.mul(h.momentum)) : buf;
    }
    addInPlace(p, g, -h.lr);
  }
}
