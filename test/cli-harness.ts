/** Running the compiled `hero` as a user would, for the CLI safety tests (issue 23). */
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { dataDir, repoRoot } from "./helpers.js";

export const main = join(repoRoot, "dist", "src", "cli", "main.js");

export interface CliRun {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** A scratch folder (removed after the file's tests), an empty one in it, and the commands run there. */
export function cliHarness(prefix: string) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(work, { recursive: true, force: true }));
  const empty = join(work, "empty");
  mkdirSync(empty);
  /** Prepared GPT data sets (from tinyshakespeare in HERO_DATA_DIR): call `prepare()` first. */
  const prepared = join(work, "prepared");

  function hero(args: string[], env: Record<string, string> = {}, timeout = 120_000): CliRun {
    const res = spawnSync(process.execPath, [main, ...args], {
      encoding: "utf8",
      cwd: work,
      timeout,
      env: { ...process.env, HERO_NO_RESPAWN: "1", HERO_OFFLINE: "1", HERO_DATA_DIR: dataDir, ...env },
    });
    return { status: res.status, signal: res.signal, stdout: res.stdout, stderr: res.stderr };
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

  return {
    work,
    empty,
    prepared,
    hero,
    /** `gpt train` settings of a tiny model (2 steps) on the prepared data. */
    tinyGpt,
    prepare() {
      const r = hero(["gpt", "prepare", "shakespeare-char", "--data-dir", prepared]);
      assert.equal(r.status, 0, r.stderr);
    },
    trainGpt(out: string, extra: string[] = [], env: Record<string, string> = {}) {
      return hero(["gpt", "train", ...tinyGpt, "--out", out, ...extra], env);
    },
  };
}

/** Exit 1 with one error line "hero: ..." (beside a progress bar's lines) and no stack trace. */
export function oneLineError(r: CliRun, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit ${r.status} (${r.signal}): ${r.stderr}`);
  const errors = r.stderr.split("\n").filter((l) => /^(hero|error):/.test(l));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at /m, r.stderr);
}

export function checkpoints(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith("ckpt-"));
}

/** Resolves when `pattern` appears in the child's output (stdout and stderr). */
export function waitFor(child: ChildProcess, pattern: RegExp, timeout = 60_000): Promise<string> {
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

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

export async function until(condition: () => boolean, timeout = 30_000): Promise<boolean> {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}
