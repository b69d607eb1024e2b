/**
 * Gathers and scatters along one dim. Each walks the index-shaped tensor once; the source or
 * destination offset ignores `dim` (stride 0) and adds index·stride[dim] per element.
 */
import type { KernelArgs, View } from "../types.js";
import { fill } from "./elementwise.js";
import { dataOf, Rows, withoutDim } from "./strided.js";

function checkIndex(op: string, i: number, dim: number, size: number): void {
  if (!(i >= 0 && i < size)) {
    throw new RangeError(`${op}: index ${i} is out of range for dimension ${dim} with size ${size}`);
  }
}

/** The index [K] seen as a tensor of `shape` that varies only along `dim`. */
function indexAlong(index: View, shape: readonly number[], dim: number): number[] {
  const strides = new Array<number>(shape.length).fill(0);
  strides[dim] = index.strides[0]!;
  return strides;
}

export function indexSelect({ x, dim, index, out }: KernelArgs["indexSelect"]): void {
  const xs = dataOf(x);
  const is = dataOf(index);
  const o = dataOf(out);
  const size = x.shape[dim]!;
  const sd = x.strides[dim]!;
  const it = new Rows(
    out.shape,
    [withoutDim(x.strides, dim), indexAlong(index, out.shape, dim), out.strides],
    [x.offset, index.offset, out.offset],
  );
  const [sx, si, so] = it.steps as [number, number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [px, pi, po] = it.offsets as [number, number, number];
    for (let j = 0; j < it.length; j++, px += sx, pi += si, po += so) {
      const i = is[pi]!;
      checkIndex("indexSelect", i, dim, size);
      o[po] = xs[px + i * sd]!;
    }
  }
}

export function indexAdd({ src, dim, index, out }: KernelArgs["indexAdd"]): void {
  const ss = dataOf(src);
  const is = dataOf(index);
  const o = dataOf(out);
  fill({ out, value: 0 });
  const size = out.shape[dim]!;
  const sd = out.strides[dim]!;
  const it = new Rows(
    src.shape,
    [src.strides, indexAlong(index, src.shape, dim), withoutDim(out.strides, dim)],
    [src.offset, index.offset, out.offset],
  );
  const [ss_, si, so] = it.steps as [number, number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [ps, pi, po] = it.offsets as [number, number, number];
    for (let j = 0; j < it.length; j++, ps += ss_, pi += si, po += so) {
      const i = is[pi]!;
      checkIndex("indexAdd", i, dim, size);
      o[po + i * sd]! += ss[ps]!;
    }
  }
}

export function gather({ x, dim, index, out }: KernelArgs["gather"]): void {
  const xs = dataOf(x);
  const is = dataOf(index);
  const o = dataOf(out);
  const size = x.shape[dim]!;
  const sd = x.strides[dim]!;
  const it = new Rows(
    out.shape,
    [withoutDim(x.strides, dim), index.strides, out.strides],
    [x.offset, index.offset, out.offset],
  );
  const [sx, si, so] = it.steps as [number, number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [px, pi, po] = it.offsets as [number, number, number];
    for (let j = 0; j < it.length; j++, px += sx, pi += si, po += so) {
      const i = is[pi]!;
      checkIndex("gather", i, dim, size);
      o[po] = xs[px + i * sd]!;
    }
  }
}

export function scatterAdd({ src, dim, index, out }: KernelArgs["scatterAdd"]): void {
  const ss = dataOf(src);
  const is = dataOf(index);
  const o = dataOf(out);
  fill({ out, value: 0 });
  const size = out.shape[dim]!;
  const sd = out.strides[dim]!;
  const it = new Rows(
    index.shape,
    [src.strides, index.strides, withoutDim(out.strides, dim)],
    [src.offset, index.offset, out.offset],
  );
  const [ss_, si, so] = it.steps as [number, number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [ps, pi, po] = it.offsets as [number, number, number];
    for (let j = 0; j < it.length; j++, ps += ss_, pi += si, po += so) {
      const i = is[pi]!;
      checkIndex("scatterAdd", i, dim, size);
      o[po + i * sd]! += ss[ps]!;
    }
  }
}
