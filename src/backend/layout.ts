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
