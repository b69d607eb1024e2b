/**
 * Run a small program of micrograd expressions written in the lecture's Python syntax:
 *   c = a + b;  d += d * 2 + (b + a).relu();  g = f / 2.0;  e = (2 * n).exp()
 * Supports + - * / ** (number exponent), unary -, parentheses, numbers, variables and the
 * methods relu(), tanh(), exp(), log(), sigmoid(). Used by the tests (the fixtures are written
 * this way) and by the lab, where a learner types an expression and sees its graph.
 */
import { type Scalar, Value } from "./engine.js";

type Token = { kind: "num"; value: number } | { kind: "name"; value: string } | { kind: "op"; value: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*)|(\*\*|[-+*/().]))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new SyntaxError(`unexpected character at ${pos} in "${src}"`);
    if (m[1] !== undefined) tokens.push({ kind: "num", value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ kind: "name", value: m[2] });
    else tokens.push({ kind: "op", value: m[3]! });
    pos = re.lastIndex;
  }
  return tokens;
}

const METHODS = new Set(["relu", "tanh", "exp", "log", "sigmoid"]);

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly vars: Map<string, Value>,
    private readonly src: string,
  ) {}

  parse(): Scalar {
    const v = this.additive();
    if (this.i < this.tokens.length) throw new SyntaxError(`unexpected token in "${this.src}"`);
    return v;
  }

  private peekOp(...ops: string[]): string | undefined {
    const t = this.tokens[this.i];
    return t?.kind === "op" && ops.includes(t.value) ? t.value : undefined;
  }

  private expectOp(op: string): void {
    if (!this.peekOp(op)) throw new SyntaxError(`expected "${op}" in "${this.src}"`);
    this.i++;
  }

  private additive(): Scalar {
    let left = this.multiplicative();
    for (let op = this.peekOp("+", "-"); op; op = this.peekOp("+", "-")) {
      this.i++;
      const right = this.multiplicative();
      left = op === "+" ? add(left, right) : sub(left, right);
    }
    return left;
  }

  private multiplicative(): Scalar {
    let left = this.unary();
    for (let op = this.peekOp("*", "/"); op; op = this.peekOp("*", "/")) {
      this.i++;
      const right = this.unary();
      left = op === "*" ? mul(left, right) : div(left, right);
    }
    return left;
  }

  // Python: -x**2 is -(x**2), so unary minus sits above power.
  private unary(): Scalar {
    if (this.peekOp("-")) {
      this.i++;
      const v = this.unary();
      return typeof v === "number" ? -v : v.neg();
    }
    if (this.peekOp("+")) {
      this.i++;
      return this.unary();
    }
    return this.power();
  }

  private power(): Scalar {
    const base = this.postfix();
    if (!this.peekOp("**")) return base;
    this.i++;
    const exponent = this.unary(); // right-associative
    if (typeof exponent !== "number") throw new TypeError(`Value ** Value is not supported in "${this.src}"`);
    return typeof base === "number" ? base ** exponent : base.pow(exponent);
  }

  private postfix(): Scalar {
    let v = this.atom();
    while (this.peekOp(".")) {
      this.i++;
      const name = this.tokens[this.i++];
      if (name?.kind !== "name" || !METHODS.has(name.value)) {
        throw new SyntaxError(`unknown method in "${this.src}" (known: ${[...METHODS].join(", ")})`);
      }
      this.expectOp("(");
      this.expectOp(")");
      const value = Value.of(v);
      v = (value[name.value as "relu"] as () => Value).call(value);
    }
    return v;
  }

  private atom(): Scalar {
    const t = this.tokens[this.i++];
    if (!t) throw new SyntaxError(`unexpected end of "${this.src}"`);
    if (t.kind === "num") return t.value;
    if (t.kind === "name") {
      const v = this.vars.get(t.value);
      if (!v) throw new ReferenceError(`name "${t.value}" is not defined in "${this.src}"`);
      return v;
    }
    if (t.value === "(") {
      const v = this.additive();
      this.expectOp(")");
      return v;
    }
    throw new SyntaxError(`unexpected "${t.value}" in "${this.src}"`);
  }
}

const add = (a: Scalar, b: Scalar): Scalar =>
  typeof a === "number" ? (typeof b === "number" ? a + b : b.add(a)) : a.add(b);
const sub = (a: Scalar, b: Scalar): Scalar =>
  typeof a === "number" ? (typeof b === "number" ? a - b : b.rsub(a)) : a.sub(b);
const mul = (a: Scalar, b: Scalar): Scalar =>
  typeof a === "number" ? (typeof b === "number" ? a * b : b.mul(a)) : a.mul(b);
const div = (a: Scalar, b: Scalar): Scalar =>
  typeof a === "number" ? (typeof b === "number" ? a / b : b.rdiv(a)) : a.div(b);

/** Evaluate one expression against named Values. */
export function evaluate(expression: string, vars: Map<string, Value>): Value {
  return Value.of(new Parser(tokenize(expression), vars, expression).parse());
}

/**
 * Run statements `name = expr` and `name += expr` in order, starting from leaf values.
 * Returns every variable (leaves included), each Value labelled with its name.
 */
export function runProgram(program: readonly string[], leaves: Record<string, number>): Map<string, Value> {
  const vars = new Map<string, Value>();
  for (const [name, data] of Object.entries(leaves)) vars.set(name, new Value(data, [], "", name));
  for (const statement of program) {
    const m = /^\s*([A-Za-z_]\w*)\s*(\+?=)\s*(.+)$/.exec(statement);
    if (!m) throw new SyntaxError(`expected "name = expr" or "name += expr", got "${statement}"`);
    const [, name, assign, expression] = m as unknown as [string, string, string, string];
    let value = evaluate(expression, vars);
    if (assign === "+=") {
      const current = vars.get(name);
      if (!current) throw new ReferenceError(`"${name} +=" before "${name}" was defined`);
      value = current.add(value);
    }
    // A bare variable on the right (y = x) would relabel x: wrap it so each name is its own node.
    if (value.label && vars.get(value.label) === value) value = value.add(0);
    vars.set(name, value.named(name));
  }
  return vars;
}
