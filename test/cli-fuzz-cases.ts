/**
 * The CLI against mutated inputs: a training run's checkpoint folder (checkpoint.json, state.json,
 * model.safetensors, optimizer.safetensors), a data set's meta.json, a Hugging Face config.json and
 * its weights, a makemore checkpoint, a tokenizer model, and the flags of the commands that read
 * them. Each case runs the command in process (the program `hero` parses, its output swallowed),
 * and a few run the real `hero` in a child process. Each must end with a clean result or one error
 * line naming the mutated file or flag (exit code 1 for real runs), within 10 s and 1 GB. The 10 s
 * are CPU time (on a loaded machine a process may wait for a core longer than it works); a case still
 * running after a minute of wall time is stopped and reported, so a hang cannot stall the fuzz.
 * Used by test/cli-fuzz.test.ts (a few hundred cases) and bench/cli-fuzz.ts (10,000).
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { type Command, CommanderError } from "commander";
import { createProgram } from "../src/cli/program.js";
import { releaseOutputFolders } from "../src/cli/run-folder.js";
import { v8Flags } from "../src/cli/v8-flags.js";
import { saveCheckpoint } from "../src/io/checkpoint.js";
import { Random } from "../src/random/index.js";
import { GPT2_SPLIT_PATTERN, RegexTokenizer } from "../src/tokenizer/index.js";
import { applyOverrides, presetConfig } from "../src/train/gpt.js";
import { trainGPT } from "../src/train/gpt-node.js";
import { trainMakemore } from "../src/train/makemore-run.js";
import { mutations } from "./fuzz-mutations.js";
import { fixture, writeTinyCharData } from "./helpers.js";

const hero = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
/** CPU time a case may use. */
export const LIMIT_MS = 10_000;
/** Wall time after which a case is taken for a hang and stopped. */
export const WALL_LIMIT_MS = 60_000;
export const LIMIT_BYTES = 2 ** 30;

/** The inputs every case starts from, written once into a temporary folder. */
interface Inputs {
  root: string;
  data: string;
  run: string;
  hf: string;
  makemore: string;
  tokenizer: string;
}

async function writeInputs(): Promise<Inputs> {
  const root = mkdtempSync(join(tmpdir(), "herograd-cli-fuzz-"));
  // A character data set as `hero gpt prepare` writes it, and a GPT run with one checkpoint.
  const data = join(root, "data");
  writeTinyCharData(data);
  const run = join(root, "run");
  await trainGPT({
    config: applyOverrides(presetConfig("shakespeare-char"), GPT_SETS),
    outDir: run,
    dataDir: data,
  });
  // GPT-2 tiny as Hugging Face writes it.
  const hf = join(root, "hf");
  cpSync(fixture("gpt2_tiny"), hf, { recursive: true });
  // A makemore MLP checkpoint.
  const words = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper"];
  const mm = trainMakemore(words, {
    type: "mlp",
    steps: 2,
    batchSize: 4,
    evalInterval: 10,
    samples: 0,
    nHidden: 16,
  });
  const makemore = join(root, "makemore");
  saveCheckpoint(makemore, {
    weights: mm.model.stateDict(),
    state: {
      kind: "makemore",
      config: mm.config,
      vocab: mm.data.vocab.itos,
      sequenceBlock: mm.data.sequenceBlock,
    },
  });
  // A trained tokenizer.
  const tok = new RegexTokenizer(GPT2_SPLIT_PATTERN);
  tok.train("hello world, the quick brown fox jumps over the lazy dog; hello hello world 123", 256 + 16);
  const tokenizer = join(root, "tok");
  writeFileSync(`${tokenizer}.model`, tok.modelFile());
  return { root, data, run, hf, makemore, tokenizer };
}

const GPT_SETS = [
  "n_layer=1",
  "n_head=2",
  "n_embd=8",
  "block_size=8",
  "batch_size=2",
  "max_iters=1",
  "eval_iters=1",
  "sample_tokens=0",
];

/** The files of the run's current checkpoint (the pointer names it). */
function runFiles(run: string): string[] {
  const ck = readdirSync(run).find((f) => f.startsWith("ckpt-"))!;
  return [
    join(run, "checkpoint.json"),
    ...["state.json", "model.safetensors", "optimizer.safetensors"].map((f) => join(run, ck, f)),
  ];
}

function makemoreFiles(dir: string): string[] {
  const ck = readdirSync(dir).find((f) => f.startsWith("ckpt-"))!;
  return ["state.json", "model.safetensors"].map((f) => join(dir, ck, f));
}

/** A command line: its words, and the option values a flag mutation may replace. */
interface CommandLine {
  args: string[];
  /** Options whose values are mutated, with values to try besides the wild ones. */
  values: Record<string, string[]>;
}

function commands(x: Inputs): Record<string, CommandLine> {
  return {
    sample: {
      args: ["gpt", "sample", "--checkpoint", x.run, "--last", "--data-dir", x.data, "--tokens", "3"],
      values: {
        "--tokens": ["1", "20", "0", "1e12", "10000001"],
        "--temperature": ["0", "0.5", "2", "-1", "1e309"],
        "--top-k": ["0", "1", "5", "-3", "99999999"],
        "--seed": ["7", "-1", "1.5", "1e20"],
        "--num-samples": ["2", "0", "-1", "1001"],
        "--prompt": ["ab", "", "zzz", "\u0000"],
      },
    },
    resume: {
      args: [
        "gpt",
        "train",
        "--preset",
        "shakespeare-char",
        ...GPT_SETS.flatMap((s) => ["--set", s]),
        "--out",
      ],
      values: {},
    },
    generate: {
      args: ["gpt2", "generate", "--weights", x.hf, "--prompt", "!", "--tokens", "3"],
      values: {
        "--tokens": ["1", "40", "0", "1e12"],
        "--top-k": ["0", "3", "-1", "100000"],
        "--temperature": ["0", "1.5", "-2", "NaN"],
        "--seed": ["3", "abc", "-5"],
        "--num-samples": ["2", "0"],
        "--prompt": ["hi", "", "\uffff"],
      },
    },
    makemore: {
      args: ["makemore", "sample", "--checkpoint", x.makemore, "--count", "2"],
      values: {
        "--count": ["1", "5", "0", "-1", "1e9", "10001"],
        "--temperature": ["0.5", "0", "-1", "Infinity"],
        "--seed": ["1", "2.5", "x"],
      },
    },
    encode: {
      args: ["tokenizer", "encode", "--model", x.tokenizer, "hello world 123"],
      values: { "--format": ["json", "space", "xml", ""], "--allowed-special": ["all", "none", "<|x|>", ""] },
    },
    decode: { args: ["tokenizer", "decode", "--model", x.tokenizer, "[104, 101, 32]"], values: {} },
  };
}

const WILD_VALUES = ["", "-1", "0", "1e400", "NaN", "abc", "0x10", "2.5", "9007199254740993", "--", "-"];

/** One case: what to run, the file it mutated (restored afterwards) or the flag it changed. */
interface Case {
  args: string[];
  /** A mutated file (the error must name it) ... */
  file?: string;
  original?: Uint8Array;
  /** ... or a flag (the error must name it). */
  flag?: string;
}

function makeCase(x: Inputs, rng: Random, m: ReturnType<typeof mutations>): Case {
  const cmds = commands(x);
  const resumeArgs = [...cmds.resume!.args, x.run, "--resume", "--data-dir", x.data];
  const kind = rng.randint(0, 12);
  const mutateFile = (file: string): Case => {
    const original = new Uint8Array(readFileSync(file));
    let bytes: Uint8Array;
    if (file.endsWith(".safetensors")) bytes = m.mutateSafetensors(original);
    else if (file.endsWith(".json")) {
      const text = new TextDecoder().decode(original);
      bytes = new TextEncoder().encode(
        rng.random() < 0.3 ? m.breakJson(text) : JSON.stringify(m.mutateJson(JSON.parse(text))),
      );
    } else bytes = new TextEncoder().encode(m.mutateText(new TextDecoder().decode(original)));
    writeFileSync(file, bytes);
    return { args: [], file, original };
  };
  if (kind <= 2) {
    // The run's checkpoint, read by `gpt sample` or a resumed `gpt train`.
    const c = mutateFile(m.pick(runFiles(x.run)));
    c.args = kind === 0 ? resumeArgs : cmds.sample!.args;
    return c;
  }
  if (kind === 3) {
    const c = mutateFile(join(x.data, "shakespeare_char", "meta.json"));
    c.args = resumeArgs;
    return c;
  }
  if (kind <= 5) {
    const c = mutateFile(join(x.hf, kind === 4 || rng.random() < 0.5 ? "config.json" : "model.safetensors"));
    c.args = cmds.generate!.args;
    return c;
  }
  if (kind === 6) {
    const c = mutateFile(m.pick(makemoreFiles(x.makemore)));
    c.args = cmds.makemore!.args;
    return c;
  }
  if (kind === 7) {
    const c = mutateFile(`${x.tokenizer}.model`);
    c.args = rng.random() < 0.5 ? cmds.encode!.args : cmds.decode!.args;
    return c;
  }
  // A flag: a value replaced, a setting of `gpt train --set` changed, an unknown flag, a required one dropped.
  const name = m.pick(["sample", "generate", "makemore", "encode", "resume"] as const);
  const line = name === "resume" ? { args: resumeArgs, values: {} } : cmds[name]!;
  const args = [...line.args];
  const flags = Object.keys(line.values);
  const how = rng.randint(0, 4);
  if (name === "resume" || how === 0) {
    // --set key=value with a wild value (settings are flags too).
    const key = m.pick([
      "block_size",
      "n_layer",
      "n_embd",
      "batch_size",
      "max_iters",
      "eval_iters",
      "sample_tokens",
    ]);
    // Iteration counts take no huge values: a run asked for 1e12 steps is a long run, not a bad input.
    const iterations = key === "max_iters" || key === "eval_iters";
    const value = m.pick([...WILD_VALUES, "1", "2", "-5", ...(iterations ? [] : ["2000000", "1e12"])]);
    const set = ["--set", `${key}=${value}`];
    if (name === "resume") args.splice(args.indexOf("--out"), 0, ...set);
    else {
      // Other commands have no --set: the error names it.
      args.push(...set);
      return { args, flag: "--set" };
    }
    return { args, flag: key };
  }
  if (how === 1 && flags.length > 0) {
    const flag = m.pick(flags);
    const value = rng.random() < 0.5 ? m.pick(line.values[flag]!) : m.pick(WILD_VALUES);
    const at = args.indexOf(flag);
    if (at >= 0) args[at + 1] = value;
    else args.push(flag, value);
    return { args, flag };
  }
  if (how === 2) {
    const flag = m.pick(["--bogus", "--tokens", "--checkpoint", "--weights", "--model"]);
    args.push(flag);
    return { args, flag };
  }
  // Drop a flag and its value.
  const at = args.findIndex((a, i) => i > 1 && a.startsWith("--") && !["--last", "--resume"].includes(a));
  const flag = args[at]!;
  args.splice(at, 2);
  return { args, flag };
}

/** Every subcommand throws instead of exiting; its errors go to `errors` (as `hero` would print them), the rest nowhere. */
function quiet(command: Command, errors: string[]): Command {
  command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: (text) => errors.push(text) });
  for (const sub of command.commands) quiet(sub, errors);
  return command;
}

/** What the error (or the real run's error line) must name. */
function expected(c: Case): string[] {
  // A setting is named as typed (max_iters) or as the config's field (maxIters).
  if (c.flag) return [c.flag, c.flag.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase())];
  const file = c.file!;
  // A checkpoint's files are named by their path; its pointer by the run folder.
  // Tokenizer models are named with the line at fault: "tok.model:7: ...".
  return [file, basename(file) === "checkpoint.json" ? dirname(file) : `${basename(file)}:`];
}

export interface FuzzReport {
  cases: number;
  ok: number;
  errors: number;
  cliRuns: number;
  /** The longest case in wall time, and in CPU time. */
  slowestMs: number;
  slowestCpuMs: number;
  peakRssMB: number;
  failures: string[];
  /** Error messages by kind (digits folded), for reading what the fuzz reached. */
  messages: Map<string, number>;
}

/** Run `cases` in-process cases and `cliRuns` real `hero` runs (every cases/cliRuns-th case). */
export async function fuzzCli(
  { cases, cliRuns, seed = 23 }: { cases: number; cliRuns: number; seed?: number },
  log: (line: string) => void = () => {},
): Promise<FuzzReport> {
  const inputs = await writeInputs();
  const rng = new Random(seed);
  const m = mutations(rng);
  const report: FuzzReport = {
    cases: 0,
    ok: 0,
    errors: 0,
    cliRuns: 0,
    slowestMs: 0,
    slowestCpuMs: 0,
    peakRssMB: 0,
    failures: [],
    messages: new Map(),
  };
  const every = cliRuns > 0 ? Math.max(1, Math.floor(cases / cliRuns)) : Number.POSITIVE_INFINITY;
  const baseRss = process.memoryUsage().rss;
  const write = {
    out: process.stdout.write,
    err: process.stderr.write,
    log: console.log,
    error: console.error,
  };
  const watchdog = startWatchdog();
  try {
    for (let i = 0; i < cases; i++) {
      const c = makeCase(inputs, rng, m);
      const real = i % every === 0 && report.cliRuns < cliRuns;
      if (process.env.FUZZ_DEBUG) log(`case ${i}: ${c.args.join(" ")} (${c.file ?? c.flag})`);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      let failure: string | null = null;
      let cpuMs = 0;
      try {
        if (real) {
          report.cliRuns++;
          ({ failure, cpuMs } = await realRun(c, report));
        } else {
          watchdog.postMessage({ serial: i, what: c.args.join(" ") });
          process.stdout.write = process.stderr.write = () => true;
          console.log = console.error = () => {};
          const printed: string[] = [];
          try {
            await quiet(createProgram(), printed).parseAsync(["node", "hero", ...c.args]);
            report.ok++;
          } catch (error) {
            // The parser's errors as the user sees them; an action's error as main.ts prints it.
            const message =
              error instanceof CommanderError ? printed.join("") : String((error as Error)?.message ?? error);
            failure = judge(c, message.replace(/\n$/, ""), report);
          } finally {
            watchdog.postMessage({ serial: null });
            const cpu = process.cpuUsage(cpu0);
            cpuMs = (cpu.user + cpu.system) / 1000;
            // The command has ended: its output folder is free, as when `hero` exits.
            releaseOutputFolders();
            Object.assign(process.stdout, { write: write.out });
            Object.assign(process.stderr, { write: write.err });
            console.log = write.log;
            console.error = write.error;
          }
        }
      } finally {
        if (c.file) writeFileSync(c.file, c.original!);
      }
      const ms = performance.now() - t0;
      report.slowestMs = Math.max(report.slowestMs, ms);
      report.slowestCpuMs = Math.max(report.slowestCpuMs, cpuMs);
      if (ms > WALL_LIMIT_MS) failure = `ran ${ms.toFixed(0)} ms (stopped as a hang)`;
      else if (cpuMs > LIMIT_MS) failure ??= `used ${cpuMs.toFixed(0)} ms of CPU time`;
      const rss = process.memoryUsage().rss;
      report.peakRssMB = Math.max(report.peakRssMB, rss / 2 ** 20);
      if (rss - baseRss > LIMIT_BYTES)
        failure ??= `resident memory grew by ${((rss - baseRss) / 2 ** 20).toFixed(0)} MB`;
      report.cases++;
      if (failure) {
        report.failures.push(
          `case ${i} (${real ? "hero " : ""}${c.args.join(" ")}; ${c.file ?? c.flag}): ${failure}`,
        );
        if (report.failures.length >= 10) break;
      }
      if (process.env.FUZZ_DEBUG)
        log(
          `${i} ${ms.toFixed(0)} ms ${real ? "hero " : ""}${c.args.slice(0, 2).join(" ")}, resident ${(rss / 2 ** 20).toFixed(0)} MB, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB`,
        );
      if ((i + 1) % 500 === 0)
        log(`${i + 1} cases: ${report.ok} ran, ${report.errors} errors, ${report.cliRuns} real runs`);
    }
  } finally {
    await watchdog.terminate();
    rmSync(inputs.root, { recursive: true, force: true });
  }
  return report;
}

/**
 * A thread that watches the case running in process (the main thread may be stuck in it): past
 * WALL_LIMIT_MS it names the case on stderr and sends SIGTERM (a training run stops at its next
 * step, as on Ctrl-C, and the case fails); if that does not end it within 30 s, SIGKILL.
 */
function startWatchdog(): Worker {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { writeSync } = require("node:fs");
    let current = null;
    parentPort.on("message", (m) => { current = m.serial === null ? null : { ...m, since: Date.now(), signalled: 0 }; });
    setInterval(() => {
      if (current === null) return;
      const ms = Date.now() - current.since;
      const signal = ms > workerData.limit + 30000 ? "SIGKILL" : ms > workerData.limit ? "SIGTERM" : null;
      if (signal === null || current.signalled === signal) return;
      current.signalled = signal;
      writeSync(2, "cli-fuzz: case " + current.serial + " has run for " + Math.round(ms / 1000) + " s, sending " + signal + ": " + current.what + "\\n");
      process.kill(process.pid, signal);
    }, 1000);
  `;
  const worker = new Worker(code, { eval: true, workerData: { limit: WALL_LIMIT_MS } });
  worker.unref();
  return worker;
}

/** An error is fine when it is one line naming what was mutated; returns why not, or null. */
function judge(c: Case, message: string, report: FuzzReport): string | null {
  report.errors++;
  const kind = message
    .replaceAll(/\/tmp\/[^\s:"']+/g, "PATH")
    .replaceAll(/[0-9]+/g, "N")
    .slice(0, 100);
  report.messages.set(kind, (report.messages.get(kind) ?? 0) + 1);
  if (message.trim().includes("\n")) return `a message of several lines: ${message}`;
  if (!expected(c).some((name) => message.includes(name)))
    return `the error does not name ${expected(c)[0]}: ${message}`;
  return null;
}

/** CPU time (user + system) of a running process from /proc, in ms; null where there is none. */
function cpuTimeMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime, in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** The real `hero` in a child process: exit 0, or 1 with one error line naming the input; time and memory bounded. */
function realRun(c: Case, report: FuzzReport): Promise<{ failure: string | null; cpuMs: number }> {
  return new Promise((resolve) => {
    // `hero`'s V8 flags, given directly so that the measured process is the one doing the work.
    const child = spawn(process.execPath, [...v8Flags(c.args), hero, ...c.args], {
      env: { ...process.env, HERO_NO_RESPAWN: "1", NO_COLOR: "1" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    let peak = 0;
    let cpuMs = 0;
    let killed: string | null = null;
    const poll = setInterval(() => {
      try {
        const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (kb) peak = Math.max(peak, Number(kb[1]) * 1024);
      } catch {
        // exited, or no /proc
      }
      cpuMs = cpuTimeMs(child.pid!) ?? cpuMs;
      if (cpuMs > LIMIT_MS && killed === null) {
        killed = `used over ${LIMIT_MS} ms of CPU time`;
        child.kill("SIGKILL");
      }
    }, 50);
    const timer = setTimeout(() => {
      killed ??= `ran over ${WALL_LIMIT_MS} ms (a hang?)`;
      child.kill("SIGKILL");
    }, WALL_LIMIT_MS);
    const done = (failure: string | null) => resolve({ failure, cpuMs });
    child.on("exit", (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (peak > LIMIT_BYTES) return done(`used ${(peak / 2 ** 20).toFixed(0)} MB`);
      if (killed) return done(killed);
      if (signal) return done(`killed by ${signal}`);
      if (code === 0) {
        report.ok++;
        return done(null);
      }
      if (code !== 1) return done(`exit code ${code}: ${stderr}`);
      // The error line: "hero: ..." from an action, "error: ..." from the option parser (its usage follows).
      const lines = stderr.split("\n").filter((l) => /^(hero|error):/.test(l));
      if (/^\(Did you mean/m.test(stderr)) return done(`a suggestion on a line of its own: ${stderr}`);
      if (lines.length !== 1) return done(`${lines.length} error lines: ${stderr}`);
      done(judge(c, lines[0]!, report));
    });
  });
}
