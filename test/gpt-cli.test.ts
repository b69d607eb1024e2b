/** `hero selftest gpt2`, `hero gpt2 generate` and `hero gpt prepare/train/sample`, run as a user would. */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readSafetensors, writeSafetensors } from "../src/io/node.js";
import { fixture, repoRoot, withoutDataDir } from "./helpers.js";

const main = join(repoRoot, "dist", "src", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "herograd-gpt-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function hero(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [main, ...args], {
    encoding: "utf8",
    env: withoutDataDir({ HERO_NO_RESPAWN: "1", HERO_OFFLINE: "1", ...env }),
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

const refArgs = ["--ref", fixture("gpt2_tiny.ref.json"), "--grads", fixture("gpt2_tiny.grads.safetensors")];

test("selftest gpt2 passes on the fixture", () => {
  const r = hero(["selftest", "gpt2", "--model", fixture("gpt2_tiny"), ...refArgs]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^(\d+) passed, 0 failed$/m);
  assert.doesNotMatch(r.stdout, /FAIL/);
});

test("selftest gpt2 fails on a corrupted copy and says what differs", () => {
  const bad = join(dir, "corrupt");
  mkdirSync(bad);
  copyFileSync(fixture("gpt2_tiny/config.json"), join(bad, "config.json"));
  const { tensors } = readSafetensors(fixture("gpt2_tiny/model.safetensors"));
  tensors.set("h.1.ln_2.bias", tensors.get("h.1.ln_2.bias")!.add(0.05));
  writeSafetensors(join(bad, "model.safetensors"), tensors, { format: "pt" });
  const r = hero(["selftest", "gpt2", "--model", bad, ...refArgs]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAIL logits: \d+ of 2048 values outside/);
  const last = r.stdout.trim().split("\n").at(-1)!;
  const m = /^(\d+) passed, (\d+) failed$/.exec(last);
  assert.ok(m && Number(m[2]) > 0, last);
});

test("gpt2 generate samples from safetensors weights; errors name the file", () => {
  const r = hero([
    "gpt2",
    "generate",
    "--weights",
    fixture("gpt2_tiny/model.safetensors"),
    "--prompt",
    "!#",
    "--tokens",
    "4",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^> !#/);
  const tooBig = hero(["gpt2", "generate", "--weights", fixture("gpt2_tiny"), "--prompt", "Hello"]);
  assert.equal(tooBig.status, 1);
  assert.match(tooBig.stderr, /--prompt "Hello": token id 15496 is outside the model's vocabulary of 64/);
  const empty = hero(["gpt2", "generate", "--weights", fixture("gpt2_tiny"), "--prompt", ""]);
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /^hero: --prompt is empty: give at least one character to start from\n$/);
  const missing = hero([
    "gpt2",
    "generate",
    "--weights",
    join(dir, "nope.safetensors"),
    "--config",
    fixture("gpt2_tiny/config.json"),
  ]);
  assert.match(missing.stderr, /nope\.safetensors does not exist: download GPT-2.s weights/);
});

test("gpt2 generate runs on webgpu (it reads with await) and samples wasm's tokens", {
  skip: process.env.HERO_TEST_WEBGPU === "0" && "HERO_TEST_WEBGPU=0",
}, () => {
  const args = ["gpt2", "generate", "--weights", fixture("gpt2_tiny"), "--prompt", "!", "--tokens", "12"];
  const wasm = hero([...args, "--backend", "wasm"]);
  assert.equal(wasm.status, 0, wasm.stderr);
  // Where no adapter exists the command says so and runs on wasm: the tokens are the same either way.
  const webgpu = hero([...args, "--backend", "webgpu"]);
  assert.equal(webgpu.status, 0, webgpu.stderr);
  assert.doesNotMatch(webgpu.stderr, /reads values synchronously/);
  assert.equal(webgpu.stdout, wasm.stdout);
  assert.match(wasm.stdout, /^> !.{12}\n$/s);
});

test("gpt prepare, a few training steps with --set, resume, and sample from the checkpoint", () => {
  const data = join(dir, "data");
  const prep = hero(["gpt", "prepare", "shakespeare-char", "--data-dir", data]);
  assert.equal(prep.status, 0, prep.stderr);
  assert.match(prep.stdout, /train 1003854 tokens, val 111540 tokens, vocabulary 65/);
  // nanoGPT's data/shakespeare/readme: train.bin has 301,966 tokens, val.bin has 36,059 tokens
  const bpe = hero(["gpt", "prepare", "shakespeare", "--data-dir", data]);
  assert.equal(bpe.status, 0, bpe.stderr);
  assert.match(bpe.stdout, /train 301966 tokens, val 36059 tokens, vocabulary 50257/);
  const out = join(dir, "run");
  const sets = [
    "n_layer=1",
    "n_head=2",
    "n_embd=16",
    "block_size=16",
    "batch_size=2",
    "eval_interval=2",
    "eval_iters=1",
    "sample_tokens=10",
  ];
  const train = (maxIters: number, extra: string[] = []) =>
    hero([
      "gpt",
      "train",
      "--preset",
      "shakespeare-char-cpu",
      ...sets.flatMap((s) => ["--set", s]),
      "--set",
      `max_iters=${maxIters}`,
      "--out",
      out,
      "--data-dir",
      data,
      ...extra,
    ]);
  const first = train(2);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /step 2: train loss [\d.]+, val loss [\d.]+/);
  const second = train(4, ["--resume"]);
  assert.equal(second.status, 0, second.stderr);
  assert.doesNotMatch(second.stdout, /step 2:/);
  assert.match(second.stdout, /step 4: train loss/);
  const sample = hero([
    "gpt",
    "sample",
    "--checkpoint",
    out,
    "--prompt",
    "ROMEO:",
    "--tokens",
    "20",
    "--data-dir",
    data,
  ]);
  assert.equal(sample.status, 0, sample.stderr);
  assert.ok(sample.stdout.startsWith("ROMEO:") && sample.stdout.trim().length >= 20, sample.stdout);
  // A prompt the character vocabulary cannot encode, or none: the error names --prompt.
  for (const [prompt, message] of [
    ["ROMEO\u00e9", /^hero: --prompt "ROMEO\u00e9": character "\u00e9" is not in the vocabulary of /m],
    ["", /^hero: --prompt is empty/m],
  ] as const) {
    const r = hero([
      "gpt",
      "sample",
      "--checkpoint",
      out,
      "--prompt",
      prompt,
      "--tokens",
      "2",
      "--data-dir",
      data,
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, message);
  }
  const bad = train(2, ["--set", "max_iter=3"]);
  assert.match(bad.stderr, /unknown setting "max_iter"/);
});

test("selftest gpt2 finds the model and gradients named in the reference", () => {
  const r = hero(["selftest", "gpt2", "--ref", fixture("gpt2_tiny.ref.json")]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^\d+ passed, 0 failed$/m);
});
