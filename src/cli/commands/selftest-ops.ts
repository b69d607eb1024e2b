/** `hero selftest ops FILE.json`: every case of an ops.json-format file through the fixture runner. */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import { type OpsFixtureFile, runOpsFixtures } from "../../selftest/index.js";
import { backendNames, currentBackendName, getBackend, setBackend } from "../../tensor/index.js";

interface SelftestOpsOptions {
  backend?: string;
  float64?: boolean;
  filter?: string;
  verbose?: boolean;
}

export function registerSelftestOps(selftest: Command): void {
  selftest
    .command("ops")
    .description(
      "tensor ops, outputs and gradients, against a PyTorch reference file (test/fixtures/ops.json)",
    )
    .argument("<file>", "JSON file in the ops.json format")
    .option("--backend <name>", "backend to run on (default: the current backend)")
    .option("--float64", "compute in float64 instead of float32")
    .option("--filter <text>", "only cases whose name contains this text")
    .option("--verbose", "print passing cases too")
    .action(async (file: string, opts: SelftestOpsOptions) => {
      const backend = opts.backend ?? currentBackendName();
      if (!backendNames().includes(backend)) {
        throw new Error(`unknown backend "${backend}"; available: ${backendNames().join(", ")}`);
      }
      setBackend(backend);
      const text = readFileSync(file, "utf8");
      let parsed: OpsFixtureFile;
      try {
        parsed = JSON.parse(text) as OpsFixtureFile;
      } catch (error) {
        throw new Error(`${file}: not JSON (${(error as Error).message})`);
      }
      if (!Array.isArray(parsed.cases)) {
        throw new Error(`${file} has no "cases" list: not an ops.json-format file`);
      }
      const filter = opts.filter;
      const floatDType = opts.float64 ? "float64" : "float32";
      const stored = getBackend(backend).dtypes;
      if (stored && !stored.includes(floatDType)) {
        throw new Error(`the ${backend} backend has no ${floatDType}; run without --float64`);
      }
      const report = await runOpsFixtures(parsed, {
        backend,
        floatDType,
        ...(filter ? { filter: (c) => c.name.includes(filter) } : {}),
      });
      console.log(
        `${basename(file)}: ${report.results.length} cases on the ${backend} backend in ${floatDType}`,
      );
      for (const r of report.results) {
        if (r.passed) {
          if (opts.verbose) console.log(`ok   ${r.name} (max error ${r.maxError.toExponential(2)})`);
          continue;
        }
        console.log(`FAIL ${r.name} [${r.op}]: largest error ${r.maxError.toExponential(2)}`);
        for (const problem of r.problems) console.log(`     ${problem}`);
      }
      console.log(`${report.passed} passed, ${report.failed} failed`);
      if (report.failed > 0) process.exitCode = 1;
    });
}
