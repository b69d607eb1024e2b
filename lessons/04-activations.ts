/**
 * Lesson 4: makemore part 3, activations, gradients and BatchNorm. Why the first loss is too high,
 * why tanh units saturate, how Kaiming initialisation and BatchNorm keep every layer's activations
 * and gradients well scaled, and the diagnostics that show it. Follows "Building makemore Part 3:
 * Activations & Gradients, BatchNorm".
 */
import type { CharVocabulary } from "../src/data/index.js";
import { mlpBatchNorm, sampleWords } from "../src/models/makemore.js";
import type { BatchNorm1d, Layer, Linear, Sequential } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { batchNorm, crossEntropy, softmax, tidy } from "../src/tensor/index.js";
import { runDiagnostics } from "../src/train/diagnostics.js";
import type { WindowTensors } from "../src/train/makemore.js";
import {
  type DetailFigure,
  type LabContext,
  type Lesson,
  type NetworkFigure,
  type Params,
  param,
  type Target,
} from "./lesson.js";
import { embeddingLabels, trainWindows, windowSplits } from "./makemore-common.js";

const THIS = "lessons/04-activations.ts";
const DIAGNOSTICS = "src/train/diagnostics.ts";

// #region diagnostics
async function diagnostics(params: Params, lab: LabContext): Promise<void> {
  const data = await windowSplits(3);
  const steps = param.number(params, "steps");
  const batchNorm = param.bool(params, "batchNorm");
  const report = runDiagnostics(
    { ...data.train, vocabSize: data.vocab.size, blockSize: 3 },
    {
      batchNorm,
      gain: param.number(params, "gain"),
      depth: param.number(params, "depth"),
      steps,
      lr: 0.1,
      seed: param.number(params, "seed"),
    },
  );
  const histogram = (id: string, title: string, xLabel: string, layers: typeof report.activations) => {
    lab.emit({
      type: "figure",
      figure: { kind: "line", id, title, xLabel, yLabel: "density", series: layers.map((l) => l.name) },
    });
    for (const l of layers) {
      lab.emit({
        type: "points",
        figure: id,
        series: l.name,
        points: l.histogram.x.map((x, i) => ({ x, y: l.histogram.density[i]! })),
      });
    }
  };
  histogram("activations", "Activation distribution of each tanh layer", "tanh output", report.activations);
  histogram("gradients", "Gradient distribution at each tanh layer", "gradient", report.gradients);
  const ratioNames = Object.keys(report.updateRatios);
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "update",
      title: "log10(update / data) of each weight",
      xLabel: "step",
      yLabel: "log10 ratio",
      series: [...ratioNames, "-3 guide"],
    },
  });
  for (const name of ratioNames) {
    lab.emit({
      type: "points",
      figure: "update",
      series: name,
      points: report.updateRatios[name]!.map((r) => ({ x: r.step, y: r.value })),
    });
  }
  lab.emit({
    type: "points",
    figure: "update",
    series: "-3 guide",
    points: [
      { x: 0, y: -3 },
      { x: steps - 1, y: -3 },
    ],
  });
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: `${report.numParameters} parameters, BatchNorm ${batchNorm ? "on" : "off"}`,
      items: [
        ...report.activations.map((a) => ({
          label: a.name,
          value: `mean ${a.mean.toFixed(2)}, std ${a.std.toFixed(2)}, saturated ${a.saturated.toFixed(1)}%`,
        })),
        { label: "lecture (BatchNorm, gain 5/3)", value: "saturated about 1.7–2.8%" },
        { label: "first loss", value: report.losses[0]!.toFixed(4) },
      ],
    },
  });
}
// #endregion

// #region batchnorm
async function trainBatchNorm(params: Params, lab: LabContext): Promise<void> {
  const data = await windowSplits(3);
  const model = mlpBatchNorm({
    vocabSize: data.vocab.size,
    blockSize: 3,
    nEmbd: 10,
    nHidden: 200,
    generator: new Random(param.number(params, "seed")),
  });
  const steps = param.number(params, "steps");
  const batch = { X: data.train.X.slice(0, 0, 32), Y: data.train.Y.slice(0, 0, 32) };
  lab.emit({ type: "figure", figure: bnNeurons(model, data.vocab, batch, "at initialisation").figure });
  let selected: Target = [1, 0];
  lab.onSelect(
    "neurons",
    (target) => {
      selected = target;
      lab.emit({ type: "figure", figure: bnNeurons(model, data.vocab, batch, "now").detail(target) });
    },
    "Click a BatchNorm channel to see its batch statistics, γ and β, and its gradients.",
  );
  const { train, dev } = await trainWindows(
    model,
    data,
    { steps, lr: 0.1, decayAt: 0.5, batchSize: 32, seed: 1 },
    lab,
  );
  const neurons = bnNeurons(model, data.vocab, batch, `after ${steps} steps`);
  lab.emit({ type: "figure", figure: neurons.figure });
  lab.emit({ type: "figure", figure: neurons.detail(selected) });
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: `MLP + BatchNorm after ${steps} steps`,
      items: [
        { label: "parameters", value: String(model.numParameters()) },
        { label: "train loss", value: train.toFixed(4) },
        { label: "val loss", value: dev.toFixed(4) },
        { label: "lecture (200,000 steps)", value: "train 2.0674, val 2.1057" },
      ],
    },
  });
  lab.emit({
    type: "log",
    text: `samples: ${sampleWords(model, data.vocab, 3, 10, { generator: new Random(1) }).join(", ")}`,
  });
}
// #endregion

/** A number in a formula: three decimals, in parentheses when negative. */
const num = (v: number) => (v < 0 ? `(${v.toFixed(3)})` : v.toFixed(3));

// #region bn-neurons
/**
 * The model as neurons for the first context of a batch of 32: embeddings, 200 channels of
 * Linear → BatchNorm → tanh, 27 outputs. A channel normalises its pre-activation by the batch's
 * mean and variance, then scales by γ and shifts by β; its gradients come from the batch's loss.
 */
function bnNeurons(model: Sequential, vocab: CharVocabulary, batch: WindowTensors, when: string) {
  const [embedding, flatten, linear, bn, , out] = model.layers as [
    Layer,
    Layer,
    Linear,
    BatchNorm1d,
    Layer,
    Linear,
  ];
  const read = tidy(() => {
    const emb = flatten.forward(embedding.forward(batch.X)); // [32, 30]
    const hpre = linear.forward(emb); // [32, 200]
    // Batch statistics, as in training, but without moving the running ones.
    const hbn = batchNorm(hpre, { dims: [0], weight: bn.weight, bias: bn.bias, training: true, eps: bn.eps });
    const h = hbn.tanh();
    const logits = out.forward(h);
    for (const t of [hpre, hbn, h, logits]) t.retainGrad();
    model.zeroGrad();
    crossEntropy(logits, batch.Y).backward();
    const first = (t: { tolist(): unknown }) => (t.tolist() as number[][])[0]!;
    const result = {
      emb: first(emb),
      hpreBatch: hpre.tolist() as number[][],
      hpre: first(hpre),
      hbn: first(hbn),
      h: first(h),
      probs: first(softmax(logits, -1)),
      mean: hpre.mean(0).tolist() as number[],
      variance: hpre.var(0, { unbiased: false }).tolist() as number[],
      gamma: bn.weight!.tolist() as number[],
      beta: bn.bias!.tolist() as number[],
      runningMean: bn.runningMean.tolist() as number[],
      runningVar: bn.runningVar.tolist() as number[],
      dGamma: bn.weight!.grad!.tolist() as number[],
      dBeta: bn.bias!.grad!.tolist() as number[],
      dHpre: first(hpre.grad!),
      dHbn: first(hbn.grad!),
      W: linear.weight.tolist() as number[][],
      W2: out.weight.tolist() as number[][],
      b2: out.bias!.tolist() as number[],
      target: (batch.Y.tolist() as number[])[0]!,
      context: (batch.X.tolist() as number[][])[0]!.map((i) => vocab.itos[i]!),
    };
    model.zeroGrad(); // the next training step starts from zero
    return result;
  });
  const shown = read.context.join("").replace(/\./g, "·");
  const figure: NetworkFigure = {
    kind: "network",
    id: "neurons",
    title: `Linear → BatchNorm → tanh as neurons, for "${shown}" (${when})`,
    wide: true,
    sizes: [read.emb.length, read.h.length, read.probs.length],
    weights: [read.W, read.W2],
    biases: [read.h.map(() => 0), read.b2],
    activations: [read.emb, read.h, read.probs],
    inputLabels: embeddingLabels(read.context, read.emb.length / read.context.length),
    outputLabels: vocab.itos,
    layerLabels: ["embeddings", `${read.h.length} BatchNorm channels → tanh`, "P(next)"],
    caption:
      "The first context of a batch of 32 (inputs: e₃ is number 3 of C[e]); channels filled by their tanh output.",
  };
  const detail = ([layer, j]: Target): DetailFigure => {
    if (layer !== 1 || j === undefined || j < 0 || j >= read.h.length)
      throw new RangeError(
        `click one of the ${read.h.length} BatchNorm channels (layer 1), not ${layer}, ${j}`,
      );
    const xhat = (read.hpre[j]! - read.mean[j]!) / Math.sqrt(read.variance[j]! + bn.eps);
    return {
      kind: "detail",
      id: "detail",
      title: `BatchNorm channel ${j}`,
      of: { figure: "neurons", target: [1, j] },
      values: [
        { label: "pre-activation x = emb·W[j]", value: read.hpre[j]! },
        { label: "batch mean μ", value: read.mean[j]! },
        { label: "batch variance σ²", value: read.variance[j]! },
        { label: "normalised x̂ = (x − μ)/√(σ² + ε)", value: xhat },
        { label: "γ (gain)", value: read.gamma[j]! },
        { label: "β (bias)", value: read.beta[j]! },
        { label: "y = γ·x̂ + β", value: read.hbn[j]! },
        { label: "tanh(y)", value: read.h[j]! },
        { label: "running mean", value: read.runningMean[j]! },
        { label: "running variance", value: read.runningVar[j]! },
        { label: "d loss / dγ (the batch)", value: read.dGamma[j]! },
        { label: "d loss / dβ (the batch)", value: read.dBeta[j]! },
        { label: "d loss / dy (this context)", value: read.dHbn[j]! },
        { label: "d loss / dx (this context)", value: read.dHpre[j]! },
      ],
      vectors: [
        {
          label: "its pre-activation on each of the 32 contexts of the batch",
          values: read.hpreBatch.map((row) => row[j]!),
        },
        { label: "its weights W[j] from the 30 embedding numbers", values: read.W[j]! },
      ],
      tex: `y = \\gamma \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\epsilon}} + \\beta = ${num(read.gamma[j]!)} \\cdot \\frac{${num(read.hpre[j]!)} - ${num(read.mean[j]!)}}{\\sqrt{${num(read.variance[j]!)} + 10^{-5}}} + ${num(read.beta[j]!)} = ${read.hbn[j]!.toFixed(4)}`,
      code: { file: "src/nn/layers.ts", symbol: "export class BatchNorm1d", line: "return batchNorm(x, {" },
      caption: `For "${shown}", the first of a batch of 32 contexts: its statistics are the batch's.`,
    };
  };
  return { figure, detail };
}
// #endregion

export const lesson: Lesson = {
  id: "04-activations",
  number: 4,
  title: "activations & BatchNorm",
  summary:
    "Initialisation, saturated tanh units, BatchNorm, and the diagnostics that show a network's health.",
  lecture: {
    title: "Building makemore Part 3: Activations & Gradients, BatchNorm",
    url: "https://www.youtube.com/watch?v=P6sfmUTpUmc",
  },
  sections: [
    {
      id: "diagnostics",
      title: "Looking inside: activations, gradients, updates",
      cells: [
        {
          kind: "text",
          text: "At initialisation every output should be equally likely: the first loss should be $-\\log(1/27) \\approx 3.30$. A tanh unit whose input is large sits on a flat part of the curve: its local gradient $1 - t^2$ is almost 0 and it stops learning — it is **saturated**. To keep each layer's outputs at unit scale, weights start as $\\text{randn}/\\sqrt{\\text{fan\\_in}}$ times a gain (5/3 for tanh, after Kaiming He). **BatchNorm** goes further and standardises each unit's pre-activation over the batch, then lets the network scale and shift it back.",
        },
        {
          kind: "math",
          tex: "\\hat x = \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\epsilon}}, \\qquad y = \\gamma \\hat x + \\beta",
        },
        {
          kind: "text",
          text: "The diagnostics: the histogram of each tanh layer's outputs (mean, std, % with $|t| > 0.97$), the histogram of the gradients flowing back into them, and for each weight the size of an update next to the size of the weights, $\\log_{10}(\\text{std}(lr \\cdot g) / \\text{std}(W))$ — about $-3$ is healthy. Turn BatchNorm off, or change the gain, and watch them change.",
        },
        { kind: "code", file: DIAGNOSTICS, symbol: "export function activationStats" },
        { kind: "code", file: DIAGNOSTICS, symbol: "export function updateToDataRatios" },
        { kind: "code", file: THIS, region: "diagnostics", caption: "The experiment", collapsed: true },
      ],
      experiment: {
        id: "diagnostics",
        title: "A deep tanh network under the microscope",
        params: {
          batchNorm: { kind: "bool", label: "BatchNorm", default: true },
          gain: {
            kind: "number",
            label: "init gain",
            default: 5 / 3,
            min: 0.1,
            max: 5,
            step: 0.1,
            slider: true,
          },
          depth: { kind: "int", label: "hidden layers", default: 5, min: 1, max: 10 },
          steps: { kind: "int", label: "steps", default: 100, min: 1, max: 5000 },
          seed: { kind: "int", label: "seed", default: 2147483647 },
        },
        run: diagnostics,
      },
    },
    {
      id: "batchnorm",
      title: "Training with BatchNorm",
      cells: [
        {
          kind: "text",
          text: "The lecture's final model: embedding, a Linear layer without bias (BatchNorm's shift replaces it), BatchNorm1d, tanh, and an output layer started 10× smaller so that the first softmax is nearly uniform. 12,097 parameters. At inference BatchNorm uses running averages of the batch statistics, kept during training.",
        },
        { kind: "code", file: "src/models/makemore.ts", symbol: "export function mlpBatchNorm" },
        { kind: "code", file: "src/nn/layers.ts", symbol: "export class BatchNorm1d", collapsed: true },
        { kind: "code", file: THIS, region: "batchnorm", caption: "The experiment", collapsed: true },
        {
          kind: "text",
          text: "Click a channel of the network to see BatchNorm at work on it: its pre-activation for one context and over the whole batch, the batch's mean and variance, the normalised value, γ and β, the running statistics inference will use, and the gradients of γ and β.",
        },
        {
          kind: "code",
          file: THIS,
          region: "bn-neurons",
          caption: "the channels as neurons",
          collapsed: true,
        },
      ],
      experiment: {
        id: "batchnorm",
        title: "Train the MLP with BatchNorm",
        streaming: true,
        params: {
          steps: { kind: "int", label: "steps", default: 1500, min: 10, max: 200_000 },
          seed: { kind: "int", label: "seed", default: 2147483647 },
        },
        run: trainBatchNorm,
      },
    },
  ],
};
