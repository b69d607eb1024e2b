/**
 * Walking strided views without per-element index arithmetic.
 *
 * `Rows` splits a shape into rows (the last dim, after merging dims that are contiguous for every
 * operand) and keeps one running offset per operand. A kernel loops over rows and, inside a row,
 * steps each operand by its own stride: the inner loop is plain `p += step`. A contiguous tensor
 * is a single row however many dims it has.
 */
import { mergeDims, moveDimLast, product } from "../layout.js";
import type { Storage, TypedArray, View } from "../types.js";

export { contiguousStrides, moveDimLast, product } from "../layout.js";

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
    const outer = mergeDims(
      shape.slice(0, Math.max(outerEnd, 0)),
      strides.map((s) => s.slice(0, Math.max(outerEnd, 0))),
    );
    const empty = shape.includes(0);
    let length: number;
    if (keepLast && nd > 0) {
      length = shape[nd - 1]!;
      this.steps = strides.map((s) => s[nd - 1]!);
    } else if (outer.shape.length > 0) {
      length = outer.shape.pop()!;
      this.steps = outer.strides.map((s) => s.pop()!);
    } else {
      length = 1;
      this.steps = new Array<number>(k).fill(0);
    }
    this.length = length;
    this.outerShape = outer.shape;
    this.outerStrides = outer.shape.map((_, d) => outer.strides.map((s) => s[d]!));
    this.rows = empty ? 0 : product(this.outerShape);
    this.offsets = offsets.slice();
    this.index = new Array<number>(outer.shape.length).fill(0);
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
