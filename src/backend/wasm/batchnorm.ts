/** The wasm backend's batch norm (as ../js/batchnorm.ts). */
import { F, BatchNormSlot as S } from "../spec/abi.js";
import type { OptionalKernelArgs, View } from "../types.js";

import type { WasmBackend } from "./index.js";

/**
 * Runs a batch-norm kernel over x [R, C] with 5·C float64 of temp; `operands` writes the operands'
 * addresses into their slots (every slot, 0 for an absent one) once the block is current.
 */
export function batchNormRun(
  this: WasmBackend,
  kernel: "batchNorm" | "batchNormBackward",
  x: View,
  operands: (a: Int32Array) => void,
): void {
  const [R, C] = x.shape as [number, number];
  const tmp = this.temp(5 * 8 * C);
  try {
    const a = this.args();
    operands(a);
    a[S.R] = R;
    a[S.C] = C;
    a[S.X] = this.address(x);
    a[S.TEMP] = tmp.ptr;
    this.exports[kernel]();
  } finally {
    this.heap.free(tmp.ptr, tmp.capacity);
  }
}

export function batchNorm(this: WasmBackend, args: OptionalKernelArgs["batchNorm"]): void {
  const { x, weight, bias, runningMean, runningVar, out, mean, rstd } = args;
  // setF writes through the block's current view: refresh it first (the outputs' allocation may have grown the heap).
  this.args();
  this.setF(F.EPS, args.eps);
  this.setF(F.MOMENTUM, args.momentum);
  this.batchNormRun("batchNorm", x, (a) => {
    a[S.OUT] = this.address(out);
    a[S.MEAN] = this.address(mean);
    a[S.RSTD] = this.address(rstd);
    a[S.WEIGHT] = this.address(weight);
    a[S.BIAS] = this.address(bias);
    a[S.RUNNING_MEAN] = this.address(runningMean);
    a[S.RUNNING_VAR] = this.address(runningVar);
    a[S.G] = 0;
    a[S.DWEIGHT] = 0;
    a[S.DBIAS] = 0;
  });
}

export function batchNormBackward(this: WasmBackend, args: OptionalKernelArgs["batchNormBackward"]): void {
  const { x, weight, mean, rstd, g, dx, dweight, dbias } = args;
  this.batchNormRun("batchNormBackward", x, (a) => {
    a[S.OUT] = this.address(dx);
    a[S.MEAN] = this.address(mean);
    a[S.RSTD] = this.address(rstd);
    a[S.WEIGHT] = this.address(weight);
    a[S.BIAS] = 0;
    a[S.RUNNING_MEAN] = 0;
    a[S.RUNNING_VAR] = 0;
    a[S.G] = this.address(g);
    a[S.DWEIGHT] = this.address(dweight);
    a[S.DBIAS] = this.address(dbias);
  });
}
