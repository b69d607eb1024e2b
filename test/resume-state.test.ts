/**
 * What a resumed run restores must be there and valid: a missing optimizer.safetensors is an error
 * naming it (unless the run asks to reset the optimizer), and a generator state of four zero words
 * (xoshiro's one invalid state: it stays zero, every batch the same) is rejected.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { trainPong } from "../src/cli/commands/pong.js";
import { loadCheckpoint } from "../src/io/checkpoint.js";
import { CheckpointError } from "../src/io/errors.js";
import { Random } from "../src/random/index.js";
import { QUICK_PONG } from "../src/rl/index.js";
import { applyOverrides, presetConfig } from "../src/train/gpt.js";
import { trainGPT } from "../src/train/gpt-node.js";
import { writeTinyCharData } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "herograd-resume-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A character data set as `hero gpt prepare` writes it. */
function charData(): string {
  const data = join(dir, "data");
  writeTinyCharData(data);
  return data;
}

const config = applyOverrides(presetConfig("shakespeare-char"), [
  "n_layer=1",
  "n_head=2",
  "n_embd=8",
  "block_size=8",
  "batch_size=2",
  "max_iters=2",
  "eval_iters=1",
  "eval_interval=1",
  "sample_tokens=0",
]);

async function rejectsNaming(run: () => Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(run, (e: Error) => {
    assert.ok(e instanceof CheckpointError, `${e.name}: ${e.message}`);
    assert.ok(e.message.startsWith(file), `names ${file}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("gpt train --resume with optimizer.safetensors missing: an error naming it, unless the optimizer is reset", async () => {
  const data = charData();
  const out = join(dir, "gpt-run");
  await trainGPT({ config, outDir: out, dataDir: data });
  const optimizerFile = join(loadCheckpoint(out).path, "optimizer.safetensors");
  unlinkSync(optimizerFile);
  const more = { ...config, maxIters: 3 };
  await rejectsNaming(
    () => trainGPT({ config: more, outDir: out, dataDir: data, resume: true }),
    optimizerFile,
    /missing.*--reset-optimizer/,
  );
  const result = await trainGPT({
    config: more,
    outDir: out,
    dataDir: data,
    resume: true,
    resetOptimizer: true,
  });
  assert.equal(result.iter, 3);
  // The reset run starts Adam afresh (its step count too, for the bias correction).
  assert.equal(result.trainer.optimizer.stateDict().step, 1);
});

test("a state.json whose generator state is all zeros is rejected, naming the file and the field", async () => {
  assert.throws(() => new Random(1).setState({ s: [0, 0, 0, 0], spareNormal: null }), /all zero/);
  const data = charData();
  const out = join(dir, "gpt-zero-rng");
  await trainGPT({ config, outDir: out, dataDir: data });
  const stateFile = join(loadCheckpoint(out).path, "state.json");
  const state = JSON.parse(readFileSync(stateFile, "utf8"));
  state.rng.s = [0, 0, 0, 0];
  writeFileSync(stateFile, JSON.stringify(state));
  await rejectsNaming(
    () => trainGPT({ config: { ...config, maxIters: 3 }, outDir: out, dataDir: data, resume: true }),
    stateFile,
    /"rng".*all zero/,
  );
});

test("a state.json whose config lacks a size (vocabSize) is rejected on resume, naming the file", async () => {
  // Found by the 10,000-case CLI fuzz: the error named "setting vocab_size", not the file.
  const data = charData();
  const out = join(dir, "gpt-no-vocab");
  await trainGPT({ config, outDir: out, dataDir: data });
  const stateFile = join(loadCheckpoint(out).path, "state.json");
  const state = JSON.parse(readFileSync(stateFile, "utf8"));
  delete state.config.vocabSize;
  writeFileSync(stateFile, JSON.stringify(state));
  await rejectsNaming(
    () => trainGPT({ config: { ...config, maxIters: 3 }, outDir: out, dataDir: data, resume: true }),
    stateFile,
    /vocab_size must be an integer in \[0, \d+\], got undefined/,
  );
});

test("pong train --resume: a missing optimizer file or a zero generator state is an error naming the file", async () => {
  const out = join(dir, "pong-run");
  const opts = {
    out,
    episodes: 2,
    saveEvery: 2,
    lr: 1e-3,
    batchSize: 2,
    gamma: 0.99,
    hidden: 8,
    seed: 3,
    points: QUICK_PONG.points,
  };
  const log = console.log;
  console.log = () => {};
  try {
    await trainPong(opts);
    const ck = loadCheckpoint(out).path;
    const stateFile = join(ck, "state.json");
    const original = readFileSync(stateFile, "utf8");
    const state = JSON.parse(original);
    state.rng.s = [0, 0, 0, 0];
    writeFileSync(stateFile, JSON.stringify(state));
    await rejectsNaming(() => trainPong({ ...opts, episodes: 4, resume: true }), stateFile, /all zero/);
    writeFileSync(stateFile, original);
    unlinkSync(join(ck, "optimizer.safetensors"));
    await rejectsNaming(
      () => trainPong({ ...opts, episodes: 4, resume: true }),
      join(ck, "optimizer.safetensors"),
      /missing/,
    );
  } finally {
    console.log = log;
  }
});
