/**
 * Training GPT as nanoGPT's train.py does (platform-free part): presets, the configuration, random
 * batches from a token array, the learning-rate schedule, and a trainer holding model, optimizer and
 * generator whose whole state can be saved and restored, so a resumed run continues the exact loss
 * curve. Files, checkpoints and the loop with logging are in ./gpt-node.js.
 */
import { GPT, type GPTConfig } from "../models/gpt.js";
import { AdamW, clipGradNorm, cosineWithWarmup } from "../optim/index.js";
import { Random, type RandomState } from "../random/index.js";
import { noGrad, type Tensor, tensor, tidy } from "../tensor/index.js";

export interface TrainConfig {
  /** "shakespeare_char" (65 characters) or "shakespeare" (GPT-2 BPE tokens). */
  dataset: string;
  batchSize: number;
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  dropout: number;
  bias: boolean;
  gelu: "tanh" | "none";
  /** 0: take it from the data set (meta.json, or 50304 for GPT-2 BPE as nanoGPT pads it). */
  vocabSize: number;
  learningRate: number;
  minLr: number;
  warmupIters: number;
  lrDecayIters: number;
  decayLr: boolean;
  maxIters: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  gradClip: number;
  gradientAccumulationSteps: number;
  evalInterval: number;
  evalIters: number;
  logInterval: number;
  /** Save a checkpoint at every evaluation, not only when val improves (the last one is always kept for resume). */
  alwaysSaveCheckpoint: boolean;
  seed: number;
  /** Tokens of sample text generated at each evaluation (0: none). */
  sampleTokens: number;
}

/** nanoGPT's train.py defaults with the shakespeare_char config (config/train_shakespeare_char.py). */
const SHAKESPEARE_CHAR: TrainConfig = {
  dataset: "shakespeare_char",
  batchSize: 64,
  blockSize: 256,
  nLayer: 6,
  nHead: 6,
  nEmbd: 384,
  dropout: 0.2,
  bias: false,
  gelu: "none",
  vocabSize: 0,
  learningRate: 1e-3,
  minLr: 1e-4,
  warmupIters: 100,
  lrDecayIters: 5000,
  decayLr: true,
  maxIters: 5000,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  gradClip: 1.0,
  gradientAccumulationSteps: 1,
  evalInterval: 250,
  evalIters: 200,
  logInterval: 10,
  alwaysSaveCheckpoint: false,
  seed: 1337,
  sampleTokens: 200,
};

/** Lecture 9's GPT-2 recipe (build-nanogpt), on the data sets available here. */
function gpt2Preset(nLayer: number, nHead: number, nEmbd: number): TrainConfig {
  return {
    ...SHAKESPEARE_CHAR,
    dataset: "shakespeare",
    batchSize: 8,
    blockSize: 1024,
    nLayer,
    nHead,
    nEmbd,
    dropout: 0,
    bias: true,
    gelu: "tanh",
    vocabSize: 50304,
    learningRate: 6e-4,
    minLr: 6e-5,
    warmupIters: 715,
    lrDecayIters: 19073,
    maxIters: 19073,
    weightDecay: 0.1,
    beta1: 0.9,
    beta2: 0.95,
    gradClip: 1.0,
    // 524,288 tokens per step at batch 8 × 1024.
    gradientAccumulationSteps: 64,
    evalInterval: 250,
    evalIters: 20,
    logInterval: 1,
    sampleTokens: 64,
  };
}

export const PRESETS: Record<string, TrainConfig> = {
  // nanoGPT README's CPU command: loss ~1.88 in a few minutes on a laptop.
  "shakespeare-char-cpu": {
    ...SHAKESPEARE_CHAR,
    blockSize: 64,
    batchSize: 12,
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    maxIters: 2000,
    lrDecayIters: 2000,
    dropout: 0,
    evalIters: 20,
    logInterval: 1,
  },
  // The 10.65M "baby GPT" (best val 1.4697 on an A100).
  "shakespeare-char": { ...SHAKESPEARE_CHAR },
  gpt2: gpt2Preset(12, 12, 768),
  "gpt2-medium": gpt2Preset(24, 16, 1024),
  "gpt2-large": gpt2Preset(36, 20, 1280),
  "gpt2-xl": gpt2Preset(48, 25, 1600),
};

export function presetConfig(name: string): TrainConfig {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset "${name}"; known: ${Object.keys(PRESETS).join(", ")}`);
  return { ...p };
}

const SNAKE_ALIASES: Record<string, keyof TrainConfig> = {
  batch_size: "batchSize",
  block_size: "blockSize",
  n_layer: "nLayer",
  n_head: "nHead",
  n_embd: "nEmbd",
  vocab_size: "vocabSize",
  learning_rate: "learningRate",
  min_lr: "minLr",
  warmup_iters: "warmupIters",
  lr_decay_iters: "lrDecayIters",
  decay_lr: "decayLr",
  max_iters: "maxIters",
  weight_decay: "weightDecay",
  grad_clip: "gradClip",
  gradient_accumulation_steps: "gradientAccumulationSteps",
  eval_interval: "evalInterval",
  eval_iters: "evalIters",
  log_interval: "logInterval",
  always_save_checkpoint: "alwaysSaveCheckpoint",
  sample_tokens: "sampleTokens",
};

/** Apply "key=value" overrides (camelCase or nanoGPT's snake_case keys); values typed like the preset's. */
export function applyOverrides(config: TrainConfig, settings: readonly string[]): TrainConfig {
  const out = { ...config } as unknown as Record<string, unknown>;
  for (const s of settings) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new Error(`--set expects key=value, got "${s}"`);
    const rawKey = s.slice(0, eq).trim();
    const value = s.slice(eq + 1).trim();
    const key = SNAKE_ALIASES[rawKey] ?? rawKey;
    if (!(key in config))
      throw new Error(`unknown setting "${rawKey}"; known: ${Object.keys(config).join(", ")}`);
    const current = out[key];
    if (typeof current === "number") {
      const n = Number(value);
      if (value === "" || !Number.isFinite(n))
        throw new Error(`setting ${rawKey} expects a number, got "${value}"`);
      out[key] = n;
    } else if (typeof current === "boolean") {
      if (!["true", "false", "1", "0"].includes(value.toLowerCase()))
        throw new Error(`setting ${rawKey} expects true or false, got "${value}"`);
      out[key] = value === "true" || value === "1";
    } else out[key] = value;
  }
  const c = out as unknown as TrainConfig;
  for (const k of [
    "batchSize",
    "blockSize",
    "maxIters",
    "evalInterval",
    "evalIters",
    "gradientAccumulationSteps",
  ] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0)
      throw new Error(`setting ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.gelu !== "tanh" && c.gelu !== "none")
    throw new Error(`setting gelu must be tanh or none, got "${c.gelu}"`);
  return c;
}

export function modelConfig(c: TrainConfig, vocabSize: number): GPTConfig {
  return {
    blockSize: c.blockSize,
    vocabSize,
    nLayer: c.nLayer,
    nHead: c.nHead,
    nEmbd: c.nEmbd,
    dropout: c.dropout,
    bias: c.bias,
    gelu: c.gelu,
  };
}

/** nanoGPT's get_lr (or the constant rate when decayLr is off). */
export function learningRateAt(c: TrainConfig, iter: number): number {
  if (!c.decayLr) return c.learningRate;
  return cosineWithWarmup(iter, {
    maxLr: c.learningRate,
    minLr: c.minLr,
    warmupIters: c.warmupIters,
    decayIters: c.lrDecayIters,
  });
}

/** Token ids of one split (uint16 .bin files). */
export interface TokenSplits {
  train: Uint16Array;
  val: Uint16Array;
}

/** batchSize random windows: x = data[i : i+T], y = data[i+1 : i+1+T] (nanoGPT's get_batch). */
export function getBatch(
  data: Uint16Array,
  batchSize: number,
  blockSize: number,
  generator: Random,
): { x: Tensor; y: Tensor } {
  if (data.length <= blockSize + 1)
    throw new RangeError(`getBatch: ${data.length} tokens are too few for block size ${blockSize}`);
  const xs = new Int32Array(batchSize * blockSize);
  const ys = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const i = generator.randint(0, data.length - blockSize);
    for (let t = 0; t < blockSize; t++) {
      xs[b * blockSize + t] = data[i + t]!;
      ys[b * blockSize + t] = data[i + t + 1]!;
    }
  }
  return {
    x: tensor(xs, { shape: [batchSize, blockSize], dtype: "int32" }),
    y: tensor(ys, { shape: [batchSize, blockSize], dtype: "int32" }),
  };
}

/** Serialized trainer state: what resume needs besides the weights and the Adam moments. */
export interface TrainerState {
  iter: number;
  bestValLoss: number | null;
  rng: RandomState;
  optimizer: { step: number; groups: unknown[] };
  config: TrainConfig;
  vocabSize: number;
}

/**
 * Model, AdamW (weight decay on ≥2-D parameters only, as nanoGPT's configure_optimizers) and the
 * generator that draws batches and dropout masks.
 */
export class GPTTrainer {
  readonly model: GPT;
  readonly optimizer: AdamW;
  readonly rng: Random;
  iter = 0;
  bestValLoss: number | null = null;

  constructor(
    readonly config: TrainConfig,
    readonly vocabSize: number,
    readonly data: TokenSplits,
  ) {
    this.rng = new Random(config.seed);
    this.model = new GPT(modelConfig(config, vocabSize), { generator: this.rng });
    const params = this.model.parameters();
    this.optimizer = new AdamW(
      [
        { params: params.filter((p) => p.ndim >= 2), weightDecay: config.weightDecay },
        { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
      ],
      { lr: config.learningRate, betas: [config.beta1, config.beta2], eps: 1e-8 },
    );
  }

  /** One optimizer step at this.iter (gradient accumulation, clipping); returns the mean loss. */
  step(): { loss: number; lr: number; gradNorm: number | null } {
    const c = this.config;
    const lr = learningRateAt(c, this.iter);
    this.optimizer.lr = lr;
    this.model.train();
    let total = 0;
    for (let micro = 0; micro < c.gradientAccumulationSteps; micro++) {
      total += tidy(() => {
        const { x, y } = getBatch(this.data.train, c.batchSize, c.blockSize, this.rng);
        const { loss } = this.model.forward(x, { targets: y });
        const scaled = c.gradientAccumulationSteps === 1 ? loss! : loss!.div(c.gradientAccumulationSteps);
        scaled.backward();
        return loss!.item();
      });
    }
    const gradNorm = c.gradClip > 0 ? clipGradNorm(this.model.parameters(), c.gradClip) : null;
    tidy(() => this.optimizer.step());
    this.optimizer.zeroGrad();
    this.iter++;
    return { loss: total / c.gradientAccumulationSteps, lr, gradNorm };
  }

  /** Mean loss over evalIters random batches of each split, in eval mode (nanoGPT's estimate_loss). */
  estimateLoss(): { train: number; val: number } {
    const c = this.config;
    this.model.eval();
    try {
      const split = (data: Uint16Array) => {
        let sum = 0;
        for (let k = 0; k < c.evalIters; k++) {
          sum += noGrad(() =>
            tidy(() => {
              const { x, y } = getBatch(data, c.batchSize, c.blockSize, this.rng);
              return this.model.forward(x, { targets: y }).loss!.item();
            }),
          );
        }
        return sum / c.evalIters;
      };
      return { train: split(this.data.train), val: split(this.data.val) };
    } finally {
      this.model.train();
    }
  }

  /** Everything a checkpoint holds: weights, Adam moments by parameter index, and the JSON state. */
  checkpointContents(): {
    weights: Map<string, Tensor>;
    optimizer: Map<string, Tensor>;
    state: TrainerState;
  } {
    const weights = new Map(this.model.namedParameters());
    const sd = this.optimizer.stateDict();
    const optimizer = new Map<string, Tensor>();
    for (const [i, s] of Object.entries(sd.state))
      for (const [k, t] of Object.entries(s)) optimizer.set(`${i}.${k}`, t);
    return {
      weights,
      optimizer,
      state: {
        iter: this.iter,
        bestValLoss: this.bestValLoss,
        rng: this.rng.getState(),
        optimizer: { step: sd.step, groups: sd.groups },
        config: this.config,
        vocabSize: this.vocabSize,
      },
    };
  }

  /** Restore from checkpointContents() (as read back from disk). */
  restore(
    weights: Map<string, Tensor>,
    optimizer: Map<string, Tensor> | undefined,
    state: TrainerState,
  ): void {
    this.model.loadStateDict(weights, { strict: false });
    const missing = this.model.namedParameters().filter(([k]) => !weights.has(k));
    if (missing.length > 0) throw new Error(`checkpoint is missing ${missing.map(([k]) => k).join(", ")}`);
    const byIndex: Record<string, Record<string, Tensor>> = {};
    for (const [key, t] of optimizer ?? []) {
      const dot = key.indexOf(".");
      const i = key.slice(0, dot);
      byIndex[i] ??= {};
      byIndex[i][key.slice(dot + 1)] = t;
    }
    this.optimizer.loadStateDict({
      step: state.optimizer.step,
      groups: state.optimizer.groups as never,
      state: byIndex,
    });
    this.rng.setState(state.rng);
    this.iter = state.iter;
    this.bestValLoss = state.bestValLoss;
  }
}
