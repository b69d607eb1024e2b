/** The wasm backend's softmax, cross-entropy and layer norm (as ../js/nn.ts). */
import { CrossEntropySlot, F, LayerNormSlot, REDUCTION_CODE, Slot, SoftmaxSlot } from "../spec/abi.js";
import type { KernelArgs, View } from "../types.js";

import type { WasmBackend, WasmStorage } from "./index.js";

export function softmax(this: WasmBackend, { x, dim, log, out }: KernelArgs["softmax"]): void {
  const a = this.args();
  this.walkLanes(x.shape, dim, [x, out]);
  a[SoftmaxSlot.LOG] = log ? 1 : 0;
  this.launch("softmax", PARALLEL_SOFTMAX_ELEMENTS);
}

export function softmaxBackward(
  this: WasmBackend,
  { y, g, dim, log, out }: KernelArgs["softmaxBackward"],
): void {
  const a = this.args();
  this.walkLanes(y.shape, dim, [y, g, out]);
  a[SoftmaxSlot.LOG] = log ? 1 : 0;
  this.launch("softmaxBackward", PARALLEL_SOFTMAX_ELEMENTS);
}

export function crossEntropyArgs(
  this: WasmBackend,
  logits: View,
  target: View,
  ignoreIndex: number,
  reduction: "mean" | "sum" | "none",
  out: View,
): number {
  const a = this.args();
  const [N, C] = logits.shape as [number, number];
  this.operand(0, logits);
  this.operand(1, target);
  this.operand(2, out);
  a[CrossEntropySlot.N] = N;
  a[CrossEntropySlot.C] = C;
  a[CrossEntropySlot.IGNORE_INDEX] = ignoreIndex;
  a[Slot.OP] = REDUCTION_CODE[reduction];
  a[CrossEntropySlot.LOGITS_ROW] = logits.strides[0]!;
  a[CrossEntropySlot.LOGITS_COL] = logits.strides[1]!;
  a[CrossEntropySlot.TARGET_STRIDE] = target.strides[0]!;
  this.pendingError = (_code, t) => `crossEntropy: target ${t} is out of range for ${C} classes`;
  return C;
}

export function crossEntropy(
  this: WasmBackend,
  { logits, target, ignoreIndex, reduction, out }: KernelArgs["crossEntropy"],
): void {
  this.crossEntropyArgs(logits, target, ignoreIndex, reduction, out);
  this.exports.crossEntropy();
  this.checkError();
}

export function crossEntropyBackward(this: WasmBackend, args: KernelArgs["crossEntropyBackward"]): void {
  const { logits, target, g, ignoreIndex, reduction, out } = args;
  this.crossEntropyArgs(logits, target, ignoreIndex, reduction, out);
  this.operand(3, g);
  this.args()[CrossEntropySlot.G_STRIDE] = g.strides[0] ?? 0;
  this.exports.crossEntropyBackward();
  this.checkError();
}

export function layerNorm(
  this: WasmBackend,
  { x, weight, bias, eps, out, mean, rstd }: KernelArgs["layerNorm"],
): void {
  const a = this.args();
  const [R, D] = x.shape as [number, number];
  this.operand(0, x);
  this.operand(1, out);
  this.operand(2, mean);
  this.operand(3, rstd);
  a[LayerNormSlot.R] = R;
  a[LayerNormSlot.D] = D;
  a[LayerNormSlot.X_ROW] = x.strides[0]!;
  a[LayerNormSlot.X_COL] = x.strides[1]!;
  a[LayerNormSlot.WEIGHT] = weight ? (weight.storage as WasmStorage).ptr : 0;
  a[LayerNormSlot.BIAS] = bias ? (bias.storage as WasmStorage).ptr : 0;
  a[LayerNormSlot.WEIGHT_OFFSET] = weight?.offset ?? 0;
  a[LayerNormSlot.BIAS_OFFSET] = bias?.offset ?? 0;
  a[LayerNormSlot.WEIGHT_STRIDE] = weight?.strides[0] ?? 0;
  a[LayerNormSlot.BIAS_STRIDE] = bias?.strides[0] ?? 0;
  this.setF(F.EPS, eps);
  // Rows for the thread split (the kernel runs rows R0 .. R0 + ROWS).
  a[Slot.R0] = 0;
  a[Slot.ROWS] = R;
  a[Slot.LEN] = D;
  this.launch("layerNorm", PARALLEL_SOFTMAX_ELEMENTS);
}

export function layerNormBackward(this: WasmBackend, args: KernelArgs["layerNormBackward"]): void {
  if (this.native?.layerNormBackward(args)) return;
  const { x, weight, mean, rstd, g, dx, dweight, dbias } = args;
  const [R, D] = x.shape as [number, number];
  const tmp = this.temp(32 * D);
  try {
    const a = this.args();
    this.operand(0, x);
    this.operand(1, g);
    this.operand(2, mean);
    this.operand(3, rstd);
    a[LayerNormSlot.R] = R;
    a[LayerNormSlot.D] = D;
    a[LayerNormSlot.X_ROW] = x.strides[0]!;
    a[LayerNormSlot.X_COL] = x.strides[1]!;
    a[LayerNormSlot.G_ROW] = g.strides[0]!;
    a[LayerNormSlot.G_COL] = g.strides[1]!;
    a[LayerNormSlot.WEIGHT] = weight ? (weight.storage as WasmStorage).ptr : 0;
    a[LayerNormSlot.WEIGHT_OFFSET] = weight?.offset ?? 0;
    a[LayerNormSlot.WEIGHT_STRIDE] = weight?.strides[0] ?? 0;
    a[LayerNormSlot.DX] = (dx.storage as WasmStorage).ptr;
    a[LayerNormSlot.DX_OFFSET] = dx.offset;
    a[LayerNormSlot.DWEIGHT] = dweight ? (dweight.storage as WasmStorage).ptr : 0;
    a[LayerNormSlot.DWEIGHT_OFFSET] = dweight?.offset ?? 0;
    a[LayerNormSlot.DBIAS] = dbias ? (dbias.storage as WasmStorage).ptr : 0;
    a[LayerNormSlot.DBIAS_OFFSET] = dbias?.offset ?? 0;
    a[LayerNormSlot.TEMP] = tmp.ptr;
    this.exports.layerNormBackward();
  } finally {
    this.heap.free(tmp.ptr, tmp.capacity);
  }
}

/** Softmax (an exp per element) and layer norm (three passes) split from a quarter of that. */
const PARALLEL_SOFTMAX_ELEMENTS = 1 << 16;
