/**
 * Lecture 4's diagnostics, as a library the CLI and the lab share: what the activations and
 * gradients of each layer look like (histograms, mean, std, % saturated), how big each weight's
 * gradient is next to its values (grad:data), and how big each update is next to the values
 * (update:data, whose log10 should sit near −3).
 */

import { batchIndices } from "../data/index.js";
import {
  BatchNorm1d,
  capture,
  Dropout,
  Embedding,
  Flatten,
  FlattenConsecutive,
  GELU,
  type Layer,
  LayerNorm,
  Linear,
  ReLU,
  Sequential,
  Tanh,
} from "../nn/index.js";
import { SGD } from "../optim/index.js";
import { globalRandom, Random } from "../random/index.js";
import { crossEntropy, noGrad, randn, type Tensor, tensor, tidy } from "../tensor/index.js";

export interface Histogram {
  /** Bin centres. */
  x: number[];
  /** Probability density in each bin (integrates to 1, as torch.histogram(density=True)). */
  density: number[];
}

export function histogram(
  values: ArrayLike<number>,
  { bins = 100, range }: { bins?: number; range?: [number, number] } = {},
): Histogram {
  let lo = range?.[0] ?? Number.POSITIVE_INFINITY;
  let hi = range?.[1] ?? Number.NEGATIVE_INFINITY;
  if (!range) {
    for (let i = 0; i < values.length; i++) {
      lo = Math.min(lo, values[i]!);
      hi = Math.max(hi, values[i]!);
    }
  }
  if (!(hi > lo)) hi = lo + 1e-12;
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  let inside = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo || v > hi) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
    inside++;
  }
  return {
    x: counts.map((_, i) => lo + (i + 0.5) * width),
    density: counts.map((c) => (inside === 0 ? 0 : c / (inside * width))),
  };
}

export interface Moments {
  mean: number;
  std: number;
}

/** Mean and (Bessel-corrected, as torch.std) standard deviation. */
export function moments(values: ArrayLike<number>): Moments {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(sq / Math.max(1, n - 1)) };
}

export interface LayerTrace {
  index: number;
  kind: string;
  out: Tensor;
}

/** Known layer classes by name: a bundler's minifier renames classes, so constructor.name cannot be trusted. */
const LAYER_KINDS: [new (...args: never[]) => Layer, string][] = [
  [Tanh, "Tanh"],
  [ReLU, "ReLU"],
  [GELU, "GELU"],
  [Linear, "Linear"],
  [BatchNorm1d, "BatchNorm1d"],
  [LayerNorm, "LayerNorm"],
  [Embedding, "Embedding"],
  [FlattenConsecutive, "FlattenConsecutive"],
  [Flatten, "Flatten"],
  [Dropout, "Dropout"],
];

export function layerKind(layer: Layer): string {
  return LAYER_KINDS.find(([cls]) => layer instanceof cls)?.[1] ?? layer.constructor.name;
}

/** Run a Sequential with a hook on each layer keeping its output (and its gradient, after backward). */
export function tracedForward(model: Sequential, x: Tensor): { out: Tensor; traces: LayerTrace[] } {
  const outputs = capture(model.layers, { grad: true });
  let out: Tensor;
  try {
    out = model.forward(x);
  } finally {
    outputs.remove();
  }
  const traces = model.layers.map((layer, index) => ({
    index,
    kind: layerKind(layer),
    out: outputs.values[index]!,
  }));
  return { out, traces };
}

export interface LayerStats extends Moments {
  name: string;
  /** Percentage of |t| > threshold (saturated tanh units). */
  saturated: number;
  histogram: Histogram;
}

/** The lecture's "forward pass activation statistics" of the layers of one kind (Tanh by default). */
export function activationStats(
  traces: LayerTrace[],
  { kind = "Tanh", threshold = 0.97 } = {},
): LayerStats[] {
  return traces
    .filter((t) => t.kind === kind)
    .map((t) => {
      const v = t.out.dataSync();
      let sat = 0;
      for (let i = 0; i < v.length; i++) if (Math.abs(v[i]!) > threshold) sat++;
      return {
        name: `layer ${t.index} (${t.kind})`,
        ...moments(v),
        saturated: (100 * sat) / v.length,
        histogram: histogram(v),
      };
    });
}

/** The lecture's "backward pass gradient statistics" of the same layers. */
export function gradientStats(traces: LayerTrace[], { kind = "Tanh" } = {}): LayerStats[] {
  return traces
    .filter((t) => t.kind === kind && t.out.grad)
    .map((t) => {
      const g = t.out.grad!.dataSync();
      return { name: `layer ${t.index} (${t.kind})`, ...moments(g), saturated: 0, histogram: histogram(g) };
    });
}

export interface WeightGradStats extends Moments {
  name: string;
  shape: number[];
  /** std(grad) / std(data): how big a gradient step is next to the weights. */
  gradToData: number;
  histogram: Histogram;
}

/** Gradient statistics of the 2-D weights (the lecture skips biases and BatchNorm's 1-D parameters). */
export function weightGradStats(named: [string, Tensor][]): WeightGradStats[] {
  return named
    .filter(([, p]) => p.ndim === 2 && p.grad)
    .map(([name, p]) => {
      const g = p.grad!.dataSync();
      const grad = moments(g);
      return {
        name,
        shape: [...p.shape],
        ...grad,
        gradToData: grad.std / moments(p.dataSync()).std,
        histogram: histogram(g),
      };
    });
}

/**
 * log10(std(lr·grad) / std(data)) for each parameter: the relative size of this step's update.
 * Around −3 is healthy; far below, the parameters learn too slowly; far above, too fast.
 */
export function updateToDataRatios(named: [string, Tensor][], lr: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, p] of named) {
    if (!p.grad) continue;
    out[name] = Math.log10((lr * moments(p.grad.dataSync()).std) / moments(p.dataSync()).std);
  }
  return out;
}

export interface DeepTanhConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  /** Hidden Linear–(BatchNorm)–Tanh blocks (the lecture uses 5). */
  depth: number;
  batchNorm: boolean;
  /** Multiplier of the 1/√fan_in weights (the lecture's tanh gain 5/3). */
  gain: number;
  generator?: Random;
}

/**
 * Lecture 4's deep network for watching the statistics: Embedding, then `depth` Linear layers each
 * followed by (BatchNorm and) Tanh, and an output Linear (and BatchNorm). Weights start as
 * randn/√fan_in · gain, the output layer 10× smaller. With BatchNorm, 27 tokens, context 3,
 * n_embd 10, n_hidden 100 and depth 5: 47,024 parameters.
 */
export function deepTanhNet({
  vocabSize,
  blockSize,
  nEmbd,
  nHidden,
  depth,
  batchNorm,
  gain,
  generator = globalRandom,
}: DeepTanhConfig): Sequential {
  const linear = (fanIn: number, fanOut: number, scale: number) => {
    const l = new Linear(fanIn, fanOut, { bias: !batchNorm, generator });
    noGrad(() => {
      l.weight.assign(randn([fanOut, fanIn], { generator }).mul(scale / Math.sqrt(fanIn)));
      l.bias?.assign(0);
    });
    return l;
  };
  const layers: Layer[] = [new Embedding(vocabSize, nEmbd, { generator }), new Flatten()];
  for (let i = 0; i < depth; i++) {
    layers.push(linear(i === 0 ? nEmbd * blockSize : nHidden, nHidden, gain));
    if (batchNorm) layers.push(new BatchNorm1d(nHidden));
    layers.push(new Tanh());
  }
  if (batchNorm) {
    layers.push(linear(nHidden, vocabSize, 1));
    const bn = new BatchNorm1d(vocabSize);
    noGrad(() => bn.weight!.assign(0.1)); // less confident at the start, as the lecture's gamma *= 0.1
    layers.push(bn);
  } else {
    layers.push(linear(nHidden, vocabSize, 0.1));
  }
  return new Sequential(...layers);
}

export interface DiagnosticsOptions {
  batchNorm: boolean;
  gain: number;
  depth: number;
  steps: number;
  lr: number;
  seed: number;
  batchSize?: number;
}

export interface DiagnosticsReport {
  numParameters: number;
  /** Statistics after the last step's forward and backward. */
  activations: LayerStats[];
  gradients: LayerStats[];
  weights: WeightGradStats[];
  /** update:data ratio of each 2-D weight at every step. */
  updateRatios: Record<string, { step: number; value: number }[]>;
  losses: number[];
}

/**
 * Lecture 4's experiment: train the deep tanh network with SGD on context windows and record
 * what the diagnostics show. `onStep` may return false to stop early.
 */
export function runDiagnostics(
  data: { X: Tensor; Y: Tensor; vocabSize: number; blockSize: number },
  { batchNorm, gain, depth, steps, lr, seed, batchSize = 32 }: DiagnosticsOptions,
  onStep?: (step: number, loss: number) => boolean | undefined,
): DiagnosticsReport {
  const g = new Random(seed);
  const model = deepTanhNet({
    vocabSize: data.vocabSize,
    blockSize: data.blockSize,
    nEmbd: 10,
    nHidden: 100,
    depth,
    batchNorm,
    gain,
    generator: g,
  });
  const optimizer = new SGD(model.parameters(), { lr });
  const named = model.namedParameters();
  const weights2d = named.filter(([, p]) => p.ndim === 2);
  const report: DiagnosticsReport = {
    numParameters: model.numParameters(),
    activations: [],
    gradients: [],
    weights: [],
    updateRatios: Object.fromEntries(weights2d.map(([name]) => [name, []])),
    losses: [],
  };
  for (let step = 0; step < steps; step++) {
    const loss = tidy(() => {
      const ix = tensor(batchIndices(data.X.shape[0]!, batchSize, g), { dtype: "int32" });
      const { out, traces } = tracedForward(model, data.X.indexSelect(0, ix));
      const l = crossEntropy(out, data.Y.indexSelect(0, ix));
      optimizer.zeroGrad();
      l.backward();
      report.activations = activationStats(traces);
      report.gradients = gradientStats(traces);
      report.weights = weightGradStats(named);
      for (const [name, value] of Object.entries(updateToDataRatios(weights2d, lr))) {
        report.updateRatios[name]!.push({ step, value });
      }
      optimizer.step();
      return l.item();
    });
    report.losses.push(loss);
    if (onStep?.(step, loss) === false) break;
  }
  return report;
}
