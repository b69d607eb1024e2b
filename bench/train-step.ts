/**
 * bench/train-step: ms per training step (batch 32, SGD) of lecture 4's MLP with BatchNorm
 * (12,097 parameters) and lecture 6's WaveNet (76,579), on each registered herograd backend and in
 * PyTorch (bench/reference/makemore_train_step.py) from the same command, with the ratio.
 * Usage: hero bench train-step [-- --steps N --models mlp-bn,wavenet]
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildContextWindows, CharVocabulary, parseWords } from "../src/data/index.js";
import { loadText } from "../src/data/node.js";
import { mlpBatchNorm, wavenet } from "../src/models/makemore.js";
import type { Layer } from "../src/nn/index.js";
import { SGD } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import { backendNames, setBackend } from "../src/tensor/index.js";
import { trainStep, windowTensors } from "../src/train/makemore.js";
import { findPython, printTable, referencePath, runPython } from "./util.js";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    steps: { type: "string", default: "500" },
    // V8 reaches its steady speed only after about a thousand steps of these small models
    // (1.6 ms → 0.4 ms per mlp-bn step): a short warm-up would time the JIT, not the step.
    warmup: { type: "string", default: "1000" },
    models: { type: "string", default: "mlp-bn,wavenet" },
  },
  allowPositionals: true,
});
const steps = Number(values.steps);
const warmup = Number(values.warmup);

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
// PyTorch trains on the very text herograd loaded (a file, a download or the embedded default).
const namesFile = join(mkdtempSync(join(tmpdir(), "hero-bench-")), "names.txt");
writeFileSync(namesFile, names.text);

console.log(`makemore train step, batch 32, SGD; ${steps} timed steps after ${warmup} warm-up steps`);
const rows: (string | number)[][] = [["model", "params", "implementation", "ms/step", "vs PyTorch"]];
for (const name of values.models!.split(",")) {
  const spec = models[name];
  if (!spec) throw new Error(`unknown model "${name}"; known: ${Object.keys(models).join(", ")}`);
  let torchMs: number | undefined;
  let torchNote = "PyTorch not installed (apt-get install python3-torch)";
  if (python) {
    const input = JSON.stringify({
      model: name,
      names: namesFile,
      batch: 32,
      steps,
      warmup,
    });
    // Debian's OpenBLAS does not recognise this CPU and falls back to a slow kernel without this.
    const ref = runPython(python, referencePath("makemore_train_step.py"), input, {
      OPENBLAS_CORETYPE: "SkylakeX",
    });
    if (ref.ok) {
      const r = JSON.parse(ref.stdout) as { ms_per_step: number; torch: string; threads: number };
      torchMs = r.ms_per_step;
      torchNote = `PyTorch ${r.torch} (${r.threads} thread${r.threads === 1 ? "" : "s"}, OPENBLAS_CORETYPE=SkylakeX)`;
    } else {
      torchNote = `PyTorch failed: ${ref.stderr.trim().split("\n").at(-1)}`;
    }
  }
  // HERO_BACKEND (hero bench --backend) picks one backend; otherwise every registered one runs.
  for (const backend of backendNames().filter(
    (b) => !process.env.HERO_BACKEND || b === process.env.HERO_BACKEND,
  )) {
    setBackend(backend);
    const data = windowTensors(buildContextWindows(words, vocab, spec.block));
    const model = spec.build(new Random(42));
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    const g = new Random(1);
    for (let i = 0; i < warmup; i++) trainStep(model, optimizer, data, 32, g);
    const started = performance.now();
    for (let i = 0; i < steps; i++) trainStep(model, optimizer, data, 32, g);
    const ms = (performance.now() - started) / steps;
    const ratio =
      torchMs === undefined
        ? ""
        : ms > torchMs
          ? `${(ms / torchMs).toFixed(2)}x slower`
          : `${(torchMs / ms).toFixed(2)}x faster`;
    rows.push([name, model.numParameters(), `herograd ${backend}`, ms.toFixed(3), ratio]);
  }
  rows.push([
    name,
    "",
    torchNote,
    torchMs === undefined ? "-" : torchMs.toFixed(3),
    torchMs === undefined ? "" : "1.00x",
  ]);
}
printTable(rows);
