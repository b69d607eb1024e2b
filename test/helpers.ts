/** Paths and comparisons shared by the tests. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (tests run compiled, from dist/test). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** ../shared beside the repository, or HERO_SHARED_DIR. */
export const sharedDir = process.env.HERO_SHARED_DIR ?? resolve(repoRoot, "..", "shared");

export const fixturesDir = join(sharedDir, "fixtures");

/** The real data sets: HERO_DATA_DIR (CI sets ../shared/data), else ../shared/data. */
export const dataDir = process.env.HERO_DATA_DIR
  ? resolve(process.env.HERO_DATA_DIR)
  : join(sharedDir, "data");

export function fixture(name: string): string {
  const path = join(fixturesDir, name);
  if (!existsSync(path))
    throw new Error(`fixture ${path} not found: ../shared must sit beside the repository`);
  return path;
}

/** numpy-style allclose for one number: |actual - expected| <= atol + rtol·|expected|. */
export function close(actual: number, expected: number, atol: number, rtol: number): boolean {
  if (!Number.isFinite(expected))
    return Object.is(actual, expected) || (Number.isNaN(expected) && Number.isNaN(actual));
  return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
}

/**
 * Run test/reference/<script> with the PyTorch reference (/usr/bin/python3, or HERO_PYTHON), the
 * request as JSON on stdin; returns its JSON answer.
 */
export function runTorchReference<T>(script: string, request: unknown): T {
  const python = process.env.HERO_PYTHON ?? "/usr/bin/python3";
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
