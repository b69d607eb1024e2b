/**
 * The wasm backend's side of the native kernels: it writes each call's sizes, strides and byte
 * addresses into an argument block in the wasm memory (its slots: src/backend/spec/abi.ts, rendered
 * for the addon as native/src/abi.h) and calls the
 * addon, which works on the same memory. Float32 only; a call the addon does not take returns false
 * and the backend runs its wasm kernel instead.
 */
import { isContiguousView, mergeDims, product } from "../layout.js";
import {
  ACTIVATION_CODE,
  NATIVE_ARGS_BYTES,
  NATIVE_MAX_BATCH_DIMS,
  NativeAdamwSlot,
  NativeAttentionSlot,
  NativeAxpySlot,
  NativeGeluBackwardSlot,
  NativeLayerNormBackwardSlot,
  NativeLinearSlot,
  NativeMatmulSlot,
} from "../spec/abi.js";
import type { KernelArgs, OptionalKernelArgs, View } from "../types.js";
import type { WasmHeap } from "./memory.js";
import type { NativeAddon } from "./native.js";

/** Merged batch dims (layout.ts's mergeDims), or null past the addon's limit. */
function mergeBatchDims(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { sizes: number[]; strides: number[][] } | null {
  const merged = mergeDims(shape, strides);
  return merged.shape.length > NATIVE_MAX_BATCH_DIMS
    ? null
    : { sizes: merged.shape, strides: merged.strides };
}

const scaleBits = new Int32Array(1);
const scaleFloat = new Float32Array(scaleBits.buffer);

export class NativeKernels {
  private readonly argsPtr: number;
  private slots: Int32Array;
  private growths = -1;
  readonly handle: unknown;
  readonly isa: string;

  constructor(
    private readonly addon: NativeAddon,
    isa: string,
    threads: number,
    private readonly heap: WasmHeap,
    /** Byte address of a view's element 0 (throws for freed storage). */
    private readonly address: (view: View) => number,
  ) {
    const context = addon.context(threads, isa);
    this.handle = context.handle;
    this.isa = context.isa;
    this.argsPtr = heap.alloc(NATIVE_ARGS_BYTES, true, () => "").ptr;
    this.slots = new Int32Array(0);
  }

  private args(): Int32Array {
    if (this.growths !== this.heap.growths) {
      this.growths = this.heap.growths;
      this.slots = new Int32Array(this.heap.memory.buffer, this.argsPtr, NATIVE_ARGS_BYTES / 4);
      this.doubles = new Float64Array(this.heap.memory.buffer, this.argsPtr, NATIVE_ARGS_BYTES / 8);
    }
    return this.slots;
  }

  private doubles = new Float64Array(0);

  /** Shares the addon's worker threads have run (tests check they ran). */
  workerRuns(): number {
    return this.addon.workerRuns(this.handle);
  }

  /**
   * out = a @ b over batch dims already merged (sizes with the three operands' strides).
   * False when the addon does not take it (C's rows not contiguous).
   */
  matmul(
    a: View,
    b: View,
    out: View,
    batchSizes: readonly number[],
    batchStrides: (q: number, d: number) => number,
  ): boolean {
    const nd = out.shape.length;
    const s = this.args();
    const S = NativeMatmulSlot;
    s[S.M] = out.shape[nd - 2]!;
    s[S.N] = out.shape[nd - 1]!;
    s[S.K] = a.shape[nd - 1]!;
    s[S.A_ROW] = a.strides[nd - 2]!;
    s[S.A_COL] = a.strides[nd - 1]!;
    s[S.B_ROW] = b.strides[nd - 2]!;
    s[S.B_COL] = b.strides[nd - 1]!;
    s[S.C_ROW] = out.strides[nd - 2]!;
    s[S.C_COL] = out.strides[nd - 1]!;
    s[S.A] = this.address(a);
    s[S.B] = this.address(b);
    s[S.C] = this.address(out);
    s[S.BATCH_DIMS] = batchSizes.length;
    for (let d = 0; d < batchSizes.length; d++) {
      s[S.BATCH + 4 * d] = batchSizes[d]!;
      for (let q = 0; q < 3; q++) s[S.BATCH + 4 * d + 1 + q] = batchStrides(q, d);
    }
    return this.addon.matmul(this.handle, this.heap.bytes(), this.argsPtr);
  }

  /** Fused attention; false when the batch dims do not merge into eight. Last dims must be contiguous. */
  attention({ q, k, v, scale, causal, out, weights }: OptionalKernelArgs["attention"]): boolean {
    return this.attentionCall(false, [q, k, v, out, weights], q, k, v, scale, causal);
  }

  attentionBackward(args: OptionalKernelArgs["attentionBackward"]): boolean {
    const { q, k, v, weights, g, dq, dk, dv, scale, causal = false } = args;
    return this.attentionCall(true, [q, k, v, weights, g, dq, dk, dv], q, k, v, scale, causal);
  }

  /** The AdamW step over contiguous float32 param, grad and moments (else false). */
  adamw(args: KernelArgs["adamw"]): boolean {
    const { param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step } = args;
    const views = [param, grad, m, v];
    if (!views.every((view) => view.storage.dtype === "float32" && isContiguousView(view))) return false;
    const s = this.args();
    const S = NativeAdamwSlot;
    s[S.N] = product(param.shape);
    s[S.PARAM] = this.address(param);
    s[S.GRAD] = this.address(grad);
    s[S.M] = this.address(m);
    s[S.V] = this.address(v);
    // The js kernel's float64 constants, computed as it does (a float64 spans two int32 slots).
    const f = this.doubles;
    f[S.BETA1 / 2] = beta1;
    f[S.BETA2 / 2] = beta2;
    f[S.EPS / 2] = eps;
    f[S.DECAY / 2] = 1 - lr * weightDecay;
    f[S.STEP_SIZE / 2] = lr / (1 - beta1 ** step);
    f[S.BIAS2 / 2] = Math.sqrt(1 - beta2 ** step);
    return this.addon.adamw(this.handle, this.heap.bytes(), this.argsPtr);
  }

  /** x ← x + alpha·y over float32 rows contiguous within (rows, len and row strides as walk() merged them). */
  axpy(x: View, y: View, rows: number, len: number, xRow: number, yRow: number, alpha: number): boolean {
    const s = this.args();
    const S = NativeAxpySlot;
    s[S.ROWS] = rows;
    s[S.LEN] = len;
    s[S.X] = this.address(x);
    s[S.X_ROW] = xRow;
    s[S.Y] = this.address(y);
    s[S.Y_ROW] = yRow;
    this.doubles[S.ALPHA / 2] = alpha;
    return this.addon.axpy(this.handle, this.heap.bytes(), this.argsPtr);
  }

  /** Layer norm's backward for float32 rows with contiguous columns (else false). */
  layerNormBackward(args: KernelArgs["layerNormBackward"]): boolean {
    const { x, weight, mean, rstd, g, dx, dweight, dbias } = args;
    const rows = [x, g, dx];
    const vectors = [mean, rstd, weight, dweight, dbias].filter((view): view is View => view !== null);
    if (
      !rows.every((view) => view.storage.dtype === "float32" && view.strides[1] === 1) ||
      !vectors.every((view) => view.storage.dtype === "float32" && view.strides[0] === 1)
    )
      return false;
    const s = this.args();
    const S = NativeLayerNormBackwardSlot;
    s[S.R] = x.shape[0]!;
    s[S.D] = x.shape[1]!;
    s[S.X] = this.address(x);
    s[S.X_ROW] = x.strides[0]!;
    s[S.G] = this.address(g);
    s[S.G_ROW] = g.strides[0]!;
    s[S.MEAN] = this.address(mean);
    s[S.RSTD] = this.address(rstd);
    s[S.WEIGHT] = weight ? this.address(weight) : 0;
    s[S.DX] = this.address(dx);
    s[S.DX_ROW] = dx.strides[0]!;
    s[S.DWEIGHT] = dweight ? this.address(dweight) : 0;
    s[S.DBIAS] = dbias ? this.address(dbias) : 0;
    return this.addon.layerNormBackward(this.handle, this.heap.bytes(), this.argsPtr);
  }

  /** out = act(x·Wᵀ + bias) with the bias and GELU applied as the product is written (float32; else false). */
  linear(args: OptionalKernelArgs["linear"]): boolean {
    const { x, weight, bias, gelu, out, preActivation: pre } = args;
    const views = [x, weight, out, bias, pre].filter((view): view is View => view !== null);
    if (!views.every((view) => view.storage.dtype === "float32")) return false;
    if (out.strides[1] !== 1 || (pre && pre.strides[1] !== 1) || (bias && bias.strides[0] !== 1))
      return false;
    const s = this.args();
    const S = NativeLinearSlot;
    s[S.R] = x.shape[0]!;
    s[S.N] = weight.shape[0]!;
    s[S.K] = x.shape[1]!;
    s[S.X] = this.address(x);
    s[S.X_ROW] = x.strides[0]!;
    s[S.X_COL] = x.strides[1]!;
    s[S.WEIGHT] = this.address(weight);
    s[S.WEIGHT_ROW] = weight.strides[0]!;
    s[S.WEIGHT_COL] = weight.strides[1]!;
    s[S.BIAS] = bias ? this.address(bias) : 0;
    s[S.OUT] = this.address(out);
    s[S.OUT_ROW] = out.strides[0]!;
    s[S.ACTIVATION] = ACTIVATION_CODE[gelu === null ? "none" : gelu === "tanh" ? "geluTanh" : "gelu"];
    s[S.PRE] = pre ? this.address(pre) : 0;
    s[S.PRE_ROW] = pre ? pre.strides[0]! : 0;
    return this.addon.linear(this.handle, this.heap.bytes(), this.argsPtr);
  }

  /** GELU's backward over contiguous float32 x, g and out of one shape (else false). */
  geluBackward({ approximate, x, g, out }: KernelArgs["geluBackward"]): boolean {
    const views = [x, g, out];
    if (!views.every((view) => view.storage.dtype === "float32" && isContiguousView(view))) return false;
    const s = this.args();
    const S = NativeGeluBackwardSlot;
    s[S.N] = product(out.shape);
    s[S.X] = this.address(x);
    s[S.G] = this.address(g);
    s[S.OUT] = this.address(out);
    s[S.ACTIVATION] = ACTIVATION_CODE[approximate ? "geluTanh" : "gelu"];
    return this.addon.geluBackward(this.handle, this.heap.bytes(), this.argsPtr);
  }

  private attentionCall(
    backward: boolean,
    views: readonly View[],
    q: View,
    k: View,
    v: View,
    scale: number,
    causal: boolean,
  ): boolean {
    const nd = q.shape.length;
    const merged = mergeBatchDims(
      q.shape.slice(0, nd - 2),
      views.map((view) => view.strides.slice(0, nd - 2)),
    );
    if (!merged) return false;
    const s = this.args();
    const S = NativeAttentionSlot;
    s[S.BATCH_DIMS] = merged.sizes.length;
    s[S.T] = q.shape[nd - 2]!;
    s[S.TK] = k.shape[nd - 2]!;
    s[S.D] = q.shape[nd - 1]!;
    s[S.DV] = v.shape[nd - 1]!;
    s[S.CAUSAL] = causal ? 1 : 0;
    scaleFloat[0] = scale;
    s[S.SCALE] = scaleBits[0]!;
    merged.sizes.forEach((size, d) => {
      s[S.BATCH_SIZES + d] = size;
    });
    views.forEach((view, i) => {
      const o = S.OPERANDS + S.OPERAND_SLOTS * i;
      s[o] = this.address(view);
      s[o + 1] = view.strides[nd - 2]!;
      merged.strides[i]!.forEach((stride, d) => {
        s[o + 2 + d] = stride;
      });
    });
    const memory = this.heap.bytes();
    return backward
      ? this.addon.attentionBackward(this.handle, memory, this.argsPtr)
      : this.addon.attention(this.handle, memory, this.argsPtr);
  }
}
