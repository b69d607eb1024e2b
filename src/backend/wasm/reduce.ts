/** The wasm backend's reductions (as ../js/reduce.ts). */
import { contiguousStrides } from "../layout.js";
import { ARG_REDUCE_CODE, ArgReduceSlot, F, REDUCE_CODE, ReduceSlot, Slot, TopkSlot } from "../spec/abi.js";
import type { KernelArgs, View } from "../types.js";

import { unknownOp, type WasmBackend, type WasmStorage } from "./index.js";

export function reduce(this: WasmBackend, { op, x, axes, out }: KernelArgs["reduce"]): void {
  let outSize = 1;
  for (const s of out.shape) outSize *= s;
  const accStrides = contiguousStrides(out.shape);
  for (const ax of axes) accStrides[ax] = 0;
  const acc = this.temp(outSize * 8);
  const accView: View = {
    storage: { dtype: "float64", size: outSize, ptr: acc.ptr } as WasmStorage,
    shape: out.shape,
    strides: accStrides,
    offset: 0,
  };
  try {
    const a = this.args();
    this.walk(x.shape, [x, accView, out], [x.strides, accStrides, accStrides.map(() => 0)]);
    let count = 1;
    for (const ax of axes) count *= x.shape[ax]!;
    a[Slot.OP] = REDUCE_CODE[op] ?? unknownOp("reduce", op);
    a[ReduceSlot.OUT_SIZE] = outSize;
    this.setF(F.COUNT, count);
    this.exports.reduce();
  } finally {
    this.heap.free(acc.ptr, acc.capacity);
  }
}

export function argReduce(this: WasmBackend, { op, x, dim, values, indices }: KernelArgs["argReduce"]): void {
  const a = this.args();
  this.walkLanes(x.shape, dim, [x]);
  this.operand(1, indices);
  if (values) this.operand(2, values);
  a[Slot.OP] = ARG_REDUCE_CODE[op];
  a[ArgReduceSlot.HAS_VALUES] = values ? 1 : 0;
  a[ArgReduceSlot.INDICES_OFFSET] = indices.offset;
  a[ArgReduceSlot.VALUES_OFFSET] = values ? values.offset : 0;
  this.exports.argReduce();
}

export function topk(this: WasmBackend, { x, k, dim, largest, values, indices }: KernelArgs["topk"]): void {
  const n = x.shape[dim]!;
  const tmp = this.temp(16 * n);
  try {
    const a = this.args();
    this.walkLanes(x.shape, dim, [x, values, indices]);
    a[TopkSlot.K] = k;
    a[TopkSlot.LARGEST] = largest ? 1 : 0;
    a[TopkSlot.TEMP] = tmp.ptr;
    this.exports.topk();
  } finally {
    this.heap.free(tmp.ptr, tmp.capacity);
  }
}
