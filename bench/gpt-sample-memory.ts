/**
 * bench/gpt-sample-memory: the resident memory of `hero gpt sample` on the shakespeare-char-cpu
 * model (0.8M parameters, block 64) at 1,000 and at 100,000 tokens. Decoding slides the window
 * past the block size and rebuilds the KV cache, freeing every step's tensors, so the peaks should
 * agree within 10%. The model is a short training run of the preset (its weights do not change the
 * memory), or a run of yours with --checkpoint.
 * Usage: hero bench gpt-sample-memory [-- --tokens 100000 --short 1000 --iters 20 --checkpoint DIR --backend wasm]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
});

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
  await trainGPT({ config, outDir: out, dataDir: dataRoot });
  checkpoint = out;
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

/** Run `hero gpt sample --tokens n`, polling its resident memory; the peak and the wall time. */
function sample(tokens: number): Promise<{ peakMB: number; lastMB: number; seconds: number }> {
  const args = [
    join(repoRoot, "dist", "src", "cli", "main.js"),
    "gpt",
    "sample",
    "--checkpoint",
    checkpoint!,
  ];
  args.push("--data-dir", dataRoot, "--tokens", String(tokens), "--seed", "1");
  if (values.backend) args.push("--backend", values.backend);
  const t0 = performance.now();
  // The V8 flags `hero gpt sample` runs with, and no re-execution, so that the process measured
  // is the one doing a user's `hero gpt sample`.
  const child = spawn(process.execPath, [...v8Flags(args.slice(1)), ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, HERO_NO_RESPAWN: "1" },
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  let peak = 0;
  let last = 0;
  const poll = setInterval(() => {
    const kb = residentKB(child.pid!);
    if (kb !== null) {
      peak = Math.max(peak, kb);
      last = kb;
    }
  }, 50);
  return new Promise((resolvePromise, reject) => {
    child.on("exit", (code) => {
      clearInterval(poll);
      if (code !== 0)
        reject(new Error(`hero gpt sample --tokens ${tokens} exited ${code}: ${stderr.trim()}`));
      else
        resolvePromise({
          peakMB: peak / 1024,
          lastMB: last / 1024,
          seconds: (performance.now() - t0) / 1000,
        });
    });
  });
}

const short = Number(values.short);
const long = Number(values.tokens);
const a = await sample(short);
console.log(
  `hero gpt sample --tokens ${short}: peak resident ${a.peakMB.toFixed(1)} MB (last read ${a.lastMB.toFixed(1)} MB), ${a.seconds.toFixed(1)} s`,
);
const b = await sample(long);
console.log(
  `hero gpt sample --tokens ${long}: peak resident ${b.peakMB.toFixed(1)} MB (last read ${b.lastMB.toFixed(1)} MB), ${b.seconds.toFixed(1)} s, ${((1000 * b.seconds) / long).toFixed(2)} ms/token`,
);
if (a.peakMB === 0) console.log("no /proc on this system: resident memory not measured");
else {
  const growth = (b.peakMB - a.peakMB) / a.peakMB;
  console.log(
    `resident memory at ${long} tokens vs ${short}: ${growth >= 0 ? "+" : ""}${(100 * growth).toFixed(1)}% (${Math.abs(growth) <= 0.1 ? "within" : "NOT within"} 10%)`,
  );
}
