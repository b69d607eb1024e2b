/**
 * How a `hero` process ends: with its parent (the launcher that re-executed it with V8 flags), on
 * Ctrl-C after saving what is safe (exit 130), and quietly when the reader of its output goes away.
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

/** `hero ... | head -1`: the reader left, so there is nobody to tell; end without a stack trace. */
export function endQuietlyOnEpipe(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(0);
      throw error;
    });
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
  try {
    return await work(stop);
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
