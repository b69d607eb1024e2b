/**
 * GPT training in Node: data preparation as nanoGPT's prepare.py scripts (uint16 train.bin /
 * val.bin, meta.json for characters), the training loop with evaluation, checkpoints, resume,
 * JSONL metrics and samples, and sampling from a checkpoint.
 */
import {
  accessSync,
  appendFileSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { loadText } from "../data/node.js";
import { type CheckpointRole, hasCheckpoint, loadCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import { GPT, type GPTConfig } from "../models/gpt.js";
import { Random } from "../random/index.js";
import { getEncoding } from "../tokenizer/index.js";
import { GPTTrainer, type TokenSplits, type TrainConfig, type TrainerState } from "./gpt.js";

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

function writeBin(path: string, ids: ArrayLike<number>): void {
  const arr = Uint16Array.from(ids);
  writeFileSync(path, new Uint8Array(arr.buffer));
}

export function readBin(path: string): Uint16Array {
  if (!existsSync(path)) throw new Error(`${path} does not exist: run "hero gpt prepare" first`);
  const buf = readFileSync(path);
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
    writeFileSync(join(dir, "meta.json"), `${JSON.stringify(meta)}\n`);
  } else {
    const enc = await getEncoding("gpt2");
    train = enc.encodeOrdinary(trainText);
    val = enc.encodeOrdinary(valText);
    vocabSize = 50257;
  }
  writeBin(join(dir, "train.bin"), train);
  writeBin(join(dir, "val.bin"), val);
  log(`${dir}: train ${train.length} tokens, val ${val.length} tokens, vocabulary ${vocabSize}`);
  return { train: train.length, val: val.length, vocabSize };
}

/** Encode/decode for a data set directory: characters from meta.json, else GPT-2 BPE. */
export interface Codec {
  encode: (s: string) => number[];
  decode: (ids: number[]) => string;
  vocabSize: number;
  /** The character vocabulary, for character-level data. */
  meta?: CharMeta;
}

export function charCodec(meta: CharMeta, metaFile = "meta.json"): Codec {
  return {
    meta,
    vocabSize: meta.vocab_size,
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
  if (existsSync(metaFile))
    return charCodec(JSON.parse(readFileSync(metaFile, "utf8")) as CharMeta, metaFile);
  const enc = await getEncoding("gpt2");
  return {
    vocabSize: 50257,
    encode: (s) => enc.encode(s, { allowedSpecial: "all" }),
    decode: (ids) => enc.decode(ids.filter((i) => i < 50257)),
  };
}

export type TrainEvent =
  | { type: "train"; iter: number; loss: number; lr: number; ms: number; gradNorm: number | null }
  | { type: "eval"; iter: number; train: number; val: number }
  | { type: "checkpoint"; iter: number; path: string; roles: CheckpointRole[] }
  | { type: "sample"; iter: number; text: string };

export interface TrainOptions {
  config: TrainConfig;
  /** Checkpoints and metrics.jsonl go here. */
  outDir: string;
  /** Where data sets are prepared (default: HERO_DATA_DIR or ~/.cache/herograd). */
  dataDir: string;
  resume?: boolean;
  onEvent?: (e: TrainEvent) => void;
}

export interface TrainResult {
  iter: number;
  train: number | null;
  val: number | null;
  bestValLoss: number | null;
  msPerIter: number;
  wallSeconds: number;
  trainer: GPTTrainer;
}

/** nanoGPT's training loop; on resume the loss curve continues exactly as without interruption. */
export async function trainGPT(options: TrainOptions): Promise<TrainResult> {
  let config = options.config;
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  let resumed: { weights: Map<string, never>; optimizer?: Map<string, never>; state: TrainerState } | null =
    null;
  if (options.resume) {
    if (!hasCheckpoint(outDir)) throw new Error(`--resume: no checkpoint in ${outDir}`);
    const ck = loadCheckpoint(outDir, "last");
    const state = ck.state as unknown as TrainerState;
    // Settings that change the model shape come from the checkpoint; the rest (e.g. maxIters) from options.
    config = { ...config, ...pickModel(state.config) };
    resumed = { weights: ck.weights as never, optimizer: ck.optimizer as never, state };
  }
  const dataDir = join(options.dataDir, DATASET_DIRS[config.dataset] ?? config.dataset);
  if (!existsSync(join(dataDir, "train.bin"))) await prepareDataset(config.dataset, dataDir);
  const data: TokenSplits = {
    train: readBin(join(dataDir, "train.bin")),
    val: readBin(join(dataDir, "val.bin")),
  };
  const codec = await codecFor(dataDir);
  const vocabSize = config.vocabSize > 0 ? config.vocabSize : codec.vocabSize;
  const trainer = new GPTTrainer(config, vocabSize, data);
  if (resumed) trainer.restore(resumed.weights, resumed.optimizer, resumed.state);
  const metricsFile = join(outDir, "metrics.jsonl");
  const emit = (e: TrainEvent) => {
    appendFileSync(metricsFile, `${JSON.stringify(e)}\n`);
    options.onEvent?.(e);
  };

  const startIter = trainer.iter;
  let last: { train: number; val: number } | null = null;
  const started = performance.now();
  let stepMs = 0;
  let steps = 0;
  const evaluate = async (iter: number) => {
    const losses = trainer.estimateLoss();
    last = losses;
    emit({ type: "eval", iter, ...losses });
    const improved = trainer.bestValLoss === null || losses.val < trainer.bestValLoss;
    if (improved) trainer.bestValLoss = losses.val;
    if (iter > 0) {
      const roles: CheckpointRole[] = improved || config.alwaysSaveCheckpoint ? ["last", "best"] : ["last"];
      const contents = trainer.checkpointContents();
      const state = { ...contents.state, ...(codec.meta ? { meta: codec.meta } : {}) };
      const path = saveCheckpoint(outDir, { ...contents, state: state as never }, { roles });
      emit({ type: "checkpoint", iter, path, roles });
    }
    if (config.sampleTokens > 0) {
      // Its own generator, so sampling never changes the training stream.
      const out = trainer.model.generate([0], config.sampleTokens, {
        generator: new Random(config.seed + iter),
        topK: 200,
      });
      emit({ type: "sample", iter, text: codec.decode([...out.dataSync()].slice(1)) });
    }
  };
  for (;;) {
    const iter = trainer.iter;
    const atEval = iter % config.evalInterval === 0 || iter >= config.maxIters;
    if (atEval && !(resumed && iter === startIter)) await evaluate(iter);
    if (iter >= config.maxIters) break;
    const t0 = performance.now();
    const r = trainer.step();
    const ms = performance.now() - t0;
    stepMs += ms;
    steps++;
    if (iter % config.logInterval === 0)
      emit({ type: "train", iter, loss: r.loss, lr: r.lr, ms, gradNorm: r.gradNorm });
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
): Promise<{ model: GPT; codec: Codec; state: TrainerState }> {
  const ck = loadCheckpoint(dir, role);
  const state = ck.state as unknown as TrainerState & { meta?: CharMeta };
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
  const model = new GPT(config, { skipInit: true });
  const missing = model.namedParameters().filter(([k]) => !ck.weights.has(k));
  if (missing.length > 0)
    throw new Error(`checkpoint ${ck.path} is missing ${missing.map(([k]) => k).join(", ")}`);
  model.loadStateDict(ck.weights, { strict: false });
  model.eval();
  const codec = state.meta
    ? charCodec(state.meta)
    : await codecFor(join(dataRoot, DATASET_DIRS[c.dataset] ?? c.dataset));
  return { model, codec, state };
}
