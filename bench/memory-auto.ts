/**
 * bench/memory-auto: the README's nn/optim loop written as in PyTorch (model.forward, crossEntropy,
 * zeroGrad, backward, step, an accuracy from argmax) with no tidy, for 100,000 steps: memory (RSS,
 * JS heap, array buffers, wasm memory, live tensors) at 1k, 10k, 30k and 100k steps, and the time
 * per step with and without tidy (docs/MEMORY.md).
 * The model is the 2-32-32-2 MLP on 256 points, trained with AdamW.
 * Usage: hero bench memory-auto [--backend js|wasm] [-- --steps 100000 --timed 4000 --blocks 40]
 */
import "../src/backend/select.js";
import * as nn from "../src/nn/index.js";
import { AdamW } from "../src/optim/index.js";
import * as T from "../src/tensor/index.js";
import { benchArgs, printTable } from "./util.js";

const { values } = benchArgs({
  steps: { type: "string", default: "100000" },
  // Steps timed each way, in alternating blocks so both see the same machine load.
  timed: { type: "string", default: "4000" },
  blocks: { type: "string", default: "40" },
  warmup: { type: "string", default: "2000" },
  // The nursery size that triggers a spill (setSpillThreshold), default the library's.
  "spill-mb": { type: "string" },
});
const steps = Number(values.steps);
const timed = Number(values.timed);
const blocks = Math.max(1, Number(values.blocks));
const warmup = Number(values.warmup);
const backend = T.currentBackendName();
if (values["spill-mb"]) T.setSpillThreshold(Number(values["spill-mb"]) * 1024 * 1024);
if (!T.getBackend(backend).synchronous) {
  throw new Error(`memory-auto: the ${backend} backend reads asynchronously; use --backend js or wasm`);
}

function setup() {
  const g = new T.Random(1);
  const X = T.randn([256, 2], { generator: g });
  const Y = T.cast(X.index(":", 0).mul(X.index(":", 1)).gt(0), "int32");
  const model = new nn.Sequential(
    new nn.Linear(2, 32, { generator: g }),
    new nn.Tanh(),
    new nn.Linear(32, 32, { generator: g }),
    new nn.Tanh(),
    new nn.Linear(32, 2, { generator: g }),
  );
  const optimizer = new AdamW(model.parameters(), { lr: 0.01 });
  /** One step exactly as a PyTorch user writes it; returns the accuracy. */
  const step = (): number => {
    const logits = model.forward(X);
    const loss = T.crossEntropy(logits, Y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return logits.argmax(1).eq(Y).float().mean().item();
  };
  return step;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
/** The wasm backend's WebAssembly.Memory (it grows, never shrinks), or "-" on js. */
const wasmMemory = (): string => {
  const heap = (T.getBackend(backend) as { heapStats?: () => { memoryBytes: number } }).heapStats;
  return heap ? mb(heap.call(T.getBackend(backend)).memoryBytes) : "-";
};

// Time per step, with and without tidy, alternating blocks of the same loop. On a loaded machine
// the wall time of a block swings with the load; this process's CPU time swings less, and the
// median of the pairs' ratios ignores the blocks a burst of load fell on.
const step = setup();
for (let i = 0; i < warmup; i++) i % 2 === 0 ? step() : T.tidy(step);
const ms = { tidy: 0, auto: 0 };
const cpu = { tidy: 0, auto: 0 };
const ratios: number[] = [];
const blockSteps = Math.max(1, Math.round(timed / blocks));
for (let b = 0; b < blocks; b++) {
  const pair = { tidy: 0, auto: 0 };
  for (const mode of b % 2 === 0 ? (["tidy", "auto"] as const) : (["auto", "tidy"] as const)) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    for (let i = 0; i < blockSteps; i++) mode === "tidy" ? T.tidy(step) : step();
    const used = process.cpuUsage(cpuStarted);
    pair[mode] = performance.now() - started;
    ms[mode] += pair[mode];
    cpu[mode] += (used.user + used.system) / 1000;
  }
  ratios.push(pair.auto / pair.tidy);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const n = blockSteps * blocks;
console.log(`${backend}: ms per step over ${n} steps each, alternating ${blocks} blocks`);
printTable([
  ["loop", "ms/step", "CPU ms/step", "vs tidy", "CPU vs tidy", "median of block ratios"],
  ["with tidy", (ms.tidy / n).toFixed(4), (cpu.tidy / n).toFixed(4), "1.00", "1.00", "1.00"],
  [
    "without tidy (automatic)",
    (ms.auto / n).toFixed(4),
    (cpu.auto / n).toFixed(4),
    (ms.auto / ms.tidy).toFixed(2),
    (cpu.auto / cpu.tidy).toFixed(2),
    median(ratios).toFixed(2),
  ],
]);

// Memory over a long run without tidy, in a fresh model.
const fresh = setup();
const checkpoints = new Set([1_000, 10_000, 30_000, 100_000, steps].filter((n) => n <= steps));
const rows: (string | number)[][] = [
  [
    "step",
    "RSS MB",
    "JS heap MB",
    "JS array buffers MB",
    "wasm memory MB",
    `${backend} live tensors`,
    `${backend} MB`,
    "of which nursery MB",
    "peak MB",
    "spills",
  ],
];
let accuracy = 0;
for (let i = 1; i <= steps; i++) {
  accuracy = fresh();
  if (checkpoints.has(i)) {
    const stats = T.memoryStats()[backend]!;
    const usage = process.memoryUsage();
    rows.push([
      i,
      mb(usage.rss),
      mb(usage.heapUsed),
      mb(usage.arrayBuffers),
      wasmMemory(),
      stats.buffers,
      mb(stats.bytes),
      mb(T.spillMemoryStats().nurseryBytes),
      mb(stats.peakBytes ?? 0),
      T.spillMemoryStats().spills,
    ]);
  }
}
console.log(`\n${backend}: ${steps} steps without tidy (accuracy ${accuracy.toFixed(3)})`);
printTable(rows);
