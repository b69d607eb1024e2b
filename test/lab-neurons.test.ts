/**
 * The neuron view of every lesson, in Node: each experiment marks its figures clickable, and a
 * click answers with a detail whose numbers agree with the engine's (recomputed here from the
 * figure's own weights and activations, or by another route), whose formula is there and whose
 * line of code exists in the file it names.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { findLesson } from "../lessons/index.js";
import {
  collectingContext,
  type DetailFigure,
  type Figure,
  type HeatmapFigure,
  type LabEvent,
  type NetworkFigure,
  parseParams,
} from "../lessons/lesson.js";
import { cellSource, findLine } from "../lessons/source.js";
import { close, fixture, repoRoot } from "./helpers.js";

/** Run one experiment; its figures by id, the figures it made clickable, and a click. */
async function run(lesson: string, section: string, input: Record<string, unknown> = {}) {
  const experiment = (await findLesson(lesson)!.load()).sections.find((s) => s.id === section)!.experiment!;
  const context = collectingContext();
  await experiment.run(parseParams(experiment.params, input), context);
  const figures = new Map<string, Figure>();
  for (const e of context.events) if (e.type === "figure") figures.set(e.figure.id, e.figure);
  const selectable = new Set(context.events.filter((e) => e.type === "selectable").map((e) => e.figure));
  const click = async (figure: string, target: number[]): Promise<DetailFigure> => {
    const events: LabEvent[] = await context.select(figure, target);
    const detail = events.find((e) => e.type === "figure" && e.figure.kind === "detail");
    assert.ok(detail?.type === "figure" && detail.figure.kind === "detail", `${figure} ${target}: a detail`);
    checkDetail(detail.figure, figure, target);
    return detail.figure;
  };
  return { figures, selectable, click, events: context.events };
}

/** What every detail must have: the element it describes, numbers, and a line of real code. */
function checkDetail(d: DetailFigure, figure: string, target: number[]): void {
  assert.equal(d.of?.figure, figure);
  assert.deepEqual(d.of?.target.length, target.length);
  assert.ok(d.values.length >= 1);
  for (const v of d.values)
    assert.ok(typeof v.value === "string" || Number.isFinite(v.value), `${d.title}: ${v.label}`);
  assert.ok(d.tex && d.tex.length > 3, `${d.title}: a formula`);
  assert.ok(d.code, `${d.title}: its code`);
  const source = cellSource(readFileSync(join(repoRoot, d.code.file), "utf8"), d.code);
  assert.doesNotThrow(() => findLine(source, d.code!.line), `${d.code.file}: "${d.code.line}"`);
}

const value = (d: DetailFigure, label: string): number => {
  const v = d.values.find((x) => x.label.startsWith(label));
  assert.ok(
    v && typeof v.value === "number",
    `${d.title}: no number "${label}" (${d.values.map((x) => x.label).join("; ")})`,
  );
  return v.value;
};

const near = (a: number, b: number, what: string, rtol = 1e-5) =>
  assert.ok(close(a, b, 1e-6, rtol), `${what}: ${a} vs ${b}`);

/** A neuron's weighted sum from a network figure: Σᵢ w[l][j][i]·a[l][i] + b[l][j]. */
function weightedSum(net: NetworkFigure, layer: number, j: number): number {
  const w = net.weights[layer - 1]![j]!;
  return w.reduce((s, wi, i) => s + wi * net.activations[layer - 1]![i]!, net.biases[layer - 1]![j] ?? 0);
}

test("lesson 1: a neuron of the moons MLP, and the lecture's neuron", { timeout: 60_000 }, async () => {
  const moons = await run("1", "moons", { steps: "5", hidden: "4" });
  assert.ok(moons.selectable.has("mlp"));
  const net = moons.figures.get("mlp") as NetworkFigure;
  const d = await moons.click("mlp", [2, 1]);
  const pre = weightedSum(net, 2, 1);
  near(value(d, "pre-activation"), pre, "b + Σ w·x");
  near(value(d, "activation"), Math.max(0, pre), "relu");
  // The last hidden layer feeds the linear output: d score / d activation is its output weight.
  near(value(d, "dscore/d activation"), net.weights[2]![0]![1]!, "dscore/da");
  const input = await moons.click("mlp", [0, 1]);
  near(value(input, "x1"), net.activations[0]![1]!, "x1");
  await assert.rejects(moons.click("mlp", [7, 0]), /no layer 7/);

  const neuron = await run("1", "neuron");
  const o = await neuron.click("neuron", [1, 0]);
  near(value(o, "o = tanh(n)"), Math.SQRT1_2, "o", 1e-4);
  near(value(o, "do/dn"), 0.5, "1 − o²", 1e-4);
  near(value(await neuron.click("neuron", [0, 0]), "do/dw1"), 1, "x1·(1 − o²)", 1e-4);
});

test("lessons 2–6: output, hidden and BatchNorm neurons, WaveNet units", { timeout: 180_000 }, async () => {
  // 2: W as 27 neurons; P(b | a) is the softmax of the logits, the row of W of the input.
  const bigram = await run("2", "neural", { steps: "2", letter: "e" });
  const W = bigram.figures.get("neurons") as NetworkFigure;
  const a = W.inputLabels!.indexOf("e");
  const logits = W.weights[0]!.map((row) => row[a]!);
  const total = logits.reduce((s, l) => s + Math.exp(l), 0);
  const b = await bigram.click("neurons", [1, 1]);
  near(value(b, "logit"), logits[1]!, "W[a, b]");
  near(value(b, 'P("a"'), Math.exp(logits[1]!) / total, "softmax");

  // 3: a hidden tanh neuron of the MLP for one context.
  const mlp = await run("3", "mlp", { steps: "10", nHidden: "8" });
  const net = mlp.figures.get("neurons") as NetworkFigure;
  const h = await mlp.click("neurons", [1, 5]);
  const pre = weightedSum(net, 1, 5);
  near(value(h, "pre-activation"), pre, "emb·W1 + b1", 1e-4);
  near(value(h, "activation tanh"), Math.tanh(pre), "tanh", 1e-4);
  const dh = value(h, "d loss / d activation");
  near(value(h, "d loss / d pre-activation"), (1 - Math.tanh(pre) ** 2) * dh, "(1 − h²)·dh", 1e-4);
  // The outputs' gradients are p − one-hot: they sum to 0.
  let sum = 0;
  for (let k = 0; k < 27; k++) sum += value(await mlp.click("neurons", [2, k]), "d loss / d logit");
  near(sum, 0, "Σ (p − y)");

  // 4: a BatchNorm channel normalises with the batch's statistics, then γ, β.
  const bn = await run("4", "batchnorm", { steps: "10" });
  const c = await bn.click("neurons", [1, 7]);
  const xhat =
    (value(c, "pre-activation") - value(c, "batch mean")) / Math.sqrt(value(c, "batch variance") + 1e-5);
  near(value(c, "normalised"), xhat, "x̂", 1e-4);
  near(value(c, "y = γ·x̂ + β"), value(c, "γ") * xhat + value(c, "β"), "γx̂ + β", 1e-4);
  near(
    value(c, "tanh(y)"),
    (bn.figures.get("neurons") as NetworkFigure).activations[1]![7]!,
    "the figure's tanh",
    1e-4,
  );
  await assert.rejects(bn.click("neurons", [2, 0]), /click one of the 200 BatchNorm channels/);

  // 5: each gradient by hand equals autograd's.
  const ninja = await run("5", "cmp", { nHidden: "16" });
  const n = await ninja.click("neurons", [1, 3]);
  for (const g of ["dh", "dhpreact", "dhprebn"])
    near(value(n, `${g} by hand`), value(n, `${g} by autograd`), g, 1e-7);

  // 6: a unit of the top level of the WaveNet: the heatmap's value is its tanh.
  const wave = await run("6", "wavenet", { steps: "10", nHidden: "16" });
  const units = wave.figures.get("units") as HeatmapFigure;
  assert.equal(units.values.length, 4 + 2 + 1);
  const u = await wave.click("units", [6, 3]);
  near(value(u, "activation tanh"), units.values[6]![3]!, "the heatmap's cell");
  near(value(u, "activation tanh"), Math.tanh(value(u, "after BatchNorm")), "tanh(BN(·))");
});

test("lessons 7 and 9: the block's boxes, the logit lens, MLP neurons and heads", {
  timeout: 180_000,
}, async () => {
  const inside = await run("7", "inside", { steps: "2", prompt: "To be, or", nLayer: "2", nHead: "2" });
  for (const f of ["block", "logit-lens", "mlp-neurons", "heads"]) assert.ok(inside.selectable.has(f), f);
  const block = inside.figures.get("block");
  assert.ok(block?.kind === "graph");
  // Lesson 7's model has no biases: the boxes' formulas show none (nor LayerNorm's β).
  for (let k = 0; k < block.nodes!.length; k++)
    assert.doesNotMatch((await inside.click("block", [k])).tex ?? "", /\+ b\b|\\beta/);
  assert.match(block.frames[0]!.dot, /\[9, 128\]/); // the MLP's hidden layer: T = 9 tokens × 4C = 128
  const neurons = inside.figures.get("mlp-neurons") as HeatmapFigure;
  const n = await inside.click("mlp-neurons", [1, 0]);
  near(value(n, "activation GELU"), neurons.values[1]![0]!, "the heatmap's cell");
  const x = value(n, "pre-activation");
  near(value(n, "activation GELU"), 0.5 * x * (1 + erf(x / Math.SQRT2)), "GELU(pre)", 1e-4);
  assert.doesNotMatch(n.tex ?? "", /b_\{/, "nor the neuron's");
  assert.ok(!n.values.some((v) => v.label.includes("bias")), "no bias row");
  assert.equal(n.tokens!.tokens.length, 9);
  const lens = inside.figures.get("logit-lens") as HeatmapFigure;
  assert.equal(lens.values.length, 1 + 2);
  const cell = await inside.click("logit-lens", [2, 8]);
  near(value(cell, "its probability"), lens.values[2]![8]!, "the top guess's probability");
  const head = await inside.click("heads", [0, 1]);
  assert.equal(head.vectors![0]!.values.length, 81);

  const bytes = new Uint8Array(readFileSync(fixture("gpt2_tiny/model.safetensors")));
  const gpt2 = await run("9", "gpt2", {
    weights: { name: "model.safetensors", bytes },
    heads: "4",
    tokens: "2",
    prompt: "abc",
  });
  assert.ok(gpt2.selectable.has("mlp-neurons"));
  const m = await gpt2.click("mlp-neurons", [0, 0]);
  assert.match(m.tex ?? "", /\+ b_\{\d+\}/, "GPT-2 has biases, and its formula shows them");
  assert.equal(typeof value(m, "d loss / d activation"), "number"); // a small model: its gradient too
  near(
    value(m, "activation GELU"),
    (gpt2.figures.get("mlp-neurons") as HeatmapFigure).values[0]![0]!,
    "cell",
  );
});

test("lessons 8 and 10: a token's merges, a hidden unit of the Pong policy", {
  timeout: 120_000,
}, async () => {
  const bpe = await run("8", "bpe", { vocabSize: "300", corpusChars: "5000", sample: "the tokenizer" });
  const merges = bpe.figures.get("merges");
  assert.ok(merges?.kind === "tokens");
  const last = merges.frames.length - 1;
  const tokens = merges.frames[last]!.sequences[0]!.tokens;
  const k = tokens.findIndex((t) => t.id >= 256);
  const t = await bpe.click("merges", [last, 0, k]);
  assert.equal(value(t, "id"), tokens[k]!.id);
  assert.match(String(t.values.find((v) => v.label === "made by")!.value), /^merge \d+: /);

  const pong = await run("10", "train", { episodes: "2", hidden: "8", batchSize: "1" });
  const policy = pong.figures.get("policy") as NetworkFigure;
  const out = await pong.click("policy", [1, 0]);
  const p = value(out, "P(UP)");
  near(p, 1 / (1 + Math.exp(-value(out, "logit"))), "σ(logit)");
  const y = out.values.find((v) => v.label === "action taken")!.value === "UP" ? 1 : 0;
  const unit = await pong.click("weights", [3]);
  assert.deepEqual(unit.of, { figure: "weights", target: [3] });
  near(value(unit, "activation"), Math.max(0, value(unit, "pre-activation")), "relu");
  near(value(unit, "activation"), policy.activations[0]![3]!, "the figure's h");
  near(value(unit, "weight to the output"), policy.weights[0]![0]![3]!, "W2[j]");
  near(value(unit, "∂ log π(a|x) / ∂ h_j"), (y - p) * policy.weights[0]![0]![3]!, "(y − p)·W2[j]");
  assert.equal(unit.vectors![0]!.values.length, 6400);
});

/** The error function (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7): exact GELU for the check. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
