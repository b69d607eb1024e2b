/**
 * bench/gpt2-124m: GPT-2 small (12 layers, 12 heads, n_embd 768, vocab 50257, block 1024) with
 * random weights (no download here): the seconds of one forward of [1, seq] (seq 1024 by default)
 * and greedy decoding tokens/s with the KV cache, and with --train-steps N training tokens/s
 * (forward, cross-entropy, backward, AdamW on [--train-batch, --train-seq]), beside PyTorch's
 * figures from the same command (bench/reference/gpt2_124m_gpt.py, on --torch-device).
 * Values are read with `await data()`, so it runs on every backend (webgpu: the whole decode and
 * each training step are recorded and submitted in batches; one read at the end of each).
 * Usage: hero bench gpt2-124m [-- --seq 128 --decode-tokens 8 --prompt 8 --layers 12 --no-torch]
 *        hero bench gpt2-124m --backend webgpu -- --train-steps 5 --train-batch 4 --train-seq 256 --torch-device cuda
 */
import "../src/backend/select.js";
import { getBackend, hasBackend } from "../src/backend/index.js";
import { registerNodeWebGpuBackend } from "../src/backend/webgpu/node.js";
import { GPT } from "../src/models/gpt.js";
import { AdamW } from "../src/optim/index.js";
import { Random } from "../src/random/index.js";
import {
  argmax,
  crossEntropy,
  currentBackendName,
  noGrad,
  randint,
  setBackend,
  type Tensor,
  tidy,
} from "../src/tensor/index.js";
import { benchArgs, findPython, printTable, referencePath, runPython } from "./util.js";

/** Ours against the reference's tokens/s, as "1.87x faster" or "1.25x slower". */
function rateVs(ours: number, reference: number): string {
  return ours >= reference
    ? `${(ours / reference).toFixed(2)}x faster`
    : `${(reference / ours).toFixed(2)}x slower`;
}

const { values } = benchArgs({
  seq: { type: "string", default: "1024" },
  prompt: { type: "string", default: "8" },
  "decode-tokens": { type: "string", default: "32" },
  layers: { type: "string", default: "12" },
  // A smaller vocabulary fits adapters whose storage bindings stop at 128 MiB (llvmpipe).
  vocab: { type: "string", default: "50257" },
  "no-torch": { type: "boolean", default: false },
  backend: { type: "string" },
  "train-steps": { type: "string", default: "0" },
  "train-batch": { type: "string", default: "1" },
  "train-seq": { type: "string", default: "64" },
  "torch-device": { type: "string", default: "cpu" },
});
if (values.backend === "webgpu" && !hasBackend("webgpu")) await registerNodeWebGpuBackend();
if (values.backend) setBackend(values.backend);
const trainSteps = Number(values["train-steps"]);
const trainBatch = Number(values["train-batch"]);
const trainSeq = Number(values["train-seq"]);
/** Wait for the backend's queued work (webgpu) so that timings cover it. */
async function settle(t: Tensor): Promise<void> {
  await t.data();
}
const seq = Number(values.seq);
const promptLen = Number(values.prompt);
const decodeTokens = Number(values["decode-tokens"]);
const nLayer = Number(values.layers);
const config = {
  blockSize: 1024,
  vocabSize: Number(values.vocab),
  nLayer,
  nHead: 12,
  nEmbd: 768,
  dropout: 0,
  bias: true,
  gelu: "tanh" as const,
};

console.log(
  `GPT-2 ${nLayer === 12 && config.vocabSize === 50257 ? "124M" : `with ${nLayer} layers, vocabulary ${config.vocabSize}`}, random weights: forward [1, ${seq}], then ${decodeTokens} greedy tokens with the KV cache after a ${promptLen}-token prompt`,
);
let t0 = performance.now();
const model = new GPT(config, { generator: new Random(0) });
model.eval();
const buildS = (performance.now() - t0) / 1000;
console.log(`model built in ${buildS.toFixed(1)} s`);
const idx = randint(0, config.vocabSize, [1, seq], { generator: new Random(1), dtype: "int32" });

/** Training tokens/s: full steps after one warm-up step (none when --train-steps is 0). */
async function trainTokensPerS(): Promise<number | null> {
  if (trainSteps <= 0) return null;
  const g = new Random(2);
  const x = randint(0, config.vocabSize, [trainBatch, trainSeq], { generator: g, dtype: "int32" });
  const y = randint(0, config.vocabSize, [trainBatch, trainSeq], { generator: g, dtype: "int32" });
  model.train();
  const opt = new AdamW(model.parameters(), { lr: 1e-4, weightDecay: 0.1 });
  const step = () =>
    tidy(() => {
      const { logits } = model.forward(x);
      const loss = crossEntropy(logits.reshape([-1, config.vocabSize]), y.reshape([-1]));
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.detach();
    });
  await settle(step());
  const start = performance.now();
  let loss: Tensor | null = null;
  for (let i = 0; i < trainSteps; i++) loss = step();
  await settle(loss!);
  model.eval();
  return (trainBatch * trainSeq * trainSteps) / ((performance.now() - start) / 1000);
}
const trainTps = await trainTokensPerS();

await settle(noGrad(() => tidy(() => model.forward(idx.slice(1, 0, Math.min(16, seq))).logits))); // warm-up
t0 = performance.now();
await settle(noGrad(() => tidy(() => model.forward(idx).logits)));
const forwardS = (performance.now() - t0) / 1000;
const cache = model.newCache();
// The cache's tensors are returned from each tidy scope so that they outlive it.
let last: Tensor = noGrad(
  () =>
    tidy(() => ({
      l: model.forward(idx.slice(1, 0, promptLen), { cache, lastOnly: true }).logits,
      cache,
    })).l,
);
await settle(last);
t0 = performance.now();
for (let i = 0; i < decodeTokens; i++) {
  last = noGrad(
    () =>
      tidy(() => {
        const next = argmax(last.select(1, 0), -1, true);
        return { l: model.forward(next, { cache, lastOnly: true }).logits, cache };
      }).l,
  );
}
await settle(last);
const tokensPerS = decodeTokens / ((performance.now() - t0) / 1000);

interface TorchResult {
  forward_s: number;
  decode_tokens_per_s: number;
  train_tokens_per_s: number | null;
  device: string;
  device_name?: string;
  parameters: number;
  torch: string;
  threads: number;
}
let torch: TorchResult | null = null;
let note = "PyTorch run skipped (--no-torch)";
if (!values["no-torch"]) {
  const python = findPython(["torch"]);
  if (!python) note = "PyTorch not installed (apt-get install python3-torch)";
  else {
    const spec = {
      n_layer: nLayer,
      n_head: 12,
      n_embd: 768,
      vocab_size: config.vocabSize,
      block_size: 1024,
      seq,
      prompt: promptLen,
      decode_tokens: decodeTokens,
      device: values["torch-device"],
      train_batch: trainBatch,
      train_seq: trainSeq,
      train_steps: trainSteps,
    };
    // Debian's OpenBLAS does not recognise this CPU and falls back to a slow kernel without this.
    const ref = runPython(python, referencePath("gpt2_124m_gpt.py"), JSON.stringify(spec), {
      OPENBLAS_CORETYPE: "SkylakeX",
    });
    if (ref.ok) {
      torch = JSON.parse(ref.stdout.trim().split("\n").at(-1)!) as TorchResult;
      note =
        torch.device === "cpu"
          ? `PyTorch ${torch.torch} (${python}, ${torch.threads} thread${torch.threads === 1 ? "" : "s"}, OPENBLAS_CORETYPE=SkylakeX)`
          : `PyTorch ${torch.torch} (${torch.device_name ?? torch.device})`;
    } else note = `PyTorch failed: ${ref.stderr.trim().split("\n").at(-1)}`;
  }
}
const webgpu = currentBackendName() === "webgpu" ? (getBackend("webgpu") as { description?: string }) : null;
const adapter = webgpu?.description
  ? `, ${/llvmpipe|lavapipe|swiftshader/i.test(webgpu.description) ? "SOFTWARE adapter " : ""}${webgpu.description}`
  : "";
const train = trainSteps > 0 ? [`train [${trainBatch}, ${trainSeq}] tokens/s`, "train vs PyTorch"] : [];
printTable([
  [
    "implementation",
    "params",
    `forward [1, ${seq}] s`,
    "decode tokens/s",
    ...train,
    "forward vs PyTorch",
    "decode vs PyTorch",
  ],
  [
    `herograd ${currentBackendName()}${adapter} (model built in ${buildS.toFixed(1)} s)`,
    model.numParameters(),
    forwardS.toFixed(3),
    tokensPerS.toFixed(2),
    ...(trainSteps > 0
      ? [trainTps!.toFixed(1), torch?.train_tokens_per_s ? rateVs(trainTps!, torch.train_tokens_per_s) : ""]
      : []),
    torch ? `${(forwardS / torch.forward_s).toFixed(2)}x the time` : "",
    torch ? rateVs(tokensPerS, torch.decode_tokens_per_s) : "",
  ],
  [
    note,
    torch?.parameters ?? "",
    torch ? torch.forward_s.toFixed(3) : "-",
    torch ? torch.decode_tokens_per_s.toFixed(2) : "-",
    ...(trainSteps > 0 ? [torch?.train_tokens_per_s ? torch.train_tokens_per_s.toFixed(1) : "-", ""] : []),
    "",
    "",
  ],
]);
process.exit(0);
