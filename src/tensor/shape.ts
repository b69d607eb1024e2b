/** Shape arithmetic and the error messages that name what went wrong. */

import { product as numel } from "../backend/layout.js";

export { contiguousStrides } from "../backend/layout.js";
export { numel };

export type Shape = readonly number[];

export function shapeString(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** A dim in [-ndim, ndim) as a non-negative index; `extra` allows ndim + extra (unsqueeze, stack). */
export function normalizeDim(op: string, dim: number, ndim: number, extra = 0): number {
  const n = ndim + extra;
  if (!Number.isInteger(dim) || dim < -Math.max(n, 1) || dim >= Math.max(n, 1)) {
    throw new RangeError(
      `${op}: dimension ${dim} is out of range for a tensor with ${ndim} dims (expected ${-Math.max(n, 1)}..${Math.max(n, 1) - 1})`,
    );
  }
  return dim < 0 ? dim + n : dim;
}

/** Dims (int, list, or null/undefined = all) as sorted unique non-negative indices. */
export function normalizeDims(
  op: string,
  dims: number | readonly number[] | null | undefined,
  ndim: number,
): number[] {
  if (dims === null || dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === "number" ? [dims] : dims;
  const out = [...new Set(list.map((d) => normalizeDim(op, d, ndim)))];
  if (out.length !== list.length) throw new RangeError(`${op}: repeated dims in [${list.join(", ")}]`);
  return out.sort((a, b) => a - b);
}

/** NumPy/PyTorch broadcasting: align trailing dims; a 1 or a missing dim stretches. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const nd = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const d = nd - shape.length + i;
      const s = shape[i]!;
      if (s === out[d] || s === 1) continue;
      if (out[d] === 1) out[d] = s;
      else {
        throw new RangeError(
          `${op}: shapes ${shapes.map(shapeString).join(" and ")} cannot be broadcast together (dim ${d - nd}: ${out[d]} vs ${s})`,
        );
      }
    }
  }
  return out;
}

/** Resolve one -1 in a requested shape from the element count. */
export function inferShape(op: string, from: Shape, requested: Shape): number[] {
  const total = numel(from);
  const shape = [...requested];
  const unknown = shape.indexOf(-1);
  if (shape.lastIndexOf(-1) !== unknown)
    throw new RangeError(`${op}: only one dimension can be -1, got ${shapeString(requested)}`);
  if (unknown >= 0) {
    const known = numel(shape.filter((_, i) => i !== unknown));
    if (known === 0 || total % known !== 0) {
      throw new RangeError(
        `${op}: shape ${shapeString(requested)} is invalid for input of shape ${shapeString(from)} (${total} elements)`,
      );
    }
    shape[unknown] = total / known;
  }
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0)
      throw new RangeError(`${op}: invalid size ${s} in shape ${shapeString(requested)}`);
  }
  if (numel(shape) !== total) {
    throw new RangeError(
      `${op}: shape ${shapeString(requested)} is invalid for input of shape ${shapeString(from)} (${total} elements)`,
    );
  }
  return shape;
}

export function checkShape(op: string, shape: Shape): number[] {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0)
      throw new RangeError(`${op}: invalid size ${s} in shape ${shapeString(shape)}`);
  }
  return [...shape];
}
