/** Reductions: sum, mean, max/min (values and indices), var/std, logsumexp, argmax/argmin. */
import { type ReduceOp, reduceSpec } from "../../backend/index.js";
import { record } from "../autograd.js";
import { normalizeDim, normalizeDims, sameShape } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { empty, rawView, viewOf } from "./core.js";
import { abs, add, cast, div, eq, exp, le, log, logicalOr, mul, sqrt, sub, where } from "./elementwise.js";
import { scatterAddZeros } from "./indexing.js";
import { expand, reshape } from "./views.js";

export type Dims = number | readonly number[] | null | undefined;

interface Reduced {
  out: Tensor;
  axes: number[];
  keepShape: number[];
}

function runReduce(op: ReduceOp, name: string, x: Tensor, dim: Dims, keepdim: boolean): Reduced {
  const axes = normalizeDims(name, dim, x.ndim);
  const keepShape = x.shape.map((s, d) => (axes.includes(d) ? 1 : s));
  // The table's dtype rule: bool reduces as int32; "float" ops refuse integers.
  let dtype = x.dtype;
  if (dtype === "bool") dtype = "int32";
  if (reduceSpec(op).input === "float" && dtype === "int32") {
    throw new TypeError(`${name}: expected a floating point input (float32 or float64), got ${x.dtype}`);
  }
  const out = empty(keepShape, dtype, x.backend);
  x.backend.run("reduce", { op, x: viewOf(x), axes, out: viewOf(out) });
  return {
    out: keepdim
      ? out
      : rawView(
          out,
          x.shape.filter((_, d) => !axes.includes(d)),
        ),
    axes,
    keepShape,
  };
}

/** Gradient of a reduction: g with the reduced dims restored as 1, stretched to x's shape. */
function spread(g: Tensor, keepShape: number[], x: Tensor): Tensor {
  return expand(reshape(g, keepShape), x.shape);
}

export function sum(x: Tensor, dim: Dims = null, keepdim = false): Tensor {
  const { out, keepShape } = runReduce("sum", "sum", x, dim, keepdim);
  return record(out, "sum", [x], (g) => [spread(g, keepShape, x)]);
}

export function mean(x: Tensor, dim: Dims = null, keepdim = false): Tensor {
  const { out, keepShape } = runReduce("mean", "mean", x, dim, keepdim);
  const count = x.numel() / out.numel() || 0;
  return record(out, "mean", [x], (g) => [div(spread(g, keepShape, x), count)]);
}

/** Max (min) over dims, values only (PyTorch's amax / amin). Ties share the gradient. */
function extreme(op: "max" | "min", x: Tensor, dim: Dims, keepdim: boolean): Tensor {
  const { out, keepShape } = runReduce(op, op === "max" ? "amax" : "amin", x, dim, keepdim);
  return record(out, op === "max" ? "amax" : "amin", [x], (g) => {
    const hit = cast(eq(x, reshape(out, keepShape)), g.dtype);
    const share = div(hit, sum(hit, dim, true));
    return [mul(spread(g, keepShape, x), share)];
  });
}

export function amax(x: Tensor, dim: Dims = null, keepdim = false): Tensor {
  return extreme("max", x, dim, keepdim);
}

export function amin(x: Tensor, dim: Dims = null, keepdim = false): Tensor {
  return extreme("min", x, dim, keepdim);
}

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

function extremeAlong(op: "max" | "min", x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const d = normalizeDim(op, dim, x.ndim);
  const keepShape = x.shape.map((s, i) => (i === d ? 1 : s));
  const values = empty(keepShape, x.dtype, x.backend);
  const indices = empty(keepShape, "int32", x.backend);
  x.backend.run("argReduce", { op, x: viewOf(x), dim: d, values: viewOf(values), indices: viewOf(indices) });
  const outShape = keepdim ? keepShape : x.shape.filter((_, i) => i !== d);
  const v = rawView(values, outShape);
  record(v, op, [x], (g) => [scatterAddZeros(x.shape, d, indices, reshape(g, keepShape))]);
  return { values: v, indices: rawView(indices, outShape) };
}

/** max(x): the largest element (0-d). max(x, dim): { values, indices } along dim. */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number | null, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined || dim === null) return extreme("max", x, null, false);
  return extremeAlong("max", x, dim, keepdim);
}

export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number | null, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined || dim === null) return extreme("min", x, null, false);
  return extremeAlong("min", x, dim, keepdim);
}

function argExtreme(op: "max" | "min", x: Tensor, dim: number | null | undefined, keepdim: boolean): Tensor {
  if (dim === undefined || dim === null) {
    const flat = reshape(x, [-1]);
    const index = empty([1], "int32", x.backend);
    x.backend.run("argReduce", { op, x: viewOf(flat), dim: 0, values: null, indices: viewOf(index) });
    return rawView(index, keepdim ? x.shape.map(() => 1) : []);
  }
  const d = normalizeDim(op === "max" ? "argmax" : "argmin", dim, x.ndim);
  const keepShape = x.shape.map((s, i) => (i === d ? 1 : s));
  const indices = empty(keepShape, "int32", x.backend);
  x.backend.run("argReduce", { op, x: viewOf(x), dim: d, values: null, indices: viewOf(indices) });
  return keepdim
    ? indices
    : rawView(
        indices,
        x.shape.filter((_, i) => i !== d),
      );
}

/** Index of the largest element (of the flattened tensor when dim is null), int32. No gradient. */
export function argmax(x: Tensor, dim: number | null = null, keepdim = false): Tensor {
  return argExtreme("max", x, dim, keepdim);
}

export function argmin(x: Tensor, dim: number | null = null, keepdim = false): Tensor {
  return argExtreme("min", x, dim, keepdim);
}

export interface VarOptions {
  /** Divide by n - 1 (Bessel's correction, the default, as PyTorch) or by n. */
  unbiased?: boolean;
  keepdim?: boolean;
}

/** Variance over dims, written with other ops (its gradient comes from theirs). */
export function variance(x: Tensor, dim: Dims = null, options: VarOptions = {}): Tensor {
  const { unbiased = true, keepdim = false } = options;
  const axes = normalizeDims("var", dim, x.ndim);
  let n = 1;
  for (const a of axes) n *= x.shape[a]!;
  const centered = sub(x, mean(x, axes, true));
  return div(sum(mul(centered, centered), axes, keepdim), unbiased ? n - 1 : n);
}

export function std(x: Tensor, dim: Dims = null, options: VarOptions = {}): Tensor {
  return sqrt(variance(x, dim, options));
}

/** log Σ exp(x) over dims, stable: the max is subtracted first. */
export function logsumexp(x: Tensor, dim: Dims = null, keepdim = false): Tensor {
  const m = amax(x, dim, true).detach();
  const finiteM = where(eq(m, Number.NEGATIVE_INFINITY), 0, m);
  const out = add(log(sum(exp(sub(x, finiteM)), dim, true)), finiteM);
  if (keepdim) return out;
  const axes = normalizeDims("logsumexp", dim, x.ndim);
  return reshape(
    out,
    x.shape.filter((_, d) => !axes.includes(d)),
  );
}

/** Sum g down to `shape` (undoing broadcasting): the gradient of a broadcast operand. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let d = 0; d < g.ndim; d++) {
    if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) axes.push(d);
  }
  return reshape(sum(g, axes, true), shape);
}

/** True when |a − b| <= atol + rtol·|b| everywhere (broadcast), like torch.allclose. Reads back synchronously. */
export function allclose(a: Tensor, b: Tensor, options: { rtol?: number; atol?: number } = {}): boolean {
  const { rtol = 1e-5, atol = 1e-8 } = options;
  const diff = abs(sub(a, b));
  const ok = le(diff, add(mul(abs(b), rtol), atol));
  const same = eq(a, b); // equal infinities
  return logicalOr(ok, same)
    .dataSync()
    .every((v) => v === 1);
}

/** True when a and b have the same shape and the same elements (torch.equal). */
export function equal(a: Tensor, b: Tensor): boolean {
  if (!sameShape(a.shape, b.shape)) return false;
  return eq(a, b)
    .dataSync()
    .every((v) => v === 1);
}
