/**
 * Lesson 2: makemore part 1, bigrams. Count which character follows which in 32,033 names, turn
 * the counts into probabilities, sample new names one character at a time, measure the model by
 * its average negative log-likelihood — then get the same model by gradient descent on a single
 * linear layer. Follows "The spelled-out intro to language modeling: building makemore".
 */
import { CharVocabulary } from "../src/data/index.js";
import { CountBigram, NeuralBigram } from "../src/models/bigram.js";
import { Random } from "../src/random/index.js";
import { loadNames } from "./data.js";
import { type LabContext, type Lesson, type Params, param } from "./lesson.js";

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
        },
        run: neural,
      },
    },
  ],
};
