/**
 * nanoGPT's training loop on webgpu (the asynchronous step: nothing is read until a step is
 * recorded) gives the losses the synchronous loop gives on wasm for the same seed, with dropout,
 * gradient accumulation, clipping, evaluation, checkpoints and samples; and `hero gpt train
 * --backend webgpu` runs. Without a GPU this is Mesa's llvmpipe: sizes stay tiny.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { currentBackendName, setBackend } from "../src/tensor/index.js";
import { applyOverrides, presetConfig } from "../src/train/gpt.js";
import { loadTrainedGPT, prepareDataset, type TrainEvent, trainGPT } from "../src/train/gpt-node.js";
import { close, repoRoot } from "./helpers.js";
import { webgpuUnavailable } from "./tensor-backends.js";

const skip = process.env.HERO_TEST_WEBGPU === "0" || webgpuUnavailable !== null;
const dir = mkdtempSync(join(tmpdir(), "herograd-gpt-webgpu-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const config = applyOverrides(presetConfig("shakespeare-char"), [
  "batch_size=4",
  "block_size=16",
  "n_layer=2",
  "n_head=2",
  "n_embd=32",
  "dropout=0.1",
  "max_iters=20",
  "lr_decay_iters=20",
  "warmup_iters=4",
  "eval_interval=10",
  "eval_iters=2",
  "log_interval=1",
  "gradient_accumulation_steps=2",
  "sample_tokens=8",
]);

async function train(backend: string): Promise<TrainEvent[]> {
  const previous = currentBackendName();
  setBackend(backend);
  try {
    const events: TrainEvent[] = [];
    await trainGPT({
      config,
      outDir: join(dir, backend),
      dataDir: join(dir, "data"),
      onEvent: (e) => events.push(e),
    });
    return events;
  } finally {
    setBackend(previous);
  }
}

test("20 GPT training steps on webgpu match wasm (losses, evaluations, gradient norms)", {
  skip,
  timeout: 120_000,
}, async () => {
  await prepareDataset("shakespeare-char", join(dir, "data", "shakespeare_char"));
  const wasm = await train("wasm");
  const webgpu = await train("webgpu");
  const pick = (events: TrainEvent[], type: TrainEvent["type"]) => events.filter((e) => e.type === type);
  const steps = pick(webgpu, "train") as Extract<TrainEvent, { type: "train" }>[];
  const expected = pick(wasm, "train") as Extract<TrainEvent, { type: "train" }>[];
  assert.equal(steps.length, 20);
  assert.equal(expected.length, 20);
  steps.forEach((s, i) => {
    const e = expected[i]!;
    assert.equal(s.lr, e.lr);
    assert.ok(close(s.loss, e.loss, 1e-4, 1e-4), `step ${i}: loss ${s.loss} on webgpu, ${e.loss} on wasm`);
    assert.ok(
      close(s.gradNorm!, e.gradNorm!, 1e-4, 1e-3),
      `step ${i}: grad norm ${s.gradNorm} vs ${e.gradNorm}`,
    );
  });
  assert.ok(
    steps[19]!.loss < steps[0]!.loss - 0.2,
    `the loss falls (${steps[0]!.loss} → ${steps[19]!.loss})`,
  );
  const evals = pick(webgpu, "eval") as Extract<TrainEvent, { type: "eval" }>[];
  const expectedEvals = pick(wasm, "eval") as Extract<TrainEvent, { type: "eval" }>[];
  assert.deepEqual(
    evals.map((e) => e.iter),
    [0, 10, 20],
  );
  evals.forEach((e, i) => {
    assert.ok(
      close(e.val, expectedEvals[i]!.val, 1e-4, 1e-4),
      `eval ${e.iter}: ${e.val} vs ${expectedEvals[i]!.val}`,
    );
  });
  assert.equal(pick(webgpu, "checkpoint").length, 2);
  assert.equal(pick(webgpu, "sample").length, 3);
  // The checkpoint written from the GPU loads and samples.
  const { model, codec } = await loadTrainedGPT(join(dir, "webgpu"), join(dir, "data"));
  assert.equal(
    codec.decode([...(await (await model.generate(codec.encode("a"), 4, { temperature: 0 })).data())]).length,
    5,
  );
});

test("hero gpt train --backend webgpu trains, resumes and samples", { skip, timeout: 60_000 }, () => {
  const hero = join(repoRoot, "dist", "src", "cli", "main.js");
  const out = join(dir, "cli");
  const settings = [
    "eval_interval=2",
    "eval_iters=1",
    "batch_size=2",
    "block_size=8",
    "n_layer=1",
    "n_embd=16",
    "n_head=2",
    "sample_tokens=4",
  ].flatMap((s) => ["--set", s]);
  const runHero = (...args: string[]) =>
    spawnSync(process.execPath, [hero, ...args], {
      encoding: "utf8",
      env: { ...process.env, HERO_VERBOSE_BACKEND: "1" },
    });
  const train = (...more: string[]) =>
    runHero(
      "gpt",
      "train",
      "--preset",
      "shakespeare-char-cpu",
      "--backend",
      "webgpu",
      "--out",
      out,
      "--data-dir",
      join(dir, "data"),
      ...settings,
      ...more,
    );
  const first = train("--set", "max_iters=2");
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stderr, /webgpu: /);
  assert.doesNotMatch(first.stderr, /using wasm/);
  assert.match(first.stdout, /step 2: train loss \d\.\d{4}, val loss \d\.\d{4}/);
  assert.match(first.stdout, /saved checkpoint/);
  const resumed = train("--set", "max_iters=4", "--resume");
  assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, /done: 4 iterations/);
  const sample = runHero(
    "gpt",
    "sample",
    "--checkpoint",
    out,
    "--backend",
    "webgpu",
    "--tokens",
    "12",
    "--data-dir",
    join(dir, "data"),
  );
  assert.equal(sample.status, 0, sample.stdout + sample.stderr);
  assert.ok(sample.stdout.trim().length >= 12, sample.stdout);
});
