/**
 * How a `hero` process ends: with its parent (the launcher that re-executed it with V8 flags), on
 * Ctrl-C after saving what is safe (exit 130), and quietly when the reader of its output goes away
 * (exit 141, as SIGPIPE ends a Unix tool).
 */
import { constants } from "node:os";

/** Exit code of a process ended by `signal`, as shells report it (SIGINT: 130). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

let launcherPid: number | null = null;

/**
 * In the re-executed worker: end when the launcher is gone (killed with SIGKILL, it cannot pass
 * the signal on). The IPC channel closes with it; long synchronous loops also poll through
 * `exitIfOrphaned` (the progress bars call it).
 */
export function watchLauncher(): void {
  if (!process.send || !process.channel) return;
  launcherPid = process.ppid;
  process.on("disconnect", () => exitAsOrphan());
  // The channel alone must not keep the worker alive.
  process.channel.unref();
}

export function exitIfOrphaned(): void {
  if (launcherPid !== null && process.ppid !== launcherPid) exitAsOrphan();
}

function exitAsOrphan(): never {
  process.exit(signalExitCode("SIGKILL"));
}

/** The stop requests of the work running now under `stoppable`. */
const running = new Set<{ requested: NodeJS.Signals | null }>();
let outputClosed = false;

/**
 * `hero ... | head -1`: the reader left. As a Unix tool killed by SIGPIPE (`yes | head`), end
 * without a stack trace and with exit code 141, at once; but work under `stoppable` (a training
 * run) stops at its next safe point, saved as on Ctrl-C, so that its folder says where it stopped
 * and --resume continues it. Nothing more is written to the closed stream.
 */
export function endQuietlyOnEpipe(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (error: NodeJS.ErrnoException) => {
      // Writes after the reader left fail too ("write after end", a destroyed stream).
      if (outputClosed) return;
      if (error.code !== "EPIPE") throw error;
      outputClosed = true;
      stream.write = (() => true) as typeof stream.write;
      if (running.size === 0) process.exit(signalExitCode("SIGPIPE"));
      for (const stop of running) stop.requested ??= "SIGPIPE";
    });
}

/** What a stopped command says before it exits (on stderr: stdout may be the closed pipe). */
export function stopNote(signal: NodeJS.Signals, where: string, resume: string): string {
  const why = signal === "SIGPIPE" ? "the reader of the output went away" : signal;
  return `stopped at ${where} (${why}); ${resume}`;
}

/** Thrown by a command stopped with Ctrl-C once it has saved what it could. */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals = "SIGINT") {
    super(`stopped by ${signal}`);
  }
}

/**
 * While `work` runs, Ctrl-C (SIGINT, SIGTERM, SIGHUP) sets `stop.requested` instead of killing the
 * process, so the work can end at a safe point (save a checkpoint, then throw `Interrupted`). A
 * second signal more than a second later (the launcher passes on the one the terminal also sent)
 * ends the process at once.
 */
export async function stoppable<T>(
  work: (stop: { requested: NodeJS.Signals | null }) => Promise<T>,
): Promise<T> {
  const stop: { requested: NodeJS.Signals | null } = { requested: null };
  let first = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.requested === null) {
      stop.requested = signal;
      first = Date.now();
    } else if (Date.now() - first > 1000) process.exit(signalExitCode(signal));
  };
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const s of signals) process.on(s, onSignal);
  running.add(stop);
  try {
    return await work(stop);
  } finally {
    running.delete(stop);
    for (const s of signals) process.off(s, onSignal);
  }
}
