/**
 * A training run in its own process, for test/gpt-kill-resume.test.ts. argv[2] is JSON:
 * {dataDir, outDir, maxIters, resume, killAt?: {stage, iter}}. At killAt it prints "KILLME" and
 * blocks inside the checkpoint save, so the test can SIGKILL it there.
 */
import type { CheckpointStage } from "../../src/io/checkpoint.js";
import { applyOverrides, presetConfig } from "../../src/train/gpt.js";
import { trainGPT } from "../../src/train/gpt-node.js";

const args = JSON.parse(process.argv[2]!) as {
  dataDir: string;
  outDir: string;
  maxIters: number;
  resume: boolean;
  killAt?: { stage: CheckpointStage; iter: number };
};

/** The tiny GPT both the interrupted and the uninterrupted runs train. */
export const TINY_RUN = [
  "dataset=shards",
  "n_layer=1",
  "n_head=2",
  "n_embd=8",
  "block_size=8",
  "batch_size=2",
  "total_batch_size=32",
  "dropout=0.1",
  "eval_interval=2",
  "eval_iters=2",
  "warmup_iters=2",
  "lr_decay_iters=14",
  "learning_rate=0.01",
  "sample_tokens=4",
];

await trainGPT({
  config: applyOverrides(presetConfig("gpt2"), [...TINY_RUN, `max_iters=${args.maxIters}`]),
  outDir: args.outDir,
  dataDir: args.dataDir,
  resume: args.resume,
  onCheckpointStage: (stage, iter) => {
    if (args.killAt && stage === args.killAt.stage && iter === args.killAt.iter) {
      process.stdout.write("KILLME\n");
      // Block here (the write is half done) until the test kills the process; give up after a minute.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
      process.exit(3);
    }
  },
});
