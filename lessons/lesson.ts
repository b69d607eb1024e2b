/**
 * The lesson format, shared by the lab (the browser) and the CLI (Node).
 *
 * A lesson is a page of sections. Each section tells one idea three ways: text (a small Markdown
 * subset, with $inline$ math), math (KaTeX), and code cells that show the real herograd source
 * (a region of a file, by name); it may end with an experiment: parameters the learner can change
 * and a function that runs real herograd code and streams what it finds as events. The lab runs
 * experiments in a Web Worker and draws the events as figures; the CLI runs them in Node.
 *
 * Experiments talk only in plain data (structured-clone safe), so the same lesson file runs in
 * both places and a figure kind is drawn by the lab once for every lesson that uses it.
 */

// ---------------------------------------------------------------------------------------------
// Cells

export type Cell =
  /** Paragraphs of a small Markdown subset: `code`, **bold**, *italic*, $math$, blank-line breaks. */
  | { kind: "text"; text: string }
  /** Display math, as TeX (rendered with KaTeX). */
  | { kind: "math"; tex: string }
  /**
   * Source shown from a file of the repository: the lines between `// #region NAME` and
   * `// #endregion` (region), or the declaration that starts with `symbol` up to its closing brace.
   */
  | { kind: "code"; file: string; region?: string; symbol?: string; caption?: string; collapsed?: boolean };

// ---------------------------------------------------------------------------------------------
// Parameters

/** A file the learner chose: its bytes travel with the parameters (the CLI reads a path into one). */
export interface LessonFile {
  name: string;
  bytes: Uint8Array;
  /** Files that came with it, by name (a model's config.json beside its weights). */
  siblings?: Record<string, Uint8Array>;
}

/**
 * Where a file parameter's file can be downloaded from: `base` + each path, the file first, then
 * its siblings (LessonFile.siblings, by the path's last part). The lab offers a button with a
 * progress bar and keeps the files in the browser's storage; its page address can name another
 * base (?hf_endpoint=URL: a mirror, or a test server).
 */
export interface FileDownload {
  /** What the button downloads, e.g. "GPT-2 (124M) from Hugging Face". */
  label: string;
  base: string;
  paths: string[];
  /** The file's size, for the progress bar when the server does not say. */
  bytes?: number;
}

export type ParamValue = number | string | boolean | LessonFile | null;
export type Params = Record<string, ParamValue>;

interface ParamBase {
  label: string;
  help?: string;
}

export type ParamSpec =
  | (ParamBase & {
      kind: "number";
      default: number;
      min?: number;
      max?: number;
      step?: number;
      /** Also a slider from min to max that re-runs the experiment as it moves. */
      slider?: boolean;
    })
  | (ParamBase & { kind: "int"; default: number; min?: number; max?: number; step?: number })
  | (ParamBase & { kind: "select"; default: string; options: { value: string; label: string }[] })
  | (ParamBase & { kind: "bool"; default: boolean })
  | (ParamBase & {
      kind: "text";
      default: string;
      rows?: number;
      presets?: { label: string; value: string }[];
    })
  /** A file from the learner's disk (the lab's file picker, the CLI's --set key=PATH); null: none. */
  | (ParamBase & { kind: "file"; default: null; accept?: string; download?: FileDownload });

/** The default value of every parameter. */
export function defaultParams(specs: Record<string, ParamSpec>): Params {
  return Object.fromEntries(Object.entries(specs).map(([key, spec]) => [key, spec.default]));
}

/** Parameter values from loose input (strings from a form or a command line), checked against the specs. */
export function parseParams(specs: Record<string, ParamSpec>, input: Record<string, unknown>): Params {
  const params = defaultParams(specs);
  for (const [key, raw] of Object.entries(input)) {
    const spec = specs[key];
    if (!spec) throw new RangeError(`unknown parameter "${key}" (known: ${Object.keys(specs).join(", ")})`);
    params[key] = parseParam(key, spec, raw);
  }
  return params;
}

function parseParam(key: string, spec: ParamSpec, raw: unknown): ParamValue {
  switch (spec.kind) {
    case "number":
    case "int": {
      const n = typeof raw === "number" ? raw : Number(String(raw).trim() === "" ? Number.NaN : raw);
      if (!Number.isFinite(n)) throw new RangeError(`${key}: expected a number, got "${String(raw)}"`);
      if (spec.kind === "int" && !Number.isInteger(n))
        throw new RangeError(`${key}: expected an integer, got ${n}`);
      if (spec.min !== undefined && n < spec.min) throw new RangeError(`${key}: ${n} is below ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) throw new RangeError(`${key}: ${n} is above ${spec.max}`);
      return n;
    }
    case "bool":
      return raw === true || raw === "true" || raw === "1" || raw === "on";
    case "select": {
      const value = String(raw);
      if (!spec.options.some((o) => o.value === value))
        throw new RangeError(
          `${key}: "${value}" is not one of ${spec.options.map((o) => o.value).join(", ")}`,
        );
      return value;
    }
    case "text":
      return String(raw);
    case "file": {
      if (raw === null || raw === undefined || raw === "") return null;
      if (isLessonFile(raw)) return raw;
      throw new RangeError(`${key}: expected a file's bytes ({ name, bytes }), got ${typeof raw}`);
    }
  }
}

export function isLessonFile(value: unknown): value is LessonFile {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as LessonFile).name === "string" &&
    (value as LessonFile).bytes instanceof Uint8Array
  );
}

// ---------------------------------------------------------------------------------------------
// Figures: what experiments draw. Each kind is drawn by one lab component.

/** A streaming line chart; points arrive with "point" events. */
export interface LineFigure {
  kind: "line";
  id: string;
  title: string;
  /** Span the whole width of the experiment (by default it shares a row). */
  wide?: boolean;
  xLabel?: string;
  yLabel?: string;
  logY?: boolean;
  /** The series, in legend order. */
  series: string[];
}

/** One frame of a graph: Graphviz DOT, with a caption (text, and optional TeX). */
export interface GraphFrame {
  dot: string;
  caption: string;
  tex?: string;
}

/** A Graphviz drawing; with several frames the lab shows step / back / play controls. */
export interface GraphFigure {
  kind: "graph";
  id: string;
  title: string;
  frames: GraphFrame[];
  /** The frame shown first (default: the last one). */
  start?: number;
  /** Span the whole width of the experiment (by default it shares a row). */
  wide?: boolean;
  /** Names of the DOT nodes that can be clicked (a selection's target is [index in this list]). */
  nodes?: string[];
}

/**
 * An element of a figure the learner clicked, by its coordinates in the figure: network [layer,
 * neuron] (layer 0 is the input), heatmap [row, column], images [image], graph [index in the
 * figure's `nodes`], tokens [frame, sequence, token].
 */
export type Target = number[];

/** A layered network drawn as neurons and weighted edges: colour = weight, fill = activation. */
export interface NetworkFigure {
  kind: "network";
  id: string;
  title: string;
  /** Span the whole width of the experiment (by default it shares a row). */
  wide?: boolean;
  /** Neurons per layer, the input layer first. */
  sizes: number[];
  /** weights[l][j][i]: from neuron i of layer l to neuron j of layer l + 1. */
  weights: number[][][];
  /** biases[l][j] of neuron j of layer l + 1. */
  biases: number[][];
  /** activations[l][j] for one input: the input itself, then each layer's outputs. */
  activations: number[][];
  /**
   * The nonlinearity of each layer after the input ("relu", "tanh" or "linear"): with it the lab
   * can run the network itself for any input the learner points at.
   */
  nonlinearities?: ("relu" | "tanh" | "linear")[];
  /**
   * Names of the input neurons and the output neurons, printed inside them: what each stands for,
   * short (a letter, "e₃" for number 3 of e's embedding). Hidden units are named by their index.
   */
  inputLabels?: string[];
  outputLabels?: string[];
  /** Names of the layers, input first (default: input, hidden 1, …, output). */
  layerLabels?: string[];
  caption?: string;
  /**
   * The drawn layers through training (NetworkHistory): the lab adds a step slider that replays
   * each unit's mean activation and its flags (dead, saturated) at any recorded step, and the
   * edges with the weights kept at or before it.
   */
  history?: NetworkHistory;
}

// #region history
/**
 * A neuron's life through training, one value per recorded step in each series (lecture 4's
 * diagnostics, one neuron at a time). Recorded every few steps by lessons/neuron-history.ts; a
 * value that does not apply is NaN (the last step's update before the next step is taken).
 */
export interface NeuronHistory {
  nonlinearity: "tanh" | "relu";
  /** The training steps recorded, ascending: the values at steps[s] are the model's before step s's update. */
  steps: number[];
  /** The norm of its incoming weights (its row of the Linear weight). */
  weightNorm: number[];
  /** Its activation averaged over the step's batch. */
  meanActivation: number[];
  /** Fraction of the batch where it is dead (ReLU output 0); ReLU units only. */
  dead?: number[];
  /** Fraction of the batch where it is saturated (|tanh| > 0.97); tanh units only. */
  saturated?: number[];
  /** The norm of the gradient of its incoming weights. */
  gradNorm: number[];
  /** log10(|update| / |weights|) of its incoming weights: about −3 is healthy (lecture 4). */
  updateRatio: number[];
}

/**
 * Units of the drawn layers at each recorded step: what a network figure replays. Each series is
 * one Float32Array of steps × units values, row s (steps[s]) from s·units (compact, and
 * structured-clone safe).
 */
export interface NetworkHistory {
  steps: number[];
  layers: {
    /** The layer of the figure (an index into sizes; 1 is the first after the input). */
    layer: number;
    nonlinearity: "tanh" | "relu";
    units: number;
    /** Each unit's activation averaged over the batch of the step. */
    meanActivation: Float32Array;
    /** Fractions of the batch, as in NeuronHistory. */
    dead?: Float32Array;
    saturated?: Float32Array;
  }[];
  /**
   * The weights of the figure's edges at some of the recorded steps (every weight is kept, so
   * they are fewer snapshots than steps): the edges at step steps[s] are drawn from the last
   * snapshot at or before it. Absent: the edges are the figure's own weights at every step.
   */
  weights?: {
    /** The steps of the snapshots, ascending: some of `steps`. */
    steps: number[];
    layers: {
      /** Into this layer of the figure: a snapshot of its weights[layer − 1]. */
      layer: number;
      /** Units of the layer before (from) and of this one (to). */
      from: number;
      to: number;
      /** steps.length × to × from values: weights[layer − 1][j][i] of snapshot s at (s·to + j)·from + i. */
      values: Float32Array;
    }[];
  };
}

/** |tanh| above this is saturated: its local gradient 1 − t² is below 0.06. */
export const SATURATION = 0.97;

/**
 * A unit's flag from the fractions of a batch: dead when its ReLU is 0 on the whole batch (it
 * gets no gradient and never comes back), saturated when |tanh| > 0.97 on more than half of it
 * (it barely learns). NaN or undefined fractions flag nothing.
 */
export function unitFlag(
  dead: number | undefined,
  saturated: number | undefined,
): "dead" | "saturated" | undefined {
  if (dead !== undefined && dead >= 1) return "dead";
  if (saturated !== undefined && saturated > 0.5) return "saturated";
  return undefined;
}

/** Per layer of a network history, the flagged units at recorded step s. */
export function flaggedUnits(
  history: NetworkHistory,
  s: number,
): { layer: number; dead: number[]; saturated: number[] }[] {
  return history.layers.map((l) => {
    const dead: number[] = [];
    const saturated: number[] = [];
    if (s >= 0 && s < history.steps.length)
      for (let j = 0, k = s * l.units; j < l.units; j++, k++) {
        const flag = unitFlag(l.dead?.[k], l.saturated?.[k]);
        if (flag === "dead") dead.push(j);
        else if (flag === "saturated") saturated.push(j);
      }
    return { layer: l.layer, dead, saturated };
  });
}
// #endregion

/** A classifier's scores on a grid (sign = class) with labelled points: a decision boundary. */
export interface FieldFigure {
  kind: "field";
  id: string;
  title: string;
  /** Span the whole width of the experiment (by default it shares a row). */
  wide?: boolean;
  /** Mesh step of the grid. */
  step: number;
  grid: { x: number; y: number; score: number }[];
  points: { x: number; y: number; label: number }[];
  caption?: string;
}

/** A few named numbers (the current step, loss, accuracy). */
export interface StatsFigure {
  kind: "stats";
  id: string;
  title: string;
  items: { label: string; value: string }[];
}

/**
 * A matrix as coloured cells (bigram counts, attention weights, tanh saturation): rows top to
 * bottom, columns left to right, optionally with each value printed in its cell.
 */
export interface HeatmapFigure {
  kind: "heatmap";
  id: string;
  title: string;
  /** Span the whole width of the experiment (by default it shares a row). */
  wide?: boolean;
  values: number[][];
  rowLabels?: string[];
  colLabels?: string[];
  xLabel?: string;
  yLabel?: string;
  /** Print each value in its cell (e.g. counts); "auto" prints them when the matrix is small. */
  text?: boolean | "auto";
  /** "sequential" (0 → max, default) or "diverging" (negative red, positive blue). */
  scheme?: "sequential" | "diverging";
  /** Rows to outline (e.g. the probability row being sampled from). */
  highlightRows?: number[];
  /** Text to print in each cell instead of its value (a logit lens's guessed tokens). */
  cellText?: string[][];
  caption?: string;
}

/** Labelled points in the plane (e.g. a 2-D embedding of the letters). */
export interface ScatterFigure {
  kind: "scatter";
  id: string;
  title: string;
  wide?: boolean;
  points: { x: number; y: number; label?: string; group?: string }[];
  xLabel?: string;
  yLabel?: string;
  caption?: string;
}

/** Distributions of values, one line per series (activations or gradients per layer). */
export interface HistogramFigure {
  kind: "histogram";
  id: string;
  title: string;
  wide?: boolean;
  series: { name: string; values: number[] }[];
  /** Number of bins (default 50). */
  bins?: number;
  xLabel?: string;
  caption?: string;
}

/** One token of a tokenization: its text as shown and its id (which picks its colour). */
export interface TokenSpan {
  text: string;
  id: number;
}

/** One state of a tokens figure: one or more tokenizations shown side by side. */
export interface TokensFrame {
  caption: string;
  sequences: { name: string; tokens: TokenSpan[] }[];
}

/**
 * Text cut into coloured tokens (a tokenizer's output). With several frames (merge after merge)
 * the lab shows step / play controls and a slider.
 */
export interface TokensFigure {
  kind: "tokens";
  id: string;
  title: string;
  wide?: boolean;
  frames: TokensFrame[];
  /** The frame shown first (default: the last one). */
  start?: number;
  /** Each sequence's token ids listed under its text, as tiktokenizer shows them. */
  ids?: boolean;
}

/**
 * Images side by side, each a grid of pixels row by row (a game's frames, a layer's weights seen
 * as pictures). Each image can be clicked when the experiment answers selections (target [image]).
 */
export interface ImagesFigure {
  kind: "images";
  id: string;
  title: string;
  wide?: boolean;
  images: {
    label?: string;
    width: number;
    height: number;
    /** One value per pixel ("gray", "diverging"), or three bytes per pixel ("rgb"). */
    pixels: ArrayLike<number>;
    /** This image's scheme, when it differs from the figure's. */
    scheme?: "gray" | "diverging" | "rgb";
  }[];
  /** "gray": 0 black to the largest white; "diverging": red < 0 < blue (weights); "rgb": bytes. */
  scheme?: "gray" | "diverging" | "rgb";
  /** Screen pixels per image pixel (default 1). */
  scale?: number;
  caption?: string;
}

/**
 * What one element of another figure is, shown when the learner clicks it: a neuron, a BatchNorm
 * channel, an attention head, a box of a diagram, a token. Its numbers for the current input,
 * its weights, the formula and the line of code that compute it.
 */
export interface DetailFigure {
  kind: "detail";
  id: string;
  title: string;
  wide?: boolean;
  /** The figure and the element of it this describes: the lab marks that element. */
  of?: { figure: string; target: Target };
  /** Named numbers: pre-activation, activation, gradient, shapes… (numbers keep full precision). */
  values: { label: string; value: number | string }[];
  /** Vectors: a bar per value (weights into a neuron), or an image of width × height values. */
  vectors?: {
    label: string;
    values: number[];
    labels?: string[];
    image?: { width: number; height: number };
  }[];
  /** Tokens with a value each, e.g. a GPT neuron's activation on each token of the prompt. */
  tokens?: { label: string; tokens: { text: string; value: number }[] };
  /** The formula, usually with the element's numbers in it (TeX). */
  tex?: string;
  /**
   * The code that computes it: a code cell (file and region or symbol, as in Cell) and the line
   * of it that does (any unique part of that line's text).
   */
  code?: { file: string; region?: string; symbol?: string; line: string };
  caption?: string;
  /** The neuron through training: the lab draws each series as a small curve with a step slider. */
  history?: NeuronHistory;
  /**
   * What the element responds to: the contexts from the data that excite it most, strongest
   * first, each as its tokens with the element's value on each (the strongest token at `max`).
   */
  examples?: {
    label: string;
    contexts: { tokens: { text: string; value: number }[]; max: number; note?: string }[];
  };
  /** Its values over the data as a histogram: counts per bin between consecutive edges. */
  histogram?: {
    label: string;
    edges: number[];
    counts: number[];
    /** Values to mark on the axis (the mean, this input's value). */
    marks?: { label: string; value: number }[];
  };
  /** What it does: the outputs (tokens, letters) it pushes up and down most, with how much. */
  effects?: {
    label: string;
    up: { text: string; value: number }[];
    down: { text: string; value: number }[];
    note?: string;
  };
  /**
   * Buttons: a click is a selection of the element this describes (`of`) with the action's id,
   * answered by the experiment (ablate it, clamp it).
   */
  actions?: { label: string; action: string; help?: string }[];
  /** Side by side: the same things (samples, next-token probabilities) under several conditions. */
  compare?: {
    label: string;
    columns: string[];
    rows: { label: string; cells: (string | { text: string; value: number }[])[] }[];
  };
}

export type Figure =
  | ImagesFigure
  | DetailFigure
  | TokensFigure
  | LineFigure
  | GraphFigure
  | NetworkFigure
  | FieldFigure
  | StatsFigure
  | HeatmapFigure
  | ScatterFigure
  | HistogramFigure;

// ---------------------------------------------------------------------------------------------
// Events: what an experiment streams.

export type LabEvent =
  /** Show a figure, or replace the figure with the same id. */
  | { type: "figure"; figure: Figure }
  /** Append points to a line figure's series. */
  | { type: "points"; figure: string; series: string; points: { x: number; y: number }[] }
  /** A line of text for the run's log. */
  | { type: "log"; text: string }
  /** The elements of this figure can be clicked: the experiment answers (see LabContext.onSelect). */
  | { type: "selectable"; figure: string; hint?: string };

/**
 * Answers a click on an element of a figure, usually by emitting a "detail" figure; `action` is
 * set when the click was on one of a detail's actions (DetailFigure.actions) for that element.
 */
export type SelectHandler = (target: Target, action?: string) => void | Promise<void>;

/** What an experiment gets from its host (the lab's worker, or the CLI). */
export interface LabContext {
  emit(event: LabEvent): void;
  /**
   * Call once per step of a long loop: it hands control to the host, which may pause here, slow
   * the run down so it can be watched, or stop it (then tick throws a StopRun).
   */
  tick(): Promise<void>;
  /**
   * Let the learner click the elements of a figure (its neurons, cells, images, nodes): `handler`
   * answers a click with events, usually a "detail" figure, while the run goes on, while it is
   * paused and after it ends (it holds the run's model in its closure). Registering again for the
   * same figure replaces the handler; `hint` tells the learner what a click shows.
   */
  onSelect(figure: string, handler: SelectHandler, hint?: string): void;
}

/** Thrown by tick() when the host stops a run. */
export class StopRun extends Error {
  constructor() {
    super("run stopped");
    this.name = "StopRun";
  }
}

export interface Experiment {
  id: string;
  title: string;
  /** A training loop (shows run / pause / stop and a speed control) or a quick computation. */
  streaming?: boolean;
  /**
   * Reads values only with await (`await t.data()`, never item() / tolist() / dataSync()), so the
   * lab runs it on WebGPU where the browser has an adapter.
   */
  webgpu?: boolean;
  params: Record<string, ParamSpec>;
  /**
   * Other settings worth a run, offered as buttons beside Run: the lecture's full run where the
   * defaults are a quicker version of it, with what it reaches and about how long it takes.
   */
  presets?: { label: string; help: string; params: Params }[];
  run(params: Params, lab: LabContext): Promise<void>;
}

export interface Section {
  id: string;
  title: string;
  cells: Cell[];
  experiment?: Experiment;
}

export interface Lesson {
  /** URL id: "01-micrograd". */
  id: string;
  number: number;
  title: string;
  /** One sentence: what the lesson builds. */
  summary: string;
  /** The lecture it follows. */
  lecture?: { title: string; url: string };
  sections: Section[];
}

/** Typed helpers to read parameters inside run(). */
export const param = {
  number(params: Params, key: string): number {
    const v = params[key];
    if (typeof v !== "number") throw new TypeError(`parameter ${key} is not a number`);
    return v;
  },
  string(params: Params, key: string): string {
    const v = params[key];
    if (typeof v !== "string") throw new TypeError(`parameter ${key} is not a string`);
    return v;
  },
  bool(params: Params, key: string): boolean {
    return params[key] === true;
  },
  file(params: Params, key: string): LessonFile | null {
    const v = params[key];
    if (v === null || v === undefined) return null;
    if (!isLessonFile(v)) throw new TypeError(`parameter ${key} is not a file`);
    return v;
  },
};

/**
 * A context that collects events and never pauses: for tests and the CLI. `select` clicks an
 * element of a figure as the lab does and returns the events the experiment answered with.
 * With a listener (`onEvent`) events go to it and are not kept: a long run (Pong streams a frame
 * image per step) would otherwise hold every event it ever emitted.
 */
export function collectingContext(onEvent?: (event: LabEvent) => void): LabContext & {
  events: LabEvent[];
  select(figure: string, target: Target, action?: string): Promise<LabEvent[]>;
} {
  const events: LabEvent[] = [];
  const handlers = new Map<string, SelectHandler>();
  let answer: LabEvent[] | null = null;
  const emit = (event: LabEvent) => {
    if (!onEvent) events.push(event);
    answer?.push(event);
    onEvent?.(event);
  };
  return {
    events,
    emit,
    async tick() {},
    onSelect(figure, handler, hint) {
      handlers.set(figure, handler);
      emit(hint === undefined ? { type: "selectable", figure } : { type: "selectable", figure, hint });
    },
    async select(figure, target, action) {
      const handler = handlers.get(figure);
      if (!handler)
        throw new RangeError(
          `figure "${figure}" answers no selections (selectable: ${[...handlers.keys()].join(", ") || "none"})`,
        );
      const answered: LabEvent[] = [];
      answer = answered;
      try {
        await (action === undefined ? handler(target) : handler(target, action));
      } finally {
        answer = null;
      }
      return answered;
    },
  };
}
