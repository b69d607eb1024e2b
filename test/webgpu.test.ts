/**
 * The webgpu backend beyond the shared suites (which run it through test/tensor-backends.ts):
 * an adapter must exist where the suite runs (CI installs Mesa), memory comes back, a training
 * step is a few submissions, and what WebGPU cannot do fails with a clear message.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { registerBackend } from "../src/backend/index.js";
import type { WebGpuBackend } from "../src/backend/webgpu/index.js";
import { createNodeWebGpuBackend } from "../src/backend/webgpu/node.js";
import { GPT } from "../src/models/gpt.js";
import { AdamW } from "../src/optim/index.js";
import * as T from "../src/tensor/index.js";
import { Random } from "../src/tensor/index.js";
import { fixture, repoRoot } from "./helpers.js";
import { webgpuUnavailable } from "./tensor-backends.js";

const optedOut = process.env.HERO_TEST_WEBGPU === "0";
const skip = optedOut ? "HERO_TEST_WEBGPU=0" : false;

test("a WebGPU adapter exists (without a GPU: Mesa's llvmpipe through Dawn's OpenGL ES)", { skip }, () => {
  assert.equal(webgpuUnavailable, null, `webgpu did not register: ${webgpuUnavailable}`);
  assert.ok(T.backendNames().includes("webgpu"));
});

const ready = !optedOut && webgpuUnavailable === null;
const webgpu = () => T.getBackend("webgpu") as WebGpuBackend;

function tinyGPT(): GPT {
  return new GPT(
    { blockSize: 8, vocabSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true },
    { generator: new Random(4) },
  );
}

test("training steps: a few submissions each, live buffers flat, GPU buffers reused", {
  skip: !ready,
}, async () => {
  const previous = T.currentBackendName();
  T.setBackend("webgpu");
  try {
    const model = tinyGPT();
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const g = new Random(1);
    const x = T.randint(0, 16, [2, 8], { generator: g });
    const y = T.randint(0, 16, [2, 8], { generator: g });
    const step = async () => {
      const loss = T.tidy(() => {
        const l = model.forward(x, { targets: y }).loss!;
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l.detach();
      });
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    };
    const first = await step();
    await step();
    const device = webgpu().device;
    const live = webgpu().memoryStats();
    const submissions = device.submissions;
    const created = device.buffersCreated;
    let last = first;
    for (let i = 0; i < 10; i++) last = await step();
    assert.ok(last < first, `the loss falls (${first} → ${last})`);
    assert.ok(
      (device.submissions - submissions) / 10 <= 3,
      `${(device.submissions - submissions) / 10} submissions per step`,
    );
    assert.deepEqual(webgpu().memoryStats(), live);
    assert.equal(device.buffersCreated, created, "steps after the first ones reuse pooled buffers");
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
  assert.match(ops.stdout, /121 cases on the webgpu backend in float32\n121 passed, 0 failed/);
  const train = run("makemore", "train", "--type", "mlp", "--backend", "webgpu");
  assert.equal(train.status, 1);
  assert.match(train.stderr, /makemore train reads values synchronously .* use --backend wasm or js/);
});

test("matmul: both tile sizes match js on ragged, transposed and batched shapes", {
  skip: !ready,
}, async () => {
  const g = new Random(7);
  const cases: [number[], number[], boolean, boolean][] = [
    [[70, 33], [33, 65], false, false], // 64×64 tiles, ragged edges
    [[1030, 20], [20, 1050], false, false], // 128×128 tiles (≥ 64 of them), ragged edges
    [[1030, 20], [1050, 20], false, true], // b transposed (linear's weight)
    [[20, 1030], [20, 1050], true, false], // a transposed
    [[3, 50, 17], [3, 17, 40], false, false], // batched
  ];
  for (const [as, bs, ta, tb] of cases) {
    const a = T.randn(as, { generator: g });
    const b = T.randn(bs, { generator: g });
    const A = ta ? a.mT : a;
    const B = tb ? b.mT : b;
    const expected = T.matmul(A, B).dataSync();
    const actual = await T.matmul(A.to("webgpu"), B.to("webgpu")).data();
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    assert.ok(worst < 1e-4, `${as}${ta ? "ᵀ" : ""} @ ${bs}${tb ? "ᵀ" : ""}: max error ${worst}`);
  }
});
