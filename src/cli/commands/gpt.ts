/**
 * `hero gpt prepare|train|sample|eval|export` (nanoGPT, build-nanogpt), `hero gpt2 generate`
 * (Hugging Face GPT-2 weights) and `hero selftest gpt2` (a model directory against a
 * gpt2_tiny.ref.json-format reference).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Command } from "commander";
import { DATASETS } from "../../data/catalog.js";
import { HELLASWAG_SPLITS, type HellaSwagSplit, parseHellaSwag } from "../../data/hellaswag.js";
import { defaultDataDir, hellaswagFile, loadText } from "../../data/node.js";
import { prepareShards } from "../../data/shards-node.js";
import { ourKeyToHF } from "../../io/gpt2.js";
import { loadHFGPT2, saveHFGPT2 } from "../../io/node.js";
import { type GPT, MAX_GENERATED_TOKENS } from "../../models/gpt.js";
import { Random } from "../../random/index.js";
import { backendNames, setBackend } from "../../tensor/index.js";
import { getEncoding } from "../../tokenizer/index.js";
import { applyOverrides, PRESETS, presetConfig, type TrainConfig } from "../../train/gpt.js";
import { DATASET_DIRS, loadTrainedGPT, prepareDataset, trainGPT } from "../../train/gpt-node.js";
import { runGPT2Selftest } from "../../train/gpt-selftest.js";
import { evaluateHellaSwag } from "../../train/hellaswag.js";
import { checkFiniteWeights } from "../finite.js";
import { Interrupted, stopNote, stoppable } from "../lifecycle.js";
import {
  checkRange,
  nonNegativeIntOption,
  nonNegativeNumberOption,
  positiveIntOption,
  type Range,
  rangeOption,
  seedOption,
} from "../options.js";
import { startProgress } from "../progress.js";
import { claimOutputFolder } from "../run-folder.js";

/** --tokens: generation holds every id in memory, so a count is bounded before anything runs. */
const tokensOption = rangeOption({ integer: true, min: 1, max: MAX_GENERATED_TOKENS });
const samplesOption = rangeOption({ integer: true, min: 1, max: 1000 });

function useBackend(name: string | undefined): void {
  if (!name) return;
  if (!backendNames().includes(name))
    throw new Error(`unknown backend "${name}"; available: ${backendNames().join(", ")}`);
  setBackend(name);
}

/** The allowed values of the numeric training settings a user may --set (camelCase keys). */
const SETTING_RANGES: Partial<Record<keyof TrainConfig, Range>> = {
  nLayer: { integer: true, min: 1 },
  nHead: { integer: true, min: 1 },
  nEmbd: { integer: true, min: 1 },
  dropout: { min: 0, max: 1 },
  vocabSize: { integer: true, min: 0 },
  learningRate: { min: 0 },
  minLr: { min: 0 },
  warmupIters: { integer: true, min: 0 },
  lrDecayIters: { integer: true, min: 1 },
  weightDecay: { min: 0 },
  beta1: { min: 0, max: 1 },
  beta2: { min: 0, max: 1 },
  gradClip: { min: 0 },
  logInterval: { integer: true, min: 1 },
  seed: { integer: true, min: 0 },
  sampleTokens: { integer: true, min: 0 },
  hellaswagExamples: { integer: true, min: 0 },
};

/** Each --set key=value the user gave, checked against its range, the error naming the key as typed. */
function checkSettings(config: TrainConfig, settings: readonly string[]): void {
  for (const s of settings) {
    const key = s.slice(0, s.indexOf("=")).trim();
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof TrainConfig;
    const range = SETTING_RANGES[camel];
    if (range) checkRange(`setting ${key}`, config[camel] as number, range);
  }
}

/**
 * The prompt's token ids, or an error naming --prompt: an empty prompt, a character the vocabulary
 * lacks, a token outside the model's vocabulary.
 */
function promptIds(text: string, encode: (text: string) => ArrayLike<number>, vocabSize: number): number[] {
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  let ids: number[];
  try {
    ids = Array.from(encode(text));
  } catch (error) {
    throw new Error(`--prompt ${shown}: ${(error as Error).message}`);
  }
  if (ids.length === 0) throw new Error("--prompt is empty: give at least one character to start from");
  const bad = ids.find((id) => id >= vocabSize);
  if (bad !== undefined)
    throw new Error(`--prompt ${shown}: token id ${bad} is outside the model's vocabulary of ${vocabSize}`);
  return ids;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** "\n", "\t", "\r" and "\\" typed on a command line, as the characters. */
function unescapeArg(s: string): string {
  return s.replace(/\\([nrt\\])/g, (_, c: string) => ({ n: "\n", r: "\r", t: "\t", "\\": "\\" })[c]!);
}

/**
 * The files of a corpus: a data set of the catalog (found, or downloaded, as `loadText` finds it),
 * a .txt/.jsonl file, or a directory of them (sorted by name).
 */
async function corpusFiles(name: string): Promise<{ files: string[]; label: string }> {
  if (DATASETS[name]) {
    const { source } = await loadText(name, { log: (m) => console.log(m) });
    return { files: [source], label: name };
  }
  if (!existsSync(name))
    throw new Error(
      `corpus "${name}" is neither a data set (${Object.keys(DATASETS).join(", ")}) nor an existing file or directory`,
    );
  const label = basename(resolve(name), extname(name));
  if (!statSync(name).isDirectory()) return { files: [resolve(name)], label };
  const files = readdirSync(name)
    .filter((f) => f.endsWith(".txt") || f.endsWith(".jsonl"))
    .sort()
    .map((f) => resolve(name, f));
  if (files.length === 0) throw new Error(`${name} holds no .txt or .jsonl files`);
  return { files, label };
}

/** A model to evaluate: Hugging Face weights (GPT-2 BPE) or a training checkpoint (its data's codec). */
async function modelFor(opts: {
  weights?: string;
  config?: string;
  checkpoint?: string;
  last?: boolean;
  dataDir?: string;
}): Promise<{ model: GPT; encode: (s: string) => number[] }> {
  if (opts.weights && opts.checkpoint) throw new Error("pass --weights or --checkpoint, not both");
  if (opts.checkpoint) {
    const { model, codec } = await loadTrainedGPT(
      opts.checkpoint,
      opts.dataDir ?? defaultDataDir(),
      opts.last ? "last" : "best",
    );
    return { model, encode: codec.encode };
  }
  if (!opts.weights) throw new Error("pass --weights (Hugging Face GPT-2 safetensors) or --checkpoint");
  const model = loadHFGPT2(opts.weights, opts.config);
  const enc = await getEncoding("gpt2");
  return { model, encode: (s) => enc.encodeOrdinary(s) };
}

export function registerGPT(program: Command, selftest: Command): void {
  const gpt = program.command("gpt").description("nanoGPT: prepare data, train, sample (lectures 7 and 9)");

  gpt
    .command("prepare")
    .description(
      "shakespeare-char or shakespeare: train.bin/val.bin (uint16) as nanoGPT's prepare.py; any other corpus: " +
        "GPT-2 BPE token shards as build-nanogpt's fineweb.py (uint16 .npy, <|endoftext|> before each document, " +
        "shard 0 for validation)",
    )
    .argument(
      "<dataset>",
      "shakespeare-char | shakespeare | a corpus to shard: a data set name (tinyshakespeare, taylorswift), a .txt " +
        'or .jsonl file (one {"text": ...} per line) or a directory of them',
    )
    .option("--data-dir <dir>", "where prepared data sets live (default: HERO_DATA_DIR or ~/.cache/herograd)")
    .option("--shard-size <tokens>", "tokens per shard (corpora)", positiveIntOption, 100_000_000)
    .option(
      "--separator <text>",
      'split .txt files into documents at this text, e.g. "\\n\\n" (default: a file is a document)',
    )
    .option("--out <dir>", "where the shards go (default: <data-dir>/<corpus name>)")
    .action(
      async (
        name: string,
        opts: { dataDir?: string; shardSize: number; separator?: string; out?: string },
      ) => {
        const root = opts.dataDir ?? defaultDataDir();
        if (DATASET_DIRS[name]) {
          await prepareDataset(name, join(root, DATASET_DIRS[name]), (m) => console.log(m));
          return;
        }
        const { files, label } = await corpusFiles(name);
        const outDir = resolve(opts.out ?? join(root, label));
        const totalBytes = files.reduce((a, f) => a + statSync(f).size, 0);
        const progress = startProgress("tokenize", totalBytes);
        let result: Awaited<ReturnType<typeof prepareShards>>;
        try {
          result = await prepareShards({
            inputs: files,
            outDir,
            prefix: label,
            shardSize: opts.shardSize,
            ...(opts.separator !== undefined ? { separator: unescapeArg(opts.separator) } : {}),
            onProgress: (p) => progress.update(p.bytes, { docs: p.documents, tokens: p.tokens }),
          });
        } finally {
          progress.stop();
        }
        for (const s of result.shards) console.log(`${s.path}: ${s.split}, ${s.tokens} tokens`);
        console.log(
          `${outDir}: ${result.documents} documents, ${result.tokens} tokens in ${result.shards.length} shards ` +
            `(GPT-2 BPE, uint16 .npy); train with --set dataset=${outDir === resolve(root, label) ? label : outDir}`,
        );
      },
    );

  gpt
    .command("train")
    .description(
      "train a GPT from a preset on train.bin/val.bin (random windows, nanoGPT) or on the .npy shards of " +
        "`hero gpt prepare <corpus>` (read in order, build-nanogpt: --set dataset=<corpus>); checkpoints, " +
        "metrics.jsonl (loss, lr, grad norm, tok/s) and samples go to --out",
    )
    .requiredOption("--preset <name>", `one of ${Object.keys(PRESETS).join(", ")}`)
    .option("--set <key=value>", "override a setting (repeatable), e.g. --set max_iters=100", collect, [])
    .option("--out <dir>", "output directory", "out-gpt")
    .option("--resume", "continue from the last checkpoint in --out")
    .option("--overwrite", "start afresh in --out, moving the run it holds aside to <out>.old-<time>")
    .option(
      "--reset-optimizer",
      "with --resume: start the optimizer afresh (zero Adam moments), e.g. when optimizer.safetensors is lost",
    )
    .option(
      "--hellaswag <file>",
      "HellaSwag JSONL for --set hellaswag_examples=N (default: hellaswag_val.jsonl in HERO_DATA_DIR)",
    )
    .option("--data-dir <dir>", "where prepared data sets live")
    .option("--backend <name>", "tensor backend")
    .action(
      async (opts: {
        preset: string;
        set: string[];
        out: string;
        resume?: boolean;
        overwrite?: boolean;
        resetOptimizer?: boolean;
        hellaswag?: string;
        dataDir?: string;
        backend?: string;
      }) => {
        if (opts.resetOptimizer && !opts.resume) throw new Error("--reset-optimizer only goes with --resume");
        useBackend(opts.backend);
        const config = applyOverrides(presetConfig(opts.preset), opts.set);
        checkSettings(config, opts.set);
        const outDir = claimOutputFolder(opts.out, {
          resume: opts.resume === true,
          overwrite: opts.overwrite === true,
          resumable: true,
          log: (line) => console.log(line),
        });
        console.log(`preset ${opts.preset}: ${JSON.stringify(config)}`);
        const progress = startProgress("train", config.maxIters);
        let lastLoss = Number.NaN;
        // Ctrl-C (or the reader of stdout leaving) ends the run after the current step, saved as the
        // last checkpoint.
        let stopped: { requested: NodeJS.Signals | null } = { requested: null };
        const result = await stoppable((stop) => {
          stopped = stop;
          return trainGPT({
            config,
            stop,
            outDir,
            dataDir: opts.dataDir ?? defaultDataDir(),
            resume: opts.resume === true,
            resetOptimizer: opts.resetOptimizer === true,
            ...(opts.hellaswag ? { hellaswag: opts.hellaswag } : {}),
            onEvent: (e) => {
              if (e.type === "train") {
                lastLoss = e.loss;
                progress.update(e.iter + 1, {
                  loss: e.loss,
                  lr: e.lr,
                  norm: e.gradNorm ?? "-",
                  "ms/it": Math.round(e.ms),
                  "tok/s": Math.round(e.tokPerSec),
                });
              } else if (e.type === "eval") {
                progress.update(e.iter, { loss: lastLoss });
                process.stderr.write("\n");
                console.log(`step ${e.iter}: train loss ${e.train.toFixed(4)}, val loss ${e.val.toFixed(4)}`);
              } else if (e.type === "checkpoint")
                console.log(`saved checkpoint (${e.roles.join(", ")}) ${e.path}`);
              else if (e.type === "hellaswag")
                console.log(
                  `step ${e.iter}: HellaSwag acc_norm ${e.accNorm.toFixed(4)}, acc ${e.acc.toFixed(4)} (${e.examples} examples)`,
                );
              else if (e.type === "sample") console.log(`--- sample at step ${e.iter} ---\n${e.text}\n---`);
            },
          });
        }).finally(() => progress.stop());
        if (result.stopped) {
          const signal = stopped.requested ?? "SIGINT";
          console.error(stopNote(signal, `iteration ${result.iter}`, "continue with --resume"));
          throw new Interrupted(signal);
        }
        console.log(
          `done: ${result.iter} iterations, ${result.msPerIter.toFixed(1)} ms/iter, ${result.wallSeconds.toFixed(1)} s; ` +
            `train ${result.train?.toFixed(4)}, val ${result.val?.toFixed(4)}, best val ${result.bestValLoss?.toFixed(4)}`,
        );
      },
    );

  gpt
    .command("sample")
    .description("generate text from a training checkpoint")
    .requiredOption(
      "--checkpoint <dir>",
      "the --out directory of a training run (or one checkpoint directory)",
    )
    .option("--prompt <text>", "start of the text", "\n")
    .option("--tokens <n>", "tokens to generate", tokensOption, 500)
    .option("--temperature <t>", "sampling temperature (0: greedy)", nonNegativeNumberOption, 0.8)
    .option("--top-k <k>", "sample among the k most likely tokens (0: all)", nonNegativeIntOption, 200)
    .option("--num-samples <n>", "number of samples", samplesOption, 1)
    .option("--seed <n>", "random seed", seedOption, 1337)
    .option("--last", "use the last checkpoint instead of the best")
    .option("--data-dir <dir>", "where prepared data sets live")
    .option("--backend <name>", "tensor backend")
    .action(
      async (opts: {
        checkpoint: string;
        prompt: string;
        tokens: number;
        temperature: number;
        topK: number;
        numSamples: number;
        seed: number;
        last?: boolean;
        dataDir?: string;
        backend?: string;
      }) => {
        useBackend(opts.backend);
        const { model, codec, weightsFile } = await loadTrainedGPT(
          opts.checkpoint,
          opts.dataDir ?? defaultDataDir(),
          opts.last ? "last" : "best",
        );
        await checkFiniteWeights(model.namedParameters(), weightsFile);
        const generator = new Random(opts.seed);
        const prompt = promptIds(opts.prompt, (text) => codec.encode(text), model.config.vocabSize);
        for (let s = 0; s < opts.numSamples; s++) {
          const out = await model.generate(prompt, opts.tokens, {
            temperature: opts.temperature,
            topK: opts.topK > 0 ? opts.topK : null,
            generator,
          });
          const ids = [...(await out.data())];
          out.dispose();
          console.log(codec.decode(ids));
          if (opts.numSamples > 1) console.log("---------------");
        }
      },
    );

  const evalCmd = gpt.command("eval").description("evaluate a model (build-nanogpt's HellaSwag)");
  evalCmd
    .command("hellaswag")
    .description(
      "HellaSwag as build-nanogpt: each ending scored by its tokens' loss after the context; acc (summed loss) " +
        "and acc_norm (loss per token)",
    )
    .option("--weights <file>", "Hugging Face GPT-2 model.safetensors (or its directory, with config.json)")
    .option("--config <file>", "config.json for --weights (default: beside the weights)")
    .option("--checkpoint <dir>", "a training run's --out directory (or one checkpoint directory)")
    .option("--last", "with --checkpoint: the last checkpoint instead of the best")
    .option("--data <file>", "the HellaSwag JSONL file (default: hellaswag_<split>.jsonl in HERO_DATA_DIR)")
    .option("--split <name>", "val | train | test", "val")
    .option("--limit <n>", "evaluate only the first n examples", positiveIntOption)
    .option("--data-dir <dir>", "where prepared data sets live (a checkpoint's tokenizer)")
    .option("--verbose", "print each example's losses and predictions")
    .option("--backend <name>", "tensor backend")
    .action(
      async (opts: {
        weights?: string;
        config?: string;
        checkpoint?: string;
        last?: boolean;
        data?: string;
        split: string;
        limit?: number;
        dataDir?: string;
        verbose?: boolean;
        backend?: string;
      }) => {
        useBackend(opts.backend);
        if (!Object.hasOwn(HELLASWAG_SPLITS, opts.split))
          throw new Error(
            `unknown split "${opts.split}"; known: ${Object.keys(HELLASWAG_SPLITS).join(", ")}`,
          );
        const split = opts.split as HellaSwagSplit;
        const file = await hellaswagFile(split, {
          ...(opts.data ? { path: opts.data } : {}),
          log: (m) => console.log(m),
        });
        let examples = parseHellaSwag(readFileSync(file, "utf8"), file);
        if (opts.limit) examples = examples.slice(0, opts.limit);
        const { model, encode } = await modelFor(opts);
        const progress = startProgress("hellaswag", examples.length);
        const evaluate = () =>
          evaluateHellaSwag(model, examples, encode, (done, r) => {
            progress.update(done, { acc_norm: r.accNorm });
            if (opts.verbose) {
              const s = r.scores.at(-1)!;
              progress.log(
                `${s.ind}: label ${s.label}, pred ${s.pred}, pred_norm ${s.predNorm}, sum ${s.sumLoss.map((v) => v.toFixed(3)).join(" ")}, avg ${s.avgLoss.map((v) => v.toFixed(3)).join(" ")}`,
              );
            }
          });
        let result: Awaited<ReturnType<typeof evaluate>>;
        try {
          result = await evaluate();
        } finally {
          progress.stop();
        }
        console.log(
          `HellaSwag ${split} (${file}): ${result.examples} examples, acc ${result.acc.toFixed(4)} (${result.correct}/${result.examples}), ` +
            `acc_norm ${result.accNorm.toFixed(4)} (${result.correctNorm}/${result.examples})`,
        );
      },
    );

  gpt
    .command("export")
    .description(
      "write a training checkpoint as a Hugging Face GPT-2 model (config.json + model.safetensors) that " +
        "transformers' GPT2LMHeadModel.from_pretrained loads",
    )
    .requiredOption("--checkpoint <dir>", "a training run's --out directory (or one checkpoint directory)")
    .requiredOption("--out <dir>", "the model directory to write")
    .option("--overwrite", "move a model already in --out aside to <out>.old-<time>")
    .option("--last", "the last checkpoint instead of the best")
    .option("--data-dir <dir>", "where prepared data sets live")
    .action(
      async (opts: {
        checkpoint: string;
        out: string;
        overwrite?: boolean;
        last?: boolean;
        dataDir?: string;
      }) => {
        const { model } = await loadTrainedGPT(
          opts.checkpoint,
          opts.dataDir ?? defaultDataDir(),
          opts.last ? "last" : "best",
        );
        const out = claimOutputFolder(opts.out, {
          overwrite: opts.overwrite === true,
          log: (line) => console.log(line),
        });
        const { config, weights } = saveHFGPT2(model, out);
        console.log(`wrote ${config} and ${weights} (${model.numParameters()} parameters)`);
      },
    );

  const gpt2 = program.command("gpt2").description("GPT-2 with Hugging Face weights (lecture 9)");
  gpt2
    .command("generate")
    .description("sample from GPT-2 safetensors weights with the GPT-2 tokenizer")
    .requiredOption(
      "--weights <file>",
      "model.safetensors (or a directory with config.json and model.safetensors)",
    )
    .option("--config <file>", "config.json (default: beside the weights)")
    .option("--prompt <text>", "prompt", "Hello, I'm a language model,")
    .option("--tokens <n>", "tokens to generate", tokensOption, 30)
    .option("--top-k <k>", "sample among the k most likely tokens (0: all)", nonNegativeIntOption, 50)
    .option("--temperature <t>", "sampling temperature (0: greedy)", nonNegativeNumberOption, 1)
    .option("--num-samples <n>", "number of samples", samplesOption, 1)
    .option("--seed <n>", "random seed", seedOption, 42)
    .option("--backend <name>", "tensor backend")
    .action(
      async (opts: {
        weights: string;
        config?: string;
        prompt: string;
        tokens: number;
        topK: number;
        temperature: number;
        numSamples: number;
        seed: number;
        backend?: string;
      }) => {
        useBackend(opts.backend);
        const model = loadHFGPT2(opts.weights, opts.config);
        model.eval();
        // Named by the file the values are in (--weights may be its folder).
        const weightsFile = statSync(opts.weights).isDirectory()
          ? join(opts.weights, "model.safetensors")
          : opts.weights;
        await checkFiniteWeights(
          model.namedParameters().map(([key, p]) => [ourKeyToHF(key) ?? key, p]),
          weightsFile,
        );
        const enc = await getEncoding("gpt2");
        const prompt = promptIds(opts.prompt, (text) => enc.encode(text), model.config.vocabSize);
        const generator = new Random(opts.seed);
        for (let s = 0; s < opts.numSamples; s++) {
          const out = await model.generate(prompt, opts.tokens, {
            temperature: opts.temperature,
            topK: opts.topK > 0 ? opts.topK : null,
            generator,
          });
          const ids = [...(await out.data())].filter((i) => i < 50257);
          out.dispose();
          console.log(`> ${enc.decode(ids)}`);
        }
      },
    );

  selftest
    .command("gpt2")
    .description(
      "a GPT-2 model directory against a PyTorch reference (test/fixtures/gpt2_tiny.ref.json format)",
    )
    .requiredOption("--ref <file>", "reference JSON (gpt2_tiny.ref.json format)")
    .option(
      "--model <dir>",
      "directory with config.json and model.safetensors (default: the reference's model_dir)",
    )
    .option(
      "--grads <file>",
      "reference gradients, safetensors in Hugging Face layout (default: its grads_file)",
    )
    .option("--verbose", "print passing checks too")
    .option("--backend <name>", "tensor backend")
    .action(
      async (opts: { model?: string; ref: string; grads?: string; verbose?: boolean; backend?: string }) => {
        useBackend(opts.backend);
        // Paths inside the reference are relative to its own directory.
        const named = JSON.parse(readFileSync(opts.ref, "utf8")) as {
          model_dir?: string;
          grads_file?: string;
        };
        const beside = (p: string | undefined, what: string) => {
          if (!p) throw new Error(`${opts.ref} names no ${what}; pass it explicitly`);
          return join(dirname(opts.ref), p);
        };
        const model = opts.model ?? beside(named.model_dir, "model_dir (--model)");
        const grads = opts.grads ?? beside(named.grads_file, "grads_file (--grads)");
        const checks = await runGPT2Selftest({ model, ref: opts.ref, grads });
        let passed = 0;
        for (const c of checks) {
          if (c.passed) {
            passed++;
            if (opts.verbose) console.log(`ok   ${c.name}: ${c.detail}`);
          } else console.log(`FAIL ${c.name}: ${c.detail}`);
        }
        const failed = checks.length - passed;
        console.log(`${passed} passed, ${failed} failed`);
        if (failed > 0) process.exitCode = 1;
      },
    );
}
