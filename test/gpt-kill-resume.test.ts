/**
 * A training process killed with SIGKILL in the middle of a checkpoint save, at each step of the
 * save in turn, and resumed each time, ends with the same metrics (loss, lr, grad norm, evals,
 * samples: bit for bit) as a run that was never interrupted.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { prepareShards } from "../src/data/shards-node.js";
import { type CheckpointStage, loadCheckpoint } from "../src/io/checkpoint.js";
import { dataDir, repoRoot } from "./helpers.js";

const child = join(repoRoot, "dist", "test", "children", "gpt-train-child.js");
const dir = mkdtempSync(join(tmpdir(), "herograd-kill-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  outDir: string;
  maxIters: number;
  resume: boolean;
  killAt?: { stage: CheckpointStage; iter: number };
}

/** Run the child; with killAt, SIGKILL it once it says it is inside that save. */
function runChild(
  run: Run,
  data: string,
): Promise<{ code: number | null; signal: string | null; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, JSON.stringify({ ...run, dataDir: data })], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HERO_OFFLINE: "1" },
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
      if (code !== 0 && !killed) reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
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

test("SIGKILL during each step of a checkpoint save, resume, and the same loss curve bit for bit", async () => {
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
  await runChild({ outDir: whole, maxIters, resume: false }, data);

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
    const r = await runChild({ outDir: out, maxIters, resume: i > 0, killAt }, data);
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
  await runChild({ outDir: out, maxIters, resume: true }, data);

  const expected = metrics(whole);
  assert.equal(expected.filter((e) => (e as { type: string }).type === "train").length, maxIters);
  assert.deepEqual(metrics(out), expected);
  assert.equal(loadCheckpoint(out).state.iter, maxIters);
  // the interrupted saves left nothing behind
  assert.ok(!readdirSync(out).some((e) => e.startsWith(".tmp-") || e.startsWith(".checkpoint.json.")));
});
