/**
 * Lesson 6: makemore part 5, a WaveNet. A context of 8 characters is fused two at a time, level by
 * level, instead of squashed into one layer at once. Follows "Building makemore Part 5: Building a WaveNet".
 */
import { sampleWords, wavenet } from "../src/models/makemore.js";
import { capture, type Linear, type Sequential } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { crossEntropy, noGrad, type Tensor, tidy } from "../src/tensor/index.js";
import { tracedForward } from "../src/train/diagnostics.js";
import {
  type DetailFigure,
  type GraphFigure,
  type HeatmapFigure,
  type LabContext,
  type Lesson,
  type Params,
  param,
  type Target,
} from "./lesson.js";
import { trainWindows, type WindowSplits, windowSplits } from "./makemore-common.js";

const THIS = "lessons/06-wavenet.ts";

// #region wavenet
async function trainWavenet(params: Params, lab: LabContext): Promise<void> {
  const blockSize = 8;
  const data = await windowSplits(blockSize);
  const model: Sequential = wavenet({
    vocabSize: data.vocab.size,
    blockSize,
    nEmbd: param.number(params, "nEmbd"),
    nHidden: param.number(params, "nHidden"),
    generator: new Random(param.number(params, "seed")),
  });
  // The hierarchy, layer by layer, on a batch of 4 contexts.
  lab.emit({ type: "figure", figure: layerTree(model, data.train.X.slice(0, 0, 4)) });
  lab.emit({ type: "figure", figure: fusionTree(data, blockSize) });
  const steps = param.number(params, "steps");
  const example = { X: data.train.X.slice(0, 7, 8), Y: data.train.Y.slice(0, 7, 8) };
  lab.emit({ type: "figure", figure: waveUnits(model, data, example, "at initialisation").figure });
  let selected: Target = [6, 0];
  lab.onSelect(
    "units",
    (target) => {
      selected = target;
      lab.emit({ type: "figure", figure: waveUnits(model, data, example, "now").detail(target) });
    },
    "Click a unit to see the pair it fuses, its weights, its pre-activation, activation and gradient.",
  );
  const { train, dev } = await trainWindows(
    model,
    data,
    { steps, lr: 0.1, decayAt: 0.75, batchSize: 32, seed: 1 },
    lab,
  );
  const units = waveUnits(model, data, example, `after ${steps} steps`);
  lab.emit({ type: "figure", figure: units.figure });
  lab.emit({ type: "figure", figure: units.detail(selected) });
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: `WaveNet after ${steps} steps`,
      items: [
        { label: "parameters", value: String(model.numParameters()) },
        { label: "train loss", value: train.toFixed(4) },
        { label: "val loss", value: dev.toFixed(4) },
        { label: "lecture (200,000 steps)", value: "train 1.7690, val 1.9937" },
      ],
    },
  });
  lab.emit({
    type: "log",
    text: `samples: ${sampleWords(model, data.vocab, blockSize, 10, { generator: new Random(1) }).join(", ")}`,
  });
}
// #endregion

// #region layer-tree
/** The layers top to bottom, each with the shape of what it outputs for a batch of contexts. */
function layerTree(model: Sequential, batch: Tensor): GraphFigure {
  const shape = (t: Tensor) => `[${t.shape.join(", ")}]`;
  const lines = [
    "digraph wavenet {",
    '  rankdir=TB; nodesep=0.3; ranksep=0.25; node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, fillcolor="#f3f5f8", color="#9aa4b1"];',
    `  n0 [label="input: ${batch.shape[0]} contexts of ${batch.shape[1]} characters\\n${shape(batch)}", fillcolor="#ffffff"];`,
  ];
  const fills: Record<string, string> = {
    Embedding: "#e6eefb",
    FlattenConsecutive: "#fdf0d5",
    Linear: "#e3f4e8",
    BatchNorm1d: "#efe6f7",
    Tanh: "#fbe4e2",
  };
  // The model's own forward, each layer's output read by a hook (the lecture's layer.out).
  const outputs = capture(model.layers);
  noGrad(() => model.forward(batch));
  outputs.remove();
  model.layers.forEach((layer, i) => {
    const name = layer.toString().split("\n")[0]!.replace(/"/g, "'");
    const fill = fills[name.split("(")[0]!] ?? "#f3f5f8";
    lines.push(
      `  n${i + 1} [label="${name}\\n→ ${shape(outputs.values[i]!)}", fillcolor="${fill}"];`,
      `  n${i} -> n${i + 1};`,
    );
  });
  lines.push("}");
  return {
    kind: "graph",
    id: "layers",
    title: "The layers, with the shape each one outputs",
    frames: [
      {
        dot: lines.join("\n"),
        caption:
          "FlattenConsecutive(2) halves the time dimension and doubles the channels: 8 → 4 → 2 → 1 positions, then the time dimension is squeezed away.",
      },
    ],
  };
}

/** The same hierarchy as a tree over one context: pairs of characters, pairs of pairs, the halves. */
function fusionTree(data: WindowSplits, blockSize: number): GraphFigure {
  // The window that ends the first name of 5+ letters: its context is that name's last 8 characters.
  const X = data.train.X.tolist() as number[][];
  const Y = data.train.Y.tolist() as number[];
  const end = Y.findIndex((y, i) => y === 0 && X[i]!.filter((c) => c !== 0).length >= 5);
  const context = X[Math.max(0, end)]!.map((i) => data.vocab.itos[i]!);
  const lines = [
    "digraph tree {",
    '  rankdir=BT; nodesep=0.15; ranksep=0.35; node [fontname="Helvetica", fontsize=11];',
    '  node [shape=box, style="filled", fillcolor="#e6eefb", color="#9aa4b1"];',
  ];
  for (const [i, c] of context.entries()) lines.push(`  l0_${i} [label="${c}"];`);
  let width = blockSize;
  for (let level = 1; width > 1; level++) {
    width /= 2;
    for (let i = 0; i < width; i++) {
      lines.push(
        `  l${level}_${i} [shape=circle, label="", width=0.22, fillcolor="#fbe4e2"];`,
        `  l${level - 1}_${2 * i} -> l${level}_${i};`,
        `  l${level - 1}_${2 * i + 1} -> l${level}_${i};`,
      );
    }
  }
  const top = Math.log2(blockSize);
  lines.push('  out [shape=box, label="next character", fillcolor="#e3f4e8"];', `  l${top}_0 -> out;`, "}");
  return {
    kind: "graph",
    id: "tree",
    title: `Fusing "${context.join("")}" two at a time`,
    frames: [
      {
        dot: lines.join("\n"),
        caption:
          "Each circle is one Linear → BatchNorm → tanh applied to the pair below it (the same weights at every position of a level).",
      },
    ],
  };
}
// #endregion

// #region units
/**
 * Every unit of the hierarchy for one context, in eval mode (BatchNorm on its running statistics):
 * level 1 has 4 positions, level 2 has 2, level 3 one, each of nHidden channels. A unit is one
 * Linear → BatchNorm → tanh applied to the concatenation of the two positions below it.
 */
function waveUnits(model: Sequential, data: WindowSplits, example: { X: Tensor; Y: Tensor }, when: string) {
  const levels = (model.layers.length - 2) / 4;
  const read = model.inEvalMode(() =>
    tidy(() => {
      const { out, traces } = tracedForward(model, example.X); // each layer's output keeps its grad
      model.zeroGrad();
      crossEntropy(out, example.Y).backward();
      const rows = (t: Tensor) => {
        const v = t.tolist() as number[][][] | number[][];
        return (Array.isArray(v[0]![0]) ? (v as number[][][])[0]! : [(v as number[][])[0]!]) as number[][];
      };
      const result = Array.from({ length: levels }, (_, k) => {
        const [fused, linear, bn, act] = [1, 2, 3, 4].map((o) => traces[4 * k + o]!.out);
        return {
          input: rows(fused!),
          pre: rows(linear!),
          normalised: rows(bn!),
          act: rows(act!),
          dAct: rows(act!.grad!),
          dPre: rows(linear!.grad!),
          W: (model.layers[2 + 4 * k] as Linear).weight.tolist() as number[][],
        };
      });
      model.zeroGrad(); // the next training step starts from zero
      return result;
    }),
  );
  const context = (example.X.tolist() as number[][])[0]!.map((i) => data.vocab.itos[i]!);
  const next = data.vocab.itos[(example.Y.tolist() as number[])[0]!]!;
  const rowsOf = read.flatMap((level, k) => level.act.map((_, p) => ({ k, p })));
  const span = (k: number, p: number) => context.slice(p * 2 ** (k + 1), (p + 1) * 2 ** (k + 1)).join("");
  const figure: HeatmapFigure = {
    kind: "heatmap",
    id: "units",
    title: `Every unit's tanh output for "${context.join("")}" → "${next}" (${when})`,
    wide: true,
    values: rowsOf.map(({ k, p }) => read[k]!.act[p]!),
    rowLabels: rowsOf.map(({ k, p }) => `L${k + 1} "${span(k, p)}"`),
    xLabel: "channel →",
    scheme: "diverging",
    text: false,
    caption:
      'Rows: a level and the characters its position has fused (L1 "ab": one pair); columns: the channels.',
  };
  const detail = ([row, c]: Target): DetailFigure => {
    const at = rowsOf[row ?? -1];
    const level = at ? read[at.k] : undefined;
    if (!at || !level || c === undefined || c < 0 || c >= level.act[0]!.length)
      throw new RangeError(`no unit at row ${row}, channel ${c}`);
    const { k, p } = at;
    return {
      kind: "detail",
      id: "detail",
      title: `Level ${k + 1}, position ${p} ("${span(k, p)}"), channel ${c}`,
      wide: true,
      of: { figure: "units", target: [row!, c] },
      values: [
        { label: "pre-activation w·[left; right]", value: level.pre[p]![c]! },
        { label: "after BatchNorm (running statistics)", value: level.normalised[p]![c]! },
        { label: "activation tanh", value: level.act[p]![c]! },
        { label: "d loss / d activation", value: level.dAct[p]![c]! },
        { label: "d loss / d pre-activation", value: level.dPre[p]![c]! },
      ],
      vectors: [
        {
          label: `its input: the two positions below, concatenated (${level.input[p]!.length})`,
          values: level.input[p]!,
        },
        { label: "its weights", values: level.W[c]! },
      ],
      tex: `h = \\tanh\\big(\\operatorname{BN}(w \\cdot [x_{${2 * p}}; x_{${2 * p + 1}}])\\big) = \\tanh(${level.normalised[p]![c]!.toFixed(4)}) = ${level.act[p]![c]!.toFixed(4)}`,
      code: {
        file: "src/models/makemore.ts",
        symbol: "export function wavenet",
        line: "new Linear(inputWidth, nHidden, { bias: false, generator }),",
      },
      caption: `For the context "${context.join("")}", whose next character is "${next}".`,
    };
  };
  return { figure, detail };
}
// #endregion

export const lesson: Lesson = {
  id: "06-wavenet",
  number: 6,
  title: "WaveNet",
  summary: "A deeper, hierarchical model: eight characters of context fused two at a time.",
  lecture: {
    title: "Building makemore Part 5: Building a WaveNet",
    url: "https://www.youtube.com/watch?v=t3YJ5hKiMQ0",
  },
  sections: [
    {
      id: "wavenet",
      title: "Fusing the context two at a time",
      cells: [
        {
          kind: "text",
          text: "Crushing eight characters into one hidden layer at once loses information. A WaveNet fuses neighbours instead: pairs of characters, then pairs of pairs, then the two halves — three levels of `FlattenConsecutive(2)`, Linear, BatchNorm, tanh. The batch dimension grows a time dimension ($[B, 4, 48] \\to [B, 2, 256] \\to [B, 256]$), so BatchNorm must average over both. With 24-dimensional embeddings and 128 hidden units: 76,579 parameters.",
        },
        { kind: "code", file: "src/models/makemore.ts", symbol: "export function wavenet" },
        {
          kind: "code",
          file: THIS,
          region: "layer-tree",
          caption: "The figures of the layers",
          collapsed: true,
        },
        {
          kind: "code",
          file: "src/nn/layers.ts",
          symbol: "export class FlattenConsecutive",
          collapsed: true,
        },
        { kind: "code", file: THIS, region: "wavenet", caption: "The experiment", collapsed: true },
        {
          kind: "text",
          text: "Every unit of the tree for one context is a cell below: a level, a position, a channel. Click one to see the pair of positions it fuses, its weights, its value before and after BatchNorm and tanh, and its gradient.",
        },
        { kind: "code", file: THIS, region: "units", caption: "the units", collapsed: true },
      ],
      experiment: {
        id: "wavenet",
        title: "Train the WaveNet",
        streaming: true,
        params: {
          steps: { kind: "int", label: "steps", default: 600, min: 10, max: 200_000 },
          nEmbd: { kind: "int", label: "embedding size", default: 24, min: 2, max: 64 },
          nHidden: { kind: "int", label: "hidden neurons", default: 128, min: 8, max: 512 },
          seed: { kind: "int", label: "seed", default: 42 },
        },
        run: trainWavenet,
      },
    },
  ],
};
