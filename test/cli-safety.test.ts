/**
 * The CLI as a careless user meets it (issue 23): a trained run is never overwritten, one writer per
 * output folder, killing hero kills its worker, Ctrl-C saves what is safe (exit 130), so does a closed
 * output pipe (`hero gpt train | head`, exit 141), and prepared
 * data is checked against its record.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkpoints, cliHarness, exited, main, oneLineError, until, waitFor } from "./cli-harness.js";
import { dataDir } from "./helpers.js";

const h = cliHarness("hero-safety-");

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

test("setup: prepare shakespeare-char", () => h.prepare());

// 1. An output folder that holds a run is never overwritten.

test("gpt train refuses a folder holding a run without --resume; --overwrite moves it aside", () => {
  const out = join(h.work, "gpt-run");
  assert.equal(h.trainGpt(out).status, 0);
  const before = checkpoints(out);
  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8");
  assert.ok(before.length > 0);
  const again = h.trainGpt(out);
  oneLineError(again, /gpt-run holds a training run.*--resume.*--overwrite/);
  assert.deepEqual(checkpoints(out), before);
  assert.equal(readFileSync(join(out, "metrics.jsonl"), "utf8"), metrics);
  // Another command writing a run (makemore) refuses the GPT run's folder too.
  const makemore = h.hero(["makemore", "train", "--type", "bigram", "--steps", "2", "--out", out]);
  oneLineError(makemore, /gpt-run holds a training run/);
  assert.equal(readFileSync(join(out, "metrics.jsonl"), "utf8"), metrics);
  assert.deepEqual(checkpoints(out), before);

  const over = h.trainGpt(out, ["--overwrite"]);
  assert.equal(over.status, 0, over.stderr);
  const aside = readdirSync(h.work).filter((f) => f.startsWith("gpt-run.old-"));
  assert.equal(aside.length, 1, readdirSync(h.work).join(" "));
  assert.match(over.stdout, /moved the previous run .*gpt-run\.old-/);
  assert.deepEqual(checkpoints(join(h.work, aside[0]!)), before);
  assert.equal(readFileSync(join(h.work, aside[0]!, "metrics.jsonl"), "utf8"), metrics);
  // The new run's metrics hold one run: iteration 0 once.
  const iters0 = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.includes('"type":"train"') && l.includes('"iter":0,'));
  assert.equal(iters0.length, 1);
  assert.match(h.trainGpt(out, ["--resume", "--overwrite"]).stderr, /--resume and --overwrite/);
});

test("pong train and makemore train refuse a folder holding a run", () => {
  const pong = join(h.work, "pong-run");
  // Episodes of one point: the random-policy baseline printed first plays 200 of them.
  const args = ["pong", "train", "--points", "1", "--out", pong, "--episodes", "2"].concat([
    "--batch-size",
    "1",
    "--save-every",
    "1",
  ]);
  const first = h.hero([...args, "--hidden", "4"]);
  assert.equal(first.status, 0, first.stderr);
  const before = checkpoints(pong);
  oneLineError(h.hero([...args, "--hidden", "4"]), /pong-run holds a training run.*--resume/);
  assert.deepEqual(checkpoints(pong), before);
  const resumed = h.hero([...args.slice(0, -6), "--episodes", "3", "--resume"]);
  assert.equal(resumed.status, 0, resumed.stderr);

  const mm = join(h.work, "mm-run");
  const mmArgs = ["makemore", "train", "--type", "bigram", "--steps", "2", "--out", mm, "--samples", "0"];
  assert.equal(h.hero(mmArgs).status, 0);
  const metrics = readFileSync(join(mm, "metrics.jsonl"), "utf8");
  oneLineError(h.hero(mmArgs), /mm-run holds a training run.*--overwrite/);
  assert.equal(readFileSync(join(mm, "metrics.jsonl"), "utf8"), metrics);
  // A folder holding other files of value is refused too; an empty folder is fine.
  const notes = join(h.work, "notes");
  mkdirSync(notes);
  writeFileSync(join(notes, "thesis.txt"), "years of work");
  oneLineError(h.hero([...mmArgs.slice(0, 7), notes]), /notes is not empty.*--overwrite/);
  const fresh = join(h.work, "fresh");
  mkdirSync(fresh);
  assert.equal(h.hero([...mmArgs.slice(0, 7), fresh]).status, 0);
});

test("one writer per output folder: a live lock refuses, a dead owner's lock is taken over", () => {
  const out = join(h.work, "locked");
  assert.equal(h.trainGpt(out).status, 0);
  assert.ok(!existsSync(join(out, "hero.lock")), "the lock is released at exit");
  writeFileSync(join(out, "hero.lock"), `${process.pid}\n`);
  oneLineError(
    h.trainGpt(out, ["--resume", "--set", "max_iters=4"]),
    new RegExp(`locked is in use by process ${process.pid}`),
  );
  writeFileSync(join(out, "hero.lock"), `${deadPid()}\n`);
  const resumed = h.trainGpt(out, ["--resume", "--set", "max_iters=4"]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /step 4: train loss/);
  assert.ok(!existsSync(join(out, "hero.lock")));
});

// 4. Prepared data is written atomically and checked against its record.

test("a truncated val.bin is an error naming it; a half-prepared folder is prepared again", () => {
  const data = join(h.work, "prep-cut");
  assert.equal(h.hero(["gpt", "prepare", "shakespeare-char", "--data-dir", data]).status, 0);
  const dir = join(data, "shakespeare_char");
  assert.deepEqual(readdirSync(dir).sort(), ["meta.json", "prepared.json", "train.bin", "val.bin"]);
  truncateSync(join(dir, "val.bin"), 131_072);
  const out = join(h.work, "cut-run");
  const r = h.hero(["gpt", "train", ...h.tinyGpt.slice(0, -1), data, "--out", out]);
  oneLineError(r, /val\.bin: 131072 bytes, but .*prepared\.json says 111540 tokens \(223080 bytes\)/);
  // A prepare killed before val.bin was renamed into place: the next train prepares again.
  rmSync(join(dir, "prepared.json"));
  rmSync(join(dir, "val.bin"));
  const again = h.hero(["gpt", "train", ...h.tinyGpt.slice(0, -1), data, "--out", out]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readFileSync(join(dir, "val.bin")).length, 223_080);
});

// 5 and 10. Killing hero kills its worker; Ctrl-C saves what is safe and exits 130.

test("kill -9 of hero ends the re-executed worker, even in a synchronous training loop", async () => {
  const out = join(h.work, "orphan");
  const child = spawn(
    process.execPath,
    [main, "makemore", "train", "--type", "bigram", "--steps", "100000000", "--out", out],
    { cwd: h.work, env: { ...process.env, HERO_NO_RESPAWN: "" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  await waitFor(child, /training bigram/);
  const lock = Number(readFileSync(join(out, "hero.lock"), "utf8").trim());
  assert.notEqual(lock, child.pid, "the worker holds the lock");
  assert.ok(alive(lock));
  child.kill("SIGKILL");
  await exited(child);
  assert.ok(await until(() => !alive(lock)), `worker ${lock} still runs after its parent was killed`);
});

test("Ctrl-C: gpt train saves a checkpoint and exits 130; --resume continues from it", async () => {
  const out = join(h.work, "interrupted");
  const args = [...h.tinyGpt.slice(0, -4), "--set", "max_iters=100000", "--set", "eval_interval=100000"];
  const child = spawn(
    process.execPath,
    [main, "gpt", "train", ...args, "--data-dir", h.prepared, "--out", out],
    {
      cwd: h.work,
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
  const resumed = h.trainGpt(out, ["--resume", "--set", `max_iters=${state.iter + 2}`]);
  assert.equal(resumed.status, 0, resumed.stderr);
});

test("gpt train | head -2: the run stops at its next step, saved, exit 141 and no stack trace; --resume continues", () => {
  const out = join(h.work, "piped");
  const args = [
    ...h.tinyGpt.slice(0, -4),
    "--set",
    "max_iters=100000",
    "--data-dir",
    h.prepared,
    "--out",
    out,
  ];
  const quoted = [process.execPath, main, "gpt", "train", ...args].map((a) => `'${a}'`).join(" ");
  // bash for $PIPESTATUS (its first element): the exit code of hero (through its re-executed
  // worker), not of head.
  const r = spawnSync("bash", ["-c", `${quoted} | head -2; echo "hero exited $PIPESTATUS" >&2`], {
    cwd: h.work,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, HERO_NO_RESPAWN: "", HERO_DATA_DIR: dataDir },
  });
  assert.equal(r.stdout.split("\n").filter(Boolean).length, 2, r.stdout);
  assert.match(r.stderr, /hero exited 141\n$/, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at |Error/m, r.stderr);
  const stop =
    /stopped at iteration (\d+) \(the reader of the output went away\); continue with --resume/.exec(
      r.stderr,
    );
  assert.ok(stop, r.stderr);
  const iter = Number(stop[1]);
  assert.ok(iter > 0 && iter < 100_000, `stopped at ${iter}`);
  // The folder says where the run stopped: the last checkpoint is that iteration, and the metrics
  // are whole lines that go no further (steps 0..iter-1; an evaluation at iter is of the state
  // saved there).
  const saved = checkpoints(out).map(
    (ck) => (JSON.parse(readFileSync(join(out, ck, "state.json"), "utf8")) as { iter: number }).iter,
  );
  assert.equal(Math.max(...saved), iter, `checkpoints at ${saved.join(", ")}`);
  const events = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; iter: number });
  const trained = events.filter((e) => e.type === "train").map((e) => e.iter);
  assert.equal(Math.max(...trained), iter - 1, `steps logged up to ${Math.max(...trained)}`);
  assert.ok(
    events.every((e) => e.iter <= iter),
    "no event after the stop",
  );
  const resumed = h.trainGpt(out, ["--resume", "--set", `max_iters=${iter + 2}`]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`done: ${iter + 2} iterations`));
});

test("Ctrl-C on pong train exits 130", async () => {
  const child = spawn(
    process.execPath,
    [main, "pong", "train", "--points", "1", "--out", join(h.work, "pong-int"), "--episodes", "1000000"],
    { cwd: h.work, env: { ...process.env, HERO_NO_RESPAWN: "" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  await waitFor(child, /random policy/);
  child.kill("SIGINT");
  assert.equal((await exited(child)).code, 130);
});
