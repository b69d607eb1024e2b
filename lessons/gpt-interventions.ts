/**
 * A GPT's neurons and heads over a fixed sample of its val data (lessons 7 and 9): what each
 * responds to, what it writes to the logits, and the val loss, next-token probabilities and a
 * sample with it ablated or clamped (lessons/interventions.ts has what the lessons share).
 *
 * Values are read with await only, so this runs on WebGPU too (lesson 9).
 */
import type { GPT } from "../src/models/gpt.js";
import type { Linear, RemovableHandle } from "../src/nn/index.js";
import { Random } from "../src/random/index.js";
import { fromValues, keep, noGrad, softmax, type Tensor, tidy } from "../src/tensor/index.js";
import {
  describe,
  extremes,
  histogram,
  type Intervention,
  interventionFigure,
  neuronActions,
  parseAction,
  setInputChannels,
  topContexts,
  topTokens,
  withHooks,
} from "./interventions.js";
import type { DetailFigure } from "./lesson.js";

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
      file: "lessons/interventions.ts",
      region: "set-channels",
      line: "return [x.mul(fromValues(keep, [K])).add(fromValues(set, [K]))];",
    },
  });
}
