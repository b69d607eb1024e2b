/**
 * Training GPT as nanoGPT's train.py and build-nanogpt's train_gpt2.py do (platform-free part):
 * presets, the configuration, batches (random windows of a token array, or token shards read in
 * order), the learning-rate schedule, and a trainer holding model, optimizer, generator and data
 * position whose whole state can be saved and restored, so a resumed run continues the exact loss
 * curve. Files, checkpoints and the loop with logging are in ./gpt-node.js.
 */
import type { LoaderState, TokenLoader } from "../data/shards.js";
import { CheckpointError } from "../io/errors.js";
import {
  GPT,
  GPT_LIMITS,
  type GPTConfig,
  gptParameterShapes,
  MAX_GENERATED_TOKENS,
  validateGPTConfig,
} from "../models/gpt.js";
import { AdamW, clipGradNorm, cosineWithWarmup } from "../optim/index.js";
import { Random, type RandomState } from "../random/index.js";
import { cat, fromValues, noGrad, type Tensor, tensor, tidy } from "../tensor/index.js";

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
  /**
   * Tokens per optimizer step (build-nanogpt's total_batch_size); when set, the accumulation steps
   * are total / (batchSize · blockSize), which must divide exactly. 0: gradientAccumulationSteps.
   */
  totalBatchSize: number;
  evalInterval: number;
  evalIters: number;
  logInterval: number;
  /** Save a checkpoint at every evaluation, not only when val improves (the last one is always kept for resume). */
  alwaysSaveCheckpoint: boolean;
  seed: number;
  /** Tokens of sample text generated at each evaluation (0: none). */
  sampleTokens: number;
  /** HellaSwag examples (the first n of val) scored at each evaluation, as build-nanogpt does (0: none). */
  hellaswagExamples: number;
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
  totalBatchSize: 0,
  evalInterval: 250,
  evalIters: 200,
  logInterval: 10,
  alwaysSaveCheckpoint: false,
  seed: 1337,
  sampleTokens: 200,
  hellaswagExamples: 0,
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
    // 524,288 tokens per step: 64 micro-batches of 8 × 1024.
    gradientAccumulationSteps: 64,
    totalBatchSize: 524288,
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
  total_batch_size: "totalBatchSize",
  eval_interval: "evalInterval",
  eval_iters: "evalIters",
  log_interval: "logInterval",
  always_save_checkpoint: "alwaysSaveCheckpoint",
  sample_tokens: "sampleTokens",
  hellaswag_examples: "hellaswagExamples",
};

/** Apply "key=value" overrides (camelCase or nanoGPT's snake_case keys); values typed like the preset's. */
export function applyOverrides(config: TrainConfig, settings: readonly string[]): TrainConfig {
  const out = { ...config } as unknown as Record<string, unknown>;
  let accumulationSet = false;
  for (const s of settings) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new Error(`--set expects key=value, got "${s}"`);
    const rawKey = s.slice(0, eq).trim();
    const value = s.slice(eq + 1).trim();
    const key = SNAKE_ALIASES[rawKey] ?? rawKey;
    if (key === "gradientAccumulationSteps") accumulationSet = true;
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
    // Safe integers only: max_iters=9007199254740993 would silently become 2^53, a run without end.
    if (!Number.isSafeInteger(c[k]) || c[k] <= 0)
      throw new Error(`setting ${k} must be a positive integer below 2^53, got ${c[k]}`);
  }
  checkTrainSizes(c);
  if (c.gelu !== "tanh" && c.gelu !== "none")
    throw new Error(`setting gelu must be tanh or none, got "${c.gelu}"`);
  if (!Number.isInteger(c.totalBatchSize) || c.totalBatchSize < 0)
    throw new Error(`setting totalBatchSize must be a whole number of tokens, got ${c.totalBatchSize}`);
  if (c.totalBatchSize > 0) {
    const micro = c.batchSize * c.blockSize;
    if (c.totalBatchSize % micro !== 0)
      throw new Error(
        `total_batch_size ${c.totalBatchSize} is not a multiple of batch_size × block_size = ${c.batchSize} × ${c.blockSize} = ${micro}`,
      );
    const steps = c.totalBatchSize / micro;
    if (accumulationSet && c.gradientAccumulationSteps !== steps)
      throw new Error(
        `gradient_accumulation_steps=${c.gradientAccumulationSteps} contradicts total_batch_size ${c.totalBatchSize} ` +
          `(${steps} micro-batches of ${micro} tokens); set one of them, or total_batch_size=0`,
      );
    c.gradientAccumulationSteps = steps;
  }
  return c;
}

/** The most tokens in one micro-batch (batch_size × block_size): its activations are allocated at once. */
export const MAX_BATCH_TOKENS = 2 ** 22;

/**
 * The sizes a run allocates by, against the model's limits and each other, before anything is
 * built; errors name the setting (nanoGPT's name), its value and the limit.
 */
export function checkTrainSizes(c: TrainConfig): void {
  const limits: [string, number, number, number][] = [
    ["block_size", c.blockSize, 1, GPT_LIMITS.blockSize],
    ["n_layer", c.nLayer, 1, GPT_LIMITS.nLayer],
    ["n_head", c.nHead, 1, GPT_LIMITS.nHead],
    ["n_embd", c.nEmbd, 1, GPT_LIMITS.nEmbd],
    ["vocab_size", c.vocabSize, 0, GPT_LIMITS.vocabSize],
    ["batch_size", c.batchSize, 1, MAX_BATCH_TOKENS],
    ["sample_tokens", c.sampleTokens, 0, MAX_GENERATED_TOKENS],
  ];
  for (const [name, value, min, max] of limits)
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`setting ${name} must be an integer in [${min}, ${max}], got ${value}`);
  if (c.batchSize * c.blockSize > MAX_BATCH_TOKENS)
    throw new Error(
      `batch_size × block_size = ${c.batchSize} × ${c.blockSize} = ${c.batchSize * c.blockSize} tokens per micro-batch, over the limit of ${MAX_BATCH_TOKENS}`,
    );
  validateGPTConfig(modelConfig(c, c.vocabSize > 0 ? c.vocabSize : 1));
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

/** Token ids of one split (uint16 .bin files): batches are random windows (nanoGPT). */
export interface TokenSplits {
  train: Uint16Array;
  val: Uint16Array;
}

/**
 * Token shards (build-nanogpt): training reads `train` in order; evaluation resets `val` and
 * `trainEval` (a second loader over the training shards) and reads their first evalIters batches,
 * the same ones at every evaluation.
 */
export interface ShardedSplits {
  train: TokenLoader;
  trainEval: TokenLoader;
  val: TokenLoader;
}

export type TrainingData = TokenSplits | ShardedSplits;

export function isSharded(data: TrainingData): data is ShardedSplits {
  return !(data.train instanceof Uint16Array);
}

function batchTensors(
  { x, y }: { x: Int32Array; y: Int32Array },
  batchSize: number,
  blockSize: number,
): { x: Tensor; y: Tensor } {
  return {
    x: tensor(x, { shape: [batchSize, blockSize], dtype: "int32" }),
    y: tensor(y, { shape: [batchSize, blockSize], dtype: "int32" }),
  };
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
  /** Position of the training shard loader (sharded data only). */
  loader?: LoaderState;
}

/** Where a checkpoint's parts were read from, for error messages. */
export interface CheckpointFiles {
  weights: string;
  optimizer: string;
  state: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * A state.json read back, checked field by field before anything trusts it (a model of its
 * config is allocated, its RNG state restored): every problem is a CheckpointError naming `file`.
 */
export function validateTrainerState(raw: unknown, file: string): TrainerState {
  const fail = (why: string): never => {
    throw new CheckpointError(file, why);
  };
  if (!isObject(raw)) fail("not a JSON object");
  const s = raw as Record<string, unknown>;
  if (!isCount(s.iter)) fail(`"iter" must be a whole number, got ${JSON.stringify(s.iter)}`);
  if (s.bestValLoss !== null && typeof s.bestValLoss !== "number")
    fail(`"bestValLoss" must be a number or null, got ${JSON.stringify(s.bestValLoss)}`);
  const rng = s.rng as Record<string, unknown>;
  if (
    !isObject(rng) ||
    !Array.isArray(rng.s) ||
    rng.s.length !== 4 ||
    !rng.s.every((w) => Number.isInteger(w) && w >= -0x80000000 && w <= 0xffffffff) ||
    (rng.spareNormal !== null && typeof rng.spareNormal !== "number")
  )
    fail(`"rng" is not a generator state ({s: four 32-bit words, spareNormal})`);
  if ((rng.s as number[]).every((w) => (w | 0) === 0))
    fail(
      `"rng": the generator's four words are all zero, a state xoshiro128** never leaves (every batch the same)`,
    );
  const opt = s.optimizer as Record<string, unknown>;
  if (!isObject(opt) || !isCount(opt.step) || !Array.isArray(opt.groups))
    fail(`"optimizer" must be {step, groups}`);
  (opt.groups as unknown[]).forEach((g, i) => {
    const h = g as Record<string, unknown>;
    const finite = (k: string) => typeof h[k] === "number" && Number.isFinite(h[k]);
    if (
      !isObject(h) ||
      !finite("lr") ||
      !finite("eps") ||
      !finite("weightDecay") ||
      !Array.isArray(h.betas) ||
      h.betas.length !== 2 ||
      !h.betas.every((b) => typeof b === "number" && Number.isFinite(b))
    )
      fail(`optimizer group ${i} is not {lr, betas: [b1, b2], eps, weightDecay} of numbers`);
  });
  if (!isCount(s.vocabSize) || s.vocabSize === 0)
    fail(`"vocabSize" must be a positive integer, got ${JSON.stringify(s.vocabSize)}`);
  const c = s.config as Record<string, unknown>;
  if (!isObject(c)) fail(`"config" is not an object`);
  for (const k of ["batchSize", "blockSize", "nLayer", "nHead", "nEmbd", "gradientAccumulationSteps"])
    if (!isCount(c[k]) || c[k] === 0)
      fail(`config.${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  if (typeof c.dataset !== "string") fail(`config.dataset must be a string`);
  if (typeof c.bias !== "boolean") fail(`config.bias must be true or false`);
  if (c.gelu !== "tanh" && c.gelu !== "none") fail(`config.gelu must be "tanh" or "none"`);
  if (typeof c.dropout !== "number" || !(c.dropout >= 0 && c.dropout < 1))
    fail(`config.dropout must be in [0, 1), got ${JSON.stringify(c.dropout)}`);
  if ((c.nEmbd as number) % (c.nHead as number) !== 0)
    fail(`config.nEmbd ${c.nEmbd} is not divisible by config.nHead ${c.nHead}`);
  try {
    // The limits on each size and on the parameter count, before a model of them is allocated.
    validateGPTConfig(modelConfig(c as unknown as TrainConfig, s.vocabSize as number));
  } catch (error) {
    fail((error as Error).message);
  }
  if (
    s.loader !== undefined &&
    (!isObject(s.loader) || !isCount(s.loader.shard) || !isCount(s.loader.position))
  )
    fail(`"loader" must be {shard, position}`);
  return s as unknown as TrainerState;
}

/**
 * Check a checkpoint's tensors against the model its state describes, before that model is
 * built: the same names, shapes and float32 dtype (so a corrupt state.json cannot make us allocate
 * a model far larger than the file).
 */
export function checkCheckpointWeights(
  config: GPTConfig,
  weights: Map<string, Tensor>,
  file: string,
  stateFile = "state.json",
): void {
  for (const [name, shape] of gptParameterShapes(config)) {
    const t = weights.get(name);
    if (!t) throw new CheckpointError(file, `missing tensor "${name}"`);
    if (t.shape.join(",") !== shape.join(","))
      throw new CheckpointError(
        file,
        `tensor "${name}" has shape [${t.shape.join(", ")}], the config in ${stateFile} needs [${shape.join(", ")}]`,
      );
    if (t.dtype !== "float32") throw new CheckpointError(file, `tensor "${name}" is ${t.dtype}, not float32`);
  }
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
    readonly data: TrainingData,
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

  /** Tokens one optimizer step trains on. */
  get tokensPerStep(): number {
    const c = this.config;
    return c.batchSize * c.blockSize * c.gradientAccumulationSteps;
  }

  /** False when the model lives on an asynchronous backend (webgpu): use stepAsync and estimateLossAsync. */
  get synchronous(): boolean {
    return this.model.parameters()[0]!.backend.synchronous;
  }

  /** The next training micro-batch: a random window (nanoGPT) or the loader's next batch (build-nanogpt). */
  private trainBatch(): { x: Tensor; y: Tensor } {
    const c = this.config;
    if (isSharded(this.data)) return batchTensors(this.data.train.nextBatch(), c.batchSize, c.blockSize);
    return getBatch(this.data.train, c.batchSize, c.blockSize, this.rng);
  }

  /**
   * One optimizer step at this.iter (gradient accumulation, clipping); returns the mean loss.
   * Reads synchronously (js, wasm); stepAsync runs the same step on any backend.
   */
  step(): { loss: number; lr: number; gradNorm: number | null } {
    const { lr, losses, gradNorm } = this.recordStep();
    return { loss: meanOfScalars(losses), lr, gradNorm: gradNorm ? readScalar(gradNorm) : null };
  }

  /**
   * step() for every backend, webgpu included: nothing is read until the step is recorded (the
   * gradient norm and clipping stay on the device), then the losses and the norm come back in one
   * read. Same batches, dropout masks and updates as step().
   */
  async stepAsync(): Promise<{ loss: number; lr: number; gradNorm: number | null }> {
    const { lr, losses, gradNorm } = this.recordStep();
    const values = await readScalars([...losses, ...(gradNorm ? [gradNorm] : [])]);
    const total = values.slice(0, losses.length).reduce((a, b) => a + b, 0);
    return { loss: total / losses.length, lr, gradNorm: gradNorm ? values.at(-1)! : null };
  }

  /** The step, recorded: each micro-batch's loss and the gradients' norm before clipping (0-d, not read). */
  private recordStep(): { lr: number; losses: Tensor[]; gradNorm: Tensor | null } {
    const c = this.config;
    const lr = learningRateAt(c, this.iter);
    this.optimizer.lr = lr;
    this.model.train();
    const losses: Tensor[] = [];
    for (let micro = 0; micro < c.gradientAccumulationSteps; micro++) {
      losses.push(
        tidy(() => {
          const { x, y } = this.trainBatch();
          const { loss } = this.model.forward(x, { targets: y });
          const scaled = c.gradientAccumulationSteps === 1 ? loss! : loss!.div(c.gradientAccumulationSteps);
          scaled.backward();
          return loss!.detach();
        }),
      );
    }
    const gradNorm = c.gradClip > 0 ? clipGradNorm(this.model.parameters(), c.gradClip) : null;
    tidy(() => this.optimizer.step());
    this.optimizer.zeroGrad();
    this.iter++;
    return { lr, losses, gradNorm };
  }

  /**
   * Mean loss over evalIters batches of each split, in eval mode: random batches (nanoGPT's
   * estimate_loss), or for shards the first evalIters batches of each split (build-nanogpt's val
   * loss). Reads synchronously (js, wasm); estimateLossAsync runs the same batches on any backend.
   */
  estimateLoss(): { train: number; val: number } {
    const { train, val } = this.evalLosses();
    return { train: meanOfScalars(train), val: meanOfScalars(val) };
  }

  /** estimateLoss() for every backend: the same batches, every loss read back at once. */
  async estimateLossAsync(): Promise<{ train: number; val: number }> {
    const { train, val } = this.evalLosses();
    const values = await readScalars([...train, ...val]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return { train: mean(values.slice(0, train.length)), val: mean(values.slice(train.length)) };
  }

  /** The eval batches' losses (0-d tensors, nothing read back): train's evalIters, then val's. */
  private evalLosses(): { train: Tensor[]; val: Tensor[] } {
    const c = this.config;
    const data = this.data;
    this.model.eval();
    try {
      const losses = (next: () => { x: Tensor; y: Tensor }) =>
        Array.from({ length: c.evalIters }, () =>
          noGrad(() =>
            tidy(() => {
              const { x, y } = next();
              return this.model.forward(x, { targets: y }).loss!.detach();
            }),
          ),
        );
      if (isSharded(data)) {
        const fromStart = (loader: TokenLoader) => {
          loader.reset();
          return losses(() => batchTensors(loader.nextBatch(), c.batchSize, c.blockSize));
        };
        const train = fromStart(data.trainEval);
        return { train, val: fromStart(data.val) };
      }
      const random = (split: Uint16Array) => () => getBatch(split, c.batchSize, c.blockSize, this.rng);
      const train = losses(random(data.train));
      return { train, val: losses(random(data.val)) };
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
        ...(isSharded(this.data) ? { loader: this.data.train.getState() } : {}),
      },
    };
  }

  /**
   * Restore from checkpointContents() as read back from disk (state checked by
   * validateTrainerState); tensors that do not fit this model are a CheckpointError naming the file.
   */
  restore(
    weights: Map<string, Tensor>,
    optimizer: Map<string, Tensor> | undefined,
    state: TrainerState,
    files: CheckpointFiles = { weights: "weights", optimizer: "optimizer state", state: "state" },
    { resetOptimizer = false }: { resetOptimizer?: boolean } = {},
  ): void {
    checkCheckpointWeights(this.model.config, weights, files.weights);
    const params = this.optimizer.paramGroups.flatMap((g) => g.params);
    if (state.optimizer.groups.length !== this.optimizer.paramGroups.length)
      throw new CheckpointError(
        files.state,
        `${state.optimizer.groups.length} optimizer groups, the trainer has ${this.optimizer.paramGroups.length}`,
      );
    const byIndex: Record<string, Record<string, Tensor>> = {};
    for (const [key, t] of optimizer ?? []) {
      const m = /^(\d+)\.(m|v)$/.exec(key);
      const p = m ? params[Number(m[1])] : undefined;
      if (!m || !p) throw new CheckpointError(files.optimizer, `unexpected tensor "${key}"`);
      if (t.shape.join(",") !== p.shape.join(",") || t.dtype !== p.dtype)
        throw new CheckpointError(
          files.optimizer,
          `"${key}" is ${t.dtype} [${t.shape.join(", ")}], its parameter is ${p.dtype} [${p.shape.join(", ")}]`,
        );
      byIndex[m[1]!] ??= {};
      byIndex[m[1]!]![m[2]!] = t;
    }
    this.model.loadStateDict(weights, { strict: false });
    // Reset: AdamW as new (zero moments, step 0 for the bias correction); the schedule sets lr.
    if (!resetOptimizer)
      this.optimizer.loadStateDict({
        step: state.optimizer.step,
        groups: state.optimizer.groups as never,
        state: byIndex,
      });
    this.rng.setState(state.rng);
    if (isSharded(this.data)) {
      if (!state.loader)
        throw new Error("the checkpoint has no shard loader position: it was not trained on token shards");
      this.data.train.setState(state.loader, "checkpoint loader state");
    }
    this.iter = state.iter;
    this.bestValLoss = state.bestValLoss;
  }
}

/** A 0-d tensor's value, read synchronously; the tensor is freed. */
function readScalar(t: Tensor): number {
  const value = t.item();
  t.dispose();
  return value;
}

/** The mean of 0-d tensors read synchronously (each freed once read). */
function meanOfScalars(scalars: Tensor[]): number {
  let sum = 0;
  for (const t of scalars) sum += readScalar(t);
  return sum / scalars.length;
}

/** One-element tensors read back in one transfer (each freed), as numbers. */
async function readScalars(scalars: Tensor[]): Promise<number[]> {
  if (scalars.length === 0) return [];
  const joined = noGrad(() => cat(scalars.map((t) => t.reshape([1]))));
  for (const t of scalars) t.dispose();
  const values = await joined.data();
  joined.dispose();
  return [...values];
}

/**
 * Host (js backend) copies of tensors, read with await: checkpoints are written from these, since
 * writing reads values synchronously and an asynchronous backend cannot.
 */
export async function onHost(tensors: Map<string, Tensor>): Promise<Map<string, Tensor>> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    out.set(
      name,
      t.backend.readSync ? t : fromValues(await t.data(), t.shape, { dtype: t.dtype, backend: "js" }),
    );
  }
  return out;
}
