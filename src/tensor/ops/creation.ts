/** Creating tensors: from data, constants, ranges, and seeded random draws. */
import { type Backend, type DType, isFloatDType } from "../../backend/index.js";
import { globalRandom, type Random } from "../../random/index.js";
import { checkShape, numel, type Shape, shapeString } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { empty, resolveBackend, viewOf } from "./core.js";

export interface CreateOptions {
  dtype?: DType;
  /** A backend or its name; default: the current backend (setBackend). */
  backend?: Backend | string;
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  /** The generator to draw from; default: the global one (manualSeed). */
  generator?: Random;
}

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

/** A contiguous tensor holding `values` (row-major) with the given shape. */
export function fromValues(values: ArrayLike<number>, shape: Shape, options: CreateOptions = {}): Tensor {
  const dtype = options.dtype ?? "float32";
  const t = empty(checkShape("tensor", shape), dtype, resolveBackend(options.backend));
  if (values.length !== t.numel()) {
    throw new RangeError(
      `tensor: ${values.length} values cannot fill shape ${shapeString(shape)} (${t.numel()} elements)`,
    );
  }
  t.backend.write(t.storage.handle, values);
  return finish(t, options);
}

export type NestedArray = number | boolean | readonly NestedArray[];
type TypedInput =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Uint32Array;

function dtypeOfTypedArray(data: TypedInput): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  return "int32";
}

/**
 * A tensor from nested arrays, a number, or a typed array. Numbers become float32 unless
 * `dtype` says otherwise (pass `{ dtype: "int32" }` for indices); booleans become bool; a typed
 * array keeps its kind (Float64Array → float64, integer arrays → int32) and is 1-D unless `shape`.
 */
export function tensor(
  data: NestedArray | TypedInput,
  options: CreateOptions & { shape?: Shape } = {},
): Tensor {
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedInput;
    return fromValues(typed, options.shape ?? [typed.length], {
      ...options,
      dtype: options.dtype ?? dtypeOfTypedArray(typed),
    });
  }
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as NestedArray;
    if (probe === undefined) break;
  }
  const values: number[] = [];
  let sawBool = false;
  const walk = (x: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(x))
        throw new RangeError(`tensor: ragged nested array (expected shape ${shapeString(shape)})`);
      if (typeof x === "boolean") sawBool = true;
      else if (typeof x !== "number")
        throw new TypeError(`tensor: expected numbers or booleans, got ${typeof x}`);
      values.push(Number(x));
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new RangeError(`tensor: ragged nested array (expected shape ${shapeString(shape)})`);
    }
    for (const item of x) walk(item, depth + 1);
  };
  walk(data, 0);
  const dtype = options.dtype ?? (sawBool ? "bool" : "float32");
  return fromValues(values, options.shape ?? shape, { ...options, dtype });
}

/** A 0-d tensor. */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return fromValues([value], [], options);
}

export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  const t = empty(checkShape("full", shape), options.dtype ?? "float32", resolveBackend(options.backend));
  t.backend.run("fill", { out: viewOf(t), value });
  return finish(t, options);
}

export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

function likeOptions(t: Tensor, options: CreateOptions): CreateOptions {
  return { dtype: t.dtype, backend: t.backend, ...options };
}

export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return zeros(t.shape, likeOptions(t, options));
}

export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return ones(t.shape, likeOptions(t, options));
}

export function fullLike(t: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return full(t.shape, value, likeOptions(t, options));
}

/**
 * arange(end) or arange(start, end, step): int32 when all arguments are integers (as PyTorch's
 * int64), else float32.
 */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step))
    throw new RangeError(`arange: step must be non-zero and finite, got ${step}`);
  const count = Math.max(0, Math.ceil((end - start) / step));
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = start + i * step;
  const integral = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  return fromValues(values, [count], {
    ...options,
    dtype: options.dtype ?? (integral ? "int32" : "float32"),
  });
}

export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  const values = new Float64Array(steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) values[i] = i === steps - 1 && steps > 1 ? end : start + i * delta;
  return fromValues(values, [steps], options);
}

export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  const values = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return fromValues(values, [n, m], options);
}

function randomValues(shape: Shape, options: RandomOptions, draw: (g: Random) => number): Tensor {
  const dtype = options.dtype ?? "float32";
  const g = options.generator ?? globalRandom;
  // Drawn straight into float32 when that is the dtype: the same rounding, a third of the memory
  // and a plain copy into the backend (GPT-2's 124M weights: 1.2 s of conversion).
  const n = numel(checkShape("random", shape));
  const values = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = draw(g);
  return fromValues(values, shape, { ...options, dtype });
}

/** Uniform in [0, 1). */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  return randomValues(shape, options, (g) => g.random());
}

/** Standard normal. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  return randomValues(shape, options, (g) => g.normal());
}

/** Integers uniform in [low, high); int32 unless dtype says otherwise. */
export function randint(low: number, high: number, shape: Shape, options: RandomOptions = {}): Tensor {
  return randomValues(shape, { ...options, dtype: options.dtype ?? "int32" }, (g) => g.randint(low, high));
}

/** A random permutation of 0..n-1 (int32). */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  const order = Array.from({ length: n }, (_, i) => i);
  (options.generator ?? globalRandom).shuffle(order);
  return fromValues(order, [n], { ...options, dtype: options.dtype ?? "int32" });
}

export function randLike(t: Tensor, options: RandomOptions = {}): Tensor {
  return rand(t.shape, {
    dtype: isFloatDType(t.dtype) ? t.dtype : "float32",
    backend: t.backend,
    ...options,
  });
}

export function randnLike(t: Tensor, options: RandomOptions = {}): Tensor {
  return randn(t.shape, {
    dtype: isFloatDType(t.dtype) ? t.dtype : "float32",
    backend: t.backend,
    ...options,
  });
}
