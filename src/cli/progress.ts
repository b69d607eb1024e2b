/** Progress display for long work: a bar on a terminal, a line every few seconds in a log. */
import cliProgress from "cli-progress";
import { exitIfOrphaned } from "./lifecycle.js";

export interface Progress {
  /** Advance to `value` (absolute) and show the named figures next to the bar. */
  update(value: number, figures?: Record<string, string | number>): void;
  /** Print a line (an evaluation, a sample) above the bar without garbling it. */
  log(line: string): void;
  stop(): void;
}

/** The bars running now: an error anywhere stops them all (their timers would keep Node alive). */
const running = new Set<Progress>();

export function stopAllProgress(): void {
  for (const progress of [...running]) progress.stop();
}

export function startProgress(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% | {figures} | eta {eta_formatted}`,
      stream,
      hideCursor: stream.isTTY === true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 20,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { figures: "" });
  const format = (figures: Record<string, string | number>) =>
    Object.entries(figures)
      .map(([k, v]) => `${k} ${typeof v === "number" ? formatNumber(v) : v}`)
      .join("  ");
  const progress: Progress = {
    update(value, figures) {
      exitIfOrphaned();
      bar.update(value, figures ? { figures: format(figures) } : undefined);
    },
    log(line) {
      // Clear the bar's line, print, and let the next update redraw the bar below.
      if (stream.isTTY) stream.write("\r\x1b[K");
      process.stdout.write(`${line}\n`);
      if (stream.isTTY) bar.render();
    },
    stop() {
      running.delete(progress);
      bar.stop();
    },
  };
  running.add(progress);
  return progress;
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(4);
}
