/**
 * The webgpu backend beyond the shared suites (which run it through test/tensor-backends.ts):
 * an adapter must exist where the suite runs (CI installs Mesa), memory comes back, a training
 * step is a few submissions, and what WebGPU cannot do fails with a clear message.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { registerBackend } from "../src/backend/index.js";
import { REDUCE_OPS } from "../src/backend/spec/ops.js";
import type { WebGpuBackend } from "../src/backend/webgpu/index.js";
import { matmulPlanOf } from "../src/backend/webgpu/kernels.js";
import { createNodeWebGpuBackend } from "../src/backend/webgpu/node.js";
import { GPT } from "../src/models/gpt.js";
import { AdamW } from "../src/optim/index.js";
import * as T from "../src/tensor/index.js";
import { Random } from "../src/tensor/index.js";
import { viewOf } from "../src/tensor/ops/core.js";
import { close, fixture, opsFixtureCases, repoRoot } from "./helpers.js";
import { webgpuUnavailable } from "./tensor-backends.js";
import { checkLaneKernels } from "./webgpu-lane-cases.js";

const optedOut = process.env.HERO_TEST_WEBGPU === "0";
// No adapter where Mesa's drivers are missing: with CI unset that is a skip saying what to install.
const noAdapter =
  webgpuUnavailable !== null && !process.env.CI
    ? `no WebGPU adapter (${webgpuUnavailable}): apt-get install mesa-vulkan-drivers libegl-mesa0 libegl1 libgl1-mesa-dri`
    : false;
const skip = optedOut ? "HERO_TEST_WEBGPU=0" : noAdapter;

test("a WebGPU adapter exists (without a GPU: Mesa's llvmpipe through Dawn's OpenGL ES)", { skip }, () => {
  assert.equal(webgpuUnavailable, null, `webgpu did not register: ${webgpuUnavailable}`);
  assert.ok(T.backendNames().includes("webgpu"));
});

const ready = !optedOut && webgpuUnavailable === null;

test("every reduction of the table on webgpu as on js (the kernel itself: prod has no tensor function)", {
  skip: !ready,
}, async () => {
  for (const [shape, axes] of [
    [[5, 37], [1]],
    [[3, 3001], [1]],
    [[37, 6], [0]],
  ] as [number[], number[]][]) {
    const outShape = shape.map((s, d) => (axes.includes(d) ? 1 : s));
    // Near 1, so a product of 3001 stays in range; a NaN in one lane, which max and min return.
    const values = T.randn(shape, { generator: new Random(12), backend: "js" })
      .mul(0.001)
      .add(1)
      .dataSync();
    values[shape[1]! + 2] = Number.NaN;
    for (const op of REDUCE_OPS) {
      const results = [];
      for (const backend of ["js", "webgpu"]) {
        const x = T.tensor(values, { shape, backend });
        const out = T.zeros(outShape, { backend });
        x.backend.run("reduce", { op, x: viewOf(x), axes, out: viewOf(out) });
        results.push(await out.data());
      }
      const [want, got] = results as [Float32Array, Float32Array];
      want.forEach((w, i) => {
        assert.ok(
          close(got[i]!, w, 1e-4, 1e-4),
          `${op} ${shape} over ${axes} [${i}]: ${got[i]}, expected ${w}`,
        );
      });
    }
  }
});

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

/**
 * Collect until the live count stops changing: tensors dropped earlier are freed by the
 * FinalizationRegistry whenever V8 collects, which would otherwise change the counts mid-test.
 */
async function settleGarbage(backend: WebGpuBackend): Promise<void> {
  let before = -1;
  for (let round = 0; round < 20 && backend.memoryStats().buffers !== before; round++) {
    before = backend.memoryStats().buffers;
    collect();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function tinyGPT(): GPT {
  return new GPT(
    { blockSize: 8, vocabSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true },
    { generator: new Random(4) },
  );
}

test("training steps: a few submissions each, live buffers flat, GPU buffers and bind groups reused", {
  skip: !ready,
}, async () => {
  // A backend of its own: the pool, bind-group cache and counters start empty whatever ran before.
  const backend = await createNodeWebGpuBackend();
  registerBackend("webgpu-steps", () => backend);
  const previous = T.currentBackendName();
  T.setBackend("webgpu-steps");
  try {
    const model = tinyGPT();
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const g = new Random(1);
    const x = T.randint(0, 16, [2, 8], { generator: g });
    const y = T.randint(0, 16, [2, 8], { generator: g });
    const record = () =>
      T.tidy(() => {
        const l = model.forward(x, { targets: y }).loss!;
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l.detach();
      });
    const step = async () => {
      const loss = record();
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    };
    // Building the model leaves unscoped temporaries for the collector: freed into the pool at a
    // collection's whim, they would change which buffers (and bind groups) a step gets.
    await settleGarbage(backend);
    const first = await step();
    await step();
    await settleGarbage(backend);
    await step();
    const device = backend.device;
    const live = backend.memoryStats();
    const submissions = device.submissions;
    const created = device.buffersCreated;
    const bindGroups = device.bindGroupsCreated;
    let last = first;
    for (let i = 0; i < 10; i++) last = await step();
    assert.ok(last < first, `the loss falls (${first} → ${last})`);
    assert.ok(
      (device.submissions - submissions) / 10 <= 3,
      `${(device.submissions - submissions) / 10} submissions per step`,
    );
    assert.deepEqual(backend.memoryStats(), live);
    assert.equal(device.buffersCreated, created, "steps after the first ones reuse pooled buffers");
    assert.equal(device.bindGroupsCreated, bindGroups, "and the same buffers, so their cached bind groups");
    // Five steps recorded back to back, read once: freed buffers are reused at once, so no more memory.
    const losses = Array.from({ length: 5 }, record);
    const values = await Promise.all(losses.map(async (l) => (await l.data())[0]!));
    for (const l of losses) l.dispose();
    assert.ok(values[4]! < first);
    // Only the four losses kept beyond the one a step keeps.
    assert.equal(device.buffersCreated, created + 4, "recording ahead needs no more buffers");
    assert.deepEqual(backend.memoryStats(), live);
  } finally {
    T.setBackend(previous);
  }
});

test("float64 and synchronous reads are refused with what to do instead", { skip: !ready }, () => {
  assert.throws(
    () => T.zeros([2], { dtype: "float64", backend: "webgpu" }),
    /webgpu has no float64.*float32/,
  );
  assert.throws(() => T.ones([2], { backend: "webgpu" }).dataSync(), /asynchronous; use await t\.data\(\)/);
});

test("a lost device is reported with a clear error", { skip: !ready }, async () => {
  const backend = await createNodeWebGpuBackend();
  registerBackend("webgpu-lost", () => backend);
  const x = T.ones([4], { backend: "webgpu-lost" });
  assert.equal((await x.add(1).data())[1], 2);
  backend.device.device.destroy();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await assert.rejects(async () => x.add(1).data(), /webgpu device lost/);
  assert.throws(() => T.ones([4], { backend: "webgpu-lost" }), /webgpu device lost/);
});

test("hero --backend webgpu: selftest ops passes; a synchronous training loop is refused up front", {
  skip: !ready,
}, () => {
  const hero = join(repoRoot, "dist", "src", "cli", "main.js");
  const run = (...args: string[]) => spawnSync(process.execPath, [hero, ...args], { encoding: "utf8" });
  const ops = run("selftest", "ops", fixture("ops.json"), "--backend", "webgpu");
  assert.equal(ops.status, 0, ops.stdout + ops.stderr);
  const n = opsFixtureCases();
  assert.match(ops.stdout, new RegExp(`${n} cases on the webgpu backend in float32\n${n} passed, 0 failed`));
  const train = run("makemore", "train", "--type", "mlp", "--backend", "webgpu");
  assert.equal(train.status, 1);
  assert.match(train.stderr, /makemore train reads values synchronously .* use --backend wasm or js/);
});

/** Shapes that reach every matmul kernel variant (tiles of 64 and 128, each way of loading, the matrix-vector kernel). */
const MATMUL_CASES: { a: number[]; b: number[]; ta?: boolean; tb?: boolean; slice?: boolean }[] = [
  { a: [70, 36], b: [36, 68] }, // vec4 loads along k (a) and n (b), vec4 stores
  { a: [70, 33], b: [33, 65] }, // ragged: scalar loads and stores
  { a: [36, 72], b: [36, 68], ta: true }, // aᵀ: vec4 along m
  { a: [33, 70], b: [33, 65], ta: true }, // aᵀ ragged: scalar, m fast
  { a: [70, 36], b: [68, 36], tb: true }, // bᵀ (linear's weight): vec4 along k
  { a: [70, 33], b: [65, 33], tb: true }, // bᵀ ragged
  { a: [70, 37], b: [36, 68], slice: true }, // a at an odd offset: scalar
  { a: [3, 50, 20], b: [20, 40] }, // batched, b broadcast
  { a: [2, 3, 20, 9], b: [3, 9, 20] }, // two batch dims, one broadcast
  { a: [16, 260, 12], b: [16, 12, 260] }, // 128×128 tiles
  { a: [16, 12, 257], b: [16, 12, 259], ta: true }, // 128, aᵀ ragged
  { a: [16, 257, 13], b: [16, 259, 13], tb: true }, // 128, bᵀ ragged
  { a: [70, 1100], b: [1100, 68] }, // few tiles, long k: split-K
  { a: [33, 1030], b: [65, 1030], tb: true }, // split-K, ragged, bᵀ
  { a: [1, 40], b: [40, 300] }, // one row: matrix-vector, threads along n
  { a: [3, 40], b: [300, 40], tb: true }, // matrix-vector, threads along k
  { a: [300, 40], b: [40, 3] }, // three columns: computed transposed
  { a: [40, 300], b: [40, 3], ta: true }, // the same with aᵀ
  { a: [2, 700], b: [5, 700], tb: true }, // long k
  { a: [6, 1, 16], b: [6, 16, 50] }, // batched rows (attention while decoding)
];

async function checkMatmuls(backend: string): Promise<Set<string>> {
  const g = new Random(7);
  const plans = new Set<string>();
  for (const c of MATMUL_CASES) {
    const x = T.randn(c.a, { generator: g });
    const y = T.randn(c.b, { generator: g });
    const on = (backend: string): [T.Tensor, T.Tensor] => {
      let A = c.ta ? x.to(backend).mT : x.to(backend);
      if (c.slice) A = A.slice(1, 1, A.shape[1]!);
      return [A, c.tb ? y.to(backend).mT : y.to(backend)];
    };
    const expected = T.matmul(...on(T.currentBackendName())).dataSync();
    const [Ag, Bg] = on(backend);
    const out = T.matmul(Ag, Bg);
    const view = (t: T.Tensor) => ({
      storage: t.storage.handle,
      shape: t.shape,
      strides: t.strides,
      offset: t.offset,
    });
    const device = (T.getBackend(backend) as WebGpuBackend).device;
    const { plan, swapped } = matmulPlanOf(
      view(Ag.expand([...out.shape.slice(0, -2), ...Ag.shape.slice(-2)])),
      view(Bg.expand([...out.shape.slice(0, -2), ...Bg.shape.slice(-2)])),
      view(out),
      device.workgroupBytes,
    );
    const key =
      plan.kind === "gemv"
        ? `gemv ${plan.kFast ? "k" : "n"}${swapped ? " swapped" : ""}`
        : `tile ${plan.tile}/${plan.bk} a:${plan.a} b:${plan.b}${plan.outVec ? " vec4-out" : ""}${plan.splitK > 1 ? " split" : ""}`;
    plans.add(key.replace(/\/\d+/, ""));
    const actual = await out.data();
    const bad = [...expected.keys()].find((i) => !close(actual[i]!, expected[i]!, 1e-4, 1e-4));
    assert.equal(
      bad,
      undefined,
      `${JSON.stringify(c)} (${key}): element ${bad} is ${actual[bad!]}, expected ${expected[bad!]}`,
    );
  }
  return plans;
}

test("matmul: every kernel variant matches js on ragged, transposed, offset and batched shapes", {
  skip: !ready,
}, async () => {
  const plans = await checkMatmuls("webgpu");
  for (const p of [
    "tile 64 a:vk b:vr vec4-out",
    "tile 64 a:sk b:sr",
    "tile 64 a:vr b:vr vec4-out",
    "tile 64 a:sr b:sr",
    "tile 64 a:vk b:vk vec4-out",
    "tile 64 a:sk b:sk",
    "tile 128 a:vk b:vr vec4-out",
    "tile 128 a:sr b:sr",
    "tile 128 a:sk b:sk",
    "tile 64 a:vk b:vr vec4-out split",
    "tile 64 a:sk b:sk split",
    "gemv n",
    "gemv k",
    "gemv k swapped",
    "gemv n swapped",
  ])
    assert.ok(plans.has(p), `${p} is tested (tested: ${[...plans].join(", ")})`);
  // Compatibility mode's 16 KiB of workgroup memory: half the k per step.
  const small = await createNodeWebGpuBackend({ workgroupBytes: 16384 });
  assert.equal(small.device.workgroupBytes, 16384);
  registerBackend("webgpu-16k", () => small);
  await checkMatmuls("webgpu-16k");
});

test("lane kernels (64 and 256 threads) match js forward and backward", { skip: !ready }, async () => {
  assert.deepEqual(await checkLaneKernels(T, "webgpu"), []);
});

test("fused linear (bias, GELU, the kept sum for backward) matches js forward and backward", {
  skip: !ready,
}, async () => {
  const g = new Random(11);
  // [rows, in, out]: tiles of 64, vec4 and ragged; one row (matrix-vector); three outputs (transposed).
  const shapes: [number, number, number][] = [
    [70, 36, 68],
    [33, 17, 65],
    [1, 40, 300],
    [300, 40, 3],
    [2, 5, 7],
    [70, 1100, 68], // split-K: the epilogue in the second pass
  ];
  for (const [R, K, N] of shapes) {
    for (const bias of [true, false]) {
      for (const act of [null, "none", "tanh"] as const) {
        const x = T.randn([R, K], { generator: g });
        const w = T.randn([N, K], { generator: g });
        const b = T.randn([N], { generator: g });
        const upstream = T.randn([R, N], { generator: g });
        const run = (backend: string) => {
          const leaves = [x, w, b].map((t) => {
            const leaf = t.to(backend).detach();
            leaf.requiresGrad = true;
            return leaf;
          }) as [T.Tensor, T.Tensor, T.Tensor];
          const [lx, lw, lb] = leaves;
          const y =
            act === null ? T.linear(lx, lw, bias ? lb : null) : T.linearGelu(lx, lw, bias ? lb : null, act);
          y.mul(upstream.to(backend)).sum().backward();
          return [y, lx.grad!, lw.grad!, ...(bias ? [lb.grad!] : [])];
        };
        const expected = run("js");
        const actual = run("webgpu");
        for (const [i, e] of expected.entries()) {
          const want = e.dataSync();
          const got = await actual[i]!.data();
          // Gradients are sums over rows of values that are float32 sums themselves: looser.
          const tol = i === 0 ? 1e-4 : 1e-3;
          const bad = [...want.keys()].find((j) => !close(got[j]!, want[j]!, tol, tol));
          assert.equal(
            bad,
            undefined,
            `[${R}, ${K}] → ${N}, bias ${bias}, gelu ${act}: output ${i} element ${bad} is ${got[bad!]}, expected ${want[bad!]}`,
          );
        }
        // Inference: no kept sum, the same values.
        const inferred = T.noGrad(() => T.linearGelu(x.to("webgpu"), w.to("webgpu"), b.to("webgpu"), "tanh"));
        const reference = T.linearGelu(x, w, b, "tanh").dataSync();
        const values = await inferred.data();
        const off = [...reference.keys()].find((j) => !close(values[j]!, reference[j]!, 1e-4, 1e-4));
        assert.equal(
          off,
          undefined,
          `inference: element ${off} is ${values[off!]}, expected ${reference[off!]}`,
        );
      }
    }
  }
});

test("indexAdd, scatterAdd and an embedding's backward match js with one or many row ranges per thread", {
  skip: !ready,
}, async () => {
  const g = new Random(13);
  const ids = (n: number, rows: number) =>
    T.tensor(
      Array.from({ length: n }, (_, i) => (i * 7919 + (i % 3)) % rows),
      { dtype: "int32" },
    );
  const cases: { name: string; run: (on: string) => T.Tensor }[] = [];
  // [positions off the dim, rows of out]: 5 positions → a thread per row; 70,000 → one range.
  for (const [width, n, rows] of [
    [5, 300, 1000],
    [2000, 40, 97],
    [70000, 8, 10],
  ] as const) {
    const src = T.randn([n, width], { generator: g });
    const index = ids(n, rows);
    cases.push({
      name: `indexAdd of ${n} rows of ${width} into ${rows}`,
      run: (on) => T.indexAdd(T.zeros([rows, width], { backend: on }), 0, index.to(on), src.to(on)),
    });
  }
  const counts = T.randint(-5, 5, [6, 50], { generator: g, dtype: "int32" });
  const where = T.tensor(
    Array.from({ length: 300 }, (_, i) => (i * 13) % 9),
    { dtype: "int32" },
  ).reshape([6, 50]);
  cases.push({
    name: "scatterAdd of int32 along dim 1",
    run: (on) =>
      T.scatterAdd(T.zeros([6, 9], { dtype: "int32", backend: on }), 1, where.to(on), counts.to(on)),
  });
  const weight = T.randn([500, 24], { generator: g });
  const tokens = ids(64, 500).reshape([4, 16]);
  const upstream = T.randn([4, 16, 24], { generator: g });
  cases.push({
    name: "embedding backward",
    run: (on) => {
      const w = weight.to(on).detach();
      w.requiresGrad = true;
      T.embedding(w, tokens.to(on)).mul(upstream.to(on)).sum().backward();
      return w.grad!;
    },
  });
  for (const c of cases) {
    const want = c.run("js").dataSync();
    const got = await c.run("webgpu").data();
    const bad = [...want.keys()].find((j) => !close(got[j]!, want[j]!, 1e-5, 1e-5));
    assert.equal(bad, undefined, `${c.name}: element ${bad} is ${got[bad!]}, expected ${want[bad!]}`);
  }
});

test("addInPlace (the fused axpy: gradient accumulation) matches js, broadcast and scaled", {
  skip: !ready,
}, async () => {
  const g = new Random(17);
  const base = T.randn([33, 70], { generator: g });
  const row = T.randn([70], { generator: g });
  for (const alpha of [1, -0.37]) {
    const want = T.addInPlace(base.to("js").clone(), row.to("js"), alpha).dataSync();
    const got = await T.addInPlace(base.to("webgpu").clone(), row.to("webgpu"), alpha).data();
    const bad = [...want.keys()].find((j) => !close(got[j]!, want[j]!, 1e-6, 1e-6));
    assert.equal(bad, undefined, `alpha ${alpha}: element ${bad} is ${got[bad!]}, expected ${want[bad!]}`);
  }
});
