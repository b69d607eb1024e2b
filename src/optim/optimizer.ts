/** Optimizers update parameters in place from their .grad, outside the autograd tape. */

import { type ZeroGradOptions, zeroGrads } from "../nn/module.js";
import type { Tensor } from "../tensor/index.js";
import { keep, noGrad, tidy } from "../tensor/index.js";

export interface ParamGroupOptions {
  lr?: number;
  weightDecay?: number;
}

/** A set of parameters sharing hyper-parameters (PyTorch's param_groups). */
export interface ParamGroup<H> {
  params: Tensor[];
  hyper: H;
}

export type ParamsInput<H> = Iterable<Tensor> | (Partial<H> & { params: Iterable<Tensor> })[];

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  /** Per-parameter state (momentum buffers, Adam moments), kept out of tidy scopes. */
  protected readonly state = new Map<Tensor, Record<string, Tensor>>();
  /** Number of step() calls so far. */
  stepCount = 0;

  constructor(params: ParamsInput<H>, defaults: H) {
    const list = [...(params as Iterable<Tensor | (Partial<H> & { params: Iterable<Tensor> })>)];
    const grouped = list.length > 0 && !isTensorLike(list[0]);
    const groups = grouped
      ? (list as (Partial<H> & { params: Iterable<Tensor> })[])
      : [{ params: list as Tensor[] } as unknown as Partial<H> & { params: Iterable<Tensor> }];
    this.paramGroups = groups.map(({ params: groupParams, ...hyper }) => {
      const ps = [...groupParams];
      for (const p of ps) {
        if (!p.requiresGrad) throw new Error("optimizer: every parameter must require grad");
      }
      return { params: ps, hyper: { ...defaults, ...(hyper as unknown as Partial<H>) } };
    });
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (seen.has(p)) throw new Error("optimizer: a parameter appears in more than one group");
        seen.add(p);
      }
    }
  }

  /** Learning rate of the first group (the one schedules set on every group). */
  get lr(): number {
    return this.paramGroups[0]?.hyper.lr ?? 0;
  }

  set lr(value: number) {
    for (const g of this.paramGroups) g.hyper.lr = value;
  }

  /** Reset the gradients of every parameter, in place by default (see zeroGrads). */
  zeroGrad(options: ZeroGradOptions = {}): void {
    zeroGrads(
      this.paramGroups.flatMap((g) => g.params),
      options,
    );
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          // tidy frees the update's temporaries at once (state tensors are kept, see persistent()).
          if (p.grad) tidy(() => this.update(p, p.grad!, group.hyper, this.stateOf(p)));
        }
      }
    });
  }

  protected abstract update(p: Tensor, grad: Tensor, hyper: H, state: Record<string, Tensor>): void;

  private stateOf(p: Tensor): Record<string, Tensor> {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /** Create a state tensor that outlives the tidy scope it is created in. */
  protected persistent(t: Tensor): Tensor {
    return keep(t);
  }

  /** Optimizer state for checkpoints: step count, hyper-parameters and state tensors by parameter index. */
  stateDict(): { step: number; groups: H[]; state: Record<string, Record<string, Tensor>> } {
    const state: Record<string, Record<string, Tensor>> = {};
    let i = 0;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const s = this.state.get(p);
        if (s) state[String(i)] = s;
        i++;
      }
    }
    return { step: this.stepCount, groups: this.paramGroups.map((g) => ({ ...g.hyper })), state };
  }

  loadStateDict(dict: { step: number; groups: H[]; state: Record<string, Record<string, Tensor>> }): void {
    if (dict.groups.length !== this.paramGroups.length) {
      throw new Error(
        `optimizer loadStateDict: ${dict.groups.length} groups in the state, ${this.paramGroups.length} here`,
      );
    }
    this.stepCount = dict.step;
    this.paramGroups.forEach((g, k) => {
      g.hyper = { ...dict.groups[k]! };
    });
    let i = 0;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const s = dict.state[String(i)];
        if (s) {
          const copy: Record<string, Tensor> = {};
          for (const [k, t] of Object.entries(s)) copy[k] = keep(t.to(p.backend).clone());
          this.state.set(p, copy);
        }
        i++;
      }
    }
  }
}

function isTensorLike(x: unknown): boolean {
  return typeof x === "object" && x !== null && "shape" in x && "strides" in x;
}
