/**
 * bench/train-step: ms per training step (batch 32, SGD) of lecture 4's MLP with BatchNorm
 * (12,097 parameters) and lecture 6's WaveNet (76,579), on each registered herograd backend and in
 * PyTorch (bench/reference/makemore_train_step.py) from the same command, with the ratio.
 * Usage: hero bench train-step [-- --steps N --blocks B --models mlp-bn,wavenet]
 */
import "../src/backend/select.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildContextWindows, CharVocabulary, parseWords } from "../src/data/index.js";
import { loadText } from "../src/data/node.js";
import { mlpBatchNorm, wavenet } from "../src/models/makemore.js";
import type { Layer } from "../src/nn/index.js";
import { SGD } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import { backendNames, setBackend } from "../src/tensor/index.js";
import { trainStep, windowTensors } from "../src/train/makemore.js";
import { benchArgs, findPython, type PythonServer, printTable, referencePath, servePython } from "./util.js";

const { values } = benchArgs({
  steps: { type: "string", default: "500" },
  // V8 reaches its steady speed only after one to two thousand steps of these small models
  // (1.6 ms → 0.22 ms per mlp-bn step; blocks of 50 steps right after 1,000 warm-up steps still
  // swing between 0.23 and 0.52 ms): a short warm-up would time the JIT, not the step.
  warmup: { type: "string", default: "3000" },
  // The cores are shared with other machines' work that comes and goes within seconds: PyTorch
  // (a process kept running) and herograd take turns, a block of steps each, so both see the
  // same load.
  blocks: { type: "string", default: "10" },
  models: { type: "string", default: "mlp-bn,wavenet" },
});
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const blocks = Math.max(1, Math.min(steps, Number(values.blocks)));
const blockSteps = Math.round(steps / blocks);

const models: Record<string, { block: number; build: (g: Random) => Layer }> = {
  "mlp-bn": {
    block: 3,
    build: (g) => mlpBatchNorm({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 200, generator: g }),
  },
  wavenet: {
    block: 8,
    build: (g) => wavenet({ vocabSize: 27, blockSize: 8, nEmbd: 24, nHidden: 128, generator: g }),
  },
};

const names = await loadText("names");
const words = parseWords(names.text);
const vocab = CharVocabulary.fromWords(words);
const python = findPython(["torch"]);
// PyTorch trains on the very text herograd loaded (a file, the shipped copy or a download).
const namesFile = join(mkdtempSync(join(tmpdir(), "hero-bench-")), "names.txt");
writeFileSync(namesFile, names.text);

console.log(
  `makemore train step, batch 32, SGD; ${blocks} blocks of ${blockSteps} timed steps after ${warmup} warm-up steps, PyTorch and herograd taking turns block by block (the js backend runs alone, after)`,
);
const rows: (string | number)[][] = [
  ["model", "params", "implementation", "ms/step", "vs PyTorch", "blocks faster than PyTorch's"],
];
for (const name of values.models!.split(",")) {
  const spec = models[name];
  if (!spec) throw new Error(`unknown model "${name}"; known: ${Object.keys(models).join(", ")}`);
  // HERO_BACKEND (hero bench --backend) picks one backend; otherwise every registered one runs.
  const runs = backendNames()
    .filter((b) => !process.env.HERO_BACKEND || b === process.env.HERO_BACKEND)
    .map((backend) => {
      setBackend(backend);
      const data = windowTensors(buildContextWindows(words, vocab, spec.block));
      const model = spec.build(new Random(42));
      const optimizer = new SGD(model.parameters(), { lr: 0.1 });
      const g = new Random(1);
      for (let i = 0; i < warmup; i++) trainStep(model, optimizer, data, 32, g);
      /** Milliseconds for n steps. */
      const time = (n: number): number => {
        setBackend(backend);
        const started = performance.now();
        for (let i = 0; i < n; i++) trainStep(model, optimizer, data, 32, g);
        return performance.now() - started;
      };
      return { backend, model, time, blockMs: [] as number[] };
    });
  let torchNote = "PyTorch not installed (apt-get install python3-torch)";
  const torchBlockMs: number[] = [];
  let torch: PythonServer | undefined;
  if (python) {
    const input = JSON.stringify({ model: name, names: namesFile, batch: 32, steps: 0, warmup, serve: true });
    try {
      // Debian's OpenBLAS does not recognise this CPU and falls back to a slow kernel without this.
      torch = await servePython(python, referencePath("makemore_train_step.py"), input, {
        OPENBLAS_CORETYPE: "SkylakeX",
      });
      const r = JSON.parse(torch.header) as { torch: string; threads: number };
      torchNote = `PyTorch ${r.torch} (${r.threads} thread${r.threads === 1 ? "" : "s"}, OPENBLAS_CORETYPE=SkylakeX)`;
    } catch (error) {
      torchNote = `PyTorch failed: ${(error as Error).message}`;
    }
  }
  const paired = runs.filter((r) => r.backend !== "js");
  for (let b = 0; b < blocks; b++) {
    if (torch) torchBlockMs.push((JSON.parse(await torch.ask(String(blockSteps))) as { ms: number }).ms);
    for (const run of paired) run.blockMs.push(run.time(blockSteps));
  }
  torch?.close();
  for (const run of runs) if (run.backend === "js") run.blockMs.push(run.time(blockSteps * blocks));
  const total = (xs: number[]) => xs.reduce((p, q) => p + q, 0);
  const torchMs = torchBlockMs.length > 0 ? total(torchBlockMs) / (blockSteps * blocks) : undefined;
  for (const run of runs) {
    const ms = total(run.blockMs) / (blockSteps * blocks);
    const ratio =
      torchMs === undefined
        ? ""
        : ms > torchMs
          ? `${(ms / torchMs).toFixed(2)}x slower`
          : `${(torchMs / ms).toFixed(2)}x faster`;
    const wins =
      torchMs === undefined || run.backend === "js"
        ? ""
        : `${run.blockMs.filter((t, i) => t < torchBlockMs[i]!).length} of ${blocks}`;
    rows.push([name, run.model.numParameters(), `herograd ${run.backend}`, ms.toFixed(3), ratio, wins]);
  }
  rows.push([
    name,
    "",
    torchNote,
    torchMs === undefined ? "-" : torchMs.toFixed(3),
    torchMs ? "1.00x" : "",
    "",
  ]);
}
printTable(rows);
