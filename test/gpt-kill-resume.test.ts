/**
 * A training process killed with SIGKILL in the middle of a checkpoint save, at each step of the
 * save in turn, and resumed each time, ends with the same metrics (loss, lr, grad norm, evals,
 * samples: bit for bit) as a run that was never interrupted. The training processes are this file
 * run again with HERO_KILL_TEST_RUN set.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { prepareShards } from "../src/data/shards-node.js";
import { type CheckpointStage, loadCheckpoint } from "../src/io/checkpoint.js";
import { applyOverrides, presetConfig } from "../src/train/gpt.js";
import { trainGPT } from "../src/train/gpt-node.js";
import { dataDir } from "./helpers.js";

interface Run {
  outDir: string;
  dataDir: string;
  maxIters: number;
  resume: boolean;
  killAt?: { stage: CheckpointStage; iter: number };
}

/** The tiny GPT both the interrupted and the uninterrupted runs train (GPT-2 BPE shards, dropout on). */
const TINY_RUN = [
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

/** The training process: at killAt it prints "KILLME" and blocks inside the save until it is killed. */
async function trainingProcess(run: Run): Promise<void> {
  await trainGPT({
    config: applyOverrides(presetConfig("gpt2"), [...TINY_RUN, `max_iters=${run.maxIters}`]),
    outDir: run.outDir,
    dataDir: run.dataDir,
    resume: run.resume,
    onCheckpointStage: (stage, iter) => {
      if (run.killAt && stage === run.killAt.stage && iter === run.killAt.iter) {
        process.stdout.write("KILLME\n");
        // Block here, the save half done, until the test kills the process; give up after a minute.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
        process.exit(3);
      }
    },
  });
}

/** Run a training process; with killAt, SIGKILL it once it says it is inside that save. */
function runChild(run: Run): Promise<{ code: number | null; signal: string | null; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HERO_OFFLINE: "1", HERO_KILL_TEST_RUN: JSON.stringify(run) },
    });
    let killed = false;
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => {
      if (!killed && d.toString().includes("KILLME")) {
        killed = true;
        p.kill("SIGKILL");
      }
    });
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    p.on("error", reject);
    p.on("exit", (code, signal) => {
      if (code !== 0 && !killed)
        reject(new Error(`training process exited with ${code ?? signal}: ${stderr}`));
      else resolve({ code, signal, killed });
    });
  });
}

/** How many checkpoint directories checkpoint.json names. */
function pointerNames(outDir: string): number {
  const p = JSON.parse(readFileSync(join(outDir, "checkpoint.json"), "utf8")) as {
    last?: string;
    best?: string;
  };
  return new Set([p.last, p.best].filter(Boolean)).size;
}

/** metrics.jsonl without what varies between runs (timings, checkpoint directory names). */
function metrics(outDir: string): unknown[] {
  return readFileSync(join(outDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map((e) => {
      const { ms, tokPerSec, path, ...rest } = e;
      return rest;
    });
}

async function killAndResume(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "herograd-kill-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, "data");
  const corpus = join(dir, "corpus.txt");
  writeFileSync(corpus, readFileSync(join(dataDir, "tinyshakespeare.txt"), "utf8").slice(0, 4000));
  await prepareShards({
    inputs: [corpus],
    outDir: join(data, "shards"),
    prefix: "shakespeare",
    shardSize: 200,
    separator: "\n\n",
  });

  const maxIters = 14;
  const whole = join(dir, "whole");
  await runChild({ outDir: whole, dataDir: data, maxIters, resume: false });

  const out = join(dir, "killed");
  // Checkpoints are saved every 2 iterations; each process dies in the save at killAt.iter.
  const kills: { stage: CheckpointStage; iter: number }[] = [
    { stage: "weights", iter: 4 },
    { stage: "optimizer", iter: 6 },
    { stage: "state", iter: 8 },
    { stage: "renamed", iter: 10 },
    { stage: "pointer", iter: 12 },
  ];
  for (const [i, killAt] of kills.entries()) {
    const r = await runChild({ outDir: out, dataDir: data, maxIters, resume: i > 0, killAt });
    assert.ok(
      r.killed && r.signal === "SIGKILL",
      `killed at ${killAt.stage} ${killAt.iter}: ${JSON.stringify(r)}`,
    );
    // the previous checkpoint is still the one to resume from
    assert.equal(loadCheckpoint(out).state.iter, killAt.iter - 2, killAt.stage);
    // and the half-done save is there to see: a temporary directory, an unnamed checkpoint, a pointer not renamed
    const entries = readdirSync(out);
    const leftover =
      killAt.stage === "renamed"
        ? entries.filter((e) => e.startsWith("ckpt-")).length > pointerNames(out)
        : entries.some((e) => e.startsWith(killAt.stage === "pointer" ? ".checkpoint.json." : ".tmp-"));
    assert.ok(leftover, `${killAt.stage}: ${entries.join(", ")}`);
  }
  await runChild({ outDir: out, dataDir: data, maxIters, resume: true });

  const expected = metrics(whole);
  assert.equal(expected.filter((e) => (e as { type: string }).type === "train").length, maxIters);
  assert.deepEqual(metrics(out), expected);
  assert.equal(loadCheckpoint(out).state.iter, maxIters);
  // the interrupted saves left nothing behind
  assert.ok(!readdirSync(out).some((e) => e.startsWith(".tmp-") || e.startsWith(".checkpoint.json.")));
}

const asProcess = process.env.HERO_KILL_TEST_RUN;
if (asProcess) await trainingProcess(JSON.parse(asProcess) as Run);
else
  test(
    "SIGKILL during each step of a checkpoint save, resume, and the same loss curve bit for bit",
    killAndResume,
  );
