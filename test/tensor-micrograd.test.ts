/**
 * The same MLP as scalar Values (micrograd) and as float64 tensors gives the same gradients, and
 * both match the PyTorch reference in test/fixtures/micrograd.json, through 20 SGD steps.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { MLP, Value } from "../src/micrograd/index.js";
import * as T from "../src/tensor/index.js";
import { noGrad, type Tensor } from "../src/tensor/index.js";
import { close, fixture } from "./helpers.js";

interface MlpCase {
  name: string;
  kind: string;
  sizes: number[];
  nonlin: "tanh" | "relu";
  xs: number[][];
  ys: number[];
  weights: { w: number[]; b: number }[][];
  ypred: number[];
  loss: number;
  grads: { w: number[]; b: number }[][];
  sgd: { lr: number; steps: number; losses: number[]; loss_after: number };
}

const file = JSON.parse(readFileSync(fixture("micrograd.json"), "utf8")) as {
  tolerance: { atol: number; rtol: number };
  cases: MlpCase[];
};
const { atol, rtol } = file.tolerance;

/** One [nout, nin] weight and [nout] bias tensor per layer. */
function tensorMlp(c: MlpCase) {
  const layers = c.weights.map((neurons) => ({
    W: T.tensor(
      neurons.map((n) => n.w),
      { dtype: "float64", requiresGrad: true },
    ),
    b: T.tensor(
      neurons.map((n) => n.b),
      { dtype: "float64", requiresGrad: true },
    ),
  }));
  const X = T.tensor(c.xs, { dtype: "float64" });
  const Y = T.tensor(c.ys, { dtype: "float64" });
  const forward = () => {
    let h: Tensor = X;
    layers.forEach(({ W, b }, i) => {
      const act = T.linear(h, W, b);
      const last = i === layers.length - 1;
      h = c.nonlin === "tanh" ? T.tanh(act) : last ? act : T.relu(act);
    });
    const ypred = h.reshape(-1);
    return { ypred, loss: T.sum(T.square(T.sub(ypred, Y))) };
  };
  return { layers, forward };
}

function valueMlp(c: MlpCase) {
  const model = new MLP(c.sizes[0]!, c.sizes.slice(1), {
    activation: c.nonlin,
    linearOutput: c.nonlin === "relu",
  });
  model.layers.forEach((layer, l) => {
    layer.neurons.forEach((neuron, n) => {
      neuron.w.forEach((w, i) => {
        w.data = c.weights[l]![n]!.w[i]!;
      });
      neuron.b.data = c.weights[l]![n]!.b;
    });
  });
  const loss = () =>
    c.xs.map((x, i) => model.callScalar(x).sub(c.ys[i]!).pow(2)).reduce((a, b) => a.add(b), new Value(0));
  return { model, loss };
}

T.setBackend("js"); // float64 reference numbers: the js backend computes in float64 throughout

for (const c of file.cases.filter((x) => x.kind === "mlp")) {
  test(`${c.name}: tensor MLP = Value MLP = PyTorch (outputs, gradients, ${c.sgd.steps} SGD steps)`, () => {
    const net = tensorMlp(c);
    const { ypred, loss } = net.forward();
    ypred.dataSync().forEach((v, i) => {
      assert.ok(close(v, c.ypred[i]!, atol, rtol), `ypred[${i}] ${v}`);
    });
    assert.ok(close(loss.item(), c.loss, atol, rtol));
    loss.backward();

    const scalar = valueMlp(c);
    const scalarLoss = scalar.loss();
    scalarLoss.backward();
    const valueGrads = scalar.model.parameters().map((p) => p.grad);
    const tensorGrads = net.layers.flatMap(({ W, b }) => {
      const gw = W.grad!.tolist() as number[][];
      const gb = b.grad!.tolist() as number[];
      return gw.flatMap((row, n) => [...row, gb[n]!]);
    });
    const expected = c.grads.flatMap((layer) => layer.flatMap((n) => [...n.w, n.b]));
    assert.equal(tensorGrads.length, expected.length);
    tensorGrads.forEach((g, i) => {
      assert.ok(close(g, expected[i]!, atol, rtol), `grad ${i}: tensor ${g}, PyTorch ${expected[i]}`);
      assert.ok(
        Math.abs(g - valueGrads[i]!) <= 1e-12 * (1 + Math.abs(g)),
        `grad ${i}: tensor ${g}, Value ${valueGrads[i]}`,
      );
    });

    const params = net.layers.flatMap(({ W, b }) => [W, b]);
    for (let step = 0; step < c.sgd.steps; step++) {
      for (const p of params) p.zeroGrad();
      const { loss: l } = net.forward();
      assert.ok(
        close(l.item(), c.sgd.losses[step]!, atol, rtol),
        `step ${step}: ${l.item()} vs ${c.sgd.losses[step]}`,
      );
      l.backward();
      noGrad(() => {
        for (const p of params) p.assign(T.sub(p, T.mul(p.grad!, c.sgd.lr)));
      });
    }
    assert.ok(close(net.forward().loss.item(), c.sgd.loss_after, atol, rtol));
  });
}
