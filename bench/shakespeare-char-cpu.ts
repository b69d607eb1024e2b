/**
 * bench/shakespeare-char-cpu: nanoGPT's CPU command (block 64, batch 12, 4 layers, 4 heads,
 * n_embd 128, 2000 iterations, lr_decay_iters 2000, dropout 0, eval_iters 20) trained by herograd,
 * printing ms/iteration, wall time and the final train/val loss (nanoGPT reports val 1.88), beside
 * the same configuration in PyTorch (bench/reference/shakespeare_char_gpt.py) from the same command.
 * Usage: hero bench shakespeare-char-cpu [-- --iters 50 --eval-iters 5 --no-torch --backend js]
 * (--iters shortens the run; the learning-rate schedule stays the preset's unless --decay-iters).
 */
import "../src/backend/select.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { currentBackendName, setBackend } from "../src/tensor/index.js";
import { applyOverrides, presetConfig } from "../src/train/gpt.js";
import { prepareDataset, trainGPT } from "../src/train/gpt-node.js";
import { benchArgs, findPython, printTable, referencePath, runPython } from "./util.js";

const { values } = benchArgs({
  iters: { type: "string" },
  "decay-iters": { type: "string" },
  "eval-iters": { type: "string" },
  "eval-interval": { type: "string" },
  "no-torch": { type: "boolean", default: false },
  backend: { type: "string" },
});
if (values.backend) setBackend(values.backend);

const sets: string[] = ["sample_tokens=0"];
if (values.iters) sets.push(`max_iters=${values.iters}`);
if (values["decay-iters"]) sets.push(`lr_decay_iters=${values["decay-iters"]}`);
if (values["eval-iters"]) sets.push(`eval_iters=${values["eval-iters"]}`);
if (values["eval-interval"]) sets.push(`eval_interval=${values["eval-interval"]}`);
const config = applyOverrides(presetConfig("shakespeare-char-cpu"), sets);
// Prepared afresh into a temporary folder (a second): HERO_DATA_DIR may be read-only.
const dataRoot = mkdtempSync(join(tmpdir(), "hero-bench-data-"));
const dataDir = join(dataRoot, "shakespeare_char");
const prepared = await prepareDataset("shakespeare-char", dataDir);

console.log(
  `shakespeare-char-cpu: block ${config.blockSize}, batch ${config.batchSize}, ${config.nLayer} layers, ${config.nHead} heads, ` +
    `n_embd ${config.nEmbd}, ${config.maxIters} iterations (lr decay over ${config.lrDecayIters}), eval_iters ${config.evalIters}`,
);
const out = mkdtempSync(join(tmpdir(), "hero-bench-gpt-"));
const result = await trainGPT({
  config,
  outDir: out,
  dataDir: dataRoot,
  onEvent: (e) => {
    if (e.type === "eval")
      console.log(`herograd step ${e.iter}: train loss ${e.train.toFixed(4)}, val loss ${e.val.toFixed(4)}`);
    else if (e.type === "train" && e.iter % 10 === 0)
      console.log(`herograd iter ${e.iter}: loss ${e.loss.toFixed(4)}, ${e.ms.toFixed(0)} ms`);
  },
});
rmSync(out, { recursive: true, force: true });
process.on("exit", () => rmSync(dataRoot, { recursive: true, force: true }));
const params = result.trainer.model.numParameters();

interface TorchResult {
  ms_per_iter: number;
  wall_s: number;
  train: number;
  val: number;
  parameters: number;
  torch: string;
  threads: number;
}
let torch: TorchResult | null = null;
let torchNote = "PyTorch run skipped (--no-torch)";
if (!values["no-torch"]) {
  const python = findPython(["torch", "numpy"]);
  if (!python) torchNote = "PyTorch not installed (apt-get install python3-torch)";
  else {
    const spec = {
      data_dir: dataDir,
      vocab_size: prepared.vocabSize,
      block_size: config.blockSize,
      batch_size: config.batchSize,
      n_layer: config.nLayer,
      n_head: config.nHead,
      n_embd: config.nEmbd,
      dropout: config.dropout,
      bias: config.bias,
      learning_rate: config.learningRate,
      min_lr: config.minLr,
      warmup_iters: config.warmupIters,
      lr_decay_iters: config.lrDecayIters,
      max_iters: config.maxIters,
      weight_decay: config.weightDecay,
      beta1: config.beta1,
      beta2: config.beta2,
      grad_clip: config.gradClip,
      eval_interval: config.evalInterval,
      eval_iters: config.evalIters,
      seed: config.seed,
    };
    // Debian's OpenBLAS does not recognise this CPU and falls back to a slow kernel without this.
    const ref = runPython(python, referencePath("shakespeare_char_gpt.py"), JSON.stringify(spec), {
      OPENBLAS_CORETYPE: "SkylakeX",
    });
    if (ref.ok) {
      process.stdout.write(ref.stderr);
      torch = JSON.parse(ref.stdout.trim().split("\n").at(-1)!) as TorchResult;
      torchNote = `PyTorch ${torch.torch} (${python}, ${torch.threads} thread${torch.threads === 1 ? "" : "s"}, OPENBLAS_CORETYPE=SkylakeX)`;
    } else torchNote = `PyTorch failed: ${ref.stderr.trim().split("\n").at(-1)}`;
  }
}

const f = (x: number | null | undefined, d = 4) => (x === null || x === undefined ? "-" : x.toFixed(d));
printTable([
  ["implementation", "params", "ms/iter", "wall s", "train loss", "val loss", "time vs PyTorch"],
  [
    `herograd ${currentBackendName()}`,
    params,
    f(result.msPerIter, 1),
    f(result.wallSeconds, 1),
    f(result.train),
    f(result.val),
    torch ? `${(result.msPerIter / torch.ms_per_iter).toFixed(2)}x` : "",
  ],
  [
    torchNote,
    torch?.parameters ?? "",
    f(torch?.ms_per_iter, 1),
    f(torch?.wall_s, 1),
    f(torch?.train),
    f(torch?.val),
    torch ? "1.00x" : "",
  ],
]);
if (config.maxIters === 2000)
  console.log(
    `goal: val loss <= 1.90 (nanoGPT: 1.88): ${result.val !== null && result.val <= 1.9 ? "met" : "not met"}`,
  );
