/**
 * The engine's thread. A page starts one worker per run: the experiment's loop runs here, so the
 * page stays responsive however long a step takes. Events are batched and posted at each tick.
 */
import { findLesson } from "../../lessons/index.js";
import { type LabContext, type LabEvent, type Lesson, StopRun } from "../../lessons/lesson.js";
import type { FromWorker, ToWorker } from "./protocol.js";

let pace = 0;
let paused = false;
let wake: (() => void) | undefined;
let batch: LabEvent[] = [];

function post(message: FromWorker): void {
  self.postMessage(message);
}

function flush(): void {
  if (batch.length === 0) return;
  post({ type: "events", events: batch });
  batch = [];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let lastTick = performance.now();
const context: LabContext = {
  emit(event) {
    batch.push(event);
  },
  async tick() {
    flush();
    const wait = pace - (performance.now() - lastTick);
    await sleep(Math.max(0, wait)); // also lets pause / resume / pace messages in
    while (paused) await new Promise<void>((resolve) => (wake = resolve));
    lastTick = performance.now();
  },
};

async function load(id: string): Promise<Lesson> {
  const entry = findLesson(id);
  if (!entry) throw new Error(`no lesson "${id}"`);
  return entry.load();
}

async function run(message: Extract<ToWorker, { type: "run" }>): Promise<void> {
  const started = performance.now();
  try {
    const lesson =
      message.lesson === "_gallery" ? (await import("./gallery.js")).gallery : await load(message.lesson);
    const experiment = lesson.sections.find((s) => s.id === message.section)?.experiment;
    if (!experiment) throw new Error(`lesson ${lesson.id} has no experiment in section "${message.section}"`);
    pace = message.pace;
    paused = false;
    lastTick = performance.now();
    await experiment.run(message.params, context);
    flush();
    post({ type: "done", ms: performance.now() - started });
  } catch (error) {
    flush();
    if (error instanceof StopRun) return;
    post({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const message = e.data;
  switch (message.type) {
    case "run":
      void run(message);
      break;
    case "pause":
      paused = true;
      post({ type: "paused" });
      break;
    case "resume":
      paused = false;
      wake?.();
      post({ type: "resumed" });
      break;
    case "pace":
      pace = message.ms;
      break;
  }
};
