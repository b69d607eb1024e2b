/**
 * The front end on an asynchronous backend: the js kernels behind an interface shaped like
 * WebGPU's (no readSync, reads resolve later). The fixture suite must pass through `await data()`
 * alone, and the same ops must give the same numbers as the synchronous js backend.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { JsBackend } from "../src/backend/js/index.js";
import type { Backend, Storage, TypedArray } from "../src/backend/types.js";
import { clipGradNorm } from "../src/optim/index.js";
import { type OpsFixtureFile, runOpsFixtures } from "../src/selftest/index.js";
import * as T from "../src/tensor/index.js";
import { Random } from "../src/tensor/index.js";
import { fixture } from "./helpers.js";

class AsyncJsBackend implements Backend {
  readonly name = "js-async";
  readonly synchronous = false;
  private readonly inner = new JsBackend();
  alloc = this.inner.alloc.bind(this.inner);
  free = this.inner.free.bind(this.inner);
  write = this.inner.write.bind(this.inner);
  run = this.inner.run.bind(this.inner);
  memoryStats = this.inner.memoryStats.bind(this.inner);
  read(storage: Storage): Promise<TypedArray> {
    const copy = this.inner.readSync(storage);
    return new Promise((resolve) => setTimeout(() => resolve(copy), 0));
  }
}

T.registerBackend("js-async", () => new AsyncJsBackend());

test("ops.json passes on an asynchronous backend (reads only through await data())", async () => {
  const file = JSON.parse(readFileSync(fixture("ops.json"), "utf8")) as OpsFixtureFile;
  const report = await runOpsFixtures(file, { backend: "js-async" });
  assert.deepEqual(
    report.results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.problems.join("; ")}`),
    [],
  );
});

test("synchronous reads on an asynchronous backend say what to use instead", () => {
  const x = T.ones([2], { backend: "js-async" });
  assert.throws(() => x.dataSync(), /js-async backend is asynchronous; use await t\.data\(\)/);
  assert.throws(() => x.sum().item(), /asynchronous/);
  assert.match(String(x), /tensor\(shape=\[2\], backend=js-async\)/);
});

test("multinomial samples on an asynchronous backend as on js", async () => {
  const probs = [0.2, 0.5, 0.3];
  const onAsync = await T.multinomial(T.tensor(probs, { backend: "js-async" }), 50, {
    replacement: true,
    generator: new Random(2),
  });
  assert.equal(onAsync.backend.name, "js-async");
  const onJs = await T.multinomial(T.tensor(probs, { backend: "js" }), 50, {
    replacement: true,
    generator: new Random(2),
  });
  assert.deepEqual([...(await onAsync.data())], [...onJs.dataSync()]);
  await assert.rejects(
    T.multinomial(T.tensor([[0.5, 0.5]], { backend: "js-async" }), 3),
    /without replacement/,
  );
});

test("a training step runs eagerly and gives the js backend's numbers", async () => {
  const run = async (backend: string) => {
    const g = new Random(5);
    const W = T.randn([6, 4], { backend, generator: g, requiresGrad: true });
    const x = T.randn([3, 6], { backend, generator: g });
    const y = T.tensor([0, 3, 1], { backend, dtype: "int32" });
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const loss = T.tidy(() => {
        const l = T.crossEntropy(T.layerNorm(T.matmul(x, W).transpose(0, 1), [3]).transpose(0, 1), y);
        W.zeroGrad();
        l.backward();
        T.noGrad(() => W.assign(T.sub(W, T.mul(W.grad!, 0.5))));
        return T.keep(l.detach());
      });
      losses.push((await loss.data())[0]!);
    }
    return losses;
  };
  assert.deepEqual(await run("js-async"), await run("js"));
});

test("clipGradNorm clips on an asynchronous backend without reading, as on js", async () => {
  const clipped = async (backend: string, maxNorm: number) => {
    const a = T.tensor([3, 0], { backend, dtype: "float64" });
    const b = T.tensor([0, 4], { backend, dtype: "float64" });
    a.grad = T.tensor([3, 0], { backend, dtype: "float64" });
    b.grad = T.tensor([0, 4], { backend, dtype: "float64" });
    const norm = clipGradNorm([a, b], maxNorm)!;
    return [...(await norm.data()), ...(await a.grad.data()), ...(await b.grad.data())];
  };
  for (const maxNorm of [1, 10])
    assert.deepEqual(await clipped("js-async", maxNorm), await clipped("js", maxNorm));
  const [norm, a0] = await clipped("js-async", 1);
  assert.equal(norm, 5);
  assert.ok(Math.abs(a0! - 3 / (5 + 1e-6)) < 1e-12, `${a0}`);
});
