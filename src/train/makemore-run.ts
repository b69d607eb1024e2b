/**
 * `hero makemore train` as a library: one configuration for every makemore model, the training
 * loop with periodic evaluation, and rebuilding a model from what a checkpoint records.
 */
import {
  batchIndices,
  buildContextWindows,
  CharVocabulary,
  splitWords,
  type WordSplit,
} from "../data/index.js";
import { CheckpointError } from "../io/errors.js";
import { gptParameterCount } from "../models/gpt.js";
import { Mlp, mlpBatchNorm, sampleWords, wavenet } from "../models/makemore.js";
import {
  BigramTable,
  BoW,
  encodeSequences,
  RecurrentModel,
  type SequenceData,
  type SequenceModel,
  sampleSequences,
  sequenceLoss,
  TransformerModel,
} from "../models/sequence.js";
import type { Layer } from "../nn/index.js";
import { AdamW, SGD } from "../optim/index.js";
import { Random } from "../random/index.js";
import { crossEntropy, noGrad, tensor, tidy } from "../tensor/index.js";
import { evaluateLoss, trainStep, type WindowTensors, windowTensors } from "./makemore.js";

export const MAKEMORE_TYPES = [
  "bigram",
  "mlp",
  "mlp-bn",
  "wavenet",
  "rnn",
  "gru",
  "bow",
  "transformer",
] as const;
export type MakemoreType = (typeof MAKEMORE_TYPES)[number];

export interface MakemoreConfig {
  type: MakemoreType;
  steps: number;
  batchSize: number;
  lr: number;
  /** Window models: lr × 0.1 after this fraction of the steps (the lectures' step decay). */
  lrDecayAt: number;
  weightDecay: number;
  /** Context length of window models; sequence models use the longest name + 1. */
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  seed: number;
  evalInterval: number;
  /** Words of each split to evaluate on (train loss on the first ones of train); 0 = the whole dev split. */
  evalWords: number;
  /** Names sampled at the end. */
  samples: number;
}

/** Defaults per type: the lectures' sizes and optimisers, with step counts that finish in minutes on 2 cores. */
export function makemoreDefaults(type: MakemoreType): MakemoreConfig {
  const base = {
    type,
    batchSize: 32,
    seed: 42,
    weightDecay: 0.01,
    lrDecayAt: 0.5,
    evalInterval: 500,
    evalWords: 0,
    samples: 10,
  };
  switch (type) {
    case "mlp":
      return { ...base, steps: 20_000, lr: 0.1, blockSize: 3, nEmbd: 10, nHidden: 200 };
    case "mlp-bn":
      return { ...base, steps: 20_000, lr: 0.1, blockSize: 3, nEmbd: 10, nHidden: 200 };
    case "wavenet":
      return { ...base, steps: 20_000, lr: 0.1, lrDecayAt: 0.75, blockSize: 8, nEmbd: 24, nHidden: 128 };
    case "bigram":
      return { ...base, steps: 2_000, lr: 1e-2, blockSize: 0, nEmbd: 0, nHidden: 0 };
    case "rnn":
    case "gru":
    case "bow":
      return { ...base, steps: 3_000, lr: 5e-3, blockSize: 0, nEmbd: 64, nHidden: 64, evalInterval: 250 };
    case "transformer":
      return { ...base, steps: 2_000, lr: 1e-3, blockSize: 0, nEmbd: 64, nHidden: 64, evalInterval: 250 };
  }
}

export function isWindowType(type: MakemoreType): boolean {
  return type === "mlp" || type === "mlp-bn" || type === "wavenet";
}

/** A freshly initialised model of the configured type. */
export function buildMakemoreModel(
  config: MakemoreConfig,
  vocabSize: number,
  sequenceBlock: number,
  generator: Random,
): Layer {
  const { nEmbd, nHidden, blockSize } = config;
  switch (config.type) {
    case "mlp":
      return new Mlp({ vocabSize, blockSize, nEmbd, nHidden, generator });
    case "mlp-bn":
      return mlpBatchNorm({ vocabSize, blockSize, nEmbd, nHidden, generator });
    case "wavenet":
      return wavenet({ vocabSize, blockSize, nEmbd, nHidden, generator });
    default: {
      const seq = { vocabSize, blockSize: sequenceBlock, nEmbd, nEmbd2: nHidden, generator };
      if (config.type === "bigram") return new BigramTable(seq);
      if (config.type === "rnn" || config.type === "gru") return new RecurrentModel(config.type, seq);
      if (config.type === "bow") return new BoW(seq);
      return new TransformerModel(seq);
    }
  }
}

export interface MakemoreData {
  vocab: CharVocabulary;
  split: WordSplit;
  /** Sequence models: block = longest name + 1. */
  sequenceBlock: number;
}

export function prepareMakemoreData(words: readonly string[], seed = 42): MakemoreData {
  const vocab = CharVocabulary.fromWords(words);
  return {
    vocab,
    split: splitWords(words, new Random(seed)),
    sequenceBlock: Math.max(...words.map((w) => [...w].length)) + 1,
  };
}

export interface MakemoreProgress {
  step: number;
  loss: number;
  lr: number;
}

export interface MakemoreEval {
  step: number;
  train: number;
  val: number;
}

export interface MakemoreResult {
  model: Layer;
  config: MakemoreConfig;
  losses: number[];
  evals: MakemoreEval[];
  samples: string[];
}

type Batches =
  | { kind: "window"; train: WindowTensors; val: WindowTensors; trainEval: WindowTensors }
  | { kind: "sequence"; train: SequenceData; val: SequenceData; trainEval: SequenceData };

function sequenceEval(model: SequenceModel, data: SequenceData, chunk = 2048): number {
  return model.inEvalMode(() =>
    noGrad(() => {
      const n = data.X.shape[0]!;
      let total = 0;
      let tokens = 0;
      const targets = data.Y.dataSync();
      for (const t of targets) if (t !== -1) tokens++;
      for (let start = 0; start < n; start += chunk) {
        const end = Math.min(n, start + chunk);
        total += tidy(() => {
          const logits = model.forward(data.X.slice(0, start, end));
          const V = logits.shape.at(-1)!;
          return crossEntropy(logits.reshape([-1, V]), data.Y.slice(0, start, end).reshape([-1]), {
            ignoreIndex: -1,
            reduction: "sum",
          }).item();
        });
      }
      return total / tokens;
    }),
  );
}

/** Train one makemore model; evaluation on train and val every evalInterval steps and at the end. */
export function trainMakemore(
  words: readonly string[],
  overrides: Partial<MakemoreConfig> & { type: MakemoreType },
  hooks: { onStep?: (p: MakemoreProgress) => void; onEval?: (e: MakemoreEval) => void } = {},
): MakemoreResult & { data: MakemoreData } {
  const config = { ...makemoreDefaults(overrides.type), ...overrides };
  const data = prepareMakemoreData(words, config.seed);
  const generator = new Random(config.seed);
  const model = buildMakemoreModel(config, data.vocab.size, data.sequenceBlock, generator);
  const window = isWindowType(config.type);
  // The train loss is measured on as many training words as the dev split has.
  const evalCount = config.evalWords > 0 ? config.evalWords : data.split.dev.length;
  const valWords = data.split.dev.slice(0, evalCount);
  const trainWords = data.split.train.slice(0, evalCount);
  const batches: Batches = window
    ? {
        kind: "window",
        train: windowTensors(buildContextWindows(data.split.train, data.vocab, config.blockSize)),
        val: windowTensors(buildContextWindows(valWords, data.vocab, config.blockSize)),
        trainEval: windowTensors(buildContextWindows(trainWords, data.vocab, config.blockSize)),
      }
    : {
        kind: "sequence",
        train: encodeSequences(data.split.train, data.vocab, data.sequenceBlock),
        val: encodeSequences(valWords, data.vocab, data.sequenceBlock),
        trainEval: encodeSequences(trainWords, data.vocab, data.sequenceBlock),
      };
  const optimizer = window
    ? new SGD(model.parameters(), { lr: config.lr })
    : new AdamW(model.parameters(), {
        lr: config.lr,
        betas: [0.9, 0.99],
        eps: 1e-8,
        weightDecay: config.weightDecay,
      });
  const batchRng = new Random(config.seed + 1);
  const losses: number[] = [];
  const evals: MakemoreEval[] = [];
  const evaluate = (step: number) => {
    const e =
      batches.kind === "window"
        ? { step, train: evaluateLoss(model, batches.trainEval), val: evaluateLoss(model, batches.val) }
        : {
            step,
            train: sequenceEval(model as SequenceModel, batches.trainEval),
            val: sequenceEval(model as SequenceModel, batches.val),
          };
    evals.push(e);
    hooks.onEval?.(e);
  };
  for (let step = 0; step < config.steps; step++) {
    if (window) optimizer.lr = step < config.lrDecayAt * config.steps ? config.lr : config.lr * 0.1;
    let loss: number;
    if (batches.kind === "window") {
      loss = trainStep(model, optimizer, batches.train, config.batchSize, batchRng);
    } else {
      const seqData = batches.train;
      loss = tidy(() => {
        const ix = tensor(batchIndices(seqData.X.shape[0]!, config.batchSize, batchRng), { dtype: "int32" });
        const l = sequenceLoss(
          model as SequenceModel,
          seqData.X.indexSelect(0, ix),
          seqData.Y.indexSelect(0, ix),
        );
        optimizer.zeroGrad();
        l.backward();
        optimizer.step();
        return l.item();
      });
    }
    losses.push(loss);
    hooks.onStep?.({ step, loss, lr: optimizer.lr });
    if (config.evalInterval > 0 && step > 0 && step % config.evalInterval === 0) evaluate(step);
  }
  evaluate(config.steps);
  return {
    model,
    config,
    losses,
    evals,
    samples: sampleMakemore(model, config, data, config.samples, new Random(config.seed + 2)),
    data,
  };
}

export function sampleMakemore(
  model: Layer,
  config: MakemoreConfig,
  data: Pick<MakemoreData, "vocab">,
  count: number,
  generator: Random,
  temperature = 1,
): string[] {
  return isWindowType(config.type)
    ? sampleWords(model, data.vocab, config.blockSize, count, { generator, temperature })
    : sampleSequences(model as SequenceModel, data.vocab, count, { generator, temperature });
}

/** The largest sizes a makemore checkpoint may claim (the lectures use 3 to 64 and names of ~15 letters). */
export const MAKEMORE_LIMITS = {
  nEmbd: 65_536,
  nHidden: 65_536,
  blockSize: 1024,
  sequenceBlock: 1024,
  vocab: 65_536,
};

/**
 * Elements of a makemore model's state (parameters and BatchNorm's running statistics), computed
 * from its config without building it.
 */
export function makemoreStateSize(config: MakemoreConfig, vocabSize: number, sequenceBlock: number): number {
  const V = vocabSize;
  const { nEmbd: E, nHidden: H, blockSize: T } = config;
  const head = H * V + V;
  switch (config.type) {
    case "mlp":
      return V * E + T * E * H + H + head;
    case "mlp-bn":
      return V * E + T * E * H + 4 * H + head;
    case "wavenet": {
      const levels = Math.log2(T);
      return V * E + 2 * E * H + 4 * H + (levels - 1) * (2 * H * H + 4 * H) + head;
    }
    case "bigram":
      return V * V;
    case "rnn":
      return H + V * E + (E + H) * H + H + head;
    case "gru":
      return H + V * E + 3 * ((E + H) * H + H) + head;
    case "bow":
      return V * E + sequenceBlock * E + (E * H + H) + (H * E + E) + E * V + V;
    case "transformer":
      // The state lists the tied lm_head.weight beside wte.
      return (
        V * E +
        gptParameterCount({
          vocabSize: V,
          blockSize: sequenceBlock,
          nLayer: 4,
          nHead: 4,
          nEmbd: E,
          dropout: 0,
          bias: true,
        })
      );
  }
}

/**
 * A makemore checkpoint's state.json checked before its model is built: each size in range, and the
 * model they describe the size of the weights in model.safetensors (a config claiming a bigger model
 * than its weights is an error, not gigabytes). Errors name the file, the field, the value and the limit.
 */
export function checkMakemoreCheckpoint(
  state: Record<string, unknown>,
  weights: ReadonlyMap<string, { numel(): number }>,
  stateFile: string,
  weightsFile: string,
): { config: MakemoreConfig; vocab: CharVocabulary; sequenceBlock: number } {
  const fail = (why: string): never => {
    throw new CheckpointError(stateFile, why);
  };
  const config = state.config as MakemoreConfig;
  if (typeof config !== "object" || config === null) fail(`"config" is not an object`);
  if (!(MAKEMORE_TYPES as readonly unknown[]).includes(config.type))
    fail(`config.type must be one of ${MAKEMORE_TYPES.join(", ")}, got ${JSON.stringify(config.type)}`);
  const inRange = (name: string, value: unknown, min: number, max: number): number => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
      fail(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
    return value as number;
  };
  inRange("config.nEmbd", config.nEmbd, 0, MAKEMORE_LIMITS.nEmbd);
  inRange("config.nHidden", config.nHidden, 0, MAKEMORE_LIMITS.nHidden);
  inRange("config.blockSize", config.blockSize, 0, MAKEMORE_LIMITS.blockSize);
  const sequenceBlock = inRange("sequenceBlock", state.sequenceBlock, 1, MAKEMORE_LIMITS.sequenceBlock);
  if (config.type === "wavenet" && !(Number.isInteger(Math.log2(config.blockSize)) && config.blockSize >= 2))
    fail(`config.blockSize must be a power of two >= 2 for wavenet, got ${config.blockSize}`);
  const itos = state.vocab;
  if (
    !Array.isArray(itos) ||
    itos.length < 2 ||
    itos.length > MAKEMORE_LIMITS.vocab ||
    !itos.every((c) => typeof c === "string")
  )
    fail(`"vocab" must be a list of 2 to ${MAKEMORE_LIMITS.vocab} characters`);
  const vocab = new CharVocabulary((itos as string[]).slice(1));
  const want = makemoreStateSize(config, vocab.size, sequenceBlock);
  let have = 0;
  for (const t of weights.values()) have += t.numel();
  if (want !== have)
    fail(
      `config.nEmbd ${config.nEmbd}, config.nHidden ${config.nHidden}, config.blockSize ${config.blockSize} and ${vocab.size} characters make a ${config.type} model of ${want} parameters, but ${weightsFile} holds ${have}`,
    );
  return { config, vocab, sequenceBlock };
}
