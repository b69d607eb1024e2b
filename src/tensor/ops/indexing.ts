/**
 * Gathers and scatters: indexSelect, gather, scatterAdd, topk, tril/triu, and x.index(...) with
 * integers, slices, null (new axis), "..." and int32 index tensors (x[i0, i1]).
 */
import { record } from "../autograd.js";
import { broadcastShapes, normalizeDim, numel, type Shape, shapeString } from "../shape.js";
import { Tensor } from "../tensor.js";
import { backendOf, empty, requireDType, viewOf } from "./core.js";
import { full, onesLike, zerosLike } from "./creation.js";
import { add, mul, where } from "./elementwise.js";
import { contiguous, expand, reshape, select, slice, unsqueeze } from "./views.js";

function requireIndex(op: string, index: Tensor): void {
  requireDType(op, index, "int32", "indices");
}

/** out = zeros(shape); out.scatter_add_(dim, index, src). Differentiable in src. */
export function scatterAddZeros(shape: Shape, dim: number, index: Tensor, src: Tensor): Tensor {
  requireIndex("scatterAdd", index);
  const backend = backendOf("scatterAdd", index, src);
  const out = empty(shape, src.dtype, backend);
  backend.run("scatterAdd", { src: viewOf(src), dim, index: viewOf(index), out: viewOf(out) });
  return record(out, "scatterAdd", [src], (g) => [gather(g, dim, index)]);
}

/** x + (src scattered into x's shape at index along dim), like PyTorch's scatter_add. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normalizeDim("scatterAdd", dim, x.ndim);
  return add(x, scatterAddZeros(x.shape, d, index, src));
}

/** out[i][j] = x[i][index[i][j]] for dim 1 (torch.gather); index has the output's shape. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  requireIndex("gather", index);
  const d = normalizeDim("gather", dim, x.ndim);
  if (index.ndim !== x.ndim) {
    throw new RangeError(
      `gather: index ${shapeString(index.shape)} must have as many dims as input ${shapeString(x.shape)}`,
    );
  }
  const backend = backendOf("gather", x, index);
  const out = empty(index.shape, x.dtype, backend);
  backend.run("gather", { x: viewOf(x), dim: d, index: viewOf(index), out: viewOf(out) });
  return record(out, "gather", [x], (g) => [scatterAddZeros(x.shape, d, index, g)]);
}

/** Slices of x along dim picked by a 1-D int32 index (repeats allowed; gradients accumulate). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  requireIndex("indexSelect", index);
  if (index.ndim !== 1)
    throw new RangeError(`indexSelect: index must be 1-D, got shape ${shapeString(index.shape)}`);
  const d = normalizeDim("indexSelect", dim, x.ndim);
  const backend = backendOf("indexSelect", x, index);
  const shape = [...x.shape];
  shape[d] = index.shape[0]!;
  const out = empty(shape, x.dtype, backend);
  backend.run("indexSelect", { x: viewOf(x), dim: d, index: viewOf(index), out: viewOf(out) });
  return record(out, "indexSelect", [x], (g) => {
    const dx = empty(x.shape, g.dtype, g.backend);
    g.backend.run("indexAdd", { src: viewOf(g), dim: d, index: viewOf(index), out: viewOf(dx) });
    return [dx];
  });
}

export interface TopkOptions {
  dim?: number;
  largest?: boolean;
  sorted?: boolean;
}

/** The k largest (or smallest) elements along dim, sorted, with their int32 indices. */
export function topk(x: Tensor, k: number, options: TopkOptions = {}): { values: Tensor; indices: Tensor } {
  const { dim = -1, largest = true } = options;
  const d = normalizeDim("topk", dim, x.ndim);
  const size = x.shape[d]!;
  if (!Number.isInteger(k) || k < 0 || k > size) {
    throw new RangeError(`topk: k = ${k} is out of range for dimension ${d} with size ${size}`);
  }
  const shape = [...x.shape];
  shape[d] = k;
  const values = empty(shape, x.dtype, x.backend);
  const indices = empty(shape, "int32", x.backend);
  x.backend.run("topk", {
    x: viewOf(x),
    k,
    dim: d,
    largest,
    values: viewOf(values),
    indices: viewOf(indices),
  });
  record(values, "topk", [x], (g) => [scatterAddZeros(x.shape, d, indices, g)]);
  return { values, indices };
}

function triangle(op: "tril" | "triu", x: Tensor, diagonal: number): Tensor {
  if (x.ndim < 2) throw new RangeError(`${op}: expected at least 2 dims, got shape ${shapeString(x.shape)}`);
  const out = empty(x.shape, x.dtype, x.backend);
  x.backend.run("triangle", { x: viewOf(x), diagonal, upper: op === "triu", out: viewOf(out) });
  return record(out, op, [x], (g) => [triangle(op, g, diagonal)]);
}

/** Keep x[..., i, j] where j - i <= diagonal, else 0. */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return triangle("tril", x, diagonal);
}

/** Keep x[..., i, j] where j - i >= diagonal, else 0. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return triangle("triu", x, diagonal);
}

/** One entry of x.index(...): see `index`. */
export type IndexSpec =
  | number
  | string
  | null
  | { start?: number | null; end?: number | null; step?: number }
  | Tensor;

function parseSlice(spec: string): { start: number | null; end: number | null; step: number } {
  const parts = spec.split(":").map((p) => p.trim());
  if (parts.length < 2 || parts.length > 3)
    throw new RangeError(`index: cannot read "${spec}" as a slice like "1:3" or "::2"`);
  const num = (p: string | undefined) => {
    if (p === undefined || p === "") return null;
    const n = Number(p);
    if (!Number.isInteger(n)) throw new RangeError(`index: "${p}" in "${spec}" is not an integer`);
    return n;
  };
  return { start: num(parts[0]), end: num(parts[1]), step: num(parts[2]) ?? 1 };
}

/**
 * PyTorch-style indexing, one spec per dim: an integer picks (and removes) the dim; ":" / "1:3" /
 * "::2" / {start, end, step} slice it; null inserts a new dim; "..." stands for the dims not
 * mentioned; int32 tensors pick elements (x.index(rows, cols) is x[rows, cols]) and must be
 * adjacent. Basic indexing returns a view.
 */
export function index(x: Tensor, ...specs: IndexSpec[]): Tensor {
  const consumes = (s: IndexSpec) => s !== null && s !== "...";
  const used = specs.filter(consumes).length;
  if (used > x.ndim)
    throw new RangeError(`index: too many indices (${used}) for a tensor with ${x.ndim} dims`);
  const ellipsis = specs.indexOf("...");
  if (ellipsis !== specs.lastIndexOf("...")) throw new RangeError("index: only one '...' is allowed");
  const expanded: IndexSpec[] =
    ellipsis >= 0
      ? [
          ...specs.slice(0, ellipsis),
          ...new Array<IndexSpec>(x.ndim - used).fill(":"),
          ...specs.slice(ellipsis + 1),
        ]
      : specs;
  let out = x;
  let d = 0;
  const tensorDims: { dim: number; index: Tensor }[] = [];
  for (const spec of expanded) {
    if (spec === null) {
      out = unsqueeze(out, d);
      d++;
    } else if (typeof spec === "number") {
      out = select(out, d, spec);
    } else if (spec instanceof Tensor) {
      tensorDims.push({ dim: d, index: spec });
      d++;
    } else {
      const s = typeof spec === "string" ? parseSlice(spec) : spec;
      out = slice(out, d, s.start ?? null, s.end ?? null, s.step ?? 1);
      d++;
    }
  }
  if (tensorDims.length === 0) return out;
  return advancedIndex(out, tensorDims);
}

/** x[..., i0, i1, ...] with adjacent int32 index tensors broadcast together. */
function advancedIndex(x: Tensor, picks: { dim: number; index: Tensor }[]): Tensor {
  const { source, positions, indexShape, first, rest } = flatPositions("index", x, picks);
  const picked = indexSelect(source, first, positions);
  return reshape(picked, [...x.shape.slice(0, first), ...indexShape, ...rest]);
}

/**
 * The picked dims of x merged into one (source) and the index tensors folded into one flat
 * position per picked element along it (positions, 1-D).
 */
function flatPositions(op: string, x: Tensor, picks: { dim: number; index: Tensor }[]) {
  const first = picks[0]!.dim;
  picks.forEach((p, k) => {
    if (p.dim !== first + k)
      throw new RangeError(`${op}: index tensors must be adjacent (x[:, i, j] works, x[i, :, j] does not)`);
    if (p.index.dtype === "bool")
      throw new TypeError(`${op}: boolean mask indexing is not supported; use maskedFill() or where()`);
    requireIndex(op, p.index);
  });
  const indexShape = broadcastShapes(op, ...picks.map((p) => p.index.shape));
  let flat: Tensor | null = null;
  for (const p of picks) {
    const size = x.shape[p.dim]!;
    let i = p.index;
    if (checkIndexRange(i, p.dim, size)) i = where(i.lt(0), add(i, size), i);
    flat = flat ? add(mul(flat, size), i) : i;
  }
  const pickedSize = numel(picks.map((p) => x.shape[p.dim]!));
  const rest = x.shape.slice(first + picks.length);
  const source = reshape(contiguous(x), [...x.shape.slice(0, first), pickedSize, ...rest]);
  const positions = reshape(contiguous(expand(flat!, indexShape)), [-1]);
  return { source, positions, indexShape, first, rest };
}

/** x + src added into the slices of x along dim picked by index (PyTorch's index_add). */
export function indexAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  requireIndex("indexAdd", index);
  const d = normalizeDim("indexAdd", dim, x.ndim);
  const backend = backendOf("indexAdd", x, index, src);
  const scattered = empty(x.shape, src.dtype, backend);
  backend.run("indexAdd", { src: viewOf(src), dim: d, index: viewOf(index), out: viewOf(scattered) });
  record(scattered, "indexAdd", [src], (g) => [indexSelect(g, d, index)]);
  return add(x, scattered);
}

export interface IndexPutOptions {
  /** Add the values (repeated positions add up) instead of writing them. */
  accumulate?: boolean;
}

/**
 * A copy of x with x[i0, i1, ...] = values (or += with accumulate): PyTorch's index_put, the
 * functional form of `dlogprobs[range(n), Yb] = -1.0/n`. Index tensors pick the leading dims;
 * values broadcast to the picked shape. Without accumulate, repeated positions add their values.
 */
export function indexPut(
  x: Tensor,
  indices: readonly Tensor[],
  values: Tensor | number,
  options: IndexPutOptions = {},
): Tensor {
  if (indices.length === 0 || indices.length > x.ndim) {
    throw new RangeError(`indexPut: expected 1 to ${x.ndim} index tensors, got ${indices.length}`);
  }
  const { source, positions, indexShape, rest } = flatPositions(
    "indexPut",
    x,
    indices.map((index, dim) => ({ dim, index })),
  );
  const valueTensor =
    typeof values === "number" ? full([], values, { dtype: x.dtype, backend: x.backend }) : values;
  const rows = reshape(contiguous(expand(valueTensor, [...indexShape, ...rest])), [
    positions.shape[0]!,
    ...rest,
  ]);
  let out: Tensor;
  if (options.accumulate) out = indexAdd(source, 0, positions, rows);
  else {
    const hit = indexAdd(
      zerosLike(source, { dtype: "int32" }),
      0,
      positions,
      onesLike(rows, { dtype: "int32" }),
    );
    out = where(hit.gt(0), indexAdd(zerosLike(source), 0, positions, rows), source);
  }
  return reshape(out, x.shape);
}

/**
 * On synchronous backends, name the offending index before it is folded into a flat position.
 * Returns whether negative indices (counting from the end) may be present.
 */
function checkIndexRange(index: Tensor, dim: number, size: number): boolean {
  if (!index.backend.readSync) return true;
  let negative = false;
  for (const v of index.dataSync()) {
    if (v < -size || v >= size)
      throw new RangeError(`index ${v} is out of range for dimension ${dim} with size ${size}`);
    if (v < 0) negative = true;
  }
  return negative;
}
