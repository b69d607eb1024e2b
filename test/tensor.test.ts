/** Tensor behaviour: creation, views, broadcasting, autograd, errors, memory, determinism, printing. */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as T from "../src/tensor/index.js";
import { noGrad, Random, type Tensor, tidy } from "../src/tensor/index.js";
import { repoRoot } from "./helpers.js";
import { testBackends } from "./tensor-backends.js";

test("src/tensor and src/backend/js run in browsers: no node: imports, no process", () => {
  for (const dir of ["src/tensor", "src/tensor/ops", "src/backend/js"]) {
    for (const name of readdirSync(join(repoRoot, dir)).filter((f) => f.endsWith(".ts"))) {
      const text = readFileSync(join(repoRoot, dir, name), "utf8");
      assert.doesNotMatch(text, /from "node:|require\(|process\./, `${dir}/${name}`);
    }
  }
});

const buffers = (backend: string) => T.memoryStats()[backend]?.buffers ?? 0;

for (const backend of testBackends()) {
  const f32 = (data: T.NestedArray, requiresGrad = false) => T.tensor(data, { backend, requiresGrad });
  const ints = (data: T.NestedArray) => T.tensor(data, { backend, dtype: "int32" });

  describe(`tensors on ${backend}`, () => {
    test("creation: nested arrays, dtypes, ranges, constants", () => {
      const x = f32([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      assert.deepEqual(x.shape, [2, 3]);
      assert.equal(x.dtype, "float32");
      assert.deepEqual(x.tolist(), [
        [1, 2, 3],
        [4, 5, 6],
      ]);
      assert.equal(T.tensor([true, false], { backend }).dtype, "bool");
      assert.equal(T.tensor(new Int32Array([1, 2]), { backend }).dtype, "int32");
      assert.equal(T.tensor(new Float64Array([1, 2]), { backend }).dtype, "float64");
      assert.throws(() => f32([[1, 2], [3]]), /ragged/);
      assert.deepEqual(T.arange(4, undefined, 1, { backend }).tolist(), [0, 1, 2, 3]);
      assert.equal(T.arange(4, undefined, 1, { backend }).dtype, "int32");
      assert.equal(T.arange(0, 1, 0.25, { backend }).dtype, "float32");
      assert.deepEqual(T.linspace(0, 1, 5, { backend }).tolist(), [0, 0.25, 0.5, 0.75, 1]);
      assert.deepEqual(T.eye(2, 3, { backend }).tolist(), [
        [1, 0, 0],
        [0, 1, 0],
      ]);
      assert.deepEqual(T.full([2], 7, { backend, dtype: "int32" }).tolist(), [7, 7]);
      assert.deepEqual(T.zerosLike(x).shape, [2, 3]);
      assert.equal(T.scalar(3, { backend }).item(), 3);
      assert.deepEqual(T.tril(T.ones([3, 3], { backend })).tolist(), [
        [1, 0, 0],
        [1, 1, 0],
        [1, 1, 1],
      ]);
    });

    test("random creation is seeded: same generator state, bit-identical values", () => {
      const a = T.randn([50], { backend, generator: new Random(3) }).dataSync();
      const b = T.randn([50], { backend, generator: new Random(3) }).dataSync();
      assert.deepEqual(a, b);
      T.manualSeed(11);
      const c = T.rand([20], { backend }).dataSync();
      T.manualSeed(11);
      assert.deepEqual(T.rand([20], { backend }).dataSync(), c);
      const r = T.randint(2, 5, [200], { backend, generator: new Random(1) }).dataSync();
      assert.ok(r.every((v) => v >= 2 && v < 5));
      assert.equal(T.randint(0, 3, [2], { backend }).dtype, "int32");
    });

    test("views share storage and allocate nothing", () => {
      const x = T.arange(0, 12, 1, { backend, dtype: "float32" }).reshape(3, 4);
      const before = buffers(backend);
      const t = x.transpose(0, 1);
      const s = x.slice(1, 1, null, 2);
      const e = x.index(0).unsqueeze(0).expand(5, 4);
      const sel = x.index(":", -1);
      assert.equal(buffers(backend), before);
      assert.deepEqual(t.shape, [4, 3]);
      assert.equal(t.isContiguous(), false);
      assert.deepEqual(s.tolist(), [
        [1, 3],
        [5, 7],
        [9, 11],
      ]);
      assert.deepEqual(sel.tolist(), [3, 7, 11]);
      assert.deepEqual(
        x
          .index(ints([-1, 0]))
          .index(":", 0)
          .tolist(),
        [8, 0],
        "negative index tensors count from the end",
      );
      noGrad(() => x.index(0).assign(T.tensor([-1, -2, -3, -4], { backend })));
      assert.deepEqual((e.tolist() as number[][])[4], [-1, -2, -3, -4]);
      assert.deepEqual(t.index(":", 0).tolist(), [-1, -2, -3, -4]);
      assert.throws(() => t.view(12), /cannot be viewed as \[12\] without copying; use reshape/);
      assert.deepEqual(
        x.index(":", "1:3").view(3, 2, 1).strides,
        [4, 1, 1],
        "a view of a non-contiguous slice",
      );
      assert.deepEqual((t.reshape(12).tolist() as number[]).slice(0, 3), [-1, 4, 8]);
    });

    test("broadcasting for binary ops, scalars on either side, comparisons give bool", () => {
      const a = f32([[1], [2], [3]]);
      const b = f32([10, 20]);
      assert.deepEqual(T.add(a, b).tolist(), [
        [11, 21],
        [12, 22],
        [13, 23],
      ]);
      assert.deepEqual(T.sub(1, b).tolist(), [-9, -19]);
      assert.deepEqual(b.div(4).tolist(), [2.5, 5]);
      const m = a.gt(1.5);
      assert.equal(m.dtype, "bool");
      assert.deepEqual(m.tolist(), [[false], [true], [true]]);
      assert.deepEqual(T.where(m, a, 0).tolist(), [[0], [2], [3]]);
      assert.deepEqual(
        ints([1, 2])
          .add(ints([3, 4]))
          .tolist(),
        [4, 6],
      );
      assert.equal(ints([1, 2]).div(2).dtype, "float32");
    });

    test("autograd: accumulation, reuse, retainGrad, detach, noGrad, zeroGrad", () => {
      const x = f32([1, 2, 3], true);
      const y = T.mul(x, x).retainGrad();
      const z = T.add(y, y).sum();
      z.backward();
      assert.deepEqual(x.grad!.tolist(), [4, 8, 12]);
      assert.deepEqual(y.grad!.tolist(), [2, 2, 2]);
      T.mul(x, 3).sum().backward();
      assert.deepEqual(x.grad!.tolist(), [7, 11, 15], "gradients accumulate");
      const grad = x.grad!;
      x.zeroGrad();
      assert.equal(x.grad, grad, "zeroGrad keeps the buffer");
      assert.deepEqual(grad.tolist(), [0, 0, 0]);
      x.zeroGrad({ setToNone: true });
      assert.equal(x.grad, null);
      assert.equal(T.mul(x.detach(), 2).requiresGrad, false);
      assert.equal(noGrad(() => T.mul(x, 2)).requiresGrad, false);
      assert.equal(x.isLeaf, true);
      assert.equal(y.isLeaf, false);
    });

    test("mixed float32/float64 ops promote, and each input's gradient keeps its dtype", () => {
      const a = f32([1, 2], true);
      const b = T.tensor([3, 4], { backend, dtype: "float64", requiresGrad: true });
      const y = T.mul(a, b);
      assert.equal(y.dtype, "float64");
      y.sum().backward();
      assert.equal(a.grad!.dtype, "float32");
      assert.equal(b.grad!.dtype, "float64");
      assert.deepEqual(a.grad!.tolist(), [3, 4]);
    });

    test("autograd errors say what to do", () => {
      const x = f32([1, 2], true);
      const y = T.mul(x, 2).sum();
      y.backward();
      assert.throws(() => y.backward(), /already freed.*retainGraph/);
      const w = T.mul(x, 2).sum();
      w.backward(null, { retainGraph: true });
      w.backward();
      assert.deepEqual(x.grad!.tolist(), [6, 6]);
      assert.throws(() => T.mul(x, 2).backward(), /single-element output.*shape \[2\].*backward\(grad\)/);
      assert.throws(() => {
        ints([1]).requiresGrad = true;
      }, /only floating point tensors can require gradients, this one is int32/);
      assert.throws(() => f32([1]).backward(), /does not require grad/);
      assert.throws(() => x.assign(0), /leaf tensor that requires grad.*noGrad/);
      const factor = f32([3, 4]);
      const product = T.mul(x, factor).sum();
      factor.assign(0);
      assert.throws(() => product.backward(), /"mul" needs for its gradient was changed in place/);
    });

    test("errors name the op and the shapes, the index and the size, the expected dtype", () => {
      assert.throws(
        () => T.add(f32([[1, 2, 3]]), f32([1, 2])),
        /add: shapes \[1, 3\] and \[2\] cannot be broadcast/,
      );
      assert.throws(
        () => T.matmul(T.ones([2, 3], { backend }), T.ones([4, 5], { backend })),
        /matmul: shapes \[2, 3\] and \[4, 5\] cannot be multiplied \(3 vs 4\)/,
      );
      assert.throws(
        () => T.cat([T.ones([2, 3], { backend }), T.ones([2, 4], { backend })], 0),
        /cat: shapes \[2, 3\], \[2, 4\] differ outside dimension 0/,
      );
      assert.throws(() => f32([1, 2, 3]).index(5), /index 5 is out of range for dimension 0 with size 3/);
      assert.throws(
        () => f32([[1, 2, 3]]).index(0, ints([0, 3])),
        /index 3 is out of range for dimension 0 with size 3/,
      );
      assert.throws(
        () => T.embedding(T.ones([5, 2], { backend }), ints([1, 7])),
        /index 7 is out of range for dimension 0 with size 5/,
      );
      assert.throws(
        () => T.embedding(T.ones([5, 2], { backend }), f32([1, 2])),
        /embedding: expected indices of dtype int32, got float32/,
      );
      assert.throws(
        () => T.crossEntropy(T.ones([2, 3], { backend }), ints([0, 3])),
        /target 3 is out of range for 3 classes/,
      );
      assert.throws(
        () => T.where(f32([1]), f32([1]), f32([2])),
        /where: expected condition of dtype bool, got float32/,
      );
      assert.throws(
        () => T.softmax(ints([1, 2])),
        /softmax: expected a floating point input \(float32 or float64\), got int32/,
      );
      assert.throws(() => f32([1, 2]).sum(2), /sum: dimension 2 is out of range for a tensor with 1 dims/);
      assert.throws(
        () => f32([1, 2, 3]).reshape(2, -1),
        /reshape: shape \[2, -1\] is invalid for input of shape \[3\]/,
      );
      assert.throws(() => T.oneHot(ints([0, 5]), 5), /oneHot: class 5 is out of range for 5 classes/);
      assert.throws(() => T.setBackend("nope"), /unknown backend "nope"; registered: .*js/);
    });

    test("tidy: a 10,000-op loop leaves memoryStats unchanged", () => {
      const w = T.randn([8], { backend, generator: new Random(2) });
      const live = () => {
        const { buffers, bytes } = T.memoryStats()[backend]!;
        return { buffers, bytes };
      };
      const before = live();
      tidy(() => {
        let x = T.ones([8], { backend });
        for (let i = 0; i < 10_000; i++) x = i % 2 ? T.mul(x, w) : T.tanh(x);
      });
      assert.deepEqual(live(), before);
    });

    test("tidy keeps what it returns (with the graph for backward) and outside tensors' grads", () => {
      const p = f32([1, 2, 3], true);
      const before = buffers(backend);
      const { loss, parts } = tidy(() => {
        const h = T.tanh(T.mul(p, 0.5));
        const unused = T.exp(h);
        void unused;
        return { loss: T.sum(T.mul(h, h)), parts: [h] };
      });
      loss.backward();
      assert.equal(p.grad!.shape[0], 3);
      assert.ok(parts[0]!.dataSync().length === 3);
      tidy(() => {
        T.sum(T.mul(p, p)).backward();
      });
      assert.ok(!p.grad!.isDisposed, "a parameter's grad survives the scope");
      assert.ok(buffers(backend) > before);
      let leaked: Tensor | undefined;
      tidy(() => {
        leaked = T.mul(p, 2);
      });
      assert.throws(() => leaked!.dataSync(), /freed.*return the tensor from the tidy function, call keep/);
      const kept = tidy(() => T.keep(T.mul(p, 2)));
      assert.equal(kept.isDisposed, false);
      kept.dispose();
      assert.equal(kept.isDisposed, true);
    });

    test("nested tidy hands results outward; a throwing tidy frees what it allocated", () => {
      const before = buffers(backend);
      const outer = tidy(() => {
        const inner = tidy(() => T.add(T.ones([4], { backend }), 1));
        assert.equal(inner.isDisposed, false);
        return T.mul(inner, 3);
      });
      assert.deepEqual(outer.tolist(), [6, 6, 6, 6]);
      assert.equal(buffers(backend), before + 1, "only the result survives");
      assert.throws(() =>
        tidy(() => {
          T.ones([8], { backend }).add(1);
          throw new Error("boom");
        }),
      );
      assert.equal(buffers(backend), before + 1);
      assert.throws(() => tidy(() => Promise.resolve(1)), /must be synchronous/);
    });

    test("reading values: item, tolist, await data(), toString", async () => {
      const x = f32([
        [1.5, -2],
        [0, 3],
      ]);
      assert.deepEqual([...(await x.transpose(0, 1).data())], [1.5, 0, -2, 3]);
      assert.throws(() => x.item(), /only one-element tensors/);
      assert.equal(x.sum().item(), 2.5);
      assert.equal(String(x), "tensor([[ 1.5000, -2.0000],\n        [ 0.0000,  3.0000]])");
      assert.equal(String(ints([1, 2])), "tensor([1, 2], dtype=int32)");
      assert.match(String(T.mul(f32([1], true), 2)), /gradFn=<mul>/);
    });

    test("multinomial and dropout are seeded and have the right statistics", async () => {
      const probs = f32([0.1, 0.0, 0.6, 0.3]);
      const a = (
        await T.multinomial(probs, 2000, { replacement: true, generator: new Random(4) })
      ).dataSync();
      const b = (
        await T.multinomial(probs, 2000, { replacement: true, generator: new Random(4) })
      ).dataSync();
      assert.deepEqual(a, b);
      const counts = [0, 0, 0, 0];
      for (const i of a) counts[i]!++;
      assert.equal(counts[1], 0);
      assert.ok(Math.abs(counts[2]! / 2000 - 0.6) < 0.05, `counts ${counts}`);
      const noRepeat = (
        await T.multinomial(f32([[1, 1, 1]]), 3, { generator: new Random(1) })
      ).tolist() as number[][];
      assert.deepEqual([...noRepeat[0]!].sort(), [0, 1, 2]);
      const x = T.ones([1000], { backend });
      const d1 = T.dropout(x, 0.25, { generator: new Random(8) }).dataSync();
      const d2 = T.dropout(x, 0.25, { generator: new Random(8) }).dataSync();
      assert.deepEqual(d1, d2);
      const zeros = d1.filter((v) => v === 0).length;
      assert.ok(zeros > 200 && zeros < 300);
      assert.ok(d1.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
      assert.equal(T.dropout(x, 0.5, { training: false }), x);
    });

    test("max/min/topk/argmax give values and int32 indices", () => {
      const x = f32([
        [3, 9, 1],
        [7, 2, 8],
      ]);
      const { values, indices } = x.max(1);
      assert.deepEqual(values.tolist(), [9, 8]);
      assert.deepEqual(indices.tolist(), [1, 2]);
      assert.equal(indices.dtype, "int32");
      assert.deepEqual(x.argmax().tolist(), 1);
      assert.deepEqual(x.argmax(0, true).tolist(), [[1, 0, 1]]);
      assert.deepEqual(x.topk(2).indices.tolist(), [
        [1, 0],
        [2, 0],
      ]);
      assert.deepEqual(T.oneHot(ints([2, 0])).tolist(), [
        [0, 0, 1],
        [1, 0, 0],
      ]);
    });

    test("lecture 5 helpers: indexPut (dlogprobs[range(n), Yb] = -1/n), allclose, equal, randperm", () => {
      const n = 3;
      const Yb = ints([2, 0, 1]);
      const d = T.zeros([n, 4], { backend }).indexPut([T.arange(n, undefined, 1, { backend }), Yb], -1 / n);
      assert.ok(Math.abs(d.sum().item() + 1) < 1e-6);
      assert.deepEqual(d.ne(0).int().tolist(), [
        [0, 0, 1, 0],
        [1, 0, 0, 0],
        [0, 1, 0, 0],
      ]);
      const acc = T.zeros([3], { backend }).indexPut([ints([1, 1, 2])], f32([1, 2, 3]), { accumulate: true });
      assert.deepEqual(acc.tolist(), [0, 3, 3]);
      const a = f32([1, 2, 3]);
      assert.equal(a.allclose(f32([1, 2, 3.000001])), true);
      assert.equal(a.allclose(f32([1, 2, 3.1])), false);
      assert.equal(a.equal(f32([1, 2, 3])), true);
      assert.equal(a.equal(f32([[1, 2, 3]])), false);
      const p = T.randperm(10, { backend, generator: new Random(3) }).tolist() as number[];
      assert.deepEqual(
        [...p].sort((x, y) => x - y),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
    });

    test("causal attention with a KV cache: the last query sees every key, the first all but the newest", () => {
      const q = T.ones([1, 2, 4], { backend });
      const k = T.ones([1, 3, 4], { backend });
      assert.deepEqual(T.causalAttentionWeights(q, k).gt(0).tolist(), [
        [
          [true, true, false],
          [true, true, true],
        ],
      ]);
    });

    test("fused attention (where the backend has it) equals the composed ops, values and gradients", () => {
      const g = new Random(12);
      const make = (shape: number[]) => T.randn(shape, { backend, generator: g, requiresGrad: true });
      const q = make([2, 3, 5, 4]);
      const k = make([2, 3, 7, 4]);
      const v = make([2, 3, 7, 2]);
      const upstream = T.randn([2, 3, 5, 2], { backend, generator: g });
      const fused = T.causalAttention(q, k, v);
      fused.backward(upstream);
      const grads = [q, k, v].map((t) => t.grad!);
      for (const t of [q, k, v]) t.zeroGrad({ setToNone: true });
      const composed = T.matmul(T.causalAttentionWeights(q, k), v);
      composed.backward(upstream);
      assert.ok(fused.allclose(composed, { atol: 1e-5, rtol: 1e-4 }));
      [q, k, v].forEach((t, i) => {
        assert.ok(t.grad!.allclose(grads[i]!, { atol: 1e-5, rtol: 1e-4 }), `gradient ${i}`);
      });
      if (T.getBackend(backend).supports?.("attention")) assert.equal(fused.gradFn!.op, "attention");
    });

    test("batchNorm updates running statistics as PyTorch (unbiased running variance)", () => {
      const x = f32([
        [1, 10],
        [3, 14],
        [5, 12],
      ]);
      const runningMean = T.zeros([2], { backend });
      const runningVar = T.ones([2], { backend });
      T.batchNorm(x, { runningMean, runningVar, momentum: 0.1 });
      const rm = runningMean.dataSync();
      const rv = runningVar.dataSync();
      assert.ok(Math.abs(rm[0]! - 0.3) < 1e-6 && Math.abs(rm[1]! - 1.2) < 1e-6);
      // unbiased batch variances: 4 and 4 → 0.9·1 + 0.1·4
      assert.ok(Math.abs(rv[0]! - 1.3) < 1e-6 && Math.abs(rv[1]! - 1.3) < 1e-6);
      const evalOut = T.batchNorm(x, { runningMean, runningVar, training: false });
      assert.ok(Math.abs(evalOut.dataSync()[0]! - (1 - 0.3) / Math.sqrt(1.3 + 1e-5)) < 1e-5);
    });
  });
}

test("adamwStep is torch.optim.AdamW (against the unfused formula, 3 steps)", () => {
  const g = new Random(4);
  const p = T.randn([3, 5], { generator: g, requiresGrad: true });
  const reference = p.detach().clone();
  const m = T.zerosLike(p);
  const v = T.zerosLike(p);
  let mr = T.zerosLike(p);
  let vr = T.zerosLike(p);
  const h = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
  for (let step = 1; step <= 3; step++) {
    const grad = T.randn([3, 5], { generator: g });
    assert.throws(() => T.adamwStep(p, grad, m, v, { ...h, step }), /only be updated in place inside noGrad/);
    noGrad(() => T.adamwStep(p, grad, m, v, { ...h, step }));
    noGrad(() => {
      reference.assign(T.mul(reference, 1 - h.lr * h.weightDecay));
      mr = T.add(T.mul(mr, h.beta1), T.mul(grad, 1 - h.beta1));
      vr = T.add(T.mul(vr, h.beta2), T.mul(T.square(grad), 1 - h.beta2));
      const denom = T.add(T.div(T.sqrt(vr), Math.sqrt(1 - h.beta2 ** step)), h.eps);
      reference.assign(T.sub(reference, T.mul(T.div(mr, denom), h.lr / (1 - h.beta1 ** step))));
    });
  }
  assert.ok(p.allclose(reference, { atol: 1e-6, rtol: 1e-5 }));
  assert.throws(
    () => noGrad(() => T.adamwStep(p, T.ones([2]), m, v, { ...h, step: 1 })),
    /grad is float32 \[2\], the parameter float32 \[3, 5\]/,
  );
});

test("to() moves tensors between every registered backend; long tensors print summarised", async () => {
  const x = T.tensor([[1.5, -2, 3]]);
  for (const name of T.backendNames()) {
    const moved = x.to(name);
    assert.equal(moved.backend.name, name);
    assert.deepEqual([...(await moved.data())], [...x.dataSync()]);
    // Moving off an asynchronous backend needs a synchronous read.
    if (moved.backend.synchronous) assert.deepEqual(moved.to("js").tolist(), x.tolist());
    else assert.throws(() => moved.to("js"), /asynchronous; use await t\.data\(\)/);
  }
  const long = String(T.arange(0, 2000, 1));
  assert.match(long, /^tensor\(\[ {3}0, {4}1, {4}2, \.\.\., 1997, 1998, 1999\], dtype=int32\)$/);
});

test("gradients of slices of one tensor add into one whole gradient (split, overlaps, a leaf with a grad, shared upstream)", () => {
  const g = new Random(3);
  const x = T.randn([4, 6], { generator: g, requiresGrad: true });
  const c = [0, 1, 2].map(() => T.randn([4, 6], { generator: g }));
  const weights = [c[0]!.slice(1, 0, 2), c[1]!.slice(1, 2, 3), c[2]!.slice(1, 3, 6)];
  // split (disjoint parts), an overlapping slice, a select and x itself, one upstream shared by two.
  const [p0, p1, p2] = T.split(x, [2, 1, 3], 1);
  const shared = T.add(p1!, p1!);
  let loss = T.sum(T.mul(p0!, weights[0]!));
  loss = T.add(loss, T.sum(T.mul(shared, weights[1]!)));
  loss = T.add(loss, T.sum(T.mul(p2!, weights[2]!)));
  loss = T.add(loss, T.sum(T.mul(x.slice(0, 1, 3), c[0]!.slice(0, 0, 2))));
  loss = T.add(loss, T.sum(T.mul(T.select(x, 0, 3), 5)));
  loss = T.add(loss, T.sum(x));
  loss.backward();
  const expected = T.ones([4, 6]).tolist() as number[][];
  const w = weights.map((t) => t.tolist() as number[][]);
  const c0 = c[0]!.tolist() as number[][];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 6; j++) {
      if (j < 2) expected[i]![j]! += w[0]![i]![j]!;
      else if (j < 3) expected[i]![j]! += 2 * w[1]![i]![j - 2]!;
      else expected[i]![j]! += w[2]![i]![j - 3]!;
      if (i >= 1 && i < 3) expected[i]![j]! += c0[i - 1]![j]!;
      if (i === 3) expected[i]![j]! += 5;
    }
  }
  assert.ok(x.grad!.allclose(T.tensor(expected), { atol: 1e-6, rtol: 1e-6 }));
  // A second backward adds the slices' gradients into the existing leaf grad in place.
  const before = x.grad!.clone();
  T.sum(T.mul(T.split(x, 3, 1)[1]!, 2)).backward();
  const added = before.tolist() as number[][];
  for (const row of added) for (let j = 3; j < 6; j++) row[j]! += 2;
  assert.ok(x.grad!.allclose(T.tensor(added), { atol: 1e-6, rtol: 1e-6 }));
});

test("mulInPlace scales in place on every backend (strided targets too) and is refused on recorded leaves", async () => {
  for (const backend of testBackends("all")) {
    const base = T.arange(0, 12, 1, { backend, dtype: "float32" }).reshape([3, 4]);
    const target = base.transpose(0, 1).slice(0, 1, 3);
    T.mulInPlace(target, 0.1);
    const actual = Array.from(await base.data());
    actual.forEach((v, i) => {
      const expected = i % 4 >= 1 && i % 4 < 3 ? i * 0.1 : i;
      assert.ok(Math.abs(v - expected) < 1e-6, `${backend}[${i}]: ${v}, expected ${expected}`);
    });
  }
  const leaf = T.ones([2], { requiresGrad: true });
  assert.throws(
    () => T.mulInPlace(leaf, 2),
    /mulInPlace: a leaf tensor that requires grad cannot be changed in place while recording/,
  );
});
