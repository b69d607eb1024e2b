/**
 * A neuron's life beyond one input (issue 27): what it responds to over the data, and what
 * happens without it. An ablation through hooks costs the same loss as a copy of the model with
 * the unit's weights zeroed by hand; the top contexts are the true maxima over the data; the
 * hooks leave the model bitwise as it was; the CLI's --ablate prints the change, or one line
 * naming the flag when its value is wrong.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { GPTProbe } from "../lessons/gpt-interventions.js";
import { histogram, interventionFigure, parseAction } from "../lessons/interventions.js";
import { MlpProbe } from "../lessons/mlp-interventions.js";
import { parseSelection } from "../src/cli/commands/lab.js";
import { buildContextWindows, CharVocabulary } from "../src/data/index.js";
import { GPT, type GPTConfig } from "../src/models/gpt.js";
import { Mlp } from "../src/models/makemore.js";
import { Random } from "../src/random/index.js";
import { assign, gelu, keep, linear, noGrad, type Tensor, tensor } from "../src/tensor/index.js";
import { evaluateLoss, windowTensors } from "../src/train/makemore.js";
import { cliHarness } from "./cli-harness.js";

const config = (bias: boolean): GPTConfig => ({
  blockSize: 16,
  vocabSize: 23,
  nLayer: 2,
  nHead: 4,
  nEmbd: 16,
  dropout: 0,
  bias,
  gelu: "none",
});

/** Two GPTs with the same weights: one to probe, one to edit by hand. */
function twins(bias = false): [GPT, GPT] {
  return [
    new GPT(config(bias), { generator: new Random(5) }),
    new GPT(config(bias), { generator: new Random(5) }),
  ];
}

const val = (() => {
  const r = new Random(9);
  return Uint16Array.from({ length: 600 }, () => r.randint(0, 23));
})();
const decode = (id: number) => String.fromCharCode(97 + id);
const probeOf = (model: GPT) => new GPTProbe(model, { val, windows: 12, decode });

/** Set column(s) of a weight [out, in] by hand. */
function editColumns(w: Tensor, columns: number[], value = 0): void {
  const rows = w.tolist() as number[][];
  for (const row of rows) for (const c of columns) row[c] = value;
  noGrad(() => assign(w, tensor(rows)));
}

const logitsOf = async (model: GPT) => {
  const x = tensor([Array.from(val.subarray(0, 16))], { dtype: "int32" });
  return [...(await noGrad(() => model.forward(x).logits).data())];
};

test("GPT: ablating an MLP neuron or a head through hooks costs what zeroing its weights by hand costs", async () => {
  const [model, copy] = twins();
  const probe = probeOf(model);
  const plain = await logitsOf(model);
  const before = await probe.loss();

  const neuron = await probe.lossWith({ layer: 1, neuron: 21 }, { kind: "zero" });
  editColumns([...copy.transformer.h][1]!.mlp.c_proj.weight, [21]);
  const byHand = await probeOf(copy).loss();
  assert.ok(Math.abs(neuron - byHand) < 1e-5, `neuron: ${neuron} vs ${byHand}`);
  assert.notEqual(neuron, before, "the ablation changes the loss");

  const [model2, copy2] = twins();
  const head = await probeOf(model2).lossWith({ layer: 0, head: 2 }, { kind: "zero" });
  editColumns([...copy2.transformer.h][0]!.attn.c_proj.weight, [8, 9, 10, 11]); // head 2 of 4, size 4
  const headByHand = await probeOf(copy2).loss();
  assert.ok(Math.abs(head - headByHand) < 1e-5, `head: ${head} vs ${headByHand}`);

  // The hooks are gone: the model computes bitwise what it did before.
  assert.deepEqual(await logitsOf(model), plain);
});

test("GPT: clamping a neuron equals moving its output weight into c_proj's bias", async () => {
  const [model, copy] = twins(true);
  const clamped = await probeOf(model).lossWith({ layer: 0, neuron: 7 }, { kind: "clamp", value: 1.5 });
  const proj = [...copy.transformer.h][0]!.mlp.c_proj;
  const w = proj.weight.tolist() as number[][];
  const b = proj.bias!.tolist() as number[];
  noGrad(() => assign(proj.bias!, tensor(b.map((v, c) => v + 1.5 * w[c]![7]!))));
  editColumns(proj.weight, [7]);
  const byHand = await probeOf(copy).loss();
  assert.ok(Math.abs(clamped - byHand) < 1e-5, `${clamped} vs ${byHand}`);
});

test("GPT: a neuron's top contexts are the true maxima over the data, its histogram counts every token", async () => {
  const [model] = twins();
  const probe = probeOf(model);
  const layer = 1;
  const neuron = 33;
  const life = await probe.neuron(layer, neuron, 5);
  // Directly: the MLP's input from ln_2 (a forward hook), then gelu(c_fc(x)) by hand, window by window.
  const block = [...model.transformer.h][layer]!;
  const perWindow: { w: number; t: number; v: number }[] = [];
  for (let w = 0; w < probe.windows; w++) {
    const ids = Array.from({ length: probe.length }, (_, t) => probe.id(w, t));
    let seen: Tensor | null = null;
    const handle = block.ln_2.registerForwardHook((_m, _i, out) => {
      seen = keep((out as Tensor).clone());
    });
    noGrad(() => model.forward(tensor([ids], { dtype: "int32" })));
    handle.remove();
    const acts = noGrad(
      () => gelu(linear(seen!, block.mlp.c_fc.weight), "none").tolist() as number[][][],
    )[0]!;
    let t = 0;
    for (let u = 1; u < acts.length; u++) if (acts[u]![neuron]! > acts[t]![neuron]!) t = u;
    perWindow.push({ w, t, v: acts[t]![neuron]! });
  }
  perWindow.sort((a, b) => b.v - a.v);
  assert.equal(life.examples.contexts.length, 5);
  life.examples.contexts.forEach((c, i) => {
    const truth = perWindow[i]!;
    assert.ok(
      Math.abs(c.tokens[c.max]!.value - truth.v) < 1e-5,
      `context ${i}: ${c.tokens[c.max]!.value} vs ${truth.v}`,
    );
    assert.equal(c.tokens[c.max]!.text, decode(probe.id(truth.w, truth.t)));
  });
  assert.ok(Math.abs(life.max - perWindow[0]!.v) < 1e-5);
  assert.equal(
    life.histogram.counts.reduce((a, b) => a + b, 0),
    probe.tokens,
  );
  // What it does: its c_proj column read by wte, ln_f's gain folded in (1 at init).
  const column = ([...model.transformer.h][layer]!.mlp.c_proj.weight.tolist() as number[][]).map(
    (r) => r[neuron]!,
  );
  const wte = model.transformer.wte.weight.tolist() as number[][];
  const direct = wte.map((row) => row.reduce((s, v, c) => s + v * column[c]!, 0));
  const best = direct.indexOf(Math.max(...direct));
  assert.equal(life.effects.up[0]!.text, decode(best));
  assert.ok(Math.abs(life.effects.up[0]!.value - direct[best]!) < 1e-5);
});

test("GPT: the comparison shows both models side by side and leaves the model as it was", async () => {
  const [model] = twins();
  const probe = probeOf(model);
  const plain = await logitsOf(model);
  const result = await probe.compare(
    { layer: 0, head: 1 },
    { kind: "mean" },
    { contexts: [{ label: "abc", ids: [0, 1, 2] }], prompt: [0, 1, 2], sampleTokens: 6 },
  );
  assert.equal(result.compare.columns.length, 2);
  assert.equal(result.compare.rows.length, 2);
  for (const row of result.compare.rows) assert.equal(row.cells.length, 2);
  assert.equal(result.before, await probe.loss());
  assert.deepEqual(await logitsOf(model), plain);
  await assert.rejects(
    probe.lossWith({ layer: 0, head: 4 }, { kind: "zero" }),
    /no head 4 in block 0 \(heads 0 to 3\)/,
  );
  await assert.rejects(probe.lossWith({ layer: 2, neuron: 0 }, { kind: "zero" }), /no block 2/);
});

test("an intervention's caption names what was changed: a head, a neuron", () => {
  const answer = (before: number, after: number, unit?: "head" | "neuron") =>
    interventionFigure("t", undefined, {
      before,
      after,
      tokens: "4 val tokens",
      compare: { label: "side by side", columns: ["a", "b"], rows: [] },
      code: { file: "lessons/interventions.ts", region: "set-channels", line: "" },
      ...(unit ? { unit } : {}),
    }).caption;
  assert.equal(
    answer(2, 2.5, "head"),
    "The loss went up: the model needed what this head does on these tokens.",
  );
  assert.match(answer(2, 1.5, "neuron")!, /does better without what this neuron does/);
  assert.match(answer(2, 2.0001, "head")!, /does not rely on this head/);
  assert.match(answer(2, 2.5)!, /this unit does/);
  assert.equal(
    interventionFigure("t", undefined, {
      before: 2.6424,
      after: 2.6424 + 5.245e-5,
      tokens: "4 val tokens",
      compare: { label: "", columns: [], rows: [] },
      code: { file: "x", region: "y", line: "" },
    }).values.find((v) => v.label === "change Δ")?.value,
    "+0.0001",
  );
});

/** A few names as context windows, for lesson 3's MLP. */
function names() {
  const words = [
    "emma",
    "olivia",
    "ava",
    "isabella",
    "sophia",
    "mia",
    "amelia",
    "harper",
    "evelyn",
    "abigail",
  ];
  const vocab = CharVocabulary.fromWords(words);
  return { vocab, dev: windowTensors(buildContextWindows(words, vocab, 3)) };
}

const mlp = (vocabSize: number) =>
  new Mlp({ vocabSize, blockSize: 3, nEmbd: 4, nHidden: 12, generator: new Random(3) });

test("makemore: ablating a hidden unit costs what zeroing its weights by hand costs", async () => {
  const { vocab, dev } = names();
  const model = mlp(vocab.size);
  const probe = new MlpProbe(model, vocab, dev);
  const plain = model.forward(dev.X).tolist();
  const ablated = await probe.lossWith(5, { kind: "zero" });
  // By hand, twice: its outgoing row of W2 zeroed; its incoming column of W1 and its bias zeroed (tanh 0 = 0).
  const out = mlp(vocab.size);
  const W2 = out.W2.tolist() as number[][];
  W2[5] = W2[5]!.map(() => 0);
  noGrad(() => assign(out.W2, tensor(W2)));
  assert.ok(Math.abs(ablated - evaluateLoss(out, dev)) < 1e-5);
  const into = mlp(vocab.size);
  const W1 = into.W1.tolist() as number[][];
  for (const row of W1) row[5] = 0;
  const b1 = into.b1.tolist() as number[];
  b1[5] = 0;
  noGrad(() => {
    assign(into.W1, tensor(W1));
    assign(into.b1, tensor(b1));
  });
  assert.ok(Math.abs(ablated - evaluateLoss(into, dev)) < 1e-5);
  assert.notEqual(ablated, probe.loss());
  // Clamped to 0.8: b2 takes 0.8 of its row of W2.
  const clamped = await probe.lossWith(5, { kind: "clamp", value: 0.8 });
  const b2 = out.b2.tolist() as number[];
  const row = (model.W2.tolist() as number[][])[5]!;
  noGrad(() => assign(out.b2, tensor(b2.map((v, c) => v + 0.8 * row[c]!))));
  assert.ok(Math.abs(clamped - evaluateLoss(out, dev)) < 1e-5);
  assert.deepEqual(model.forward(dev.X).tolist(), plain, "the hook is gone");
});

test("makemore: a hidden unit's top names are the true maxima, and its letters come from W2", async () => {
  const { vocab, dev } = names();
  const model = mlp(vocab.size);
  const probe = new MlpProbe(model, vocab, dev);
  const life = await probe.neuron(2, 4);
  const h = (model.hidden(dev.X).tolist() as number[][]).map((r) => r[2]!);
  const X = dev.X.tolist() as number[][];
  // Words start where the context is all '.'.
  const words: number[][] = [];
  for (const [i, ctx] of X.entries()) {
    if (ctx.every((c) => c === 0)) words.push([i]);
    else words.at(-1)!.push(i);
  }
  const best = words.map((w) => Math.max(...w.map((i) => h[i]!))).sort((a, b) => b - a);
  for (const [i, c] of life.examples.contexts.entries())
    assert.ok(Math.abs(c.tokens[c.max]!.value - best[i]!) < 1e-6, `${c.tokens[c.max]!.value} vs ${best[i]}`);
  assert.equal(
    life.histogram.counts.reduce((a, b) => a + b, 0),
    X.length,
  );
  const w2 = (model.W2.tolist() as number[][])[2]!;
  assert.equal(life.effects.up[0]!.text, vocab.itos[w2.indexOf(Math.max(...w2))]);
  assert.equal(life.effects.down[0]!.text, vocab.itos[w2.indexOf(Math.min(...w2))]);
});

test("actions, histograms and the CLI's --select / --ablate values", () => {
  assert.deepEqual(parseAction("ablate-zero"), { kind: "zero" });
  assert.deepEqual(parseAction("clamp:2.5"), { kind: "clamp", value: 2.5 });
  assert.throws(() => parseAction("clamp:x"), /action "clamp:x" is not one of/);
  const { edges, counts } = histogram([0, 1, 1, 2, 3], 3);
  assert.deepEqual(counts, [1, 2, 2]);
  assert.equal(edges.length, 4);
  assert.deepEqual(parseSelection("--ablate", "1:37"), {
    flag: "--ablate",
    value: "1:37",
    figure: "unit",
    target: [1, 37],
    action: "ablate-zero",
  });
  assert.equal(parseSelection("--ablate", "0:h2=mean").action, "ablate-mean");
  assert.equal(parseSelection("--ablate", "0:h2=mean").figure, "head");
  assert.equal(parseSelection("--ablate", "1:3=-0.5").action, "clamp:-0.5");
  assert.deepEqual(parseSelection("--select", "mlp:1,3").target, [1, 3]);
  assert.equal(parseSelection("--select", "1:3").figure, "unit");
  assert.throws(
    () => parseSelection("--ablate", "a:b"),
    /^Error: --ablate "a:b": expected LAYER:UNIT or LAYER:hHEAD/,
  );
  assert.throws(
    () => parseSelection("--ablate", "1:2=big"),
    /--ablate "1:2=big": "big" is not zero, mean or a finite number/,
  );
  // 1e400 parses as Infinity: named as such, not as "not a number".
  assert.throws(
    () => parseSelection("--ablate", "1:2=1e400"),
    /"1e400" is not zero, mean or a finite number/,
  );
  assert.throws(
    () => parseSelection("--ablate", "1:h2=3"),
    /a head can be set to zero or its mean, not clamped/,
  );
  assert.throws(() => parseSelection("--select", "mlp:1,x"), /--select "mlp:1,x": expected figure:i,j/);
});

const h = cliHarness("hero-ablate-");
const tiny = [
  "--set",
  "steps=2",
  "--set",
  "nLayer=1",
  "--set",
  "nEmbd=16",
  "--set",
  "batchSize=4",
  "--out",
  "out",
];

test("hero lesson run 7 attention --ablate prints the val loss before, after and the change", () => {
  const r = h.hero(["lesson", "run", "7", "attention", ...tiny, "--ablate", "0:h1", "--ablate", "0:h3=mean"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /Without block 0, head \d the val loss rises most|No head's ablation raises the val loss/,
  );
  assert.match(
    r.stdout,
    /Block 0, head 1 set to 0\n {2}val loss, unchanged +\d\.\d+\n {2}val loss, intervened +\d\.\d+\n {2}change Δ +[+-]\d\.\d{4}\n/,
  );
  assert.match(r.stdout, /Block 0, head 3 set to its mean output/);
  assert.match(r.stdout, /unchanged model +" "|unchanged model +"/);
});

test("hero lesson run --ablate: a bad value is one line naming the flag, before any training", () => {
  const bad = h.hero(["lesson", "run", "7", "attention", ...tiny, "--ablate", "0:x"]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, "");
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /^hero: --ablate "0:x": expected LAYER:UNIT or LAYER:hHEAD/);
  const range = h.hero(["lesson", "run", "7", "attention", ...tiny, "--ablate", "3:h1"]);
  assert.equal(range.status, 1);
  assert.match(range.stderr, /^hero: --ablate 3:h1: no head 1 in layer 3 \(layers 0 to 0, heads 0 to 3\)$/m);
  const inside = h.hero(["lesson", "run", "7", "inside", ...tiny, "--select", "0:999", "--ablate", "0:h9"]);
  assert.equal(inside.status, 1);
  assert.match(
    inside.stderr,
    /^hero: --select 0:999: no MLP neuron 999 in block 0 \(blocks 0 to 0, neurons 0 to 63\)$/m,
  );
  const none = h.hero(["lesson", "run", "7", "aggregation", "--ablate", "0:h1", "--out", "out"]);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^hero: --ablate 0:h1: this experiment has no heads to ablate by number/);
  // What has heads and what has neurons is not mixed up in the list.
  assert.match(none.stderr, /\(neurons: lesson 3 mlp, .*; heads: lesson 7 attention and inside/);
});
