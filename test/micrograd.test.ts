import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { MLP, runProgram, sum, toDot, trainMoons, Value } from "../src/micrograd/index.js";
import { close, fixture } from "./helpers.js";

interface ExpressionCase {
  name: string;
  kind: "expression";
  leaves: Record<string, number>;
  program: string[];
  output: string;
  value: number;
  grads: Record<string, number>;
  values: Record<string, number>;
}

interface NeuronWeights {
  w: number[];
  b: number;
}

interface MlpCase {
  name: string;
  kind: "mlp";
  sizes: number[];
  nonlin: "tanh" | "relu";
  xs: number[][];
  ys: number[];
  weights: NeuronWeights[][];
  ypred: number[];
  loss: number;
  grads: NeuronWeights[][];
  sgd: { lr: number; steps: number; losses: number[]; loss_after: number };
}

const fixtures = JSON.parse(readFileSync(fixture("micrograd.json"), "utf8")) as {
  tolerance: { atol: number; rtol: number };
  cases: (ExpressionCase | MlpCase)[];
};
const { atol, rtol } = fixtures.tolerance;

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(close(actual, expected, atol, rtol), `${what}: got ${actual}, expected ${expected}`);
}

for (const c of fixtures.cases) {
  if (c.kind !== "expression") continue;
  test(`micrograd.json ${c.name}: value, every intermediate and every leaf gradient`, () => {
    const vars = runProgram(c.program, c.leaves);
    const out = vars.get(c.output)!;
    out.backward();
    assertClose(out.data, c.value, `${c.output}.data`);
    for (const [name, expected] of Object.entries(c.values))
      assertClose(vars.get(name)!.data, expected, name);
    for (const [name, expected] of Object.entries(c.grads))
      assertClose(vars.get(name)!.grad, expected, `${name}.grad`);
  });
}

function buildMlp(c: MlpCase): MLP {
  const model = new MLP(c.sizes[0]!, c.sizes.slice(1), {
    activation: c.nonlin,
    linearOutput: c.nonlin === "relu",
  });
  const flat = c.weights.flatMap((layer) => layer.flatMap((n) => [...n.w, n.b]));
  const params = model.parameters();
  assert.equal(params.length, flat.length, "parameter count");
  params.forEach((p, i) => {
    p.data = flat[i]!;
  });
  return model;
}

function mlpLoss(model: MLP, c: MlpCase): { loss: Value; ypred: Value[] } {
  const ypred = c.xs.map((x) => model.callScalar(x));
  const loss = sum(ypred.map((yout, i) => yout.sub(c.ys[i]!).pow(2)));
  return { loss, ypred };
}

for (const c of fixtures.cases) {
  if (c.kind !== "mlp") continue;
  test(`micrograd.json ${c.name}: forward, loss, every parameter gradient and ${c.sgd.steps} SGD steps`, () => {
    const model = buildMlp(c);
    const { loss, ypred } = mlpLoss(model, c);
    ypred.forEach((y, i) => {
      assertClose(y.data, c.ypred[i]!, `ypred[${i}]`);
    });
    assertClose(loss.data, c.loss, "loss");
    loss.backward();
    const expectedGrads = c.grads.flatMap((layer) => layer.flatMap((n) => [...n.w, n.b]));
    model.parameters().forEach((p, i) => {
      assertClose(p.grad, expectedGrads[i]!, `grad of parameter ${i}`);
    });

    const fresh = buildMlp(c);
    for (let step = 0; step < c.sgd.steps; step++) {
      const { loss: l } = mlpLoss(fresh, c);
      assertClose(l.data, c.sgd.losses[step]!, `loss at SGD step ${step}`);
      fresh.zeroGrad();
      l.backward();
      for (const p of fresh.parameters()) p.data += -c.sgd.lr * p.grad;
    }
    assertClose(mlpLoss(fresh, c).loss.data, c.sgd.loss_after, "loss after SGD");
  });
}

test("micrograd's README example: g 24.7041, a.grad 138.8338, b.grad 645.5773", () => {
  const a = new Value(-4.0);
  const b = new Value(2.0);
  let c = a.add(b);
  let d = a.mul(b).add(b.pow(3));
  c = c.add(c.add(1));
  c = c.add(c.add(1).sub(a));
  d = d.add(d.mul(2).add(b.add(a).relu()));
  d = d.add(d.mul(3).add(b.sub(a).relu()));
  const e = c.sub(d);
  const f = e.pow(2);
  let g = f.div(2.0);
  g = g.add(f.rdiv(10.0));
  g.backward();
  assert.equal(g.data.toFixed(4), "24.7041");
  assert.equal(a.grad.toFixed(4), "138.8338");
  assert.equal(b.grad.toFixed(4), "645.5773");
});

test("a + a gives a.grad = 2: gradients accumulate", () => {
  const a = new Value(3);
  const b = a.add(a);
  b.backward();
  assert.equal(b.data, 6);
  assert.equal(a.grad, 2);
});

test("backward accumulates into existing grads until zeroGrad", () => {
  const model = new MLP(2, [3, 1]);
  const x = [0.5, -1.5];
  model.callScalar(x).backward();
  const first = model.parameters().map((p) => p.grad);
  model.callScalar(x).backward();
  model.parameters().forEach((p, i) => {
    assert.ok(Math.abs(p.grad - 2 * first[i]!) < 1e-12);
  });
  model.zeroGrad();
  assert.ok(model.parameters().every((p) => p.grad === 0));
});

test("tanh equals the same function composed from exp, in value and gradient", () => {
  for (const x0 of [-2.5, -0.3, 0, 0.7, 3]) {
    const x1 = new Value(x0);
    const t1 = x1.tanh();
    t1.backward();
    const x2 = new Value(x0);
    const e = x2.mul(2).exp();
    const t2 = e.sub(1).div(e.add(1));
    t2.backward();
    assert.ok(Math.abs(t1.data - t2.data) < 1e-12, `tanh(${x0})`);
    assert.ok(Math.abs(x1.grad - x2.grad) < 1e-12, `tanh'(${x0}): ${x1.grad} vs ${x2.grad}`);
  }
});

test("log, sigmoid, neg, sub, div and reversed forms have the right gradients", () => {
  const h = 1e-6;
  const fns: [string, (v: Value) => Value, (x: number) => number][] = [
    ["log", (v) => v.log(), Math.log],
    ["sigmoid", (v) => v.sigmoid(), (x) => 1 / (1 + Math.exp(-x))],
    ["neg", (v) => v.neg(), (x) => -x],
    ["rsub", (v) => v.rsub(3), (x) => 3 - x],
    ["rdiv", (v) => v.rdiv(3), (x) => 3 / x],
    ["div", (v) => v.div(v.add(1)), (x) => x / (x + 1)],
    ["pow -0.5", (v) => v.pow(-0.5), (x) => x ** -0.5],
  ];
  for (const [name, f, ref] of fns) {
    const x = new Value(1.3);
    const y = f(x);
    y.backward();
    assert.ok(Math.abs(y.data - ref(1.3)) < 1e-12, `${name} value`);
    const numeric = (ref(1.3 + h) - ref(1.3 - h)) / (2 * h);
    assert.ok(Math.abs(x.grad - numeric) < 1e-6, `${name} grad ${x.grad} vs ${numeric}`);
  }
  assert.throws(() => new Value(-1).log(), /non-positive/);
});

test("toDot draws one record per Value with its label, data and grad, and one node per op", () => {
  const vars = runProgram(["e = a * b", "d = e + c", "L = d * f"], { a: 2, b: -3, c: 10, f: -2 });
  const L = vars.get("L")!;
  L.backward();
  const dot = toDot(L, { rankdir: "LR" });
  assert.match(dot, /rankdir=LR/);
  const records = dot.match(/shape=record/g) ?? [];
  const ops = dot.match(/shape=ellipse/g) ?? [];
  assert.equal(records.length, L.topologicalOrder().length);
  assert.equal(records.length, 7); // a b c f e d L
  assert.equal(ops.length, 3); // *, +, *
  assert.match(dot, /\{ L \| data -8\.0000 \| grad 1\.0000 \}/);
  assert.match(dot, /\{ a \| data 2\.0000 \| grad 6\.0000 \}/);
  assert.match(dot, /\{ f \| data -2\.0000 \| grad 4\.0000 \}/);
  const topDown = toDot(L, { rankdir: "TB" });
  assert.match(topDown, /rankdir=TB/);
});

test("backward handles a graph far deeper than the call stack", () => {
  let x = new Value(0.5);
  const start = x;
  for (let i = 0; i < 200_000; i++) x = x.mul(1).add(0);
  x.backward();
  assert.equal(start.grad, 1);
});

test("the expression runner reports unknown names and syntax errors", () => {
  assert.throws(() => runProgram(["y = x + 1"], {}), /"x" is not defined/);
  assert.throws(() => runProgram(["y = (a + 1"], { a: 1 }), /expected "\)"/);
  assert.throws(() => runProgram(["y = a.foo()"], { a: 1 }), /unknown method/);
  assert.throws(() => runProgram(["y + 1"], { a: 1 }), /name = expr/);
});

test("the moons demo: 337 parameters and 100% training accuracy within 100 steps (seed 1337)", () => {
  const run = trainMoons({ seed: 1337 });
  assert.equal(run.model.parameters().length, 337);
  assert.equal(run.history.length, 100);
  assert.ok(run.history[0]!.loss > run.history.at(-1)!.loss);
  assert.equal(run.history.at(-1)!.accuracy, 1);
  assert.ok(
    run.history.some((s) => s.accuracy === 1),
    "reaches 100% accuracy",
  );
  // The same seed gives the same run, bit for bit (steps 0 and 1 use lr 1.0 whatever the length).
  const again = trainMoons({ seed: 1337, steps: 2 }).history;
  assert.equal(again[0]!.loss, run.history[0]!.loss);
  assert.equal(again[1]!.loss, run.history[1]!.loss);
});
