/**
 * Walking strided views without per-element index arithmetic.
 *
 * `Rows` splits a shape into rows (the last dim, after merging dims that are contiguous for every
 * operand) and keeps one running offset per operand. A kernel loops over rows and, inside a row,
 * steps each operand by its own stride: the inner loop is plain `p += step`. A contiguous tensor
 * is a single row however many dims it has.
 */
import { product } from "../layout.js";
import type { Storage, TypedArray, View } from "../types.js";

export { contiguousStrides, product } from "../layout.js";

export interface JsStorage extends Storage {
  readonly data: TypedArray;
  freed: boolean;
}

/** The typed array behind a view. */
export function dataOf(view: View): TypedArray {
  return (view.storage as JsStorage).data;
}

export class Rows {
  /** Number of rows. */
  readonly rows: number;
  /** Elements per row. */
  readonly length: number;
  /** Per operand: the stride within a row. */
  readonly steps: number[];
  /** Per operand: the offset of the current row's first element. */
  readonly offsets: number[];
  private readonly outerShape: number[];
  /** outerStrides[d][k]: stride of operand k along outer dim d. */
  private readonly outerStrides: number[][];
  private readonly index: number[];

  /**
   * @param keepLast keep the last dim as the row even if it could merge (lanes along one dim:
   *   softmax, argmax, topk move that dim last and pass keepLast).
   */
  constructor(
    shape: readonly number[],
    strides: readonly (readonly number[])[],
    offsets: readonly number[],
    keepLast = false,
  ) {
    const k = strides.length;
    const nd = shape.length;
    const outerEnd = keepLast ? nd - 1 : nd;
    const dims: { size: number; strides: number[] }[] = [];
    let empty = false;
    for (let d = 0; d < outerEnd; d++) {
      const size = shape[d]!;
      if (size === 0) empty = true;
      if (size === 1) continue;
      const st = strides.map((s) => s[d]!);
      const prev = dims.at(-1);
      if (prev?.strides.every((p, i) => p === st[i]! * size)) {
        prev.size *= size;
        prev.strides = st;
      } else {
        dims.push({ size, strides: st });
      }
    }
    let inner: { size: number; strides: number[] };
    if (keepLast && nd > 0) inner = { size: shape[nd - 1]!, strides: strides.map((s) => s[nd - 1]!) };
    else inner = dims.pop() ?? { size: 1, strides: new Array<number>(k).fill(0) };
    if (inner.size === 0) empty = true;
    this.length = inner.size;
    this.steps = inner.strides;
    this.outerShape = dims.map((d) => d.size);
    this.outerStrides = dims.map((d) => d.strides);
    this.rows = empty ? 0 : product(this.outerShape);
    this.offsets = offsets.slice();
    this.index = new Array<number>(dims.length).fill(0);
  }

  /** Move the offsets to the next row (row-major order). */
  next(): void {
    const offsets = this.offsets;
    for (let d = this.outerShape.length - 1; d >= 0; d--) {
      const strides = this.outerStrides[d]!;
      if (++this.index[d]! < this.outerShape[d]!) {
        for (let k = 0; k < offsets.length; k++) offsets[k]! += strides[k]!;
        return;
      }
      this.index[d] = 0;
      const back = this.outerShape[d]! - 1;
      for (let k = 0; k < offsets.length; k++) offsets[k]! -= strides[k]! * back;
    }
  }
}

/** A view's shape and strides with `dim` moved last (lanes along `dim` become rows). */
export function moveDimLast(values: readonly number[], dim: number): number[] {
  const out = values.slice();
  const [v] = out.splice(dim, 1);
  out.push(v!);
  return out;
}

/** Rows that are lanes along `dim`: one row per position of the other dims, in row-major order. */
export function lanes(shape: readonly number[], dim: number, views: readonly View[]): Rows {
  return new Rows(
    moveDimLast(shape, dim),
    views.map((v) => moveDimLast(v.strides, dim)),
    views.map((v) => v.offset),
    true,
  );
}

/** Strides of `view` with `dim` zeroed: the offset of a position ignoring its index along dim. */
export function withoutDim(strides: readonly number[], dim: number): number[] {
  const out = strides.slice();
  out[dim] = 0;
  return out;
}
