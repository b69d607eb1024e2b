/**
 * build-nanogpt end to end with the `hero` command, small enough for CI: tinyshakespeare into GPT-2
 * BPE shards, a tiny GPT trained for 50 steps with gradient accumulation 2 (stopped at 25 and
 * resumed), evaluated on HellaSwag from its checkpoint and from its Hugging Face export.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { TrainEvent } from "../src/train/gpt-node.js";
import { close, repoRoot, withoutDataDir } from "./helpers.js";
import { webgpuUnavailable } from "./tensor-backends.js";

const main = join(repoRoot, "dist", "src", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "herograd-e2e-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function hero(args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], {
    encoding: "utf8",
    env: withoutDataDir({ HERO_NO_RESPAWN: "1", HERO_OFFLINE: "1" }),
  });
  assert.equal(r.status, 0, `hero ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const data = join(dir, "data");
const sample = join(repoRoot, "test", "data", "hellaswag-sample.jsonl");

/** `hero gpt train --preset gpt2` on the shards in `data`, with HellaSwag from the sample. */
function trainGpt2(settings: string[], out: string, more: string[] = []): string {
  return hero([
    "gpt",
    "train",
    "--preset",
    "gpt2",
    ...settings,
    "--out",
    out,
    "--data-dir",
    data,
    "--hellaswag",
    sample,
    ...more,
  ]);
}

/** A run's metrics.jsonl, an event a line. */
function readMetrics(out: string): TrainEvent[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as TrainEvent);
}

let preparedOutput: string | null = null;
/** tinyshakespeare as GPT-2 BPE shards in `data`, prepared once for the tests of this file. */
function prepareShards(): string {
  preparedOutput ??= hero([
    "gpt",
    "prepare",
    "tinyshakespeare",
    "--shard-size",
    "100000",
    "--separator",
    "\\n\\n",
    "--data-dir",
    data,
  ]);
  return preparedOutput;
}

test("prepare shards, train 50 steps with accumulation 2, resume, evaluate, export", () => {
  const prepared = prepareShards();
  assert.match(prepared, /tinyshakespeare_val_000000\.npy: val, 100000 tokens/);
  assert.match(prepared, /tinyshakespeare_train_000003\.npy: train, \d+ tokens/);
  assert.match(prepared, /7222 documents, \d+ tokens in 4 shards/);

  const out = join(dir, "run");
  const sets = [
    "dataset=tinyshakespeare",
    "n_layer=2",
    "n_head=2",
    "n_embd=16",
    "block_size=64",
    "batch_size=2",
    "total_batch_size=256",
    "eval_interval=25",
    "eval_iters=4",
    "warmup_iters=5",
    "lr_decay_iters=50",
    "learning_rate=0.003",
    "sample_tokens=12",
    "hellaswag_examples=8",
  ].flatMap((s) => ["--set", s]);
  const train = (maxIters: number, resume: boolean) =>
    trainGpt2([...sets, "--set", `max_iters=${maxIters}`], out, resume ? ["--resume"] : []);
  const first = train(25, false);
  assert.match(first, /"gradientAccumulationSteps":2/);
  assert.match(first, /step 25: train loss [\d.]+, val loss [\d.]+/);
  const second = train(50, true);
  assert.doesNotMatch(second, /step 25:/);
  assert.match(second, /step 50: train loss [\d.]+, val loss [\d.]+/);
  assert.match(second, /--- sample at step 50 ---/);

  const events = readMetrics(out);
  const steps = events.filter((e) => e.type === "train");
  assert.deepEqual(
    steps.map((e) => e.iter),
    Array.from({ length: 50 }, (_, i) => i),
  );
  for (const e of steps) {
    assert.equal(e.tokens, 256); // batch 2 × block 64 × accumulation 2
    assert.ok(e.tokPerSec > 0 && Number.isFinite(e.gradNorm!) && e.lr > 0, JSON.stringify(e));
  }
  const evals = events.filter((e) => e.type === "eval");
  assert.deepEqual(
    evals.map((e) => e.iter),
    [0, 25, 50],
  );
  // From ln(50304) ≈ 10.8 at initialisation, the model learns the data's most common tokens.
  assert.ok(evals[0]!.val > 10 && evals[2]!.val < evals[0]!.val - 1, JSON.stringify(evals));

  // HellaSwag at every evaluation, as build-nanogpt; the last one scored the model that `eval` loads.
  const hellaswag = events.filter((e) => e.type === "hellaswag");
  assert.deepEqual(
    hellaswag.map((e) => [e.iter, e.examples]),
    [
      [0, 8],
      [25, 8],
      [50, 8],
    ],
  );
  const fromCheckpoint = hero([
    "gpt",
    "eval",
    "hellaswag",
    "--checkpoint",
    out,
    "--last",
    "--data",
    sample,
    "--data-dir",
    data,
  ]);
  const score = /8 examples, acc [\d.]+ \(\d\/8\), acc_norm ([\d.]+) \(\d\/8\)/.exec(fromCheckpoint);
  assert.ok(score, fromCheckpoint);
  assert.equal(score[1], hellaswag[2]!.accNorm.toFixed(4));
  const exported = join(dir, "hf");
  assert.match(
    hero(["gpt", "export", "--checkpoint", out, "--last", "--out", exported, "--data-dir", data]),
    /wrote .*config\.json/,
  );
  const fromExport = hero(["gpt", "eval", "hellaswag", "--weights", exported, "--data", sample]);
  assert.ok(fromExport.includes(score[0]), fromExport);
});

test("on webgpu the sharded run with HellaSwag evaluations gives wasm's numbers", {
  skip: process.env.HERO_TEST_WEBGPU === "0" || webgpuUnavailable !== null,
  timeout: 300_000,
}, () => {
  prepareShards();
  const run = (backend: string) => {
    const out = join(dir, `run-${backend}`);
    trainGpt2(
      [
        "dataset=tinyshakespeare",
        "n_layer=1",
        "n_head=2",
        "n_embd=16",
        "block_size=64",
        "batch_size=2",
        "total_batch_size=256",
        "eval_interval=2",
        "eval_iters=1",
        "warmup_iters=1",
        "max_iters=2",
        "lr_decay_iters=2",
        "sample_tokens=0",
        "hellaswag_examples=4",
      ].flatMap((s) => ["--set", s]),
      out,
      ["--backend", backend],
    );
    return readMetrics(out);
  };
  const wasm = run("wasm");
  const webgpu = run("webgpu");
  const of = <T extends TrainEvent["type"]>(events: TrainEvent[], type: T) =>
    events.filter((e): e is Extract<TrainEvent, { type: T }> => e.type === type);
  assert.deepEqual(
    of(webgpu, "hellaswag").map((e) => [e.iter, e.examples, e.acc, e.accNorm]),
    of(wasm, "hellaswag").map((e) => [e.iter, e.examples, e.acc, e.accNorm]),
  );
  assert.equal(of(webgpu, "hellaswag").length, 2);
  of(webgpu, "train").forEach((e, i) => {
    const w = of(wasm, "train")[i]!;
    assert.ok(close(e.loss, w.loss, 1e-4, 1e-4), `step ${e.iter}: ${e.loss} on webgpu, ${w.loss} on wasm`);
  });
});
