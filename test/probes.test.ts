/** Probes on hooks (nn/probes.ts, models/gpt-probes.ts): capture and ablate, checked against hand computations. */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { GPT } from "../src/models/gpt.js";
import { ablateHead, ablateNeuron } from "../src/models/gpt-probes.js";
import { ablate, capture, hasHooks, Linear, Sequential, Tanh } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import {
  assign,
  crossEntropy,
  fromValues,
  gelu,
  linear,
  noGrad,
  randn,
  type Tensor,
  tensor,
  tidy,
} from "../src/tensor/index.js";
import { close } from "./helpers.js";

const config = { blockSize: 8, vocabSize: 11, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0, bias: true };
const idx = tensor([[1, 4, 2, 7, 3, 9]], { dtype: "int32" });
const targets = tensor([[4, 2, 7, 3, 9, 0]], { dtype: "int32" });

function allClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(close(a[i]!, b[i]!, tol, tol), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

const model = (seed = 1) => new GPT(config, { generator: new Random(seed) });
const lossOf = (m: GPT) => noGrad(() => m.forward(idx, { targets }).loss!.item());
const logitsOf = (m: GPT) => noGrad(() => m.forward(idx).logits.dataSync());
const noHooksLeft = (m: GPT) => {
  for (const module of m.modules()) assert.equal(hasHooks(module), false, module.constructor.name);
};

/** Set columns of a [out, in] weight to values (a copy of the model modified by hand). */
function setColumns(weight: Tensor, columns: number[], value: (row: number, col: number) => number): void {
  const [rows, cols] = weight.shape as [number, number];
  const w = Float32Array.from(weight.dataSync());
  for (let r = 0; r < rows; r++) for (const c of columns) w[r * cols + c] = value(r, c);
  noGrad(() => assign(weight, fromValues(w, [rows, cols])));
}

test("capture on a GPT sees the tensors its modules compute: gelu(c_fc(ln_2(x))) and the attention weights", () => {
  const gpt = model();
  const block = gpt.transformer.h.at(1);
  const seen = capture({
    afterAttention: block.ln_2,
    act: block.mlp.gelu,
    stream: block.ln_1,
    weights: block.attn.attn_dropout,
  });
  const inputs = capture(
    { afterAttention: block.ln_2, stream: block.ln_1, weights: block.attn.attn_dropout },
    { input: true },
  );
  const logits = logitsOf(gpt);
  seen.remove();
  inputs.remove();
  noHooksLeft(gpt);
  const { act } = seen.values;
  const x = inputs.values.afterAttention!;
  // The MLP's hidden layer, by hand: GELU (tanh form) of c_fc applied to ln_2 of the stream.
  const byHand = noGrad(() =>
    gelu(linear(block.ln_2.forward(x), block.mlp.c_fc.weight, block.mlp.c_fc.bias), "tanh"),
  );
  assert.deepEqual(act!.shape, [1, 6, 32]);
  allClose(act!.dataSync(), byHand.dataSync(), "gelu(c_fc(ln_2(x)))");
  // The attention weights, by hand from c_attn: softmax(q·kᵀ/√hs) over the keys j <= i.
  const T = 6;
  const C = 8;
  const hs = 4;
  const qkv = noGrad(() =>
    linear(block.ln_1.forward(inputs.values.stream!), block.attn.c_attn.weight, block.attn.c_attn.bias),
  ).dataSync();
  const expected: number[] = [];
  for (let h = 0; h < 2; h++)
    for (let i = 0; i < T; i++) {
      const scores = Array.from({ length: T }, (_, j) => {
        if (j > i) return Number.NEGATIVE_INFINITY;
        let s = 0;
        for (let d = 0; d < hs; d++) s += qkv[i * 3 * C + h * hs + d]! * qkv[j * 3 * C + C + h * hs + d]!;
        return s / Math.sqrt(hs);
      });
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const sum = e.reduce((a, b) => a + b, 0);
      expected.push(...e.map((v) => v / sum));
    }
  assert.deepEqual(inputs.values.weights!.shape, [1, 2, T, T]);
  allClose(inputs.values.weights!.dataSync(), expected, "softmax(q·kᵀ/√hs), masked");
  // In eval mode attn_dropout passes its input on: output = input.
  assert.equal(seen.values.weights, inputs.values.weights);
  // And the logits are the model's own: hooks on the unfused path compute what the fused one does.
  allClose(logits, logitsOf(model()), "logits with and without probes");
});

test("ablating a head equals zeroing c_proj's columns for it; removing the hook restores the logits bit for bit", () => {
  const gpt = model(3);
  const before = logitsOf(gpt);
  const clean = lossOf(gpt);
  for (const [layer, head] of [
    [0, 1],
    [1, 0],
  ] as const) {
    const off = ablateHead(gpt, layer, head);
    const ablated = lossOf(gpt);
    off.remove();
    const copy = model(3);
    const hs = config.nEmbd / config.nHead;
    const channels = Array.from({ length: hs }, (_, i) => head * hs + i);
    setColumns(copy.transformer.h.at(layer).attn.c_proj.weight, channels, () => 0);
    assert.notEqual(ablated, clean, `head ${layer}.${head} matters`);
    // x·0 in c_proj's input or 0·x in its weight: the same terms, the same sums, bit for bit.
    assert.equal(ablated, lossOf(copy), `head ${layer}.${head}`);
  }
  noHooksLeft(gpt);
  assert.deepEqual(logitsOf(gpt), before);
});

test("ablating an MLP neuron: zero at c_proj's input, at gelu's output, and its mean, each equal to a modified copy", () => {
  const gpt = model(4);
  const before = logitsOf(gpt);
  const n = 5;
  const copy = model(4);
  const proj = copy.transformer.h.at(1).mlp.c_proj;
  setColumns(proj.weight, [n], () => 0);
  const zeroed = lossOf(copy);
  const viaProj = ablateNeuron(gpt, 1, n);
  assert.equal(lossOf(gpt), zeroed);
  viaProj.remove();
  const viaGelu = ablate(gpt.transformer.h.at(1).mlp.gelu, [n]);
  assert.equal(lossOf(gpt), zeroed);
  viaGelu.remove();
  // Mean ablation: the neuron's mean over the prompt times its output weights, added as a bias.
  const acts = capture([gpt.transformer.h.at(1).mlp.gelu]);
  logitsOf(gpt);
  acts.remove();
  const a = acts.values[0]!.dataSync();
  let mean = 0;
  for (let t = 0; t < 6; t++) mean += a[t * 32 + n]! / 6;
  const w = model(4).transformer.h.at(1).mlp.c_proj.weight.dataSync();
  const bias = Float32Array.from(proj.bias!.dataSync(), (b, r) => b + mean * w[r * 32 + n]!);
  noGrad(() => assign(proj.bias!, fromValues(bias, [8])));
  const meanAblated = ablateNeuron(gpt, 1, n, "mean");
  assert.ok(close(lossOf(gpt), lossOf(copy), 1e-5, 1e-5), `${lossOf(gpt)} vs ${lossOf(copy)}`);
  meanAblated.remove();
  noHooksLeft(gpt);
  assert.deepEqual(logitsOf(gpt), before);
});

test("ablate with a value clamps the units; gradients still flow to the others", () => {
  const generator = new Random(5);
  const net = new Sequential(new Linear(3, 5, { generator }), new Tanh(), new Linear(5, 2, { generator }));
  const x = randn([4, 3], { generator });
  const tanh = net.layers[1]!;
  const clamp = ablate(tanh, [1, 3], { value: [0.5, -2] });
  const seen = capture({ h: tanh }, { grad: true });
  crossEntropy(net.forward(x), tensor([0, 1, 1, 0], { dtype: "int32" })).backward();
  seen.remove();
  clamp.remove();
  const h = seen.values.h!.tolist() as number[][];
  const g = seen.values.h!.grad!.tolist() as number[][];
  for (const row of h) assert.deepEqual([row[1], row[3]], [0.5, -2]);
  for (const row of g) assert.ok(row.some((v) => v !== 0));
  // The gradient reaching the first layer skips the clamped units.
  const w1 = (net.layers[0] as Linear).weight.grad!.tolist() as number[][];
  assert.ok(w1[1]!.every((v) => v === 0) && w1[3]!.every((v) => v === 0));
  assert.ok(w1[0]!.some((v) => v !== 0));
});

test("probes name their mistakes", () => {
  const gpt = model();
  assert.throws(() => ablateHead(gpt, 2, 0), /ablateHead: layer must be a whole number from 0 to 1, got 2/);
  assert.throws(() => ablateHead(gpt, 0, -1), /head must be a whole number from 0 to 1, got -1/);
  assert.throws(() => ablateNeuron(gpt, 0, 32), /neuron must be a whole number from 0 to 31, got 32/);
  assert.throws(
    () => ablate(gpt.transformer.h.at(0).mlp.gelu, [1.5]),
    /ablate GELU: a unit is a whole number/,
  );
  assert.throws(
    () => ablate(gpt.transformer.h.at(0).mlp.gelu, [1], "half" as never),
    /mode must be "zero", "mean" or \{ value \}, got "half"/,
  );
  assert.throws(
    () => ablate(gpt.transformer.h.at(0).mlp.gelu, [1, 2], { value: [1] }),
    /1 values for 2 units/,
  );
  const tooFar = ablate(gpt.transformer.h.at(0).mlp.gelu, [40]);
  assert.throws(() => logitsOf(gpt), /ablate GELU: unit 40 is out of range for 32 units/);
  tooFar.remove();
  const blockOut = capture([gpt.transformer.h.at(0)]);
  assert.throws(
    () => logitsOf(gpt),
    /capture: Block's output is object, not a tensor; probe a layer inside it/,
  );
  blockOut.remove();
  noHooksLeft(gpt);
});

test("captured tensors live where capture() was called: past a tidy inside the forward, not past one around it", () => {
  const gpt = model();
  // GPT's inference forward frees each block's temporaries in a tidy of its own: what a probe
  // read there outlives it.
  const outside = capture([gpt.transformer.h.at(0).mlp.gelu]);
  logitsOf(gpt);
  outside.remove();
  assert.equal(outside.values[0]!.isDisposed, false);
  assert.equal(outside.values[0]!.shape[2], 32);
  // A tidy around both frees them with the rest of its temporaries, but never the input it was given.
  const x = randn([4, 3], { generator: new Random(6) });
  const net = new Sequential(new Linear(3, 5), new Tanh());
  let inner: Tensor | undefined;
  let input: Tensor | undefined;
  const kept = tidy(() => {
    const seen = capture(net.layers);
    const first = capture([net.layers[0]!], { input: true });
    const out = noGrad(() => net.forward(x)); // no graph: the result holds no intermediate
    seen.remove();
    first.remove();
    inner = seen.values[0];
    input = first.values[0];
    return out;
  });
  assert.equal(inner!.isDisposed, true);
  assert.equal(input, x);
  assert.equal(x.isDisposed, false);
  assert.equal(kept.isDisposed, false);
});

test("capture and ablate name a bad argument instead of failing inside", () => {
  const fc = new Linear(3, 2, { generator: new Random(30) });
  assert.throws(() => capture({ a: 5 } as never), /capture: "a" is number, not a Module/);
  assert.throws(() => capture(null as never), /capture: expected an object or an array of modules, got null/);
  assert.throws(() => ablate({} as never, [1]), /ablate: expected a Module, got object/);
  assert.throws(() => ablate(fc, [1], null as never), /mode must be "zero", "mean" or \{ value \}, got null/);
  assert.throws(
    () => ablate(fc, [1], { value: Number.NaN }),
    /ablate Linear: \{ value \} must be finite numbers, got NaN/,
  );
  assert.throws(
    () => ablate(fc, [1], { value: "abc" as never }),
    /\{ value \} must be finite numbers, got "abc"/,
  );
  assert.throws(() => ablate(fc, [0, 1], { value: [1, Number.POSITIVE_INFINITY] }), /got Infinity/);
  assert.throws(() => ablate(fc, [0, 1], { value: [1, undefined as never] }), /got undefined/);
  const scalar = ablate(new Tanh(), [0]);
  scalar.remove();
  const onScalar = new Tanh();
  const h = ablate(onScalar, [0]);
  assert.throws(() => onScalar.forward(tensor(3)), /ablate Tanh: its output is a scalar, with no units/);
  h.remove();
  assert.equal(hasHooks(fc), false);
  assert.equal(hasHooks(onScalar), false);
});
