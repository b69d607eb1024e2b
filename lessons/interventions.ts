/**
 * A neuron's (or a head's) life beyond one input, for the lessons' detail views: what it responds
 * to over the data (its top contexts and a histogram), what it does to the output (the tokens its
 * output weights push up and down), and what happens without it: ablate it (set it to zero or to
 * its mean) or clamp it, and compare the val loss, next-token probabilities and samples with the
 * unchanged model. Interventions are module hooks, attached for one measurement and removed right
 * after, so the model is exactly as it was.
 *
 * Values are read with await only, so this runs on WebGPU too (lesson 9).
 */
import type { CharVocabulary } from "../src/data/index.js";
import type { GPT } from "../src/models/gpt.js";
import { type Mlp, sampleWords } from "../src/models/makemore.js";
import type { Linear, RemovableHandle } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { crossEntropy, fromValues, keep, noGrad, softmax, type Tensor, tidy } from "../src/tensor/index.js";
import type { WindowTensors } from "../src/train/makemore.js";
import type { DetailFigure } from "./lesson.js";

/** What a click can do to a neuron or a head besides looking at it. */
export type Intervention = { kind: "zero" } | { kind: "mean" } | { kind: "clamp"; value: number };

/** The action ids of DetailFigure.actions: "ablate-zero", "ablate-mean", "clamp:VALUE". */
export function actionId(intervention: Intervention): string {
  return intervention.kind === "clamp" ? `clamp:${intervention.value}` : `ablate-${intervention.kind}`;
}

export function parseAction(action: string): Intervention {
  if (action === "ablate-zero") return { kind: "zero" };
  if (action === "ablate-mean") return { kind: "mean" };
  const value = action.startsWith("clamp:") ? Number(action.slice(6)) : Number.NaN;
  if (action.startsWith("clamp:") && Number.isFinite(value)) return { kind: "clamp", value };
  throw new RangeError(
    `action "${action}" is not one of ablate-zero, ablate-mean, clamp:VALUE (VALUE a finite number)`,
  );
}

/** What an intervention sets a value to, in words ("set to 0", "set to its mean 0.12"). */
export function describe(intervention: Intervention, mean: number): string {
  if (intervention.kind === "zero") return "set to 0";
  if (intervention.kind === "mean") return `set to its mean over the data, ${mean.toPrecision(3)}`;
  return `clamped to ${intervention.value.toPrecision(3)}`;
}

/** The buttons of a neuron's detail: ablate it (zero, mean) or clamp it at its largest value. */
export function neuronActions(max: number): NonNullable<DetailFigure["actions"]> {
  return [
    {
      label: "Ablate: set to 0",
      action: "ablate-zero",
      help: "Run the val sample again with this neuron's output replaced by 0, and compare",
    },
    {
      label: "Ablate: set to its mean",
      action: "ablate-mean",
      help: "Replace it by its mean over the data: removes what it says about this input, keeps its average push",
    },
    {
      label: `Clamp at its max (${max.toPrecision(3)})`,
      action: actionId({ kind: "clamp", value: Number(max.toPrecision(4)) }),
      help: "Make it fire as hard as it ever does on the data, on every token",
    },
  ];
}

export const headActions: NonNullable<DetailFigure["actions"]> = [
  {
    label: "Ablate head: set to 0",
    action: "ablate-zero",
    help: "Run the val sample again with this head's output replaced by 0, and compare",
  },
  {
    label: "Ablate head: set to its mean",
    action: "ablate-mean",
    help: "Replace the head's output by its mean over the data, and compare",
  },
];

// #region set-channels
/**
 * Intervene on a Linear's input: a forward pre-hook that replaces channels `channels` of the last
 * dimension by `values`, before the layer reads them. On c_proj of a GPT's MLP that is one
 * neuron's activation (c_proj reads the 4C activations); on c_proj of an attention it is one
 * head's slice of channels. remove() on the handle restores the model exactly.
 */
export function setInputChannels(linear: Linear, channels: number[], values: number[]): RemovableHandle {
  return linear.registerForwardPreHook((_module, inputs) => {
    const x = inputs[0] as Tensor;
    const K = x.shape[x.shape.length - 1]!;
    const keep = new Float32Array(K).fill(1);
    const set = new Float32Array(K);
    channels.forEach((c, i) => {
      keep[c] = 0;
      set[c] = values[i]!;
    });
    return [x.mul(fromValues(keep, [K])).add(fromValues(set, [K]))];
  });
}
// #endregion

/** Run fn with the hooks attached, then remove them (also when fn throws). */
async function withHooks<T>(attach: () => RemovableHandle[], fn: () => Promise<T>): Promise<T> {
  const handles = attach();
  try {
    return await fn();
  } finally {
    for (const handle of handles) handle.remove();
  }
}

/** Counts of values in `bins` equal bins between their min and max. */
export function histogram(values: ArrayLike<number>, bins = 40): { edges: number[]; counts: number[] } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]!);
    hi = Math.max(hi, values[i]!);
  }
  if (!(hi > lo)) hi = lo + 1;
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++)
    counts[Math.min(bins - 1, Math.floor((values[i]! - lo) / width))]!++;
  return { edges: Array.from({ length: bins + 1 }, (_, b) => lo + b * width), counts };
}

/** The k largest and k smallest entries of a vector, as (index, value), strongest first. */
export function extremes(values: ArrayLike<number>, k: number, limit = values.length) {
  const order = Array.from({ length: Math.min(limit, values.length) }, (_, i) => i).sort(
    (a, b) => values[b]! - values[a]!,
  );
  return {
    up: order.slice(0, k).map((i) => ({ id: i, value: values[i]! })),
    down: order
      .slice(-k)
      .reverse()
      .map((i) => ({ id: i, value: values[i]! })),
  };
}

/**
 * The sequences (windows of the data) whose strongest value is largest, one context each: the
 * window's max position and the tokens around it. `value(s, t)` is the unit's value at token t
 * of sequence s; `tokens(s)` the sequence's token texts.
 */
export function topContexts(
  count: number,
  length: (s: number) => number,
  value: (s: number, t: number) => number,
  text: (s: number, t: number) => string,
  k: number,
  around: { before: number; after: number },
): NonNullable<DetailFigure["examples"]>["contexts"] {
  const best: { s: number; t: number; v: number }[] = [];
  for (let s = 0; s < count; s++) {
    let t = 0;
    for (let u = 1; u < length(s); u++) if (value(s, u) > value(s, t)) t = u;
    best.push({ s, t, v: value(s, t) });
  }
  best.sort((a, b) => b.v - a.v || a.s - b.s);
  return best.slice(0, k).map(({ s, t }) => {
    const from = Math.max(0, t - around.before);
    const to = Math.min(length(s), t + around.after + 1);
    return {
      tokens: Array.from({ length: to - from }, (_, i) => ({
        text: text(s, from + i),
        value: value(s, from + i),
      })),
      max: t - from,
    };
  });
}

/** The likeliest next tokens, as a compare cell. */
function topTokens(probs: ArrayLike<number>, k: number, decode: (id: number) => string, limit: number) {
  return extremes(probs, k, limit).up.map(({ id, value }) => ({ text: decode(id), value }));
}

// ---------------------------------------------------------------------------------------------
// GPTs (lessons 7 and 9)

export interface GPTProbeOptions {
  /** Token ids of the held-out text (the val split). */
  val: ArrayLike<number>;
  /** How many windows of it, and how long each (default: the block size, at most 64). */
  windows: number;
  length?: number;
  decode: (id: number) => string;
  /** Ids at or above this are padding no text uses (GPT-2's 50,304). */
  vocabLimit?: number;
}

/** A neuron or a head of a GPT. */
export type GPTUnit = { layer: number; neuron: number } | { layer: number; head: number };

/**
 * A GPT and a fixed sample of its val data: the activations of its neurons and heads over that
 * sample (read through hooks, cached per layer), its loss on it, and the same under interventions.
 */
export class GPTProbe {
  readonly windows: number;
  readonly length: number;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly cache = new Map<string, Promise<Float32Array>>();
  private baseLoss: Promise<number> | undefined;

  constructor(
    readonly model: GPT,
    readonly options: GPTProbeOptions,
  ) {
    const { val } = options;
    this.length = Math.min(options.length ?? 64, model.config.blockSize, val.length - 1);
    if (this.length < 1) throw new RangeError(`the val data (${val.length} tokens) is too short to probe`);
    this.windows = Math.max(1, Math.min(options.windows, Math.floor((val.length - 1) / this.length)));
    const T = this.length;
    this.x = new Int32Array(this.windows * T);
    this.y = new Int32Array(this.windows * T);
    // Evenly spaced windows over the whole val text, the same ones for every measurement.
    const stride = Math.floor((val.length - 1 - T) / Math.max(1, this.windows - 1));
    for (let w = 0; w < this.windows; w++) {
      const start = this.windows === 1 ? 0 : w * stride;
      for (let t = 0; t < T; t++) {
        this.x[w * T + t] = val[start + t]!;
        this.y[w * T + t] = val[start + t + 1]!;
      }
    }
  }

  get tokens(): number {
    return this.windows * this.length;
  }

  /** Windows per forward: the logits of a batch stay near 8 million numbers. */
  private get batch(): number {
    const perBatch = Math.max(this.length, Math.min(4096, Math.floor(8e6 / this.model.config.vocabSize)));
    return Math.max(1, Math.floor(perBatch / this.length));
  }

  private batchTensors(from: number, to: number): { x: Tensor; y: Tensor } {
    const T = this.length;
    return {
      x: fromValues(this.x.subarray(from * T, to * T), [to - from, T], { dtype: "int32" }),
      y: fromValues(this.y.subarray(from * T, to * T), [to - from, T], { dtype: "int32" }),
    };
  }

  /** The token id at window w, position t. */
  id(w: number, t: number): number {
    return this.x[w * this.length + t]!;
  }

  /** The mean next-token loss over the sample, with whatever hooks are attached now. */
  private async measureLoss(): Promise<number> {
    let total = 0;
    for (let from = 0; from < this.windows; from += this.batch) {
      const to = Math.min(this.windows, from + this.batch);
      const loss = noGrad(() =>
        tidy(() => {
          const { x, y } = this.batchTensors(from, to);
          return this.model.forward(x, { targets: y }).loss!;
        }),
      );
      total += (await loss.data())[0]! * (to - from);
      loss.dispose();
    }
    return total / this.windows;
  }

  /** The unchanged model's loss (eval mode: no dropout). */
  loss(): Promise<number> {
    this.baseLoss ??= this.evaluating(() => this.measureLoss());
    return this.baseLoss;
  }

  private async evaluating<T>(fn: () => Promise<T>): Promise<T> {
    const was = this.model.training;
    this.model.eval();
    try {
      return await fn();
    } finally {
      this.model.train(was);
    }
  }

  /** What `linear` reads over the whole sample, [windows · length, in], through a pre-hook. */
  private inputsOf(key: string, linear: Linear): Promise<Float32Array> {
    let cached = this.cache.get(key);
    if (!cached) {
      cached = this.evaluating(async () => {
        const parts: Float32Array[] = [];
        for (let from = 0; from < this.windows; from += this.batch) {
          const to = Math.min(this.windows, from + this.batch);
          const seen = noGrad(() =>
            tidy(() => {
              const inputs: Tensor[] = [];
              // A copy out of every scope: the model may free its own temporaries as it goes.
              const handle = linear.registerForwardPreHook(
                (_m, [x]) => void inputs.push(keep((x as Tensor).clone())),
              );
              try {
                this.model.forward(this.batchTensors(from, to).x, { lastOnly: true });
              } finally {
                handle.remove();
              }
              return inputs[0]!;
            }),
          );
          parts.push((await seen.data()) as Float32Array);
          seen.dispose();
        }
        const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          all.set(p, at);
          at += p.length;
        }
        return all;
      });
      this.cache.set(key, cached);
    }
    return cached;
  }

  private block(layer: number) {
    const blocks = [...this.model.transformer.h];
    const block = blocks[layer];
    if (!block) throw new RangeError(`no block ${layer} (the model has blocks 0 to ${blocks.length - 1})`);
    return block;
  }

  /** The GELU activations of block `layer`'s MLP over the sample, [tokens, 4C]. */
  mlpActivations(layer: number): Promise<Float32Array> {
    return this.inputsOf(`mlp${layer}`, this.block(layer).mlp.c_proj);
  }

  /** The heads' outputs of block `layer`, joined, before c_proj mixes them: [tokens, C]. */
  headOutputs(layer: number): Promise<Float32Array> {
    return this.inputsOf(`attn${layer}`, this.block(layer).attn.c_proj);
  }

  checkUnit(unit: GPTUnit): void {
    const { nEmbd: C, nHead } = this.model.config;
    this.block(unit.layer);
    if ("neuron" in unit && !(Number.isInteger(unit.neuron) && unit.neuron >= 0 && unit.neuron < 4 * C))
      throw new RangeError(`no MLP neuron ${unit.neuron} in block ${unit.layer} (neurons 0 to ${4 * C - 1})`);
    if ("head" in unit && !(Number.isInteger(unit.head) && unit.head >= 0 && unit.head < nHead))
      throw new RangeError(`no head ${unit.head} in block ${unit.layer} (heads 0 to ${nHead - 1})`);
  }

  /** One neuron over the sample: its top contexts, histogram, mean and max, and its direct effect. */
  async neuron(layer: number, neuron: number, k = 8) {
    this.checkUnit({ layer, neuron });
    const H = 4 * this.model.config.nEmbd;
    const acts = await this.mlpActivations(layer);
    const T = this.length;
    const value = (w: number, t: number) => acts[(w * T + t) * H + neuron]!;
    const values = Float32Array.from({ length: this.tokens }, (_, i) => acts[i * H + neuron]!);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const max = values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
    const chars = this.model.config.vocabSize < 1000;
    const contexts = topContexts(
      this.windows,
      () => T,
      value,
      (w, t) => this.options.decode(this.id(w, t)),
      k,
      chars ? { before: 28, after: 4 } : { before: 10, after: 3 },
    );
    const examples: NonNullable<DetailFigure["examples"]> = {
      label: `What it responds to: the ${contexts.length} val windows where it fires most (of ${this.windows} windows, ${this.tokens.toLocaleString("en")} tokens); each token coloured by its activation there (orange: positive, violet: negative), the strongest boxed`,
      contexts,
    };
    const bins = histogram(values);
    const top = values.indexOf(max);
    const [w, t] = [Math.floor(top / T), top % T];
    const ids = Array.from({ length: t + 1 }, (_, u) => this.id(w, u));
    return {
      mean,
      max,
      /** The context where it fires most, up to that token. */
      top: {
        label: `"…${ids.slice(-12).map(this.options.decode).join("").replace(/\n/g, "↵")}" (its strongest context)`,
        ids,
      },
      examples,
      histogram: {
        label: `Its activation on ${this.tokens.toLocaleString("en")} val tokens`,
        ...bins,
        marks: [{ label: "mean", value: mean }],
      } satisfies DetailFigure["histogram"],
      effects: await this.directEffect(layer, neuron),
    };
  }

  // #region direct-effect
  /**
   * Direct logit attribution: the neuron writes a_j · W_proj[:, j] into the residual stream, and
   * the output reads the stream through ln_f and wte. Ignoring ln_f's normalisation (its 1/σ),
   * with its gain γ folded in, one unit of activation adds (γ ⊙ W_proj[:, j]) · wte[v] to token v's logit.
   */
  async directEffect(layer: number, neuron: number, k = 8): Promise<NonNullable<DetailFigure["effects"]>> {
    const { mlp } = this.block(layer);
    const tr = this.model.transformer;
    const logits = noGrad(() =>
      tidy(() => {
        const column = mlp.c_proj.weight.select(1, neuron); // [C]
        const write = tr.ln_f.weight ? column.mul(tr.ln_f.weight) : column;
        return tr.wte.weight.matmul(write.reshape([-1, 1])).reshape([-1]); // [V]
      }),
    );
    const values = await logits.data();
    logits.dispose();
    const { up, down } = extremes(values, k, this.options.vocabLimit);
    const shown = ({ id, value }: { id: number; value: number }) => ({
      text: this.options.decode(id),
      value,
    });
    return {
      label: "What it does: the tokens whose logits one unit of its activation raises and lowers most",
      up: up.map(shown),
      down: down.map(shown),
      note: "Direct effect only: its column of c_proj times ln_f's gain γ, read by the unembedding wte; ln_f's division by the stream's size (1/σ) and the later layers are ignored.",
    };
  }
  // #endregion

  /** The hooks that carry out an intervention on a unit, and what it sets the unit to, in words. */
  private async attach(
    unit: GPTUnit,
    intervention: Intervention,
  ): Promise<{ hooks: () => RemovableHandle[]; what: string }> {
    this.checkUnit(unit);
    const block = this.block(unit.layer);
    if ("neuron" in unit) {
      let value = intervention.kind === "clamp" ? intervention.value : 0;
      if (intervention.kind === "mean") value = (await this.neuron(unit.layer, unit.neuron)).mean;
      return {
        hooks: () => [setInputChannels(block.mlp.c_proj, [unit.neuron], [value])],
        what: describe(intervention, value),
      };
    }
    const hs = this.model.config.nEmbd / this.model.config.nHead;
    const channels = Array.from({ length: hs }, (_, c) => unit.head * hs + c);
    let values = channels.map(() => (intervention.kind === "clamp" ? intervention.value : 0));
    if (intervention.kind === "mean") {
      const outputs = await this.headOutputs(unit.layer);
      const C = this.model.config.nEmbd;
      values = channels.map((c) => {
        let sum = 0;
        for (let i = 0; i < this.tokens; i++) sum += outputs[i * C + c]!;
        return sum / this.tokens;
      });
    }
    return {
      hooks: () => [setInputChannels(block.attn.c_proj, channels, values)],
      what:
        intervention.kind === "mean"
          ? "set to its mean output over the data"
          : describe(intervention, Number.NaN),
    };
  }

  /** The val loss with the unit under the intervention (the hooks removed again after). */
  async lossWith(unit: GPTUnit, intervention: Intervention): Promise<number> {
    const { hooks } = await this.attach(unit, intervention);
    return this.evaluating(() => withHooks(hooks, () => this.measureLoss()));
  }

  /** Next-token probabilities after ids (the last position). */
  private async nextProbs(ids: number[]): Promise<Float32Array> {
    const probs = noGrad(() =>
      tidy(() => {
        const x = fromValues(
          ids.slice(-this.model.config.blockSize),
          [1, Math.min(ids.length, this.model.config.blockSize)],
          {
            dtype: "int32",
          },
        );
        return softmax(this.model.forward(x, { lastOnly: true }).logits, -1);
      }),
    );
    const p = (await probs.data()) as Float32Array;
    probs.dispose();
    return p;
  }

  /**
   * Unchanged against intervened: the val loss, the next-token probabilities after each of
   * `contexts` (ids, with a label), and a sample from `prompt`, drawn with the same seed.
   */
  async compare(
    unit: GPTUnit,
    intervention: Intervention,
    {
      contexts,
      prompt,
      sampleTokens,
    }: { contexts: { label: string; ids: number[] }[]; prompt: number[]; sampleTokens: number },
  ): Promise<{ before: number; after: number; compare: NonNullable<DetailFigure["compare"]> }> {
    const decode = this.options.decode;
    const limit = this.options.vocabLimit ?? this.model.config.vocabSize;
    const measure = async () => {
      const probs = [];
      for (const c of contexts) probs.push(topTokens(await this.nextProbs(c.ids), 5, decode, limit));
      const sample = await this.model.generate(prompt.slice(-this.model.config.blockSize), sampleTokens, {
        generator: new Random(1),
        topK: null,
        vocabLimit: limit,
      });
      const ids = [...(await sample.data())].slice(Math.min(prompt.length, this.model.config.blockSize));
      sample.dispose();
      return { probs, text: ids.map(decode).join("") };
    };
    const before = await this.loss();
    const plain = await this.evaluating(measure);
    const { hooks, what: done } = await this.attach(unit, intervention);
    const { after, changed } = await this.evaluating(() =>
      withHooks(hooks, async () => ({ after: await this.measureLoss(), changed: await measure() })),
    );
    const what = "neuron" in unit ? "neuron" : "head";
    const columns = ["unchanged model", `${what} ${intervention.kind === "clamp" ? "clamped" : "ablated"}`];
    return {
      before,
      after,
      compare: {
        label: `Side by side: the model as trained, and with the ${what} ${done}`,
        columns,
        rows: [
          ...contexts.map((c, i) => ({
            label: `next token after ${c.label}`,
            cells: [plain.probs[i]!, changed.probs[i]!],
          })),
          { label: `a sample of ${sampleTokens} tokens (same seed)`, cells: [plain.text, changed.text] },
        ],
      },
    };
  }

  /** The val loss with each head of each layer ablated (zero) in turn: [layer][head] → loss. */
  async headSweep(): Promise<number[][]> {
    const { nLayer, nHead } = this.model.config;
    const rows: number[][] = [];
    for (let layer = 0; layer < nLayer; layer++) {
      const row: number[] = [];
      for (let head = 0; head < nHead; head++)
        row.push(await this.lossWith({ layer, head }, { kind: "zero" }));
      rows.push(row);
    }
    return rows;
  }
}

/**
 * A change in loss as the losses beside it are shown: signed, to 4 decimals (+0.0001, not the
 * 5.245e-5 a generic number format gives, beside a "+0.00%").
 */
export function signedLoss(delta: number): string {
  if (!Number.isFinite(delta)) return String(delta);
  return `${delta >= 0 ? "+" : "-"}${Math.abs(delta).toFixed(4)}`;
}

/**
 * The detail of an intervention's result: the loss before and after, and the comparison. Its
 * id is "intervention", so a second intervention replaces the first.
 */
export function interventionFigure(
  title: string,
  of: DetailFigure["of"],
  {
    before,
    after,
    tokens,
    compare,
    code,
    split = "val",
    unit = "unit",
  }: {
    before: number;
    after: number;
    tokens: string;
    /** What was changed, as the caption names it ("neuron", "head"). */
    unit?: string;
    /** The held-out split's name ("val", or "dev" as makemore's lectures call it). */
    split?: string;
    compare: NonNullable<DetailFigure["compare"]>;
    code: NonNullable<DetailFigure["code"]>;
  },
): DetailFigure {
  const delta = after - before;
  return {
    kind: "detail",
    id: "intervention",
    title,
    wide: true,
    ...(of ? { of } : {}),
    values: [
      { label: `${split} loss, unchanged`, value: before },
      { label: `${split} loss, intervened`, value: after },
      { label: "change Δ", value: signedLoss(delta) },
      {
        label: "change, % of the loss",
        value: `${delta >= 0 ? "+" : ""}${((100 * delta) / before).toFixed(2)}%`,
      },
      { label: "measured on", value: tokens },
    ],
    compare,
    tex: `\\Delta L = L_{\\text{intervened}} - L = ${after.toFixed(4)} - ${before.toFixed(4)} = ${delta >= 0 ? "+" : ""}${delta.toFixed(4)}`,
    code,
    caption:
      Math.abs(delta) < 1e-3 * before
        ? `Hardly any change (under 0.1% of the loss): on these tokens the model does not rely on this ${unit}, or others make up for it.`
        : delta > 0
          ? `The loss went up: the model needed what this ${unit} does on these tokens.`
          : `The loss went down: on these tokens the model does better without what this ${unit} does.`,
  };
}

// ---------------------------------------------------------------------------------------------
// makemore's MLP (lesson 3)

/**
 * Lesson 3's MLP and its dev split: its hidden units over every dev window. Mlp computes its
 * hidden layer inside forward (no module of its own to hook), so an intervention is a forward
 * hook on the model that moves the logits by what the changed unit would add:
 * logits + (v − h_j) · W2[j, :], the same as running the MLP with h_j replaced by v.
 */
export class MlpProbe {
  private hiddenCache: Promise<Float32Array> | undefined;
  private words: { start: number; end: number }[] | undefined;
  private contexts: Int32Array | undefined;
  private baseLoss: number | undefined;

  constructor(
    readonly model: Mlp,
    readonly vocab: CharVocabulary,
    readonly dev: WindowTensors,
  ) {}

  get windows(): number {
    return this.dev.X.shape[0]!;
  }

  get nHidden(): number {
    return this.model.config.nHidden;
  }

  /** tanh activations of every hidden unit on every dev window, [windows, nHidden]. */
  hidden(): Promise<Float32Array> {
    this.hiddenCache ??= (async () => {
      const h = noGrad(() => tidy(() => this.model.hidden(this.dev.X)));
      const values = (await h.data()) as Float32Array;
      h.dispose();
      return values;
    })();
    return this.hiddenCache;
  }

  /** The dev set's words, as runs of windows (a word starts where its context is all '.'). */
  private async wordRuns(): Promise<{ runs: { start: number; end: number }[]; X: Int32Array }> {
    if (!this.words || !this.contexts) {
      const X = Int32Array.from(await this.dev.X.data());
      const B = this.model.config.blockSize;
      const runs: { start: number; end: number }[] = [];
      for (let i = 0; i < this.windows; i++) {
        const fresh = X.subarray(i * B, (i + 1) * B).every((c) => c === 0);
        if (fresh || runs.length === 0) runs.push({ start: i, end: i + 1 });
        else runs[runs.length - 1]!.end = i + 1;
      }
      this.words = runs;
      this.contexts = X;
    }
    return { runs: this.words, X: this.contexts };
  }

  checkUnit(unit: number): void {
    if (!(Number.isInteger(unit) && unit >= 0 && unit < this.nHidden))
      throw new RangeError(
        `no hidden neuron ${unit} (the hidden layer has neurons 0 to ${this.nHidden - 1})`,
      );
  }

  /** One hidden unit over the dev set: its top words, histogram, mean and max, and the letters it pushes. */
  async neuron(j: number, k = 8) {
    this.checkUnit(j);
    const H = this.nHidden;
    const h = await this.hidden();
    const { runs, X } = await this.wordRuns();
    const B = this.model.config.blockSize;
    const values = Float32Array.from({ length: this.windows }, (_, i) => h[i * H + j]!);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const max = values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
    // Token t of a word is the last character its window has read ('.' first: the word's start).
    const contexts = topContexts(
      runs.length,
      (s) => runs[s]!.end - runs[s]!.start,
      (s, t) => values[runs[s]!.start + t]!,
      (s, t) => this.vocab.itos[X[(runs[s]!.start + t) * B + B - 1]!]!,
      k,
      { before: 20, after: 20 },
    );
    const W2 = await this.model.W2.data(); // [nHidden, vocab]
    const V = this.vocab.size;
    const row = W2.subarray(j * V, (j + 1) * V);
    const { up, down } = extremes(row, 6);
    const letter = ({ id, value }: { id: number; value: number }) => ({ text: this.vocab.itos[id]!, value });
    const ids = [...X.subarray(values.indexOf(max) * B, (values.indexOf(max) + 1) * B)];
    return {
      mean,
      max,
      /** The window where it fires most. */
      top: { label: `"${ids.map((i) => this.vocab.itos[i]).join("")}" (its strongest context)`, ids },
      examples: {
        label: `What it responds to: the ${contexts.length} dev names where it fires most (of ${runs.length.toLocaleString("en")} names, ${this.windows.toLocaleString("en")} windows); each letter coloured by the neuron's value after reading it (orange: positive, violet: negative), the strongest boxed`,
        contexts,
      } satisfies DetailFigure["examples"],
      histogram: {
        label: `Its tanh activation on all ${this.windows.toLocaleString("en")} dev windows`,
        ...histogram(values),
        marks: [{ label: "mean", value: mean }],
      } satisfies DetailFigure["histogram"],
      effects: {
        label:
          "What it does: the next letters its output weights W2[j, :] raise and lower most (per unit of activation)",
        up: up.map(letter),
        down: down.map(letter),
        note: "A tanh of +1 adds W2[j, b] to letter b's logit; a tanh of −1 subtracts it.",
      } satisfies DetailFigure["effects"],
    };
  }

  // #region mlp-intervention
  /** A forward hook on the model: logits as if hidden unit j had output `value` on every window. */
  setHidden(j: number, value: number): RemovableHandle {
    this.checkUnit(j);
    return this.model.registerForwardHook((model, [X], logits) => {
      const h = model.hidden(X as Tensor).slice(1, j, j + 1); // [B, 1]: what it did output
      const w = model.W2.slice(0, j, j + 1); // [1, vocab]: its output weights
      return (logits as Tensor).add(h.neg().add(value).mul(w));
    });
  }
  // #endregion

  private measureLoss(): number {
    return noGrad(() => {
      let total = 0;
      const n = this.windows;
      for (let start = 0; start < n; start += 8192) {
        const end = Math.min(n, start + 8192);
        total += tidy(() =>
          crossEntropy(this.model.forward(this.dev.X.slice(0, start, end)), this.dev.Y.slice(0, start, end), {
            reduction: "sum",
          }).item(),
        );
      }
      return total / n;
    });
  }

  /** The unchanged model's loss on the dev set. */
  loss(): number {
    this.baseLoss ??= this.measureLoss();
    return this.baseLoss;
  }

  private async valueFor(j: number, intervention: Intervention): Promise<number> {
    if (intervention.kind === "zero") return 0;
    if (intervention.kind === "clamp") return intervention.value;
    return (await this.neuron(j)).mean;
  }

  async lossWith(j: number, intervention: Intervention): Promise<number> {
    const value = await this.valueFor(j, intervention);
    return withHooks(
      () => [this.setHidden(j, value)],
      async () => this.measureLoss(),
    );
  }

  /** Unchanged against intervened: dev loss, next-letter probabilities after a context, and samples. */
  async compare(
    j: number,
    intervention: Intervention,
    context: { label: string; ids: number[] },
  ): Promise<{ before: number; after: number; compare: NonNullable<DetailFigure["compare"]> }> {
    const value = await this.valueFor(j, intervention);
    const B = this.model.config.blockSize;
    const measure = async () => {
      const probs = noGrad(() =>
        tidy(() => softmax(this.model.forward(fromValues(context.ids, [1, B], { dtype: "int32" })), -1)),
      );
      const p = await probs.data();
      probs.dispose();
      const names = sampleWords(this.model, this.vocab, B, 8, { generator: new Random(1) });
      return { probs: topTokens(p, 5, (i) => this.vocab.itos[i]!, this.vocab.size), names: names.join(", ") };
    };
    const before = this.loss();
    const plain = await measure();
    const { after, changed } = await withHooks(
      () => [this.setHidden(j, value)],
      async () => ({ after: this.measureLoss(), changed: await measure() }),
    );
    return {
      before,
      after,
      compare: {
        label: `Side by side: the MLP as trained, and with hidden neuron ${j} ${describe(intervention, value)}`,
        columns: ["unchanged model", intervention.kind === "clamp" ? "neuron clamped" : "neuron ablated"],
        rows: [
          { label: `next letter after ${context.label}`, cells: [plain.probs, changed.probs] },
          { label: "8 sampled names (same seed)", cells: [plain.names, changed.names] },
        ],
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// What the lessons add to a neuron's detail, and the detail of an intervention

const THIS = "lessons/interventions.ts";

/** A makemore hidden unit's detail with its life over the dev set (when training is over). */
export async function withMlpLife(detail: DetailFigure, probe: MlpProbe, j: number): Promise<DetailFigure> {
  const life = await probe.neuron(j);
  return {
    ...detail,
    values: [
      ...detail.values,
      { label: "mean activation over dev", value: life.mean },
      { label: "max activation over dev", value: life.max },
    ],
    examples: life.examples,
    histogram: {
      ...life.histogram,
      marks: [...(life.histogram.marks ?? []), ...thisInput(detail, "activation tanh")],
    },
    effects: life.effects,
    actions: neuronActions(life.max),
  };
}

/** The value a detail shows for this input, as a mark on the histogram. */
function thisInput(detail: DetailFigure, label: string): { label: string; value: number }[] {
  const v = detail.values.find((x) => x.label.startsWith(label))?.value;
  return typeof v === "number" ? [{ label: "this input", value: v }] : [];
}

/** Ablate or clamp a makemore hidden unit and compare: the figure that answers the action. */
export async function mlpIntervention(
  probe: MlpProbe,
  j: number,
  action: string,
  of: DetailFigure["of"],
): Promise<DetailFigure> {
  const intervention = parseAction(action);
  const life = await probe.neuron(j);
  const result = await probe.compare(j, intervention, life.top);
  return interventionFigure(`Hidden neuron ${j} ${describe(intervention, life.mean)}`, of, {
    ...result,
    tokens: `all ${probe.windows.toLocaleString("en")} dev windows`,
    split: "dev",
    unit: "neuron",
    code: {
      file: THIS,
      region: "mlp-intervention",
      line: "return (logits as Tensor).add(h.neg().add(value).mul(w));",
    },
  });
}

/** A GPT MLP neuron's detail fields from its life over the val sample. */
export async function gptNeuronLife(
  probe: GPTProbe,
  layer: number,
  neuron: number,
  current?: number,
): Promise<
  Pick<DetailFigure, "examples" | "histogram" | "effects" | "actions"> & { values: DetailFigure["values"] }
> {
  const life = await probe.neuron(layer, neuron);
  return {
    values: [
      { label: "mean activation over the val sample", value: life.mean },
      { label: "max activation over the val sample", value: life.max },
    ],
    examples: life.examples,
    histogram: {
      ...life.histogram,
      marks: [
        ...(life.histogram.marks ?? []),
        ...(current === undefined ? [] : [{ label: "last prompt token", value: current }]),
      ],
    },
    effects: life.effects,
    actions: neuronActions(life.max),
  };
}

/** Ablate or clamp a GPT neuron or head and compare: the figure that answers the action. */
export async function gptIntervention(
  probe: GPTProbe,
  unit: GPTUnit,
  action: string,
  {
    of,
    prompt,
    promptLabel,
    sampleTokens,
  }: { of: DetailFigure["of"]; prompt: number[]; promptLabel: string; sampleTokens: number },
): Promise<DetailFigure> {
  const intervention = parseAction(action);
  probe.checkUnit(unit);
  const contexts = [{ label: promptLabel, ids: prompt }];
  let title: string;
  if ("neuron" in unit) {
    const life = await probe.neuron(unit.layer, unit.neuron);
    contexts.unshift(life.top);
    title = `Block ${unit.layer}, MLP neuron ${unit.neuron} ${describe(intervention, life.mean)}`;
  } else
    title = `Block ${unit.layer}, head ${unit.head} ${intervention.kind === "mean" ? "set to its mean output" : describe(intervention, 0)}`;
  const result = await probe.compare(unit, intervention, { contexts, prompt, sampleTokens });
  return interventionFigure(title, of, {
    ...result,
    unit: "neuron" in unit ? "neuron" : "head",
    tokens: `${probe.tokens.toLocaleString("en")} val tokens (${probe.windows} windows of ${probe.length})`,
    code: {
      file: THIS,
      region: "set-channels",
      line: "return [x.mul(fromValues(keep, [K])).add(fromValues(set, [K]))];",
    },
  });
}
