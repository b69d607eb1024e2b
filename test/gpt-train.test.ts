/** GPT training: presets, overrides, schedule, and a resumed run that continues the exact loss curve. */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { applyOverrides, learningRateAt, PRESETS, presetConfig, type TrainConfig } from "../src/train/gpt.js";
import { loadTrainedGPT, type TrainEvent, trainGPT } from "../src/train/gpt-node.js";

const dir = mkdtempSync(join(tmpdir(), "herograd-gpt-train-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("presets: nanoGPT's CPU command and the GPT-2 sizes", () => {
  const cpu = presetConfig("shakespeare-char-cpu");
  assert.deepEqual(
    [
      cpu.blockSize,
      cpu.batchSize,
      cpu.nLayer,
      cpu.nHead,
      cpu.nEmbd,
      cpu.maxIters,
      cpu.lrDecayIters,
      cpu.dropout,
      cpu.evalIters,
    ],
    [64, 12, 4, 4, 128, 2000, 2000, 0, 20],
  );
  assert.deepEqual(
    [cpu.learningRate, cpu.minLr, cpu.warmupIters, cpu.beta2, cpu.evalInterval],
    [1e-3, 1e-4, 100, 0.99, 250],
  );
  const sizes = ["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"].map((n) => [
    PRESETS[n]!.nLayer,
    PRESETS[n]!.nHead,
    PRESETS[n]!.nEmbd,
  ]);
  assert.deepEqual(sizes, [
    [12, 12, 768],
    [24, 16, 1024],
    [36, 20, 1280],
    [48, 25, 1600],
  ]);
  const c = applyOverrides(cpu, ["max_iters=10", "nEmbd=64", "decay_lr=false"]);
  assert.deepEqual([c.maxIters, c.nEmbd, c.decayLr], [10, 64, false]);
  assert.throws(() => applyOverrides(cpu, ["max_iter=10"]), /unknown setting "max_iter"/);
  assert.throws(() => applyOverrides(cpu, ["max_iters=ten"]), /expects a number, got "ten"/);
  // warmup then cosine to min_lr
  assert.ok(Math.abs(learningRateAt(cpu, 0) - 1e-3 / 101) < 1e-12);
  assert.equal(learningRateAt(cpu, 2000), 1e-4);
});

/** A tiny character data set written the way `hero gpt prepare` writes it. */
function tinyData(root: string): void {
  const text = readFileSync(new URL(import.meta.url), "utf8").repeat(3);
  const chars = [...new Set(text)].sort();
  const stoi = Object.fromEntries(chars.map((c, i) => [c, i]));
  const itos = Object.fromEntries(chars.map((c, i) => [String(i), c]));
  const ids = Uint16Array.from([...text].map((c) => stoi[c]!));
  const d = join(root, "shakespeare_char");
  mkdirSync(d, { recursive: true });
  const n = Math.floor(ids.length * 0.9);
  writeFileSync(join(d, "train.bin"), new Uint8Array(ids.slice(0, n).buffer));
  writeFileSync(join(d, "val.bin"), new Uint8Array(ids.slice(n).buffer));
  writeFileSync(join(d, "meta.json"), JSON.stringify({ vocab_size: chars.length, itos, stoi }));
}

function tinyConfig(maxIters: number): TrainConfig {
  return applyOverrides(presetConfig("shakespeare-char"), [
    "batch_size=3",
    "block_size=8",
    "n_layer=1",
    "n_head=2",
    "n_embd=16",
    "dropout=0.1",
    `max_iters=${maxIters}`,
    "lr_decay_iters=6",
    "warmup_iters=2",
    "eval_interval=3",
    "eval_iters=2",
    "log_interval=1",
    "gradient_accumulation_steps=2",
    "sample_tokens=5",
  ]);
}

test("resume continues exactly the uninterrupted loss curve", async () => {
  const dataDir = join(dir, "data");
  tinyData(dataDir);
  const run = async (out: string, maxIters: number, resume: boolean) => {
    const events: TrainEvent[] = [];
    const r = await trainGPT({
      config: tinyConfig(maxIters),
      outDir: out,
      dataDir,
      resume,
      onEvent: (e) => events.push(e),
    });
    return { r, events };
  };
  const whole = await run(join(dir, "whole"), 6, false);
  const first = await run(join(dir, "split"), 3, false);
  const second = await run(join(dir, "split"), 6, true);
  const curve = (ev: TrainEvent[]) =>
    ev
      .filter((e) => e.type === "train" || e.type === "eval")
      .map((e) => JSON.stringify({ ...e, ms: 0, tokPerSec: 0 }));
  assert.deepEqual([...curve(first.events), ...curve(second.events)], curve(whole.events));
  assert.equal(second.r.val, whole.r.val);
  assert.equal(whole.r.iter, 6);
  // metrics.jsonl holds both halves
  const lines = readFileSync(join(dir, "split", "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as TrainEvent);
  assert.equal(lines.filter((e) => e.type === "train").length, 6);
  assert.ok(lines.some((e) => e.type === "sample"));
  // the best checkpoint samples with the character vocabulary
  const { model, codec } = await loadTrainedGPT(join(dir, "split"), dataDir);
  const out = await model.generate(codec.encode("a"), 5, { temperature: 0 });
  assert.equal(codec.decode([...out.dataSync()]).length, 6);
});
