/** The layers of the series, with PyTorch's names, shapes and default initialisation. */

import type { DType } from "../backend/index.js";
import { globalRandom, type Random } from "../random/index.js";
import type { Tensor } from "../tensor/index.js";
import {
  batchNorm,
  dropout,
  embedding,
  gelu,
  graphPrivate,
  layerNorm,
  linear,
  ones,
  rand,
  randn,
  relu,
  reshape,
  shapeString,
  squeeze,
  tanh,
  zeros,
} from "../tensor/index.js";
import { buffer, Layer, Module, parameter } from "./module.js";

export interface InitOptions {
  generator?: Random;
  dtype?: DType;
}

/** Uniform in [-bound, bound): PyTorch's default for Linear weights and biases (bound = 1/√fan_in). */
function uniform(
  shape: number[],
  bound: number,
  { generator = globalRandom, dtype = "float32" }: InitOptions,
): Tensor {
  return rand(shape, { generator, dtype })
    .mul(2 * bound)
    .sub(bound);
}

export interface LinearOptions extends InitOptions {
  bias?: boolean;
}

/** y = x Wᵀ + b with W [out, in] (nn.Linear's layout). */
export class Linear extends Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    { bias = true, ...init }: LinearOptions = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = parameter(uniform([outFeatures, inFeatures], bound, init));
    this.bias = bias ? parameter(uniform([outFeatures], bound, init)) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  protected override describe(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** A lookup table of learned vectors, initialised N(0, 1) as in PyTorch. */
export class Embedding extends Layer {
  readonly weight: Tensor;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    init: InitOptions = {},
  ) {
    super();
    this.weight = parameter(randn([numEmbeddings, embeddingDim], init));
  }

  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }

  protected override describe(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  dtype?: DType;
}

/**
 * BatchNorm1d over [N, C] (statistics over dim 0) or [N, T, C] (over dims 0 and 1, channels last as
 * in lecture 6). Training normalises with the biased batch variance and updates the running
 * statistics with momentum, the running variance from the unbiased one (PyTorch's semantics).
 */
export class BatchNorm1d extends Layer {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    { eps = 1e-5, momentum = 0.1, affine = true, dtype = "float32" }: BatchNormOptions = {},
  ) {
    super();
    this.eps = eps;
    this.momentum = momentum;
    this.weight = affine ? parameter(ones([numFeatures], { dtype })) : null;
    this.bias = affine ? parameter(zeros([numFeatures], { dtype })) : null;
    this.runningMean = buffer(zeros([numFeatures], { dtype }));
    this.runningVar = buffer(ones([numFeatures], { dtype }));
  }

  forward(x: Tensor): Tensor {
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape.at(-1) !== this.numFeatures) {
      throw new RangeError(
        `BatchNorm1d(${this.numFeatures}) expects [N, ${this.numFeatures}] or [N, T, ${this.numFeatures}], got ${shapeString(x.shape)}`,
      );
    }
    return batchNorm(x, {
      dims: x.ndim === 2 ? [0] : [0, 1],
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }

  protected override describe(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  bias?: boolean;
  dtype?: DType;
}

/** Normalise over the last dims (normalizedShape), then scale and shift. */
export class LayerNorm extends Layer {
  readonly normalizedShape: number[];
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;

  constructor(
    normalizedShape: number | number[],
    { eps = 1e-5, elementwiseAffine = true, bias = true, dtype = "float32" }: LayerNormOptions = {},
  ) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    this.eps = eps;
    this.weight = elementwiseAffine ? parameter(ones(this.normalizedShape, { dtype })) : null;
    this.bias = elementwiseAffine && bias ? parameter(zeros(this.normalizedShape, { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  protected override describe(): string {
    return `[${this.normalizedShape.join(", ")}], eps=${this.eps}`;
  }
}

export class Tanh extends Layer {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class ReLU extends Layer {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class GELU extends Layer {
  constructor(readonly approximate: "none" | "tanh" = "none") {
    super();
  }

  forward(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }

  protected override describe(): string {
    return `approximate=${this.approximate}`;
  }
}

/** Zeroes elements with probability p during training and scales the rest by 1/(1-p). */
export class Dropout extends Layer {
  constructor(
    readonly p = 0.5,
    readonly generator: Random = globalRandom,
  ) {
    super();
    if (p < 0 || p > 1) throw new RangeError(`Dropout: probability must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, generator: this.generator });
  }

  protected override describe(): string {
    return `p=${this.p}`;
  }
}

/** Flatten all dims after the first: [N, a, b] → [N, a·b]. */
export class Flatten extends Layer {
  forward(x: Tensor): Tensor {
    return reshape(x, [x.shape[0]!, -1]);
  }
}

/**
 * Lecture 6: merge n consecutive time steps into one vector, [B, T, C] → [B, T/n, C·n], dropping
 * the time dim when it becomes 1. This is what makes the WaveNet hierarchical.
 */
export class FlattenConsecutive extends Layer {
  constructor(readonly n: number) {
    super();
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 3)
      throw new RangeError(`FlattenConsecutive expects [B, T, C], got ${shapeString(x.shape)}`);
    const [B, T, C] = x.shape as [number, number, number];
    if (T % this.n !== 0) {
      throw new RangeError(
        `FlattenConsecutive(${this.n}): time dim ${T} of ${shapeString(x.shape)} is not divisible by ${this.n}`,
      );
    }
    const y = reshape(x, [B, T / this.n, C * this.n]);
    return y.shape[1] === 1 ? squeeze(y, 1) : y;
  }

  protected override describe(): string {
    return `${this.n}`;
  }
}

/** Layers applied in order. */
export class Sequential extends Layer {
  readonly layers: Layer[];

  constructor(...layers: Layer[]) {
    super();
    this.layers = layers;
  }

  /**
   * When every layer is one of this file's, the intermediates between layers reach no user code:
   * backward frees them with the graph (docs/MEMORY.md). With any user layer anywhere inside, the
   * loop is a plain one: user code may keep an intermediate, or a tape through it, or pass
   * values that are not tensors, and the collector frees what it drops.
   */
  forward(x: Tensor): Tensor {
    if (!onlyPrivateForwards(this)) {
      for (const layer of this.layers) x = layer.forward(x);
      return x;
    }
    return graphPrivate(() => {
      for (const layer of this.layers) x = layer.forward(x);
      return x;
    });
  }

  override namedChildren(): [string, Layer][] {
    return this.layers.map((l, i) => [String(i), l]);
  }
}

/** A list of modules whose parameters are registered (names "0", "1", …). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];

  constructor(items: Iterable<M> = []) {
    super();
    this.items = [...items];
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    const m = this.items.at(i);
    if (!m) throw new RangeError(`ModuleList index ${i} is out of range for ${this.items.length} modules`);
    return m;
  }

  push(m: M): void {
    this.items.push(m);
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  override namedChildren(): [string, Module][] {
    return this.items.map((m, i) => [String(i), m]);
  }
}

/**
 * Forwards that keep no reference to what they compute: Sequential may own their intermediates.
 * A subclass that overrides forward is not in it, nor is a layer with a hook (hooks.ts wraps its
 * forward: the hook may keep what it sees).
 */
const privateForwards = new Set<(x: Tensor) => Tensor>(
  [
    Linear,
    Embedding,
    BatchNorm1d,
    LayerNorm,
    Tanh,
    ReLU,
    GELU,
    Dropout,
    Flatten,
    FlattenConsecutive,
    Sequential,
  ].map((layer) => layer.prototype.forward),
);

function onlyPrivateForwards(layer: Layer): boolean {
  if (!privateForwards.has(layer.forward)) return false;
  return !(layer instanceof Sequential) || layer.layers.every(onlyPrivateForwards);
}
