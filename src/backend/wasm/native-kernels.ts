/**
 * The wasm backend's side of the native kernels: it writes each call's sizes, strides and byte
 * addresses into an argument block in the wasm memory (layout in native/src/addon.cc) and calls the
 * addon, which works on the same memory. Float32 only; a call the addon does not take returns false
 * and the backend runs its wasm kernel instead.
 */
import { isContiguousView, product } from "../layout.js";
import type { KernelArgs, OptionalKernelArgs, View } from "../types.js";
import type { WasmHeap } from "./memory.js";
import type { NativeAddon } from "./native.js";

const ARGS_BYTES = 1024;
const MAX_BATCH_DIMS = 8;
const ATTENTION_OPERAND_SLOTS = 16;

/** Merged batch dims (size-1 dims dropped, neighbours every operand steps over as one merged). */
function mergeBatchDims(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { sizes: number[]; strides: number[][] } | null {
  const sizes: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const n = sizes.length;
    if (n > 0 && strides.every((s, q) => out[q]![n - 1] === s[d]! * size)) {
      sizes[n - 1]! *= size;
      strides.forEach((s, q) => {
        out[q]![n - 1] = s[d]!;
      });
      continue;
    }
    sizes.push(size);
    strides.forEach((s, q) => {
      out[q]!.push(s[d]!);
    });
  }
  return sizes.length > MAX_BATCH_DIMS ? null : { sizes, strides: out };
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
    this.argsPtr = heap.alloc(ARGS_BYTES, true, () => "").ptr;
    this.slots = new Int32Array(0);
  }

  private args(): Int32Array {
    if (this.growths !== this.heap.growths) {
      this.growths = this.heap.growths;
      this.slots = new Int32Array(this.heap.memory.buffer, this.argsPtr, ARGS_BYTES / 4);
      this.doubles = new Float64Array(this.heap.memory.buffer, this.argsPtr, ARGS_BYTES / 8);
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
    s[0] = out.shape[nd - 2]!;
    s[1] = out.shape[nd - 1]!;
    s[2] = a.shape[nd - 1]!;
    s[3] = a.strides[nd - 2]!;
    s[4] = a.strides[nd - 1]!;
    s[5] = b.strides[nd - 2]!;
    s[6] = b.strides[nd - 1]!;
    s[7] = out.strides[nd - 2]!;
    s[8] = out.strides[nd - 1]!;
    s[9] = this.address(a);
    s[10] = this.address(b);
    s[11] = this.address(out);
    s[12] = batchSizes.length;
    for (let d = 0; d < batchSizes.length; d++) {
      s[13 + 4 * d] = batchSizes[d]!;
      for (let q = 0; q < 3; q++) s[14 + 4 * d + q] = batchStrides(q, d);
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
    s[0] = product(param.shape);
    views.forEach((view, q) => {
      s[1 + q] = this.address(view);
    });
    // The js kernel's float64 constants, computed as it does.
    const f = this.doubles;
    f[4] = beta1;
    f[5] = beta2;
    f[6] = eps;
    f[7] = 1 - lr * weightDecay;
    f[8] = lr / (1 - beta1 ** step);
    f[9] = Math.sqrt(1 - beta2 ** step);
    return this.addon.adamw(this.handle, this.heap.bytes(), this.argsPtr);
  }

  /** x ← x + alpha·y over float32 rows contiguous within (rows, len and row strides as walk() merged them). */
  axpy(x: View, y: View, rows: number, len: number, xRow: number, yRow: number, alpha: number): boolean {
    const s = this.args();
    s[0] = rows;
    s[1] = len;
    s[2] = this.address(x);
    s[3] = xRow;
    s[4] = this.address(y);
    s[5] = yRow;
    this.doubles[4] = alpha;
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
    s[0] = x.shape[0]!;
    s[1] = x.shape[1]!;
    s[2] = this.address(x);
    s[3] = x.strides[0]!;
    s[4] = this.address(g);
    s[5] = g.strides[0]!;
    s[6] = this.address(mean);
    s[7] = this.address(rstd);
    s[8] = weight ? this.address(weight) : 0;
    s[9] = this.address(dx);
    s[10] = dx.strides[0]!;
    s[11] = dweight ? this.address(dweight) : 0;
    s[12] = dbias ? this.address(dbias) : 0;
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
    s[0] = x.shape[0]!;
    s[1] = weight.shape[0]!;
    s[2] = x.shape[1]!;
    s[3] = this.address(x);
    s[4] = x.strides[0]!;
    s[5] = x.strides[1]!;
    s[6] = this.address(weight);
    s[7] = weight.strides[0]!;
    s[8] = weight.strides[1]!;
    s[9] = bias ? this.address(bias) : 0;
    s[10] = this.address(out);
    s[11] = out.strides[0]!;
    s[12] = gelu === null ? 0 : gelu === "tanh" ? 2 : 1;
    s[13] = pre ? this.address(pre) : 0;
    s[14] = pre ? pre.strides[0]! : 0;
    return this.addon.linear(this.handle, this.heap.bytes(), this.argsPtr);
  }

  /** GELU's backward over contiguous float32 x, g and out of one shape (else false). */
  geluBackward({ approximate, x, g, out }: KernelArgs["geluBackward"]): boolean {
    const views = [x, g, out];
    if (!views.every((view) => view.storage.dtype === "float32" && isContiguousView(view))) return false;
    const s = this.args();
    s[0] = product(out.shape);
    s[1] = this.address(x);
    s[2] = this.address(g);
    s[3] = this.address(out);
    s[4] = approximate ? 2 : 1;
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
    s[0] = merged.sizes.length;
    s[1] = q.shape[nd - 2]!;
    s[2] = k.shape[nd - 2]!;
    s[3] = q.shape[nd - 1]!;
    s[4] = v.shape[nd - 1]!;
    s[5] = causal ? 1 : 0;
    scaleFloat[0] = scale;
    s[6] = scaleBits[0]!;
    merged.sizes.forEach((size, d) => {
      s[8 + d] = size;
    });
    views.forEach((view, i) => {
      const o = ATTENTION_OPERAND_SLOTS + 10 * i;
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
