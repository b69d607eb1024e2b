/** Messages between a lesson page and the worker that runs its experiment. */
import type { LabEvent, Params, Target } from "../../lessons/lesson.js";

export type ToWorker =
  | { type: "run"; lesson: string; section: string; params: Params; pace: number }
  | { type: "pause" }
  | { type: "resume" }
  /** Minimum milliseconds per tick, so a fast run can be watched (0: as fast as it goes). */
  | { type: "pace"; ms: number }
  /** End the run at its next tick, keeping the worker (and what the run built) for selections. */
  | { type: "stop" }
  /** The learner clicked an element of a selectable figure, or an action of its detail. */
  | { type: "select"; figure: string; target: Target; action?: string };

export type FromWorker =
  | { type: "events"; events: LabEvent[] }
  /** Which backend runs the experiment, with how many threads (shown beside the status). */
  | { type: "backend"; name: string; threads: number; text: string }
  | { type: "paused" }
  | { type: "resumed" }
  | { type: "done"; ms: number }
  /** The run ended at a tick after a "stop". */
  | { type: "stopped" }
  | { type: "error"; message: string }
  /** A selection could not be answered (the run goes on). */
  | { type: "select-error"; message: string };
