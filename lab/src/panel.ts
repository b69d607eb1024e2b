/**
 * An experiment on a lesson page: its parameters as controls, run / pause / stop, and the figures
 * its events draw. Each run gets a fresh Web Worker; changing a parameter re-runs the experiment.
 * Runs go at full speed unless the learner chooses to watch step by step, and take their turn in
 * the page's queue (one experiment computes at a time).
 */
import {
  defaultParams,
  type Experiment,
  type LabEvent,
  type ParamSpec,
  type Params,
  type Target,
} from "../../lessons/lesson.js";
import { downloadControl } from "./download.js";
import { DetailView } from "./figures/detail.js";
import { FieldView } from "./figures/field.js";
import { createView, type FigureView } from "./figures/index.js";
import { NetworkView } from "./figures/network.js";
import { el } from "./figures/view.js";
import type { FromWorker, ToWorker } from "./protocol.js";
import type { QueuedRun, RunQueue } from "./queue.js";

/** queued: waiting for another experiment of the page (or held while it runs). */
type State = "idle" | "queued" | "running" | "paused" | "done" | "error";

const PACES = [
  { label: "full speed", ms: 0 },
  { label: "watch step by step", ms: 40 },
];

/** What a number control accepts, in words ("a whole number from 10 to 200,000"). */
export function allowedRange(spec: { kind: "number" | "int"; min?: number; max?: number }): string {
  const what = spec.kind === "int" ? "a whole number" : "a number";
  const n = (v: number) => v.toLocaleString("en-US", { maximumFractionDigits: 10 });
  if (spec.min !== undefined && spec.max !== undefined)
    return `${what} from ${n(spec.min)} to ${n(spec.max)}`;
  if (spec.min !== undefined) return `${what} of at least ${n(spec.min)}`;
  if (spec.max !== undefined) return `${what} of at most ${n(spec.max)}`;
  return what;
}

export class ExperimentPanel implements QueuedRun {
  readonly element: HTMLElement;
  readonly title: string;
  private readonly params: Params;
  private readonly figures = el("div", { class: "figures" });
  private readonly status = el("span", { class: "status", role: "status" });
  private readonly log = el("div", { class: "run-log" });
  /** Where the engine runs: the backend and its threads, as the worker reports them. */
  private readonly backend = el("span", { class: "backend" });
  private readonly runButton = el(
    "button",
    { type: "button", class: "primary", "data-action": "run" },
    "Run",
  );
  private readonly pauseButton = el("button", { type: "button", "data-action": "pause" }, "Pause");
  private readonly stopButton = el("button", { type: "button", "data-action": "stop" }, "Stop");
  private worker: Worker | undefined;
  private views = new Map<string, FigureView>();
  private stale = new Map<string, FigureView>();
  private dirty = new Set<string>();
  private lastDraw = new Map<string, number>();
  private frame = 0;
  private pace: number = PACES[0]!.ms;
  /** The worker has a run in progress (running, paused or held). */
  private busy = false;
  /** What the queue's go() does: start a run, or resume a paused or held one. */
  private pending: "run" | "resume" | undefined;
  /** Paused by the queue for another experiment (not by the learner). */
  private held = false;
  /** Controls whose value is not allowed, with the message shown beside each. */
  private readonly invalid = new Map<string, string>();
  private started = 0;
  private rerun: ReturnType<typeof setTimeout> | undefined;
  /** Figures of this run whose elements answer clicks, with the hint to show. */
  private selectable = new Map<string, string | undefined>();
  /** Each figure's width when it was last drawn: a figure whose place changes is laid out again. */
  private readonly widths = new Map<string, number>();
  private readonly resized = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const id = (entry.target as HTMLElement).dataset.figure;
      if (id === undefined || this.views.get(id)?.element !== entry.target) continue;
      const width = Math.round(entry.target.getBoundingClientRect().width);
      if (width !== this.widths.get(id)) this.markDirty(id);
    }
  });
  /** Set between a Stop and the worker's answer: the run's last events are not drawn. */
  private stopping: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly lessonId: string,
    private readonly sectionId: string,
    private readonly experiment: Experiment,
    private readonly queue?: RunQueue,
  ) {
    this.title = experiment.title;
    this.params = defaultParams(experiment.params);
    const controls = el("div", { class: "controls" });
    const inputs = new Map<string, HTMLElement>();
    for (const [key, spec] of Object.entries(experiment.params)) {
      const control = this.control(key, spec);
      inputs.set(key, control);
      controls.append(control);
    }
    const buttons = el("div", { class: "buttons" }, this.runButton);
    this.runButton.addEventListener("click", () => this.run());
    if (experiment.streaming) {
      buttons.append(this.pauseButton, this.stopButton);
      this.pauseButton.addEventListener("click", () => this.togglePause());
      this.stopButton.addEventListener("click", () => this.stop());
      const pace = el(
        "select",
        {
          "aria-label": "speed",
          title:
            "full speed: as fast as the engine goes; watch step by step: slowed on purpose to at most 25 steps a second",
        },
        ...PACES.map((p) => el("option", { value: String(p.ms) }, p.label)),
      );
      pace.addEventListener("change", () => {
        this.pace = Number(pace.value);
        this.post({ type: "pace", ms: this.pace });
      });
      buttons.append(el("label", { class: "pace" }, "speed ", pace));
    }
    for (const preset of experiment.presets ?? []) {
      const button = el(
        "button",
        { type: "button", "data-preset": preset.label, title: preset.help },
        preset.label,
      );
      button.addEventListener("click", () => {
        for (const [key, value] of Object.entries(preset.params)) {
          const input = inputs.get(key)?.querySelector<HTMLInputElement>(`[name="${key}"]`);
          if (input && (typeof value === "number" || typeof value === "string")) input.value = String(value);
          if (input && typeof value === "boolean") input.checked = value;
          this.params[key] = value;
          this.invalid.delete(key);
          input?.classList.remove("invalid");
          const message = inputs.get(key)?.querySelector(".control-error");
          if (message) message.textContent = "";
        }
        this.run();
      });
      buttons.append(button);
    }
    buttons.append(this.status, this.backend);
    this.element = el(
      "section",
      {
        class: "experiment",
        "data-experiment": experiment.id,
        "data-state": "idle",
        "data-run": "0", // runs started so far
        "data-streaming": String(experiment.streaming === true),
      },
      el("h3", {}, el("span", { class: "badge" }, "experiment"), experiment.title),
      controls,
      buttons,
      this.log,
      this.figures,
    );
    this.setState("idle");
  }

  private control(key: string, spec: ParamSpec): HTMLElement {
    const changed = (value: Params[string], delay = 250) => {
      this.invalid.delete(key);
      if (this.params[key] === value) return; // e.g. the change event of a blur after Enter
      this.params[key] = value;
      clearTimeout(this.rerun);
      this.rerun = setTimeout(() => this.run(), delay);
    };
    const label = el("span", { class: "control-label" }, spec.label);
    if (spec.help) label.title = spec.help;
    switch (spec.kind) {
      case "number":
      case "int": {
        const input = el("input", { type: "number", name: key, value: String(spec.default) });
        if (spec.min !== undefined) input.min = String(spec.min);
        if (spec.max !== undefined) input.max = String(spec.max);
        input.step = String(spec.step ?? (spec.kind === "int" ? 1 : "any"));
        // Bad input is named beside the control, with what is allowed; the run keeps its last value.
        const message = el("span", { class: "control-error", role: "alert" });
        const check = (): number | undefined => {
          const n = Number(input.value);
          const ok =
            input.value.trim() !== "" &&
            Number.isFinite(n) &&
            (spec.kind === "number" || Number.isInteger(n)) &&
            (spec.min === undefined || n >= spec.min) &&
            (spec.max === undefined || n <= spec.max);
          input.classList.toggle("invalid", !ok);
          input.setAttribute("aria-invalid", String(!ok));
          const text = ok ? "" : `${spec.label}: "${input.value}" is not allowed; ${allowedRange(spec)}`;
          message.textContent = ok ? "" : `${allowedRange(spec)}`;
          if (ok) this.invalid.delete(key);
          else this.invalid.set(key, text);
          return ok ? n : undefined;
        };
        input.addEventListener("input", () => void check());
        input.addEventListener("change", () => {
          const n = check();
          if (n === undefined) return;
          changed(n);
          if (slider) slider.value = String(n);
        });
        const slider =
          spec.kind === "number" && spec.slider && spec.min !== undefined && spec.max !== undefined
            ? el("input", {
                type: "range",
                min: String(spec.min),
                max: String(spec.max),
                step: String(spec.step ?? (spec.max - spec.min) / 100),
                value: String(spec.default),
                "aria-label": spec.label,
              })
            : undefined;
        if (!slider) return el("label", { class: "control" }, label, input, message);
        slider.addEventListener("input", () => {
          input.value = slider.value;
          void check();
          changed(Number(slider.value), 40);
        });
        return el(
          "label",
          { class: "control control-slider" },
          label,
          el("span", { class: "slider-row" }, slider, input),
          message,
        );
      }
      case "bool": {
        const input = el("input", { type: "checkbox", name: key });
        input.checked = spec.default;
        input.addEventListener("change", () => changed(input.checked));
        return el("label", { class: "control" }, label, input);
      }
      case "select": {
        const input = el(
          "select",
          { name: key },
          ...spec.options.map((o) => el("option", { value: o.value }, o.label)),
        );
        input.value = spec.default;
        input.addEventListener("change", () => changed(input.value));
        return el("label", { class: "control" }, label, input);
      }
      case "file": {
        // The bytes are read here and travel to the worker with the parameters.
        const input = el("input", { type: "file", name: key });
        if (spec.accept) input.accept = spec.accept;
        input.addEventListener("change", async () => {
          const file = input.files?.[0];
          changed(file ? { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) } : null, 0);
        });
        const picker = el("label", { class: "control control-file" }, label, input);
        if (!spec.download) return picker;
        // Or the file from its server (a model's weights), kept in the browser for the next visit.
        return el(
          "div",
          { class: "control-download" },
          picker,
          downloadControl(spec.download, (file) => {
            input.value = "";
            changed(file, 0);
          }),
        );
      }
      case "text": {
        const input = el("textarea", { name: key, rows: String(spec.rows ?? 4), spellcheck: "false" });
        input.value = spec.default;
        input.addEventListener("input", () => changed(input.value, 600));
        const wrap = el("div", { class: "control control-text" }, label, input);
        if (spec.presets) {
          const presets = el(
            "select",
            { "aria-label": `${spec.label} examples`, class: "presets" },
            el("option", { value: "" }, "examples…"),
            ...spec.presets.map((p, i) => el("option", { value: String(i) }, p.label)),
          );
          presets.addEventListener("change", () => {
            const preset = spec.presets![Number(presets.value)];
            presets.value = "";
            if (!preset) return;
            input.value = preset.value;
            changed(preset.value, 0);
          });
          label.after(presets);
        }
        return wrap;
      }
    }
  }

  private post(message: ToWorker): void {
    this.worker?.postMessage(message);
  }

  private setState(state: State, text?: string): void {
    this.element.dataset.state = state;
    this.status.textContent = text ?? "";
    this.status.className = `status status-${state}`;
    const live = state === "running" || state === "paused" || (state === "queued" && this.busy);
    this.pauseButton.disabled = state !== "running" && state !== "paused";
    this.stopButton.disabled = !live;
    this.pauseButton.textContent = state === "paused" ? "Resume" : "Pause";
    this.runButton.textContent =
      state === "queued" ? "Run now" : state === "running" || state === "paused" ? "Restart" : "Run";
  }

  /** Run with the current parameters when the page's other experiments are done (on load). */
  enqueue(): void {
    if (!this.canRun()) return;
    this.pending = "run";
    if (this.queue) this.queue.add(this);
    else this.go();
  }

  /** Start (or restart) the experiment now: the learner asked (Run, a changed parameter). */
  run(): void {
    clearTimeout(this.rerun);
    if (!this.canRun()) return;
    this.pending = "run";
    if (this.queue) this.queue.now(this);
    else this.go();
  }

  /** Bad input says why the run does not start, beside Run; the figures of the last run stay. */
  private canRun(): boolean {
    if (this.invalid.size === 0) {
      delete this.element.dataset.blocked;
      return true;
    }
    this.element.dataset.blocked = "true";
    this.status.textContent = `not started: ${[...this.invalid.values()].join("; ")}`;
    this.status.className = "status status-error";
    return false;
  }

  go(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending === "resume") {
      this.held = false;
      this.post({ type: "resume" });
    } else if (pending === "run") this.start();
  }

  hold(): boolean {
    if (!this.experiment.streaming || this.element.dataset.state !== "running") return false;
    this.held = true;
    this.pending = "resume";
    this.post({ type: "pause" });
    return true;
  }

  wait(running: QueuedRun): void {
    this.setState(
      "queued",
      `${this.busy ? "held" : "waiting"}: “${running.title}” computes first (one experiment of a page at a time)`,
    );
  }

  private start(): void {
    // The figures of the last run stay until this run draws its own, so a re-run does not flicker.
    for (const [id, view] of this.views) {
      view.setSelectable?.(undefined);
      this.stale.set(id, view);
    }
    this.views = new Map();
    this.selectable = new Map();
    this.clearStopping();
    this.log.textContent = "";
    this.started = performance.now();
    // An idle worker takes the next run; a busy one is stopped (a loop need not cooperate).
    if (this.busy) this.terminate();
    this.held = false;
    this.busy = true;
    this.worker ??= this.spawn();
    this.element.dataset.run = String(Number(this.element.dataset.run ?? 0) + 1); // runs so far
    this.setState("running", "running…");
    this.post({
      type: "run",
      lesson: this.lessonId,
      section: this.sectionId,
      params: { ...this.params },
      pace: this.experiment.streaming ? this.pace : 0,
    });
  }

  private spawn(): Worker {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: this.experiment.id,
    });
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      if (this.worker === worker) this.receive(e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      if (this.worker !== worker) return;
      this.terminate();
      this.finish("error", `the worker failed: ${e.message}`);
    };
    return worker;
  }

  private terminate(): void {
    this.worker?.terminate();
    this.worker = undefined;
  }

  /** A run the learner pauses lets the next experiment compute; Resume takes the cores back. */
  private togglePause(): void {
    if (this.element.dataset.state === "running") {
      this.post({ type: "pause" });
      this.queue?.release(this);
    } else if (this.element.dataset.state === "paused") {
      this.pending = "resume";
      if (this.queue) this.queue.now(this);
      else this.go();
    }
  }

  /**
   * Stop the run at its next tick. The worker stays, with what the run built, so its figures
   * still answer clicks; a run that does not reach a tick soon is ended by force.
   */
  stop(): void {
    if (!this.worker) return;
    const state = this.element.dataset.state as State;
    if (!this.busy || (state !== "running" && state !== "paused" && state !== "queued")) return;
    this.post({ type: "stop" });
    this.setState(state, "stopping…");
    this.stopping = setTimeout(() => {
      this.terminate();
      this.stopped();
    }, 2000);
  }

  private stopped(): void {
    this.clearStopping();
    this.finish("done", "stopped");
  }

  private clearStopping(): void {
    clearTimeout(this.stopping);
    this.stopping = undefined;
  }

  /** The learner clicked an element of a figure (or an action of its detail): ask the worker. */
  private select(figure: string, target: Target, action?: string): void {
    if (!this.worker) {
      this.log.append(el("div", { class: "select-note" }, "Run the experiment again to look inside it."));
      this.settleActions();
      return;
    }
    this.views.get(figure)?.setSelected?.(target);
    this.post(
      action === undefined ? { type: "select", figure, target } : { type: "select", figure, target, action },
    );
  }

  /** An action's answer came or failed: the details' action buttons are free again. */
  private settleActions(): void {
    for (const view of this.views.values()) if (view instanceof DetailView) view.settle();
  }

  dispose(): void {
    this.busy = false;
    clearTimeout(this.rerun);
    this.clearStopping();
    this.terminate();
    this.resized.disconnect();
    cancelAnimationFrame(this.frame);
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case "events":
        if (this.stopping) break; // the run's last steps after Stop: the figures stay as they were
        for (const event of message.events) this.apply(event);
        break;
      case "stopped":
        this.stopped();
        break;
      case "select-error":
        this.log.append(el("div", { class: "select-error" }, message.message));
        this.settleActions();
        break;
      case "backend":
        this.backend.textContent = message.text;
        this.element.dataset.backend = message.name;
        this.element.dataset.threads = String(message.threads);
        break;
      // Either may cross the run's end (the queue held it as it finished): then the run stays done.
      case "paused":
        if (this.busy && !this.held) this.setState("paused", "paused");
        break;
      case "resumed":
        if (this.busy) this.setState("running", "running…");
        break;
      case "done":
        this.finish("done", `done in ${(message.ms / 1000).toFixed(2)} s`);
        break;
      case "error":
        this.finish("error", message.message);
        break;
    }
  }

  private finish(state: State, text: string): void {
    this.clearStopping();
    this.busy = false;
    this.held = false;
    this.pending = undefined;
    this.queue?.release(this);
    // After an error the last good figures stay: the message says what to fix.
    if (state !== "error") for (const view of this.stale.values()) view.element.remove();
    this.stale.clear();
    this.setState(state, text);
    void this.drawAll(true);
  }

  private apply(event: LabEvent): void {
    if (event.type === "log") {
      this.log.append(el("div", {}, event.text));
      return;
    }
    if (event.type === "selectable") {
      this.selectable.set(event.figure, event.hint);
      this.makeSelectable(event.figure);
      return;
    }
    if (event.type === "points") {
      const view = this.views.get(event.figure);
      view?.addPoints?.(event.series, event.points);
      this.markDirty(event.figure);
      return;
    }
    const { figure } = event;
    let view = this.views.get(figure.id);
    if (!view) {
      view = createView(figure);
      const old = this.stale.get(figure.id);
      if (old) {
        this.resized.unobserve(old.element);
        old.element.replaceWith(view.element);
        this.stale.delete(figure.id);
      } else this.figures.append(view.element);
      view.element.dataset.figure = figure.id;
      if ("wide" in figure && figure.wide) view.element.classList.add("wide");
      // Pointing into a decision boundary shows the network's activations for that input.
      if (view instanceof FieldView) {
        view.onProbe = (point) => {
          for (const v of this.views.values()) if (v instanceof NetworkView) v.setProbe(point);
        };
      }
      this.views.set(figure.id, view);
      this.resized.observe(view.element);
      this.makeSelectable(figure.id);
    }
    view.update(figure);
    // Another element's detail: the answer to an action on the last one goes.
    const answer = this.views.get("intervention");
    if (figure.id === "detail" && answer) {
      this.resized.unobserve(answer.element);
      answer.element.remove();
      this.views.delete("intervention");
    }
    // A detail's actions are selections of the element it describes, with the action's id.
    if (view instanceof DetailView && figure.kind === "detail") {
      const of = figure.of;
      view.onAction = of ? (action) => this.select(of.figure, of.target, action) : undefined;
    }
    // A detail sits below the row of the figure it describes, and marks the element there; the
    // answer to an action (another detail of the same element) sits right below that detail.
    const source = figure.kind === "detail" && figure.of ? this.views.get(figure.of.figure) : undefined;
    const asked = figure.id === "intervention" ? this.views.get("detail") : undefined;
    if (asked && figure.kind === "detail") {
      if (asked.element.nextElementSibling !== view.element) asked.element.after(view.element);
      this.settleActions();
    } else if (source && figure.kind === "detail" && figure.of) {
      this.placeBelow(view.element, source.element);
      source.setSelected?.(figure.of.target);
    }
    this.markDirty(figure.id);
  }

  /**
   * Put `detail` after `source`, or after the figure sharing its row (two columns: a narrow figure
   * followed by another narrow one), so a pair drawn side by side stays side by side.
   */
  private placeBelow(detail: HTMLElement, source: HTMLElement): void {
    const next = (e: Element) => {
      const n = e.nextElementSibling;
      return n === detail ? n.nextElementSibling : n;
    };
    const wide = (e: Element) => e.classList.contains("wide") || getComputedStyle(e).gridColumnStart === "1";
    const partner = next(source);
    const anchor = !wide(source) && partner && !wide(partner) ? partner : source;
    if (anchor.nextElementSibling !== detail) anchor.after(detail);
  }

  private makeSelectable(id: string): void {
    const view = this.views.get(id);
    if (!view || !this.selectable.has(id)) return;
    view.setSelectable?.((target) => this.select(id, target), this.selectable.get(id));
    view.element.dataset.selectable = "true";
  }

  private markDirty(id: string): void {
    this.dirty.add(id);
    if (!this.frame) this.frame = requestAnimationFrame(() => void this.drawAll(false));
  }

  private async drawAll(force: boolean): Promise<void> {
    this.frame = 0;
    const now = performance.now();
    for (const id of [...this.dirty]) {
      const view = this.views.get(id);
      if (!view) {
        this.dirty.delete(id);
        continue;
      }
      if (!force && now - (this.lastDraw.get(id) ?? 0) < (view.minInterval ?? 0)) continue;
      this.dirty.delete(id);
      this.lastDraw.set(id, now);
      this.widths.set(id, Math.round(view.element.getBoundingClientRect().width));
      await view.draw();
    }
    if (this.dirty.size > 0 && !this.frame)
      this.frame = requestAnimationFrame(() => void this.drawAll(false));
    if (this.element.dataset.state === "running") {
      this.status.textContent = `running… ${((performance.now() - this.started) / 1000).toFixed(1)} s`;
    }
  }
}
