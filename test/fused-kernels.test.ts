/**
 * The optional fused kernels of the synchronous backends (axpy, batchNorm, batchNormBackward)
 * against the composition of required kernels they replace, and js against wasm bit for bit.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Random } from "../src/random/index.js";
import {
  addInPlace,
  batchNorm,
  getBackend,
  linear,
  noGrad,
  ones,
  randn,
  setBackend,
  type Tensor,
  zeros,
} from "../src/tensor/index.js";
import { testBackends } from "./tensor-backends.js";

function maxDiff(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.equal(x.length, y.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
}

interface BatchNormRun {
  y: Tensor;
  dx: Tensor;
  dw: Tensor;
  db: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
}

/** Training batch norm of x (float32: fused; float64: the composition), forward and backward. */
function runBatchNorm(shape: number[], dtype: "float32" | "float64", seed: number): BatchNormRun {
  const g = new Random(seed);
  const C = shape.at(-1)!;
  const x = randn(shape, { generator: g, dtype }).mul(3).add(1).setRequiresGrad();
  const weight = randn([C], { generator: g, dtype }).setRequiresGrad();
  const bias = randn([C], { generator: g, dtype }).setRequiresGrad();
  const upstream = randn(shape, { generator: g, dtype });
  const runningMean = zeros([C], { dtype });
  const runningVar = ones([C], { dtype });
  const y = batchNorm(x, { weight, bias, runningMean, runningVar, training: true, momentum: 0.1 });
  y.mul(upstream).sum().backward();
  return { y, dx: x.grad!, dw: weight.grad!, db: bias.grad!, runningMean, runningVar };
}

for (const name of testBackends()) {
  describe(`fused kernels on ${name}`, () => {
    test("supports axpy, batchNorm and batchNormBackward", () => {
      const backend = getBackend(name);
      for (const k of ["axpy", "batchNorm", "batchNormBackward"] as const)
        assert.ok(backend.supports?.(k), k);
    });

    for (const shape of [
      [32, 200],
      [7, 5],
      [4, 3, 9],
    ]) {
      test(`batchNorm ${JSON.stringify(shape)}: the fused float32 kernels match the float64 composition`, () => {
        setBackend(name);
        const fused = runBatchNorm(shape, "float32", 5);
        const reference = runBatchNorm(shape, "float64", 5);
        for (const key of ["y", "dx", "dw", "db", "runningMean", "runningVar"] as const) {
          const d = maxDiff(fused[key], reference[key]);
          assert.ok(d < 2e-5 * Math.max(1, ...reference[key].abs().dataSync()), `${key}: max diff ${d}`);
        }
      });
    }

    test("batchNorm in eval mode and on other dims composes required kernels", () => {
      setBackend(name);
      const x = randn([6, 4], { generator: new Random(2) });
      const mean = x.mean(0);
      const variance = x.var(0, { unbiased: false });
      const y = batchNorm(x, { training: true, dims: [1] });
      assert.deepEqual(y.shape, [6, 4]);
      const evalY = batchNorm(x, { training: false, runningMean: mean, runningVar: variance });
      assert.ok(maxDiff(evalY, batchNorm(x, { training: true })) < 1e-5);
    });

    test("addInPlace adds alpha·value in place, from strided and broadcast values, and bumps the version", () => {
      setBackend(name);
      const g = new Random(4);
      const target = randn([5, 3], { generator: g });
      const before = target.clone();
      const value = randn([3, 5], { generator: g });
      const version = target.storage.version;
      addInPlace(target, value.T, -0.1);
      assert.equal(target.storage.version, version + 1);
      assert.ok(maxDiff(target, before.add(value.T.mul(-0.1))) < 1e-7);
      const row = randn([3], { generator: g });
      addInPlace(target, row);
      assert.ok(maxDiff(target, before.add(value.T.mul(-0.1)).add(row)) < 1e-6);
      assert.throws(
        () => addInPlace(target, randn([4])),
        /addInPlace: shapes \[4\] and \[5, 3\] cannot be broadcast together/,
      );
      const leaf = zeros([2]).setRequiresGrad();
      assert.throws(() => addInPlace(leaf, ones([2])), /leaf tensor that requires grad/);
      noGrad(() => addInPlace(leaf, ones([2]), 2));
      assert.deepEqual([...leaf.dataSync()], [2, 2]);
    });

    test("linear's weight gradient lands contiguous in the weight's layout and equals xᵀ·g transposed", () => {
      setBackend(name);
      const g = new Random(6);
      const x = randn([8, 5], { generator: g });
      const w = randn([3, 5], { generator: g }).setRequiresGrad();
      const up = randn([8, 3], { generator: g });
      linear(x, w).mul(up).sum().backward();
      assert.deepEqual(w.grad!.strides, [5, 1]);
      assert.ok(maxDiff(w.grad!, up.T.matmul(x)) < 1e-5);
    });
  });
}

test("js and wasm fused kernels agree bit for bit", (t) => {
  const names = testBackends();
  if (!names.includes("js") || !names.includes("wasm")) {
    t.skip("needs the js and wasm backends");
    return;
  }
  const runs = ["js", "wasm"].map((name) => {
    setBackend(name);
    const bn = runBatchNorm([33, 7], "float32", 9);
    const target = randn([33, 7], { generator: new Random(1) });
    addInPlace(target, bn.dx, -0.37);
    return { ...bn, target };
  });
  for (const key of ["y", "dx", "dw", "db", "runningMean", "runningVar", "target"] as const) {
    assert.deepEqual([...runs[0]![key].dataSync()], [...runs[1]![key].dataSync()], key);
  }
});
