/**
 * bench/gpu/check: the webgpu kernels on this machine's adapter against host arithmetic, at the
 * sizes the benchmarks use (128-wide tiles, split-K, the matrix-vector kernel, the adapter's
 * subgroups and workgroup memory), before any figure is taken. The tests run the same kernels on
 * software adapters only. Each big product is checked on sampled entries against float64 dot
 * products; the lane kernels and the fused linear against the js backend.
 * Prints one line per check and "N passed, N failed"; exits 1 on a failure.
 * Usage: node dist/bench/gpu/check.js [--quick]
 */
import "../../src/backend/select.js";
import { parseArgs } from "node:util";
import type { View } from "../../src/backend/index.js";
import type { WebGpuBackend } from "../../src/backend/webgpu/index.js";
import { registerNodeWebGpuBackend } from "../../src/backend/webgpu/node.js";
import * as T from "../../src/tensor/index.js";
import { checkLaneKernels } from "../../test/webgpu-lane-cases.js";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const backend: WebGpuBackend = await registerNodeWebGpuBackend();
const device = backend.device;
console.log(
  `adapter: ${backend.description}; workgroup memory ${device.workgroupBytes} B; subgroups ${device.subgroups || "not used"}`,
);

let passed = 0;
let failed = 0;
function report(name: string, problem: string | null): void {
  if (problem === null) passed++;
  else failed++;
  console.log(`${problem === null ? "ok  " : "FAIL"} ${name}${problem ? `: ${problem}` : ""}`);
}

/** Deterministic values in [-1, 1). */
function values32(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

interface Product {
  name: string;
  M: number;
  K: number;
  N: number;
  /** b given as [N, K] and used transposed (nn.Linear's weight). */
  bT?: boolean;
  batch?: number;
}

/** out = a·b on the GPU; 512 sampled entries against float64 dot products of the same values. */
async function checkProduct(p: Product): Promise<void> {
  const { M, K, N } = p;
  const B = p.batch ?? 1;
  const a = values32(B * M * K, 1);
  const b = values32(B * K * N, 2);
  const view = (data: Float32Array, shape: number[], strides: number[]): View => {
    const storage = backend.alloc("float32", data.length);
    backend.write(storage, data);
    return { storage, shape, strides, offset: 0 };
  };
  const batchShape = B > 1 ? [B] : [];
  const av = view(a, [...batchShape, M, K], [...(B > 1 ? [M * K] : []), K, 1]);
  // bᵀ: stored [N, K], read as [K, N] with strides (1, K).
  const bv = p.bT
    ? view(b, [...batchShape, K, N], [...(B > 1 ? [K * N] : []), 1, K])
    : view(b, [...batchShape, K, N], [...(B > 1 ? [K * N] : []), N, 1]);
  const outStorage = backend.alloc("float32", B * M * N);
  const out: View = {
    storage: outStorage,
    shape: [...batchShape, M, N],
    strides: [...(B > 1 ? [M * N] : []), N, 1],
    offset: 0,
  };
  backend.run("matmul", { a: av, b: bv, out });
  const got = (await backend.read(outStorage)) as Float32Array;
  let worst = 0;
  let problem: string | null = null;
  const pick = values32(1024, 3);
  for (let s = 0; s < 512 && problem === null; s++) {
    const z = Math.floor(((pick[2 * s]! + 1) / 2) * B);
    const i = Math.floor(((pick[2 * s + 1]! + 1) / 2) * M);
    const j = Math.floor(((pick[(2 * s + 7) % 1024]! + 1) / 2) * N);
    let exact = 0;
    let scale = 0;
    for (let k = 0; k < K; k++) {
      const x = a[z * M * K + i * K + k]!;
      const y = p.bT ? b[z * K * N + j * K + k]! : b[z * K * N + k * N + j]!;
      exact += x * y;
      scale += Math.abs(x * y);
    }
    const err = Math.abs(got[z * M * N + i * N + j]! - exact);
    worst = Math.max(worst, err / (scale || 1));
    // float32 sums of K terms: far below 2e-6 of the terms' magnitude unless an index is wrong.
    if (err > 2e-6 * scale + 1e-6)
      problem = `out[${z}, ${i}, ${j}] = ${got[z * M * N + i * N + j]}, expected ${exact}`;
  }
  for (const v of [av, bv, out]) backend.free(v.storage);
  report(
    `matmul ${p.name}${problem ? "" : ` (worst error ${worst.toExponential(1)} of the terms)`}`,
    problem,
  );
}

const products: Product[] = values.quick
  ? [
      { name: "130×70 · 70×200", M: 130, K: 70, N: 200 },
      { name: "70×1100 · 1100×68 (split-K)", M: 70, K: 1100, N: 68 },
      { name: "1×64 · (300×64)ᵀ (matrix-vector)", M: 1, K: 64, N: 300, bT: true },
    ]
  : [
      { name: "4096³", M: 4096, K: 4096, N: 4096 },
      { name: "4096×768 · 768×3072", M: 4096, K: 768, N: 3072 },
      { name: "1024×768 · (50304×768)ᵀ (output layer)", M: 1024, K: 768, N: 50304, bT: true },
      { name: "1024×50304 · 50304×768 (its backward, split-K)", M: 1024, K: 50304, N: 768 },
      { name: "1×768 · (2304×768)ᵀ (decode: matrix-vector)", M: 1, K: 768, N: 2304, bT: true },
      { name: "48 × 256×64 · 64×256 (attention)", M: 256, K: 64, N: 256, batch: 48 },
      { name: "1001×999 · 999×1003 (ragged)", M: 1001, K: 999, N: 1003 },
    ];
for (const p of products) await checkProduct(p);

const lanes = await checkLaneKernels(T, "webgpu");
report("lane kernels (reductions, softmax, cross-entropy, layer norm, argmax, topk) vs js", lanes[0] ?? null);

// Fused linear with GELU and the kept sum, forward and backward, against js.
{
  const g = new T.Random(5);
  const [R, K, N] = values.quick ? [33, 40, 70] : [257, 768, 3072];
  const x = T.randn([R, K], { generator: g, backend: "js" });
  const w = T.randn([N, K], { generator: g, backend: "js" }).mul(0.05);
  const bias = T.randn([N], { generator: g, backend: "js" });
  const run = (on: string) => {
    const [lx, lw, lb] = [x, w, bias].map((t) => {
      const leaf = t.to(on).detach();
      leaf.requiresGrad = true;
      return leaf;
    }) as [T.Tensor, T.Tensor, T.Tensor];
    const y = T.linearGelu(lx, lw, lb, "tanh");
    y.sum().backward();
    return [y, lx.grad!, lw.grad!, lb.grad!];
  };
  const expected = run("js");
  const actual = run("webgpu");
  let problem: string | null = null;
  for (const [i, e] of expected.entries()) {
    const want = e.dataSync();
    const got = await actual[i]!.data();
    for (let j = 0; j < want.length && problem === null; j++) {
      if (Math.abs(got[j]! - want[j]!) > 1e-3 + 1e-3 * Math.abs(want[j]!))
        problem = `output ${i} element ${j} is ${got[j]}, expected ${want[j]}`;
    }
  }
  report(`fused linear + GELU [${R}, ${K}] → ${N}, forward and backward vs js`, problem);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
