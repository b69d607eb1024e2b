/**
 * Lesson 2: makemore part 1, bigrams. Count which character follows which in 32,033 names, turn
 * the counts into probabilities, sample new names one character at a time, measure the model by
 * its average negative log-likelihood — then get the same model by gradient descent on a single
 * linear layer. Follows "The spelled-out intro to language modeling: building makemore".
 */
import { CharVocabulary } from "../src/data/index.js";
import { bigramPairs, CountBigram, NeuralBigram } from "../src/models/bigram.js";
import { Random } from "../src/random/index.js";
import { softmax, tensor, tidy } from "../src/tensor/index.js";
import { loadNames } from "./data.js";
import {
  type DetailFigure,
  type LabContext,
  type Lesson,
  type Params,
  param,
  type Target,
} from "./lesson.js";

const THIS = "lessons/02-bigram.ts";
const MODEL = "src/models/bigram.ts";

// #region counting
async function counting(params: Params, lab: LabContext): Promise<void> {
  const words = await loadNames();
  const vocab = CharVocabulary.fromWords(words);
  const model = new CountBigram(vocab, words, param.number(params, "smoothing"));
  const nll = model.nll(words);
  const N = model.counts.tolist() as number[][];
  const top = N.flatMap((row, a) => row.map((n, b) => ({ pair: vocab.itos[a]! + vocab.itos[b]!, n })))
    .sort((x, y) => y.n - x.n)
    .slice(0, 5);
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: "The counting model",
      items: [
        { label: "bigrams", value: String(N.flat().reduce((s, n) => s + n, 0)) },
        { label: "NLL (herograd)", value: nll.toFixed(4) },
        { label: "NLL (exact, +1 smoothing)", value: "2.4546" },
        { label: "NLL (lecture video, float32 sum)", value: "2.4544" },
        { label: "most common", value: top.map((t) => `${t.pair} ${t.n}`).join(", ") },
      ],
    },
  });
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "counts",
      title: "N[a, b]: how often b follows a",
      wide: true,
      values: N,
      rowLabels: vocab.itos,
      colLabels: vocab.itos,
      xLabel: "next character b",
      yLabel: "previous character a",
      text: true,
    },
  });
  const generator = new Random(param.number(params, "seed"));
  const samples = Array.from({ length: param.number(params, "samples") }, () => model.sample({ generator }));
  // Sampling walks the rows of P: each character picks the row its successor is drawn from.
  const first = samples[0] ?? "";
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "probs",
      title: `P[a, b], with the rows "${first}" was sampled from`,
      wide: true,
      values: model.probs.tolist() as number[][],
      rowLabels: vocab.itos,
      colLabels: vocab.itos,
      highlightRows: [0, ...vocab.encode(first)],
      text: false,
    },
  });
  lab.emit({ type: "log", text: `samples: ${samples.join(", ")}` });
}
// #endregion

// #region neural
async function neural(params: Params, lab: LabContext): Promise<void> {
  const words = await loadNames();
  const vocab = CharVocabulary.fromWords(words);
  const model = new NeuralBigram(vocab, {
    generator: new Random(param.number(params, "seed")),
    regularization: param.number(params, "regularization"),
  });
  const steps = param.number(params, "steps");
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "loss",
      title: "Loss while training W",
      xLabel: "step",
      yLabel: "loss",
      series: ["loss"],
    },
  });
  let last = Number.NaN;
  for (let k = 0; k < steps; k++) {
    [last] = model.train(words, { steps: 1, lr: param.number(params, "lr") });
    lab.emit({ type: "points", figure: "loss", series: "loss", points: [{ x: k, y: last }] });
    await lab.tick();
  }
  const counts = new CountBigram(vocab, words, 1);
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: "Gradient descent vs counting",
      items: [
        { label: "loss with regularisation", value: last.toFixed(4) },
        { label: "NLL of W", value: model.nll(words).toFixed(4) },
        { label: "NLL of the counts", value: counts.nll(words).toFixed(4) },
        { label: "lecture (100 steps, lr 50)", value: "2.4818" },
      ],
    },
  });
  const generator = new Random(1);
  lab.emit({
    type: "log",
    text: `samples: ${Array.from({ length: 5 }, () => model.sample({ generator })).join(", ")}`,
  });
  const a = vocab.stoi.get(param.string(params, "letter"))!;
  const neurons = bigramNeurons(model, words, counts, a);
  lab.emit({ type: "figure", figure: neurons.figure });
  lab.onSelect(
    "neurons",
    (target) => lab.emit({ type: "figure", figure: neurons.detail(target) }),
    "Click an output neuron to see its weights, its logit, its probability and its gradient.",
  );
  lab.emit({ type: "figure", figure: neurons.detail([1, neurons.likeliest]) });
}
// #endregion

// #region neurons
/**
 * W as a layer of 27 neurons, one per next character: the one-hot input of `a` lights one input,
 * so each neuron's logit is its weight from `a`, and softmax turns the 27 logits into P(b | a).
 * A neuron's gradient is d loss / d W[a, b] over all the bigrams of the names (autograd).
 */
function bigramNeurons(model: NeuralBigram, words: string[], counts: CountBigram, a: number) {
  const { itos } = model.vocab;
  const W = model.W.tolist() as number[][];
  const P = tidy(() => softmax(model.logits(tensor([a], { dtype: "int32" })), -1).tolist() as number[][])[0]!;
  const countP = (counts.probs.tolist() as number[][])[a]!;
  const grad = tidy(() => {
    const { xs, ys } = bigramPairs(words, model.vocab);
    model.W.grad = null;
    model.loss(tensor(xs, { dtype: "int32" }), tensor(ys, { dtype: "int32" })).backward();
    const g = model.W.grad!.tolist() as number[][];
    model.W.grad = null;
    return g;
  });
  const figure = {
    kind: "network" as const,
    id: "neurons",
    title: `W as 27 neurons, for the input "${itos[a]}"`,
    wide: true,
    sizes: [27, 27],
    weights: [itos.map((_, b) => W.map((row) => row[b]!))],
    biases: [itos.map(() => 0)],
    activations: [itos.map((_, i) => (i === a ? 1 : 0)), P],
    inputLabels: itos,
    outputLabels: itos,
    layerLabels: ["one-hot input", "P(next | input)"],
    caption: `Outputs filled by P(b | "${itos[a]}") = softmax(one_hot("${itos[a]}") · W).`,
  };
  const detail = ([layer, j]: Target): DetailFigure => {
    const b = j ?? -1;
    if (b < 0 || b >= itos.length || (layer !== 0 && layer !== 1))
      throw new RangeError(`no neuron ${layer}, ${j}`);
    if (layer === 0)
      return {
        kind: "detail",
        id: "detail",
        title: `Input "${itos[b]}"`,
        of: { figure: "neurons", target: [0, b] },
        values: [{ label: `one_hot("${itos[a]}")[${b}]`, value: b === a ? 1 : 0 }],
        vectors: [{ label: `W[${b}]: its weights to each next character`, values: W[b]!, labels: itos }],
        tex: `x_{${b}} = [\\text{${itos[b] === "." ? "dot" : itos[b]}} = \\text{${itos[a] === "." ? "dot" : itos[a]}}]`,
        code: { file: MODEL, symbol: "logits(xs: Tensor", line: "oneHot(xs, this.vocab.size)" },
      };
    return {
      kind: "detail",
      id: "detail",
      title: `Output neuron "${itos[b]}": how likely "${itos[b]}" follows "${itos[a]}"`,
      of: { figure: "neurons", target: [1, b] },
      values: [
        { label: `logit W[${a}, ${b}]`, value: W[a]![b]! },
        { label: `P("${itos[b]}" | "${itos[a]}")`, value: P[b]! },
        { label: "the counting model's P", value: countP[b]! },
        { label: `d loss / d W[${a}, ${b}]`, value: grad[a]![b]! },
      ],
      vectors: [
        { label: `W[:, ${b}]: its weight from each input`, values: W.map((row) => row[b]!), labels: itos },
      ],
      tex: `P(b \\mid a) = \\frac{e^{W_{ab}}}{\\sum_{b'} e^{W_{ab'}}} = \\frac{e^{${W[a]![b]!.toFixed(3)}}}{${P.reduce((s, _, k) => s + Math.exp(W[a]![k]!), 0).toFixed(3)}} = ${P[b]!.toFixed(4)}`,
      code: { file: MODEL, symbol: "logits(xs: Tensor", line: "return this.W.indexSelect(0, xs);" },
    };
  };
  return { figure, detail, likeliest: P.indexOf(Math.max(...P)) };
}
// #endregion

export const lesson: Lesson = {
  id: "02-bigram",
  number: 2,
  title: "makemore: bigrams",
  summary: "A character-level language model from counts, then the same model learned by gradient descent.",
  lecture: {
    title: "The spelled-out intro to language modeling: building makemore",
    url: "https://www.youtube.com/watch?v=PaCmpygFfXo",
  },
  sections: [
    {
      id: "counting",
      title: "Counting bigrams",
      cells: [
        {
          kind: "text",
          text: "Each name is a sequence of characters with a `.` before and after it. A **bigram** model looks only at the previous character: it counts how often each character $b$ follows each $a$ in all 32,033 names, and normalises each row of counts into a probability distribution.",
        },
        { kind: "math", tex: "P(b \\mid a) = \\frac{N_{ab} + k}{\\sum_{b'} (N_{ab'} + k)}" },
        {
          kind: "text",
          text: "The quality of the model is the average **negative log-likelihood** of every bigram in the data: $-\\frac{1}{n}\\sum \\log P(b \\mid a)$. Smoothing ($k = 1$) keeps any bigram from having probability 0 (and the loss from being infinite).",
        },
        { kind: "code", file: MODEL, symbol: "export class CountBigram" },
        { kind: "code", file: THIS, region: "counting", caption: "The experiment", collapsed: true },
      ],
      experiment: {
        id: "counting",
        title: "Count, measure, sample",
        params: {
          smoothing: { kind: "number", label: "smoothing k", default: 1, min: 0, max: 100, step: 1 },
          samples: { kind: "int", label: "names to sample", default: 10, min: 1, max: 50 },
          seed: { kind: "int", label: "seed", default: 2147483647 },
        },
        run: counting,
      },
    },
    {
      id: "neural",
      title: "The same model as a neural network",
      cells: [
        {
          kind: "text",
          text: "Now learn it: encode the previous character as a one-hot vector $x$, multiply by a $27 \\times 27$ weight matrix $W$, and read the result as log-counts. Softmax turns them into probabilities; the loss is the negative log-likelihood plus a little $W^2$ regularisation, which plays the role of smoothing. Multiplying a one-hot vector by $W$ just picks a row of $W$ — so after training, $e^W$ normalised is the count table again.",
        },
        {
          kind: "math",
          tex: "\\text{logits} = x_{\\text{onehot}} W, \\quad P = \\operatorname{softmax}(\\text{logits}), \\quad L = -\\overline{\\log P_{y}} + 0.01\\,\\overline{W^2}",
        },
        { kind: "code", file: MODEL, symbol: "export class NeuralBigram" },
        { kind: "code", file: THIS, region: "neural", caption: "The experiment", collapsed: true },
        {
          kind: "text",
          text: "Drawn as neurons, $W$ is one layer: 27 inputs (the one-hot previous character), 27 output neurons (one per next character), no bias, no nonlinearity but the softmax across them. Click an output neuron to see its weights, its logit and probability for the chosen input, and its gradient.",
        },
        { kind: "code", file: THIS, region: "neurons", caption: "W as neurons", collapsed: true },
      ],
      experiment: {
        id: "neural",
        title: "Train W by gradient descent",
        streaming: true,
        params: {
          steps: { kind: "int", label: "steps", default: 20, min: 1, max: 500 },
          lr: { kind: "number", label: "learning rate", default: 50, min: 0.1, max: 200 },
          regularization: {
            kind: "number",
            label: "regularisation",
            default: 0.01,
            min: 0,
            max: 1,
            step: 0.01,
          },
          seed: { kind: "int", label: "seed", default: 2147483647 },
          letter: {
            kind: "select",
            label: "input character",
            default: "e",
            options: [".", ..."abcdefghijklmnopqrstuvwxyz"].map((c) => ({ value: c, label: c })),
          },
        },
        run: neural,
      },
    },
  ],
};
