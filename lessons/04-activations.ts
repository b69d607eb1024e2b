/**
 * Lesson 4: makemore part 3, activations, gradients and BatchNorm. Why the first loss is too high,
 * why tanh units saturate, how Kaiming initialisation and BatchNorm keep every layer's activations
 * and gradients well scaled, and the diagnostics that show it. Follows "Building makemore Part 3:
 * Activations & Gradients, BatchNorm".
 */
import { mlpBatchNorm, sampleWords } from "../src/models/makemore.js";
import { Random } from "../src/random/index.js";
import { runDiagnostics } from "../src/train/diagnostics.js";
import { type LabContext, type Lesson, type Params, param } from "./lesson.js";
import { trainWindows, windowSplits } from "./makemore-common.js";

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
  const { train, dev } = await trainWindows(
    model,
    data,
    { steps, lr: 0.1, decayAt: 0.5, batchSize: 32, seed: 1 },
    lab,
  );
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
