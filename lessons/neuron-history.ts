/**
 * A neuron's whole life: while a model trains, record every few steps, for every unit of the
 * layers a network figure draws, lecture 4's diagnostics one neuron at a time: the norm of its
 * incoming weights, its mean activation over the batch, the fraction of the batch where it is
 * dead (ReLU 0) or saturated (|tanh| > 0.97), the norm of its weights' gradient, and its
 * update:data ratio.
 *
 * It attaches with module hooks, so the training loop and the model stay as they are: a forward
 * pre-hook on the model counts training steps and copies the drawn weights at a recorded step, a
 * forward hook reads the layer's activations, and the next step's pre-hook (or settle()) reads the
 * gradients the step left and the weights the optimizer made of them. That relies on what the
 * lectures' loop does: forward, zero the gradients, backward, update.
 *
 * Storage is fixed: `capacity` recorded steps of Float32Arrays per layer. When it is full, every
 * other recorded step is dropped and the interval doubles, so a long run keeps an even sample of
 * its whole life (200 units × 256 steps × 6 series: 1.2 MB). For the network figure's edges it
 * also keeps every weight into the drawn layers, exactly (float32), at fewer of the recorded
 * steps (`weightCapacity`, 64 by default: lesson 3's 30 → 200 → 27 network is 2.9 MB), halved
 * the same way when full.
 */
import type { Module, RemovableHandle } from "../src/nn/index.js";
import { isGradEnabled, type Tensor } from "../src/tensor/index.js";
import { type NetworkHistory, type NeuronHistory, SATURATION } from "./lesson.js";

export interface RecordedLayer {
  /** The layer of the network figure it draws (1: the first after the input). */
  layer: number;
  /**
   * Its weights: unit j's incoming weights are row j ("rows": nn.Linear's [out, in]) or
   * column j ("columns": the lecture's raw W1 of [in, out]).
   */
  weight: Tensor;
  orientation: "rows" | "columns";
  nonlinearity: "tanh" | "relu";
  /** The module whose forward output holds the layer's activations, units last. */
  module: Module;
  /**
   * The activations from that module's forward, when they are not its output (the lecture's Mlp
   * computes its hidden layer inside forward: read it with model.hidden(inputs[0])).
   */
  read?: (inputs: unknown[], output: unknown) => Tensor;
}

/** Weights into a layer of the figure that are kept for its edges only (no unit statistics). */
export type RecordedEdges = Pick<RecordedLayer, "layer" | "weight" | "orientation">;

export interface RecorderOptions {
  /** Record every `interval` training steps (it doubles each time the storage fills). */
  interval?: number;
  /** Recorded steps kept at most (even, at least 2). */
  capacity?: number;
  /**
   * Recorded steps whose weights are kept at most (even, at least 2, at most `capacity`; default
   * 64 or `capacity` if smaller): every weight of a snapshot is kept, so they are fewer than the
   * statistics. The weights kept are the recorded layers' and those of `edges`.
   */
  weightCapacity?: number;
  /** More weights to keep for the figure's edges: into layers whose units are not recorded. */
  edges?: RecordedEdges[];
}

/** One layer's weight snapshots: weightCapacity × to × from values, as NetworkFigure.weights. */
interface WeightStore {
  spec: RecordedEdges;
  from: number;
  to: number;
  values: Float32Array;
}

/** The series of one layer: capacity × units values each, row s for recorded step s. */
interface LayerStore {
  spec: RecordedLayer;
  units: number;
  fanIn: number;
  weightNorm: Float32Array;
  meanActivation: Float32Array;
  dead: Float32Array | null;
  saturated: Float32Array | null;
  gradNorm: Float32Array;
  updateRatio: Float32Array;
  /** The weights at the pending step, to measure the update the optimizer makes of them. */
  before: Float32Array | null;
}

const SERIES = ["weightNorm", "meanActivation", "dead", "saturated", "gradNorm", "updateRatio"] as const;

export class NeuronRecorder {
  private interval: number;
  private readonly capacity: number;
  private readonly stores: LayerStore[];
  private readonly stepsAt: Int32Array;
  private count = 0;
  /** The weight snapshots: every `weightInterval` steps (a multiple of `interval`). */
  private weightInterval: number;
  private readonly weightCapacity: number;
  private readonly weightStores: WeightStore[];
  private readonly weightStepsAt: Int32Array;
  private weightCount = 0;
  /** Training forwards seen: the step the next one is. */
  private step = 0;
  /** Row of the recorded step whose gradient and update are not read yet (-1: none). */
  private pending = -1;
  /** Whether the forward running now is a recorded step's. */
  private capturing = false;
  private readonly handles: RemovableHandle[] = [];

  constructor(
    model: Module,
    layers: RecordedLayer[],
    {
      interval = 10,
      capacity = 256,
      weightCapacity = Math.min(64, capacity),
      edges = [],
    }: RecorderOptions = {},
  ) {
    if (!Number.isInteger(interval) || interval < 1)
      throw new RangeError(`NeuronRecorder: interval must be a whole number >= 1, got ${interval}`);
    if (!Number.isInteger(capacity) || capacity < 2 || capacity % 2 !== 0)
      throw new RangeError(`NeuronRecorder: capacity must be an even number >= 2, got ${capacity}`);
    // Never more snapshots than steps: then each snapshot's step is one of the recorded steps.
    if (
      !Number.isInteger(weightCapacity) ||
      weightCapacity < 2 ||
      weightCapacity % 2 !== 0 ||
      weightCapacity > capacity
    )
      throw new RangeError(
        `NeuronRecorder: weightCapacity must be an even number from 2 to capacity (${capacity}), got ${weightCapacity}`,
      );
    this.interval = interval;
    this.capacity = capacity;
    this.stepsAt = new Int32Array(capacity);
    this.weightInterval = interval;
    this.weightCapacity = weightCapacity;
    this.weightStepsAt = new Int32Array(weightCapacity);
    this.stores = layers.map((spec) => {
      const { to: units, from: fanIn } = weightShape(spec);
      const values = () => new Float32Array(capacity * units);
      return {
        spec,
        units,
        fanIn,
        weightNorm: values(),
        meanActivation: values(),
        dead: spec.nonlinearity === "relu" ? values() : null,
        saturated: spec.nonlinearity === "tanh" ? values() : null,
        gradNorm: values(),
        updateRatio: values(),
        before: null,
      };
    });
    this.weightStores = [...layers, ...edges].map((spec) => {
      const { to, from } = weightShape(spec);
      return { spec, from, to, values: new Float32Array(weightCapacity * to * from) };
    });
    this.handles.push(
      model.registerForwardPreHook(() => {
        this.capturing = false; // also after a forward that threw
        if (!model.training || !isGradEnabled()) return;
        this.settle();
        if (this.step % this.interval === 0) this.begin();
        this.step++;
      }),
    );
    for (const store of this.stores)
      this.handles.push(
        store.spec.module.registerForwardHook((_, inputs, output) => {
          if (!this.capturing) return;
          const acts = store.spec.read ? store.spec.read(inputs, output) : (output as Tensor);
          this.activations(store, acts);
        }),
      );
    this.handles.push(
      model.registerForwardHook(() => {
        this.capturing = false;
      }),
    );
  }

  /** The training steps recorded so far. */
  get steps(): number[] {
    return Array.from(this.stepsAt.subarray(0, this.count));
  }

  /** Bytes the recorded series take (what grows with the run; at most `capacity` steps). */
  get bytes(): number {
    let total = this.stepsAt.byteLength + this.weightStepsAt.byteLength;
    for (const w of this.weightStores) total += w.values.byteLength;
    for (const s of this.stores) {
      for (const name of SERIES) total += s[name]?.byteLength ?? 0;
      total += s.before?.byteLength ?? 0;
    }
    return total;
  }

  /** Detach the hooks: the model is as it was. */
  remove(): void {
    for (const h of this.handles.splice(0)) h.remove();
    this.capturing = false;
  }

  /** Unit `unit` of figure layer `layer` through training, or undefined when it is not recorded. */
  neuron(layer: number, unit: number): NeuronHistory | undefined {
    const store = this.stores.find((s) => s.spec.layer === layer);
    if (!store || !Number.isInteger(unit) || unit < 0 || unit >= store.units) return undefined;
    const series = (values: Float32Array) =>
      Array.from({ length: this.count }, (_, s) => values[s * store.units + unit]!);
    const history: NeuronHistory = {
      nonlinearity: store.spec.nonlinearity,
      steps: this.steps,
      weightNorm: series(store.weightNorm),
      meanActivation: series(store.meanActivation),
      gradNorm: series(store.gradNorm),
      updateRatio: series(store.updateRatio),
    };
    if (store.dead) history.dead = series(store.dead);
    if (store.saturated) history.saturated = series(store.saturated);
    return history;
  }

  /** The drawn layers at every recorded step, for a network figure's replay (copies). */
  network(): NetworkHistory {
    return {
      steps: this.steps,
      layers: this.stores.map((store) => {
        const rows = (values: Float32Array) => values.slice(0, this.count * store.units);
        return {
          layer: store.spec.layer,
          nonlinearity: store.spec.nonlinearity,
          units: store.units,
          meanActivation: rows(store.meanActivation),
          ...(store.dead ? { dead: rows(store.dead) } : {}),
          ...(store.saturated ? { saturated: rows(store.saturated) } : {}),
        };
      }),
      weights: {
        steps: Array.from(this.weightStepsAt.subarray(0, this.weightCount)),
        layers: this.weightStores.map((w) => ({
          layer: w.spec.layer,
          from: w.from,
          to: w.to,
          values: w.values.slice(0, this.weightCount * w.to * w.from),
        })),
      },
    };
  }

  /** Start recording this step: make room, note the step, copy the weights and their norms. */
  private begin(): void {
    if (this.count === this.capacity) this.halve();
    if (this.step % this.interval !== 0) return; // halving doubled the interval past this step
    const row = this.count++;
    this.stepsAt[row] = this.step;
    for (const store of this.stores) {
      const w = Float32Array.from(store.spec.weight.dataSync());
      store.before = w;
      const norms = unitNorms(w, null, store);
      store.weightNorm.set(norms, row * store.units);
      // Until the step's backward and update are seen: NaN, not a stale number.
      store.gradNorm.fill(Number.NaN, row * store.units, (row + 1) * store.units);
      store.updateRatio.fill(Number.NaN, row * store.units, (row + 1) * store.units);
      store.meanActivation.fill(Number.NaN, row * store.units, (row + 1) * store.units);
      store.dead?.fill(Number.NaN, row * store.units, (row + 1) * store.units);
      store.saturated?.fill(Number.NaN, row * store.units, (row + 1) * store.units);
    }
    this.snapshot();
    this.pending = row;
    this.capturing = true;
  }

  /** At a recorded step: every weight into the drawn layers, if this step's are kept. */
  private snapshot(): void {
    if (this.weightStores.length === 0) return;
    if (this.weightCount === this.weightCapacity) {
      const kept = this.weightCount / 2;
      for (let s = 0; s < kept; s++) this.weightStepsAt[s] = this.weightStepsAt[2 * s]!;
      for (const { values, to, from } of this.weightStores)
        for (let s = 0; s < kept; s++)
          values.copyWithin(s * to * from, 2 * s * to * from, (2 * s + 1) * to * from);
      this.weightCount = kept;
      this.weightInterval *= 2;
    }
    if (this.step % this.weightInterval !== 0) return;
    const row = this.weightCount++;
    this.weightStepsAt[row] = this.step;
    for (const { spec, values, to, from } of this.weightStores) {
      const w = spec.weight.dataSync();
      const at = row * to * from;
      if (spec.orientation === "rows") values.set(w.subarray(0, to * from), at);
      else
        for (let j = 0; j < to; j++)
          for (let i = 0; i < from; i++) values[at + j * from + i] = w[i * to + j]!;
    }
  }

  /** The activations [..., units] of the recorded step's batch: mean, dead and saturated fractions. */
  private activations(store: LayerStore, acts: Tensor): void {
    if (acts.shape.at(-1) !== store.units)
      throw new RangeError(
        `NeuronRecorder: layer ${store.spec.layer} has ${store.units} units, its activations have shape [${acts.shape.join(", ")}]`,
      );
    const a = acts.dataSync();
    const n = a.length / store.units;
    const sum = new Float64Array(store.units);
    const zero = new Float64Array(store.units);
    const sat = new Float64Array(store.units);
    for (let b = 0; b < n; b++) {
      for (let j = 0; j < store.units; j++) {
        const v = a[b * store.units + j]!;
        sum[j]! += v;
        if (v <= 0) zero[j]!++;
        if (Math.abs(v) > SATURATION) sat[j]!++;
      }
    }
    const at = this.pending * store.units;
    for (let j = 0; j < store.units; j++) {
      store.meanActivation[at + j] = sum[j]! / n;
      if (store.dead) store.dead[at + j] = zero[j]! / n;
      if (store.saturated) store.saturated[at + j] = sat[j]! / n;
    }
  }

  /**
   * Read the last recorded step's gradient (still in .grad) and its update (the weights now minus
   * before) if not read yet: call it after the loop's last step, and before anything else between
   * two steps zeroes the gradients (a neuron's detail computes its own).
   */
  settle(): void {
    if (this.pending < 0) return;
    for (const store of this.stores) {
      const row = this.pending * store.units;
      const before = store.before!;
      const grad = store.spec.weight.grad?.dataSync();
      if (grad) store.gradNorm.set(unitNorms(grad, null, store), row);
      const now = store.spec.weight.dataSync();
      const update = unitNorms(now, before, store);
      for (let j = 0; j < store.units; j++)
        store.updateRatio[row + j] = Math.log10(update[j]! / store.weightNorm[row + j]!);
      store.before = null;
    }
    this.pending = -1;
  }

  /** Keep every other recorded step (the first, the third, …) and record half as often. */
  private halve(): void {
    const kept = this.count / 2;
    for (let s = 0; s < kept; s++) this.stepsAt[s] = this.stepsAt[2 * s]!;
    for (const store of this.stores)
      for (const name of SERIES) {
        const values = store[name];
        if (!values) continue;
        for (let s = 0; s < kept; s++)
          values.copyWithin(s * store.units, 2 * s * store.units, (2 * s + 1) * store.units);
      }
    this.count = kept; // called before a step is recorded: nothing is pending

    this.interval *= 2;
  }
}

/** Each unit's norm of w (or of w − minus), for weights laid out as the layer's orientation. */
function unitNorms(w: ArrayLike<number>, minus: ArrayLike<number> | null, store: LayerStore): Float64Array {
  const { units, fanIn } = store;
  const rows = store.spec.orientation === "rows";
  const out = new Float64Array(units);
  for (let j = 0; j < units; j++) {
    let sq = 0;
    for (let i = 0; i < fanIn; i++) {
      const k = rows ? j * fanIn + i : i * units + j;
      const v = w[k]! - (minus ? minus[k]! : 0);
      sq += v * v;
    }
    out[j] = Math.sqrt(sq);
  }
  return out;
}

/** The layer's units (to) and their inputs (from), by the weight's orientation; the weight must be 2-D. */
function weightShape(spec: RecordedEdges): { to: number; from: number } {
  if (spec.weight.ndim !== 2)
    throw new RangeError(
      `NeuronRecorder: layer ${spec.layer}'s weight must be 2-D, got shape [${spec.weight.shape.join(", ")}]`,
    );
  const [a, b] = spec.weight.shape as [number, number];
  return spec.orientation === "rows" ? { to: a, from: b } : { to: b, from: a };
}
