/** Lesson 1: neurons, layers and an MLP built from scalar Values. */
import { globalRandom, type Random } from "../random/index.js";
import { type Scalar, sum, Value } from "./engine.js";

export type Activation = "relu" | "tanh" | "linear";

export abstract class Module {
  abstract parameters(): Value[];

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = 0;
  }
}

export interface NeuronOptions {
  activation?: Activation;
  rng?: Random;
}

export class Neuron extends Module {
  readonly w: Value[];
  readonly b: Value;
  readonly activation: Activation;

  constructor(nin: number, { activation = "relu", rng = globalRandom }: NeuronOptions = {}) {
    super();
    this.w = Array.from({ length: nin }, () => new Value(rng.uniform(-1, 1)));
    this.b = new Value(0);
    this.activation = activation;
  }

  /** act = b + Σ wᵢ·xᵢ (summed in that order), then the nonlinearity. */
  call(x: readonly Scalar[]): Value {
    if (x.length !== this.w.length) {
      throw new RangeError(`Neuron expects ${this.w.length} inputs, got ${x.length}`);
    }
    const act = sum(
      this.w.map((wi, i) => wi.mul(x[i]!)),
      this.b,
    );
    if (this.activation === "relu") return act.relu();
    if (this.activation === "tanh") return act.tanh();
    return act;
  }

  override parameters(): Value[] {
    return [...this.w, this.b];
  }

  override toString(): string {
    const kind = this.activation === "linear" ? "Linear" : this.activation === "relu" ? "ReLU" : "Tanh";
    return `${kind}Neuron(${this.w.length})`;
  }
}

export class Layer extends Module {
  readonly neurons: Neuron[];

  constructor(nin: number, nout: number, options: NeuronOptions = {}) {
    super();
    this.neurons = Array.from({ length: nout }, () => new Neuron(nin, options));
  }

  call(x: readonly Scalar[]): Value[] {
    return this.neurons.map((n) => n.call(x));
  }

  override parameters(): Value[] {
    return this.neurons.flatMap((n) => n.parameters());
  }

  override toString(): string {
    return `Layer of [${this.neurons.join(", ")}]`;
  }
}

export interface MLPOptions {
  /** Hidden-layer nonlinearity: micrograd's nn.py uses relu, the lecture's notebook tanh. */
  activation?: "relu" | "tanh";
  /** micrograd's nn.py keeps the last layer linear; the lecture applies tanh everywhere. */
  linearOutput?: boolean;
  rng?: Random;
}

export class MLP extends Module {
  readonly layers: Layer[];

  constructor(nin: number, nouts: readonly number[], options: MLPOptions = {}) {
    super();
    const { activation = "relu", linearOutput = true, rng = globalRandom } = options;
    const sizes = [nin, ...nouts];
    this.layers = nouts.map((nout, i) => {
      const last = i === nouts.length - 1;
      return new Layer(sizes[i]!, nout, { activation: last && linearOutput ? "linear" : activation, rng });
    });
  }

  /** Forward pass; a last layer of one neuron returns that single Value, as in micrograd. */
  call(x: readonly Scalar[]): Value[] {
    let out: Value[] = x.map((xi) => Value.of(xi));
    for (const layer of this.layers) out = layer.call(out);
    return out;
  }

  callScalar(x: readonly Scalar[]): Value {
    const out = this.call(x);
    if (out.length !== 1)
      throw new RangeError(`callScalar needs one output neuron, this MLP has ${out.length}`);
    return out[0]!;
  }

  override parameters(): Value[] {
    return this.layers.flatMap((l) => l.parameters());
  }

  override toString(): string {
    return `MLP of [${this.layers.join(", ")}]`;
  }
}
