/**
 * bench/cli-fuzz: test/cli-fuzz.test.ts at full size: 10,000 mutated CLI inputs (checkpoint
 * folders, meta.json, config.json, makemore checkpoints, tokenizer models, flags) run in process,
 * 200 of them as real `hero` processes; prints how many ran, how many ended with an error naming
 * the file or flag, the slowest case, the peak memory, the kinds of errors and any failure.
 * Usage: hero bench cli-fuzz [-- --cases 10000 --cli-runs 200 --seed 23]
 */
import "../src/backend/select.js";
import { fuzzCli } from "../test/cli-fuzz-cases.js";
import { benchArgs } from "./util.js";

const { values } = benchArgs({
  cases: { type: "string", default: "10000" },
  "cli-runs": { type: "string", default: "200" },
  seed: { type: "string", default: "23" },
});
const t0 = performance.now();
const report = await fuzzCli(
  { cases: Number(values.cases), cliRuns: Number(values["cli-runs"]), seed: Number(values.seed) },
  (line) => console.log(line),
);
console.log(
  `${report.cases} cases (${report.cliRuns} real hero runs) in ${((performance.now() - t0) / 1000).toFixed(0)} s: ` +
    `${report.ok} ran, ${report.errors} ended with an error naming the file or flag; slowest ${report.slowestMs.toFixed(0)} ms (CPU ${report.slowestCpuMs.toFixed(0)} ms), ` +
    `peak resident ${report.peakRssMB.toFixed(0)} MB`,
);
console.log("errors by kind:");
for (const [kind, n] of [...report.messages].sort((a, b) => b[1] - a[1]))
  console.log(`${String(n).padStart(6)}  ${kind}`);
console.log(report.failures.length === 0 ? "no failures" : `FAILURES:\n${report.failures.join("\n")}`);
if (report.failures.length > 0) process.exitCode = 1;
