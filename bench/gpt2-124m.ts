/**
 * bench/gpt2-124m: GPT-2 small (12 layers, 12 heads, n_embd 768, vocab 50257, block 1024) with
 * random weights (no download here): the seconds of one forward of [1, seq] (seq 1024 by default)
 * and greedy decoding tokens/s with the KV cache, beside PyTorch's figures from the same command
 * (bench/reference/gpt2_124m_gpt.py).
 * Usage: hero bench gpt2-124m [-- --seq 128 --decode-tokens 8 --prompt 8 --layers 12 --no-torch]
 */
import { parseArgs } from "node:util";
import { GPT } from "../src/models/gpt.js";
import { Random } from "../src/random/index.js";
import {
  argmax,
  currentBackendName,
  noGrad,
  randint,
  setBackend,
  type Tensor,
  tidy,
} from "../src/tensor/index.js";
import { findPython, printTable, referencePath, runPython } from "./util.js";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seq: { type: "string", default: "1024" },
    prompt: { type: "string", default: "8" },
    "decode-tokens": { type: "string", default: "32" },
    layers: { type: "string", default: "12" },
    "no-torch": { type: "boolean", default: false },
    backend: { type: "string" },
  },
  allowPositionals: true,
});
if (values.backend) setBackend(values.backend);
const seq = Number(values.seq);
const promptLen = Number(values.prompt);
const decodeTokens = Number(values["decode-tokens"]);
const nLayer = Number(values.layers);
const config = {
  blockSize: 1024,
  vocabSize: 50257,
  nLayer,
  nHead: 12,
  nEmbd: 768,
  dropout: 0,
  bias: true,
  gelu: "tanh" as const,
};

console.log(
  `GPT-2 ${nLayer === 12 ? "124M" : `with ${nLayer} layers`}, random weights: forward [1, ${seq}], then ${decodeTokens} greedy tokens with the KV cache after a ${promptLen}-token prompt`,
);
let t0 = performance.now();
const model = new GPT(config, { generator: new Random(0) });
model.eval();
const buildS = (performance.now() - t0) / 1000;
console.log(`model built in ${buildS.toFixed(1)} s`);
const idx = randint(0, config.vocabSize, [1, seq], { generator: new Random(1), dtype: "int32" });

const { forwardS, tokensPerS } = noGrad(() => {
  tidy(() => model.forward(idx.slice(1, 0, Math.min(16, seq))).logits.dataSync()); // warm-up
  t0 = performance.now();
  tidy(() => model.forward(idx).logits.dataSync());
  const forwardS = (performance.now() - t0) / 1000;
  const cache = model.newCache();
  // The cache's tensors are returned from each tidy scope so that they outlive it.
  let last: Tensor = tidy(() => ({
    l: model.forward(idx.slice(1, 0, promptLen), { cache, lastOnly: true }).logits,
    cache,
  })).l;
  t0 = performance.now();
  for (let i = 0; i < decodeTokens; i++) {
    last = tidy(() => {
      const next = argmax(last.select(1, 0), -1, true);
      return { l: model.forward(next, { cache, lastOnly: true }).logits, cache };
    }).l;
  }
  last.dataSync();
  return { forwardS, tokensPerS: decodeTokens / ((performance.now() - t0) / 1000) };
});

interface TorchResult {
  forward_s: number;
  decode_tokens_per_s: number;
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
      vocab_size: 50257,
      block_size: 1024,
      seq,
      prompt: promptLen,
      decode_tokens: decodeTokens,
    };
    // Debian's OpenBLAS does not recognise this CPU and falls back to a slow kernel without this.
    const ref = runPython(python, referencePath("gpt2_124m_gpt.py"), JSON.stringify(spec), {
      OPENBLAS_CORETYPE: "SkylakeX",
    });
    if (ref.ok) {
      torch = JSON.parse(ref.stdout.trim().split("\n").at(-1)!) as TorchResult;
      note = `PyTorch ${torch.torch} (${python}, ${torch.threads} thread${torch.threads === 1 ? "" : "s"}, OPENBLAS_CORETYPE=SkylakeX)`;
    } else note = `PyTorch failed: ${ref.stderr.trim().split("\n").at(-1)}`;
  }
}
printTable([
  [
    "implementation",
    "params",
    `forward [1, ${seq}] s`,
    "decode tokens/s",
    "forward vs PyTorch",
    "decode vs PyTorch",
  ],
  [
    `herograd ${currentBackendName()} (model built in ${buildS.toFixed(1)} s)`,
    model.numParameters(),
    forwardS.toFixed(3),
    tokensPerS.toFixed(2),
    torch ? `${(forwardS / torch.forward_s).toFixed(2)}x the time` : "",
    torch ? `${(torch.decode_tokens_per_s / tokensPerS).toFixed(2)}x slower` : "",
  ],
  [
    note,
    torch?.parameters ?? "",
    torch ? torch.forward_s.toFixed(3) : "-",
    torch ? torch.decode_tokens_per_s.toFixed(2) : "-",
    "",
    "",
  ],
]);
