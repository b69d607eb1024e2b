/**
 * The CLI's inputs mutated (seeded): checkpoint folders, meta.json, config.json, a makemore
 * checkpoint, a tokenizer model and flags, each command run in process, and a few as real `hero`
 * processes. Each ends with a clean result or one error line naming the mutated file or flag (exit
 * code 1), within 10 s and 1 GB. 120 cases (4 real runs) here; `hero bench cli-fuzz` runs 10,000
 * with 200 real runs.
 */
import "../src/backend/select.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { fuzzCli } from "./cli-fuzz-cases.js";

test("120 mutated CLI inputs (4 of them real hero runs): a result, or one error line naming the file or flag", {
  timeout: 600_000,
}, async () => {
  const report = await fuzzCli({ cases: 120, cliRuns: 4 });
  assert.deepEqual(report.failures, []);
  assert.equal(report.cases, 120);
  assert.equal(report.cliRuns, 4);
  // Both outcomes are reached: the mutations are not all fatal, nor all harmless.
  assert.ok(report.ok > 10 && report.errors > 10, `${report.ok} ran, ${report.errors} errors`);
});
