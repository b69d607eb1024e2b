/** Shape arithmetic every backend needs (the tensor front end re-exports it). */

/** Row-major strides of a contiguous tensor of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** The number of elements of `shape`. */
export function product(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** True when a view's elements are its storage's in row-major order from its offset (size-1 dims aside). */
export function isContiguousView(view: { shape: readonly number[]; strides: readonly number[] }): boolean {
  let expected = 1;
  for (let d = view.shape.length - 1; d >= 0; d--) {
    const size = view.shape[d]!;
    if (size === 1) continue;
    if (view.strides[d] !== expected) return false;
    expected *= size;
  }
  return true;
}

/**
 * The dims a kernel walks: size-1 dims dropped, and each dim merged into the one before it where
 * every operand steps over the pair as one (a contiguous tensor is one dim, however many it has).
 * strides[q][d] is operand q's stride along merged dim d. Every backend's host side merges with
 * this: js's Rows, wasm's argument block, webgpu's meta block, the native batch dims.
 */
export function mergeDims(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const nd = shape.length;
  const k = strides.length;
  const flat = new Array<number>(nd * (k + 1)).fill(0);
  const n = mergeDimsInto(flat, { shapeAt: 0, stridesAt: nd, operandStride: k }, shape, nd, strides);
  const merged: number[][] = [];
  for (let q = 0; q < k; q++) {
    const s = new Array<number>(n);
    for (let m = 0; m < n; m++) s[m] = flat[nd + m * k + q]!;
    merged.push(s);
  }
  return { shape: flat.slice(0, n), strides: merged };
}

/** Where mergeDimsInto writes: sizes at shapeAt + m, operand q's stride at stridesAt + m·operandStride + q. */
export interface MergedLayout {
  shapeAt: number;
  stridesAt: number;
  operandStride: number;
  /** The most merged dims there is room for. */
  maxDims?: number;
}

/**
 * mergeDims over the first `end` dims, written into a flat array without allocating (the wasm
 * backend writes its argument block with it at every op). Returns the number of merged dims, or
 * maxDims + 1 when there are more (nothing is written past maxDims).
 */
export function mergeDimsInto(
  out: { [index: number]: number },
  { shapeAt, stridesAt, operandStride, maxDims = Number.POSITIVE_INFINITY }: MergedLayout,
  shape: readonly number[],
  end: number,
  strides: readonly (readonly number[])[],
): number {
  const k = strides.length;
  let n = 0;
  for (let d = 0; d < end; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    if (n > 0) {
      const previous = stridesAt + (n - 1) * operandStride;
      let merges = true;
      for (let q = 0; q < k && merges; q++) merges = out[previous + q] === strides[q]![d]! * size;
      if (merges) {
        out[shapeAt + n - 1] = out[shapeAt + n - 1]! * size;
        for (let q = 0; q < k; q++) out[previous + q] = strides[q]![d]!;
        continue;
      }
    }
    if (n === maxDims) return maxDims + 1;
    out[shapeAt + n] = size;
    for (let q = 0; q < k; q++) out[stridesAt + n * operandStride + q] = strides[q]![d]!;
    n++;
  }
  return n;
}

/** Shape or strides with `dim` moved last (lanes along `dim` become rows). */
export function moveDimLast(values: readonly number[], dim: number): number[] {
  const out = values.slice();
  const [v] = out.splice(dim, 1);
  out.push(v!);
  return out;
}
