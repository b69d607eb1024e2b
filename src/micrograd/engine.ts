/**
 * Lesson 1: a scalar value with automatic differentiation (micrograd).
 *
 * Every operation returns a new Value that remembers its inputs and the operation that made it.
 * `backward()` orders the graph topologically and, from the output down, lets each node pass its
 * gradient to its inputs with the chain rule: input.grad += (local derivative) · out.grad.
 *
 * The lecture stores a `_backward` closure in every node. Here each node stores its op and
 * `backwardStep()` looks the rule up: the same rules, one place to read them, and a node half the
 * size, which is what lets the moons demo run in a fraction of a second.
 */

export type Scalar = Value | number;

let nextVisitMark = 1;

export class Value {
  data: number;
  grad = 0;
  label: string;
  /** The operation that produced this value ("" for a leaf). */
  readonly op: string;
  /** Inputs of the op (null when unused) and, for `**`, the exponent. */
  private readonly a: Value | null;
  private readonly b: Value | null;
  private readonly exponent: number;
  private visitMark = 0;

  constructor(data: number, prev: readonly Value[] = [], op = "", label = "", exponent = 0) {
    if (prev.length > 2) throw new RangeError("a Value op has at most two inputs");
    this.data = data;
    this.a = prev[0] ?? null;
    this.b = prev[1] ?? null;
    this.op = op;
    this.label = label;
    this.exponent = exponent;
  }

  static of(x: Scalar): Value {
    return x instanceof Value ? x : new Value(x);
  }

  /** The values this one was computed from (micrograd's `_prev`). */
  get prev(): Value[] {
    if (this.a === null) return [];
    return this.b === null ? [this.a] : [this.a, this.b];
  }

  add(other: Scalar): Value {
    const o = Value.of(other);
    return new Value(this.data + o.data, [this, o], "+");
  }

  mul(other: Scalar): Value {
    const o = Value.of(other);
    return new Value(this.data * o.data, [this, o], "*");
  }

  pow(exponent: number): Value {
    if (typeof exponent !== "number") throw new TypeError("Value.pow supports only a number exponent");
    return new Value(this.data ** exponent, [this], "**", "", exponent);
  }

  neg(): Value {
    return this.mul(-1);
  }

  sub(other: Scalar): Value {
    return this.add(Value.of(other).neg());
  }

  /** a / b as a · b⁻¹, the way micrograd writes it. */
  div(other: Scalar): Value {
    return this.mul(Value.of(other).pow(-1));
  }

  /** other - this, for expressions like `1 - x` written from the number's side. */
  rsub(other: number): Value {
    return this.neg().add(other);
  }

  /** other / this. */
  rdiv(other: number): Value {
    return this.pow(-1).mul(other);
  }

  relu(): Value {
    return new Value(Math.max(this.data, 0), [this], "ReLU");
  }

  tanh(): Value {
    return new Value(Math.tanh(this.data), [this], "tanh");
  }

  exp(): Value {
    return new Value(Math.exp(this.data), [this], "exp");
  }

  log(): Value {
    if (this.data <= 0) throw new RangeError(`Value.log of a non-positive number: ${this.data}`);
    return new Value(Math.log(this.data), [this], "log");
  }

  sigmoid(): Value {
    return new Value(1 / (1 + Math.exp(-this.data)), [this], "sigmoid");
  }

  /** The chain rule for this node: add (d this / d input) · this.grad to each input's grad. */
  backwardStep(): void {
    const a = this.a;
    const b = this.b;
    const out = this.data;
    const g = this.grad;
    if (a === null) return; // a leaf
    // += not =: a value used twice (a + a) collects both contributions.
    switch (this.op) {
      case "+":
        a.grad += g;
        b!.grad += g;
        break;
      case "*":
        a.grad += b!.data * g;
        b!.grad += a.data * g;
        break;
      case "**":
        a.grad += this.exponent * a.data ** (this.exponent - 1) * g;
        break;
      case "ReLU":
        a.grad += (out > 0 ? 1 : 0) * g;
        break;
      case "tanh":
        a.grad += (1 - out * out) * g;
        break;
      case "exp":
        a.grad += out * g;
        break;
      case "log":
        a.grad += (1 / a.data) * g;
        break;
      case "sigmoid":
        a.grad += out * (1 - out) * g;
        break;
      default:
        throw new Error(`no backward rule for op "${this.op}"`);
    }
  }

  /** Label shown in the graph: the op, with the exponent for powers. */
  get opLabel(): string {
    return this.op === "**" ? `**${this.exponent}` : this.op;
  }

  /** Set a label (shown in the graph drawing) and return this, for chaining. */
  named(label: string): this {
    this.label = label;
    return this;
  }

  /** Every node this value depends on, inputs before the nodes that use them. */
  topologicalOrder(): Value[] {
    const order: Value[] = [];
    const mark = nextVisitMark++;
    // Iterative depth-first search: a long chain of ops must not overflow the call stack.
    // Each stack entry is a node and how many of its (at most two) inputs were visited.
    const nodeStack: Value[] = [this];
    const childStack: number[] = [0];
    this.visitMark = mark;
    while (nodeStack.length > 0) {
      const top = nodeStack.length - 1;
      const node = nodeStack[top]!;
      const visited = childStack[top]!;
      const child = visited === 0 ? node.a : visited === 1 ? node.b : null;
      if (child !== null) {
        childStack[top] = visited + 1;
        if (child.visitMark !== mark) {
          child.visitMark = mark;
          nodeStack.push(child);
          childStack.push(0);
        }
      } else {
        order.push(node);
        nodeStack.pop();
        childStack.pop();
      }
    }
    return order;
  }

  /** Backpropagation: d(this)/d(node) into every node's grad, accumulating into what is there. */
  backward(): void {
    const order = this.topologicalOrder();
    this.grad = 1;
    for (let i = order.length - 1; i >= 0; i--) order[i]!.backwardStep();
  }

  toString(): string {
    return `Value(data=${this.data}, grad=${this.grad})`;
  }
}

/** Sum of many values as one chain of + nodes (Python's sum(), starting from 0). */
export function sum(values: Iterable<Scalar>, start: Scalar = 0): Value {
  let acc = Value.of(start);
  for (const v of values) acc = acc.add(v);
  return acc;
}
