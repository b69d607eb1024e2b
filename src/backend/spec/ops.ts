/**
 * The elementwise ops and the reductions, one entry each: what an op computes on every backend.
 * An op's code is its position here (abi.ts). scripts/gen-spec.mjs renders the `f64` expressions
 * as the js kernel's loops (src/backend/js/elementwise-ops.ts, src/backend/js/reduce-ops.ts) and
 * the wasm kernels' generic path (src/backend/wasm/assembly/spec.ts); the webgpu kernels build
 * their WGSL from `wgsl` at run time. The tensor front end reads the dtype rules. Hot float32
 * paths (SIMD, fused kernels) are hand-written beside these and tested against them.
 *
 * `f64` is an expression of `x` (unary) or `a` and `b` (binary) in float64, written in the
 * common part of TypeScript and AssemblyScript: numbers, arithmetic, comparisons with `==` and
 * `!=`, `?:`, `&&`, `||`, `Math.*` (exp, log, sqrt, tanh, abs, sin, cos, floor, ceil) and the
 * helpers each target defines alike: erf, roundHalfEven, power (JavaScript's `**`), isNan,
 * truthy, INV_SQRT_2, SQRT_2_OVER_PI (js/math.ts, wasm/assembly/math.ts).
 */

export interface UnarySpec {
  /** What the op computes on: any dtype as it is, floats (int and bool inputs as float32, like PyTorch), or bool. */
  readonly input: "any" | "float" | "bool";
  /** The value, in float64 (js and the wasm kernels' generic path). */
  readonly f64: string;
  /** The value in WGSL, in f32 (helpers in webgpu/wgsl.ts: tanh_, erf_). */
  readonly wgsl: string;
  /** The value in WGSL for int32 input, computed in i32 (absent: computed as f32). */
  readonly wgslInt?: string;
}

export interface BinarySpec {
  /** The dtype written: the inputs' (arithmetic) or bool (comparisons and logic). */
  readonly result: "same" | "bool";
  /** The value in float64; for bool results, the condition (true writes 1). */
  readonly f64: string;
  /** WGSL in f32 (helpers: pow_, max_, min_); for bool results, a WGSL bool. */
  readonly wgsl: string;
  /** WGSL for int32 inputs computed in i32 (absent: computed as f32). */
  readonly wgslInt?: string;
  /** Relational ops: the op that answers the same with its operands swapped (s < x is x > s). */
  readonly mirror?: string;
}

export const UNARY = {
  neg: { input: "any", f64: "-x", wgsl: "-x", wgslInt: "-x" },
  exp: { input: "float", f64: "Math.exp(x)", wgsl: "exp(x)" },
  log: { input: "float", f64: "Math.log(x)", wgsl: "log(x)" },
  sqrt: { input: "float", f64: "Math.sqrt(x)", wgsl: "sqrt(x)" },
  rsqrt: { input: "float", f64: "1 / Math.sqrt(x)", wgsl: "1.0 / sqrt(x)" },
  square: { input: "any", f64: "x * x", wgsl: "x * x", wgslInt: "x * x" },
  reciprocal: { input: "float", f64: "1 / x", wgsl: "1.0 / x" },
  tanh: { input: "float", f64: "Math.tanh(x)", wgsl: "tanh_(x)" },
  relu: {
    input: "any",
    f64: "isNan(x) || x > 0 ? x : 0",
    wgsl: "select(x, 0.0, x < 0.0)",
    wgslInt: "max(x, 0)",
  },
  sigmoid: { input: "float", f64: "1 / (1 + Math.exp(-x))", wgsl: "1.0 / (1.0 + exp(-x))" },
  abs: { input: "any", f64: "Math.abs(x)", wgsl: "abs(x)", wgslInt: "abs(x)" },
  sign: { input: "any", f64: "x > 0 ? 1 : x < 0 ? -1 : x", wgsl: "sign(x)", wgslInt: "sign(x)" },
  gelu: {
    input: "float",
    f64: "0.5 * x * (1 + erf(x * INV_SQRT_2))",
    wgsl: "0.5 * x * (1.0 + erf_(x * 0.7071067811865476))",
  },
  geluTanh: {
    input: "float",
    f64: "0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))",
    wgsl: "0.5 * x * (1.0 + tanh_(0.7978845608028654 * (x + 0.044715 * x * x * x)))",
  },
  sin: { input: "float", f64: "Math.sin(x)", wgsl: "sin(x)" },
  cos: { input: "float", f64: "Math.cos(x)", wgsl: "cos(x)" },
  floor: { input: "any", f64: "Math.floor(x)", wgsl: "floor(x)", wgslInt: "x" },
  ceil: { input: "any", f64: "Math.ceil(x)", wgsl: "ceil(x)", wgslInt: "x" },
  /** Half to even, like torch.round. */
  round: { input: "any", f64: "roundHalfEven(x)", wgsl: "round(x)", wgslInt: "x" },
  logicalNot: {
    input: "bool",
    f64: "x == 0 ? 1 : 0",
    wgsl: "select(0.0, 1.0, x == 0.0)",
    wgslInt: "select(0, 1, x == 0)",
  },
  erf: { input: "float", f64: "erf(x)", wgsl: "erf_(x)" },
} as const satisfies Record<string, UnarySpec>;

export const BINARY = {
  add: { result: "same", f64: "a + b", wgsl: "a + b", wgslInt: "a + b" },
  sub: { result: "same", f64: "a - b", wgsl: "a - b", wgslInt: "a - b" },
  mul: { result: "same", f64: "a * b", wgsl: "a * b", wgslInt: "a * b" },
  div: { result: "same", f64: "a / b", wgsl: "a / b", wgslInt: "select(a / b, 0, b == 0)" },
  pow: { result: "same", f64: "power(a, b)", wgsl: "pow_(a, b)" },
  /** NaN wins, like torch.maximum. */
  maximum: { result: "same", f64: "a > b || isNan(a) ? a : b", wgsl: "max_(a, b)", wgslInt: "max(a, b)" },
  minimum: { result: "same", f64: "a < b || isNan(a) ? a : b", wgsl: "min_(a, b)", wgslInt: "min(a, b)" },
  eq: { result: "bool", f64: "a == b", wgsl: "a == b", wgslInt: "a == b", mirror: "eq" },
  ne: { result: "bool", f64: "a != b", wgsl: "a != b", wgslInt: "a != b", mirror: "ne" },
  lt: { result: "bool", f64: "a < b", wgsl: "a < b", wgslInt: "a < b", mirror: "gt" },
  le: { result: "bool", f64: "a <= b", wgsl: "a <= b", wgslInt: "a <= b", mirror: "ge" },
  gt: { result: "bool", f64: "a > b", wgsl: "a > b", wgslInt: "a > b", mirror: "lt" },
  ge: { result: "bool", f64: "a >= b", wgsl: "a >= b", wgslInt: "a >= b", mirror: "le" },
  and: {
    result: "bool",
    f64: "truthy(a) && truthy(b)",
    wgsl: "a != 0.0 && b != 0.0",
    wgslInt: "a != 0 && b != 0",
  },
  or: {
    result: "bool",
    f64: "truthy(a) || truthy(b)",
    wgsl: "a != 0.0 || b != 0.0",
    wgslInt: "a != 0 || b != 0",
  },
} as const satisfies Record<string, BinarySpec>;

export type UnaryOp = keyof typeof UNARY;
export type BinaryOp = keyof typeof BINARY;

export const UNARY_OPS = Object.keys(UNARY) as UnaryOp[];
export const BINARY_OPS = Object.keys(BINARY) as BinaryOp[];

// Every mirror names a binary op (else this line does not compile).
BINARY satisfies Record<string, { readonly f64: string; readonly mirror?: BinaryOp }>;

/**
 * A reduction: an accumulator starts at `init`, takes in each value with `f64` (`a` the
 * accumulator, `b` the value or another accumulator: the combine is associative, so threads and
 * workgroups can split the work), and `final` maps it to the result.
 */
export interface ReduceSpec {
  /** What it reduces: any dtype (bool counted as int32, the result's dtype), or floats only. */
  readonly input: "any" | "float";
  /** The accumulator's start (each target renders the number: -Infinity is neg_inf() in WGSL). */
  readonly init: number;
  /** a combined with b, in float64 (accumulators are float64 on js and wasm). */
  readonly f64: string;
  /** The same in WGSL f32 (helpers: max_, min_, isnan_). */
  readonly wgsl: string;
  /** The result from the accumulator `a` and the number of values reduced `count` (absent: a). */
  readonly final?: { readonly f64: string; readonly wgsl: string };
}

export const REDUCE = {
  sum: { input: "any", init: 0, f64: "a + b", wgsl: "a + b" },
  mean: {
    input: "float",
    init: 0,
    f64: "a + b",
    wgsl: "a + b",
    final: { f64: "a * (1 / count)", wgsl: "a / count" },
  },
  /** NaN wins, like torch.amax. */
  max: { input: "any", init: -Infinity, f64: "b > a || isNan(b) ? b : a", wgsl: "max_(a, b)" },
  min: { input: "any", init: Infinity, f64: "b < a || isNan(b) ? b : a", wgsl: "min_(a, b)" },
  prod: { input: "any", init: 1, f64: "a * b", wgsl: "a * b" },
} as const satisfies Record<string, ReduceSpec>;

export type ReduceOp = keyof typeof REDUCE;
export const REDUCE_OPS = Object.keys(REDUCE) as ReduceOp[];

/**
 * An arg-reduction (argmax, argmin, max and min along a dim with their indices): which of two
 * values wins. The kernels add the rules every entry shares: NaN beats any number, and of equal
 * values the first index wins (as PyTorch).
 */
export interface ArgReduceSpec {
  /** b beats a, in float64. */
  readonly f64: string;
  /** The same in WGSL f32. */
  readonly wgsl: string;
}

export const ARG_REDUCE = {
  max: { f64: "b > a", wgsl: "b > a" },
  min: { f64: "b < a", wgsl: "b < a" },
} as const satisfies Record<string, ArgReduceSpec>;

export type ArgReduceOp = keyof typeof ARG_REDUCE;
export const ARG_REDUCE_OPS = Object.keys(ARG_REDUCE) as ArgReduceOp[];

/** A reduction's entry, typed as the spec (optional fields readable). */
export function reduceSpec(op: ReduceOp): ReduceSpec {
  return REDUCE[op];
}

/** An op's entry, typed as the spec (optional fields readable). */
export function unarySpec(op: UnaryOp): UnarySpec {
  return UNARY[op];
}
export function binarySpec(op: BinaryOp): BinarySpec {
  return BINARY[op];
}

/** Comparison and logical ops: they write bool. */
export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set(
  BINARY_OPS.filter((op) => BINARY[op].result === "bool"),
);
