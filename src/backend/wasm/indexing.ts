/** The wasm backend's gathers and scatters (as ../js/indexing.ts). */
import { GATHER_MODE_CODE, GatherScatterSlot, Slot } from "../spec/abi.js";
import type { KernelArgs, View } from "../types.js";

import type { WasmBackend } from "./index.js";

export function gatherScatter(
  this: WasmBackend,
  name: string,
  scatter: boolean,
  shape: readonly number[],
  views: [View, View, View],
  strides: number[][],
  dim: number,
  size: number,
  dimStride: number,
): void {
  const a = this.args();
  this.walk(shape, views, strides);
  a[Slot.OP] = GATHER_MODE_CODE[scatter ? "scatter" : "gather"];
  a[GatherScatterSlot.DIM_SIZE] = size;
  a[GatherScatterSlot.DIM_STRIDE] = dimStride;
  this.pendingError = (_code, i) =>
    `${name}: index ${i} is out of range for dimension ${dim} with size ${size}`;
  this.exports.gatherScatter();
  this.checkError();
}

export function indexSelect(this: WasmBackend, { x, dim, index, out }: KernelArgs["indexSelect"]): void {
  this.gatherScatter(
    "indexSelect",
    false,
    out.shape,
    [x, index, out],
    [withoutDim(x.strides, dim), indexAlong(index, out.shape, dim), [...out.strides]],
    dim,
    x.shape[dim]!,
    x.strides[dim]!,
  );
}

export function indexAdd(this: WasmBackend, { src, dim, index, out }: KernelArgs["indexAdd"]): void {
  this.fill({ out, value: 0 });
  this.gatherScatter(
    "indexAdd",
    true,
    src.shape,
    [src, index, out],
    [[...src.strides], indexAlong(index, src.shape, dim), withoutDim(out.strides, dim)],
    dim,
    out.shape[dim]!,
    out.strides[dim]!,
  );
}

export function gather(this: WasmBackend, { x, dim, index, out }: KernelArgs["gather"]): void {
  this.gatherScatter(
    "gather",
    false,
    out.shape,
    [x, index, out],
    [withoutDim(x.strides, dim), [...index.strides], [...out.strides]],
    dim,
    x.shape[dim]!,
    x.strides[dim]!,
  );
}

export function scatterAdd(this: WasmBackend, { src, dim, index, out }: KernelArgs["scatterAdd"]): void {
  this.fill({ out, value: 0 });
  this.gatherScatter(
    "scatterAdd",
    true,
    index.shape,
    [src, index, out],
    [[...src.strides], [...index.strides], withoutDim(out.strides, dim)],
    dim,
    out.shape[dim]!,
    out.strides[dim]!,
  );
}

function withoutDim(strides: readonly number[], dim: number): number[] {
  const out = strides.slice();
  out[dim] = 0;
  return out;
}

function indexAlong(index: View, shape: readonly number[], dim: number): number[] {
  const strides = new Array<number>(shape.length).fill(0);
  strides[dim] = index.strides[0]!;
  return strides;
}
