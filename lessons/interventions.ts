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
import type { Linear, RemovableHandle } from "../src/nn/index.js";
import { fromValues, type Tensor } from "../src/tensor/index.js";
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
export async function withHooks<T>(attach: () => RemovableHandle[], fn: () => Promise<T>): Promise<T> {
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
export function topTokens(
  probs: ArrayLike<number>,
  k: number,
  decode: (id: number) => string,
  limit: number,
) {
  return extremes(probs, k, limit).up.map(({ id, value }) => ({ text: decode(id), value }));
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
