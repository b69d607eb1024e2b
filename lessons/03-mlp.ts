/**
 * Lesson 3: makemore part 2, the MLP of Bengio et al. (2003). Characters become learned vectors, a
 * context of three of them feeds a tanh hidden layer, and the model predicts the next character.
 * Follows "Building makemore Part 2: MLP".
 */

import type { CharVocabulary } from "../src/data/index.js";
import { Mlp, sampleWords } from "../src/models/makemore.js";
import { SGD } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import { crossEntropy, softmax, tidy } from "../src/tensor/index.js";
import { trainStep, type WindowTensors } from "../src/train/makemore.js";
import {
  type DetailFigure,
  type LabContext,
  type LabEvent,
  type Lesson,
  type NetworkFigure,
  type Params,
  param,
  type Target,
} from "./lesson.js";
import { embeddingLabels, mlpHiddenLayer, trainWindows, windowSplits } from "./makemore-common.js";
import { MlpProbe, mlpIntervention, withMlpLife } from "./mlp-interventions.js";
import { NeuronRecorder } from "./neuron-history.js";

const THIS = "lessons/03-mlp.ts";

// #region mlp
async function trainMlp(params: Params, lab: LabContext): Promise<void> {
  const blockSize = param.number(params, "blockSize");
  const data = await windowSplits(blockSize);
  const model = new Mlp({
    vocabSize: data.vocab.size,
    blockSize,
    nEmbd: param.number(params, "nEmbd"),
    nHidden: param.number(params, "nHidden"),
    generator: new Random(param.number(params, "seed")),
  });
  const steps = param.number(params, "steps");
  for (const event of embeddingFigures(model, data.vocab, "at initialisation")) lab.emit(event);
  lab.emit({
    type: "figure",
    figure: mlpNeurons(model, data.vocab, data.train, EXAMPLE, "at initialisation").figure,
  });
  // The hidden layer's life, read by hooks every 1/200 of the run (h: Mlp.hidden of the batch).
  const history = new NeuronRecorder(
    model,
    [mlpHiddenLayer(model)],
    // W2's weights too, for the figure's edges into the outputs.
    {
      interval: Math.max(1, Math.floor(steps / 200)),
      edges: [{ layer: 2, weight: model.W2, orientation: "columns" }],
    },
  );
  let selected: Target = [1, 0];
  // After training: a hidden neuron's life over the dev set, and ablating it.
  let probe: MlpProbe | undefined;
  const select = async (figure: string, target: Target, action?: string) => {
    const [layer, j] = target;
    if (action !== undefined) {
      if (!probe || layer !== 1)
        throw new RangeError(
          `only a hidden neuron of the trained MLP (layer 1) can be ablated, not one of layer ${layer}`,
        );
      lab.emit({ type: "figure", figure: await mlpIntervention(probe, j!, action, { figure, target }) });
      return;
    }
    selected = target;
    history.settle(); // before the detail's own backward zeroes the gradients
    const detail = mlpNeurons(model, data.vocab, data.train, EXAMPLE, "now", history).detail(target);
    lab.emit({
      type: "figure",
      figure: probe && layer === 1 ? await withMlpLife(detail, probe, j!) : detail,
    });
  };
  lab.onSelect(
    "neurons",
    (target, action) => select("neurons", target, action),
    "Click a neuron to see its weights, its pre-activation and activation for this context, its gradient and its life through training; after training, a hidden neuron also shows the dev names that excite it most, the letters it pushes up and down, and buttons to ablate it.",
  );
  lab.onSelect("unit", (target, action) => select("neurons", target, action));
  const { train, dev } = await trainWindows(
    model,
    data,
    {
      steps,
      lr: param.number(params, "lr"),
      decayAt: 0.5,
      batchSize: 32,
      seed: param.number(params, "seed") + 1,
    },
    lab,
  );
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: `After ${steps} steps`,
      items: [
        { label: "parameters", value: String(model.numParameters()) },
        { label: "train loss", value: train.toFixed(4) },
        { label: "dev loss", value: dev.toFixed(4) },
        { label: "bigram (lesson 2)", value: "2.45" },
        { label: "lecture (200,000 steps)", value: "train 2.1260, dev 2.1701" },
      ],
    },
  });
  for (const event of embeddingFigures(model, data.vocab, `after ${steps} steps`)) lab.emit(event);
  history.settle();
  history.remove();
  const neurons = mlpNeurons(model, data.vocab, data.train, EXAMPLE, `after ${steps} steps`, history);
  lab.emit({ type: "figure", figure: neurons.figure });
  probe = new MlpProbe(model, data.vocab, data.dev);
  const detail = neurons.detail(selected);
  lab.emit({
    type: "figure",
    figure: selected[0] === 1 ? await withMlpLife(detail, probe, selected[1]!) : detail,
  });
  const names = sampleWords(model, data.vocab, blockSize, 10, { generator: new Random(1) });
  lab.emit({ type: "log", text: `samples: ${names.join(", ")}` });
}
// #endregion

// #region embedding-neurons
/**
 * The embedding table C seen two ways. As a matrix: one row per character. As neurons: indexing
 * C[ix] is the same as feeding the one-hot vector of ix to a linear layer of nEmbd neurons without
 * bias or nonlinearity, whose weights are C — an embedding is the first layer of the network.
 */
function embeddingFigures(model: Mlp, vocab: CharVocabulary, when: string): LabEvent[] {
  const C = model.C.tolist() as number[][];
  const nEmbd = C[0]!.length;
  const letter = vocab.stoi.get("e")!;
  const dims = Array.from({ length: nEmbd }, (_, j) => `c${j}`);
  return [
    {
      type: "figure",
      figure: {
        kind: "network",
        id: "embedding-neurons",
        title: `C as a layer of ${nEmbd} neurons (${when})`,
        sizes: [vocab.size, nEmbd],
        weights: [dims.map((_, j) => C.map((row) => row[j]!))],
        biases: [dims.map(() => 0)],
        activations: [C.map((_, i) => (i === letter ? 1 : 0)), C[letter]!],
        nonlinearities: ["linear"],
        inputLabels: vocab.itos,
        outputLabels: dims,
        layerLabels: ["one-hot input", `C[x]: ${nEmbd} numbers`],
        caption: `The one-hot input of "e" lights one neuron; the outputs are C["e"], row ${letter} of the table.`,
      },
    },
    {
      type: "figure",
      figure: {
        kind: "heatmap",
        id: "embedding-table",
        title: `The embedding table C: ${vocab.size} × ${nEmbd} (${when})`,
        values: C,
        rowLabels: vocab.itos,
        colLabels: dims,
        scheme: "diverging",
        text: false,
        highlightRows: [letter],
      },
    },
  ];
}
// #endregion

/** The training window the neuron figure shows (the fourth context of the shuffled names). */
const EXAMPLE = 3;

// #region mlp-neurons
/**
 * The whole MLP as neurons for one context: its 3 × nEmbd embedding numbers, the tanh hidden
 * layer, the 27 outputs (filled by their probability). A neuron's detail is Mlp.hidden spelled
 * out for that context, with the gradients of its loss (autograd, retained on each intermediate).
 */
function mlpNeurons(
  model: Mlp,
  vocab: CharVocabulary,
  data: WindowTensors,
  k: number,
  when: string,
  history?: NeuronRecorder,
) {
  const x = data.X.slice(0, k, k + 1); // [1, blockSize]
  const y = data.Y.slice(0, k, k + 1);
  const context = (x.tolist() as number[][])[0]!.map((i) => vocab.itos[i]!);
  const target = (y.tolist() as number[])[0]!;
  const read = tidy(() => {
    const emb = model.C.indexSelect(0, x.reshape([-1])).reshape([1, -1]); // [1, 3·nEmbd]
    const pre = emb.matmul(model.W1).add(model.b1); // each hidden neuron's weighted sum
    const h = pre.tanh();
    const logits = h.matmul(model.W2).add(model.b2);
    for (const t of [emb, pre, h, logits]) t.retainGrad();
    model.zeroGrad();
    crossEntropy(logits, y).backward();
    const row = (t: { tolist(): unknown }) => (t.tolist() as number[][])[0]!;
    const out = {
      emb: row(emb),
      pre: row(pre),
      h: row(h),
      logits: row(logits),
      probs: row(softmax(logits, -1)),
      dEmb: row(emb.grad!),
      dPre: row(pre.grad!),
      dH: row(h.grad!),
      dLogits: row(logits.grad!),
      W1: model.W1.tolist() as number[][],
      b1: model.b1.tolist() as number[],
      W2: model.W2.tolist() as number[][],
      b2: model.b2.tolist() as number[],
    };
    model.zeroGrad(); // the next training step starts from zero
    return out;
  });
  const nEmbd = model.config.nEmbd;
  const inputLabels = embeddingLabels(context, nEmbd);
  const shown = context.join("").replace(/\./g, "·");
  const figure: NetworkFigure = {
    kind: "network",
    id: "neurons",
    title: `The MLP as neurons for "${shown}" → "${vocab.itos[target]}" (${when})`,
    wide: true,
    sizes: [read.emb.length, read.h.length, read.logits.length],
    weights: [
      read.h.map((_, j) => read.W1.map((row) => row[j]!)),
      read.logits.map((_, b) => read.W2.map((row) => row[b]!)),
    ],
    biases: [read.b1, read.b2],
    activations: [read.emb, read.h, read.probs],
    inputLabels,
    outputLabels: vocab.itos,
    layerLabels: ["embeddings C[x]", `${read.h.length} tanh neurons`, "P(next)"],
    caption:
      "Inputs: e₃ is number 3 of C[e]. Hidden neurons filled by their tanh output, outputs by their probability.",
  };
  if (history?.steps.length) figure.history = history.network();
  const MODEL = "src/models/makemore.ts";
  const detail = ([layer, j]: Target): DetailFigure => {
    const of = { figure: "neurons", target: [layer!, j!] };
    const where = `For the context "${shown}", whose next character is "${vocab.itos[target]}".`;
    if (layer === 0 && j !== undefined && j < read.emb.length)
      return {
        kind: "detail",
        id: "detail",
        title: `Input ${inputLabels[j]}: number ${j % nEmbd} of "${context[Math.floor(j / nEmbd)]}"'s embedding`,
        of,
        values: [
          { label: "value C[x]", value: read.emb[j]! },
          { label: "d loss / d value", value: read.dEmb[j]! },
        ],
        vectors: [{ label: "its weights to the hidden neurons", values: read.W1[j]! }],
        tex: `\\text{emb}_{${j}} = C[\\text{${context[Math.floor(j / nEmbd)] === "." ? "dot" : context[Math.floor(j / nEmbd)]}}, ${j % nEmbd}] = ${read.emb[j]!.toFixed(4)}`,
        code: {
          file: MODEL,
          symbol: "export class Mlp",
          line: "const emb = this.C.indexSelect(0, X.reshape([-1]))",
        },
        caption: where,
      };
    if (layer === 1 && j !== undefined && j < read.h.length)
      return {
        kind: "detail",
        id: "detail",
        title: `Hidden neuron ${j}`,
        of,
        values: [
          { label: "pre-activation emb·W1[:, j] + b1[j]", value: read.pre[j]! },
          { label: "activation tanh", value: read.h[j]! },
          { label: "bias b1[j]", value: read.b1[j]! },
          { label: "saturated (|tanh| > 0.97)", value: Math.abs(read.h[j]!) > 0.97 ? "yes" : "no" },
          { label: "d loss / d activation", value: read.dH[j]! },
          { label: "d loss / d pre-activation = (1 − h²)·d loss/dh", value: read.dPre[j]! },
        ],
        vectors: [
          {
            label: "its weights W1[:, j], one per input",
            values: read.W1.map((row) => row[j]!),
            labels: inputLabels,
          },
        ],
        tex: `h_{${j}} = \\tanh\\Big(\\sum_i \\text{emb}_i W_{1,i${j}} + b_{1,${j}}\\Big) = \\tanh(${read.pre[j]!.toFixed(4)}) = ${read.h[j]!.toFixed(4)}`,
        code: {
          file: MODEL,
          symbol: "export class Mlp",
          line: "return emb.matmul(this.W1).add(this.b1).tanh();",
        },
        caption: where,
        ...withHistory(history, j),
      };
    if (layer === 2 && j !== undefined && j < read.logits.length)
      return {
        kind: "detail",
        id: "detail",
        title: `Output neuron "${vocab.itos[j]}"`,
        of,
        values: [
          { label: "logit h·W2[:, b] + b2[b]", value: read.logits[j]! },
          { label: `P("${vocab.itos[j]}" next)`, value: read.probs[j]! },
          { label: "the right answer?", value: j === target ? "yes" : "no" },
          { label: "d loss / d logit = p − [b = y]", value: read.dLogits[j]! },
        ],
        vectors: [
          { label: "its weights W2[:, b], one per hidden neuron", values: read.W2.map((row) => row[j]!) },
        ],
        tex: `\\frac{\\partial L}{\\partial \\text{logit}_b} = p_b - [b = y] = ${read.probs[j]!.toFixed(4)} - ${j === target ? 1 : 0} = ${read.dLogits[j]!.toFixed(4)}`,
        code: {
          file: MODEL,
          symbol: "export class Mlp",
          line: "return this.hidden(X).matmul(this.W2).add(this.b2);",
        },
        caption: where,
      };
    throw new RangeError(
      `the MLP has no neuron ${j} in layer ${layer} (layer 0 has neurons 0 to ${read.emb.length - 1}, layer 1 0 to ${read.h.length - 1}, layer 2 0 to ${read.logits.length - 1})`,
    );
  };
  return { figure, detail };
}
// #endregion

/** A hidden unit's life through training, when it was recorded. */
function withHistory(history: NeuronRecorder | undefined, j: number): Pick<DetailFigure, "history"> {
  const h = history?.neuron(1, j);
  return h?.steps.length ? { history: h } : {};
}

// #region embedding-2d
/** The lecture's 2-D embedding: train with nEmbd = 2 and watch the letters move in the plane. */
async function embedding2d(params: Params, lab: LabContext): Promise<void> {
  const data = await windowSplits(3);
  const model = new Mlp({
    vocabSize: data.vocab.size,
    blockSize: 3,
    nEmbd: 2,
    nHidden: param.number(params, "nHidden"),
    generator: new Random(2147483647),
  });
  const optimizer = new SGD(model.parameters(), { lr: 0.1 });
  const batches = new Random(1);
  const steps = param.number(params, "steps");
  const scatter = (step: number) => {
    const C = model.C.tolist() as number[][];
    lab.emit({
      type: "figure",
      figure: {
        kind: "scatter",
        id: "embedding",
        title: `The letters in C (2-D), step ${step}`,
        points: C.map(([x, y], i) => ({ x: x!, y: y!, label: data.vocab.itos[i]! })),
        xLabel: "C[:, 0]",
        yLabel: "C[:, 1]",
        caption: "The vowels drift together, and '.' (start / end of a name) keeps to itself.",
      },
    });
  };
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "loss",
      title: "Minibatch loss",
      xLabel: "step",
      yLabel: "loss",
      series: ["loss"],
    },
  });
  scatter(0);
  let window: { x: number; y: number }[] = [];
  for (let step = 0; step < steps; step++) {
    optimizer.lr = step < steps / 2 ? 0.1 : 0.01;
    window.push({ x: step, y: trainStep(model, optimizer, data.train, 32, batches) });
    if (window.length === 20 || step === steps - 1) {
      lab.emit({ type: "points", figure: "loss", series: "loss", points: window });
      window = [];
    }
    if ((step + 1) % 100 === 0 || step === steps - 1) scatter(step + 1);
    await lab.tick();
  }
}
// #endregion

// #region lr-finder
/** Try exponentially spaced learning rates, one step each, and watch where the loss falls fastest. */
async function lrFinder(params: Params, lab: LabContext): Promise<void> {
  const data = await windowSplits(3);
  const model = new Mlp({
    vocabSize: data.vocab.size,
    blockSize: 3,
    nEmbd: 10,
    nHidden: 200,
    generator: new Random(2147483647),
  });
  const optimizer = new SGD(model.parameters(), { lr: 1e-3 });
  const batches = new Random(1);
  const steps = param.number(params, "steps");
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "lr",
      title: "Loss against the learning rate's exponent",
      xLabel: "log10(lr)",
      yLabel: "loss",
      series: ["loss"],
    },
  });
  for (let i = 0; i < steps; i++) {
    const exponent = -3 + (3 * i) / Math.max(1, steps - 1); // lre = linspace(-3, 0)
    optimizer.lr = 10 ** exponent;
    const loss = trainStep(model, optimizer, data.train, 32, batches);
    lab.emit({ type: "points", figure: "lr", series: "loss", points: [{ x: exponent, y: loss }] });
    await lab.tick();
  }
  lab.emit({ type: "log", text: "The lecture finds the valley near 10^-1 = 0.1: fast, yet stable." });
}
// #endregion

export const lesson: Lesson = {
  id: "03-mlp",
  number: 3,
  title: "makemore: MLP",
  summary:
    "Learned character embeddings, a context of three characters and a tanh hidden layer (Bengio et al. 2003).",
  lecture: { title: "Building makemore Part 2: MLP", url: "https://www.youtube.com/watch?v=TCH_1BHY58I" },
  sections: [
    {
      id: "mlp",
      title: "Embeddings and a hidden layer",
      cells: [
        {
          kind: "text",
          text: "The bigram model sees one character. To see more, give every character a learned vector — a row of the embedding table $C$ ($27 \\times 10$) — concatenate the vectors of the last three characters, and feed them to a hidden layer of 200 tanh neurons. A final linear layer gives 27 logits. With 10-dimensional embeddings that is 11,897 parameters.",
        },
        {
          kind: "math",
          tex: "h = \\tanh\\big([C_{x_1}; C_{x_2}; C_{x_3}]\\,W_1 + b_1\\big), \\qquad \\text{logits} = h W_2 + b_2",
        },
        { kind: "code", file: "src/models/makemore.ts", symbol: "export class Mlp" },
        {
          kind: "text",
          text: "Training takes minibatches of 32 random windows: each step sees a tiny part of the data, so the gradient is noisy but cheap, and many steps win. The learning rate drops 10× halfway. The experiment's 10,000 steps (about 10 s) already beat the bigram of lesson 2 (dev loss below 2.45); the lecture trains 200,000 steps and reaches train 2.126, dev 2.170 — the button *the lecture's run* does the same here in a few minutes.",
        },
        {
          kind: "code",
          file: "lessons/makemore-common.ts",
          region: "train-loop",
          caption: "The training loop",
          collapsed: true,
        },
        { kind: "code", file: THIS, region: "mlp", caption: "The experiment", collapsed: true },
        {
          kind: "text",
          text: "The embedding table is a layer of neurons too: $C_{ix}$ equals the one-hot vector of $ix$ times $C$, a linear layer of `nEmbd` neurons with no bias. The experiment draws it both ways, before and after training.",
        },
        {
          kind: "math",
          tex: "C_{ix} = operatorname{onehot}(ix)^{\top} C, qquad operatorname{onehot}(ix) in {0,1}^{27}",
        },
        { kind: "code", file: THIS, region: "embedding-neurons", collapsed: true },
        {
          kind: "text",
          text: "And the whole network as neurons, for one context: the 30 numbers of its three embeddings, the 200 tanh neurons, the 27 outputs. Click a hidden neuron to see its 30 weights, its pre-activation and activation for that context, whether it is saturated, and its gradient — and its life through training, recorded by hooks every 1/200 of the run: its weights' norm, its mean activation, how much of the batch it is saturated on, its gradient and its update:data ratio, as small curves with a slider. Move the slider under the network to replay training: units outlined in orange are saturated ($|h| > 0.97$ on more than half of the batch), and the count per layer is printed. With these `randn` weights most of the 200 are, from the first step: lesson 4 is about why, and how to fix it.",
        },
        { kind: "code", file: THIS, region: "mlp-neurons", caption: "the MLP as neurons", collapsed: true },
      ],
      experiment: {
        id: "mlp",
        title: "Train the MLP",
        streaming: true,
        params: {
          steps: { kind: "int", label: "steps", default: 10_000, min: 10, max: 200_000 },
          lr: { kind: "number", label: "learning rate", default: 0.1, min: 0.001, max: 1 },
          nHidden: { kind: "int", label: "hidden neurons", default: 200, min: 2, max: 1000 },
          nEmbd: { kind: "int", label: "embedding size", default: 10, min: 1, max: 64 },
          blockSize: { kind: "int", label: "context length", default: 3, min: 1, max: 10 },
          seed: { kind: "int", label: "seed", default: 2147483647 },
        },
        presets: [
          {
            label: "the lecture's run",
            help: "200,000 steps, as the lecture: train 2.126, dev 2.170 (a few minutes here)",
            params: { steps: 200_000 },
          },
        ],
        run: trainMlp,
      },
    },
    {
      id: "embedding-2d",
      title: "The letters in two dimensions",
      cells: [
        {
          kind: "text",
          text: "With only two numbers per character, the embedding can be drawn. The lecture trains the MLP with $C in mathbb{R}^{27 \times 2}$ and plots each letter at its vector: characters the network finds interchangeable end up close — the vowels cluster, and '.' sits apart.",
        },
        { kind: "code", file: THIS, region: "embedding-2d" },
      ],
      experiment: {
        id: "embedding-2d",
        title: "Train with 2-D embeddings and watch the letters",
        streaming: true,
        params: {
          steps: { kind: "int", label: "steps", default: 3000, min: 10, max: 200_000 },
          nHidden: { kind: "int", label: "hidden neurons", default: 100, min: 2, max: 1000 },
        },
        run: embedding2d,
      },
    },
    {
      id: "lr-finder",
      title: "Finding a good learning rate",
      cells: [
        {
          kind: "text",
          text: "Too small a learning rate crawls, too large explodes. Sweep it: at step $i$ use $10^{-3 + 3i/n}$ and plot the loss against the exponent. Where the loss falls fastest and before it blows up is a good rate.",
        },
        { kind: "code", file: THIS, region: "lr-finder" },
      ],
      experiment: {
        id: "lr-finder",
        title: "Sweep the learning rate",
        streaming: true,
        params: { steps: { kind: "int", label: "steps", default: 400, min: 10, max: 1000 } },
        run: lrFinder,
      },
    },
  ],
};
