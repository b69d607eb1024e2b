import "../src/backend/select.js";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { MLP as ValueMLP, sum as valueSum } from "../src/micrograd/index.js";
import {
  BatchNorm1d,
  Dropout,
  Embedding,
  FlattenConsecutive,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  parameter,
  ReLU,
  Sequential,
  Tanh,
} from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { randn, type Tensor, tensor, tidy, zeros } from "../src/tensor/index.js";
import { close, fixture } from "./helpers.js";

interface FixtureTensor {
  shape: number[];
  data: number[];
}

test("an MLP of micrograd Values and the same MLP of tensors give equal outputs and gradients", () => {
  const rng = new Random(3);
  const sizes = [3, 4, 4, 1];
  const scalar = new ValueMLP(3, [4, 4, 1], { activation: "tanh", linearOutput: false, rng });
  const xs = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
  ];
  const ys = [1.0, -1.0, -1.0, 1.0];
  const loss = valueSum(xs.map((x, i) => scalar.callScalar(x).sub(ys[i]!).pow(2)));
  loss.backward();

  // Copy the neurons' weights into Linear layers (one row of W per neuron), in float64.
  const layers = scalar.layers.map((layer, k) => {
    const lin = new Linear(sizes[k]!, sizes[k + 1]!, { dtype: "float64" });
    lin.loadStateDict({
      weight: tensor(
        layer.neurons.map((n) => n.w.map((w) => w.data)),
        { dtype: "float64" },
      ),
      bias: tensor(
        layer.neurons.map((n) => n.b.data),
        { dtype: "float64" },
      ),
    });
    return lin;
  });
  const net = new Sequential(layers[0]!, new Tanh(), layers[1]!, new Tanh(), layers[2]!, new Tanh());
  const out = net.forward(tensor(xs, { dtype: "float64" })).reshape([-1]);
  const tensorLoss = out
    .sub(tensor(ys, { dtype: "float64" }))
    .square()
    .sum();
  tensorLoss.backward();
  assert.ok(Math.abs(tensorLoss.item() - loss.data) < 1e-12);

  scalar.layers.forEach((layer, k) => {
    const lin = layers[k]!;
    const gw = lin.weight.grad!.tolist() as number[][];
    const gb = lin.bias!.grad!.tolist() as number[];
    layer.neurons.forEach((n, j) => {
      n.w.forEach((w, i) => {
        assert.ok(Math.abs(w.grad - gw[j]![i]!) < 1e-12, `layer ${k} neuron ${j} w${i}`);
      });
      assert.ok(Math.abs(n.b.grad - gb[j]!) < 1e-12, `layer ${k} neuron ${j} bias`);
    });
  });
});

test("BatchNorm1d follows PyTorch: batch statistics in training, running statistics updated and used in eval", () => {
  const ops = JSON.parse(readFileSync(fixture("ops.json"), "utf8")) as {
    cases: {
      name: string;
      inputs: FixtureTensor[];
      params: { momentum: number; eps: number };
      output: FixtureTensor;
      aux: Record<string, FixtureTensor>;
    }[];
  };
  const c = ops.cases.find((k) => k.name === "batch_norm_train_2d")!;
  const [x, weight, bias] = c.inputs.map((t) => tensor(t.data, { shape: t.shape }));
  const bn = new BatchNorm1d(3, { momentum: c.params.momentum, eps: c.params.eps });
  assert.deepEqual(
    bn.namedBuffers().map(([n]) => n),
    ["runningMean", "runningVar"],
  );
  bn.loadStateDict({ weight: weight!, bias: bias!, runningMean: zeros([3]), runningVar: tensor([1, 1, 1]) });
  const y = bn.forward(x!);
  const check = (actual: number[], expected: number[], what: string) => {
    actual.forEach((a, i) => {
      assert.ok(close(a, expected[i]!, 1e-5, 1e-4), `${what}[${i}]: ${a} vs ${expected[i]}`);
    });
  };
  check([...y.dataSync()], c.output.data, "output");
  check([...bn.runningMean.dataSync()], c.aux.running_mean!.data, "running_mean");
  check([...bn.runningVar.dataSync()], c.aux.running_var!.data, "running_var");

  // Eval: normalise with the running statistics, and leave them alone.
  bn.eval();
  const before = [...bn.runningMean.dataSync()];
  const yEval = bn.forward(x!);
  assert.deepEqual([...bn.runningMean.dataSync()], before);
  const rm = bn.runningMean.dataSync();
  const rv = bn.runningVar.dataSync();
  const w = weight!.dataSync();
  const b = bias!.dataSync();
  const xs = x!.dataSync();
  const expected = [...xs].map((v, i) => {
    const ch = i % 3;
    return ((v - rm[ch]!) / Math.sqrt(rv[ch]! + c.params.eps)) * w[ch]! + b[ch]!;
  });
  check([...yEval.dataSync()], expected, "eval output");
});

test("BatchNorm1d on [N, T, C] reduces over dims 0 and 1 (lecture 6)", () => {
  const bn = new BatchNorm1d(4);
  const x = randn([5, 3, 4], { generator: new Random(1) })
    .mul(3)
    .add(2);
  const y = bn.forward(x);
  const means = y.mean([0, 1]).dataSync();
  const vars = y.var([0, 1], { unbiased: false }).dataSync();
  for (let c = 0; c < 4; c++) {
    assert.ok(Math.abs(means[c]!) < 1e-5);
    assert.ok(Math.abs(vars[c]! - 1) < 1e-3);
  }
  assert.throws(
    () => bn.forward(randn([5, 3])),
    /BatchNorm1d\(4\) expects \[N, 4\] or \[N, T, 4\], got \[5, 3\]/,
  );
});

test("Module: parameters, names, counts, tied weights, train/eval, stateDict round trip", () => {
  class Tiny extends Module {
    emb = new Embedding(27, 10);
    blocks = new ModuleList([new Linear(10, 8), new Linear(8, 27)]);
    drop = new Dropout(0.2);
    // Tied: the output layer reuses the embedding (as GPT's lm_head does).
    head = this.emb.weight;
  }
  const m = new Tiny();
  // As in PyTorch: a module's own parameters come before its children's, and a shared tensor
  // appears once, under the first name met.
  assert.deepEqual(
    m.namedParameters().map(([n]) => n),
    ["head", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"],
  );
  assert.equal(m.numParameters(), 27 * 10 + 10 * 8 + 8 + 8 * 27 + 27);
  m.eval();
  assert.ok(m.modules().every((x) => !x.training));
  m.train();
  assert.ok(m.drop.training);

  const copy = new Tiny();
  copy.loadStateDict(m.stateDict());
  assert.deepEqual([...copy.blocks.at(1).bias!.dataSync()], [...m.blocks.at(1).bias!.dataSync()]);
  assert.throws(
    () => copy.loadStateDict(new Map([["emb.weight", zeros([27, 10])]])),
    /missing keys blocks\.0\.weight/,
  );
  const bad = m.stateDict();
  bad.set("emb.weight", zeros([26, 10]));
  assert.throws(
    () => copy.loadStateDict(bad),
    /"emb\.weight" has shape \[26, 10\] in the state, \[27, 10\] in the module/,
  );
  assert.match(m.toString(), /Embedding\(27, 10\)/);
});

test("the lecture's layers: shapes, parameter counts of lecture 4 and lecture 6 models", () => {
  const g = new Random(0);
  const mlpBn = new Sequential(
    new Linear(30, 200, { bias: false, generator: g }),
    new BatchNorm1d(200),
    new Tanh(),
    new Linear(200, 27, { generator: g }),
  );
  assert.equal(new Embedding(27, 10).numParameters() + mlpBn.numParameters(), 12_097);
  const nEmbd = 24;
  const nHidden = 128;
  const wavenet = new Sequential(
    new Embedding(27, nEmbd),
    new FlattenConsecutive(2),
    new Linear(nEmbd * 2, nHidden, { bias: false }),
    new BatchNorm1d(nHidden),
    new Tanh(),
    new FlattenConsecutive(2),
    new Linear(nHidden * 2, nHidden, { bias: false }),
    new BatchNorm1d(nHidden),
    new Tanh(),
    new FlattenConsecutive(2),
    new Linear(nHidden * 2, nHidden, { bias: false }),
    new BatchNorm1d(nHidden),
    new Tanh(),
    new Linear(nHidden, 27),
  );
  assert.equal(wavenet.numParameters(), 76_579);
  const ids = tensor(
    Array.from({ length: 4 * 8 }, (_, i) => i % 27),
    { dtype: "int32", shape: [4, 8] },
  );
  assert.deepEqual(wavenet.forward(ids).shape, [4, 27]);
  assert.throws(() => new FlattenConsecutive(3).forward(randn([2, 8, 4])), /not divisible by 3/);
});

test("LayerNorm, ReLU and Linear without bias behave as their functional forms", () => {
  const ln = new LayerNorm(6);
  const x = randn([4, 6], { generator: new Random(2) });
  const y = ln.forward(x);
  const rowMeans = y.mean(-1).dataSync();
  for (const m of rowMeans) assert.ok(Math.abs(m) < 1e-5);
  assert.deepEqual(new ReLU().forward(tensor([-1, 2])).tolist(), [0, 2]);
  const lin = new Linear(6, 3, { bias: false });
  assert.equal(lin.bias, null);
  assert.deepEqual(lin.forward(x).shape, [4, 3]);
});

test("a model built inside tidy keeps its parameters", () => {
  const lin = tidy(() => new Linear(4, 4));
  assert.ok(!lin.weight.isDisposed);
  assert.equal(lin.forward(randn([2, 4])).shape[1], 4);
  const p: Tensor = parameter(randn([2]));
  assert.ok(p.requiresGrad && p.isLeaf);
});
