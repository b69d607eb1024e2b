/**
 * The figure gallery (#/_gallery): one figure of every kind the lab draws, from small seeded data,
 * for lesson authors to see what each kind looks like and for the end-to-end tests to check that
 * every view renders. It is a lesson in the lessons/ format that lives with the lab.
 */
import type { LabContext, Lesson } from "../../lessons/lesson.js";
import { decisionGrid, MLP, makeMoons, runProgram, toDot } from "../../src/micrograd/index.js";
import { Random } from "../../src/random/index.js";

const LETTERS = [".", ..."abcdefghijklmnopqrstuvwxyz"];

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
  const model = new MLP(2, [4, 4, 1], { rng });
  const data = makeMoons(40, 0.1, rng);
  const x = data.X[0]!;
  lab.emit({
    type: "figure",
    figure: {
      kind: "network",
      id: "network",
      title: "network",
      sizes: [2, 4, 4, 1],
      weights: model.layers.map((l) => l.neurons.map((n) => n.w.map((w) => w.data))),
      biases: model.layers.map((l) => l.neurons.map((n) => n.b.data)),
      activations: [x, ...model.layers.map((l) => l.neurons.map(() => rng.uniform(0, 1)))],
      nonlinearities: ["relu", "relu", "linear"],
    },
  });
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
