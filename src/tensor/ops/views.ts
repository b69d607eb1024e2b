/**
 * Views share storage: reshape/view, transpose, permute, slice/narrow/select, expand,
 * squeeze/unsqueeze, indexing. Each backward is another view (or a copy into zeros for slices).
 * cat, stack, split and chunk live here too.
 */
import { PartialGrad, record } from "../autograd.js";
import {
  broadcastShapes,
  contiguousStrides,
  inferShape,
  normalizeDim,
  numel,
  type Shape,
  sameShape,
  shapeString,
} from "../shape.js";
import type { Tensor } from "../tensor.js";
import { backendOf, empty, promote, rawView } from "./core.js";
import { assign, cast, clone } from "./elementwise.js";
import { sumTo } from "./reduce.js";

/** True when t's elements are laid out row-major without gaps (size-1 dims don't matter). */
export function isContiguous(t: Tensor): boolean {
  let expected = 1;
  for (let d = t.ndim - 1; d >= 0; d--) {
    const s = t.shape[d]!;
    if (s === 1) continue;
    if (t.strides[d] !== expected) return false;
    expected *= s;
  }
  return true;
}

/** t itself if contiguous, else a contiguous copy. */
export function contiguous(t: Tensor): Tensor {
  return isContiguous(t) ? t : clone(t);
}

/**
 * Strides that show x's elements in `shape` without copying, or null when its layout cannot
 * (PyTorch's rule: each run of dims that is contiguous in memory may be split or merged freely).
 */
export function viewStrides(oldShape: Shape, oldStrides: readonly number[], shape: Shape): number[] | null {
  if (oldShape.length === 0) return contiguousStrides(shape);
  if (numel(oldShape) === 0) return contiguousStrides(shape);
  const strides = new Array<number>(shape.length);
  let viewD = shape.length - 1;
  let chunkBaseStride = oldStrides.at(-1)!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d]!;
    // A run ends where the next dim out is not laid out right after this one.
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        strides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= shape[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBaseStride = oldStrides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? strides : null;
}

/** Same elements in a new shape (one -1 is inferred): a view when the layout allows, else a copy. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const target = inferShape("reshape", x.shape, shape);
  if (sameShape(target, x.shape)) return x;
  const strides = viewStrides(x.shape, x.strides, target);
  const source = strides ? x : clone(x);
  const out = rawView(source, target, strides ?? undefined);
  return record(out, "reshape", [source], (g) => [reshape(g, source.shape)]);
}

/** Like reshape but never copies: an error when x's layout cannot show the new shape. */
export function view(x: Tensor, shape: Shape): Tensor {
  const target = inferShape("view", x.shape, shape);
  const strides = viewStrides(x.shape, x.strides, target);
  if (!strides) {
    throw new Error(
      `view: input of shape ${shapeString(x.shape)} with strides ${shapeString(x.strides)} cannot be viewed as ${shapeString(target)} without copying; use reshape() (which copies) or call contiguous() first`,
    );
  }
  const out = rawView(x, target, strides);
  return record(out, "view", [x], (g) => [reshape(g, x.shape)]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim("flatten", startDim, x.ndim);
  const e = normalizeDim("flatten", endDim, x.ndim);
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) {
    throw new RangeError(
      `permute: got ${dims.length} dims [${dims.join(", ")}] for a tensor with ${x.ndim} dims`,
    );
  }
  const order = dims.map((d) => normalizeDim("permute", d, x.ndim));
  if (new Set(order).size !== order.length)
    throw new RangeError(`permute: repeated dims in [${dims.join(", ")}]`);
  const out = rawView(
    x,
    order.map((d) => x.shape[d]!),
    order.map((d) => x.strides[d]!),
  );
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => {
    inverse[d] = i;
  });
  return record(out, "permute", [x], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0 = 0, dim1 = 1): Tensor {
  const a = normalizeDim("transpose", dim0, x.ndim);
  const b = normalizeDim("transpose", dim1, x.ndim);
  const order = x.shape.map((_, i) => i);
  order[a] = b;
  order[b] = a;
  return permute(x, order);
}

/** Broadcast to `shape` without copying (stride 0 on stretched dims); -1 keeps a size. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.ndim;
  if (lead < 0)
    throw new RangeError(
      `expand: cannot expand shape ${shapeString(x.shape)} to fewer dims ${shapeString(shape)}`,
    );
  const target = shape.map((s, d) => (s === -1 && d >= lead ? x.shape[d - lead]! : s));
  const check = broadcastShapes("expand", x.shape, target);
  if (!sameShape(check, target)) {
    throw new RangeError(`expand: shape ${shapeString(x.shape)} cannot be expanded to ${shapeString(shape)}`);
  }
  if (sameShape(target, x.shape)) return x;
  const strides = target.map((s, d) => {
    if (d < lead) return 0;
    return x.shape[d - lead] === 1 && s !== 1 ? 0 : x.strides[d - lead]!;
  });
  const out = rawView(x, target, strides);
  return record(out, "expand", [x], (g) => [sumTo(g, x.shape)]);
}

export function expandAs(x: Tensor, other: Tensor): Tensor {
  return expand(x, other.shape);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim("unsqueeze", dim, x.ndim, 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d]! * x.shape[d]! : 1);
  const out = rawView(x, shape, strides);
  return record(out, "unsqueeze", [x], (g) => [squeeze(g, d)]);
}

/** Remove size-1 dims: the one at `dim`, or all of them. */
export function squeeze(x: Tensor, dim?: number | null): Tensor {
  let drop: number[];
  if (dim === undefined || dim === null) drop = x.shape.flatMap((s, d) => (s === 1 ? [d] : []));
  else {
    const d = normalizeDim("squeeze", dim, x.ndim);
    drop = x.shape[d] === 1 ? [d] : [];
  }
  if (drop.length === 0) return x;
  const out = rawView(
    x,
    x.shape.filter((_, d) => !drop.includes(d)),
    x.strides.filter((_, d) => !drop.includes(d)),
  );
  return record(out, "squeeze", [x], (g) => [reshape(g, x.shape)]);
}

/** The gradient of a view that picks part of x: zeros of x's shape with g written into that part. */

/** Python's start:end:step on one dim (negative start/end count from the end; null = open). */
export function slice(
  x: Tensor,
  dim: number,
  start: number | null = null,
  end: number | null = null,
  step = 1,
): Tensor {
  const d = normalizeDim("slice", dim, x.ndim);
  if (!Number.isInteger(step) || step < 1)
    throw new RangeError(`slice: step must be a positive integer, got ${step}`);
  const size = x.shape[d]!;
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const s = start === null ? 0 : clampIndex(start);
  const e = end === null ? size : clampIndex(end);
  const length = e > s ? Math.ceil((e - s) / step) : 0;
  const shape = [...x.shape];
  shape[d] = length;
  const strides = [...x.strides];
  strides[d] = x.strides[d]! * step;
  const out = rawView(x, shape, strides, x.offset + s * x.strides[d]!);
  return record(out, "slice", [x], (g) => [new PartialGrad(g, (z) => slice(z, d, s, e, step))]);
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim("narrow", dim, x.ndim);
  const size = x.shape[d]!;
  const s = start < 0 ? start + size : start;
  if (s < 0 || length < 0 || s + length > size) {
    throw new RangeError(
      `narrow: start ${start} and length ${length} are out of range for dimension ${dim} with size ${size}`,
    );
  }
  return slice(x, d, s, s + length);
}

/** x[..., i, ...] at dim (the dim disappears). */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim("select", dim, x.ndim);
  const size = x.shape[d]!;
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new RangeError(`index ${index} is out of range for dimension ${d} with size ${size}`);
  }
  const i = index < 0 ? index + size : index;
  const out = rawView(
    x,
    x.shape.filter((_, k) => k !== d),
    x.strides.filter((_, k) => k !== d),
    x.offset + i * x.strides[d]!,
  );
  return record(out, "select", [x], (g) => [new PartialGrad(g, (z) => select(z, d, i))]);
}

/** Concatenate along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("cat: expected a non-empty list of tensors");
  const first = tensors[0]!;
  const d = normalizeDim("cat", dim, first.ndim);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((s, k) => k !== d && s !== first.shape[k])) {
      throw new RangeError(
        `cat: shapes ${tensors.map((x) => shapeString(x.shape)).join(", ")} differ outside dimension ${d}`,
      );
    }
  }
  const backend = backendOf("cat", ...tensors);
  const dtype = tensors.map((t) => t.dtype).reduce(promote);
  const shape = [...first.shape];
  shape[d] = tensors.reduce((n, t) => n + t.shape[d]!, 0);
  const out = empty(shape, dtype, backend);
  let offset = 0;
  const starts: number[] = [];
  for (const t of tensors) {
    starts.push(offset);
    assign(slice(out, d, offset, offset + t.shape[d]!), cast(t, dtype));
    offset += t.shape[d]!;
  }
  return record(out, "cat", tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? slice(g, d, starts[i]!, starts[i]! + t.shape[d]!) : null)),
  );
}

/** Stack equal-shaped tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("stack: expected a non-empty list of tensors");
  const first = tensors[0]!;
  for (const t of tensors) {
    if (!sameShape(t.shape, first.shape)) {
      throw new RangeError(
        `stack: expects equal shapes, got ${tensors.map((x) => shapeString(x.shape)).join(", ")}`,
      );
    }
  }
  const d = normalizeDim("stack", dim, first.ndim, 1);
  return cat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}

/** Split into pieces of `size` (the last may be smaller) or of the listed sizes, along dim. */
export function split(x: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeDim("split", dim, x.ndim);
  const total = x.shape[d]!;
  let list: number[];
  if (typeof sizes === "number") {
    list = [];
    for (let s = 0; s < total; s += sizes) list.push(Math.min(sizes, total - s));
  } else {
    list = [...sizes];
    const sum = list.reduce((a, b) => a + b, 0);
    if (sum !== total)
      throw new RangeError(
        `split: sizes [${list.join(", ")}] sum to ${sum}, but dimension ${d} has size ${total}`,
      );
  }
  let start = 0;
  return list.map((n) => {
    const piece = slice(x, d, start, start + n);
    start += n;
    return piece;
  });
}

/** Split into `chunks` nearly equal pieces along dim. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const d = normalizeDim("chunk", dim, x.ndim);
  return split(x, Math.ceil(x.shape[d]! / chunks), d);
}
