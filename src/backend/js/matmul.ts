/**
 * Batched matmul over strided views. Rows of the output accumulate in float64. The loop order
 * follows the strides: i-k-j when b's rows are contiguous (the inner loop streams b and out),
 * i-j-k dot products when both a's and b's k-axes are contiguous (b = wᵀ in `linear`).
 */
import type { KernelArgs, OptionalKernelArgs, View } from "../types.js";
import { binary, unary } from "./elementwise.js";
import { dataOf, Rows } from "./strided.js";

export function matmul({ a, b, out }: KernelArgs["matmul"]): void {
  const A = dataOf(a);
  const B = dataOf(b);
  const O = dataOf(out);
  const nd = out.shape.length;
  const M = out.shape[nd - 2]!;
  const N = out.shape[nd - 1]!;
  const K = a.shape[nd - 1]!;
  const sam = a.strides[nd - 2]!;
  const sak = a.strides[nd - 1]!;
  const sbk = b.strides[nd - 2]!;
  const sbn = b.strides[nd - 1]!;
  const som = out.strides[nd - 2]!;
  const son = out.strides[nd - 1]!;
  // One "row" per batch matrix: the batch dims plus a dummy dim of length 1.
  const batchShape = [...out.shape.slice(0, nd - 2), 1];
  const batchStrides = [a, b, out].map((v) => [...v.strides.slice(0, nd - 2), 0]);
  const it = new Rows(batchShape, batchStrides, [a.offset, b.offset, out.offset], true);
  const acc = new Float64Array(N);
  const dotForm = sbn !== 1 && sak === 1 && sbk === 1;
  for (let r = 0; r < it.rows; r++, it.next()) {
    const [pa0, pb0, po0] = it.offsets as [number, number, number];
    for (let i = 0; i < M; i++) {
      const pa = pa0 + i * sam;
      const po = po0 + i * som;
      if (dotForm) {
        for (let j = 0; j < N; j++) {
          const pb = pb0 + j * sbn;
          let s = 0;
          for (let k = 0; k < K; k++) s += A[pa + k]! * B[pb + k]!;
          O[po + j * son] = s;
        }
        continue;
      }
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const aik = A[pa + k * sak]!;
        const pb = pb0 + k * sbk;
        if (sbn === 1) for (let j = 0; j < N; j++) acc[j]! += aik * B[pb + j]!;
        else for (let j = 0; j < N; j++) acc[j]! += aik * B[pb + j * sbn]!;
      }
      for (let j = 0; j < N; j++) O[po + j * son] = acc[j]!;
    }
  }
}

/** nn.Linear's forward as the separate kernels compute it: matmul, then the bias, then GELU. */
export function linear({ x, weight, bias, gelu, out, preActivation }: OptionalKernelArgs["linear"]): void {
  const sum = preActivation ?? out;
  const [N, K] = weight.shape as [number, number];
  matmul({
    a: x,
    b: { ...weight, shape: [K, N], strides: [weight.strides[1]!, weight.strides[0]!] },
    out: sum,
  });
  if (bias) {
    const row: View = { ...bias, shape: sum.shape, strides: [0, bias.strides[0]!] };
    binary({ op: "add", a: sum, b: row, out: sum });
  }
  if (gelu !== null) unary({ op: gelu === "tanh" ? "geluTanh" : "gelu", x: sum, out });
}
