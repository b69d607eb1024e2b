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

test("multinomialAsync samples on an asynchronous backend like multinomial on js", async () => {
  const probs = [0.2, 0.5, 0.3];
  const onAsync = await T.multinomialAsync(T.tensor(probs, { backend: "js-async" }), 50, {
    replacement: true,
    generator: new Random(2),
  });
  const onJs = T.multinomial(T.tensor(probs), 50, { replacement: true, generator: new Random(2) });
  assert.deepEqual([...(await onAsync.data())], [...onJs.dataSync()]);
  assert.throws(() => T.multinomial(T.tensor(probs, { backend: "js-async" })), /use await t\.data\(\)/);
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
