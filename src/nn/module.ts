/**
 * Module: the base of every layer and model, shaped like torch.nn.Module.
 *
 * A module's parameters, buffers and children are found on its own fields, so a model reads like
 * PyTorch: `this.weight = parameter(randn([out, in]))`, `this.fc = new Linear(…)`. Fields are
 * visited in the order they were assigned, which fixes the order of parameters() and the names
 * of stateDict() ("fc.weight", "layers.0.bias").
 */

import type { Tensor } from "../tensor/index.js";
import { assign, keep, noGrad, shapeString } from "../tensor/index.js";
import {
  addHook,
  type BackwardHook,
  type ForwardHook,
  type ForwardPreHook,
  type RemovableHandle,
} from "./hooks.js";

const parameterTensors = new WeakSet<Tensor>();
const bufferTensors = new WeakSet<Tensor>();

/**
 * Mark a tensor as a trainable parameter (torch.nn.Parameter): it requires grad, and it lives
 * until garbage collected even when the model is built inside tidy().
 */
export function parameter(t: Tensor): Tensor {
  const p = t.isLeaf ? t : t.detach();
  p.requiresGrad = true;
  keep(p);
  parameterTensors.add(p);
  return p;
}

/** Mark a tensor as a buffer: saved in stateDict, never trained (BatchNorm's running statistics). */
export function buffer(t: Tensor): Tensor {
  const b = t.detach();
  keep(b);
  bufferTensors.add(b);
  return b;
}

export function isParameter(value: unknown): value is Tensor {
  return typeof value === "object" && value !== null && parameterTensors.has(value as Tensor);
}

export function isBuffer(value: unknown): value is Tensor {
  return typeof value === "object" && value !== null && bufferTensors.has(value as Tensor);
}

export interface ZeroGradOptions {
  /** Drop the gradients (grad = null) instead of zeroing them in place. */
  setToNone?: boolean;
}

/**
 * Zero gradients in place (PyTorch's set_to_none=False): the same buffers serve every step, so a
 * training loop's memory stays flat without waiting for the garbage collector, and a grad someone
 * kept a reference to stays valid. With setToNone the old buffers are left to the collector.
 */
export function zeroGrads(params: Iterable<Tensor>, { setToNone = false }: ZeroGradOptions = {}): void {
  noGrad(() => {
    for (const p of params) {
      if (!p.grad) continue;
      if (setToNone) p.grad = null;
      else assign(p.grad, 0);
    }
  });
}

export interface LoadStateDictOptions {
  /** Require exactly the module's keys (default true). */
  strict?: boolean;
}

export abstract class Module {
  /** Training mode (dropout active, batch norm on batch statistics); eval() turns it off. */
  training = true;

  /** Direct sub-modules by field name; arrays of modules are named field.0, field.1, … */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Module)) {
        value.forEach((m: Module, i) => {
          out.push([`${key}.${i}`, m]);
        });
      }
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every module below it, depth first. */
  modules(): Module[] {
    return [this, ...this.children().flatMap((c) => c.modules())];
  }

  /** Tensors passing `test` with dotted names; `seen` drops repeats of a shared tensor, null keeps them. */
  private namedTensors(
    test: (v: unknown) => v is Tensor,
    prefix: string,
    seen: Set<Tensor> | null,
    out: [string, Tensor][],
  ): [string, Tensor][] {
    for (const [key, value] of Object.entries(this)) {
      if (test(value) && !seen?.has(value)) {
        seen?.add(value);
        out.push([prefix + key, value]);
      }
    }
    for (const [name, child] of this.namedChildren())
      child.namedTensors(test, `${prefix}${name}.`, seen, out);
    return out;
  }

  /** Parameters with their dotted names; a shared (tied) parameter appears once, under its first name. */
  namedParameters(): [string, Tensor][] {
    return this.namedTensors(isParameter, "", new Set(), []);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): [string, Tensor][] {
    return this.namedTensors(isBuffer, "", new Set(), []);
  }

  /** Number of trainable elements (each shared parameter counted once). */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel(), 0);
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Run fn in eval mode (dropout off, BatchNorm on its running statistics), then restore the mode. */
  inEvalMode<T>(fn: () => T): T {
    const wasTraining = this.training;
    this.eval();
    try {
      return fn();
    } finally {
      this.train(wasTraining);
    }
  }

  /** Reset every parameter's gradient; see zeroGrads for why in place is the default. */
  zeroGrad(options: ZeroGradOptions = {}): void {
    zeroGrads(this.parameters(), options);
  }

  /**
   * Parameters and buffers by name; the tensors themselves, not copies. As in PyTorch, a shared
   * tensor appears under each of its names (GPT's tied wte and lm_head).
   */
  stateDict(): Map<string, Tensor> {
    return new Map([
      ...this.namedTensors(isParameter, "", null, []),
      ...this.namedTensors(isBuffer, "", null, []),
    ]);
  }

  /** Copy values into the module's tensors in place; shapes must match. */
  loadStateDict(
    state: Map<string, Tensor> | Record<string, Tensor>,
    { strict = true }: LoadStateDictOptions = {},
  ): void {
    const entries = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    if (strict) {
      // A shared tensor is satisfied by any one of its names.
      const provided = new Set([...own].filter(([k]) => entries.has(k)).map(([, t]) => t));
      const missing = [...own].filter(([k, t]) => !entries.has(k) && !provided.has(t)).map(([k]) => k);
      const unexpected = [...entries.keys()].filter((k) => !own.has(k));
      if (missing.length > 0 || unexpected.length > 0) {
        throw new Error(
          `loadStateDict: ${missing.length > 0 ? `missing keys ${missing.join(", ")}` : ""}` +
            `${missing.length > 0 && unexpected.length > 0 ? "; " : ""}` +
            `${unexpected.length > 0 ? `unexpected keys ${unexpected.join(", ")}` : ""}`,
        );
      }
    }
    noGrad(() => {
      for (const [name, target] of own) {
        const source = entries.get(name);
        if (!source) continue;
        if (shapeString(source.shape) !== shapeString(target.shape)) {
          throw new RangeError(
            `loadStateDict: "${name}" has shape ${shapeString(source.shape)} in the state, ${shapeString(target.shape)} in the module`,
          );
        }
        assign(target, source.to(target.backend));
      }
    });
  }

  /**
   * Call `hook(module, inputs)` before each forward (PyTorch's register_forward_pre_hook);
   * returning an array, or one value, replaces the arguments. `handle.remove()` detaches it.
   */
  registerForwardPreHook(hook: ForwardPreHook<this>): RemovableHandle {
    return addHook(this, "pre", hook as ForwardPreHook);
  }

  /**
   * Call `hook(module, inputs, output)` after each forward (register_forward_hook): read a layer's
   * output, or return a replacement (an ablated neuron). `handle.remove()` restores the module.
   */
  registerForwardHook(hook: ForwardHook<this>): RemovableHandle {
    return addHook(this, "forward", hook as ForwardHook);
  }

  /**
   * Call `hook(module, gradInput, gradOutput)` in backward, once the gradients with respect to
   * the module's tensor inputs are known (register_full_backward_hook); returning an array
   * replaces gradInput.
   */
  registerFullBackwardHook(hook: BackwardHook<this>): RemovableHandle {
    return addHook(this, "backward", hook as BackwardHook);
  }

  /** A one-line description of this module's own settings, as PyTorch's extra_repr. */
  protected describe(): string {
    return "";
  }

  toString(): string {
    const name = this.constructor.name;
    const children = this.namedChildren();
    if (children.length === 0) return `${name}(${this.describe()})`;
    const lines = children.map(([key, m]) => `  (${key}): ${m.toString().replace(/\n/g, "\n  ")}`);
    return `${name}(${this.describe()}\n${lines.join("\n")}\n)`;
  }
}

/** A module with one tensor in and one tensor out: what Sequential chains. */
export abstract class Layer extends Module {
  abstract forward(x: Tensor): Tensor;
}
