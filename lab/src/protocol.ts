/** Messages between a lesson page and the worker that runs its experiment. */
import type { LabEvent, Params } from "../../lessons/lesson.js";

export type ToWorker =
  | { type: "run"; lesson: string; section: string; params: Params; pace: number }
  | { type: "pause" }
  | { type: "resume" }
  /** Minimum milliseconds per tick, so a fast run can be watched (0: as fast as it goes). */
  | { type: "pace"; ms: number };

export type FromWorker =
  | { type: "events"; events: LabEvent[] }
  /** Which backend runs the experiment, with how many threads (shown beside the status). */
  | { type: "backend"; name: string; threads: number; text: string }
  | { type: "paused" }
  | { type: "resumed" }
  | { type: "done"; ms: number }
  | { type: "error"; message: string };
