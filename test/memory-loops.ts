/**
 * The loops of test/memory-auto*.test.ts: the README's nn/optim loop and lecture 3's raw-tensor
 * loop, written as in PyTorch with no tidy, keep or dispose (docs/MEMORY.md).
 *
 * Each step runs in a plain function of its own: an async function's suspended frame may keep the
 * last step's locals (and the graph behind them) alive across an await, depending on how V8 has
 * compiled it, and the live counts below must not depend on that.
 */
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as nn from "../src/nn/index.js";
import { AdamW } from "../src/optim/index.js";
import * as T from "../src/tensor/index.js";

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

/** The step at which memory is first measured; the last step's must be within 10% of it. */
export const CHECK_AT = 1_000;

export async function read(t: T.Tensor): Promise<number[]> {
  return [...(await t.data())];
}

export interface Snapshot {
  buffers: number;
  bytes: number;
}

/**
 * Live tensors and bytes once nothing unreachable is left: the nursery spilled (js, wasm), or the
 * garbage collector and finalizers run (webgpu) until exactly the `referenced` storages are live
 * (twenty rounds at most, then the count as it is).
 */
async function settled(backend: string, referenced: () => Set<T.Tensor["storage"]>): Promise<Snapshot> {
  T.spillTemporaries();
  if (!T.getBackend(backend).synchronous) {
    const expected = referenced().size;
    for (let round = 0; round < 20 && T.memoryStats()[backend]!.buffers !== expected; round++) {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // Every live buffer is one the test still references: nothing the loop dropped is kept.
    assert.equal(T.memoryStats()[backend]!.buffers, expected, `${backend}: live buffers`);
  }
  const { buffers, bytes } = T.memoryStats()[backend]!;
  return { buffers, bytes };
}

function assertFlat(at1k: Snapshot, atEnd: Snapshot, steps: number): void {
  const what = `at step ${CHECK_AT}: ${JSON.stringify(at1k)}, at step ${steps}: ${JSON.stringify(atEnd)}`;
  assert.ok(atEnd.buffers <= at1k.buffers * 1.1, `live tensors grew: ${what}`);
  assert.ok(atEnd.bytes <= at1k.bytes * 1.1, `bytes grew: ${what}`);
}

function storagesOf(tensors: (T.Tensor | null | undefined)[]): Set<T.Tensor["storage"]> {
  return new Set(tensors.filter((t): t is T.Tensor => !!t).map((t) => t.storage));
}

/** The README's nn/optim loop for `steps` steps: flat memory, learning, step 10's logits intact. */
export async function readmeLoop(backend: string, steps: number): Promise<void> {
  const g = new T.Random(7);
  const X = T.randn([32, 2], { generator: g, backend });
  const Y = T.cast(X.index(":", 0).mul(X.index(":", 1)).gt(0), "int32");
  const previous = T.currentBackendName();
  T.setBackend(backend);
  const init = new T.Random(1);
  const model = new nn.Sequential(
    new nn.Linear(2, 8, { generator: init }),
    new nn.Tanh(),
    new nn.Linear(8, 2, { generator: init }),
  );
  T.setBackend(previous);
  const optimizer = new AdamW(model.parameters(), { lr: 0.01 });
  let held: { logits: T.Tensor; values: Promise<number[]> } | null = null;
  /** One step as the README writes it; every 500 steps, the accuracy and the loss. */
  const step = (n: number): Promise<[number, number]> | null => {
    const logits = model.forward(X);
    const loss = T.crossEntropy(logits, Y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    if (n === 10) held = { logits, values: read(logits) };
    if (n % 500 !== 0 && n !== steps) return null;
    const accuracy = logits.argmax(1).eq(Y).float().mean();
    return Promise.all([read(accuracy), read(loss)]).then(([a, l]) => [a[0]!, l[0]!]);
  };
  const referenced = () => {
    const parameters = model.parameters();
    const state = Object.values(optimizer.stateDict().state).flatMap((s) => Object.values(s));
    return storagesOf([X, Y, held?.logits, ...parameters, ...parameters.map((p) => p.grad), ...state]);
  };
  let at1k: Snapshot | null = null;
  let accuracy = 0;
  for (let n = 1; n <= steps; n++) {
    const reads = step(n);
    if (reads) {
      const [a, loss] = await reads;
      accuracy = a;
      assert.ok(Number.isFinite(loss), `loss ${loss} at step ${n}`);
    }
    if (n === CHECK_AT) at1k = await settled(backend, referenced);
  }
  assertFlat(at1k!, await settled(backend, referenced), steps);
  assert.ok(accuracy >= 0.9, `accuracy ${accuracy}`);
  // Step 10's logits, spilled and brought back many times since, still hold step 10's values.
  const { logits, values } = held!;
  assert.deepEqual(await read(logits), await values);
}

/** Lecture 3's MLP as in the notebook: W.grad = None, W.data += -lr * W.grad, for `steps` steps. */
export async function lectureLoop(backend: string, steps: number): Promise<void> {
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
  /** One step as the notebook writes it; the loss at the first and last step. */
  const step = (n: number): Promise<number[]> | null => {
    const ix = T.randint(0, words, [32], { generator: g, backend, dtype: "int32" });
    const emb = C.index(X.index(ix)); // C[X[ix]]
    const h = emb.view(-1, 6).matmul(W1).add(b1).tanh();
    const logits = h.matmul(W2).add(b2);
    const loss = T.crossEntropy(logits, Y.index(ix));
    for (const p of parameters) p.grad = null;
    loss.backward();
    const lr = n < steps / 2 ? 0.1 : 0.01;
    T.noGrad(() => {
      for (const p of parameters) p.assign(p.add(p.grad!.mul(-lr)));
    });
    return n === 1 || n === steps ? read(loss) : null;
  };
  const referenced = () => storagesOf([X, Y, ...parameters, ...parameters.map((p) => p.grad)]);
  let at1k: Snapshot | null = null;
  let first = 0;
  let last = 0;
  for (let n = 1; n <= steps; n++) {
    const loss = step(n);
    if (n === 1) first = (await loss!)[0]!;
    if (n === steps) last = (await loss!)[0]!;
    if (n === CHECK_AT) at1k = await settled(backend, referenced);
  }
  assertFlat(at1k!, await settled(backend, referenced), steps);
  assert.ok(last < first, `the loss went from ${first} to ${last}`);
}
