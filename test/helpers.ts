/** Paths and comparisons shared by the tests. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (tests run compiled, from dist/test). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The PyTorch reference fixtures, written by test/reference/make_fixtures.py. */
export const fixturesDir = join(repoRoot, "test", "fixtures");

/** The data sets the repository ships (data/): the tests read these, never a download or cache. */
export const dataDir = join(repoRoot, "data");

/** The environment for a child `hero` without HERO_DATA_DIR: it finds the data herograd ships. */
export function withoutDataDir(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.HERO_DATA_DIR;
  return env;
}

export function fixture(name: string): string {
  const path = join(fixturesDir, name);
  if (!existsSync(path))
    throw new Error(
      `fixture ${path} not found: regenerate test/fixtures with test/reference/make_fixtures.py`,
    );
  return path;
}

/** The number of cases in ops.json (what `hero selftest ops` reports). */
export function opsFixtureCases(): number {
  return (JSON.parse(readFileSync(fixture("ops.json"), "utf8")) as { cases: unknown[] }).cases.length;
}

/** numpy-style allclose for one number: |actual - expected| <= atol + rtol·|expected|. */
export function close(actual: number, expected: number, atol: number, rtol: number): boolean {
  if (!Number.isFinite(expected))
    return Object.is(actual, expected) || (Number.isNaN(expected) && Number.isNaN(actual));
  return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
}

/** Python with PyTorch for the reference comparisons: HERO_PYTHON, else Debian's /usr/bin/python3. */
export const PYTHON = process.env.HERO_PYTHON ?? "/usr/bin/python3";

let torchSkip: false | string | undefined;
/**
 * The `skip` option of tests that compare with PyTorch (checked once): false where it is installed,
 * else one line saying what to install. With CI set always false: there the tests run, and fail
 * if it is missing.
 */
export function noTorch(): false | string {
  torchSkip ??=
    process.env.CI ||
    (existsSync(PYTHON) &&
      spawnSync(PYTHON, ["-c", "import torch"], { env: { ...process.env, OPENBLAS_CORETYPE: "SkylakeX" } })
        .status === 0)
      ? false
      : `no PyTorch at ${PYTHON}: apt-get install python3-torch (or set HERO_PYTHON to a Python with torch)`;
  return torchSkip;
}

/**
 * Run test/reference/<script> with the PyTorch reference (/usr/bin/python3, or HERO_PYTHON), the
 * request as JSON on stdin; returns its JSON answer.
 */
export function runTorchReference<T>(script: string, request: unknown): T {
  const python = PYTHON;
  const res = spawnSync(python, [join(repoRoot, "test", "reference", script)], {
    input: JSON.stringify(request),
    encoding: "utf8",
    maxBuffer: 256 * 2 ** 20,
    env: { ...process.env, OPENBLAS_CORETYPE: "SkylakeX" },
  });
  if (res.status !== 0)
    throw new Error(
      `${script} failed with ${python} (the PyTorch reference; set HERO_PYTHON to a Python with torch): ${res.error?.message ?? res.stderr}`,
    );
  return JSON.parse(res.stdout) as T;
}

/** A character data set as `hero gpt prepare` writes it (shakespeare_char/: 400 tokens of 10 characters), in `data`. */
export function writeTinyCharData(data: string): {
  chars: string[];
  ids: Uint16Array;
  meta: { vocab_size: number; itos: Record<string, string>; stoi: Record<string, number> };
} {
  const chars = "abcdefgh\n ".split("");
  const ids = Uint16Array.from({ length: 400 }, (_, i) => (i * 7) % chars.length);
  mkdirSync(join(data, "shakespeare_char"), { recursive: true });
  writeFileSync(join(data, "shakespeare_char", "train.bin"), new Uint8Array(ids.buffer));
  writeFileSync(join(data, "shakespeare_char", "val.bin"), new Uint8Array(ids.buffer));
  const meta = {
    vocab_size: chars.length,
    itos: Object.fromEntries(chars.map((c, i) => [String(i), c])),
    stoi: Object.fromEntries(chars.map((c, i) => [c, i])),
  };
  writeFileSync(join(data, "shakespeare_char", "meta.json"), JSON.stringify(meta));
  return { chars, ids, meta };
}
