/**
 * The CLI as a careless or hostile user meets it (issue 23): a trained run is never overwritten,
 * one writer per output folder, every command exits (errors, Ctrl-C, a killed parent), prepared
 * data is checked against its record, and bad values are one-line errors naming the option or file.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { softwareAdapterNote } from "../src/cli/backend-option.js";
import { readSafetensors, writeSafetensors } from "../src/io/node.js";
import { tensor } from "../src/tensor/index.js";
import { dataDir, fixture, repoRoot } from "./helpers.js";

const main = join(repoRoot, "dist", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "hero-safety-"));
after(() => rmSync(work, { recursive: true, force: true }));
const empty = join(work, "empty");
mkdirSync(empty);
/** Prepared GPT data sets for these tests (from tinyshakespeare in HERO_DATA_DIR). */
const prepared = join(work, "prepared");

function hero(args: string[], env: Record<string, string> = {}, timeout = 120_000) {
  const res = spawnSync(process.execPath, [main, ...args], {
    encoding: "utf8",
    cwd: work,
    timeout,
    env: { ...process.env, HERO_NO_RESPAWN: "1", HERO_OFFLINE: "1", HERO_DATA_DIR: dataDir, ...env },
  });
  return { status: res.status, signal: res.signal, stdout: res.stdout, stderr: res.stderr };
}

/** Exit 1 with one error line "hero: ..." (beside a progress bar's lines) and no stack trace. */
function oneLineError(r: ReturnType<typeof hero>, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit ${r.status} (${r.signal}): ${r.stderr}`);
  const errors = r.stderr.split("\n").filter((l) => /^(hero|error):/.test(l));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at /m, r.stderr);
}

const tinyGpt = [
  "--preset",
  "shakespeare-char-cpu",
  ...["n_layer=1", "n_head=2", "n_embd=16", "block_size=16", "batch_size=2", "eval_interval=2"]
    .concat(["eval_iters=1", "sample_tokens=0", "max_iters=2"])
    .flatMap((s) => ["--set", s]),
  "--data-dir",
  prepared,
];

function trainGpt(out: string, extra: string[] = [], env: Record<string, string> = {}) {
  return hero(["gpt", "train", ...tinyGpt, "--out", out, ...extra], env);
}

function checkpoints(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith("ckpt-"));
}

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
  return Number(child.stdout.trim());
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves when `pattern` appears in the child's output (stdout and stderr). */
function waitFor(child: ChildProcess, pattern: RegExp, timeout = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${text}`)), timeout);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

async function until(condition: () => boolean, timeout = 30_000): Promise<boolean> {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}

test("setup: prepare shakespeare-char", () => {
  const r = hero(["gpt", "prepare", "shakespeare-char", "--data-dir", prepared]);
  assert.equal(r.status, 0, r.stderr);
});

// 1. An output folder that holds a run is never overwritten.
test("gpt train refuses a folder holding a run without --resume; --overwrite moves it aside", () => {
  const out = join(work, "gpt-run");
  assert.equal(trainGpt(out).status, 0);
  const before = checkpoints(out);
  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8");
  assert.ok(before.length > 0);
  const again = trainGpt(out);
  oneLineError(again, /gpt-run holds a training run.*--resume.*--overwrite/);
  assert.deepEqual(checkpoints(out), before);
  assert.equal(readFileSync(join(out, "metrics.jsonl"), "utf8"), metrics);
  // Another command writing a run (makemore) refuses the GPT run's folder too.
  const makemore = hero(["makemore", "train", "--type", "bigram", "--steps", "2", "--out", out]);
  oneLineError(makemore, /gpt-run holds a training run/);
  assert.equal(readFileSync(join(out, "metrics.jsonl"), "utf8"), metrics);
  assert.deepEqual(checkpoints(out), before);

  const over = trainGpt(out, ["--overwrite"]);
  assert.equal(over.status, 0, over.stderr);
  const aside = readdirSync(work).filter((f) => f.startsWith("gpt-run.old-"));
  assert.equal(aside.length, 1, readdirSync(work).join(" "));
  assert.match(over.stdout, /moved the previous run .*gpt-run\.old-/);
  assert.deepEqual(checkpoints(join(work, aside[0]!)), before);
  assert.equal(readFileSync(join(work, aside[0]!, "metrics.jsonl"), "utf8"), metrics);
  // The new run's metrics hold one run: iteration 0 once.
  const iters0 = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.includes('"type":"train"') && l.includes('"iter":0,'));
  assert.equal(iters0.length, 1);
  assert.match(trainGpt(out, ["--resume", "--overwrite"]).stderr, /--resume and --overwrite/);
});

test("pong train and makemore train refuse a folder holding a run", () => {
  const pong = join(work, "pong-run");
  const args = ["pong", "train", "--out", pong, "--episodes", "2", "--batch-size", "1", "--save-every", "1"];
  const first = hero([...args, "--hidden", "4"]);
  assert.equal(first.status, 0, first.stderr);
  const before = checkpoints(pong);
  oneLineError(hero([...args, "--hidden", "4"]), /pong-run holds a training run.*--resume/);
  assert.deepEqual(checkpoints(pong), before);
  const resumed = hero([...args.slice(0, -6), "--episodes", "3", "--resume"]);
  assert.equal(resumed.status, 0, resumed.stderr);

  const mm = join(work, "mm-run");
  const mmArgs = ["makemore", "train", "--type", "bigram", "--steps", "2", "--out", mm, "--samples", "0"];
  assert.equal(hero(mmArgs).status, 0);
  const metrics = readFileSync(join(mm, "metrics.jsonl"), "utf8");
  oneLineError(hero(mmArgs), /mm-run holds a training run.*--overwrite/);
  assert.equal(readFileSync(join(mm, "metrics.jsonl"), "utf8"), metrics);
  // A folder holding other files of value is refused too; an empty folder is fine.
  const notes = join(work, "notes");
  mkdirSync(notes);
  writeFileSync(join(notes, "thesis.txt"), "years of work");
  oneLineError(hero([...mmArgs.slice(0, 7), notes]), /notes is not empty.*--overwrite/);
  const fresh = join(work, "fresh");
  mkdirSync(fresh);
  assert.equal(hero([...mmArgs.slice(0, 7), fresh]).status, 0);
});

test("one writer per output folder: a live lock refuses, a dead owner's lock is taken over", () => {
  const out = join(work, "locked");
  assert.equal(trainGpt(out).status, 0);
  assert.ok(!existsSync(join(out, "hero.lock")), "the lock is released at exit");
  writeFileSync(join(out, "hero.lock"), `${process.pid}\n`);
  oneLineError(
    trainGpt(out, ["--resume", "--set", "max_iters=4"]),
    new RegExp(`locked is in use by process ${process.pid}`),
  );
  writeFileSync(join(out, "hero.lock"), `${deadPid()}\n`);
  const resumed = trainGpt(out, ["--resume", "--set", "max_iters=4"]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /step 4: train loss/);
  assert.ok(!existsSync(join(out, "hero.lock")));
});

// 3. Every command exits.
test("an error after a progress bar started still exits, with code 1", () => {
  const mm = hero(
    ["makemore", "train", "--type", "mlp", "--lr", "1e308", "--steps", "5", "--out", join(work, "mm-nan")],
    {},
    60_000,
  );
  assert.equal(mm.signal, null, "killed by the test's timeout: the command hung");
  assert.equal(mm.status, 1, mm.stderr);
  assert.match(mm.stderr, /hero: .*(NaN|not finite|diverged)/);
  const lesson = hero(["lesson", "run", "7", "gpt", "--set", "steps=2", "--out", join(work, "lesson")], {
    HERO_DATA_DIR: empty,
    HOME: empty,
  });
  assert.equal(lesson.signal, null, "killed by the test's timeout: the command hung");
  assert.equal(lesson.status, 1);
  assert.match(lesson.stderr, /tinyshakespeare/);
});

test("micrograd demo with huge noise finishes (the decision grid is bounded)", () => {
  const r = hero(
    ["micrograd", "demo", "--noise", "1000", "--steps", "1", "--samples", "20", "--out", join(work, "mg")],
    {},
    60_000,
  );
  assert.equal(r.signal, null, "killed by the test's timeout: the command hung");
  assert.equal(r.status, 0, r.stderr);
});

test("a tokenizer model's split pattern must be a known one unless --trust-pattern", () => {
  const model = join(work, "evil.model");
  writeFileSync(model, "minbpe v1\n(a+)+$\n0\n");
  const r = hero(["tokenizer", "encode", "--model", model, `${"a".repeat(26)}!`], {}, 60_000);
  oneLineError(r, /evil\.model.*split pattern is not one of the known.*--trust-pattern/);
  const trusted = hero(["tokenizer", "encode", "--model", model, "--trust-pattern", "aaa"]);
  assert.equal(trusted.status, 0, trusted.stderr);
  assert.equal(trusted.stdout.trim(), "97 97 97");
});

// 4. Prepared data is written atomically and checked against its record.
test("a truncated val.bin is an error naming it; a half-prepared folder is prepared again", () => {
  const data = join(work, "prep-cut");
  assert.equal(hero(["gpt", "prepare", "shakespeare-char", "--data-dir", data]).status, 0);
  const dir = join(data, "shakespeare_char");
  assert.deepEqual(readdirSync(dir).sort(), ["meta.json", "prepared.json", "train.bin", "val.bin"]);
  truncateSync(join(dir, "val.bin"), 131_072);
  const out = join(work, "cut-run");
  const r = hero(["gpt", "train", ...tinyGpt.slice(0, -1), data, "--out", out]);
  oneLineError(r, /val\.bin: 131072 bytes, but .*prepared\.json says 111540 tokens \(223080 bytes\)/);
  // A prepare killed before its record was written: the next train prepares again.
  rmSync(join(dir, "prepared.json"));
  rmSync(join(dir, "val.bin"));
  const again = hero(["gpt", "train", ...tinyGpt.slice(0, -1), data, "--out", out]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readFileSync(join(dir, "val.bin")).length, 223_080);
});

// 5 and 10. Killing hero kills its worker; Ctrl-C saves what is safe and exits 130.
test("kill -9 of hero ends the re-executed worker", async () => {
  const out = join(work, "orphan");
  const child = spawn(
    process.execPath,
    [main, "pong", "train", "--out", out, "--episodes", "1000000", "--hidden", "4"],
    { cwd: work, env: { ...process.env, HERO_NO_RESPAWN: "" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  await waitFor(child, /random policy/);
  const lock = Number(readFileSync(join(out, "hero.lock"), "utf8").trim());
  assert.notEqual(lock, child.pid, "the worker holds the lock");
  assert.ok(alive(lock));
  child.kill("SIGKILL");
  await exited(child);
  assert.ok(await until(() => !alive(lock)), `worker ${lock} still runs after its parent was killed`);
});

test("Ctrl-C: gpt train saves a checkpoint and exits 130; --resume continues from it", async () => {
  const out = join(work, "interrupted");
  const args = [...tinyGpt.slice(0, -4), "--set", "max_iters=100000", "--set", "eval_interval=100000"];
  const child = spawn(
    process.execPath,
    [main, "gpt", "train", ...args, "--data-dir", prepared, "--out", out],
    {
      cwd: work,
      env: { ...process.env, HERO_NO_RESPAWN: "", HERO_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const metrics = join(out, "metrics.jsonl");
  assert.ok(
    await until(() => existsSync(metrics) && readFileSync(metrics, "utf8").includes('"iter":5,'), 60_000),
  );
  child.kill("SIGINT");
  const { code } = await exited(child);
  assert.equal(code, 130);
  const saved = checkpoints(out);
  assert.equal(saved.length, 1, readdirSync(out).join(" "));
  const state = JSON.parse(readFileSync(join(out, saved[0]!, "state.json"), "utf8")) as { iter: number };
  assert.ok(state.iter > 5, `saved at ${state.iter}`);
  const resumed = trainGpt(out, ["--resume", "--set", `max_iters=${state.iter + 2}`]);
  assert.equal(resumed.status, 0, resumed.stderr);
});

test("Ctrl-C on pong train exits 130", async () => {
  const child = spawn(
    process.execPath,
    [main, "pong", "train", "--out", join(work, "pong-int"), "--episodes", "1000000", "--hidden", "4"],
    { cwd: work, env: { ...process.env, HERO_NO_RESPAWN: "" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  await waitFor(child, /random policy/);
  child.kill("SIGINT");
  assert.equal((await exited(child)).code, 130);
});

// 9. Guidance that points at the right thing.
test("gpt2 generate with no weights says the weights are missing and where to get them", () => {
  const r = hero(["gpt2", "generate", "--weights", join(work, "gpt2", "model.safetensors")]);
  oneLineError(r, /model\.safetensors does not exist.*huggingface\.co/);
  assert.doesNotMatch(r.stderr, /config\.json/);
});

test("a missing HellaSwag file in gpt train points at --hellaswag", () => {
  const r = trainGpt(join(work, "hs-run"), ["--set", "hellaswag_examples=2"], { HERO_DATA_DIR: empty });
  oneLineError(r, /HellaSwag val not found.*--hellaswag/);
  assert.doesNotMatch(r.stderr, /--data\b/);
});

test("hero bench NAME -- --help prints the benchmark's options without running it", () => {
  const matmul = hero(["bench", "matmul", "--", "--help"], {}, 60_000);
  assert.equal(matmul.status, 0, matmul.stderr);
  assert.match(matmul.stdout, /--sizes/);
  assert.doesNotMatch(matmul.stdout, /GFLOPS/);
  const moons = hero(["bench", "micrograd-moons", "--", "--help"], {}, 60_000);
  assert.equal(moons.status, 0, moons.stderr);
  assert.match(moons.stdout, /micrograd-moons takes no options/);
  oneLineError(hero(["bench", "matmul", "--", "--sise", "3"]), /unknown option --sise.*--sizes/);
});

test("HERO_BACKEND=foo is an error like --backend foo", () => {
  const r = hero(["makemore", "train", "--type", "bigram", "--steps", "1", "--out", join(work, "be")], {
    HERO_BACKEND: "foo",
  });
  oneLineError(r, /HERO_BACKEND.*unknown backend "foo"/);
});

test("--backend webgpu on a software adapter says it is one", () => {
  assert.match(softwareAdapterNote("llvmpipe (LLVM 15.0.6, 256 bits)") ?? "", /software adapter \(llvmpipe/);
  assert.match(softwareAdapterNote("Google SwiftShader Device") ?? "", /software adapter/);
  assert.equal(softwareAdapterNote("nvidia hopper NVIDIA H100 80GB HBM3"), null);
  // This machine's adapter, as the CLI reports it: the note comes exactly when it is a software one.
  const r = hero(["bench", "micrograd-moons", "--backend", "webgpu", "--", "--help"], {
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

test("out-of-range values are one-line errors naming the option and its range", () => {
  const out = join(work, "ranges");
  const cases: [string[], RegExp][] = [
    [["gpt", "sample", "--checkpoint", out, "--temperature", "-1"], /--temperature.*number >= 0.*"-1"/],
    [["gpt", "sample", "--checkpoint", out, "--top-k", "-3"], /--top-k.*integer >= 0.*"-3"/],
    [["gpt2", "generate", "--weights", out, "--temperature", "-0.5"], /--temperature.*>= 0/],
    [["gpt", "sample", "--checkpoint", out, "--seed", "1.5"], /--seed.*integer/],
    [
      ["gpt", "train", ...tinyGpt, "--out", out, "--set", "log_interval=0"],
      /log_interval must be an integer >= 1, got 0/,
    ],
    [
      ["gpt", "train", ...tinyGpt, "--out", out, "--set", "warmup_iters=-5"],
      /warmup_iters must be an integer >= 0, got -5/,
    ],
    [
      ["gpt", "train", ...tinyGpt, "--out", out, "--set", "seed=1.5"],
      /seed must be an integer >= 0, got 1.5/,
    ],
    [["pong", "train", "--out", out, "--gamma", "5"], /--gamma.*number in \[0, 1\].*"5"/],
    [["makemore", "train", "--type", "bigram", "--out", out, "--samples", "-1"], /--samples.*integer >= 0/],
    [["micrograd", "demo", "--samples", "-1"], /--samples.*integer in \[2, 100000\]/],
    [["makemore", "sample", "--checkpoint", out, "--temperature", "0"], /--temperature.*number > 0/],
    [
      ["tokenizer", "decode", "--encoding", "gpt2", "[1,2"],
      /"\[1,2" is not a list of token ids: no closing "\]"/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = hero(args);
    assert.equal(r.status, 1, `${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
    assert.match(r.stderr.split("\n")[0]!, pattern, args.join(" "));
  }
  assert.ok(!existsSync(out), "nothing was written");
});

test("errors about a file name the file", () => {
  // A data set's meta.json that is not JSON.
  const data = join(work, "bad-meta");
  const dir = join(data, "shakespeare_char");
  assert.equal(hero(["gpt", "prepare", "shakespeare-char", "--data-dir", data]).status, 0);
  writeFileSync(join(dir, "meta.json"), "{ not json");
  oneLineError(
    hero(["gpt", "train", ...tinyGpt.slice(0, -1), data, "--out", join(work, "bm")]),
    /meta\.json/,
  );
  // A selftest file that is not JSON.
  const ops = join(work, "ops.json");
  writeFileSync(ops, "<html>");
  oneLineError(hero(["selftest", "ops", ops]), /ops\.json: not JSON/);
  // A folder where the weights file goes.
  const folder = join(work, "weights-dir");
  mkdirSync(join(folder, "model.safetensors"), { recursive: true });
  writeFileSync(join(folder, "config.json"), readFileSync(fixture("gpt2_tiny/config.json")));
  oneLineError(hero(["gpt2", "generate", "--weights", folder]), /model\.safetensors.*(folder|directory)/);
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
  const gpt = join(work, "inf-gpt");
  assert.equal(trainGpt(gpt).status, 0);
  const gptName = poison(join(gpt, checkpoints(gpt)[0]!, "model.safetensors"));
  oneLineError(
    hero(["gpt", "sample", "--checkpoint", gpt, "--tokens", "5"]),
    new RegExp(`model\\.safetensors: tensor "${gptName.replace(/\./g, "\\.")}" holds a non-finite value`),
  );
  const out = join(work, "inf-run");
  assert.equal(hero(["makemore", "train", "--type", "bigram", "--steps", "2", "--out", out]).status, 0);
  const name = poison(join(out, checkpoints(out)[0]!, "model.safetensors"));
  const r = hero(["makemore", "sample", "--checkpoint", out]);
  oneLineError(
    r,
    new RegExp(`model\\.safetensors: tensor "${name.replace(/\./g, "\\.")}" holds a non-finite value`),
  );
});
