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
  const sizes: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const n = sizes.length;
    if (n > 0 && mergesWithPrevious(strides, out, d, n - 1, size)) {
      sizes[n - 1]! *= size;
      for (let q = 0; q < strides.length; q++) out[q]![n - 1] = strides[q]![d]!;
      continue;
    }
    sizes.push(size);
    for (let q = 0; q < strides.length; q++) out[q]!.push(strides[q]![d]!);
  }
  return { shape: sizes, strides: out };
}

/** Whether dim `d` continues merged dim `m` for every operand (a loop: this runs for every op). */
function mergesWithPrevious(
  strides: readonly (readonly number[])[],
  out: readonly number[][],
  d: number,
  m: number,
  size: number,
): boolean {
  for (let q = 0; q < strides.length; q++) if (out[q]![m] !== strides[q]![d]! * size) return false;
  return true;
}

/** Shape or strides with `dim` moved last (lanes along `dim` become rows). */
export function moveDimLast(values: readonly number[], dim: number): number[] {
  const out = values.slice();
  const [v] = out.splice(dim, 1);
  out.push(v!);
  return out;
}
