/**
 * Hooks on modules, as PyTorch's register_forward_pre_hook / register_forward_hook /
 * register_full_backward_hook: a lesson or a tool attaches probes to a model (read a layer's
 * output, ablate a neuron, watch a gradient) instead of re-implementing its forward pass.
 *
 * PyTorch runs hooks in Module.__call__; here a model calls its children's forward() directly,
 * so the first hook on a module wraps that module's forward (an own, non-enumerable property)
 * and removing the last hook deletes the wrapper: the module is then exactly as it was.
 */

import { record } from "../tensor/autograd.js";
import { isGradEnabled, keep, Tensor } from "../tensor/index.js";
import type { Module } from "./module.js";

/** Called before forward with its arguments; returning an array (or one value) replaces them. */
export type ForwardPreHook<M extends Module = Module> = (module: M, inputs: unknown[]) => unknown;
/** Called after forward; returning a value other than undefined replaces the output. */
export type ForwardHook<M extends Module = Module> = (
  module: M,
  inputs: unknown[],
  output: unknown,
) => unknown;
/**
 * Called in backward once the gradients with respect to the module's tensor inputs are known:
 * gradInput[i] for its i-th tensor input (null where that input needs no gradient), gradOutput
 * for its tensor output(s): copies the hook may keep. Returning an array replaces gradInput.
 */
export type BackwardHook<M extends Module = Module> = (
  module: M,
  gradInput: (Tensor | null)[],
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | undefined;

/** What register*Hook returns: remove() detaches the hook (a second call does nothing). */
export interface RemovableHandle {
  remove(): void;
}

interface Hooks {
  pre: ForwardPreHook[];
  forward: ForwardHook[];
  backward: BackwardHook[];
  /** The module's forward before wrapping, and its own property's descriptor if it had one. */
  original: (...args: unknown[]) => unknown;
  ownOriginal: PropertyDescriptor | undefined;
}

const hooksOf = new WeakMap<Module, Hooks>();

type HookKind = "pre" | "forward" | "backward";

export function addHook(
  module: Module,
  kind: HookKind,
  hook: ForwardPreHook | ForwardHook | BackwardHook,
): RemovableHandle {
  if (typeof hook !== "function")
    throw new TypeError(`register hook: expected a function, got ${typeof hook}`);
  let hooks = hooksOf.get(module);
  if (!hooks) {
    if (!Object.isExtensible(module))
      throw new TypeError(
        `register hook: this ${module.constructor.name} is frozen or sealed (Object.freeze), so its forward cannot be wrapped; hook a module that is not frozen`,
      );
    const target = module as unknown as { forward: (...args: unknown[]) => unknown };
    hooks = {
      pre: [],
      forward: [],
      backward: [],
      original: target.forward,
      ownOriginal: Object.getOwnPropertyDescriptor(module, "forward"),
    };
    hooksOf.set(module, hooks);
    const own = hooks;
    Object.defineProperty(module, "forward", {
      value: function hookedForward(this: Module, ...args: unknown[]) {
        return runHooked(this, own, args);
      },
      configurable: true,
      writable: true,
      enumerable: false,
    });
  }
  (hooks[kind] as unknown[]).push(hook);
  let removed = false;
  return {
    remove() {
      if (removed) return;
      removed = true;
      const list = hooks[kind] as unknown[];
      list.splice(list.indexOf(hook), 1);
      if (hooks.pre.length + hooks.forward.length + hooks.backward.length > 0) return;
      hooksOf.delete(module);
      if (hooks.ownOriginal) Object.defineProperty(module, "forward", hooks.ownOriginal);
      else delete (module as unknown as { forward?: unknown }).forward;
    },
  };
}

/** Whether any hook is attached to this module (a model then takes its unfused, hookable path). */
export function hasHooks(module: Module): boolean {
  return hooksOf.has(module);
}

function runHooked(module: Module, hooks: Hooks, args: unknown[]): unknown {
  let inputs = args;
  for (const hook of [...hooks.pre]) {
    const replaced = hook(module, inputs);
    if (replaced !== undefined) inputs = Array.isArray(replaced) ? replaced : [replaced];
  }
  const backward = hooks.backward.length > 0 && isGradEnabled() ? new BackwardHookState(module, hooks) : null;
  if (backward) inputs = inputs.map((x, i) => (x instanceof Tensor ? backward.wrapInput(x, i) : x));
  let output = hooks.original.apply(module, inputs);
  for (const hook of [...hooks.forward]) {
    const replaced = hook(module, inputs, output);
    if (replaced !== undefined) output = replaced;
  }
  return backward ? backward.wrapOutput(output) : output;
}

/**
 * One forward's backward hooks, as PyTorch's BackwardHook: identity ops on the module's tensor
 * inputs and outputs. The outputs' identities catch the gradients arriving at the module; the
 * inputs' identities see the gradients leaving it, and the last of them calls the hooks.
 */
class BackwardHookState {
  private readonly gradOutput: (Tensor | null)[] = [];
  private readonly gradInput: (Tensor | null)[] = [];
  private inputsNeedingGrad = 0;
  private outputsNeedingGrad = 0;
  /** Counted per backward pass: a graph kept with retainGraph is backpropagated again. */
  private inputsSeen = 0;
  private outputsSeen = 0;

  constructor(
    private readonly module: Module,
    private readonly hooks: Hooks,
  ) {}

  wrapInput(x: Tensor, index: number): Tensor {
    while (this.gradInput.length <= index) this.gradInput.push(null);
    if (!x.requiresGrad) return x;
    this.inputsNeedingGrad++;
    return record(x.detach(), "BackwardHookInput", [x], (g) => {
      this.gradInput[index] = g;
      if (++this.inputsSeen < this.inputsNeedingGrad) return [g];
      const replaced = this.call();
      return [replaced?.[index] ?? g];
    });
  }

  wrapOutput(output: unknown): unknown {
    const wrap = (t: Tensor, i: number): Tensor => {
      while (this.gradOutput.length <= i) this.gradOutput.push(null);
      if (!t.requiresGrad) return t;
      this.outputsNeedingGrad++;
      return record(t.detach(), "BackwardHookOutput", [t], (g) => {
        this.gradOutput[i] = g;
        // No input needs a gradient (the first layer of a network): the hooks run once the
        // last output's gradient is in (an output the loss does not use never gets one).
        if (this.inputsNeedingGrad === 0 && ++this.outputsSeen === this.outputsNeedingGrad) this.call();
        return [g];
      });
    };
    if (output instanceof Tensor) return wrap(output, 0);
    if (Array.isArray(output)) return output.map((o, i) => (o instanceof Tensor ? wrap(o, i) : o));
    return output;
  }

  private call(): (Tensor | null)[] | undefined {
    let result: (Tensor | null)[] | undefined;
    // backward() frees what it allocates when it returns: the hooks get copies they may keep.
    const lasting = (g: Tensor | null) => g && keep(g.clone());
    const gradOutput = this.gradOutput.map(lasting);
    const gradInput = this.gradInput.map(lasting);
    // This pass is done: a second backward (retainGraph) starts counting again, from nothing.
    this.inputsSeen = 0;
    this.outputsSeen = 0;
    this.gradOutput.fill(null);
    this.gradInput.fill(null);
    for (const hook of [...this.hooks.backward]) {
      const replaced = hook(this.module, result ?? [...gradInput], [...gradOutput]);
      if (replaced !== undefined) result = replaced;
    }
    // The other inputs' gradients have already gone on by then.
    if (result && this.inputsNeedingGrad > 1)
      throw new Error(
        `backward hook on ${this.module.constructor.name}: replacing gradInput needs a module with one tensor input that requires grad (this one has ${this.inputsNeedingGrad})`,
      );
    return result;
  }
}
