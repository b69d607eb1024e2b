#!/usr/bin/env node
/**
 * Entry point of `hero`. It re-runs itself once with the V8 flags herograd wants for the command
 * (v8-flags.ts), unless they are already set.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { endQuietlyOnEpipe, Interrupted, signalExitCode, watchLauncher } from "./lifecycle.js";
import { v8Flags } from "./v8-flags.js";

const missing = v8Flags(process.argv.slice(2)).filter(
  (flag) => !process.execArgv.some((a) => a.startsWith(flag.split("=")[0]!)),
);
if (missing.length > 0 && !process.env.HERO_NO_RESPAWN) {
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...missing, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    // The IPC channel tells the worker when this process is gone, even killed with SIGKILL.
    { stdio: ["inherit", "inherit", "inherit", "ipc"], env: { ...process.env, HERO_NO_RESPAWN: "1" } },
  );
  // Pass stop signals on, so that stopping `hero` stops the real work (a lab server, a training run).
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
  const [code, signal] = (await new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (c, s) => resolve([c, s]));
  })) as [number | null, NodeJS.Signals | null];
  process.exit(code ?? (signal ? signalExitCode(signal) : 1));
}

watchLauncher();
endQuietlyOnEpipe();
// The CPU backends, registered and the default chosen before any command runs (webgpu: --backend).
await import("../backend/select.js");
const { createProgram } = await import("./program.js");
const { stopAllProgress } = await import("./progress.js");
try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  // Progress bars (and their timers) stop, so that the process ends with its error.
  stopAllProgress();
  if (error instanceof Interrupted) process.exit(signalExitCode(error.signal));
  // A clear one-line message for mistakes a user can fix; the stack only when asked for.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`hero: ${message}`);
  if (process.env.HERO_DEBUG && error instanceof Error) console.error(error.stack);
  process.exit(1);
}
