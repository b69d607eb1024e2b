/**
 * makemore's MLP (lesson 3): its hidden units over every dev window, what each responds to and
 * does, and the dev loss with one ablated or clamped (lessons/interventions.ts has what the
 * lessons share).
 */
import type { CharVocabulary } from "../src/data/index.js";
import { type Mlp, sampleWords } from "../src/models/makemore.js";
import type { RemovableHandle } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { crossEntropy, fromValues, noGrad, softmax, type Tensor, tidy } from "../src/tensor/index.js";
import type { WindowTensors } from "../src/train/makemore.js";
import {
  describe,
  extremes,
  histogram,
  type Intervention,
  interventionFigure,
  neuronActions,
  parseAction,
  topContexts,
  topTokens,
  withHooks,
} from "./interventions.js";
import type { DetailFigure } from "./lesson.js";

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

const THIS = "lessons/mlp-interventions.ts";

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
