/** What lessons 3–6 share: the names split into context windows, and the lectures' training loop. */
import { buildContextWindows, CharVocabulary, splitWords } from "../src/data/index.js";
import type { Mlp } from "../src/models/makemore.js";
import type { Layer } from "../src/nn/index.js";
import { SGD } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import { noGrad, type Tensor } from "../src/tensor/index.js";
import { evaluateLoss, trainStep, type WindowTensors, windowTensors } from "../src/train/makemore.js";
import { loadNames } from "./data.js";
import type { LabContext } from "./lesson.js";
import type { RecordedLayer } from "./neuron-history.js";

export interface WindowSplits {
  vocab: CharVocabulary;
  train: WindowTensors;
  dev: WindowTensors;
}

/**
 * The names of an MLP's input neurons over a context: number d of character ch's embedding,
 * written ch with d as a subscript ("e₃" is C[e][3]), so a network figure can print it in a neuron.
 */
export function embeddingLabels(context: readonly string[], nEmbd: number): string[] {
  const subscript = (d: number) => String(d).replace(/\d/g, (c) => "₀₁₂₃₄₅₆₇₈₉"[Number(c)]!);
  return context.flatMap((ch) => Array.from({ length: nEmbd }, (_, d) => `${ch}${subscript(d)}`));
}

/** The lectures' data: names shuffled with a fixed seed, 80% train, 10% dev, as context windows. */
export async function windowSplits(blockSize: number): Promise<WindowSplits> {
  const words = await loadNames();
  const vocab = CharVocabulary.fromWords(words);
  const split = splitWords(words, new Random(42));
  return {
    vocab,
    train: windowTensors(buildContextWindows(split.train, vocab, blockSize)),
    dev: windowTensors(buildContextWindows(split.dev, vocab, blockSize)),
  };
}

export interface TrainOptions {
  steps: number;
  lr: number;
  /** Fraction of the steps after which the learning rate drops 10× (the lectures' step decay). */
  decayAt: number;
  batchSize: number;
  seed: number;
}

// #region train-loop
/**
 * The loop of lectures 3–6: minibatches of 32 random windows, SGD, learning rate ÷10 late in
 * training. Streams log10(loss) as the lectures plot it, and evaluates on train and dev at the end.
 * (The train split is shuffled names, so its first windows are a fair sample of it.)
 */
export async function trainWindows(
  model: Layer,
  data: WindowSplits,
  { steps, lr, decayAt, batchSize, seed }: TrainOptions,
  lab: LabContext,
): Promise<{ train: number; dev: number }> {
  const optimizer = new SGD(model.parameters(), { lr });
  const batches = new Random(seed);
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "loss",
      title: "Minibatch loss (log10)",
      xLabel: "step",
      yLabel: "log10 loss",
      series: ["loss"],
    },
  });
  let window: { x: number; y: number }[] = [];
  for (let step = 0; step < steps; step++) {
    optimizer.lr = step < decayAt * steps ? lr : lr / 10;
    const loss = trainStep(model, optimizer, data.train, batchSize, batches);
    window.push({ x: step, y: Math.log10(loss) });
    if (window.length === 20 || step === steps - 1) {
      lab.emit({ type: "points", figure: "loss", series: "loss", points: window });
      window = [];
    }
    await lab.tick();
  }
  // The train loss on as many windows as dev has: the same estimate, a tenth of the work.
  const n = data.dev.X.shape[0]!;
  const trainSample = { X: data.train.X.slice(0, 0, n), Y: data.train.Y.slice(0, 0, n) };
  return { train: evaluateLoss(model, trainSample), dev: evaluateLoss(model, data.dev) };
}
// #endregion

/** The lecture MLP's tanh layer, for a NeuronRecorder: its hook re-reads h = tanh(C[X]·W1 + b1). */
export function mlpHiddenLayer(model: Mlp): RecordedLayer {
  return {
    layer: 1,
    weight: model.W1,
    orientation: "columns",
    nonlinearity: "tanh",
    module: model,
    read: (inputs) => noGrad(() => model.hidden(inputs[0] as Tensor)),
  };
}
