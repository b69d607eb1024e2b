/** The wasm backend's batch norm (as ../js/batchnorm.ts). */
import { BatchNormSlot, F } from "../spec/abi.js";
import type { OptionalKernelArgs, View } from "../types.js";

import type { WasmBackend } from "./index.js";

/** Runs a batch-norm kernel over x [R, C] with the operands at their slots (absent: 0) and 5·C float64 of temp. */
export function batchNormRun(
  this: WasmBackend,
  kernel: "batchNorm" | "batchNormBackward",
  x: View,
  operands: Partial<Record<keyof typeof BatchNormSlot, View | null>>,
): void {
  const [R, C] = x.shape as [number, number];
  const tmp = this.temp(5 * 8 * C);
  try {
    const a = this.args();
    for (let slot = BatchNormSlot.OUT; slot <= BatchNormSlot.DBIAS; slot++) a[slot] = 0;
    for (const [name, view] of Object.entries(operands))
      a[BatchNormSlot[name as keyof typeof BatchNormSlot]] = this.address(view ?? null);
    a[BatchNormSlot.R] = R;
    a[BatchNormSlot.C] = C;
    a[BatchNormSlot.X] = this.address(x);
    a[BatchNormSlot.TEMP] = tmp.ptr;
    this.exports[kernel]();
  } finally {
    this.heap.free(tmp.ptr, tmp.capacity);
  }
}

export function batchNorm(this: WasmBackend, args: OptionalKernelArgs["batchNorm"]): void {
  const { x, weight, bias, runningMean, runningVar, out, mean, rstd } = args;
  this.setF(F.EPS, args.eps);
  this.setF(F.MOMENTUM, args.momentum);
  this.batchNormRun("batchNorm", x, {
    OUT: out,
    MEAN: mean,
    RSTD: rstd,
    WEIGHT: weight,
    BIAS: bias,
    RUNNING_MEAN: runningMean,
    RUNNING_VAR: runningVar,
  });
}

export function batchNormBackward(this: WasmBackend, args: OptionalKernelArgs["batchNormBackward"]): void {
  const { x, weight, mean, rstd, g, dx, dweight, dbias } = args;
  this.batchNormRun("batchNormBackward", x, {
    OUT: dx,
    MEAN: mean,
    RSTD: rstd,
    WEIGHT: weight,
    G: g,
    DWEIGHT: dweight,
    DBIAS: dbias,
  });
}
