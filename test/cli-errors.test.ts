/**
 * The CLI as a careless or hostile user meets it (issue 23): every command exits, guidance points at
 * the right thing, and bad values are one-line errors naming the option, its range or the file.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Command, Option } from "commander";
import { softwareAdapterNote } from "../src/cli/backend-option.js";
import { createProgram } from "../src/cli/program.js";
import { readSafetensors, writeSafetensors } from "../src/io/node.js";
import { tensor } from "../src/tensor/index.js";
import { checkpoints, cliHarness, main, oneLineError } from "./cli-harness.js";
import { fixture } from "./helpers.js";

const h = cliHarness("hero-errors-");

test("setup: prepare shakespeare-char", () => h.prepare());

// 3. Every command exits.

test("an error after a progress bar started still exits, with code 1", () => {
  const mm = h.hero(
    ["makemore", "train", "--type", "mlp", "--lr", "1e308", "--steps", "5", "--out", join(h.work, "mm-nan")],
    {},
    60_000,
  );
  assert.equal(mm.signal, null, "killed by the test's timeout: the command hung");
  assert.equal(mm.status, 1, mm.stderr);
  assert.match(mm.stderr, /hero: .*(NaN|not finite|diverged)/);
  const lesson = h.hero(["lesson", "run", "7", "gpt", "--set", "steps=2", "--out", join(h.work, "lesson")], {
    HERO_DATA_DIR: h.empty,
    HOME: h.empty,
  });
  // With no data dir and no cache the shipped copy serves, and the command exits when done.
  assert.equal(lesson.signal, null, "killed by the test's timeout: the command hung");
  assert.equal(lesson.status, 0, lesson.stderr);
});

test("micrograd demo with huge noise finishes (the decision grid is bounded)", () => {
  const r = h.hero(
    ["micrograd", "demo", "--noise", "1000", "--steps", "1", "--samples", "20", "--out", join(h.work, "mg")],
    {},
    60_000,
  );
  assert.equal(r.signal, null, "killed by the test's timeout: the command hung");
  assert.equal(r.status, 0, r.stderr);
});

test("a tokenizer model's split pattern must be a known one unless --trust-pattern", () => {
  const model = join(h.work, "evil.model");
  writeFileSync(model, "minbpe v1\n(a+)+$\n0\n");
  const r = h.hero(["tokenizer", "encode", "--model", model, `${"a".repeat(26)}!`], {}, 60_000);
  oneLineError(r, /evil\.model.*split pattern is not one of the known.*--trust-pattern/);
  const trusted = h.hero(["tokenizer", "encode", "--model", model, "--trust-pattern", "aaa"]);
  assert.equal(trusted.status, 0, trusted.stderr);
  assert.equal(trusted.stdout.trim(), "97 97 97");
});

// 9. Guidance that points at the right thing.

test("gpt2 generate with no weights says the weights are missing and where to get them", () => {
  const r = h.hero(["gpt2", "generate", "--weights", join(h.work, "gpt2", "model.safetensors")]);
  oneLineError(r, /model\.safetensors does not exist.*huggingface\.co/);
  assert.doesNotMatch(r.stderr, /config\.json/);
});

test("a missing HellaSwag file in gpt train points at --hellaswag", () => {
  const r = h.trainGpt(join(h.work, "hs-run"), ["--set", "hellaswag_examples=2"], { HERO_DATA_DIR: h.empty });
  oneLineError(r, /HellaSwag val not found.*--hellaswag/);
  assert.doesNotMatch(r.stderr, /--data\b/);
});

test("hero bench NAME -- --help prints the benchmark's options without running it", () => {
  const matmul = h.hero(["bench", "matmul", "--", "--help"], {}, 60_000);
  assert.equal(matmul.status, 0, matmul.stderr);
  assert.match(matmul.stdout, /--sizes/);
  assert.doesNotMatch(matmul.stdout, /GFLOPS/);
  const moons = h.hero(["bench", "micrograd-moons", "--", "--help"], {}, 60_000);
  assert.equal(moons.status, 0, moons.stderr);
  assert.match(moons.stdout, /micrograd-moons takes no options/);
  oneLineError(h.hero(["bench", "matmul", "--", "--sise", "3"]), /unknown option --sise.*--sizes/);
});

test("HERO_BACKEND=foo is an error like --backend foo", () => {
  const r = h.hero(["makemore", "train", "--type", "bigram", "--steps", "1", "--out", join(h.work, "be")], {
    HERO_BACKEND: "foo",
  });
  oneLineError(r, /HERO_BACKEND.*unknown backend "foo"/);
});

test("--backend webgpu on a software adapter says it is one", () => {
  assert.match(softwareAdapterNote("llvmpipe (LLVM 15.0.6, 256 bits)") ?? "", /software adapter \(llvmpipe/);
  assert.match(softwareAdapterNote("Google SwiftShader Device") ?? "", /software adapter/);
  assert.equal(softwareAdapterNote("nvidia hopper NVIDIA H100 80GB HBM3"), null);
  // This machine's adapter, as the CLI reports it: the note comes exactly when it is a software one.
  const r = h.hero(["bench", "micrograd-moons", "--backend", "webgpu", "--", "--help"], {
    HERO_VERBOSE_BACKEND: "1",
  });
  assert.equal(r.status, 0, r.stderr);
  const adapter = /^webgpu: (.*)$/m.exec(r.stderr)?.[1];
  if (adapter === undefined) assert.match(r.stderr, /webgpu is not available/);
  else assert.equal(r.stderr.includes("runs on a software adapter"), softwareAdapterNote(adapter) !== null);
});

// 10. EPIPE, option ranges, errors naming their file.

test("hero lesson list | head -1 ends quietly", () => {
  const r = spawnSync("sh", ["-c", `"${process.execPath}" "${main}" lesson list | head -1`], {
    encoding: "utf8",
    env: { ...process.env, HERO_NO_RESPAWN: "1" },
  });
  assert.equal(r.stdout.split("\n").filter(Boolean).length, 1);
  assert.equal(r.stderr, "");
});

test("an unknown command or option is one error line, with commander's suggestion on it", () => {
  for (const [args, pattern] of [
    [["gpt", "sampel"], /^error: unknown command 'sampel' \(Did you mean sample\?\)$/],
    [
      ["gpt", "sample", "--checkpoint", "x", "--tokns", "3"],
      /^error: unknown option '--tokns' \(Did you mean --tokens\?\)$/,
    ],
    [["tokenizer", "encod"], /^error: unknown command 'encod' \(Did you mean encode\?\)$/],
  ] as const) {
    const r = h.hero([...args]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /\n$/);
    assert.match(r.stderr.slice(0, -1), pattern);
  }
});

/** The option `flag` of the command at `path` (e.g. "gpt sample"), as the CLI registers it. */
function option(path: string, flag: string): Option {
  let command: Command = createProgram();
  for (const name of path.split(" ")) command = command.commands.find((c) => c.name() === name)!;
  const found = command.options.find((o) => o.long === flag);
  assert.ok(found?.parseArg, `${path} ${flag}`);
  return found;
}

test("every option refuses values outside its range, naming the range", () => {
  const cases: [string, string, string, RegExp][] = [
    ["gpt sample", "--temperature", "-1", /a number >= 0/],
    ["gpt sample", "--top-k", "-3", /an integer >= 0/],
    ["gpt sample", "--seed", "1.5", /an integer >= 0/],
    ["gpt2 generate", "--temperature", "-0.5", /a number >= 0/],
    ["gpt2 generate", "--top-k", "2.5", /an integer >= 0/],
    ["pong train", "--gamma", "5", /a number in \[0, 1\]/],
    ["pong train", "--lr", "0", /a number > 0/],
    ["pong train", "--opponent-speed", "-2", /a number >= 0/],
    ["makemore train", "--samples", "-1", /an integer >= 0/],
    ["makemore train", "--lr", "-1", /a number > 0/],
    ["makemore sample", "--temperature", "0", /a number > 0/],
    ["micrograd demo", "--samples", "1", /an integer in \[2, 100000\]/],
    ["micrograd demo", "--noise", "-1", /a number >= 0/],
    ["lab", "--port", "70000", /an integer in \[0, 65535\]/],
    ["tokenizer train", "--vocab", "100", /an integer in \[256, 1000000\]/],
  ];
  for (const [path, flag, value, range] of cases) {
    const parse = option(path, flag).parseArg!;
    assert.throws(() => parse(value, undefined), range, `${path} ${flag} ${value}`);
    assert.throws(() => parse(value, undefined), new RegExp(`got "${value}"`));
  }
  assert.equal(option("pong train", "--gamma").parseArg!("0.99", undefined), 0.99);
});

test("out-of-range values on the command line are one-line errors naming the option", () => {
  const out = join(h.work, "ranges");
  const cases: [string[], RegExp][] = [
    [["gpt", "sample", "--checkpoint", out, "--temperature", "-1"], /--temperature.*number >= 0.*"-1"/],
    [["pong", "train", "--out", out, "--gamma", "5"], /--gamma.*number in \[0, 1\].*"5"/],
    [["makemore", "train", "--type", "bigram", "--out", out, "--samples", "-1"], /--samples.*integer >= 0/],
    [
      ["gpt", "train", ...h.tinyGpt, "--out", out, "--set", "log_interval=0"],
      /setting log_interval must be an integer >= 1, got 0/,
    ],
    [
      ["gpt", "train", ...h.tinyGpt, "--out", out, "--set", "warmup_iters=-5", "--set", "seed=1"],
      /setting warmup_iters must be an integer >= 0, got -5/,
    ],
    [
      ["gpt", "train", ...h.tinyGpt, "--out", out, "--set", "seed=1.5"],
      /setting seed must be an integer >= 0, got 1.5/,
    ],
    [
      ["tokenizer", "decode", "--encoding", "gpt2", "[1,2"],
      /"\[1,2" is not a list of token ids: no closing "\]"/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = h.hero(args);
    oneLineError(r, pattern);
    // Refused before anything runs: the error is all there is (no usage printed after it).
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.ok(!existsSync(out), "nothing was written");
});

test("errors about a file name the file", () => {
  // A data set's meta.json that is not JSON.
  const data = join(h.work, "bad-meta");
  const dir = join(data, "shakespeare_char");
  assert.equal(h.hero(["gpt", "prepare", "shakespeare-char", "--data-dir", data]).status, 0);
  writeFileSync(join(dir, "meta.json"), "{ not json");
  oneLineError(
    h.hero(["gpt", "train", ...h.tinyGpt.slice(0, -1), data, "--out", join(h.work, "bm")]),
    /meta\.json/,
  );
  // A selftest file that is not JSON.
  const ops = join(h.work, "ops.json");
  writeFileSync(ops, "<html>");
  oneLineError(h.hero(["selftest", "ops", ops]), /ops\.json: not JSON/);
  // A folder where the weights file goes.
  const folder = join(h.work, "weights-dir");
  mkdirSync(join(folder, "model.safetensors"), { recursive: true });
  writeFileSync(join(folder, "config.json"), readFileSync(fixture("gpt2_tiny/config.json")));
  oneLineError(h.hero(["gpt2", "generate", "--weights", folder]), /model\.safetensors.*(folder|directory)/);
  // A config.json holding null, or broken JSON whose quoted text spans lines (the 10,000-case fuzz
  // found a TypeError and a two-line error): one line naming the file.
  const hf = join(h.work, "hf-config");
  mkdirSync(hf);
  writeFileSync(join(hf, "model.safetensors"), readFileSync(fixture("gpt2_tiny/model.safetensors")));
  for (const [text, message] of [
    ["null", /config\.json: expected an object of GPT-2 settings, got null/],
    ['{"n_layer": 2,\n "n_embd": u}', /config\.json: not valid JSON \(Unexpected token 'u'/],
  ] as const) {
    writeFileSync(join(hf, "config.json"), text);
    const r = h.hero(["gpt2", "generate", "--weights", hf]);
    oneLineError(r, message);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  }
});

/** Put an Inf into the first tensor of a checkpoint's weights; returns the tensor's name. */
function poison(file: string): string {
  const { tensors } = readSafetensors(file);
  const [name, weight] = [...tensors.entries()][0]!;
  const values = Float32Array.from(weight.dataSync());
  values[3] = Number.POSITIVE_INFINITY;
  tensors.set(name, tensor(values, { shape: weight.shape }));
  writeSafetensors(file, tensors);
  return name;
}

test("Inf weights in a checkpoint: the error names the file and the tensor", () => {
  const gpt = join(h.work, "inf-gpt");
  assert.equal(h.trainGpt(gpt).status, 0);
  const gptName = poison(join(gpt, checkpoints(gpt)[0]!, "model.safetensors"));
  oneLineError(
    h.hero(["gpt", "sample", "--checkpoint", gpt, "--tokens", "5"]),
    new RegExp(`model\\.safetensors: tensor "${gptName.replace(/\./g, "\\.")}" holds a non-finite value`),
  );
  // gpt2 generate --weights FOLDER names the file in it (found by the fuzz: it named the folder).
  const hf = join(h.work, "inf-gpt2");
  mkdirSync(hf);
  for (const f of ["config.json", "model.safetensors"])
    writeFileSync(join(hf, f), readFileSync(fixture(`gpt2_tiny/${f}`)));
  poison(join(hf, "model.safetensors"));
  oneLineError(
    h.hero(["gpt2", "generate", "--weights", hf, "--prompt", "!"]),
    new RegExp(
      `${join(hf, "model.safetensors").replace(/[./]/g, "\\$&")}: tensor ".*" holds a non-finite value`,
    ),
  );
  const out = join(h.work, "inf-run");
  assert.equal(h.hero(["makemore", "train", "--type", "bigram", "--steps", "2", "--out", out]).status, 0);
  const name = poison(join(out, checkpoints(out)[0]!, "model.safetensors"));
  const r = h.hero(["makemore", "sample", "--checkpoint", out]);
  oneLineError(
    r,
    new RegExp(`model\\.safetensors: tensor "${name.replace(/\./g, "\\.")}" holds a non-finite value`),
  );
});
