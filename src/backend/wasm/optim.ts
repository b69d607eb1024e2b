/** The wasm backend's optimizer kernels (as ../js/optim.ts): AdamW and axpy, native where it runs. */
import { AdamwF, F, Slot } from "../spec/abi.js";
import type { KernelArgs, OptionalKernelArgs } from "../types.js";

import type { WasmBackend } from "./index.js";

export function adamw(this: WasmBackend, args: KernelArgs["adamw"]): void {
  if (this.native?.adamw(args)) return;
  const { param, grad, m, v } = args;
  this.walk(param.shape, [param, grad, m, v], [param.strides, grad.strides, m.strides, v.strides]);
  this.setF(AdamwF.LR, args.lr);
  this.setF(AdamwF.BETA1, args.beta1);
  this.setF(AdamwF.BETA2, args.beta2);
  this.setF(AdamwF.EPS, args.eps);
  this.setF(AdamwF.WEIGHT_DECAY, args.weightDecay);
  this.setF(AdamwF.STEP, args.step);
  this.launch("adamw");
}

export function axpy(this: WasmBackend, { x, y, alpha }: OptionalKernelArgs["axpy"]): void {
  const a = this.args();
  const rows = this.walk(x.shape, [x, y], [x.strides, y.strides]);
  // Native: float32 rows contiguous within, at most one merged outer dim.
  if (
    this.native &&
    x.storage.dtype === "float32" &&
    a[Slot.STEP] === 1 &&
    a[Slot.STEP + 1] === 1 &&
    a[Slot.ND]! <= 1
  ) {
    const [xRow, yRow] = a[Slot.ND] === 1 ? [a[Slot.STRIDES]!, a[Slot.STRIDES + 1]!] : [0, 0];
    if (this.native.axpy(x, y, rows, a[Slot.LEN]!, xRow, yRow, alpha)) return;
  }
  this.setF(F.ALPHA, alpha);
  this.launch("axpy");
}
