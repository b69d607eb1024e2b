/**
 * Memory without tidy (docs/MEMORY.md): the README's nn/optim loop and lecture 3's raw-tensor loop,
 * written as in PyTorch with no tidy, keep or dispose, run in flat memory on every backend; tensors
 * held across steps keep their values; out-of-memory errors say what is live and the way out;
 * nn.Sequential's intermediates are freed by backward without a copy, and never one a user holds.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../src/backend/js/index.js";
import type { Backend, DType, Storage } from "../src/backend/types.js";
import * as nn from "../src/nn/index.js";
import { AdamW } from "../src/optim/index.js";
import * as T from "../src/tensor/index.js";
import { lectureLoop, read, readmeLoop } from "./memory-loops.js";
import { testBackends } from "./tensor-backends.js";

/** Steps per loop on the synchronous backends (webgpu: memory-auto-webgpu.test.ts). */
const STEPS = 20_000;

// A small nursery makes these loops spill (and bring tensors back) many times.
T.setSpillThreshold(256 * 1024);

for (const backend of testBackends("synchronous")) {
  test(`${backend}: the README's nn/optim loop without tidy runs ${STEPS} steps in flat memory`, () =>
    readmeLoop(backend, STEPS));

  test(`${backend}: lecture 3's raw-tensor loop (p.grad = null, p -= lr * p.grad) runs ${STEPS} steps in flat memory`, () =>
    lectureLoop(backend, STEPS));
}

test("a tensor held across spills keeps its values, is read and written as usual, and one disposed says so", () => {
  const backends = testBackends("synchronous");
  if (backends.length === 0) backends.push("js");
  for (const backend of backends) {
    const x = T.arange(0, 1000, 1, { backend });
    const doubled = x.mul(2);
    const stats = T.spillMemoryStats();
    T.spillTemporaries();
    assert.ok(T.spillMemoryStats().spills > stats.spills, `${backend}: spilled`);
    assert.equal(doubled.isDisposed, false);
    assert.equal(doubled.sum().item(), 999_000, `${backend}: values back after a spill`);
    T.spillTemporaries();
    doubled.assign(T.onesLike(doubled)); // an in-place write to spilled storage
    assert.equal(doubled.sum().item(), 1000);
    T.spillTemporaries();
    doubled.dispose();
    assert.equal(doubled.isDisposed, true);
    assert.throws(
      () => doubled.dataSync(),
      /storage was freed \(by the end of a tidy\(\) scope or dispose\(\)\); .*keep\(t\)/,
    );
    assert.equal(x.sum().item(), 499_500);
  }
});

test("keep() takes a tensor out of spilling; backward frees its own temporaries at once", () => {
  const backend = testBackends("synchronous").at(-1) ?? "js";
  T.spillTemporaries();
  const kept = T.keep(T.ones([100], { backend }));
  const resident = T.memoryStats()[backend]!.bytes;
  T.spillTemporaries();
  assert.equal(T.memoryStats()[backend]!.bytes, resident, "a kept tensor stays in backend memory");
  assert.equal(kept.sum().item(), 100);
  T.spillTemporaries();
  const w = T.ones([64, 64], { backend, requiresGrad: true });
  const x = T.ones([64, 64], { backend });
  const y = x.matmul(w).tanh().matmul(w).sum();
  const before = T.memoryStats()[backend]!;
  y.backward();
  const after = T.memoryStats()[backend]!;
  // Only w.grad is new: the gradients of the intermediates were freed when backward returned.
  assert.equal(after.buffers, before.buffers + 1);
  assert.equal(after.bytes, before.bytes + 64 * 64 * 4);
});

/** The tensors computed on the way to t, from its tape: not t, not leaves, nor views of them. */
function intermediates(t: T.Tensor): T.Tensor[] {
  const found = new Set<T.Tensor>();
  const leaves = new Set<T.Tensor["storage"]>();
  const visit = (x: T.Tensor | null) => {
    if (!x || found.has(x)) return;
    if (!x.gradFn) {
      leaves.add(x.storage);
      return;
    }
    if (x !== t) found.add(x);
    for (const input of x.gradFn.inputs) visit(input);
  };
  visit(t);
  return [...found].filter((x) => !leaves.has(x.storage) && x.storage !== t.storage);
}

function mlp(backend: string, ...middle: nn.Layer[]): nn.Sequential {
  const previous = T.currentBackendName();
  T.setBackend(backend);
  const g = new T.Random(3);
  const model = new nn.Sequential(
    new nn.Linear(4, 16, { generator: g }),
    new nn.Tanh(),
    ...middle,
    new nn.Linear(16, 16, { generator: g }),
    new nn.Tanh(),
    new nn.Linear(16, 2, { generator: g }),
  );
  T.setBackend(previous);
  return model;
}

test("nn.Sequential: backward frees the intermediates only the graph holds, without a copy; without a graph, forward does", () => {
  for (const backend of testBackends("all")) {
    T.spillTemporaries(); // no spill between the counts below
    const model = mlp(backend);
    const X = T.randn([8, 4], { generator: new T.Random(4), backend });
    model.forward(X).sum().backward(); // the grads exist from here on
    const live = () => T.memoryStats()[backend]!.buffers;
    const spills = T.spillMemoryStats().spilledBytes;
    const before = live();
    const logits = model.forward(X);
    const loss = logits.sum();
    const hidden = intermediates(logits);
    assert.ok(hidden.length >= 4, `${backend}: ${hidden.length} intermediates`);
    loss.backward();
    assert.ok(
      hidden.every((t) => t.isDisposed),
      `${backend}: every intermediate freed`,
    );
    assert.equal(live(), before + 2, `${backend}: only logits and loss are new`);
    assert.equal(T.spillMemoryStats().spilledBytes, spills, `${backend}: nothing was copied out`);
    // No graph (noGrad, or nothing requires grad): the forward frees them as it returns.
    const evaluated = T.noGrad(() => model.forward(X));
    assert.equal(live(), before + 3, `${backend}: under noGrad only the result is new`);
    // retainGraph keeps them for the next backward, which frees them.
    const output = model.forward(X);
    const kept = intermediates(output);
    const again = output.sum();
    again.backward(null, { retainGraph: true });
    assert.ok(
      kept.every((t) => !t.isDisposed),
      `${backend}: retainGraph keeps them`,
    );
    again.backward();
    assert.ok(
      kept.every((t) => t.isDisposed),
      `${backend}: the second backward frees them`,
    );
    assert.equal(evaluated.isDisposed, false);
    assert.equal(logits.isDisposed, false);
    assert.throws(
      () => hidden[0]!.add(1),
      /intermediate of an nn\.Sequential forward .* backward\(\) freed it/,
    );
  }
});

test("nn.Sequential: what a user layer (or a layer whose forward the user overrode) sees or makes is never freed", async () => {
  /** A user layer that keeps its input, as a learner's debugging layer would. */
  class Remember extends nn.Layer {
    seen: T.Tensor | null = null;
    forward(x: T.Tensor): T.Tensor {
      this.seen = x;
      return x;
    }
  }
  class LinearKeepingOutput extends nn.Linear {
    out: T.Tensor | null = null;
    override forward(x: T.Tensor): T.Tensor {
      this.out = super.forward(x);
      return this.out.mul(1);
    }
  }
  for (const backend of testBackends("all")) {
    const remember = new Remember();
    const model = mlp(backend, remember);
    const previous = T.currentBackendName();
    T.setBackend(backend);
    const user = new LinearKeepingOutput(2, 3, { generator: new T.Random(5) });
    T.setBackend(previous);
    const outer = new nn.Sequential(model, user, new nn.Tanh());
    const X = T.randn([8, 4], { generator: new T.Random(4), backend });
    const y = outer.forward(X);
    const seen = await read(remember.seen!);
    const out = await read(user.out!);
    const hidden = intermediates(y);
    y.sum().backward();
    assert.deepEqual(await read(remember.seen!), seen, `${backend}: the tensor a user layer kept`);
    assert.deepEqual(await read(user.out!), out, `${backend}: the output an overriding forward kept`);
    // With user code inside, user code may hold any tape through them: backward frees none.
    const freed = hidden.filter((t) => t.isDisposed);
    assert.equal(freed.length, 0, `${backend}: ${freed.length} of ${hidden.length} freed`);
    assert.ok(!remember.seen!.gradFn!.inputs[0]!.isDisposed, `${backend}: the pre-activation is kept`);
  }
});

test("nn.Sequential with a user layer: a tape the user holds, a cut graph or a tuple between layers all work as in PyTorch", () => {
  for (const backend of testBackends("all").filter((b) => b !== "webgpu")) {
    const previous = T.currentBackendName();
    T.setBackend(backend);
    try {
      const g = new T.Random(21);
      // An argmax head keeps the logits: a later loss on them backpropagates through the library layers.
      class Predict extends nn.Layer {
        logits: T.Tensor | null = null;
        forward(x: T.Tensor): T.Tensor {
          this.logits = x;
          return x.argmax(-1);
        }
      }
      const head = new Predict();
      const model = new nn.Sequential(
        new nn.Linear(4, 6, { generator: g }),
        new nn.ReLU(),
        new nn.Linear(6, 3, { generator: g }),
        head,
      );
      model.forward(T.randn([5, 4], { generator: g }));
      T.crossEntropy(head.logits!, T.tensor([0, 1, 2, 0, 1], { dtype: "int32" })).backward();
      assert.ok(
        model.parameters().every((p) => p.grad !== null),
        `${backend}: every parameter has a gradient`,
      );

      // A stop-gradient layer: a backward through one tape leaves the other tape whole.
      const w = T.randn([6], { generator: g, requiresGrad: true });
      class StopGrad extends nn.Layer {
        seen: T.Tensor | null = null;
        forward(x: T.Tensor): T.Tensor {
          this.seen = x;
          return x.detach().mul(w);
        }
      }
      const stop = new StopGrad();
      const first = new nn.Linear(4, 6, { generator: g });
      const y = new nn.Sequential(first, new nn.GELU(), stop, new nn.Tanh()).forward(
        T.randn([3, 4], { generator: g }),
      );
      y.sum().backward();
      stop.seen!.sum().backward();
      assert.ok(first.weight.grad !== null, `${backend}: the second tape reached the first layer`);

      // A layer that returns a pair and one that picks from it (PyTorch's SelectItem idiom).
      class Pair extends nn.Layer {
        forward(x: T.Tensor): T.Tensor {
          return [x.tanh(), x.mean(0)] as unknown as T.Tensor;
        }
      }
      class First extends nn.Layer {
        forward(pair: T.Tensor): T.Tensor {
          return (pair as unknown as T.Tensor[])[0]!;
        }
      }
      const picked = new nn.Sequential(
        new nn.Linear(2, 2, { generator: g }),
        new Pair(),
        new First(),
      ).forward(T.randn([3, 2], { generator: g }));
      assert.deepEqual(picked.shape, [3, 2]);
    } finally {
      T.setBackend(previous);
    }
  }
});

test("nn.Sequential with every library layer trains the same without tidy as with it", () => {
  const run = (backend: string, scoped: boolean): number[] => {
    const previous = T.currentBackendName();
    T.setBackend(backend);
    const g = new T.Random(11);
    const model = new nn.Sequential(
      new nn.Embedding(10, 4, { generator: g }),
      new nn.FlattenConsecutive(2),
      new nn.Flatten(),
      new nn.Linear(8, 16, { generator: g }),
      new nn.BatchNorm1d(16),
      new nn.ReLU(),
      new nn.Dropout(0.2, new T.Random(12)),
      new nn.Linear(16, 16, { generator: g }),
      new nn.LayerNorm(16),
      new nn.GELU(),
      new nn.Sequential(new nn.Linear(16, 16, { generator: g }), new nn.Tanh()),
      new nn.Linear(16, 3, { generator: g }),
    );
    const ids = T.randint(0, 10, [6, 2], { generator: g, dtype: "int32" });
    const targets = T.randint(0, 3, [6], { generator: g, dtype: "int32" });
    T.setBackend(previous);
    const optimizer = new AdamW(model.parameters(), { lr: 0.05 });
    const losses: number[] = [];
    const step = () => {
      const loss = T.crossEntropy(model.forward(ids), targets);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    };
    for (let i = 0; i < 5; i++) scoped ? T.tidy(step) : step();
    model.eval();
    const evaluated = T.noGrad(() => model.forward(ids));
    return [...losses, ...evaluated.dataSync()];
  };
  for (const backend of testBackends("synchronous")) {
    assert.deepEqual(run(backend, false), run(backend, true), backend);
  }
});

test("memoryStats reports live buffers, bytes and the peak; resetPeakMemoryStats restarts the peak", () => {
  const backend = testBackends("synchronous")[0] ?? "js";
  T.spillTemporaries();
  T.resetPeakMemoryStats();
  const start = T.memoryStats()[backend]!;
  assert.equal(start.peakBytes, start.bytes);
  const big = T.zeros([1000], { backend });
  const stats = T.memoryStats()[backend]!;
  assert.equal(stats.buffers, start.buffers + 1);
  assert.equal(stats.bytes, start.bytes + 4000);
  assert.equal(stats.peakBytes, start.bytes + 4000);
  big.dispose();
  assert.equal(T.memoryStats()[backend]!.peakBytes, start.bytes + 4000);
  T.resetPeakMemoryStats();
  assert.equal(T.memoryStats()[backend]!.peakBytes, start.bytes);
});

/** The js kernels with a memory limit, as a backend running out of memory reports it. */
class SmallBackend implements Backend {
  readonly name = "js-small";
  readonly synchronous = true;
  private readonly inner = new JsBackend();
  free = this.inner.free.bind(this.inner);
  write = this.inner.write.bind(this.inner);
  readSync = this.inner.readSync.bind(this.inner);
  read = this.inner.read.bind(this.inner);
  run = this.inner.run.bind(this.inner);
  memoryStats = this.inner.memoryStats.bind(this.inner);
  alloc(dtype: DType, size: number): Storage {
    if (this.inner.memoryStats().bytes + size * 4 > 1_000_000) {
      throw new RangeError(`js-small backend: out of memory: requested ${size * 4} bytes`);
    }
    return this.inner.alloc(dtype, size);
  }
}

test("out of memory: a spill makes room when unreferenced tensors are to blame; otherwise the error says what is live and the way out", () => {
  T.registerBackend("js-small", () => new SmallBackend());
  // Garbage from a loop without tidy: the spill at the failing allocation makes room.
  let x = T.zeros([50_000], { backend: "js-small" });
  for (let i = 0; i < 20; i++) x = x.add(1);
  assert.equal(x.index(0).item(), 20);
  // Tensors the user holds, in a tidy scope (nothing to spill): the error describes them.
  const held: T.Tensor[] = [];
  assert.throws(
    () =>
      T.tidy(() => {
        for (let i = 0; i < 10; i++) held.push(T.zeros([30_000 + i], { backend: "js-small" }));
      }),
    (error: Error) => {
      assert.ok(error instanceof RangeError);
      assert.match(
        error.message,
        /^js-small backend: out of memory allocating float32 \[300\d\d\] \(117\.\d KiB\): \d+ live tensors hold \d+\.\d KiB/,
      );
      assert.match(error.message, /largest: float32 \[300\d\d\] \(117\.\d KiB\); float32 \[300\d\d\]/);
      assert.match(error.message, /HERO_DEBUG=1/);
      assert.match(error.message, /tidy\(\(\) => \.\.\.\)/);
      return true;
    },
  );
  assert.ok(held.length < 10);
});
