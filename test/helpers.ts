/** Paths and comparisons shared by the tests. */
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
