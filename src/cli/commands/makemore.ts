import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { buildContextWindows, CharVocabulary, parseWords, splitWords } from "../../data/index.js";
import { loadText } from "../../data/node.js";
import { loadCheckpoint, saveCheckpoint } from "../../io/checkpoint.js";
import { headlessDocument, lineChart, svgText } from "../../plot/index.js";
import { Random } from "../../random/index.js";
import { runDiagnostics } from "../../train/diagnostics.js";
import { windowTensors } from "../../train/makemore.js";
import {
  buildMakemoreModel,
  checkMakemoreCheckpoint,
  MAKEMORE_TYPES,
  type MakemoreConfig,
  type MakemoreType,
  makemoreDefaults,
  sampleMakemore,
  trainMakemore,
} from "../../train/makemore-run.js";
import { useBackend } from "../backend-option.js";
import { writeFileAtomic } from "../files.js";
import { checkFiniteWeights } from "../finite.js";
import {
  nonNegativeIntOption,
  numberOption,
  positiveIntOption,
  positiveNumberOption,
  rangeOption,
  seedOption,
} from "../options.js";
import { startProgress } from "../progress.js";
import { claimOutputFolder } from "../run-folder.js";

async function loadWords(file: string | undefined): Promise<string[]> {
  const { text, source } = await loadText("names", {
    path: file,
    log: (m) => console.error(m),
  });
  const words = parseWords(text);
  if (words.length < 10)
    throw new Error(`${source}: only ${words.length} words; makemore needs a list of names, one per line`);
  // Say which list: results compare with the lecture's only on its names.txt.
  console.log(`${words.length} names from ${source}`);
  return words;
}

interface DiagnoseOptions {
  backend?: string;
  data?: string;
  batchnorm: boolean;
  gain: number;
  depth: number;
  steps: number;
  lr: number;
  seed: number;
  out: string;
}

interface TrainOptions {
  backend?: string;
  type: string;
  data?: string;
  steps?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  blockSize?: number;
  nEmbd?: number;
  nHidden?: number;
  evalInterval?: number;
  evalWords?: number;
  out: string;
  overwrite?: boolean;
  samples: number;
}

export function registerMakemore(program: Command): void {
  const makemore = program
    .command("makemore")
    .description(
      "lectures 2–6: character-level language models of names (bigram … WaveNet, RNN, GRU, BoW, Transformer)",
    );

  makemore
    .command("train")
    .description(
      "train a makemore model; prints train/val loss at intervals, samples, and saves a checkpoint",
    )
    .requiredOption("--type <type>", `model: ${MAKEMORE_TYPES.join(" | ")}`)
    .option(
      "--data <file>",
      "names, one per line (default: names.txt from HERO_DATA_DIR, else the copy herograd ships)",
    )
    .option("--steps <n>", "training steps (default depends on the type)", positiveIntOption)
    .option("--batch-size <n>", "minibatch size", positiveIntOption)
    .option("--lr <x>", "learning rate (SGD for mlp, mlp-bn, wavenet; AdamW otherwise)", positiveNumberOption)
    .option("--seed <n>", "seed for the split, the weights and the batches", seedOption)
    .option("--block-size <n>", "context length of mlp, mlp-bn, wavenet", positiveIntOption)
    .option("--n-embd <n>", "embedding size", positiveIntOption)
    .option("--n-hidden <n>", "hidden size", positiveIntOption)
    .option("--eval-interval <n>", "evaluate every n steps", positiveIntOption)
    .option(
      "--eval-words <n>",
      "words of each split to evaluate on (default: the whole dev split)",
      positiveIntOption,
    )
    .option("--out <dir>", "checkpoint directory (default out/makemore/TYPE)")
    .option("--overwrite", "start afresh in --out, moving the run it holds aside to <out>.old-<time>")
    .option("--samples <n>", "names to sample at the end", nonNegativeIntOption, 10)
    .option("--backend <name>", "tensor backend: js or wasm (default: HERO_BACKEND, else wasm)")
    .action(async (opts: TrainOptions) => {
      useBackend(opts.backend);
      if (!MAKEMORE_TYPES.includes(opts.type as MakemoreType)) {
        throw new Error(`unknown --type "${opts.type}"; choose one of ${MAKEMORE_TYPES.join(", ")}`);
      }
      const type = opts.type as MakemoreType;
      const words = await loadWords(opts.data);
      const overrides: Partial<MakemoreConfig> & { type: MakemoreType } = { type };
      for (const key of [
        "steps",
        "batchSize",
        "lr",
        "seed",
        "blockSize",
        "nEmbd",
        "nHidden",
        "evalInterval",
      ] as const) {
        if (opts[key] !== undefined) overrides[key] = opts[key];
      }
      const config = { ...makemoreDefaults(type), ...overrides };
      const out = claimOutputFolder(opts.out ?? join("out", "makemore", type), {
        overwrite: opts.overwrite === true,
        log: (line) => console.log(line),
      });
      const metrics = join(out, "metrics.jsonl");
      writeFileSync(metrics, "");
      console.log(
        `training ${type} on ${words.length} names for ${config.steps} steps (batch ${config.batchSize}, lr ${config.lr})`,
      );
      const progress = startProgress(type, config.steps);
      const started = performance.now();
      const result = trainMakemore(words, config, {
        onStep: ({ step, loss, lr }) => {
          if (!Number.isFinite(loss))
            throw new Error(
              `training diverged: loss ${loss} at step ${step} (--lr ${config.lr} is too large?)`,
            );
          if (step % 10 === 0 || step === config.steps - 1) progress.update(step + 1, { loss, lr });
          if (step % 100 === 0) appendFileSync(metrics, `${JSON.stringify({ step, loss, lr })}\n`);
        },
        onEval: (e) => {
          progress.log(`step ${e.step}: train ${e.train.toFixed(4)}, val ${e.val.toFixed(4)}`);
          appendFileSync(metrics, `${JSON.stringify({ step: e.step, train: e.train, val: e.val })}\n`);
        },
      });
      progress.stop();
      const seconds = (performance.now() - started) / 1000;
      const last = result.evals.at(-1)!;
      console.log(
        `${result.model.numParameters()} parameters; final train ${last.train.toFixed(4)}, val ${last.val.toFixed(4)} in ${seconds.toFixed(1)} s`,
      );
      const samples = sampleMakemore(
        result.model,
        config,
        result.data,
        opts.samples,
        new Random(config.seed + 2),
      );
      if (samples.length > 0) console.log(`samples: ${samples.join(", ")}`);
      const path = saveCheckpoint(out, {
        weights: result.model.stateDict(),
        state: {
          kind: "makemore",
          config,
          vocab: result.data.vocab.itos,
          sequenceBlock: result.data.sequenceBlock,
          iter: config.steps,
          evals: result.evals,
        },
      });
      console.log(`checkpoint: ${path}`);
      console.log(`metrics: ${metrics}`);
    });

  makemore
    .command("sample")
    .description("sample names from a checkpoint written by `hero makemore train`")
    .requiredOption("--checkpoint <dir>", "checkpoint directory")
    .option("--count <n>", "how many names", rangeOption({ integer: true, min: 1, max: 10_000 }), 20)
    .option("--temperature <x>", "softmax temperature (lower = safer names)", positiveNumberOption, 1)
    .option("--seed <n>", "sampling seed", seedOption, 0)
    .action(async (opts: { checkpoint: string; count: number; temperature: number; seed: number }) => {
      const ckpt = loadCheckpoint(opts.checkpoint);
      await checkFiniteWeights(ckpt.weights, join(ckpt.path, "model.safetensors"));
      if (ckpt.state.kind !== "makemore")
        throw new Error(
          `${join(ckpt.path, "state.json")}: "kind" is not "makemore": not a makemore checkpoint`,
        );
      const { config, vocab, sequenceBlock } = checkMakemoreCheckpoint(
        ckpt.state,
        ckpt.weights,
        join(ckpt.path, "state.json"),
        join(ckpt.path, "model.safetensors"),
      );
      const model = buildMakemoreModel(config, vocab.size, sequenceBlock, new Random(0));
      model.loadStateDict(ckpt.weights);
      for (const name of sampleMakemore(
        model,
        config,
        { vocab },
        opts.count,
        new Random(opts.seed),
        opts.temperature,
      )) {
        console.log(name);
      }
    });

  makemore
    .command("diagnose")
    .description(
      "lecture 4: activation and gradient histograms, grad:data and update:data ratios of a deep tanh MLP, as SVG",
    )
    .option("--data <file>", "names, one per line")
    .option("--no-batchnorm", "without BatchNorm layers (watch the activations saturate or vanish)")
    .option(
      "--gain <x>",
      "weights start as randn/√fan_in × gain (5/3 is Kaiming for tanh)",
      numberOption,
      5 / 3,
    )
    .option("--depth <n>", "hidden layers", positiveIntOption, 5)
    .option("--steps <n>", "training steps for the update:data plot", positiveIntOption, 1000)
    .option("--lr <x>", "SGD learning rate", positiveNumberOption, 0.1)
    .option("--seed <n>", "seed", seedOption, 2147483647)
    .option("--out <dir>", "where to write the SVGs", "out/makemore/diagnose")
    .option("--backend <name>", "tensor backend: js or wasm (default: HERO_BACKEND, else wasm)")
    .action(async (opts: DiagnoseOptions) => {
      useBackend(opts.backend);
      const words = await loadWords(opts.data);
      const vocab = CharVocabulary.fromWords(words);
      const train = windowTensors(buildContextWindows(splitWords(words, new Random(42)).train, vocab, 3));
      const progress = startProgress("diagnose", opts.steps);
      const report = runDiagnostics(
        { ...train, vocabSize: vocab.size, blockSize: 3 },
        {
          batchNorm: opts.batchnorm,
          gain: opts.gain,
          depth: opts.depth,
          steps: opts.steps,
          lr: opts.lr,
          seed: opts.seed,
        },
        (step, loss) => {
          if (step % 10 === 0 || step === opts.steps - 1) progress.update(step + 1, { loss });
          return true;
        },
      );
      progress.stop();
      const { activations, gradients, weights } = report;
      console.log(
        `network: ${report.numParameters} parameters, batchnorm ${opts.batchnorm ? "on" : "off"}, gain ${opts.gain.toFixed(4)}`,
      );
      for (const a of activations)
        console.log(
          `${a.name}: mean ${a.mean.toFixed(2)}, std ${a.std.toFixed(2)}, saturated ${a.saturated.toFixed(2)}%`,
        );
      for (const a of gradients)
        console.log(`${a.name} grad: mean ${a.mean.toExponential(2)}, std ${a.std.toExponential(2)}`);
      for (const w of weights)
        console.log(
          `weight ${w.name} [${w.shape.join("x")}]: grad std ${w.std.toExponential(2)}, grad:data ${w.gradToData.toExponential(2)}`,
        );
      const document = await headlessDocument();
      const curve = (h: { x: number[]; density: number[] }) => h.x.map((x, i) => ({ x, y: h.density[i]! }));
      const ratioSeries = Object.entries(report.updateRatios).map(([name, points]) => ({
        name,
        points: points.map((p) => ({ x: p.step, y: p.value })),
      }));
      const guide = {
        name: "-3 (guide)",
        points: [
          { x: 0, y: -3 },
          { x: report.losses.length - 1, y: -3 },
        ],
      };
      const files: [string, Element][] = [
        [
          "activations.svg",
          lineChart(
            activations.map((s) => ({ name: s.name, points: curve(s.histogram) })),
            { document, xLabel: "tanh output", yLabel: "density" },
          ),
        ],
        [
          "gradients.svg",
          lineChart(
            gradients.map((s) => ({ name: s.name, points: curve(s.histogram) })),
            { document, xLabel: "gradient", yLabel: "density" },
          ),
        ],
        [
          "weight-gradients.svg",
          lineChart(
            weights.map((w) => ({ name: w.name, points: curve(w.histogram) })),
            { document, xLabel: "weight gradient", yLabel: "density" },
          ),
        ],
        [
          "update-ratio.svg",
          lineChart([...ratioSeries, guide], {
            document,
            xLabel: "step",
            yLabel: "log10(update std / data std)",
          }),
        ],
      ];
      for (const [file, figure] of files)
        console.log(`wrote ${writeFileAtomic(join(opts.out, file), svgText(figure))}`);
    });
}
