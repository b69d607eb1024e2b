import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fixture, opsFixtureCases, repoRoot } from "./helpers.js";

const hero = join(repoRoot, "dist", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "hero-selftest-ops-"));
after(() => rmSync(work, { recursive: true, force: true }));

function run(...args: string[]) {
  const res = spawnSync(process.execPath, [hero, ...args], { encoding: "utf8", cwd: work });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

test("hero selftest ops passes all of ops.json and ends with the count line", () => {
  const res = run("selftest", "ops", fixture("ops.json"));
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.equal(res.stdout.trim().split("\n").at(-1), `${opsFixtureCases()} passed, 0 failed`);
});

test("hero selftest ops names each failing case with its largest error and exits non-zero", () => {
  const file = JSON.parse(readFileSync(fixture("ops.json"), "utf8")) as {
    cases: { name: string; output: { data: number[] } }[];
  };
  file.cases[0]!.output.data[0]! += 0.5;
  const bad = join(work, "bad.json");
  writeFileSync(bad, JSON.stringify(file));
  const res = run("selftest", "ops", bad);
  assert.equal(res.status, 1);
  assert.match(res.stdout, new RegExp(`FAIL ${file.cases[0]!.name} \\[add\\]: largest error 5\\.00e-1`));
  assert.equal(res.stdout.trim().split("\n").at(-1), `${file.cases.length - 1} passed, 1 failed`);
});
