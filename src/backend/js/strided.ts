/**
 * Walking strided views without per-element index arithmetic.
 *
 * `Rows` splits a shape into rows (the last dim, after merging dims that are contiguous for every
 * operand) and keeps one running offset per operand. A kernel loops over rows and, inside a row,
 * steps each operand by its own stride: the inner loop is plain `p += step`. A contiguous tensor
 * is a single row however many dims it has.
 */
import { mergeDimsInto, moveDimLast, product } from "../layout.js";
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
    const outerEnd = Math.max(keepLast ? nd - 1 : nd, 0);
    // Sizes at 0.., then operand q's stride along merged dim d at outerEnd + d·k + q.
    const merged = new Array<number>(outerEnd * (k + 1)).fill(0);
    let dims = mergeDimsInto(
      merged,
      { shapeAt: 0, stridesAt: outerEnd, operandStride: k },
      shape,
      outerEnd,
      strides,
    );
    const steps = new Array<number>(k).fill(0);
    let length = 1;
    if (keepLast && nd > 0) {
      length = shape[nd - 1]!;
      for (let q = 0; q < k; q++) steps[q] = strides[q]![nd - 1]!;
    } else if (dims > 0) {
      dims--;
      length = merged[dims]!;
      for (let q = 0; q < k; q++) steps[q] = merged[outerEnd + dims * k + q]!;
    }
    this.length = length;
    this.steps = steps;
    this.outerShape = merged.slice(0, dims);
    this.outerStrides = [];
    for (let d = 0; d < dims; d++)
      this.outerStrides.push(merged.slice(outerEnd + d * k, outerEnd + d * k + k));
    this.rows = shape.includes(0) ? 0 : product(this.outerShape);
    this.offsets = offsets.slice();
    this.index = new Array<number>(dims).fill(0);
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
