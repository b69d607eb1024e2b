/**
 * Lesson 9: GPT-2. Train a small GPT-2 (GPT-2's architecture, tokenizer and recipe) on
 * Shakespeare with nothing to download; then load OpenAI's 124M weights (a file the learner
 * chooses, or downloaded in the page), generate text from a prompt, and look at what the position
 * embeddings learned. Follows "Let's reproduce GPT-2 (124M)".
 */
import { choicesFromText, renderExample } from "../src/data/hellaswag.js";
import { gptFromHF, type HFGPT2Config } from "../src/io/gpt2.js";
import { loadSafetensorsBytes } from "../src/io/safetensors.js";
import { GPT } from "../src/models/gpt.js";
import { AdamW, clipGradNorm } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import { type Tensor, tensor, tidy } from "../src/tensor/index.js";
import { getEncoding } from "../src/tokenizer/index.js";
import { GPTTrainer, presetConfig, type TrainConfig } from "../src/train/gpt.js";
import { evaluateHellaSwag } from "../src/train/hellaswag.js";
import { loadDatasetText } from "./data.js";
import { lookInside } from "./gpt-inside.js";
import type { FileDownload, LabContext, Lesson, LessonFile, Params } from "./lesson.js";
import { param } from "./lesson.js";

const THIS = "lessons/09-gpt2.ts";

/** GPT-2's tokenizer: 50,257 tokens. build-nanogpt pads the model's vocabulary to 50,304. */
const GPT2_VOCAB = 50257;
const PADDED_VOCAB = 50304;

/** OpenAI's GPT-2 (124M) on Hugging Face: the lab's download button fetches these. */
export const GPT2_DOWNLOAD: FileDownload = {
  label: "GPT-2 (124M) from Hugging Face",
  base: "https://huggingface.co/",
  paths: [
    "openai-community/gpt2/resolve/main/model.safetensors",
    "openai-community/gpt2/resolve/main/config.json",
  ],
  bytes: 548_105_171,
};

const WHERE_TO_GET = [
  "No weights chosen yet. GPT-2 (124M) is the file model.safetensors (548 MB) of https://huggingface.co/openai-community/gpt2.",
  "In the lab, the download button fetches it once and keeps it in this browser's storage; or choose a copy on disk with the file picker (in the terminal: hero lesson run 9 gpt2 --set weights=PATH/model.safetensors). It is read on this machine and never uploaded.",
].join(" ");

/** A model with at least GPT-2's vocabulary reads GPT-2's tokens (ids past 50,256 are padding). */
function isGPT2Vocabulary(vocabSize: number): boolean {
  return vocabSize >= GPT2_VOCAB;
}

/** A token's text, or a mark for the padded ids no text ever trained. */
function tokenText(encoding: Awaited<ReturnType<typeof getEncoding>>, id: number): string {
  return id < GPT2_VOCAB ? new TextDecoder().decode(encoding.tokenBytes(id)) : `⟨pad ${id}⟩`;
}

// #region load
/**
 * A GPT from a Hugging Face GPT-2 safetensors file. The file holds only tensors: the vocabulary,
 * context length, width and depth come from their shapes; the number of heads cannot (every
 * GPT-2 size uses 64 channels a head, so that is the default).
 */
export function gpt2FromSafetensors(file: LessonFile, heads = 0): GPT {
  heads ||= headsFromConfig(file);
  const tensors = loadSafetensorsBytes(file.bytes, file.name);
  const get = (name: string): Tensor => {
    const t = tensors.get(name) ?? tensors.get(`transformer.${name}`);
    if (!t) throw new Error(`${file.name}: no tensor "${name}": is this a Hugging Face GPT-2 file?`);
    return t;
  };
  const [vocabSize, nEmbd] = get("wte.weight").shape as [number, number];
  const [positions] = get("wpe.weight").shape as [number];
  let nLayer = 0;
  while (tensors.has(`h.${nLayer}.ln_1.weight`) || tensors.has(`transformer.h.${nLayer}.ln_1.weight`))
    nLayer++;
  const nHead = heads > 0 ? heads : nEmbd / 64;
  if (!Number.isInteger(nHead) || nEmbd % nHead !== 0)
    throw new RangeError(
      `${file.name}: n_embd ${nEmbd} is not a multiple of 64 heads' width: set "heads" to this model's number of heads`,
    );
  const config: HFGPT2Config = {
    vocab_size: vocabSize,
    n_positions: positions,
    n_embd: nEmbd,
    n_layer: nLayer,
    n_head: nHead,
  };
  return gptFromHF(config, tensors, file.name);
}
// #endregion

/** n_head from a config.json that came with the weights (Hugging Face's, or `hero gpt export`'s); 0 when none. */
function headsFromConfig(file: LessonFile): number {
  const bytes = file.siblings?.["config.json"];
  if (!bytes) return 0;
  let config: unknown;
  try {
    config = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(`config.json beside ${file.name}: not JSON (${(error as Error).message})`);
  }
  const n = (config as { n_head?: unknown }).n_head;
  if (!Number.isInteger(n) || (n as number) < 1)
    throw new Error(
      `config.json beside ${file.name}: n_head must be a positive integer, got ${JSON.stringify(n)}`,
    );
  return n as number;
}

/** The learner's file; in Node without one, the tiny GPT-2 of the repository's test/fixtures when it is there. */
async function chosenWeights(params: Params): Promise<{ file: LessonFile; heads: number } | null> {
  const file = param.file(params, "weights");
  const heads = param.number(params, "heads");
  if (file) return { file, heads };
  if (typeof process === "undefined" || typeof process.versions?.node !== "string") return null;
  // A path in a variable: the browser bundle must not pull in Node's modules.
  const fsName = "node:fs";
  const { existsSync, readFileSync } = (await import(/* @vite-ignore */ fsName)) as typeof import("node:fs");
  // This file runs from dist/lessons; an installed package has no test/ and so no fallback.
  const dir = new URL("../../test/fixtures/gpt2_tiny", import.meta.url).pathname;
  if (!existsSync(`${dir}/model.safetensors`)) return null;
  const config = JSON.parse(readFileSync(`${dir}/config.json`, "utf8")) as { n_head: number };
  return {
    file: {
      name: "gpt2_tiny/model.safetensors",
      bytes: new Uint8Array(readFileSync(`${dir}/model.safetensors`)),
    },
    heads: heads || config.n_head,
  };
}

// #region generate
/** Sample a continuation with top-k sampling, as the lecture does (k = 50). */
async function generateText(model: GPT, prompt: string, maxNewTokens: number, seed: number) {
  const isGPT2 = isGPT2Vocabulary(model.config.vocabSize);
  const encoding = isGPT2 ? await getEncoding("gpt2") : null;
  // A model with another vocabulary (the tiny test model): the prompt's bytes stand in for ids.
  const ids = encoding
    ? encoding.encode(prompt)
    : [...new TextEncoder().encode(prompt)].map((b) => b % model.config.vocabSize);
  // generate reads each step's probabilities with await, so this also runs on WebGPU.
  // A padded vocabulary (build-nanogpt's 50,304): only GPT-2's 50,257 real tokens are sampled.
  const generated = await model.generate(ids, maxNewTokens, {
    topK: 50,
    generator: new Random(seed),
    ...(isGPT2 ? { vocabLimit: GPT2_VOCAB } : {}),
  });
  const out = [...(await generated.data())];
  return { ids: out, prompt: ids.length, text: encoding ? encoding.decode(out) : out.join(" ") };
}
// #endregion

/** The small GPT-2 of this page (the training run's default size): 2 layers, 4 heads, 64 channels. */
const SMALL = { nLayer: 2, nHead: 4, nEmbd: 64 };

/** A loss read back with await (the only way on webgpu), then freed. */
async function readLoss(loss: Tensor): Promise<number> {
  const value = (await loss.data())[0]!;
  loss.dispose();
  return value;
}

async function initAndOverfitExperiment(params: Params, lab: LabContext): Promise<void> {
  const B = param.number(params, "batchSize");
  const T = param.number(params, "blockSize");
  const steps = param.number(params, "steps");
  const seed = param.number(params, "seed");
  const encoding = await getEncoding("gpt2");
  // #region batch
  // The first B·T + 1 tokens of Shakespeare; y is x shifted by one token.
  const text = await loadDatasetText("tinyshakespeare");
  const buf = encoding.encodeOrdinary(text.slice(0, 8 * (B * T + 1))).slice(0, B * T + 1);
  const x = tensor([...buf.slice(0, B * T)], { dtype: "int32" }).reshape([B, T]);
  const y = tensor([...buf.slice(1)], { dtype: "int32" }).reshape([B, T]);
  const model = new GPT(
    { ...SMALL, blockSize: T, vocabSize: PADDED_VOCAB, dropout: 0, bias: true, gelu: "tanh" },
    { generator: new Random(seed) },
  );
  // #endregion
  const show = (id: number) => ({ id, text: tokenText(encoding, id) });
  lab.emit({
    type: "figure",
    figure: {
      kind: "tokens",
      id: "batch",
      title: `The batch: the first ${B} × ${T} tokens of Shakespeare`,
      wide: true,
      frames: [
        {
          caption: `x, row by row (${B} rows of ${T} GPT-2 tokens); the targets y are the same tokens shifted by one: each position learns the token after it.`,
          sequences: Array.from({ length: B }, (_, row) => ({
            name: `row ${row + 1}`,
            tokens: [...buf.slice(row * T, (row + 1) * T)].map(show),
          })),
        },
      ],
    },
  });

  // At initialization every token is about equally likely: the loss is near ln 50,257.
  const initial = await readLoss(tidy(() => model.forward(x, { targets: y }).loss!.detach()));
  const prompt = "Hello, I'm a language model,";
  const gibberish = await model.generate(encoding.encode(prompt), 16, {
    topK: 50,
    generator: new Random(seed),
    vocabLimit: GPT2_VOCAB,
  });
  const untrained = [...(await gibberish.data())];
  gibberish.dispose();
  const stats = (step: number, loss: number) =>
    lab.emit({
      type: "figure",
      figure: {
        kind: "stats",
        id: "stats",
        title: "The loss: at initialization, then on the one batch",
        items: [
          { label: "loss at initialization", value: initial.toFixed(4) },
          { label: "uniform guess ln 50,257", value: Math.log(GPT2_VOCAB).toFixed(4) },
          { label: "step", value: `${step} / ${steps}` },
          { label: "loss on the batch", value: loss.toFixed(4) },
          {
            label: "parameters",
            value: `${model.numParameters().toLocaleString("en")} (${SMALL.nLayer} layers × ${SMALL.nHead} heads × ${SMALL.nEmbd})`,
          },
        ],
      },
    });
  stats(0, initial);
  lab.emit({
    type: "figure",
    figure: {
      kind: "tokens",
      id: "untrained",
      title: "The untrained model continues the lecture's prompt",
      wide: true,
      frames: [
        {
          caption: `Random weights: 16 tokens sampled (top-k 50) after "${prompt}" are gibberish from all over the vocabulary.`,
          sequences: [{ name: "untrained", tokens: untrained.map(show) }],
        },
      ],
    },
  });
  lab.emit({ type: "log", text: `untrained: ${encoding.decode(untrained)}` });
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "overfit",
      title: "Overfitting the one batch: loss by step",
      xLabel: "step",
      yLabel: "loss",
      series: ["loss"],
    },
  });
  await lab.tick();

  // #region overfit
  // The lecture's first loop: the same batch at every step. The betas and the clipping at 1.0 are
  // its recipe's (the next section): this small model needs a rate 20 times the lecture's 3e-4.
  const optimizer = new AdamW(model.parameters(), { lr: param.number(params, "lr"), betas: [0.9, 0.95] });
  let loss = initial;
  for (let i = 0; i < steps; i++) {
    const step = tidy(() => {
      const out = model.forward(x, { targets: y }).loss!;
      out.backward();
      return out.detach();
    });
    clipGradNorm(model.parameters(), 1.0)?.dispose();
    tidy(() => optimizer.step());
    optimizer.zeroGrad();
    loss = await readLoss(step);
    lab.emit({ type: "points", figure: "overfit", series: "loss", points: [{ x: i, y: loss }] });
    stats(i + 1, loss);
    await lab.tick();
  }
  // #endregion

  // Memorized: from the first 4 tokens of row 1 the model recites the rest of it, token by token.
  const start = [...buf.slice(0, 4)];
  const recited = await model.generate(start, T - 4, { temperature: 0, vocabLimit: GPT2_VOCAB });
  const ids = [...(await recited.data())];
  recited.dispose();
  const same = ids.slice(4).filter((id, i) => id === buf[4 + i]).length;
  lab.emit({
    type: "figure",
    figure: {
      kind: "tokens",
      id: "recited",
      title: "After overfitting: row 1 recited from its first 4 tokens",
      wide: true,
      frames: [
        {
          caption: `Greedy decoding: ${same} of the ${T - 4} tokens after the prompt are the batch's own. A loss near 0 on one batch means memorized, not learned: the real training loop below draws a new batch at every step.`,
          sequences: [
            { name: "recited", tokens: ids.map(show) },
            { name: "batch", tokens: [...buf.slice(0, T)].map(show) },
          ],
        },
      ],
    },
  });
  x.dispose();
  y.dispose();
}

/** Shakespeare in GPT-2's tokens (90% train, 10% val), and the val text for the multiple-choice set. */
let shakespeareTokens: Promise<{ train: Uint16Array; val: Uint16Array; valText: string }> | undefined;

function tokenizedShakespeare() {
  shakespeareTokens ??= (async () => {
    const text = await loadDatasetText("tinyshakespeare");
    const encoding = await getEncoding("gpt2");
    const n = Math.floor(0.9 * text.length);
    return {
      train: Uint16Array.from(encoding.encodeOrdinary(text.slice(0, n))),
      val: Uint16Array.from(encoding.encodeOrdinary(text.slice(n))),
      valText: text.slice(n),
    };
  })();
  return shakespeareTokens;
}

// #region recipe
/**
 * build-nanogpt's recipe (the `gpt2` preset: AdamW with betas (0.9, 0.95) and weight decay 0.1 on
 * the 2-D weights only, the gradient norm clipped at 1.0, cosine decay to a tenth after a linear
 * warmup, gradients accumulated over micro-batches, a vocabulary padded to 50,304) on a model
 * small enough to train in a browser in a minute.
 */
function smallGPT2Recipe(params: Params): TrainConfig {
  const steps = param.number(params, "steps");
  const learningRate = param.number(params, "lr");
  return {
    ...presetConfig("gpt2"),
    nLayer: param.number(params, "nLayer"),
    nHead: param.number(params, "nHead"),
    nEmbd: param.number(params, "nEmbd"),
    blockSize: param.number(params, "blockSize"),
    batchSize: param.number(params, "batchSize"),
    gradientAccumulationSteps: param.number(params, "accumulation"),
    totalBatchSize: 0,
    learningRate,
    minLr: learningRate / 10,
    warmupIters: Math.min(param.number(params, "warmup"), steps),
    lrDecayIters: steps,
    maxIters: steps,
    evalIters: 4,
    seed: param.number(params, "seed"),
  };
}
// #endregion

/** Share of a text's words (letters and apostrophes) that Shakespeare's text has too. */
export function knownWordShare(text: string, vocabulary: ReadonlySet<string>): number {
  const words = text.match(/[A-Za-z']+/g) ?? [];
  if (words.length === 0) return 0;
  return words.filter((w) => vocabulary.has(w.toLowerCase())).length / words.length;
}

async function trainGPT2Experiment(params: Params, lab: LabContext): Promise<void> {
  const config = smallGPT2Recipe(params);
  if (config.nEmbd % config.nHead !== 0)
    throw new RangeError(`heads: ${config.nHead} does not divide the width ${config.nEmbd}`);
  const data = await tokenizedShakespeare();
  const encoding = await getEncoding("gpt2");
  const trainer = new GPTTrainer(config, PADDED_VOCAB, data);
  const { model, optimizer } = trainer;
  // The training figures first: the terminal shows the first stats figure as its progress.
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "stats",
      title: "Training",
      items: [{ label: "step", value: `0 / ${config.maxIters}` }],
    },
  });
  const [decayed, notDecayed] = optimizer.paramGroups.map((g) => g.params.reduce((n, p) => n + p.numel(), 0));
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "model",
      title: "The model and its recipe",
      items: [
        { label: "parameters", value: model.numParameters().toLocaleString("en") },
        {
          label: "layers × heads × width",
          value: `${config.nLayer} × ${config.nHead} × ${config.nEmbd}`,
        },
        { label: "vocabulary", value: `${PADDED_VOCAB.toLocaleString("en")} (GPT-2's 50,257, padded)` },
        {
          label: "tokens a step",
          value: `${config.batchSize} × ${config.blockSize} × ${config.gradientAccumulationSteps} micro-batches = ${trainer.tokensPerStep.toLocaleString("en")}`,
        },
        {
          label: "weight decay 0.1 on",
          value: `${decayed!.toLocaleString("en")} (2-D), not on ${notDecayed!.toLocaleString("en")}`,
        },
        { label: "AdamW betas, clip", value: `(${config.beta1}, ${config.beta2}), ${config.gradClip}` },
        {
          label: "Shakespeare in GPT-2 tokens",
          value: `train ${data.train.length.toLocaleString("en")}, val ${data.val.length.toLocaleString("en")}`,
        },
      ],
    },
  });
  for (const [id, title, yLabel, series] of [
    ["loss", "Loss (cross-entropy, nats)", "loss", ["train", "val"]],
    ["lr", "Learning rate: linear warmup, then cosine decay", "learning rate", ["lr"]],
  ] as const)
    lab.emit({
      type: "figure",
      figure: { kind: "line", id, title, xLabel: "step", yLabel, series: [...series] },
    });
  await lab.tick();

  // The multiple-choice examples whose context and longest ending fit in the model's context.
  const encode = (s: string) => encoding.encodeOrdinary(s);
  const wanted = param.number(params, "choices");
  const choices = choicesFromText(data.valText, 4 * wanted, new Random(1))
    .filter((ex) => renderExample(ex, encode).rows.every((row) => row.length <= config.blockSize))
    .slice(0, wanted);
  if (choices.length === 0)
    lab.emit({
      type: "log",
      text: `No multiple-choice example fits in a context of ${config.blockSize} tokens (two lines and an ending need about 40): the score is left out.`,
    });
  const steps = config.maxIters;
  const evalEvery = Math.max(1, Math.round(steps / 5));
  let last = { val: Number.NaN, accNorm: Number.NaN };
  const started = performance.now();
  for (let step = 0; step < steps; step++) {
    const { loss, lr, gradNorm } = await trainer.stepAsync();
    lab.emit({ type: "points", figure: "loss", series: "train", points: [{ x: step, y: loss }] });
    lab.emit({ type: "points", figure: "lr", series: "lr", points: [{ x: step, y: lr }] });
    if (step % evalEvery === 0 || step === steps - 1) {
      last = { val: (await trainer.estimateLossAsync()).val, accNorm: Number.NaN };
      lab.emit({ type: "points", figure: "loss", series: "val", points: [{ x: step, y: last.val }] });
      if (choices.length > 0) {
        last.accNorm = (await evaluateHellaSwag(model, choices, encode)).accNorm;
        const at = (y: number) => [{ x: step, y }];
        // Drawn from the first score on (a chart is never shown empty).
        if (step === 0)
          lab.emit({
            type: "figure",
            figure: {
              kind: "line",
              id: "choices",
              title: "Multiple choice (Shakespeare, HellaSwag-style): accuracy",
              xLabel: "step",
              yLabel: "acc_norm",
              series: ["acc_norm", "chance"],
            },
          });
        lab.emit({ type: "points", figure: "choices", series: "acc_norm", points: at(last.accNorm) });
        lab.emit({ type: "points", figure: "choices", series: "chance", points: at(0.25) });
      }
    }
    const seconds = (performance.now() - started) / 1000;
    lab.emit({
      type: "figure",
      figure: {
        kind: "stats",
        id: "stats",
        title: step === steps - 1 ? `After ${steps} steps` : "Training",
        items: [
          { label: "step", value: `${step + 1} / ${steps}` },
          { label: "loss", value: loss.toFixed(4) },
          { label: "val loss", value: Number.isNaN(last.val) ? "–" : last.val.toFixed(4) },
          { label: "uniform guess ln 50,257", value: Math.log(GPT2_VOCAB).toFixed(4) },
          { label: "learning rate", value: lr.toExponential(2) },
          { label: "gradient norm (clipped at 1.0)", value: gradNorm === null ? "–" : gradNorm.toFixed(3) },
          {
            label: `multiple choice (${choices.length}, chance 25%)`,
            value: Number.isNaN(last.accNorm) ? "–" : `${(100 * last.accNorm).toFixed(0)}%`,
          },
          {
            label: "tokens / s",
            value: Math.round(((step + 1) * trainer.tokensPerStep) / seconds).toLocaleString("en"),
          },
        ],
      },
    });
    await lab.tick();
  }

  // Samples from the trained model: GPT-2's tokens only (the padded ids never trained).
  const prompt = param.string(params, "prompt");
  if (prompt.length === 0) throw new RangeError("prompt: type the beginning of a text");
  const start = encoding.encode(prompt);
  const ids = start.slice(-config.blockSize);
  const sampleTokens = param.number(params, "sampleTokens");
  const samples: number[][] = [];
  for (let s = 0; s < 2; s++) {
    const out = await model.generate(ids, sampleTokens, {
      topK: 50,
      generator: new Random(param.number(params, "seed") + s),
      vocabLimit: GPT2_VOCAB,
    });
    samples.push([...(await out.data())]);
    out.dispose();
  }
  const vocabulary = new Set(
    ((await loadDatasetText("tinyshakespeare")).match(/[A-Za-z']+/g) ?? []).map((w) => w.toLowerCase()),
  );
  for (const sample of samples) {
    const text = encoding.decode(sample);
    lab.emit({ type: "log", text: `sample: ${text}` });
  }
  const words = samples.map((s) => knownWordShare(encoding.decode(s.slice(ids.length)), vocabulary));
  lab.emit({
    type: "figure",
    figure: {
      kind: "tokens",
      id: "samples",
      title: "Two samples, token by token (top-k 50)",
      wide: true,
      frames: [
        {
          caption: `${ids.length} prompt tokens, then ${sampleTokens} sampled. Words that Shakespeare's text also has: ${words.map((w) => `${Math.round(100 * w)}%`).join(" and ")}.`,
          sequences: samples.map((sample, i) => ({
            name: `sample ${i + 1}`,
            tokens: sample.map((id) => ({ id, text: tokenText(encoding, id) })),
          })),
        },
      ],
    },
  });
  await lab.tick();

  // #region inside-trained
  // The trained model seen from inside, for the prompt: the same views as GPT-2's (and lesson 7's).
  const decode = (id: number) => tokenText(encoding, id);
  // The val text lets a neuron's detail show what it responds to, and ablate it.
  const sample = { val: data.val, windows: 16, vocabLimit: GPT2_VOCAB, sampleTokens: 24 };
  await lookInside(lab, { model, ids, decode, gradients: true, data: sample });
  // #endregion
}

let loaded: { key: string; model: GPT } | undefined;

async function gpt2Experiment(params: Params, lab: LabContext): Promise<void> {
  const chosen = await chosenWeights(params);
  if (!chosen) {
    lab.emit({ type: "log", text: WHERE_TO_GET });
    lab.emit({
      type: "figure",
      figure: {
        kind: "stats",
        id: "model",
        title: "No model loaded",
        items: [
          { label: "weights", value: "none chosen" },
          { label: "get", value: "huggingface.co/openai-community/gpt2" },
          { label: "file", value: "model.safetensors (548 MB)" },
        ],
      },
    });
    return;
  }
  const started = performance.now();
  // A re-run with another prompt keeps the model: loading GPT-2 takes seconds.
  const key = `${chosen.file.name}:${chosen.file.bytes.byteLength}:${chosen.heads}:${headsFromConfig(chosen.file)}`;
  if (loaded?.key !== key) loaded = { key, model: gpt2FromSafetensors(chosen.file, chosen.heads) };
  const model = loaded.model;
  const c = model.config;
  lab.emit({
    type: "figure",
    figure: {
      kind: "stats",
      id: "model",
      title: chosen.file.name,
      items: [
        { label: "parameters", value: model.numParameters().toLocaleString("en") },
        { label: "layers × heads × width", value: `${c.nLayer} × ${c.nHead} × ${c.nEmbd}` },
        { label: "vocabulary", value: String(c.vocabSize) },
        { label: "context", value: String(c.blockSize) },
        { label: "loaded in", value: `${((performance.now() - started) / 1000).toFixed(2)} s` },
      ],
    },
  });
  await lab.tick();

  // What the position embeddings learned: one row per position, one column per channel.
  const weights = await model.transformer.wpe.weight.data();
  const wpe = Array.from({ length: c.blockSize }, (_, pos) =>
    Array.from(weights.subarray(pos * c.nEmbd, (pos + 1) * c.nEmbd)),
  );
  lab.emit({
    type: "figure",
    figure: {
      kind: "heatmap",
      id: "wpe",
      title: `wpe: ${c.blockSize} positions × ${c.nEmbd} channels`,
      wide: true,
      values: wpe,
      xLabel: "channel →",
      yLabel: "position ↓",
      scheme: "diverging",
      text: false,
      caption:
        "In the trained GPT-2 the rows vary smoothly: nearby positions get similar vectors, with sinusoid-like channels the model learned by itself.",
    },
  });
  const channels = [150, 200, 250].map((ch) => Math.min(c.nEmbd - 1, Math.round((ch * c.nEmbd) / 768)));
  const names = channels.map((ch) => `channel ${ch}`);
  lab.emit({
    type: "figure",
    figure: {
      kind: "line",
      id: "wpe-columns",
      title: "A few channels of wpe along the positions",
      xLabel: "position",
      yLabel: "value",
      series: names,
    },
  });
  for (const [i, ch] of channels.entries()) {
    lab.emit({
      type: "points",
      figure: "wpe-columns",
      series: names[i]!,
      points: wpe.map((row, pos) => ({ x: pos, y: row[ch]! })),
    });
  }
  await lab.tick();

  const prompt = param.string(params, "prompt");
  if (prompt.length === 0) throw new RangeError("prompt: type the beginning of a text");
  const generated = await generateText(
    model,
    prompt,
    param.number(params, "tokens"),
    param.number(params, "seed"),
  );
  const encoding = isGPT2Vocabulary(c.vocabSize) ? await getEncoding("gpt2") : null;
  lab.emit({
    type: "figure",
    figure: {
      kind: "tokens",
      id: "generated",
      title: "Prompt and continuation, token by token",
      frames: [
        {
          caption: `${generated.prompt} prompt tokens, then ${generated.ids.length - generated.prompt} sampled (top-k 50).`,
          sequences: [
            {
              name: encoding ? "gpt2" : "token ids",
              tokens: generated.ids.map((id) => ({
                id,
                text: encoding ? tokenText(encoding, id) : `${id} `,
              })),
            },
          ],
        },
      ],
    },
  });
  lab.emit({ type: "log", text: `> ${generated.text}` });
  await lab.tick();

  // #region inside
  // Inside the model for the prompt: one forward with probes on every block. The gradients need
  // a backward pass through all the weights: done for small models only (not GPT-2's 124M).
  const promptIds = generated.ids.slice(0, Math.min(generated.prompt, c.blockSize));
  const decode = (id: number) => (encoding ? tokenText(encoding, id) : String(id));
  const small = model.numParameters() < 20_000_000;
  // Shakespeare's val text in GPT-2's tokens: what a neuron responds to, and ablations (fewer windows for GPT-2's 124M).
  const data = encoding
    ? {
        val: (await tokenizedShakespeare()).val,
        windows: small ? 16 : 4,
        vocabLimit: GPT2_VOCAB,
        sampleTokens: small ? 24 : 12,
      }
    : undefined;
  await lookInside(lab, { model, ids: promptIds, decode, gradients: small, ...(data ? { data } : {}) });
  // #endregion
}

export const lesson: Lesson = {
  id: "09-gpt2",
  number: 9,
  title: "GPT-2",
  summary:
    "An untrained GPT-2's loss at initialization and one batch overfit; GPT-2's architecture, tokenizer and training recipe on Shakespeare in a minute; then OpenAI's GPT-2 weights: load or download them, generate, look inside.",
  lecture: { title: "Let's reproduce GPT-2 (124M)", url: "https://www.youtube.com/watch?v=l8pRSuU81PU" },
  sections: [
    {
      id: "init",
      title: "An untrained GPT-2: the loss at initialization, then one batch overfit",
      cells: [
        {
          kind: "text",
          text: "The lecture begins with GPT-2's tokenizer and a GPT-2 with random weights, and checks two things before any real training. First the loss at initialization: a model that has learned nothing should spread its bets evenly over GPT-2's 50,257 tokens, so its cross-entropy should be about $-\\ln(1/50{,}257) = \\ln 50{,}257 \\approx 10.82$, and what it writes is gibberish from all over the vocabulary. Then it trains on one batch only, again and again: if the model and its backward pass are right, it memorizes that batch and the loss falls to near zero.",
        },
        {
          kind: "math",
          tex: "\\mathcal{L}_0 = -\\ln \\tfrac{1}{50{,}257} = \\ln 50{,}257 \\approx 10.82",
        },
        { kind: "code", file: THIS, region: "batch" },
        { kind: "code", file: THIS, region: "overfit" },
        {
          kind: "text",
          text: "The model is this page's small GPT-2 (2 layers, 4 heads, 64 channels, GPT-2's vocabulary padded to 50,304), the batch the first $4 \\times 32$ tokens of Tiny Shakespeare, as in the lecture. The lecture's GPT-2 (124M) goes from 10.9 to near 0 in 50 steps at a learning rate of $3 \\cdot 10^{-4}$; this small model needs a rate 20 times larger ($6 \\cdot 10^{-3}$), and the gradient's norm clipped at 1.0 (part of the recipe of the next section) to stay stable at it.",
        },
      ],
      experiment: {
        id: "init",
        title: "Loss at initialization, then overfit one batch",
        streaming: true,
        webgpu: true,
        params: {
          steps: { kind: "int", label: "steps", default: 50, min: 1, max: 1000 },
          lr: { kind: "number", label: "learning rate", default: 6e-3, min: 1e-5, max: 0.1 },
          batchSize: { kind: "int", label: "batch rows B", default: 4, min: 1, max: 16 },
          blockSize: { kind: "int", label: "tokens a row T", default: 32, min: 8, max: 128 },
          seed: { kind: "int", label: "seed", default: 1337 },
        },
        run: initAndOverfitExperiment,
      },
    },
    {
      id: "train",
      title: "Training a GPT-2 the lecture's way, small",
      cells: [
        {
          kind: "text",
          text: "The lecture writes GPT-2 (124M) and trains it on 10 billion tokens of FineWeb with a recipe taken from the GPT-2 and GPT-3 papers. Here the model is GPT-2's — token and position embeddings, pre-LayerNorm blocks with GELU (tanh), the output layer tied to the token embedding — and so is the tokenizer: GPT-2's BPE with 50,257 tokens, the vocabulary padded to 50,304 (a multiple of 64, as the lecture does for speed). Only its size is small, so it learns from Tiny Shakespeare (338,025 GPT-2 tokens) in a minute in this page.",
        },
        {
          kind: "text",
          text: "The real loop draws a new batch at every step. From $\\ln 50{,}257 \\approx 10.82$, within a few dozen steps it learns which tokens Shakespeare uses at all (the loss falls to about 6.5, and samples are made of his words), then which follow which. The recipe: AdamW with $\\beta = (0.9, 0.95)$ and weight decay 0.1 on the matrices only (not on biases and LayerNorm gains), the gradient's norm clipped to 1.0, a linear warmup then cosine decay of the learning rate, and gradients accumulated over micro-batches to make a bigger batch than memory allows.",
        },
        {
          kind: "math",
          tex: "\\eta_t = \\begin{cases} \\eta_{\\max}\\,\\frac{t+1}{t_w+1} & t < t_w \\\\ \\eta_{\\min} + \\tfrac12\\,(\\eta_{\\max}-\\eta_{\\min})\\big(1+\\cos\\pi\\tfrac{t-t_w}{T-t_w}\\big) & t \\ge t_w \\end{cases}",
        },
        {
          kind: "math",
          tex: "g \\leftarrow g \\cdot \\min\\Big(1, \\frac{1.0}{\\lVert g \\rVert}\\Big) \\qquad \\theta \\leftarrow \\theta - \\eta_t \\Big(\\frac{\\hat m}{\\sqrt{\\hat v} + \\epsilon} + \\lambda\\, \\theta\\,[\\theta \\text{ is 2-D}]\\Big)",
        },
        { kind: "code", file: THIS, region: "recipe" },
        {
          kind: "code",
          file: "src/train/gpt.ts",
          symbol: "  constructor(",
          caption: "Weight decay on the 2-D parameters only (configure_optimizers)",
          collapsed: true,
        },
        {
          kind: "code",
          file: "src/train/gpt.ts",
          symbol: "async stepAsync()",
          caption: "One step: accumulate, clip, update",
          collapsed: true,
        },
        {
          kind: "text",
          text: "Every fifth of the run measures the val loss and a multiple-choice score. The lecture's is HellaSwag (GPT-2 124M: 29.55%), which needs a download; offline this page builds a HellaSwag-shaped set from Shakespeare's val text instead: two lines of context, four candidate next lines — the true one and three lines from elsewhere — and the model picks the ending with the lowest mean loss per token (acc_norm), as build-nanogpt's evaluation does. Chance is 25%. Then two samples, and the trained model seen from inside: the logit lens, its MLP neurons, its heads.",
        },
        {
          kind: "text",
          text: "What it reaches (measured on this project's 2-core machine, wasm): the default 120 steps (61,440 tokens) end at val loss 6.23 — against 10.82 for a uniform guess — with samples made of Shakespeare's words but little grammar. 600 steps (307,200 tokens, about one pass over the training text; in the terminal `hero lesson run 9 train --set steps=600`) reach val 5.84 (train 5.15), 92% and 96% of the two samples' words are in his text, and the samples take his shape — speaker names in capitals, short lines, \"The king of time that my lord.\" The multiple-choice score stays at chance for both (15% of 20 and 17% of 100 examples): picking the true next line needs more than a few million parameters learn from 300,000 tokens — even GPT-2 (124M) scores only 29.55% on HellaSwag against 25% for chance.",
        },
        { kind: "code", file: THIS, region: "inside-trained", collapsed: true },
      ],
      experiment: {
        id: "train",
        title: "Train a small GPT-2 on Shakespeare",
        streaming: true,
        webgpu: true,
        params: {
          steps: { kind: "int", label: "steps", default: 120, min: 1, max: 20_000 },
          nLayer: { kind: "int", label: "layers", default: 2, min: 1, max: 12 },
          nHead: { kind: "int", label: "heads", default: 4, min: 1, max: 16 },
          nEmbd: { kind: "int", label: "width", default: 64, min: 16, max: 768, step: 16 },
          blockSize: { kind: "int", label: "context (tokens)", default: 64, min: 8, max: 1024 },
          batchSize: { kind: "int", label: "micro-batch", default: 4, min: 1, max: 64 },
          accumulation: {
            kind: "int",
            label: "gradient accumulation",
            default: 2,
            min: 1,
            max: 64,
            help: "micro-batches whose gradients add up before one optimizer step",
          },
          lr: { kind: "number", label: "max learning rate", default: 6e-3, min: 1e-5, max: 0.1 },
          warmup: { kind: "int", label: "warmup steps", default: 10, min: 0, max: 10_000 },
          choices: {
            kind: "int",
            label: "multiple-choice examples",
            default: 20,
            min: 1,
            max: 500,
          },
          prompt: {
            kind: "text",
            label: "prompt (sampled from, then looked inside)",
            default: "ROMEO:\nBut soft, what light through yonder window breaks?",
            rows: 2,
          },
          sampleTokens: { kind: "int", label: "sampled tokens", default: 40, min: 1, max: 500 },
          seed: { kind: "int", label: "seed", default: 1337 },
        },
        run: trainGPT2Experiment,
      },
    },
    {
      id: "gpt2",
      title: "Loading GPT-2 and sampling from it",
      cells: [
        {
          kind: "text",
          text: "The lecture's run ends near OpenAI's own GPT-2 (124M), whose weights are public: the download button fetches them from Hugging Face (548 MB, kept in this browser's storage so the next visit loads them at once), or choose a copy on disk. GPT-2 (124M) is lesson 7's GPT at scale: 12 layers, 12 heads, 768 channels, a context of 1,024 tokens and GPT-2's 50,257-token vocabulary. Hugging Face stores its weights in a safetensors file: a JSON header naming each tensor with its shape and offset, then the raw float32 bytes. The names map one to one onto herograd's modules; the four projection matrices are stored transposed (GPT-2's Conv1D), so they are transposed on the way in.",
        },
        {
          kind: "math",
          tex: "P(x_{t+1} \\mid x_{\\le t}) = \\operatorname{softmax}\\big(\\operatorname{LN}(h_L)\\, W_{te}^{\\top}\\big) \\quad\\text{(the output layer shares } W_{te}\\text{ with the input)}",
        },
        { kind: "code", file: THIS, region: "load" },
        {
          kind: "code",
          file: "src/io/gpt2.ts",
          symbol: "export function loadHFStatePartial",
          collapsed: true,
        },
        { kind: "code", file: THIS, region: "generate", collapsed: true },
        {
          kind: "text",
          text: "The position embeddings $W_{pe}$ ($1024 \\times 768$) are learned, not fixed sinusoids — yet each channel, plotted along the positions, comes out wavy and smooth, as the lecture shows: the model found that nearby positions should look alike.",
        },
        {
          kind: "text",
          text: "Then the prompt goes through the model once more with probes hooked on every block, as in lesson 7: a block drawn with GPT-2's real shapes ($C = 768$, 12 heads of 64, an MLP of 3,072 neurons), the residual stream's norm layer by layer, the logit lens — GPT-2's guess of the next token after each of its 12 layers — and its most active MLP neurons and heads, each a click away from its numbers and its code.",
        },
        { kind: "code", file: THIS, region: "inside", collapsed: true },
      ],
      experiment: {
        id: "gpt2",
        title: "Load GPT-2, generate, look at wpe",
        webgpu: true,
        params: {
          weights: {
            kind: "file",
            label: "GPT-2 weights (model.safetensors)",
            default: null,
            accept: ".safetensors",
            help: "Hugging Face's openai-community/gpt2 model.safetensors, any GPT-2 size, or a `hero gpt export` of your own run",
            download: GPT2_DOWNLOAD,
          },
          heads: {
            kind: "int",
            label: "heads (0: config.json's, else width / 64)",
            default: 0,
            min: 0,
            max: 64,
            help: "a safetensors file does not say how many attention heads; every GPT-2 size has 64 channels a head",
          },
          prompt: { kind: "text", label: "prompt", default: "Hello, I'm a language model,", rows: 2 },
          tokens: { kind: "int", label: "new tokens", default: 24, min: 1, max: 500 },
          seed: { kind: "int", label: "seed", default: 42 },
        },
        run: gpt2Experiment,
      },
    },
  ],
};
