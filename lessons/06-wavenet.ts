/**
 * Lesson 6: makemore part 5, a WaveNet. A context of 8 characters is fused two at a time, level by
 * level, instead of squashed into one layer at once. Follows "Building makemore Part 5: Building a WaveNet".
 */
import { sampleWords, wavenet } from "../src/models/makemore.js";
import type { Sequential } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { noGrad } from "../src/tensor/index.js";
import { type LabContext, type Lesson, type Params, param } from "./lesson.js";
import { trainWindows, windowSplits } from "./makemore-common.js";

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
  noGrad(() => {
    let x = data.train.X.slice(0, 0, 4);
    lab.emit({ type: "log", text: `input ${JSON.stringify(x.shape)}` });
    for (const layer of model.layers) {
      x = layer.forward(x);
      lab.emit({
        type: "log",
        text: `${layer.toString().split("\n")[0]!.padEnd(40)} → ${JSON.stringify(x.shape)}`,
      });
    }
  });
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
