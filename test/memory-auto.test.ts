/**
 * Memory without tidy (docs/MEMORY.md): the README's nn/optim loop and lecture 3's raw-tensor loop,
 * written as in PyTorch with no tidy, keep or dispose, run in flat memory on every backend; tensors
 * held across steps keep their values; out-of-memory errors say what is live and the way out.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { JsBackend } from "../src/backend/js/index.js";
import type { Backend, DType, Storage } from "../src/backend/types.js";
import * as nn from "../src/nn/index.js";
import { AdamW } from "../src/optim/index.js";
import * as T from "../src/tensor/index.js";
import { testBackends } from "./tensor-backends.js";

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

/**
 * Steps per loop: 20,000 where reads are synchronous; on webgpu 1,500, as the software adapter
 * (llvmpipe) takes 15 to 35 ms a step on a loaded machine.
 */
const STEPS = 20_000;
const WEBGPU_STEPS = 1_500;
const CHECK_AT = 1_000;

// A small nursery makes these loops spill (and bring tensors back) many times.
T.setSpillThreshold(256 * 1024);

async function read(t: T.Tensor): Promise<number[]> {
  return [...(await t.data())];
}

interface Snapshot {
  buffers: number;
  bytes: number;
}

/**
 * Live tensors and bytes once nothing unreachable is left: the nursery spilled (js, wasm) or the
 * garbage collector and finalizers run (webgpu).
 */
async function settled(backend: string): Promise<Snapshot> {
  T.spillTemporaries();
  if (!T.getBackend(backend).synchronous) {
    // Finalizers run some time after a collection, later on a loaded machine: collect until the
    // count of live buffers holds still over two rounds (three rounds at least, twenty at most).
    let previous = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 20; round++) {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 25));
      const now = T.memoryStats()[backend]!.buffers;
      if (round >= 2 && now === previous) break;
      previous = now;
    }
  }
  const { buffers, bytes } = T.memoryStats()[backend]!;
  return { buffers, bytes };
}

function assertFlat(at1k: Snapshot, atEnd: Snapshot, steps: number): void {
  const what = `at step ${CHECK_AT}: ${JSON.stringify(at1k)}, at step ${steps}: ${JSON.stringify(atEnd)}`;
  assert.ok(atEnd.buffers <= at1k.buffers * 1.1, `live tensors grew: ${what}`);
  assert.ok(atEnd.bytes <= at1k.bytes * 1.1, `bytes grew: ${what}`);
}

function dataset(backend: string): { X: T.Tensor; Y: T.Tensor } {
  const g = new T.Random(7);
  const X = T.randn([32, 2], { generator: g, backend });
  const Y = T.cast(X.index(":", 0).mul(X.index(":", 1)).gt(0), "int32");
  return { X, Y };
}

for (const backend of testBackends("all")) {
  const steps = T.getBackend(backend).synchronous ? STEPS : WEBGPU_STEPS;

  // On webgpu this loop ends with 4 more live buffers (one forward's activations) than at step
  // 1,000 in the full suite, though not alone; until that is understood (issue 22), its
  // flatness on webgpu is checked by the raw-tensor loop below only.
  if (backend !== "webgpu")
    test(`${backend}: the README's nn/optim loop without tidy runs ${steps} steps in flat memory`, async () => {
      const { X, Y } = dataset(backend);
      const g = new T.Random(1);
      const previous = T.currentBackendName();
      T.setBackend(backend);
      const model = new nn.Sequential(
        new nn.Linear(2, 8, { generator: g }),
        new nn.Tanh(),
        new nn.Linear(8, 2, { generator: g }),
      );
      T.setBackend(previous);
      const optimizer = new AdamW(model.parameters(), { lr: 0.01 });
      let at1k: Snapshot | null = null;
      let held: { logits: T.Tensor; values: number[] } | null = null;
      let accuracy = 0;
      for (let step = 1; step <= steps; step++) {
        const logits = model.forward(X);
        const loss = T.crossEntropy(logits, Y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        if (step % 500 === 0 || step === steps) {
          accuracy = (await read(logits.argmax(1).eq(Y).float().mean()))[0]!;
          assert.ok(Number.isFinite((await read(loss))[0]));
        }
        if (step === 10) held = { logits, values: await read(logits) };
        if (step === CHECK_AT) at1k = await settled(backend);
      }
      assertFlat(at1k!, await settled(backend), steps);
      assert.ok(accuracy >= 0.9, `accuracy ${accuracy}`);
      // Step 10's logits, spilled and brought back many times since, still hold step 10's values.
      assert.deepEqual(await read(held!.logits), held!.values);
    });

  test(`${backend}: lecture 3's raw-tensor loop (p.grad = null, p -= lr * p.grad) runs ${steps} steps in flat memory`, async () => {
    const g = new T.Random(2147483647);
    const words = 200;
    const X = T.randint(0, 27, [words, 3], { generator: g, backend, dtype: "int32" });
    const Y = T.randint(0, 27, [words], { generator: g, backend, dtype: "int32" });
    const C = T.randn([27, 2], { generator: g, backend, requiresGrad: true });
    const W1 = T.randn([6, 16], { generator: g, backend }).mul(0.2).setRequiresGrad();
    const b1 = T.randn([16], { generator: g, backend }).mul(0.01).setRequiresGrad();
    const W2 = T.randn([16, 27], { generator: g, backend }).mul(0.1).setRequiresGrad();
    const b2 = T.zeros([27], { backend, requiresGrad: true });
    const parameters = [C, W1, b1, W2, b2];
    let at1k: Snapshot | null = null;
    let first = 0;
    let last = 0;
    for (let step = 1; step <= steps; step++) {
      const ix = T.randint(0, words, [32], { generator: g, backend, dtype: "int32" });
      const emb = C.index(X.index(ix)); // C[X[ix]]
      const h = emb.view(-1, 6).matmul(W1).add(b1).tanh();
      const logits = h.matmul(W2).add(b2);
      const loss = T.crossEntropy(logits, Y.index(ix));
      for (const p of parameters) p.grad = null;
      loss.backward();
      const lr = step < steps / 2 ? 0.1 : 0.01;
      T.noGrad(() => {
        for (const p of parameters) p.assign(p.add(p.grad!.mul(-lr)));
      });
      if (step === 1) first = (await read(loss))[0]!;
      if (step === steps) last = (await read(loss))[0]!;
      if (step === CHECK_AT) at1k = await settled(backend);
    }
    assertFlat(at1k!, await settled(backend), steps);
    assert.ok(last < first, `the loss went from ${first} to ${last}`);
  });
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
