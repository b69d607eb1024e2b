/**
 * The engine's thread. A page starts one worker per run: the experiment's loop runs here, so the
 * page stays responsive however long a step takes. Events are batched: posted at each tick when a
 * run is paced to be watched, about once a frame when it runs at full speed.
 */
import { findLesson } from "../../lessons/index.js";
import {
  type LabContext,
  type LabEvent,
  type Lesson,
  type SelectHandler,
  StopRun,
} from "../../lessons/lesson.js";
import { JsBackend } from "../../src/backend/js/index.js";
import { WasmBackend, wasmAvailable } from "../../src/backend/wasm/index.js";
import { createWebGpuBackend } from "../../src/backend/webgpu/index.js";
import { registerBackend, setBackend } from "../../src/tensor/index.js";
import type { FromWorker, ToWorker } from "./protocol.js";

let pace = 0;
let paused = false;
let stopping = false;
/** A run is in progress: pause and resume are answered only then (one may cross a run's end). */
let running = false;
let wake: (() => void) | undefined;
let batch: LabEvent[] = [];
/** The current run's answers to clicks on its figures, by figure id. */
let handlers = new Map<string, SelectHandler>();

function post(message: FromWorker): void {
  self.postMessage(message);
}

/**
 * Post the batch. A figure replaced within one batch is sent once, its last version in the place
 * of its first (a game drawn at every step of a fast run need not cross to the page at every
 * step, and a new figure keeps its place among the others).
 */
function flush(): void {
  if (batch.length === 0) return;
  const first = new Map<string, number>();
  const events: (LabEvent | null)[] = [];
  for (const e of batch) {
    const at = e.type === "figure" ? first.get(e.figure.id) : undefined;
    if (at !== undefined) {
      events[at] = e;
      events.push(null);
    } else {
      if (e.type === "figure") first.set(e.figure.id, events.length);
      events.push(e);
    }
  }
  post({ type: "events", events: events.filter((e) => e !== null) });
  batch = [];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Hand control to the event loop at once (so pause / resume / pace messages get in). A message
 * on a channel, not setTimeout(0), which browsers clamp to 4 ms once timers nest.
 */
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldNow = () =>
  new Promise<void>((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(0);
  });

/** At full speed the page is told what happened about once a frame, not at every step. */
const FRAME_MS = 16;

let lastTick = performance.now();
let lastYield = performance.now();
const context: LabContext = {
  emit(event) {
    batch.push(event);
  },
  async tick() {
    if (pace > 0) {
      flush();
      await sleep(Math.max(0, pace - (performance.now() - lastTick)));
    } else if (performance.now() - lastYield >= FRAME_MS) {
      flush();
      await yieldNow();
      lastYield = performance.now();
    }
    while (paused && !stopping) {
      flush();
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (stopping) throw new StopRun();
    lastTick = performance.now();
  },
  onSelect(figure, handler, hint) {
    handlers.set(figure, handler);
    batch.push(hint === undefined ? { type: "selectable", figure } : { type: "selectable", figure, hint });
  },
};

/** Answer a click with the handler the run registered; the run itself goes on. */
async function select(message: Extract<ToWorker, { type: "select" }>): Promise<void> {
  const handler = handlers.get(message.figure);
  try {
    if (!handler) throw new Error(`figure "${message.figure}" answers no clicks`);
    await (message.action === undefined ? handler(message.target) : handler(message.target, message.action));
  } catch (error) {
    post({ type: "select-error", message: error instanceof Error ? error.message : String(error) });
  } finally {
    flush();
  }
}

/**
 * The fastest backend this page can run: WebGPU for an experiment that reads only with await
 * (`webgpu: true`) where the browser has an adapter; else wasm with a thread per core where the
 * page is cross-origin isolated (shared memory), wasm on this thread alone where it is not, js
 * without WebAssembly SIMD. Chosen once per worker (a panel keeps its worker), before its first run.
 */
let backendChoice: Promise<Extract<FromWorker, { type: "backend" }>> | undefined;

// This worker is an entry of its own: it registers the backends itself (not src/backend/select.ts,
// which would start a wasm backend with Node's defaults before the page's thread count is known).
registerBackend("js", () => new JsBackend());

async function chooseBackend(wantsGpu: boolean): Promise<Extract<FromWorker, { type: "backend" }>> {
  let noGpu = "";
  if (wantsGpu) {
    const gpu = (navigator as { gpu?: GPU }).gpu;
    const backend = gpu ? await createWebGpuBackend(gpu).catch(() => null) : null;
    if (backend) {
      registerBackend("webgpu", () => backend);
      setBackend("webgpu");
      return { type: "backend", name: "webgpu", threads: 1, text: `engine: webgpu (${backend.description})` };
    }
    noGpu = gpu ? ", no WebGPU adapter" : ", no WebGPU in this browser";
  }
  if (!wasmAvailable()) {
    setBackend("js");
    return { type: "backend", name: "js", threads: 1, text: `engine: js (no WebAssembly SIMD here${noGpu})` };
  }
  const isolated = (self as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const threads = isolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
  registerBackend("wasm", () => new WasmBackend({ threads }));
  const backend = setBackend("wasm") as WasmBackend;
  const running = await backend.startThreads();
  const why = [isolated ? "" : "not cross-origin isolated: no shared memory", noGpu.slice(2)]
    .filter(Boolean)
    .join("; ");
  return {
    type: "backend",
    name: "wasm",
    threads: running,
    text: `engine: wasm, ${running} thread${running === 1 ? "" : "s"}${why ? ` (${why})` : ""}`,
  };
}

async function load(id: string): Promise<Lesson> {
  const entry = findLesson(id);
  if (!entry) throw new Error(`no lesson "${id}"`);
  return entry.load();
}

async function run(message: Extract<ToWorker, { type: "run" }>): Promise<void> {
  const started = performance.now();
  // Before anything is awaited: a Stop that comes while the backend starts must end this run.
  pace = message.pace;
  paused = false;
  stopping = false;
  running = true;
  try {
    const lesson =
      message.lesson === "_gallery" ? (await import("./gallery.js")).gallery : await load(message.lesson);
    const experiment = lesson.sections.find((s) => s.id === message.section)?.experiment;
    if (!experiment) throw new Error(`lesson ${lesson.id} has no experiment in section "${message.section}"`);
    backendChoice ??= chooseBackend(experiment.webgpu === true);
    post(await backendChoice);
    handlers = new Map();
    lastTick = performance.now();
    await experiment.run(message.params, context);
    flush();
    post({ type: "done", ms: performance.now() - started });
  } catch (error) {
    flush();
    if (error instanceof StopRun) post({ type: "stopped" });
    else post({ type: "error", message: error instanceof Error ? error.message : String(error) });
  } finally {
    running = false;
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const message = e.data;
  switch (message.type) {
    case "run":
      void run(message);
      break;
    case "pause":
      if (!running) break;
      paused = true;
      post({ type: "paused" });
      break;
    case "resume":
      paused = false;
      wake?.();
      if (running) post({ type: "resumed" });
      break;
    case "pace":
      pace = message.ms;
      break;
    case "stop":
      stopping = true;
      wake?.();
      break;
    case "select":
      void select(message);
      break;
  }
};
