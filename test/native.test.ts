/**
 * The native addon (native/, built by `npm install`): it loads here (CI has g++ and Node's headers;
 * HERO_TEST_NATIVE=0 says a machine is not expected to build it), its kernels match js through the
 * tensor front end (attention on strided q/k/v, masked rows, odd head sizes, threads), the AVX2
 * kernels do too (a child process with HERO_NATIVE=avx2), HERO_NATIVE=0 turns it off, and a call
 * that would reach outside the wasm memory is refused with an error.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { WasmBackend } from "../src/backend/wasm/index.js";
import { nativeStatus } from "../src/backend/wasm/native.js";
import * as T from "../src/tensor/index.js";
import { Random, type Tensor } from "../src/tensor/index.js";
import { close, repoRoot } from "./helpers.js";

const status = nativeStatus();
const expected = process.env.HERO_TEST_NATIVE !== "0" && process.arch === "x64" && !process.env.HERO_NATIVE;

// Not built where the compiler is missing: with CI unset that is a skip saying what to install.
const notBuilt =
  !status.addon && !process.env.CI
    ? `no native addon (${status.reason}): apt-get install g++ make python3, then npm run build:native`
    : false;
test("the native addon loaded (npm install built it)", {
  skip: (!expected && "not expected here") || notBuilt,
}, () => {
  assert.ok(status.addon, `no native addon: ${status.reason}`);
  const wasm = T.getBackend("wasm") as WasmBackend;
  assert.match(
    wasm.describeKernels(),
    /^native (avx512|avx2) for matmul, linear, attention, AdamW, axpy, layer norm and GELU backward; wasm /,
  );
});

interface Grads {
  out: Float64Array;
  grads: Float64Array[];
}

/** The same computation on a backend: values from seeded float64 draws, read back as float64. */
function run(backend: string, fn: (inputs: Tensor[]) => Tensor, shapes: number[][], seed: number): Grads {
  const g = new Random(seed);
  const draws = shapes.map((shape) => T.randn(shape, { generator: g, dtype: "float64" }).dataSync());
  return T.tidy(() => {
    const inputs = shapes.map((shape, i) =>
      T.tensor(Array.from(draws[i]!), { shape, backend, requiresGrad: true }),
    );
    const out = fn(inputs);
    const upstream = T.tensor(Array.from(T.randn(out.shape, { generator: g, dtype: "float64" }).dataSync()), {
      shape: out.shape,
      backend,
    });
    out.backward(upstream);
    return {
      out: Float64Array.from(out.dataSync()),
      grads: inputs.map((t) => Float64Array.from(t.grad!.dataSync())),
    };
  });
}

function assertSame(label: string, actual: Grads, expected: Grads, tol = 2e-5): void {
  const pairs: [string, Float64Array, Float64Array][] = [
    ["out", actual.out, expected.out],
    ...actual.grads.map((a, i): [string, Float64Array, Float64Array] => [`grad ${i}`, a, expected.grads[i]!]),
  ];
  for (const [what, a, e] of pairs) {
    assert.equal(a.length, e.length, `${label} ${what}: length`);
    e.forEach((v, i) => {
      if (Number.isNaN(v)) assert.ok(Number.isNaN(a[i]!), `${label} ${what}[${i}]: ${a[i]}, js NaN`);
      else assert.ok(close(a[i]!, v, tol, tol), `${label} ${what}[${i}]: ${a[i]} vs js ${v}`);
    });
  }
}

/** GPT's attention: q, k, v are strided views of one [B, T, 3C] projection, heads split off. */
function gptAttention(B: number, Tq: number, nHead: number, D: number) {
  return ([qkv]: Tensor[]) => {
    const C = nHead * D;
    const [q, k, v] = T.split(qkv!, C, 2).map((t) => T.transpose(T.reshape(t, [B, Tq, nHead, D]), 1, 2));
    return T.scaledDotProductAttention(q!, k!, v!, { isCausal: true });
  };
}

describe("native kernels match js", { skip: !status.addon && `no native addon: ${status.reason}` }, () => {
  test("attention: causal and not, Tk ≠ T, masked rows, odd head sizes, strided q/k/v", () => {
    const cases: [string, (inputs: Tensor[]) => Tensor, number[][]][] = [
      ["gpt [2,12,3·4·8]", gptAttention(2, 12, 4, 8), [[2, 12, 96]]],
      ["gpt [3,64,3·4·32]", gptAttention(3, 64, 4, 32), [[3, 64, 384]]],
      [
        "causal, more queries than keys (rows that see no key)",
        ([q, k, v]) => T.scaledDotProductAttention(q!, k!, v!, { isCausal: true }),
        [
          [2, 9, 5],
          [2, 6, 5],
          [2, 6, 7],
        ],
      ],
      [
        "not causal, Tk > T, head size 33",
        ([q, k, v]) => T.scaledDotProductAttention(q!, k!, v!, { scale: 0.3 }),
        [
          [3, 2, 7, 33],
          [3, 2, 21, 33],
          [3, 2, 21, 17],
        ],
      ],
      [
        "one query (a decoding step)",
        ([q, k, v]) => T.scaledDotProductAttention(q!, k!, v!, { isCausal: true }),
        [
          [2, 3, 1, 64],
          [2, 3, 40, 64],
          [2, 3, 40, 64],
        ],
      ],
      [
        "transposed keys (last dim strided: copied first)",
        ([q, k, v]) => T.scaledDotProductAttention(q!, T.transpose(k!, -2, -1), v!, { isCausal: true }),
        [
          [2, 10, 6],
          [2, 6, 10],
          [2, 10, 6],
        ],
      ],
    ];
    cases.forEach(([label, fn, shapes], i) => {
      assertSame(label, run("wasm", fn, shapes, 10 + i), run("js", fn, shapes, 10 + i));
    });
  });

  test("matmul: every transpose, batched, broadcast weights, few rows (no packing), shared over threads", () => {
    const wasm = T.getBackend("wasm") as WasmBackend;
    const before = wasm.native!.workerRuns();
    const cases: [string, (inputs: Tensor[]) => Tensor, number[][]][] = [
      [
        "x @ Wᵀ (a linear layer)",
        ([x, w]) => T.matmul(x!, T.transpose(w!, 0, 1)),
        [
          [300, 130],
          [77, 130],
        ],
      ],
      [
        "aᵀ @ b",
        ([a, b]) => T.matmul(T.transpose(a!, 0, 1), b!),
        [
          [129, 65],
          [129, 40],
        ],
      ],
      [
        "batched",
        ([a, b]) => T.matmul(a!, b!),
        [
          [3, 2, 17, 33],
          [3, 2, 33, 50],
        ],
      ],
      [
        "broadcast batch",
        ([a, b]) => T.matmul(a!, b!),
        [
          [4, 15, 20],
          [20, 31],
        ],
      ],
      [
        "one row, Wᵀ",
        ([x, w]) => T.matmul(x!, T.transpose(w!, 0, 1)),
        [
          [1, 70],
          [333, 70],
        ],
      ],
      [
        "three rows",
        ([x, w]) => T.matmul(x!, w!),
        [
          [3, 70],
          [70, 301],
        ],
      ],
      [
        "big enough for threads",
        ([a, b]) => T.matmul(a!, b!),
        [
          [256, 256],
          [256, 256],
        ],
      ],
    ];
    cases.forEach(([label, fn, shapes], i) => {
      assertSame(label, run("wasm", fn, shapes, 30 + i), run("js", fn, shapes, 30 + i), 1e-4);
    });
    if (wasm.threads > 1) assert.ok(wasm.native!.workerRuns() > before, "a native worker thread ran a share");
  });

  test("the fused linear (bias, GELU in both forms, the pre-activation kept) and GELU's backward", () => {
    const cases: [string, (inputs: Tensor[]) => Tensor, number[][]][] = [
      ["linear with bias", ([x, w, b]) => T.linear(x!, w!, b!), [[70, 33], [45, 33], [45]]],
      [
        "linear without bias, 3-D input",
        ([x, w]) => T.linear(x!, w!),
        [
          [2, 9, 40],
          [21, 40],
        ],
      ],
      ["linearGelu (erf)", ([x, w, b]) => T.linearGelu(x!, w!, b!, "none"), [[50, 64], [130, 64], [130]]],
      [
        "linearGelu (tanh), strided input",
        ([x, w, b]) => T.linearGelu(T.transpose(x!, 0, 1), w!, b!, "tanh"),
        [[24, 37], [19, 24], [19]],
      ],
      [
        "gelu and gelu tanh over -6..6",
        ([x]) => T.add(T.gelu(T.mul(x!, 3)), T.gelu(T.mul(x!, 3), "tanh")),
        [[7, 301]],
      ],
    ];
    cases.forEach(([label, fn, shapes], i) => {
      assertSame(label, run("wasm", fn, shapes, 40 + i), run("js", fn, shapes, 40 + i), 1e-4);
    });
  });

  test("layer norm backward and AdamW (bit for bit with js)", () => {
    const norm = ([x, w, b]: Tensor[]) => T.layerNorm(x!, [x!.shape.at(-1)!], w!, b!);
    assertSame(
      "layerNorm",
      run("wasm", norm, [[70, 33], [33], [33]], 50),
      run("js", norm, [[70, 33], [33], [33]], 50),
    );
    const step = (backend: string) => {
      const g = new Random(60);
      const make = () => T.tensor(Array.from(T.randn([1000], { generator: g }).dataSync()), { backend });
      const [p, grad, m] = [make(), make(), make()];
      const v = T.abs(make());
      T.noGrad(() => {
        for (let t = 1; t <= 3; t++)
          T.adamwStep(p, grad, m, v, {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weightDecay: 0.1,
            step: t,
          });
      });
      return [p, m, v].map((t) => Array.from(t.dataSync()));
    };
    assert.deepEqual(step("wasm"), step("js"));
  });
});

// Run by the parent with HERO_NATIVE=avx2 (the child skips this test).
const avx2Skip =
  (!status.addon && "no native addon") || (process.env.HERO_NATIVE !== undefined && "in the child");
test("HERO_NATIVE=avx2: the AVX2 kernels match js too", { skip: avx2Skip }, () => {
  const child = spawnSync(process.execPath, ["--test", fileURLToPath(import.meta.url)], {
    encoding: "utf8",
    cwd: repoRoot,
    // Without NODE_TEST_CONTEXT the child's runner reports as TAP on stdout, not to this runner.
    env: { ...process.env, HERO_NATIVE: "avx2", NODE_TEST_CONTEXT: undefined },
  });
  assert.equal(child.status, 0, child.stdout.slice(-3000) + child.stderr);
  assert.match(child.stdout, /# pass [1-9]/);
  assert.match(child.stdout, /# fail 0/);
});

test("a failed build of the addon does not fail the install: it says the kernels run in wasm", () => {
  const dir = mkdtempSync(join(tmpdir(), "hero-native-"));
  try {
    cpSync(join(repoRoot, "native", "binding.gyp"), join(dir, "binding.gyp"));
    cpSync(join(repoRoot, "native", "src"), join(dir, "src"), { recursive: true });
    const child = spawnSync(process.execPath, [join(repoRoot, "scripts", "build-native.mjs"), dir], {
      encoding: "utf8",
      // A compiler that always fails.
      env: { ...process.env, CXX: "false", CC: "false" },
    });
    assert.equal(child.status, 0, child.stderr);
    assert.match(
      child.stdout,
      /herograd native: (the build failed .*herograd will run its kernels in wasm|no native kernels)/s,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("HERO_NATIVE=0 turns the native kernels off", () => {
  const code = `
    const { WasmBackend } = await import(${JSON.stringify(new URL("../src/backend/wasm/index.js", import.meta.url).href)});
    console.log(new WasmBackend({ threads: 1 }).describeKernels());`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    encoding: "utf8",
    env: { ...process.env, HERO_NATIVE: "0" },
  });
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /\(native kernels: off \(HERO_NATIVE=0\)\)/);
});

test("hero --version names native as what it is: kernels of the CPU backend, wasm", () => {
  const hero = join(repoRoot, "dist", "src", "cli", "main.js");
  const version = (extra: NodeJS.ProcessEnv) => {
    const env = { ...process.env, ...extra };
    delete env.HERO_BACKEND;
    const child = spawnSync(process.execPath, [hero, "--version"], { encoding: "utf8", env });
    assert.equal(child.status, 0, child.stderr);
    return child.stdout;
  };
  const off = version({ HERO_NATIVE: "0" });
  assert.match(
    off,
    /^\d+\.\d+\.\d+\nCPU backend: wasm \(kernels: wasm \w+, \d+ threads? \(native kernels: off/,
  );
  if (status.addon)
    assert.match(
      version({}),
      /\nCPU backend: wasm \(kernels: native (avx512|avx2) for matmul, linear, attention, AdamW, axpy, layer norm and GELU backward; wasm \w+, \d+ threads?\)\n/,
    );
});

test("a call that would reach outside the wasm memory is an error, not a stray write", {
  skip: !status.addon,
}, () => {
  const addon = status.addon!;
  const { handle } = addon.context(1, status.isa!);
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 4 });
  const bytes = new Uint8Array(memory.buffer);
  const slots = new Int32Array(memory.buffer, 0, 256);
  // C = A·B with 64×64 operands, C placed 4 KiB before the end of the 128 KiB memory.
  slots.set([64, 64, 64, 64, 1, 64, 1, 64, 1, 4096, 4096, bytes.length - 4096, 0]);
  assert.throws(() => addon.matmul(handle, bytes, 0), /matmul: an operand reaches outside the wasm memory/);
  assert.throws(() => addon.matmul(handle, bytes, bytes.length), /the argument block is outside the memory/);
  assert.throws(() => addon.matmul({}, bytes, 0), /not a native context/);
});
