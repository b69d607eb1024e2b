/**
 * Probes built on module hooks, for lessons and tools: read what a layer computes (`capture`) or
 * change it (`ablate`) without touching the model's code. Each returns a handle; remove() takes
 * the hooks off and the model computes exactly what it did before.
 *
 *   const seen = capture({ pre: mlp.c_fc, act: mlp.gelu }, { grad: true });
 *   model.forward(idx, { targets }).loss!.backward();
 *   seen.values.act.grad;   // d loss / d activation of every neuron
 *   seen.remove();
 *
 *   const off = ablate(mlp.gelu, [7], "mean");   // neuron 7 set to its mean over the batch
 *   ...
 *   off.remove();
 */

import { fromValues, Tensor } from "../tensor/index.js";
import { activeScope, type Scope } from "../tensor/memory.js";
import type { RemovableHandle } from "./hooks.js";
import { Module } from "./module.js";

export interface ProbeOptions {
  /** Read (or change) the module's first argument instead of its output. */
  input?: boolean;
}

export interface CaptureOptions extends ProbeOptions {
  /** retainGrad() on what is captured: after a backward its .grad is d loss / d that tensor. */
  grad?: boolean;
}

/** What capture() returns: the latest tensors, by the keys the modules were given under. */
export interface Capture<K extends PropertyKey> extends RemovableHandle {
  /** Each module's tensor from its latest forward (absent until it runs). */
  readonly values: { [P in K]?: Tensor };
}

/**
 * Keep the output (or, with { input: true }, the first argument) of each module's latest forward
 * in `values`, under the module's key in `modules` (an object of modules, or an array: its
 * indices). The tensors are the very ones the model passes on. They live as long as tensors made
 * where capture() was called: a tidy inside the model (GPT's per-block one at inference) does not
 * free them, a tidy around both capture() and the forward does.
 */
export function capture<M extends Record<string, Module> | readonly Module[]>(
  modules: M,
  options: CaptureOptions = {},
): Capture<M extends readonly Module[] ? number : keyof M> {
  const { input = false, grad = false } = options;
  const values: Record<PropertyKey, Tensor> = {};
  const handles: RemovableHandle[] = [];
  if (modules === null || typeof modules !== "object")
    throw new TypeError(
      `capture: expected an object or an array of modules, got ${modules === null ? "null" : typeof modules}`,
    );
  for (const [key, module] of Object.entries(modules)) checkModule(`capture: "${key}"`, module);
  const home = activeScope();
  const store = (key: string, module: Module, value: unknown) => {
    const t = probed(module, value, input, "capture");
    if (grad && t.requiresGrad) t.retainGrad();
    holdIn(t, home);
    values[key] = t;
  };
  for (const [key, module] of Object.entries(modules) as [string, Module][]) {
    handles.push(
      input
        ? module.registerForwardPreHook((m, inputs) => store(key, m, inputs[0]))
        : module.registerForwardHook((m, _inputs, output) => store(key, m, output)),
    );
  }
  return {
    values: values as Capture<M extends readonly Module[] ? number : keyof M>["values"],
    remove() {
      for (const h of handles) h.remove();
    },
  };
}

/**
 * How ablate() replaces a unit: "zero"; "mean", its mean over every other dimension of this
 * forward (the batch and the positions); or { value }, a constant (one for all units, or one per
 * unit: a mean over a data set, a clamp).
 */
export type AblationMode = "zero" | "mean" | { value: number | readonly number[] };

/**
 * Replace units (indices along the last dimension) of a module's output, or with
 * { input: true } of its first argument, on every forward until remove(). The rest of the tensor
 * is passed on unchanged (x·1 + 0), and gradients still flow to it.
 *
 * For a GPT: MLP neuron n of a block is `ablate(block.mlp.c_proj, [n], mode, { input: true })`
 * (c_proj reads the 4C activations, so the fused gelu(c_fc(x)) kernel stays in use), and head h
 * is the same on block.attn.c_proj with the channels h·hs to (h+1)·hs − 1 (see models/gpt-probes.ts).
 */
export function ablate(
  module: Module,
  units: number | readonly number[],
  mode: AblationMode = "zero",
  options: ProbeOptions = {},
): RemovableHandle {
  checkModule("ablate: expected a Module, got", module, true);
  const list = typeof units === "number" ? [units] : [...units];
  const name = module.constructor.name;
  for (const u of list)
    if (!Number.isInteger(u) || u < 0)
      throw new RangeError(`ablate ${name}: a unit is a whole number from 0, got ${u}`);
  if (mode !== "zero" && mode !== "mean" && !(typeof mode === "object" && mode && "value" in mode))
    throw new RangeError(
      `ablate ${name}: mode must be "zero", "mean" or { value }, got ${JSON.stringify(mode)}`,
    );
  if (typeof mode === "object") {
    if (Array.isArray(mode.value) && mode.value.length !== list.length)
      throw new RangeError(
        `ablate ${name}: { value } has ${mode.value.length} values for ${list.length} units (give one, or one per unit)`,
      );
    // A NaN would pass silently into every later layer.
    const values: unknown[] = Array.isArray(mode.value) ? mode.value : [mode.value];
    const at = values.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
    const bad = values[at];
    if (at >= 0)
      throw new RangeError(
        `ablate ${name}: { value } must be finite numbers, got ${typeof bad === "number" ? bad : (JSON.stringify(bad) ?? String(bad))}`,
      );
  }
  const replace = (value: unknown): Tensor => {
    const x = probed(module, value, options.input ?? false, "ablate");
    if (x.shape.length === 0)
      throw new RangeError(
        `ablate ${name}: its ${options.input ? "first argument" : "output"} is a scalar, with no units`,
      );
    const D = x.shape.at(-1)!;
    const keepMask = new Float32Array(D).fill(1);
    const fill = new Float32Array(D);
    list.forEach((u, i) => {
      if (u >= D) throw new RangeError(`ablate ${name}: unit ${u} is out of range for ${D} units`);
      keepMask[u] = 0;
      if (mode === "mean")
        fill[u] = 1; // a mask: the means are computed on the backend below
      else if (typeof mode === "object")
        fill[u] = typeof mode.value === "number" ? mode.value : mode.value[i]!;
    });
    const on = { backend: x.backend };
    let filled = fromValues(fill, [D], on);
    // No read back: this runs inside the forward, on webgpu too.
    if (mode === "mean") filled = x.detach().reshape([-1, D]).mean(0).mul(filled);
    return x.mul(fromValues(keepMask, [D], on)).add(filled);
  };
  return options.input
    ? module.registerForwardPreHook((_m, inputs) => [replace(inputs[0]), ...inputs.slice(1)])
    : module.registerForwardHook((_m, _inputs, output) => replace(output));
}

/**
 * Make t outlive the scopes opened after `home` (inside the forward): its storage moves up to
 * home if home is still open, or to no scope (the nursery and the garbage collector free it once
 * dropped) if not. A storage already in home or outside it is left where it is.
 */
function holdIn(t: Tensor, home: Scope | null): void {
  let open = activeScope();
  while (open && open !== home) open = open.parent;
  const storage = t.storage;
  if (storage.scope === null || storage.scope === open) return;
  // Only up: a storage in a scope around `open` (the model's input) is not the probe's to move.
  let s: Scope | null = storage.scope;
  while (s && s !== open) s = s.parent;
  if (s === open) storage.moveTo(open);
}

/** A probe's module must be one (a typo'd key would fail deep inside with "not a function"). */
function checkModule(what: string, module: unknown, bare = false): void {
  if (module instanceof Module) return;
  const kind = module === null ? "null" : typeof module;
  throw new TypeError(bare ? `${what} ${kind}` : `${what} is ${kind}, not a Module`);
}

/** The tensor a probe reads: the module's output, or its first argument. */
function probed(module: Module, value: unknown, input: boolean, probe: string): Tensor {
  if (value instanceof Tensor) return value;
  const what = input ? "first argument" : "output";
  throw new TypeError(
    `${probe}: ${module.constructor.name}'s ${what} is ${value === null ? "null" : typeof value}, not a tensor; probe a layer inside it`,
  );
}
