/**
 * GPT training in Node: data preparation as nanoGPT's prepare.py scripts (uint16 train.bin /
 * val.bin, meta.json for characters), the training loop with evaluation, checkpoints, resume,
 * JSONL metrics and samples, and sampling from a checkpoint. Token shards (build-nanogpt) are
 * prepared by ../data/shards-node.js and used here whenever the data set's directory holds them.
 */
import {
  accessSync,
  appendFileSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { type HellaSwagExample, parseHellaSwag } from "../data/hellaswag.js";
import { hellaswagFile, loadText } from "../data/node.js";
import { hasShards, openTokenLoader } from "../data/shards-node.js";
import {
  type CheckpointRole,
  type CheckpointStage,
  hasCheckpoint,
  type LoadedCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "../io/checkpoint.js";
import { CheckpointError } from "../io/errors.js";
import { GPT, type GPTConfig } from "../models/gpt.js";
import { Random } from "../random/index.js";
import { getEncoding } from "../tokenizer/index.js";
import {
  type CheckpointFiles,
  checkCheckpointWeights,
  checkTrainSizes,
  GPTTrainer,
  isSharded,
  modelConfig,
  onHost,
  type TrainConfig,
  type TrainerState,
  type TrainingData,
  validateTrainerState,
} from "./gpt.js";
import { evaluateHellaSwag, renderForModel } from "./hellaswag.js";

export const DATASET_DIRS: Record<string, string> = {
  "shakespeare-char": "shakespeare_char",
  shakespeare_char: "shakespeare_char",
  shakespeare: "shakespeare",
};

/** Character vocabulary of shakespeare_char (nanoGPT's meta.pkl, as JSON). */
export interface CharMeta {
  vocab_size: number;
  itos: Record<string, string>;
  stoi: Record<string, number>;
}

/**
 * The record `prepareDataset` writes last: its presence says the preparation finished, and the token
 * counts let a reader find a cut file.
 */
export const PREPARED_FILE = "prepared.json";

interface PreparedRecord {
  dataset: string;
  vocab_size: number;
  train_tokens: number;
  val_tokens: number;
}

/** Write through a temporary file and a rename: a killed preparation never leaves half a file. */
function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function writeBin(path: string, ids: ArrayLike<number>): void {
  const arr = Uint16Array.from(ids);
  writeAtomic(path, new Uint8Array(arr.buffer));
}

/** The token counts of a prepared data set's splits, if it has a record. */
function readPrepared(dir: string): PreparedRecord | null {
  const file = join(dir, PREPARED_FILE);
  if (!existsSync(file)) return null;
  let record: PreparedRecord;
  try {
    record = JSON.parse(readFileSync(file, "utf8")) as PreparedRecord;
  } catch (error) {
    throw new Error(`${file}: not JSON (${(error as Error).message}); run "hero gpt prepare" again`);
  }
  for (const key of ["train_tokens", "val_tokens"] as const)
    if (!Number.isSafeInteger(record?.[key]) || record[key] < 0)
      throw new Error(
        `${file}: "${key}" must be a whole number of tokens, got ${JSON.stringify(record?.[key])}`,
      );
  return record;
}

export function readBin(path: string, expectedTokens?: number, record = PREPARED_FILE): Uint16Array {
  if (!existsSync(path)) throw new Error(`${path} does not exist: run "hero gpt prepare" first`);
  const buf = readFileSync(path);
  if (expectedTokens !== undefined && buf.length !== expectedTokens * 2)
    throw new Error(
      `${path}: ${buf.length} bytes, but ${record} says ${expectedTokens} tokens (${expectedTokens * 2} bytes): ` +
        `the file is cut or changed; run "hero gpt prepare" again`,
    );
  if (buf.length % 2 !== 0) throw new Error(`${path}: odd byte count ${buf.length}, not a uint16 token file`);
  const out = new Uint16Array(buf.length / 2);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/**
 * Write <dir>/train.bin, val.bin (and meta.json for characters) for "shakespeare-char" (65
 * characters, first 90% train) or "shakespeare" (GPT-2 BPE of each split, encode_ordinary).
 */
export async function prepareDataset(
  name: string,
  dir: string,
  log: (m: string) => void = () => {},
): Promise<{ train: number; val: number; vocabSize: number }> {
  if (!DATASET_DIRS[name])
    throw new Error(`unknown data set "${name}"; known: shakespeare-char, shakespeare`);
  const { text } = await loadText("tinyshakespeare", { log });
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw new Error(
      `cannot write the prepared data set to ${dir} (${(error as Error).message}); pass --data-dir`,
    );
  }
  const n = text.length;
  const trainText = text.slice(0, Math.floor(n * 0.9));
  const valText = text.slice(Math.floor(n * 0.9));
  let train: number[];
  let val: number[];
  let vocabSize: number;
  if (DATASET_DIRS[name] === "shakespeare_char") {
    const chars = [...new Set(text)].sort();
    const stoi: Record<string, number> = {};
    const itos: Record<string, string> = {};
    chars.forEach((c, i) => {
      stoi[c] = i;
      itos[String(i)] = c;
    });
    train = [...trainText].map((c) => stoi[c]!);
    val = [...valText].map((c) => stoi[c]!);
    vocabSize = chars.length;
    const meta: CharMeta = { vocab_size: vocabSize, itos, stoi };
    writeAtomic(join(dir, "meta.json"), `${JSON.stringify(meta)}\n`);
  } else {
    const enc = await getEncoding("gpt2");
    train = enc.encodeOrdinary(trainText);
    val = enc.encodeOrdinary(valText);
    vocabSize = 50257;
  }
  writeBin(join(dir, "train.bin"), train);
  writeBin(join(dir, "val.bin"), val);
  const record: PreparedRecord = {
    dataset: name,
    vocab_size: vocabSize,
    train_tokens: train.length,
    val_tokens: val.length,
  };
  writeAtomic(join(dir, PREPARED_FILE), `${JSON.stringify(record)}\n`);
  log(`${dir}: train ${train.length} tokens, val ${val.length} tokens, vocabulary ${vocabSize}`);
  return { train: train.length, val: val.length, vocabSize };
}

/** The directory of a data set: a path, or a name under the data root. */
export function datasetDir(dataRoot: string, dataset: string): string {
  return resolve(dataRoot, DATASET_DIRS[dataset] ?? dataset);
}

/** Encode/decode for a data set directory: characters from meta.json, else GPT-2 BPE. */
export interface Codec {
  encode: (s: string) => number[];
  decode: (ids: number[]) => string;
  vocabSize: number;
  /** The token samples start from: "\n" (id 0) for characters as nanoGPT, <|endoftext|> for GPT-2 BPE. */
  startToken: number;
  /** The character vocabulary, for character-level data. */
  meta?: CharMeta;
}

export function charCodec(meta: CharMeta, metaFile = "meta.json"): Codec {
  return {
    meta,
    vocabSize: meta.vocab_size,
    startToken: 0,
    encode: (s) =>
      [...s].map((c) => {
        const id = meta.stoi[c];
        if (id === undefined)
          throw new Error(`character ${JSON.stringify(c)} is not in the vocabulary of ${metaFile}`);
        return id;
      }),
    decode: (ids) => ids.map((i) => meta.itos[String(i)] ?? "\uFFFD").join(""),
  };
}

export async function codecFor(dir: string): Promise<Codec> {
  const metaFile = join(dir, "meta.json");
  if (existsSync(metaFile)) {
    let meta: unknown;
    try {
      meta = JSON.parse(readFileSync(metaFile, "utf8"));
    } catch (error) {
      throw new Error(`${metaFile}: not JSON (${(error as Error).message}); run "hero gpt prepare" again`);
    }
    return charCodec(checkMeta(meta, metaFile), metaFile);
  }
  const enc = await getEncoding("gpt2");
  return {
    vocabSize: 50257,
    startToken: enc.specialTokens.get("<|endoftext|>")!,
    encode: (s) => enc.encode(s, { allowedSpecial: "all" }),
    decode: (ids) => enc.decode(ids.filter((i) => i < 50257)),
  };
}

export type TrainEvent =
  | {
      type: "train";
      iter: number;
      loss: number;
      lr: number;
      ms: number;
      gradNorm: number | null;
      /** Tokens of the step (batch × block × accumulation) and their throughput. */
      tokens: number;
      tokPerSec: number;
    }
  | { type: "eval"; iter: number; train: number; val: number }
  | { type: "checkpoint"; iter: number; path: string; roles: CheckpointRole[] }
  | { type: "sample"; iter: number; text: string }
  | { type: "hellaswag"; iter: number; examples: number; acc: number; accNorm: number };

export interface TrainOptions {
  config: TrainConfig;
  /** Checkpoints and metrics.jsonl go here. */
  outDir: string;
  /** Where data sets are prepared (default: HERO_DATA_DIR or ~/.cache/herograd). */
  dataDir: string;
  resume?: boolean;
  /** With resume: start AdamW afresh (zero moments) instead of requiring optimizer.safetensors. */
  resetOptimizer?: boolean;
  onEvent?: (e: TrainEvent) => void;
  /** The HellaSwag file for config.hellaswagExamples (default: hellaswag_val.jsonl found as `hero gpt eval` finds it). */
  hellaswag?: string;
  /** Called between the steps of each checkpoint save (tests stop the process there). */
  onCheckpointStage?: (stage: CheckpointStage, iter: number) => void;
  /** Set (e.g. by Ctrl-C) to end the run after the current step, saving it as the last checkpoint. */
  stop?: { requested: unknown };
}

export interface TrainResult {
  iter: number;
  train: number | null;
  val: number | null;
  bestValLoss: number | null;
  msPerIter: number;
  wallSeconds: number;
  trainer: GPTTrainer;
  /** The run ended early on `stop`. */
  stopped: boolean;
}

/**
 * Resume: the checkpoint's parts, validated; `state` says which model to build and where the run stood.
 */
function readResumeCheckpoint(
  outDir: string,
  resetOptimizer: boolean,
): {
  ck: LoadedCheckpoint;
  state: TrainerState;
  files: CheckpointFiles;
} {
  const ck = loadCheckpoint(outDir, "last", {
    optimizer: resetOptimizer ? "skip" : "required",
    missingOptimizerHint:
      "pass --reset-optimizer to go on with the optimizer reset (zero Adam moments), or resume from a complete checkpoint",
  });
  const files = checkpointFiles(ck.path);
  return { ck, state: validateTrainerState(ck.state, files.state), files };
}

function checkpointFiles(path: string): CheckpointFiles {
  return {
    weights: join(path, "model.safetensors"),
    optimizer: join(path, "optimizer.safetensors"),
    state: join(path, "state.json"),
  };
}

/** Token ids of a .bin split must index the model's vocabulary. */
function checkTokens(tokens: Uint16Array, vocabSize: number, file: string): Uint16Array {
  for (let i = 0; i < tokens.length; i++)
    if (tokens[i]! >= vocabSize)
      throw new Error(
        `${file}: token ${tokens[i]} at position ${i} is outside the vocabulary of ${vocabSize}`,
      );
  return tokens;
}

/** The training data in `dir`: token shards when there are any (build-nanogpt), else train.bin/val.bin. */
function openTrainingData(dir: string, config: TrainConfig, vocabSize: number): TrainingData {
  if (hasShards(dir)) {
    const open = (split: "train" | "val") =>
      openTokenLoader(dir, split, config.batchSize, config.blockSize, { vocabSize });
    return { train: open("train"), trainEval: open("train"), val: open("val") };
  }
  const record = readPrepared(dir);
  const split = (name: "train" | "val") => {
    const file = join(dir, `${name}.bin`);
    return checkTokens(readBin(file, record?.[`${name}_tokens`], join(dir, PREPARED_FILE)), vocabSize, file);
  };
  return { train: split("train"), val: split("val") };
}

/**
 * Before a resumed run appends to metrics.jsonl, drop what the interrupted run logged after the
 * checkpoint it resumes from (and a last line cut short by a crash): the file then reads as one run.
 */
function truncateMetrics(file: string, iter: number): void {
  if (!existsSync(file)) return;
  const kept: string[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    let e: { type?: unknown; iter?: unknown };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if (typeof e?.iter !== "number") continue;
    if (e.iter < iter || (e.iter === iter && e.type !== "train")) kept.push(line);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, kept.map((l) => `${l}\n`).join(""));
  renameSync(tmp, file);
}

/**
 * nanoGPT's training loop (build-nanogpt's on token shards); on resume the loss curve continues
 * exactly as without interruption, and metrics.jsonl with it.
 */
export async function trainGPT(options: TrainOptions): Promise<TrainResult> {
  let config = options.config;
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  let resumed: ReturnType<typeof readResumeCheckpoint> | null = null;
  if (options.resume) {
    if (!hasCheckpoint(outDir)) throw new Error(`--resume: no checkpoint in ${outDir}`);
    resumed = readResumeCheckpoint(outDir, options.resetOptimizer === true);
    // Settings that change the model shape come from the checkpoint; the rest (e.g. maxIters) from options.
    config = { ...config, ...pickModel(resumed.state.config) };
  }
  const dataDir = datasetDir(options.dataDir, config.dataset);
  // A data set of the catalog is prepared (again) while a split is missing (a preparation cut short).
  const unprepared = DATASET_DIRS[config.dataset]
    ? !existsSync(join(dataDir, "train.bin")) || !existsSync(join(dataDir, "val.bin"))
    : !existsSync(join(dataDir, "train.bin"));
  if (!hasShards(dataDir) && unprepared) {
    if (!DATASET_DIRS[config.dataset])
      throw new Error(
        `no training data in ${dataDir}: expected *_train_*.npy and *_val_*.npy shards or train.bin and val.bin; ` +
          `run "hero gpt prepare" first`,
      );
    await prepareDataset(config.dataset, dataDir);
  }
  const codec = await codecFor(dataDir);
  const vocabSize = config.vocabSize > 0 ? config.vocabSize : codec.vocabSize;
  if (resumed) {
    if (resumed.state.vocabSize !== vocabSize)
      throw new CheckpointError(
        resumed.files.state,
        `vocabSize ${resumed.state.vocabSize}, but ${existsSync(join(dataDir, "meta.json")) ? join(dataDir, "meta.json") : `the data in ${dataDir}`} gives ${vocabSize}`,
      );
    // Before the model is built: its size comes from state.json, which must agree with the weights.
    checkCheckpointWeights(
      modelConfig(config, vocabSize),
      resumed.ck.weights,
      resumed.files.weights,
      resumed.files.state,
    );
  }
  try {
    checkTrainSizes(config);
  } catch (error) {
    // The user's settings were checked as they were read: on resume, a size out of range came
    // with the model's settings from state.json.
    if (!resumed) throw error;
    throw new CheckpointError(resumed.files.state, (error as Error).message);
  }
  const data = openTrainingData(dataDir, config, vocabSize);
  if (!isSharded(data))
    for (const [split, tokens] of [
      ["train.bin", data.train],
      ["val.bin", data.val],
    ] as const)
      if (tokens.length <= config.blockSize + 1)
        throw new Error(
          `block_size ${config.blockSize} needs more than ${config.blockSize + 1} tokens, but ${join(dataDir, split)} holds ${tokens.length}`,
        );
  const trainer = new GPTTrainer(config, vocabSize, data);
  if (resumed)
    trainer.restore(resumed.ck.weights, resumed.ck.optimizer, resumed.state, resumed.files, {
      resetOptimizer: options.resetOptimizer === true,
    });
  // HellaSwag examples are read and checked against the model once, before any training.
  let hellaswag: HellaSwagExample[] = [];
  if (config.hellaswagExamples > 0) {
    const file = await hellaswagFile("val", {
      flag: "--hellaswag",
      ...(options.hellaswag ? { path: options.hellaswag } : {}),
    });
    hellaswag = parseHellaSwag(readFileSync(file, "utf8"), file).slice(0, config.hellaswagExamples);
    for (const ex of hellaswag) renderForModel(ex, codec.encode, trainer.model.config);
  }
  const metricsFile = join(outDir, "metrics.jsonl");
  if (resumed) truncateMetrics(metricsFile, trainer.iter);
  const emit = (e: TrainEvent) => {
    appendFileSync(metricsFile, `${JSON.stringify(e)}\n`);
    options.onEvent?.(e);
  };

  const startIter = trainer.iter;
  let last: { train: number; val: number } | null = null;
  const started = performance.now();
  let stepMs = 0;
  let steps = 0;
  const save = async (iter: number, roles: CheckpointRole[]) => {
    const contents = trainer.checkpointContents();
    if (!trainer.synchronous) {
      contents.weights = await onHost(contents.weights);
      contents.optimizer = await onHost(contents.optimizer);
    }
    const state = { ...contents.state, ...(codec.meta ? { meta: codec.meta } : {}) };
    const onStage = options.onCheckpointStage;
    const path = saveCheckpoint(
      outDir,
      { ...contents, state: state as never },
      { roles, ...(onStage ? { onStage: (stage: CheckpointStage) => onStage(stage, iter) } : {}) },
    );
    emit({ type: "checkpoint", iter, path, roles });
  };
  const evaluate = async (iter: number) => {
    const losses = trainer.synchronous ? trainer.estimateLoss() : await trainer.estimateLossAsync();
    last = losses;
    emit({ type: "eval", iter, ...losses });
    if (hellaswag.length > 0) {
      const r = await evaluateHellaSwag(trainer.model, hellaswag, codec.encode);
      emit({ type: "hellaswag", iter, examples: r.examples, acc: r.acc, accNorm: r.accNorm });
    }
    const improved = trainer.bestValLoss === null || losses.val < trainer.bestValLoss;
    if (improved) trainer.bestValLoss = losses.val;
    if (iter > 0) await save(iter, improved || config.alwaysSaveCheckpoint ? ["last", "best"] : ["last"]);
    if (config.sampleTokens > 0) {
      // Its own generator, so sampling never changes the training stream.
      const out = await trainer.model.generate([codec.startToken], config.sampleTokens, {
        generator: new Random(config.seed + iter),
        topK: 200,
      });
      const ids = [...(await out.data())].slice(1);
      out.dispose();
      emit({ type: "sample", iter, text: codec.decode(ids) });
    }
  };
  let stopped = false;
  for (;;) {
    const iter = trainer.iter;
    if (options.stop?.requested) {
      // Between steps the trainer's state is whole: save it unless nothing was trained since the last save.
      if (iter > startIter) await save(iter, ["last"]);
      stopped = true;
      break;
    }
    const atEval = iter % config.evalInterval === 0 || iter >= config.maxIters;
    if (atEval && !(resumed && iter === startIter)) await evaluate(iter);
    if (iter >= config.maxIters) break;
    const t0 = performance.now();
    const r = trainer.synchronous ? trainer.step() : await trainer.stepAsync();
    const ms = performance.now() - t0;
    stepMs += ms;
    steps++;
    if (iter % config.logInterval === 0) {
      const tokens = trainer.tokensPerStep;
      const tokPerSec = ms > 0 ? tokens / (ms / 1000) : 0;
      emit({ type: "train", iter, loss: r.loss, lr: r.lr, ms, gradNorm: r.gradNorm, tokens, tokPerSec });
    }
    // Let the event loop breathe (progress output, signals).
    if (steps % 10 === 0) await new Promise((res) => setImmediate(res));
  }
  const final = last as { train: number; val: number } | null;
  return {
    iter: trainer.iter,
    train: final?.train ?? null,
    val: final?.val ?? null,
    bestValLoss: trainer.bestValLoss,
    msPerIter: steps > 0 ? stepMs / steps : 0,
    wallSeconds: (performance.now() - started) / 1000,
    trainer,
    stopped,
  };
}

function pickModel(c: TrainConfig): Partial<TrainConfig> {
  const { dataset, blockSize, nLayer, nHead, nEmbd, bias, gelu, vocabSize, dropout } = c;
  return { dataset, blockSize, nLayer, nHead, nEmbd, bias, gelu, vocabSize, dropout };
}

/** A model from a training checkpoint directory (best by default), with its data set's codec. */
export async function loadTrainedGPT(
  dir: string,
  dataRoot: string,
  role: CheckpointRole = "best",
): Promise<{ model: GPT; codec: Codec; state: TrainerState; weightsFile: string }> {
  const ck = loadCheckpoint(dir, role);
  const files = checkpointFiles(ck.path);
  const state = validateTrainerState(ck.state, files.state) as TrainerState & { meta?: CharMeta };
  const c = state.config;
  const config: GPTConfig = {
    blockSize: c.blockSize,
    vocabSize: state.vocabSize,
    nLayer: c.nLayer,
    nHead: c.nHead,
    nEmbd: c.nEmbd,
    dropout: 0,
    bias: c.bias,
    gelu: c.gelu,
  };
  checkCheckpointWeights(config, ck.weights, files.weights, files.state);
  const model = new GPT(config, { skipInit: true });
  model.loadStateDict(ck.weights, { strict: false });
  model.eval();
  const codec = state.meta
    ? charCodec(checkMeta(state.meta, files.state), files.state)
    : await codecFor(datasetDir(dataRoot, c.dataset));
  return { model, codec, state, weightsFile: files.weights };
}

/** The character vocabulary saved in a state.json: ids 0..vocab_size-1, one character each. */
function checkMeta(meta: unknown, file: string): CharMeta {
  const m = meta as CharMeta;
  const ok =
    typeof m === "object" &&
    m !== null &&
    Number.isSafeInteger(m.vocab_size) &&
    typeof m.itos === "object" &&
    m.itos !== null &&
    typeof m.stoi === "object" &&
    m.stoi !== null &&
    Object.values(m.itos).every((c) => typeof c === "string") &&
    Object.values(m.stoi).every((i) => Number.isSafeInteger(i) && i >= 0 && i < m.vocab_size);
  if (!ok) throw new CheckpointError(file, `"meta" is not a character vocabulary ({vocab_size, itos, stoi})`);
  return m;
}
