/**
 * HellaSwag evaluation as build-nanogpt's hellaswag.py: the four rows of an example (context +
 * ending, padded to the longest) go through the model at once; each ending scores the summed
 * cross-entropy of its own tokens given everything before them. The lowest sum is the prediction
 * ("acc"), the lowest mean per token is the normalised prediction ("acc_norm", the figure the
 * lecture quotes: GPT-2 124M 0.2955).
 */
import { type HellaSwagExample, type RenderedExample, renderExample } from "../data/hellaswag.js";
import type { GPT, GPTConfig } from "../models/gpt.js";
import { crossEntropy, noGrad, tensor, tidy } from "../tensor/index.js";

export interface HellaSwagScore {
  ind: number;
  label: number;
  /** Summed and mean loss of each ending's tokens. */
  sumLoss: number[];
  avgLoss: number[];
  pred: number;
  predNorm: number;
}

export interface HellaSwagResult {
  examples: number;
  correct: number;
  correctNorm: number;
  acc: number;
  accNorm: number;
  scores: HellaSwagScore[];
}

/** Index of the smallest value (the first on a tie, as torch.argmin). */
function argmin(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! < values[best]!) best = i;
  return best;
}

/** An example's rows, checked to fit a model of `config`: ids in its vocabulary, rows within its block size. */
export function renderForModel(
  example: HellaSwagExample,
  encode: (text: string) => number[],
  { vocabSize, blockSize }: Pick<GPTConfig, "vocabSize" | "blockSize">,
): RenderedExample {
  const rendered = renderExample(example, encode);
  const { rows } = rendered;
  for (const row of rows) {
    const bad = row.find((id) => id >= vocabSize);
    if (bad !== undefined)
      throw new RangeError(
        `HellaSwag example ${example.ind}: token id ${bad} is outside the model's vocabulary of ${vocabSize}`,
      );
  }
  const width = Math.max(...rows.map((r) => r.length));
  if (width > blockSize)
    throw new RangeError(
      `HellaSwag example ${example.ind}: ${width} tokens of context and ending, the model's block size is ${blockSize}`,
    );
  return rendered;
}

/** Score one example: the summed and mean loss of each ending. Reads back asynchronously, so it runs on every backend. */
export async function scoreExample(
  model: GPT,
  example: HellaSwagExample,
  encode: (text: string) => number[],
): Promise<HellaSwagScore> {
  const { rows, masks, label } = renderForModel(example, encode, model.config);
  const { vocabSize } = model.config;
  const width = Math.max(...rows.map((r) => r.length));
  const tokens = new Int32Array(4 * width);
  for (const [i, r] of rows.entries()) tokens.set(r, i * width);
  // Targets are the next tokens; positions outside the ending (context, padding) are ignored.
  const targets = new Int32Array(4 * (width - 1)).fill(-1);
  rows.forEach((r, i) => {
    for (let t = 0; t + 1 < r.length; t++) if (masks[i]![t + 1]) targets[i * (width - 1) + t] = r[t + 1]!;
  });
  const lossTensor = noGrad(() =>
    tidy(() => {
      const { logits } = model.forward(tensor(tokens, { shape: [4, width], dtype: "int32" }));
      const shifted = logits.slice(1, 0, width - 1).reshape([-1, vocabSize]);
      return crossEntropy(shifted, tensor(targets, { dtype: "int32" }), {
        reduction: "none",
        ignoreIndex: -1,
      });
    }),
  );
  let losses: ArrayLike<number>;
  try {
    losses = await lossTensor.data();
  } finally {
    lossTensor.dispose();
  }
  const sumLoss = [0, 0, 0, 0];
  const count = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++)
    for (let t = 0; t < width - 1; t++)
      if (targets[i * (width - 1) + t]! >= 0) {
        sumLoss[i]! += losses[i * (width - 1) + t]!;
        count[i]!++;
      }
  const avgLoss = sumLoss.map((s, i) => s / count[i]!);
  return { ind: example.ind, label, sumLoss, avgLoss, pred: argmin(sumLoss), predNorm: argmin(avgLoss) };
}

/** Evaluate `examples` (in eval mode), calling onExample after each for progress. */
export async function evaluateHellaSwag(
  model: GPT,
  examples: readonly HellaSwagExample[],
  encode: (text: string) => number[],
  onExample?: (done: number, result: HellaSwagResult) => void,
): Promise<HellaSwagResult> {
  const wasTraining = model.training;
  model.eval();
  const result: HellaSwagResult = { examples: 0, correct: 0, correctNorm: 0, acc: 0, accNorm: 0, scores: [] };
  try {
    for (const ex of examples) {
      const s = await scoreExample(model, ex, encode);
      result.scores.push(s);
      result.examples++;
      if (s.pred === s.label) result.correct++;
      if (s.predNorm === s.label) result.correctNorm++;
      result.acc = result.correct / result.examples;
      result.accNorm = result.correctNorm / result.examples;
      onExample?.(result.examples, result);
    }
  } finally {
    if (wasTraining) model.train();
  }
  return result;
}
