/**
 * bench/matmul: float32 matmul GFLOPS of the wasm backend at 1 and 2 threads, with its native
 * kernel (Node, where the addon built) and with its wasm kernel (as in browsers), or of the webgpu
 * backend's tiled kernel with --backend webgpu, beside numpy (python3, its BLAS named),
 * @tensorflow/tfjs-backend-wasm (XNNPACK), @jax-js/jax (wasm) and, with the torch peer, PyTorch on
 * --torch-device (cuda on a GPU machine), all from the same command. Each figure is the best of
 * several timed calls after warm-up calls (the best, as other processes share the cores); the
 * median is printed beside it. The herograd rows (kernel × thread count) take turns in rounds.
 * After the table, the native kernel's best against numpy's at each thread count.
 * A webgpu call is a batch of matmuls submitted together and waited for, divided by the batch size.
 * Usage: hero bench matmul [-- --sizes 256,512,1024 --threads 1,2 --kernels native,wasm
 *                             --peers numpy,tfjs,jax,torch]
 *        hero bench matmul --backend webgpu -- --sizes 1024,2048 --peers torch --torch-device cuda
 */
import { availableParallelism } from "node:os";
import { type Backend, currentBackendName, getBackend, hasBackend, type View } from "../src/backend/index.js";
import { WasmBackend } from "../src/backend/wasm/index.js";
import { nativeStatus } from "../src/backend/wasm/native.js";
import type { WebGpuBackend } from "../src/backend/webgpu/index.js";
import { registerNodeWebGpuBackend } from "../src/backend/webgpu/node.js";
import { benchArgs, findPython, printTable, referencePath, runPython } from "./util.js";

const { values } = benchArgs({
  sizes: { type: "string", default: "256,512,1024,2048,4096x768x768,4096x768x3072" },
  threads: { type: "string", default: "1,2" },
  kernels: { type: "string", default: "native,wasm" },
  peers: { type: "string", default: "numpy,tfjs,jax" },
  seconds: { type: "string", default: "1" },
  backend: { type: "string" },
  "torch-device": { type: "string", default: "cuda" },
});

/** [M, K, N]: "1024" is 1024³, "4096x768x3072" is M×K×N. */
const sizes = values.sizes!.split(",").map((s) => {
  const parts = s.split("x").map(Number);
  return (parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts) as [number, number, number];
});
const label = ([M, K, N]: number[]) => (M === K && K === N ? `${M}³` : `${M}×${K}×${N}`);
const budget = Number(values.seconds) * 1000;
const peers = new Set(values.peers!.split(","));

interface Timing {
  best: number;
  median: number;
}

/** Seconds per call: 2 warm-up calls, then calls until `ms` have passed (at least 3, at most 50). */
async function timesOf(fn: () => unknown | Promise<unknown>, ms: number): Promise<number[]> {
  for (let i = 0; i < 2; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < ms && times.length < 50)) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return times;
}

function summary(times: number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  return { best: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]! };
}

/** Best and median seconds per call over the budget. */
async function time(fn: () => unknown | Promise<unknown>): Promise<Timing> {
  return summary(await timesOf(fn, budget));
}

const gflops = ([M, K, N]: number[], seconds: number) => (2 * M! * K! * N!) / seconds / 1e9;

function random(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.random() - 0.5;
  return out;
}

// Rows: implementation, then best/median GFLOPS per size.
const rows: (string | number)[][] = [["implementation", ...sizes.map(label)]];
const cell = (t: Timing, size: number[]) =>
  `${gflops(size, t.best).toFixed(1)} (${gflops(size, t.median).toFixed(1)})`;

const backendChoice = values.backend ?? (currentBackendName() === "webgpu" ? "webgpu" : "wasm");
if (backendChoice !== "wasm" && backendChoice !== "webgpu") {
  throw new Error(`bench/matmul: --backend ${backendChoice}: wasm or webgpu`);
}

/** A contiguous float32 [rows, cols] matrix on `backend`, holding `data` when given. */
function matrix(backend: Backend, rows: number, cols: number, data?: Float32Array): View {
  const storage = backend.alloc("float32", rows * cols);
  if (data) backend.write(storage, data);
  return { storage, shape: [rows, cols], strides: [cols, 1], offset: 0 };
}

// The rows take turns, a share of the budget each per round, so a slow spell of this shared
// machine falls on all of them rather than on whichever ran then.
const ROUNDS = 4;
const threadCounts = values.threads!.split(",").map(Number);
/** Best seconds of the native rows by thread count, per size (for the ratio to numpy). */
const nativeBest = new Map<number, number[]>();
const numpyBest = new Map<number, number[]>();
if (backendChoice === "wasm") {
  const kernels = values.kernels!.split(",");
  const native = nativeStatus();
  const backends: { backend: WasmBackend; threads: number; native: boolean }[] = [];
  for (const kind of kernels) {
    if (kind === "native" && !native.addon) {
      rows.push([`herograd native: ${native.reason}`]);
      continue;
    }
    for (const threads of threadCounts)
      backends.push({
        backend: new WasmBackend({ threads, native: kind === "native" }),
        threads,
        native: kind === "native",
      });
  }
  const wasmRows: string[][] = [];
  for (const { backend, threads, native: isNative } of backends) {
    const running = isNative ? threads : await backend.startThreads();
    const name = isNative ? `native ${backend.native!.isa}` : `wasm ${backend.variant}`;
    wasmRows.push([`herograd ${name}, ${running} thread${running === 1 ? "" : "s"}`]);
  }
  for (const size of sizes) {
    const [M, K, N] = size;
    const calls = backends.map(({ backend }) => {
      const a = matrix(backend, M, K, random(M * K));
      const b = matrix(backend, K, N, random(K * N));
      const out = matrix(backend, M, N);
      return {
        run: () => backend.run("matmul", { a, b, out }),
        free: () => {
          for (const v of [a, b, out]) backend.free(v.storage);
        },
      };
    });
    const times: number[][] = calls.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of calls.entries()) times[i]!.push(...(await timesOf(c.run, budget / ROUNDS)));
    }
    calls.forEach((c, i) => {
      const t = summary(times[i]!);
      wasmRows[i]!.push(cell(t, size));
      const { threads, native: isNative } = backends[i]!;
      if (isNative) nativeBest.set(threads, [...(nativeBest.get(threads) ?? []), t.best]);
      c.free();
    });
  }
  rows.push(...wasmRows);
}

if (backendChoice === "webgpu") {
  let backend: WebGpuBackend | null = null;
  try {
    backend = hasBackend("webgpu")
      ? (getBackend("webgpu") as WebGpuBackend)
      : await registerNodeWebGpuBackend();
  } catch (e) {
    rows.push([`herograd webgpu could not run: ${(e as Error).message}`]);
  }
  if (backend) {
    const software = /llvmpipe|lavapipe|swiftshader/i.test(backend.description) ? "SOFTWARE adapter: " : "";
    const row: string[] = [`herograd webgpu (${software}${backend.description})`];
    for (const size of sizes) {
      const [M, K, N] = size;
      const a = matrix(backend, M, K, random(M * K));
      const b = matrix(backend, K, N, random(K * N));
      const out = matrix(backend, M, N);
      // Calls long enough that submission and readback latency do not dominate.
      const batch = async (n: number) => {
        for (let i = 0; i < n; i++) backend.run("matmul", { a, b, out });
        await backend.sync();
      };
      const t0 = performance.now();
      await batch(1);
      const once = (performance.now() - t0) / 1000;
      const reps = Math.max(1, Math.min(50, Math.ceil(0.05 / once)));
      const t = await time(() => batch(reps));
      row.push(cell({ best: t.best / reps, median: t.median / reps }, size));
      for (const v of [a, b, out]) backend.free(v.storage);
    }
    rows.push(row);
  }
}

if (peers.has("torch")) {
  const python = findPython(["torch"]);
  const device = values["torch-device"]!;
  if (!python) rows.push(["torch: python3 with torch not found", ...sizes.map(() => "-")]);
  else {
    const ref = runPython(
      python,
      referencePath("torch_matmul.py"),
      JSON.stringify({ sizes, budget: budget / 1000, device }),
      { OPENBLAS_CORETYPE: "SkylakeX" },
    );
    if (!ref.ok) rows.push([`torch (${device}): failed: ${ref.stderr.trim().split("\n").at(-1)}`]);
    else {
      const r = JSON.parse(ref.stdout.trim().split("\n").at(-1)!) as {
        torch: string;
        device: string;
        times: [number, number][];
      };
      rows.push([
        `PyTorch ${r.torch} (${r.device}, float32, no TF32)`,
        ...r.times.map(([best, median], i) => cell({ best, median }, sizes[i]!)),
      ]);
    }
  }
}

if (peers.has("numpy")) {
  const python = findPython(["numpy"]);
  if (!python) rows.push(["numpy: python3 with numpy not found", ...sizes.map(() => "-")]);
  for (const threads of python ? values.threads!.split(",").map(Number) : []) {
    const n = String(threads);
    const ref = runPython(
      python!,
      referencePath("numpy_matmul.py"),
      JSON.stringify({ sizes, budget: budget / 1000 }),
      {
        OPENBLAS_NUM_THREADS: n,
        OMP_NUM_THREADS: n,
        MKL_NUM_THREADS: n,
        OPENBLAS_CORETYPE: "SkylakeX",
      },
    );
    if (!ref.ok) {
      rows.push([`numpy (${threads} threads): failed: ${ref.stderr.trim().split("\n").at(-1)}`]);
      continue;
    }
    const r = JSON.parse(ref.stdout) as { blas: string; numpy: string; times: [number, number][] };
    numpyBest.set(
      threads,
      r.times.map(([best]) => best),
    );
    rows.push([
      `numpy ${r.numpy} (${r.blas}), ${threads} thread${threads === 1 ? "" : "s"}`,
      ...r.times.map(([best, median], i) => cell({ best, median }, sizes[i]!)),
    ]);
  }
}

if (peers.has("tfjs")) {
  try {
    const tf = await import("@tensorflow/tfjs-core");
    await import("@tensorflow/tfjs-backend-wasm");
    // Node has no Web Workers for its threaded build: one thread.
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    await tf.setBackend("wasm");
    await tf.ready();
    const row: string[] = ["@tensorflow/tfjs-backend-wasm 4.22 (XNNPACK, SIMD), 1 thread"];
    for (const size of sizes) {
      const [M, K, N] = size;
      const a = tf.tensor2d(random(M * K), [M, K]);
      const b = tf.tensor2d(random(K * N), [K, N]);
      row.push(
        cell(
          await time(() => {
            const c = tf.matMul(a, b);
            c.dataSync();
            c.dispose();
          }),
          size,
        ),
      );
      a.dispose();
      b.dispose();
    }
    rows.push(row);
  } catch (e) {
    rows.push([`@tensorflow/tfjs-backend-wasm could not run: ${(e as Error).message.split("\n")[0]}`]);
  }
}

if (peers.has("jax")) {
  try {
    // jax-js reads navigator, which Node 20 lacks (Node 21 has it).
    const g = globalThis as { navigator?: unknown };
    g.navigator ??= { hardwareConcurrency: availableParallelism(), userAgent: "node" };
    const jax = (await import("@jax-js/jax")) as unknown as {
      numpy: {
        array(data: Float32Array): { reshape(shape: number[]): JaxArray };
        matmul(a: JaxArray, b: JaxArray): JaxArray;
      };
      init(): Promise<string[]>;
    };
    type JaxArray = { ref: JaxArray; dataSync(): unknown; data(): Promise<unknown>; dispose(): void };
    await jax.init();
    const np = jax.numpy;
    const row: string[] = ["@jax-js/jax 0.1 (wasm device, its default threads)"];
    for (const size of sizes) {
      const [M, K, N] = size;
      const a = np.array(random(M * K)).reshape([M, K]);
      const b = np.array(random(K * N)).reshape([K, N]);
      row.push(
        cell(
          await time(async () => {
            const c = np.matmul(a.ref, b.ref);
            await c.data();
          }),
          size,
        ),
      );
      a.dispose();
      b.dispose();
    }
    rows.push(row);
  } catch (e) {
    rows.push([`@jax-js/jax could not run: ${(e as Error).message.split("\n")[0]}`]);
  }
}

console.log(
  "float32 matmul GFLOPS, best (median) of timed calls after 2 warm-up calls; M×K×N. Other processes share this machine's cores: figures vary from run to run.",
);
printTable(rows.map((r) => [...r, ...new Array(Math.max(0, rows[0]!.length - r.length)).fill("")]));
for (const [threads, native] of nativeBest) {
  const numpy = numpyBest.get(threads);
  if (!numpy) continue;
  const ratios = sizes.map((size, i) => `${label(size)} ${(numpy[i]! / native[i]!).toFixed(2)}`);
  console.log(
    `native / numpy GFLOPS (best), ${threads} thread${threads === 1 ? "" : "s"}: ${ratios.join(", ")}`,
  );
}
process.exit(0);
