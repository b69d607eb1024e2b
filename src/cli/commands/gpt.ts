/**
 * `hero gpt prepare|train|sample` (nanoGPT), `hero gpt2 generate` (Hugging Face GPT-2 weights) and
 * `hero selftest gpt2` (a model directory against a gpt2_tiny.ref.json-format reference).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { defaultDataDir } from "../../data/node.js";
import { loadHFGPT2 } from "../../io/node.js";
import { Random } from "../../random/index.js";
import { backendNames, setBackend } from "../../tensor/index.js";
import { getEncoding } from "../../tokenizer/index.js";
import { applyOverrides, PRESETS, presetConfig } from "../../train/gpt.js";
import { DATASET_DIRS, loadTrainedGPT, prepareDataset, trainGPT } from "../../train/gpt-node.js";
import { runGPT2Selftest } from "../../train/gpt-selftest.js";
import { intOption, numberOption, positiveIntOption } from "../options.js";
import { startProgress } from "../progress.js";

function useBackend(name: string | undefined): void {
  if (!name) return;
  if (!backendNames().includes(name))
    throw new Error(`unknown backend "${name}"; available: ${backendNames().join(", ")}`);
  setBackend(name);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerGPT(program: Command, selftest: Command): void {
  const gpt = program.command("gpt").description("nanoGPT: prepare data, train, sample (lectures 7 and 9)");

  gpt
    .command("prepare")
    .description(
      "write train.bin/val.bin (uint16) as nanoGPT's prepare.py: shakespeare-char or shakespeare (GPT-2 BPE)",
    )
    .argument("<dataset>", "shakespeare-char | shakespeare")
    .option("--data-dir <dir>", "where prepared data sets live (default: HERO_DATA_DIR or ~/.cache/herograd)")
    .action(async (name: string, opts: { dataDir?: string }) => {
      const dir = join(opts.dataDir ?? defaultDataDir(), DATASET_DIRS[name] ?? name);
      await prepareDataset(name, dir, (m) => console.log(m));
    });

  gpt
    .command("train")
    .description("train a GPT from a preset; checkpoints, metrics.jsonl and samples go to --out")
    .requiredOption("--preset <name>", `one of ${Object.keys(PRESETS).join(", ")}`)
    .option("--set <key=value>", "override a setting (repeatable), e.g. --set max_iters=100", collect, [])
    .option("--out <dir>", "output directory", "out-gpt")
    .option("--resume", "continue from the last checkpoint in --out")
    .option("--data-dir <dir>", "where prepared data sets live")
    .option("--backend <name>", "tensor backend")
    .action(
      async (opts: {
        preset: string;
        set: string[];
        out: string;
        resume?: boolean;
        dataDir?: string;
        backend?: string;
      }) => {
        useBackend(opts.backend);
        const config = applyOverrides(presetConfig(opts.preset), opts.set);
        console.log(`preset ${opts.preset}: ${JSON.stringify(config)}`);
        const progress = startProgress("train", config.maxIters);
        let lastLoss = Number.NaN;
        const result = await trainGPT({
          config,
          outDir: opts.out,
          dataDir: opts.dataDir ?? defaultDataDir(),
          resume: opts.resume === true,
          onEvent: (e) => {
            if (e.type === "train") {
              lastLoss = e.loss;
              progress.update(e.iter + 1, { loss: e.loss, lr: e.lr, "ms/it": Math.round(e.ms) });
            } else if (e.type === "eval") {
              progress.update(e.iter, { loss: lastLoss });
              process.stderr.write("\n");
              console.log(`step ${e.iter}: train loss ${e.train.toFixed(4)}, val loss ${e.val.toFixed(4)}`);
            } else if (e.type === "checkpoint")
              console.log(`saved checkpoint (${e.roles.join(", ")}) ${e.path}`);
            else if (e.type === "sample") console.log(`--- sample at step ${e.iter} ---\n${e.text}\n---`);
          },
        });
        progress.stop();
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
    .option("--tokens <n>", "tokens to generate", positiveIntOption, 500)
    .option("--temperature <t>", "sampling temperature (0: greedy)", numberOption, 0.8)
    .option("--top-k <k>", "sample among the k most likely tokens (0: all)", intOption, 200)
    .option("--num-samples <n>", "number of samples", positiveIntOption, 1)
    .option("--seed <n>", "random seed", intOption, 1337)
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
        const { model, codec } = await loadTrainedGPT(
          opts.checkpoint,
          opts.dataDir ?? defaultDataDir(),
          opts.last ? "last" : "best",
        );
        const generator = new Random(opts.seed);
        const prompt = codec.encode(opts.prompt);
        for (let s = 0; s < opts.numSamples; s++) {
          const out = model.generate(prompt, opts.tokens, {
            temperature: opts.temperature,
            topK: opts.topK > 0 ? opts.topK : null,
            generator,
          });
          console.log(codec.decode([...out.dataSync()]));
          if (opts.numSamples > 1) console.log("---------------");
        }
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
    .option("--tokens <n>", "tokens to generate", positiveIntOption, 30)
    .option("--top-k <k>", "sample among the k most likely tokens (0: all)", intOption, 50)
    .option("--temperature <t>", "sampling temperature (0: greedy)", numberOption, 1)
    .option("--num-samples <n>", "number of samples", positiveIntOption, 1)
    .option("--seed <n>", "random seed", intOption, 42)
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
        const enc = await getEncoding("gpt2");
        const prompt = enc.encode(opts.prompt);
        const vocab = model.config.vocabSize;
        const bad = prompt.find((id) => id >= vocab);
        if (bad !== undefined)
          throw new Error(`prompt token id ${bad} is outside the model's vocabulary of ${vocab}`);
        const generator = new Random(opts.seed);
        for (let s = 0; s < opts.numSamples; s++) {
          const out = model.generate(prompt, opts.tokens, {
            temperature: opts.temperature,
            topK: opts.topK > 0 ? opts.topK : null,
            generator,
          });
          const ids = [...out.dataSync()].filter((i) => i < 50257);
          console.log(`> ${enc.decode(ids)}`);
        }
      },
    );

  selftest
    .command("gpt2")
    .description(
      "a GPT-2 model directory against a PyTorch reference (../shared/fixtures/gpt2_tiny.ref.json format)",
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
