/**
 * Output folders: the lock appears with its owner's pid, --overwrite never moves the folder a shell
 * stands in, and processes racing for one folder (a stale lock to take over, a run to move aside)
 * end with exactly one owner.
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
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { claimOutputFolder, LOCK_FILE, releaseOutputFolders } from "../src/cli/run-folder.js";
import { Random } from "../src/random/index.js";
import { repoRoot } from "./helpers.js";

test("the lock holds this process's pid from the moment it exists, and is given back", (t) => {
  const root = mkdtempSync(join(tmpdir(), "hero-run-folder-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const out = claimOutputFolder(join(root, "run"));
  assert.equal(readFileSync(join(out, LOCK_FILE), "utf8"), `${process.pid}\n`);
  assert.deepEqual(readdirSync(out), [LOCK_FILE], "no temporary file is left beside the lock");
  releaseOutputFolders();
  assert.ok(!existsSync(join(out, LOCK_FILE)));
});

test("--overwrite refuses the current folder and the folders above it, and moves nothing", (t) => {
  const root = mkdtempSync(join(tmpdir(), "hero-run-folder-"));
  const here = process.cwd();
  t.after(() => {
    process.chdir(here);
    rmSync(root, { recursive: true, force: true });
  });
  const project = join(root, "project");
  mkdirSync(join(project, "src"), { recursive: true });
  writeFileSync(join(project, "notes.txt"), "mine");
  for (const cwd of [project, join(project, "src")]) {
    process.chdir(cwd);
    assert.throws(() => claimOutputFolder(project, { overwrite: true }), /current folder or one above it/);
    assert.equal(readFileSync(join(project, "notes.txt"), "utf8"), "mine");
  }
  // From elsewhere the same folder is moved aside, never deleted.
  process.chdir(root);
  claimOutputFolder(project, { overwrite: true });
  releaseOutputFolders();
  const aside = readdirSync(root).find((e) => e.startsWith("project.old-"));
  assert.ok(aside, "moved aside");
  assert.equal(readFileSync(join(root, aside!, "notes.txt"), "utf8"), "mine");
});

/**
 * A process that claims `dir` when told "go" (pausing `ms` where the claim could race, so the races
 * happen on a loaded machine too), prints whether it won, and holds what it won until its stdin ends.
 */
const CLAIMANT = `
import { createInterface } from "node:readline";
import { claimOutputFolder } from ${JSON.stringify(join(repoRoot, "dist", "src", "cli", "run-folder.js"))};
const [dir, mode, ms] = process.argv.slice(1);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(ms));
process.stdout.write("ready\\n");
await lines.next();
let result;
try {
  claimOutputFolder(dir, { overwrite: mode === "overwrite", onStage: pause });
  result = { won: true };
} catch (error) {
  result = { won: false, error: error.message };
}
process.stdout.write(JSON.stringify(result) + "\\n");
await lines.next();
process.exit(0);
`;

interface Claim {
  pid: number;
  won: boolean;
  error?: string;
}

function nextLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) {
        child.stdout!.off("data", onData);
        resolve(text.trim());
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`claimant exited ${code} before a line (${text})`)));
  });
}

/**
 * `n` processes claim `dir` at once, each pausing a seeded time where the claims could race;
 * `inspect` sees their results while they still hold what they won.
 */
async function race(
  dir: string,
  mode: "stale" | "overwrite",
  seed: number,
  inspect: (claims: Claim[]) => void,
  n = 5,
): Promise<void> {
  const rng = new Random(seed);
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ["--input-type=module", "-e", CLAIMANT, dir, mode, String(rng.randint(0, 150))], {
      stdio: ["pipe", "pipe", "inherit"],
    }),
  );
  try {
    await Promise.all(children.map(nextLine));
    const results = children.map(nextLine);
    for (const child of children) child.stdin!.write("go\n");
    const lines = await Promise.all(results);
    inspect(
      lines.map((line, i) => ({ pid: children[i]!.pid!, ...(JSON.parse(line) as Omit<Claim, "pid">) })),
    );
  } finally {
    const exits = children.map((child) => new Promise((resolve) => child.once("exit", resolve)));
    for (const child of children) child.stdin!.end();
    await Promise.all(exits);
  }
}

/** Exactly one claim won, and every other one names the winner as the folder's user. */
function oneWinner(claims: Claim[], lockFile: string): number {
  const winners = claims.filter((c) => c.won);
  assert.equal(winners.length, 1, `winners: ${JSON.stringify(claims)}`);
  const winner = winners[0]!.pid;
  assert.equal(readFileSync(lockFile, "utf8"), `${winner}\n`, "the lock names the winner");
  for (const c of claims.filter((c) => !c.won))
    assert.match(c.error!, new RegExp(`in use by process ${winner} `), JSON.stringify(c));
  return winner;
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  return Number(r.stdout);
}

for (const seed of [1, 2]) {
  test(`processes taking over a dead process's lock at once: exactly one wins (seed ${seed})`, async (t) => {
    const root = mkdtempSync(join(tmpdir(), "hero-run-folder-"));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, "run");
    mkdirSync(dir);
    writeFileSync(join(dir, LOCK_FILE), `${deadPid()}\n`);
    await race(dir, "stale", seed, (claims) => oneWinner(claims, join(dir, LOCK_FILE)));
    assert.deepEqual(readdirSync(dir), [], "the winner gave its lock back, and nothing else is left");
  });

  test(`processes moving one run aside with --overwrite at once: exactly one wins, the run is kept once (seed ${seed})`, async (t) => {
    const root = mkdtempSync(join(tmpdir(), "hero-run-folder-"));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, "run");
    mkdirSync(join(dir, "ckpt-1"), { recursive: true });
    writeFileSync(join(dir, "metrics.jsonl"), "trained\n");
    writeFileSync(join(dir, "ckpt-1", "model.safetensors"), "weights");
    await race(dir, "overwrite", seed, (claims) => {
      oneWinner(claims, join(dir, LOCK_FILE));
      assert.deepEqual(readdirSync(dir), [LOCK_FILE], "the winner's folder is fresh");
    });
    const aside = readdirSync(root).filter((e) => e.startsWith("run.old-"));
    assert.equal(aside.length, 1, `folders moved aside: ${aside.join(", ")}`);
    assert.deepEqual(readdirSync(join(root, aside[0]!)).sort(), ["ckpt-1", "metrics.jsonl"]);
    assert.equal(readFileSync(join(root, aside[0]!, "ckpt-1", "model.safetensors"), "utf8"), "weights");
  });
}
