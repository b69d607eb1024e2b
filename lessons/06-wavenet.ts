/**
 * Lesson 6: makemore part 5, a WaveNet. A context of 8 characters is fused two at a time, level by
 * level, instead of squashed into one layer at once. Follows "Building makemore Part 5: Building a WaveNet".
 */
import { sampleWords, wavenet } from "../src/models/makemore.js";
import type { Sequential } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { noGrad, type Tensor } from "../src/tensor/index.js";
import { type GraphFigure, type LabContext, type Lesson, type Params, param } from "./lesson.js";
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
  const { train, dev } = await trainWindows(
    model,
    data,
    { steps, lr: 0.1, decayAt: 0.75, batchSize: 32, seed: 1 },
    lab,
  );
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
  noGrad(() => {
    let x = batch;
    model.layers.forEach((layer, i) => {
      x = layer.forward(x);
      const name = layer.toString().split("\n")[0]!.replace(/"/g, "'");
      const fill = fills[name.split("(")[0]!] ?? "#f3f5f8";
      lines.push(
        `  n${i + 1} [label="${name}\\n→ ${shape(x)}", fillcolor="${fill}"];`,
        `  n${i} -> n${i + 1};`,
      );
    });
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
