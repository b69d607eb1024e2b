/**
 * bench/gpt-sample-memory: the memory of long generation, at 1,000 and at 100,000 tokens, of
 * `hero gpt sample` on the shakespeare-char-cpu model (0.8M parameters, block 64) and of
 * `hero gpt2 generate` on the tiny GPT-2 of test/fixtures (block 32). Decoding slides the window
 * past the block size and rebuilds the KV cache, freeing every step's tensors, so the peaks should
 * agree within 10%. Besides the peak resident memory, each run reports at its exit where the memory
 * is: the V8 heap (and what is live in it after a full collection), memory outside it (external,
 * array buffers) and the live tensors. The char model is a short training run of the preset (its
 * weights do not change the memory), or a run of yours with --checkpoint.
 * Usage: hero bench gpt-sample-memory [-- --tokens 100000 --short 1000 --iters 20 --checkpoint DIR
 *        --backend wasm --command sample|generate|both]
 */
import "../src/backend/select.js";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { v8Flags } from "../src/cli/v8-flags.js";
import { applyOverrides, presetConfig } from "../src/train/gpt.js";
import { prepareDataset, trainGPT } from "../src/train/gpt-node.js";
import { benchArgs, repoRoot } from "./util.js";

const { values } = benchArgs({
  tokens: { type: "string", default: "100000" },
  short: { type: "string", default: "1000" },
  iters: { type: "string", default: "20" },
  checkpoint: { type: "string" },
  backend: { type: "string" },
  command: { type: "string", default: "both" },
});
if (!["sample", "generate", "both"].includes(values.command))
  throw new Error(`--command must be sample, generate or both, got "${values.command}"`);

/** The hero command lines measured, by name. */
const commands: [string, string[]][] = [];

if (values.command !== "generate") {
  // Prepared afresh into a temporary folder: HERO_DATA_DIR may be read-only.
  const dataRoot = mkdtempSync(join(tmpdir(), "hero-bench-data-"));
  process.on("exit", () => rmSync(dataRoot, { recursive: true, force: true }));
  await prepareDataset("shakespeare-char", join(dataRoot, "shakespeare_char"));
  let checkpoint = values.checkpoint;
  if (!checkpoint) {
    const out = mkdtempSync(join(tmpdir(), "hero-bench-sample-"));
    process.on("exit", () => rmSync(out, { recursive: true, force: true }));
    const config = applyOverrides(presetConfig("shakespeare-char-cpu"), [
      `max_iters=${values.iters}`,
      "eval_iters=2",
      "sample_tokens=0",
    ]);
    // A fresh folder the training run claims (mkdtemp made it; it is empty).
    await trainGPT({ config, outDir: out, dataDir: dataRoot });
    checkpoint = out;
  }
  commands.push(["hero gpt sample", ["gpt", "sample", "--checkpoint", checkpoint, "--data-dir", dataRoot]]);
}
if (values.command !== "sample") {
  // "!" is GPT-2 token 0, inside the tiny model's vocabulary of 64.
  const weights = join(repoRoot, "test", "fixtures", "gpt2_tiny");
  commands.push(["hero gpt2 generate (tiny)", ["gpt2", "generate", "--weights", weights, "--prompt", "!"]]);
}

/** Read a process's resident memory (kB) from /proc; null where there is no /proc. */
function residentKB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Where the memory is when the command exits (written by the probe below). */
interface ExitMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  /** The V8 heap still in use after a full collection: what the process really holds. */
  heapLive: number;
  external: number;
  arrayBuffers: number;
  tensors: number;
  tensorBytes: number;
}

/**
 * Loaded into the measured process with --import: at exit it writes its memory, split, to stderr.
 * The tensor module is the one the CLI uses (same URL, same instance).
 */
const probe = `
import { writeSync } from "node:fs";
const { memoryStats } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, "dist", "src", "tensor", "index.js")).href)});
process.on("exit", () => {
  const m = process.memoryUsage();
  globalThis.gc?.();
  const live = process.memoryUsage().heapUsed;
  const t = Object.values(memoryStats()).reduce((a, s) => ({ buffers: a.buffers + s.buffers, bytes: a.bytes + s.bytes }), { buffers: 0, bytes: 0 });
  writeSync(2, "memory-probe " + JSON.stringify({ ...m, heapLive: live, tensors: t.buffers, tensorBytes: t.bytes }) + "\\n");
});
`;

interface Run {
  peakMB: number;
  seconds: number;
  exit: ExitMemory;
}

/** Run the command with `--tokens n`, polling its resident memory. */
function run(args: string[], tokens: number): Promise<Run> {
  const cli = [
    join(repoRoot, "dist", "src", "cli", "main.js"),
    ...args,
    "--tokens",
    String(tokens),
    "--seed",
    "1",
  ];
  if (values.backend) cli.push("--backend", values.backend);
  const t0 = performance.now();
  // The V8 flags hero runs the command with, and no re-execution, so that the process measured is
  // the one doing the user's work; --expose-gc only lets the probe collect at exit.
  const flags = [
    ...v8Flags(args),
    "--expose-gc",
    "--import",
    `data:text/javascript,${encodeURIComponent(probe)}`,
  ];
  const child = spawn(process.execPath, [...flags, ...cli], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, HERO_NO_RESPAWN: "1" },
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  let peak = 0;
  const poll = setInterval(() => {
    const kb = residentKB(child.pid!);
    if (kb !== null) peak = Math.max(peak, kb);
  }, 50);
  return new Promise((resolvePromise, reject) => {
    child.on("exit", (code) => {
      clearInterval(poll);
      const line = /^memory-probe (.*)$/m.exec(stderr);
      if (code !== 0 || !line)
        reject(
          new Error(`${args.slice(0, 2).join(" ")} --tokens ${tokens} exited ${code}: ${stderr.trim()}`),
        );
      else
        resolvePromise({
          peakMB: Math.max(peak / 1024, (JSON.parse(line[1]!) as ExitMemory).rss / 2 ** 20),
          seconds: (performance.now() - t0) / 1000,
          exit: JSON.parse(line[1]!) as ExitMemory,
        });
    });
  });
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

function describe(name: string, tokens: number, r: Run): string {
  const e = r.exit;
  return (
    `${name} --tokens ${tokens}: peak resident ${r.peakMB.toFixed(1)} MB, ${r.seconds.toFixed(1)} s ` +
    `(${((1000 * r.seconds) / tokens).toFixed(2)} ms/token); at exit: V8 heap ${mb(e.heapUsed)} used of ${mb(e.heapTotal)} ` +
    `(${mb(e.heapLive)} live after a full collection), external ${mb(e.external)}, array buffers ${mb(e.arrayBuffers)}, ` +
    `outside the V8 heap ${mb(e.rss - e.heapTotal)}, ${e.tensors} live tensors (${mb(e.tensorBytes)})`
  );
}

const short = Number(values.short);
const long = Number(values.tokens);
for (const [name, args] of commands) {
  const a = await run(args, short);
  console.log(describe(name, short, a));
  const b = await run(args, long);
  console.log(describe(name, long, b));
  const growth = (b.peakMB - a.peakMB) / a.peakMB;
  console.log(
    `${name}: resident memory at ${long} tokens vs ${short}: ${growth >= 0 ? "+" : ""}${(100 * growth).toFixed(1)}% ` +
      `(${Math.abs(growth) <= 0.1 ? "within" : "NOT within"} 10%); live heap ${mb(a.exit.heapLive)} → ${mb(b.exit.heapLive)}, ` +
      `live tensors ${a.exit.tensors} → ${b.exit.tensors}`,
  );
}
