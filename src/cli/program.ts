/** The `hero` command: each area registers its subcommands here. */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { describeCpuKernels, wasmAvailable } from "../backend/wasm/index.js";
import { checkBackendName, prepareBackend, useBackend } from "./backend-option.js";
import { registerBench } from "./commands/bench.js";
import { registerGPT } from "./commands/gpt.js";
import { registerLab } from "./commands/lab.js";
import { registerMakemore } from "./commands/makemore.js";
import { registerMicrograd } from "./commands/micrograd.js";
import { registerPong } from "./commands/pong.js";
import { registerSelftestOps } from "./commands/selftest-ops.js";
import { registerTokenizer } from "./commands/tokenizer.js";

/** Commands whose loops read values with `await`, so they run on webgpu (which cannot read synchronously). */
const ASYNC_CAPABLE = new Set([
  "selftest ops",
  "selftest gpt2",
  "bench",
  "gpt train",
  "gpt sample",
  "gpt2 generate",
  "gpt eval hellaswag",
]);

function checkAsyncCapable(command: Command): void {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  const path = names.join(" ");
  if (!ASYNC_CAPABLE.has(path)) {
    throw new Error(
      `${path} reads values synchronously as it goes, which the webgpu backend cannot (it only reads with await); use --backend wasm or js. On webgpu: ${[...ASYNC_CAPABLE].map((c) => `hero ${c}`).join(", ")}`,
    );
  }
}

/**
 * The CPU backend and where its kernels run: native is a variant of the wasm backend (its hot
 * kernels in C++ on the same memory), not a backend of its own.
 */
function describeCpuBackend(): string {
  const kernels = describeCpuKernels();
  if (!wasmAvailable()) return `CPU backend: ${kernels}`;
  const wasm = `wasm (kernels: ${kernels})`;
  return process.env.HERO_BACKEND === "js"
    ? `CPU backend: js (HERO_BACKEND=js; else ${wasm})`
    : `CPU backend: ${wasm}`;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** A commander error message on one line: "error: unknown command 'sampel' (Did you mean sample?)". */
export function oneLineError(text: string): string {
  return `${text.trim().replace(/\s*\n\s*/g, " ")}\n`;
}

export function createProgram(): Command {
  const program = new Command("hero")
    .description("herograd: Neural Networks: Zero to Hero in TypeScript — train, sample, tokenize, benchmark")
    .version(`${packageVersion()}\n${describeCpuBackend()}`)
    .configureHelp({ showGlobalOptions: true })
    // Commander puts its suggestion on a line of its own ("(Did you mean sample?)"); an error is one
    // line. Subcommands inherit this as they are added.
    .configureOutput({ outputError: (text, write) => write(oneLineError(text)) });

  // `hero selftest ...`: checks against reference files, each ending with "N passed, N failed".
  const selftest = program.command("selftest").description("compare herograd with reference outputs");

  registerMicrograd(program);
  registerBench(program);
  registerTokenizer(program, selftest);
  registerLab(program);
  registerSelftestOps(selftest);
  registerGPT(program, selftest);
  registerMakemore(program);
  registerPong(program);
  // --backend webgpu (or HERO_BACKEND=webgpu) sets up the GPU before the command runs.
  program.hook("preAction", async (_program, command) => {
    // Only commands that compute with tensors take --backend; HERO_BACKEND means nothing to others.
    if (!command.options.some((o) => o.long === "--backend")) return;
    const asked = command.opts().backend as string | undefined;
    const name = asked ?? (process.env.HERO_BACKEND || undefined);
    checkBackendName(name, asked ? "--backend" : "HERO_BACKEND");
    if (name === "webgpu") checkAsyncCapable(command);
    const ready = await prepareBackend(name);
    if (ready === name) {
      if (!asked && name === "webgpu") useBackend(name);
      return;
    }
    if (asked) command.setOptionValue("backend", ready);
    useBackend(ready);
  });
  return program;
}
