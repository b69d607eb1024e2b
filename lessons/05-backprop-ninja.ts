/**
 * Lesson 5: makemore part 4, becoming a backprop ninja. The MLP with BatchNorm written one small
 * op at a time, its backward pass written by hand for every intermediate and checked against
 * autograd, then collapsed into one-line backward passes of cross-entropy and BatchNorm, and a
 * training run with no autograd at all. Follows "Building makemore Part 4: Becoming a Backprop Ninja".
 */

import { batchIndices } from "../src/data/index.js";
import { Random } from "../src/random/index.js";
import { type Tensor, tensor } from "../src/tensor/index.js";
import {
  batchNormBackward,
  cmp,
  compareAll,
  crossEntropyBackward,
  initNinja,
  manualBackward,
  manualTrainStep,
  ninjaEvaluate,
  ninjaForward,
} from "../src/train/ninja.js";
import {
  type DetailFigure,
  type LabContext,
  type Lesson,
  type Params,
  param,
  type Target,
} from "./lesson.js";
import { embeddingLabels, windowSplits } from "./makemore-common.js";

const THIS = "lessons/05-backprop-ninja.ts";
const NINJA = "src/train/ninja.ts";

// #region cmp
async function compare(params: Params, lab: LabContext): Promise<void> {
  const data = await windowSplits(3);
  const p = initNinja({
    vocabSize: data.vocab.size,
    blockSize: 3,
    nEmbd: 10,
    nHidden: param.number(params, "nHidden"),
    generator: new Random(2147483647),
  });
  const ix = tensor(batchIndices(data.train.X.shape[0]!, 32, new Random(param.number(params, "seed"))), {
    dtype: "int32",
  });
  const Xb = data.train.X.indexSelect(0, ix);
  const Yb = data.train.Y.indexSelect(0, ix);
  const f = ninjaForward(p, Xb, Yb); // every intermediate keeps its grad
  f.loss.backward();
  const grads = manualBackward(p, f, Xb, Yb);
  const results = compareAll(p, f, grads);
  results.push(cmp("logits (fused)", crossEntropyBackward(f.logits, Yb), f.logits));
  results.push(
    cmp("hprebn (fused)", batchNormBackward(f.hpreact.grad!, p.bngain, f.bnvarInv, f.bnraw), f.hprebn),
  );
  const verdict = (r: (typeof results)[number]) =>
    `${r.exact ? "exact" : r.approximate ? "approximate" : "WRONG"} | maxdiff ${r.maxdiff.toExponential(1)}`;
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "cmp",
      title: `loss ${f.loss.item().toFixed(4)}: manual gradient vs autograd`,
      items: results.map((r) => ({ label: r.name, value: verdict(r) })),
    },
  });
  for (const r of results) lab.emit({ type: "log", text: `${r.name.padEnd(16)} | ${verdict(r)}` });
  // The neurons' labels: each input is a character's embedding number, each output a character.
  const context = (Xb.tolist() as number[][])[0]!.map((i) => data.vocab.itos[i]!);
  const labels = {
    inputLabels: embeddingLabels(context, 10),
    outputLabels: data.vocab.itos,
  };
  const neurons = ninjaNeurons(f, grads, p.W1.tolist() as number[][], p.W2.tolist() as number[][], labels);
  lab.emit({ type: "figure", figure: neurons.figure });
  lab.onSelect(
    "neurons",
    (target) => lab.emit({ type: "figure", figure: neurons.detail(target) }),
    "Click a hidden neuron to see its gradients by hand next to autograd's.",
  );
  lab.emit({ type: "figure", figure: neurons.detail([1, 0]) });
}
// #endregion

// #region neurons
/**
 * The batch's first example as neurons: its 30 embedding numbers, the hidden layer (Linear →
 * BatchNorm → tanh), the 27 probabilities. A hidden neuron's detail shows each intermediate of
 * the forward pass, and each gradient as manualBackward wrote it next to autograd's.
 */
function ninjaNeurons(
  f: ReturnType<typeof ninjaForward>,
  grads: Record<string, Tensor>,
  W1: number[][],
  W2: number[][],
  labels: { inputLabels: string[]; outputLabels: string[] },
) {
  const first = (t: Tensor) => (t.tolist() as number[][])[0]!;
  const [embcat, hprebn, bnraw, hpreact, h, probs] = [
    f.embcat,
    f.hprebn,
    f.bnraw,
    f.hpreact,
    f.h,
    f.probs,
  ].map(first);
  const manual = { dh: first(grads.dh!), dhpreact: first(grads.dhpreact!), dhprebn: first(grads.dhprebn!) };
  const auto = { dh: first(f.h.grad!), dhpreact: first(f.hpreact.grad!), dhprebn: first(f.hprebn.grad!) };
  const nHidden = h!.length;
  const figure = {
    kind: "network" as const,
    id: "neurons",
    title: "The batch's first example as neurons",
    wide: true,
    sizes: [embcat!.length, nHidden, probs!.length],
    weights: [h!.map((_, j) => W1.map((row) => row[j]!)), probs!.map((_, b) => W2.map((row) => row[b]!))],
    biases: [h!.map(() => 0), probs!.map(() => 0)],
    activations: [embcat!, h!, probs!],
    ...labels,
    layerLabels: ["embcat", `${nHidden} neurons: Linear → BatchNorm → tanh`, "probs"],
    caption: "Inputs: e₃ is number 3 of C[e]. Hidden neurons filled by h, outputs by their probability.",
  };
  const detail = ([layer, j]: Target): DetailFigure => {
    if (layer !== 1 || j === undefined || j < 0 || j >= nHidden)
      throw new RangeError(`click one of the ${nHidden} hidden neurons (layer 1), not ${layer}, ${j}`);
    return {
      kind: "detail",
      id: "detail",
      title: `Hidden neuron ${j}, example 0 of the batch`,
      of: { figure: "neurons", target: [1, j] },
      values: [
        { label: "hprebn = embcat·W1 + b1", value: hprebn![j]! },
        { label: "bnraw = (hprebn − mean)·bnvar_inv", value: bnraw![j]! },
        { label: "hpreact = bngain·bnraw + bnbias", value: hpreact![j]! },
        { label: "h = tanh(hpreact)", value: h![j]! },
        { label: "dh by hand", value: manual.dh[j]! },
        { label: "dh by autograd", value: auto.dh[j]! },
        { label: "dhpreact by hand", value: manual.dhpreact[j]! },
        { label: "dhpreact by autograd", value: auto.dhpreact[j]! },
        { label: "dhprebn by hand", value: manual.dhprebn[j]! },
        { label: "dhprebn by autograd", value: auto.dhprebn[j]! },
      ],
      vectors: [{ label: "its weights W1[:, j]", values: W1.map((row) => row[j]!) }],
      tex: `\\frac{\\partial L}{\\partial \\text{hpreact}} = (1 - h^2)\\, \\frac{\\partial L}{\\partial h} = (1 - (${h![j]!.toFixed(4)})^2) \\cdot (${manual.dh[j]!.toExponential(3)}) = ${manual.dhpreact[j]!.toExponential(3)}`,
      code: {
        file: NINJA,
        symbol: "export function manualBackward",
        line: "const dhpreact = f.h.square().rsub(1).mul(dh);",
      },
    };
  };
  return { figure, detail };
}
// #endregion

// #region manual-training
async function manualTraining(params: Params, lab: LabContext): Promise<void> {
  const data = await windowSplits(3);
  const nHidden = param.number(params, "nHidden");
  const p = initNinja({
    vocabSize: data.vocab.size,
    blockSize: 3,
    nEmbd: 10,
    nHidden,
    generator: new Random(2147483647),
  });
  const steps = param.number(params, "steps");
  const batches = new Random(1);
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "loss",
      title: "Loss, trained with manual gradients only",
      xLabel: "step",
      yLabel: "log10 loss",
      series: ["loss"],
    },
  });
  for (let step = 0; step < steps; step++) {
    const ix = tensor(batchIndices(data.train.X.shape[0]!, 32, batches), { dtype: "int32" });
    const lr = step < steps / 2 ? 0.1 : 0.01;
    const loss = manualTrainStep(p, data.train.X.indexSelect(0, ix), data.train.Y.indexSelect(0, ix), lr);
    if (step % 10 === 0)
      lab.emit({
        type: "points",
        figure: "loss",
        series: "loss",
        points: [{ x: step, y: Math.log10(loss) }],
      });
    await lab.tick();
  }
  const n = data.dev.X.shape[0]!;
  const calibrate = data.train.X.slice(0, 0, n * 4);
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: `After ${steps} steps, no autograd`,
      items: [
        {
          label: "train loss",
          value: ninjaEvaluate(
            p,
            calibrate,
            data.train.X.slice(0, 0, n),
            data.train.Y.slice(0, 0, n),
          ).toFixed(4),
        },
        { label: "val loss", value: ninjaEvaluate(p, calibrate, data.dev.X, data.dev.Y).toFixed(4) },
        { label: "lecture (n_hidden 200, 200,000 steps)", value: "train 2.0705, val 2.1099" },
      ],
    },
  });
}
// #endregion

export const lesson: Lesson = {
  id: "05-backprop-ninja",
  number: 5,
  title: "backprop ninja",
  summary:
    "The backward pass of an MLP with BatchNorm written by hand, intermediate by intermediate, checked against autograd.",
  lecture: {
    title: "Building makemore Part 4: Becoming a Backprop Ninja",
    url: "https://www.youtube.com/watch?v=q8SA3rM6ckI",
  },
  sections: [
    {
      id: "cmp",
      title: "Every gradient by hand",
      cells: [
        {
          kind: "text",
          text: "Write the forward pass as a chain of small ops — the cross-entropy as max, subtract, exp, sum, reciprocal, multiply, log, pick; BatchNorm as mean, difference, square, variance, inverse square root — and keep every intermediate. Then walk back through them: each gradient is the local derivative times the gradient that arrives, summed over every place a tensor was used or broadcast.",
        },
        {
          kind: "math",
          tex: "\\frac{\\partial L}{\\partial x} = \\sum_{\\text{uses}} \\frac{\\partial y}{\\partial x} \\cdot \\frac{\\partial L}{\\partial y}",
        },
        { kind: "code", file: NINJA, symbol: "export function manualBackward" },
        {
          kind: "text",
          text: "Worked out on paper, the cross-entropy's backward collapses to $(\\text{softmax} - \\text{onehot}) / n$ and BatchNorm's to one line. `cmp` compares each manual gradient with autograd's: **exact** when every bit agrees, **approximate** within `allclose`.",
        },
        {
          kind: "math",
          tex: "\\frac{\\partial L}{\\partial h_{\\text{prebn}}} = \\frac{\\gamma\\,\\sigma^{-1}}{n}\\Big(n\\,g - \\textstyle\\sum g - \\frac{n}{n-1}\\,\\hat x \\sum g \\hat x\\Big)",
        },
        { kind: "code", file: NINJA, symbol: "export function batchNormBackward", collapsed: true },
        { kind: "code", file: THIS, region: "cmp", caption: "The experiment", collapsed: true },
        {
          kind: "text",
          text: "Click a hidden neuron to follow one example through it — each intermediate of the forward pass, and each gradient as the manual backward computes it beside autograd's.",
        },
        { kind: "code", file: THIS, region: "neurons", caption: "the neurons", collapsed: true },
      ],
      experiment: {
        id: "cmp",
        title: "cmp: manual vs autograd",
        params: {
          nHidden: { kind: "int", label: "hidden neurons", default: 64, min: 4, max: 512 },
          seed: { kind: "int", label: "batch seed", default: 1 },
        },
        run: compare,
      },
    },
    {
      id: "manual-training",
      title: "Training without autograd",
      cells: [
        {
          kind: "text",
          text: "With the fused backward passes, the whole training step is forward, hand-written backward, update — no tape. At the end BatchNorm's statistics are calibrated on training data, as in the lecture.",
        },
        { kind: "code", file: NINJA, symbol: "export function manualTrainStep" },
        { kind: "code", file: THIS, region: "manual-training", caption: "The experiment", collapsed: true },
      ],
      experiment: {
        id: "manual-training",
        title: "Train with manual gradients",
        streaming: true,
        params: {
          steps: { kind: "int", label: "steps", default: 1000, min: 10, max: 200_000 },
          nHidden: { kind: "int", label: "hidden neurons", default: 200, min: 4, max: 512 },
        },
        run: manualTraining,
      },
    },
  ],
};
