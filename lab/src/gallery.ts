/**
 * The figure gallery (#/_gallery): one figure of every kind the lab draws, from small seeded data,
 * for lesson authors to see what each kind looks like and for the end-to-end tests to check that
 * every view renders. It is a lesson in the lessons/ format that lives with the lab.
 */
import type {
  DetailFigure,
  LabContext,
  Lesson,
  NetworkFigure,
  NetworkHistory,
  NeuronHistory,
  Target,
} from "../../lessons/lesson.js";
import { decisionGrid, MLP, makeMoons, runProgram, toDot } from "../../src/micrograd/index.js";
import { Random } from "../../src/random/index.js";

const LETTERS = [".", ..."abcdefghijklmnopqrstuvwxyz"];

/** A dense layer's weights, weights[j][i] from input i to unit j, scaled by 1/√fan-in. */
function dense(rng: Random, nin: number, nout: number): number[][] {
  return Array.from({ length: nout }, () =>
    Array.from({ length: nin }, () => rng.normal(0, 1.5 / Math.sqrt(nin))),
  );
}

const softmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
};

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/**
 * A seeded network [inputs, hidden?, 27 letters] whose outputs are a softmax: its weights, and
 * its activations for `input`.
 */
function lettersNetwork(
  rng: Random,
  figure: Omit<NetworkFigure, "kind" | "sizes" | "weights" | "biases" | "activations">,
  input: number[],
  hidden: { size: number; f: (x: number) => number } | undefined,
): NetworkFigure {
  const sizes = [input.length, ...(hidden ? [hidden.size] : []), LETTERS.length];
  const weights = sizes.slice(1).map((n, l) => dense(rng, sizes[l]!, n));
  const biases = sizes.slice(1).map((n) => Array.from({ length: n }, () => rng.normal(0, 0.1)));
  const activations = [input];
  weights.forEach((layer, l) => {
    const x = activations[l]!;
    const pre = layer.map((row, j) => row.reduce((s, w, i) => s + w * x[i]!, biases[l]![j]!));
    activations.push(l === weights.length - 1 ? softmax(pre) : pre.map(hidden!.f));
  });
  return { kind: "network", ...figure, sizes, weights, biases, activations, outputLabels: LETTERS };
}

/** The network figure at 8, 27, 64, 200 and 768 units a layer: how it stays readable. */
function networks(model: MLP, x: number[], rng: Random): NetworkFigure[] {
  const activations: number[][] = [x];
  for (const layer of model.layers) activations.push(layer.call(activations.at(-1)!).map((v) => v.data));
  const embedding = (context: string, channels: number) =>
    [...context].flatMap((ch) =>
      Array.from({ length: channels }, (_, d) => ({ label: `${ch}${"₀₁₂₃₄₅₆₇₈₉"[d]}`, value: rng.normal() })),
    );
  const emm = embedding("emm", 8);
  const ava = embedding("ava", 10);
  const one = LETTERS.indexOf("e");
  return [
    {
      kind: "network",
      id: "network-8",
      title: "network: 8 units a layer (the moons MLP)",
      sizes: [2, 8, 8, 1],
      weights: model.layers.map((l) => l.neurons.map((n) => n.w.map((w) => w.data))),
      biases: model.layers.map((l) => l.neurons.map((n) => n.b.data)),
      activations,
      nonlinearities: ["relu", "relu", "linear"],
      inputLabels: ["x", "y"],
      outputLabels: ["score"],
      layerLabels: ["input point (x, y)", "8 ReLU neurons", "8 ReLU neurons", "score"],
    },
    lettersNetwork(
      rng,
      {
        id: "network-27",
        title: "network: 27 units a layer (a bigram's W)",
        inputLabels: LETTERS,
        layerLabels: ["one-hot input", "P(next | input)"],
        caption: 'The one-hot input of "e"; outputs filled by their probability.',
      },
      LETTERS.map((_, i) => (i === one ? 1 : 0)),
      undefined,
    ),
    lettersNetwork(
      rng,
      {
        id: "network-64",
        title: "network: 64 units (an MLP for the context “emm”)",
        wide: true,
        inputLabels: emm.map((e) => e.label),
        layerLabels: ["embeddings C[x] of “emm”", "64 hidden tanh neurons h", "P(next | context)"],
      },
      emm.map((e) => e.value),
      { size: 64, f: Math.tanh },
    ),
    lettersNetwork(
      rng,
      {
        id: "network-200",
        title: "network: 200 units (lesson 3's MLP)",
        wide: true,
        inputLabels: ava.map((e) => e.label),
        layerLabels: ["embeddings C[x] of “ava”", "200 hidden tanh neurons h", "P(next | context)"],
      },
      ava.map((e) => e.value),
      { size: 200, f: Math.tanh },
    ),
    lettersNetwork(
      rng,
      {
        id: "network-768",
        title: "network: 768 units (as wide as GPT-2's channels)",
        wide: true,
        inputLabels: Array.from({ length: 32 }, (_, c) => `c${c}`),
        layerLabels: ["32 input channels", "768 GELU units of an MLP", "P(next token)"],
      },
      Array.from({ length: 32 }, () => rng.normal()),
      { size: 768, f: gelu },
    ),
  ];
}

/**
 * A made-up training history for the 200 tanh units: 40 recorded steps in which units start
 * saturated on part of the batch (some on most of it) and mostly recover, as after a bad init.
 */
function withHistory(figure: NetworkFigure): void {
  const rng = new Random(27);
  const steps = Array.from({ length: 40 }, (_, s) => s * 50);
  const units = figure.sizes[1]!;
  const start = Array.from({ length: units }, () => rng.uniform(0, 1));
  const heal = Array.from({ length: units }, () => rng.uniform(-0.05, 0.6));
  const sign = Array.from({ length: units }, () => (rng.uniform(0, 1) < 0.5 ? -1 : 1));
  const saturated = steps.map((_, s) => start.map((f, j) => Math.min(1, f * Math.exp((-heal[j]! * s) / 12))));
  figure.history = {
    steps,
    layers: [
      {
        layer: 1,
        nonlinearity: "tanh",
        units,
        saturated: Float32Array.from(saturated.flat()),
        meanActivation: Float32Array.from(
          saturated.flatMap((row) => row.map((f, j) => sign[j]! * (0.1 + 0.85 * f))),
        ),
      },
    ],
    weights: madeUpWeights(
      figure,
      steps.filter((_, s) => s % 5 === 0),
    ),
  };
}

/**
 * Weights kept at `steps` for the edges' replay: from the figure's own with their signs flipped
 * and halved at the first (every edge's colour flips, its width stays) to its own at the last,
 * straight across.
 */
function madeUpWeights(figure: NetworkFigure, steps: number[]): NetworkHistory["weights"] {
  return {
    steps,
    layers: figure.weights.map((layer, l) => {
      const [to, from] = [layer.length, layer[0]!.length];
      const values = new Float32Array(steps.length * to * from);
      steps.forEach((_, s) => {
        const t = s / Math.max(1, steps.length - 1);
        for (let j = 0; j < to; j++)
          for (let i = 0; i < from; i++) values[(s * to + j) * from + i] = (1.5 * t - 0.5) * layer[j]![i]!;
      });
      return { layer: l + 1, from, to, values };
    }),
  };
}

/** Unit j's life, from the figure's history and smooth made-up weights, gradients and updates. */
function unitHistory(net: NetworkFigure, layer: number, j: number): NeuronHistory | undefined {
  const h = net.history;
  const l = h?.layers.find((x) => x.layer === layer);
  if (!h || !l) return undefined;
  const t = h.steps.map((_, s) => s / Math.max(1, h.steps.length - 1));
  return {
    nonlinearity: l.nonlinearity,
    steps: h.steps,
    weightNorm: t.map((x) => 1.2 + 0.3 * x + 0.02 * Math.sin(7 * x + j)),
    meanActivation: h.steps.map((_, s) => l.meanActivation[s * l.units + j]!),
    saturated: h.steps.map((_, s) => l.saturated![s * l.units + j]!),
    gradNorm: h.steps.map((_, s) => 0.02 + 0.3 * (1 - l.saturated![s * l.units + j]!) * Math.exp(-2 * t[s]!)),
    updateRatio: t.map((x, s) =>
      s === t.length - 1 ? Number.NaN : -2.2 - 1.1 * x + 0.1 * Math.sin(9 * x + j),
    ),
  };
}

/** A click on a unit of a gallery network: its numbers, recomputed from the figure itself. */
function neuronDetail(net: NetworkFigure, [layer, j]: Target): DetailFigure {
  if (
    layer === undefined ||
    j === undefined ||
    layer < 0 ||
    layer >= net.sizes.length ||
    j < 0 ||
    j >= net.sizes[layer]!
  )
    throw new RangeError(`no unit ${layer}, ${j} in ${net.id} (layers of ${net.sizes.join(", ")})`);
  const name =
    (layer === 0
      ? net.inputLabels?.[j]
      : layer === net.sizes.length - 1
        ? net.outputLabels?.[j]
        : undefined) ?? String(j);
  const of = { figure: net.id, target: [layer, j] };
  const code = {
    file: "src/micrograd/nn.ts",
    symbol: "call(x: readonly Scalar[]): Value {",
    line: "const act = sum(",
  };
  if (layer === 0)
    return {
      kind: "detail",
      id: "network-detail",
      title: `Input ${name}`,
      of,
      values: [{ label: "value", value: net.activations[0]![j]! }],
      vectors: [{ label: "its weights to the next layer", values: net.weights[0]!.map((row) => row[j]!) }],
      tex: `x_{${j}}`,
      code,
    };
  const w = net.weights[layer - 1]![j]!;
  const x = net.activations[layer - 1]!;
  const pre = w.reduce((s, wi, i) => s + wi * x[i]!, net.biases[layer - 1]![j]!);
  return {
    kind: "detail",
    id: "network-detail",
    title: `Layer ${layer}, unit ${name}`,
    of,
    values: [
      { label: "pre-activation b + Σ w·x", value: pre },
      { label: "activation", value: net.activations[layer]![j]! },
    ],
    vectors: [{ label: "weights in", values: w, labels: layer === 1 ? net.inputLabels : undefined }],
    tex: "a = f\\Big(b + \\sum_i w_i x_i\\Big)",
    code,
    ...(unitHistory(net, layer, j) ? { history: unitHistory(net, layer, j) } : {}),
  };
}

async function figures(lab: LabContext): Promise<void> {
  const rng = new Random(7);
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: "stats",
      items: [
        { label: "step", value: "3 / 3" },
        { label: "loss", value: "0.1234" },
      ],
    },
  });
  lab.emit({
    type: "figure",
    figure: { kind: "line", id: "line", title: "line", yLabel: "loss", series: ["train", "val"] },
  });
  for (let k = 0; k < 60; k++) {
    const loss = 2.5 * Math.exp(-k / 15) + 0.3;
    lab.emit({
      type: "points",
      figure: "line",
      series: "train",
      points: [{ x: k, y: loss + rng.uniform(0, 0.05) }],
    });
    lab.emit({
      type: "points",
      figure: "line",
      series: "val",
      points: [{ x: k, y: loss + 0.1 + rng.uniform(0, 0.05) }],
    });
  }
  const vars = runProgram(["a = 2.0", "b = -3.0", "c = a * b", "d = c.tanh()"], {});
  const d = vars.get("d")!;
  d.backward();
  lab.emit({
    type: "figure",
    figure: {
      kind: "graph",
      id: "graph",
      title: "graph",
      frames: [{ dot: toDot(d), caption: "d = tanh(a·b)" }],
    },
  });
  const model = new MLP(2, [8, 8, 1], { rng });
  const data = makeMoons(40, 0.1, rng);
  for (const figure of networks(model, data.X[0]!, rng)) {
    if (figure.id === "network-200") withHistory(figure);
    lab.emit({ type: "figure", figure });
    lab.onSelect(figure.id, (target) => lab.emit({ type: "figure", figure: neuronDetail(figure, target) }));
  }
  const points = data.X.map(([px, py], i) => ({ x: px, y: py, label: data.y[i]! }));
  lab.emit({
    type: "figure",
    figure: {
      kind: "field",
      id: "field",
      title: "field",
      step: 0.2,
      grid: decisionGrid(model, data, 0.2),
      points,
    },
  });
  const counts = LETTERS.map(() => LETTERS.map(() => Math.floor(rng.uniform(0, 1) ** 4 * 4000)));
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "heatmap",
      title: "heatmap",
      wide: true,
      values: counts,
      rowLabels: LETTERS,
      colLabels: LETTERS,
      text: "auto",
      highlightRows: [0],
    },
  });
  lab.emit({
    type: "figure",
    figure: {
      kind: "scatter",
      id: "scatter",
      title: "scatter",
      points: LETTERS.map((label) => ({ x: rng.normal(), y: rng.normal(), label })),
    },
  });
  // A matrix too big for a cell per value (GPT-2's wpe is 1024 × 768) is drawn as one image.
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "heatmap-image",
      title: "heatmap (as an image: 256 × 192)",
      scheme: "diverging",
      values: Array.from({ length: 256 }, (_, i) =>
        Array.from({ length: 192 }, (_, j) => Math.sin(i / (4 + j / 8)) * Math.exp(-j / 150)),
      ),
    },
  });
  const words = ["The", " token", "izer", " merges", " what", " it", " has", " seen", "."];
  lab.emit({
    type: "figure",
    figure: {
      kind: "tokens",
      id: "tokens",
      title: "tokens",
      frames: [1, 2].map((n) => ({
        caption: `frame ${n}`,
        sequences: ["a", "b"].slice(0, n).map((name, k) => ({
          name,
          tokens: words.map((text, i) => ({ text, id: 256 + i * (k + 1) })),
        })),
      })),
    },
  });
  const side = 24;
  lab.emit({
    type: "figure",
    figure: {
      kind: "images",
      id: "images",
      title: "images",
      scale: 4,
      images: [
        {
          label: "gray",
          width: side,
          height: side,
          pixels: Array.from({ length: side * side }, (_, p) => (p % side) / side),
          scheme: "gray",
        },
        {
          label: "diverging",
          width: side,
          height: side,
          pixels: Array.from({ length: side * side }, (_, p) => Math.sin(p / 9) * Math.cos(p / 97)),
          scheme: "diverging",
        },
        {
          label: "rgb",
          width: side,
          height: side,
          pixels: Array.from({ length: 3 * side * side }, (_, k) =>
            k % 3 === 0 ? 144 : k % 3 === 1 ? 72 : 17,
          ),
          scheme: "rgb",
        },
      ],
    },
  });
  const neuron = model.layers[0]!.neurons[0]!;
  lab.emit({
    type: "figure",
    figure: {
      kind: "detail",
      id: "detail",
      title: "detail: layer 1, neuron 0",
      values: [
        { label: "pre-activation", value: 0.4321 },
        { label: "activation", value: 0.4321 },
        { label: "gradient", value: -0.0123 },
      ],
      vectors: [{ label: "weights", values: neuron.w.map((w) => w.data) }],
      tokens: {
        label: "tokens with a value",
        tokens: words.slice(0, 4).map((text, i) => ({ text, value: 1 - i / 4 })),
      },
      tex: "a = \\operatorname{ReLU}\\Big(b + \\sum_i w_i x_i\\Big)",
      code: {
        file: "src/micrograd/nn.ts",
        symbol: "call(x: readonly Scalar[]): Value {",
        line: "const act = sum(",
      },
    },
  });
  lab.emit({
    type: "figure",
    figure: {
      kind: "histogram",
      id: "histogram",
      title: "histogram",
      series: [1, 2, 3].map((layer) => ({
        name: `layer ${layer}`,
        values: Array.from({ length: 2000 }, () => Math.tanh(rng.normal(0, layer))),
      })),
    },
  });
}

export const gallery: Lesson = {
  id: "_gallery",
  number: 0,
  title: "figure gallery",
  summary: "Every kind of figure a lesson can draw, from small seeded data (see lessons/lesson.ts).",
  sections: [
    {
      id: "figures",
      title: "Figures",
      cells: [
        {
          kind: "text",
          text: 'One figure of each kind. A lesson emits them with `lab.emit({ type: "figure", figure })`.',
        },
      ],
      experiment: { id: "figures", title: "Every figure kind", params: {}, run: (_, lab) => figures(lab) },
    },
  ],
};
