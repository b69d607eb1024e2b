/** The wasm backend's matrix products (as ../js/matmul.ts): native, packed GEMM or few-row products. */
import { MAX_OPERANDS, MatmulSlot, Slot } from "../spec/abi.js";
import type { KernelArgs, OptionalKernelArgs, View } from "../types.js";
import type { WasmBackend } from "./index.js";
import { type Job, MAX_SHARES_PER_THREAD } from "./pool.js";

/** The fused linear (native only): float64 or odd strides compose it from the wasm kernels, as js does. */
export function linear(this: WasmBackend, args: OptionalKernelArgs["linear"]): void {
  if (this.native!.linear(args)) return;
  const { x, weight, bias, gelu, out, preActivation } = args;
  const sum = preActivation ?? out;
  const [N, K] = weight.shape as [number, number];
  this.matmul({
    a: x,
    b: { ...weight, shape: [K, N], strides: [weight.strides[1]!, weight.strides[0]!] },
    out: sum,
  });
  if (bias)
    this.binary({
      op: "add",
      a: sum,
      b: { ...bias, shape: sum.shape, strides: [0, bias.strides[0]!] },
      out: sum,
    });
  if (gelu !== null) this.unary({ op: gelu === "tanh" ? "geluTanh" : "gelu", x: sum, out });
}

export function matmul(this: WasmBackend, { a: x, b: y, out }: KernelArgs["matmul"]): void {
  const a = this.args();
  const nd = out.shape.length;
  const M = out.shape[nd - 2]!;
  const N = out.shape[nd - 1]!;
  const K = x.shape[nd - 1]!;
  // x @ W with W shared by every batch (a linear layer on [B, T, C]): one [B·T, K] @ [K, N]
  // product, so W is packed once instead of once per batch.
  if (
    nd > 2 &&
    M > 1 &&
    y.strides.slice(0, nd - 2).every((s) => s === 0) &&
    foldsIntoRows(x) &&
    foldsIntoRows(out)
  ) {
    const rows = out.storage.size === 0 ? 0 : out.shape.slice(0, nd - 1).reduce((p, q) => p * q, 1);
    const row = (v: View, cols: number): View => ({
      storage: v.storage,
      shape: [rows, cols],
      strides: [v.strides[nd - 2]!, v.strides[nd - 1]!],
      offset: v.offset,
    });
    const w: View = {
      storage: y.storage,
      shape: [K, N],
      strides: [y.strides[nd - 2]!, y.strides[nd - 1]!],
      offset: y.offset,
    };
    this.matmul({ a: row(x, K), b: w, out: row(out, N) });
    return;
  }
  const batchShape = [...out.shape.slice(0, nd - 2), 1];
  const batches = this.walk(
    batchShape,
    [x, y, out],
    [x, y, out].map((v) => [...v.strides.slice(0, nd - 2), 0]),
    true,
  );
  const sak = x.strides[nd - 1]!;
  const sbk = y.strides[nd - 2]!;
  const sbn = y.strides[nd - 1]!;
  a[MatmulSlot.M] = M;
  a[MatmulSlot.N] = N;
  a[MatmulSlot.K] = K;
  a[MatmulSlot.A_ROW] = x.strides[nd - 2]!;
  a[MatmulSlot.A_COL] = sak;
  a[MatmulSlot.B_ROW] = sbk;
  a[MatmulSlot.B_COL] = sbn;
  a[MatmulSlot.OUT_ROW] = out.strides[nd - 2]!;
  a[MatmulSlot.OUT_COL] = out.strides[nd - 1]!;
  if (batches === 0 || M === 0 || N === 0) return;
  if (
    this.native &&
    x.storage.dtype === "float32" &&
    y.storage.dtype === "float32" &&
    out.storage.dtype === "float32"
  ) {
    // The batch dims as walk() merged them (the dummy last dim is not among them).
    const dims = a[Slot.ND]!;
    const sizes = Array.from({ length: dims }, (_, d) => a[Slot.SHAPE + d]!);
    if (this.native.matmul(x, y, out, sizes, (q, d) => a[Slot.STRIDES + d * MAX_OPERANDS + q]!)) return;
  }
  const flops = 2 * batches * M * N * K;
  if (this.threads > 1 && flops >= PARALLEL_FLOPS && this.pool === undefined) this.pool = this.startPool();
  if (
    x.storage.dtype === "float32" &&
    y.storage.dtype === "float32" &&
    out.storage.dtype === "float32" &&
    out.strides[nd - 1] === 1 &&
    ((sak === 1 && sbk === 1 && M <= GEMV_MAX_ROWS_DOT) || (sbn === 1 && M <= GEMV_MAX_ROWS))
  ) {
    this.gemv(batches, N, flops);
    return;
  }
  if (!this.pool || flops < PARALLEL_FLOPS) {
    this.exports.matmul(0, batches, 0, M);
    return;
  }
  // Split batches when there are enough of them, else rows (in multiples of the 4-row tile).
  // Up to MAX_SHARES_PER_THREAD shares a thread, so a thread slowed by other processes leaves
  // shares to the others (each share packs its own copy of B, so shares keep ≥ 256 rows).
  const t = this.threads;
  const jobs: [number, number, number, number][] = [];
  if (batches >= t) {
    const n = Math.min(batches, t * MAX_SHARES_PER_THREAD);
    for (let w = 0; w < n; w++) {
      const b0 = Math.floor((batches * w) / n);
      const b1 = Math.floor((batches * (w + 1)) / n);
      jobs.push([b0, b1, 0, M]);
    }
  } else {
    const tiles = Math.ceil(M / 4);
    const n = Math.max(t, Math.min(t * MAX_SHARES_PER_THREAD, Math.floor(tiles / 64)));
    for (const [m0, m1] of sharesOfFours(M, n)) jobs.push([0, batches, m0, m1]);
  }
  this.pool.run(
    "matmul",
    jobs.map((params) => ({ args: this.argsPtr, params })),
    this.exports,
    this.argsPtr,
  );
}

/** A product of few rows (the arguments are written): unpacked, threads split the columns in fours. */
export function gemv(this: WasmBackend, batches: number, N: number, flops: number): void {
  if (!this.pool || flops < PARALLEL_FLOPS) {
    this.exports.gemv(0, batches, 0, N);
    return;
  }
  const n = Math.min(Math.ceil(N / 4), this.threads * MAX_SHARES_PER_THREAD);
  const jobs: Job[] = sharesOfFours(N, n).map(([n0, n1]) => ({
    args: this.argsPtr,
    params: [0, batches, n0, n1],
  }));
  this.pool.run("gemv", jobs, this.exports, this.argsPtr);
}

/** 0..size cut into n ranges whose bounds are multiples of 4 (the matmul tile; the last ends at size). */
function sharesOfFours(size: number, n: number): [number, number][] {
  const fours = Math.ceil(size / 4);
  return Array.from({ length: n }, (_, w) => [
    Math.floor((fours * w) / n) * 4,
    Math.min(size, Math.floor((fours * (w + 1)) / n) * 4),
  ]);
}

/** True when the batch dims continue the row dim's stride, so batches of rows are one taller matrix. */
function foldsIntoRows(v: View): boolean {
  const nd = v.shape.length;
  let expected = v.strides[nd - 2]! * v.shape[nd - 2]!;
  for (let d = nd - 3; d >= 0; d--) {
    if (v.shape[d] !== 1 && v.strides[d] !== expected) return false;
    expected *= v.shape[d]!;
  }
  return true;
}

/** Matmuls below this many flops run on the calling thread alone. */
const PARALLEL_FLOPS = 1 << 20;

/**
 * Products of a few rows run unpacked (gemv), where packing B costs more than the product: up to 8
 * rows as dot products (x @ Wᵀ), up to 4 streaming B's rows (x @ W; each row streams B again).
 */
const GEMV_MAX_ROWS_DOT = 8;

const GEMV_MAX_ROWS = 4;
