import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { parameter } from "../src/nn/index.js";
import { AdamW, clipGradNorm, cosineWithWarmup, LRScheduler, SGD, StepLR } from "../src/optim/index.js";
import { memoryStats, type Tensor, tensor, tidy } from "../src/tensor/index.js";

/** loss = Σ c·p², so grad = 2·c·p: a simple quadratic whose updates are easy to follow by hand. */
function quadraticStep(params: Tensor[], coef: number[]): void {
  for (const p of params) p.grad = null;
  params
    .map((p, i) => p.square().mul(coef[i]!).sum())
    .reduce((a, b) => a.add(b))
    .backward();
}

const f64 = (xs: number[]) => parameter(tensor(xs, { dtype: "float64" }));

test("SGD: plain, weight decay, momentum with dampening, Nesterov — as torch.optim.SGD", () => {
  for (const { momentum, dampening, weightDecay, nesterov } of [
    { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
    { momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: false },
    { momentum: 0.9, dampening: 0.1, weightDecay: 0, nesterov: false },
    { momentum: 0.8, dampening: 0, weightDecay: 0.05, nesterov: true },
  ]) {
    const p = f64([1.5, -2]);
    const opt = new SGD([p], { lr: 0.1, momentum, dampening, weightDecay, nesterov });
    const ref = [1.5, -2];
    let buf: number[] | null = null;
    for (let step = 0; step < 4; step++) {
      quadraticStep([p], [1]);
      opt.step();
      const g = ref.map((x) => 2 * x + weightDecay * x);
      let d = g;
      if (momentum !== 0) {
        buf = buf ? buf.map((b, i) => momentum * b + (1 - dampening) * g[i]!) : [...g];
        d = nesterov ? g.map((gi, i) => gi + momentum * buf![i]!) : buf;
      }
      ref.forEach((x, i) => {
        ref[i] = x - 0.1 * d[i]!;
      });
      const got = p.tolist() as number[];
      got.forEach((x, i) => {
        assert.ok(Math.abs(x - ref[i]!) < 1e-12, `step ${step}: ${got} vs ${ref}`);
      });
    }
  }
});

test("AdamW: bias-corrected moments and decoupled weight decay, per parameter group", () => {
  const a = f64([0.5, -1.0, 2.0]);
  const b = f64([3.0]);
  const opt = new AdamW(
    [
      { params: [a], weightDecay: 0.1 },
      { params: [b], weightDecay: 0, lr: 0.05 },
    ],
    { lr: 0.01, betas: [0.9, 0.95], eps: 1e-8 },
  );
  const refs = [
    { x: [0.5, -1.0, 2.0], m: [0, 0, 0], v: [0, 0, 0], lr: 0.01, wd: 0.1 },
    { x: [3.0], m: [0], v: [0], lr: 0.05, wd: 0 },
  ];
  for (let t = 1; t <= 5; t++) {
    quadraticStep([a, b], [1, 0.5]);
    opt.step();
    refs.forEach((r, k) => {
      r.x.forEach((x, i) => {
        const g = 2 * [1, 0.5][k]! * x;
        let p = x * (1 - r.lr * r.wd);
        r.m[i] = 0.9 * r.m[i]! + 0.1 * g;
        r.v[i] = 0.95 * r.v[i]! + 0.05 * g * g;
        p -= (r.lr / (1 - 0.9 ** t)) * (r.m[i]! / (Math.sqrt(r.v[i]!) / Math.sqrt(1 - 0.95 ** t) + 1e-8));
        r.x[i] = p;
      });
    });
    const got = [a.tolist() as number[], b.tolist() as number[]];
    got.forEach((xs, k) => {
      xs.forEach((x, i) => {
        assert.ok(Math.abs(x - refs[k]!.x[i]!) < 1e-12, `t=${t} group ${k}: ${xs} vs ${refs[k]!.x}`);
      });
    });
  }
  assert.equal(opt.stepCount, 5);
  const state = opt.stateDict();
  assert.deepEqual(Object.keys(state.state), ["0", "1"]);
  assert.deepEqual(Object.keys(state.state["0"]!), ["m", "v"]);
});

test("an optimizer restored from its stateDict continues exactly", () => {
  const run = (restoreAt: number | null) => {
    const p = f64([1, 2, 3]);
    let opt = new AdamW([p], { lr: 0.1 });
    for (let t = 0; t < 6; t++) {
      if (t === restoreAt) {
        const saved = opt.stateDict();
        opt = new AdamW([p], { lr: 0.1 });
        opt.loadStateDict(saved);
      }
      quadraticStep([p], [1]);
      opt.step();
    }
    return p.tolist();
  };
  assert.deepEqual(run(3), run(null));
});

test("clipGradNorm scales all gradients to the max norm and returns the norm before", () => {
  const a = f64([3, 0]);
  const b = f64([0, 4]);
  a.grad = tensor([3, 0], { dtype: "float64" });
  b.grad = tensor([0, 4], { dtype: "float64" });
  const norm = clipGradNorm([a, b], 1)!;
  assert.deepEqual([norm.ndim, norm.item()], [0, 5]);
  const scale = 1 / (5 + 1e-6);
  assert.ok(Math.abs((a.grad.tolist() as number[])[0]! - 3 * scale) < 1e-12);
  assert.ok(Math.abs((b.grad.tolist() as number[])[1]! - 4 * scale) < 1e-12);
  // Below the max norm: the gradients are left as they are.
  assert.equal(clipGradNorm([a, b], 10)!.item(), Math.sqrt((3 * scale) ** 2 + (4 * scale) ** 2));
  assert.ok(Math.abs((a.grad.tolist() as number[])[0]! - 3 * scale) < 1e-12);
  assert.equal(clipGradNorm([f64([1])], 1), null);
});

test("learning-rate schedules: nanoGPT's cosine with warmup, and step decay", () => {
  const cfg = { maxLr: 1e-3, minLr: 1e-4, warmupIters: 100, decayIters: 2000 };
  assert.equal(cosineWithWarmup(0, cfg), 1e-3 / 101);
  assert.equal(cosineWithWarmup(100, cfg), 1e-3);
  assert.ok(Math.abs(cosineWithWarmup(1050, cfg) - 5.5e-4) < 1e-12);
  assert.equal(cosineWithWarmup(2000, cfg), 1e-4);
  assert.equal(cosineWithWarmup(5000, cfg), 1e-4);
  const p = f64([1]);
  const opt = new SGD([p], { lr: 0.1 });
  const sched = new StepLR(opt, { stepSize: 3, gamma: 0.1 });
  const lrs = [opt.lr];
  for (let i = 0; i < 6; i++) lrs.push(sched.step());
  assert.deepEqual(
    lrs.map((x) => Number(x.toPrecision(6))),
    [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001],
  );
  const custom = new LRScheduler(opt, (it) => 1 / (it + 1));
  custom.step();
  assert.equal(opt.lr, 0.5);
});

test("optimizer steps inside tidy leave memoryStats flat", () => {
  const p = parameter(tensor([1, 2, 3, 4]));
  const opt = new AdamW([p], { lr: 0.01 });
  const step = () =>
    tidy(() => {
      opt.zeroGrad();
      p.square().sum().backward();
      opt.step();
    });
  step();
  const before = JSON.stringify(memoryStats());
  for (let i = 0; i < 200; i++) step();
  assert.equal(JSON.stringify(memoryStats()), before);
});

test("optimizers reject parameters that cannot be trained or appear twice", () => {
  const p = f64([1]);
  assert.throws(() => new SGD([tensor([1])], { lr: 0.1 }), /must require grad/);
  assert.throws(
    () =>
      new SGD(
        [
          { params: [p], lr: 0.1 },
          { params: [p], lr: 0.2 },
        ],
        { lr: 0.1 },
      ),
    /more than one group/,
  );
});
