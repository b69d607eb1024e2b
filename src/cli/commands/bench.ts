import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Command } from "commander";
import { describeCpuKernels } from "../../backend/wasm/index.js";
import { useBackend } from "../backend-option.js";

/** Compiled benchmarks live in dist/bench, beside dist/src. */
const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "bench");

function listBenchmarks(): string[] {
  if (!existsSync(benchDir)) return [];
  return readdirSync(benchDir)
    .filter((f) => f.endsWith(".js") && f !== "util.js")
    .map((f) => f.slice(0, -3))
    .sort();
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("run a benchmark from bench/ (prints its figures and the reference's, with the ratio)")
    .argument("[name]", "benchmark name; omit to list them")
    .argument("[args...]", "options for the benchmark, after -- (e.g. hero bench train-step -- --steps 50)")
    .option(
      "--backend <name>",
      "only this tensor backend (js, wasm or webgpu) where the benchmark runs several",
    )
    .action(async (name: string | undefined, args: string[], opts: { backend?: string }) => {
      useBackend(opts.backend);
      const names = listBenchmarks();
      if (!name) {
        console.log(names.length > 0 ? names.join("\n") : `no benchmarks found in ${benchDir}`);
        return;
      }
      if (!names.includes(name)) {
        throw new Error(
          `unknown benchmark "${name}"; available: ${names.join(", ") || "none (run npm run build)"}`,
        );
      }
      const file = join(benchDir, `${name}.js`);
      console.log(`herograd CPU kernels: ${describeCpuKernels()}`);
      // Benchmarks read their options from process.argv, as when run with node directly.
      process.argv = [process.argv[0]!, file, ...args];
      await import(pathToFileURL(file).href);
    });
}
