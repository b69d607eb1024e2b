/** Elementwise ops: unary math, broadcasting binary ops, comparisons, where, maskedFill, clamp, casts. */
import {
  type BinaryOp,
  COMPARISON_OPS,
  type DType,
  isFloatDType,
  type UnaryOp,
  unarySpec,
} from "../../backend/index.js";
import { isGradEnabled, record } from "../autograd.js";
import { broadcastShapes, sameShape, shapeString } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { backendOf, broadcastView, empty, promote, requireDType, viewOf } from "./core.js";
import { scalar } from "./creation.js";
import { sumTo } from "./reduce.js";

export type TensorLike = Tensor | number;

function runUnary(op: UnaryOp, x: Tensor): Tensor {
  // The table's dtype rule: float ops compute int and bool inputs as float32, like PyTorch.
  const { input } = unarySpec(op);
  if (input === "float" && !isFloatDType(x.dtype)) x = cast(x, "float32");
  if (input === "bool" && x.dtype !== "bool") x = cast(x, "bool");
  const out = empty(x.shape, x.dtype, x.backend);
  x.backend.run("unary", { op, x: viewOf(x), out: viewOf(out) });
  return out;
}

export function neg(x: Tensor): Tensor {
  return record(runUnary("neg", x), "neg", [x], (g) => [neg(g)]);
}

export function exp(x: Tensor): Tensor {
  const y = runUnary("exp", x);
  return record(y, "exp", [x], (g) => [mul(g, y)]);
}

export function log(x: Tensor): Tensor {
  return record(runUnary("log", x), "log", [x], (g) => [div(g, x)]);
}

export function sqrt(x: Tensor): Tensor {
  const y = runUnary("sqrt", x);
  return record(y, "sqrt", [x], (g) => [div(g, mul(y, 2))]);
}

/** 1 / sqrt(x). */
export function rsqrt(x: Tensor): Tensor {
  const y = runUnary("rsqrt", x);
  return record(y, "rsqrt", [x], (g) => [mul(g, mul(pow(y, 3), -0.5))]);
}

export function square(x: Tensor): Tensor {
  return record(runUnary("square", x), "square", [x], (g) => [mul(g, mul(x, 2))]);
}

export function reciprocal(x: Tensor): Tensor {
  const y = runUnary("reciprocal", x);
  return record(y, "reciprocal", [x], (g) => [neg(mul(g, square(y)))]);
}

export function tanh(x: Tensor): Tensor {
  const y = runUnary("tanh", x);
  return record(y, "tanh", [x], (g) => [mul(g, sub(1, square(y)))]);
}

export function relu(x: Tensor): Tensor {
  return record(runUnary("relu", x), "relu", [x], (g) => [where(gt(x, 0), g, 0)]);
}

export function sigmoid(x: Tensor): Tensor {
  const y = runUnary("sigmoid", x);
  return record(y, "sigmoid", [x], (g) => [mul(g, mul(y, sub(1, y)))]);
}

export function abs(x: Tensor): Tensor {
  return record(runUnary("abs", x), "abs", [x], (g) => [mul(g, sign(x))]);
}

/** The error function; its gradient is 2/√π · exp(−x²). */
export function erf(x: Tensor): Tensor {
  return record(runUnary("erf", x), "erf", [x], (g) => [
    mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))),
  ]);
}

export function sin(x: Tensor): Tensor {
  return record(runUnary("sin", x), "sin", [x], (g) => [mul(g, cos(x))]);
}

export function cos(x: Tensor): Tensor {
  return record(runUnary("cos", x), "cos", [x], (g) => [neg(mul(g, sin(x)))]);
}

/** Piecewise-constant ops: zero gradient. */
export function sign(x: Tensor): Tensor {
  return runUnary("sign", x);
}
export function floor(x: Tensor): Tensor {
  return runUnary("floor", x);
}
export function ceil(x: Tensor): Tensor {
  return runUnary("ceil", x);
}
export function round(x: Tensor): Tensor {
  return runUnary("round", x);
}
export function logicalNot(x: Tensor): Tensor {
  return runUnary("logicalNot", x);
}

/** GELU, exact (`"none"`, with erf) or the tanh approximation of GPT-2 (`"tanh"`). Fused backward. */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  const tanhForm = approximate === "tanh";
  const y = runUnary(tanhForm ? "geluTanh" : "gelu", x);
  return record(y, "gelu", [x], (g) => {
    const dx = empty(x.shape, y.dtype, x.backend);
    x.backend.run("geluBackward", { approximate: tanhForm, x: viewOf(x), g: viewOf(g), out: viewOf(dx) });
    return [dx];
  });
}

/** Copy into a new dtype (float→int truncates toward zero; anything→bool is x ≠ 0). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out = empty(x.shape, dtype, x.backend);
  x.backend.run("copy", { x: viewOf(x), out: viewOf(out) });
  if (!isFloatDType(dtype)) return out;
  return record(out, "cast", [x], (g) => [cast(g, x.dtype)]);
}

/** A contiguous copy that stays in the graph (gradient passes through). */
export function clone(x: Tensor): Tensor {
  const out = empty(x.shape, x.dtype, x.backend);
  x.backend.run("copy", { x: viewOf(x), out: viewOf(out) });
  return record(out, "clone", [x], (g) => [g]);
}

/** An in-place update may not change a leaf that autograd records, and the value must broadcast to the target. */
function checkInPlace(op: string, target: Tensor, value: TensorLike): void {
  if (isGradEnabled() && target.requiresGrad && target.isLeaf) {
    throw new Error(
      `${op}: a leaf tensor that requires grad cannot be changed in place while recording; wrap the update in noGrad()`,
    );
  }
  if (typeof value === "number") return;
  const shape = broadcastShapes(op, value.shape, target.shape);
  if (!sameShape(shape, target.shape)) {
    throw new RangeError(
      `${op}: value of shape ${shapeString(value.shape)} cannot be broadcast to target shape ${shapeString(target.shape)}`,
    );
  }
}

/**
 * Write `value` (broadcast, cast to target's dtype) into target's storage in place, and return
 * target. This is how long-lived tensors (parameters, running statistics) are updated, so a
 * tidy() scope around the update frees only the temporaries.
 */
export function assign(target: Tensor, value: TensorLike): Tensor {
  checkInPlace("assign", target, value);
  if (typeof value === "number") {
    target.storage.version++;
    target.backend.run("fill", { out: viewOf(target), value });
    return target;
  }
  backendOf("assign", target, value);
  target.storage.version++;
  // Reading and writing one buffer at once (x.assign(x.T)) would read half-written values.
  const source = value.storage === target.storage ? clone(value).detach() : value;
  target.backend.run("copy", { x: broadcastView(source, target.shape), out: viewOf(target) });
  return target;
}

/**
 * target ← target·s in place (PyTorch's target.mul_(s)), outside the tape like assign: gradient
 * clipping's rescale, one pass with no temporary. Each element is read and written at its own
 * place, which synchronous backends allow in one kernel; on the others, mul then assign.
 */
export function mulInPlace(target: Tensor, s: number): Tensor {
  checkInPlace("mulInPlace", target, s);
  if (!target.backend.synchronous || !isFloatDType(target.dtype)) return assign(target, mul(target, s));
  target.storage.version++;
  const view = viewOf(target);
  target.backend.run("binaryScalar", { op: "mul", x: view, scalar: s, scalarFirst: false, out: view });
  return target;
}

/**
 * target ← target + alpha·value in place (PyTorch's target.add_(value, alpha=alpha)): gradient
 * accumulation and optimizer updates. Outside the tape, like assign; one fused kernel where the
 * backend has `axpy`, else add (and mul) then assign.
 */
export function addInPlace(target: Tensor, value: Tensor, alpha = 1): Tensor {
  checkInPlace("addInPlace", target, value);
  const backend = backendOf("addInPlace", target, value);
  if (
    backend.supports?.("axpy") &&
    isFloatDType(target.dtype) &&
    value.dtype === target.dtype &&
    value.storage !== target.storage
  ) {
    target.storage.version++;
    backend.runOptional!("axpy", { x: viewOf(target), y: broadcastView(value, target.shape), alpha });
    return target;
  }
  return assign(target, add(target, alpha === 1 ? value : mul(value, alpha)));
}

function arithmeticDType(op: BinaryOp, dtype: DType, scalarValue?: number): DType {
  if (dtype === "bool") dtype = "int32";
  if (dtype !== "int32") return dtype;
  if (op === "div") return "float32";
  if (scalarValue !== undefined && !Number.isInteger(scalarValue)) return "float32";
  if (op === "pow" && scalarValue !== undefined && scalarValue < 0) return "float32";
  return dtype;
}

/** a OP b with broadcasting; forward only. Numbers stay numbers (the binaryScalar kernel). */
function runBinary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const comparison = COMPARISON_OPS.has(op);
  if (typeof a === "number" && typeof b === "number") a = scalar(a);
  if (typeof a === "number" || typeof b === "number") {
    const scalarFirst = typeof a === "number";
    let x = (scalarFirst ? b : a) as Tensor;
    const s = (scalarFirst ? a : b) as number;
    if (!comparison) x = cast(x, arithmeticDType(op, x.dtype, s));
    const out = empty(x.shape, comparison ? "bool" : x.dtype, x.backend);
    x.backend.run("binaryScalar", { op, x: viewOf(x), scalar: s, scalarFirst, out: viewOf(out) });
    return out;
  }
  const backend = backendOf(op, a, b);
  let dtype = promote(a.dtype, b.dtype);
  if (!comparison) dtype = arithmeticDType(op, dtype);
  a = cast(a, dtype);
  b = cast(b, dtype);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = empty(shape, comparison ? "bool" : dtype, backend);
  backend.run("binary", { op, a: broadcastView(a, shape), b: broadcastView(b, shape), out: viewOf(out) });
  return out;
}

function tensorOrNull(x: TensorLike): Tensor | null {
  return typeof x === "number" ? null : x;
}

/** Gradient for a (possibly broadcast) operand: summed back to its own shape. */
function gradFor(x: TensorLike, g: () => Tensor): Tensor | null {
  if (typeof x === "number" || !x.requiresGrad) return null;
  return sumTo(g(), x.shape);
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  const out = runBinary("add", a, b);
  return record(out, "add", [tensorOrNull(a), tensorOrNull(b)], (g) => [
    gradFor(a, () => g),
    gradFor(b, () => g),
  ]);
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  const out = runBinary("sub", a, b);
  return record(out, "sub", [tensorOrNull(a), tensorOrNull(b)], (g) => [
    gradFor(a, () => g),
    gradFor(b, () => neg(g)),
  ]);
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  const out = runBinary("mul", a, b);
  return record(out, "mul", [tensorOrNull(a), tensorOrNull(b)], (g) => [
    gradFor(a, () => mul(g, b)),
    gradFor(b, () => mul(g, a)),
  ]);
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  const out = runBinary("div", a, b);
  return record(out, "div", [tensorOrNull(a), tensorOrNull(b)], (g) => [
    gradFor(a, () => div(g, b)),
    gradFor(b, () => neg(div(mul(g, out), b))),
  ]);
}

/** a ** b; d/da = b·a^(b-1), d/db = a^b·ln a. */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const out = runBinary("pow", a, b);
  return record(out, "pow", [tensorOrNull(a), tensorOrNull(b)], (g) => [
    gradFor(a, () => mul(g, mul(b, pow(a, typeof b === "number" ? b - 1 : sub(b, 1))))),
    gradFor(b, () => mul(g, mul(out, typeof a === "number" ? Math.log(a) : log(a)))),
  ]);
}

/** Elementwise max; at ties the gradient goes to a. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  const out = runBinary("maximum", a, b);
  return record(out, "maximum", [tensorOrNull(a), tensorOrNull(b)], (g) => [
    gradFor(a, () => where(ge(a, b), g, 0)),
    gradFor(b, () => where(ge(a, b), 0, g)),
  ]);
}

export function minimum(a: TensorLike, b: TensorLike): Tensor {
  const out = runBinary("minimum", a, b);
  return record(out, "minimum", [tensorOrNull(a), tensorOrNull(b)], (g) => [
    gradFor(a, () => where(le(a, b), g, 0)),
    gradFor(b, () => where(le(a, b), 0, g)),
  ]);
}

export function eq(a: TensorLike, b: TensorLike): Tensor {
  return runBinary("eq", a, b);
}
export function ne(a: TensorLike, b: TensorLike): Tensor {
  return runBinary("ne", a, b);
}
export function lt(a: TensorLike, b: TensorLike): Tensor {
  return runBinary("lt", a, b);
}
export function le(a: TensorLike, b: TensorLike): Tensor {
  return runBinary("le", a, b);
}
export function gt(a: TensorLike, b: TensorLike): Tensor {
  return runBinary("gt", a, b);
}
export function ge(a: TensorLike, b: TensorLike): Tensor {
  return runBinary("ge", a, b);
}
export function logicalAnd(a: TensorLike, b: TensorLike): Tensor {
  return runBinary("and", a, b);
}
export function logicalOr(a: TensorLike, b: TensorLike): Tensor {
  return runBinary("or", a, b);
}

/** cond ? a : b, all three broadcast together. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  requireDType("where", cond, "bool", "condition");
  const ta = typeof a === "number" ? null : a;
  const tb = typeof b === "number" ? null : b;
  const backend = backendOf("where", cond, ta, tb);
  const dtype = ta && tb ? promote(ta.dtype, tb.dtype) : ((ta ?? tb)?.dtype ?? "float32");
  const at = cast(ta ?? scalar(a as number, { dtype, backend }), dtype);
  const bt = cast(tb ?? scalar(b as number, { dtype, backend }), dtype);
  const shape = broadcastShapes("where", cond.shape, at.shape, bt.shape);
  const out = empty(shape, dtype, backend);
  backend.run("where", {
    cond: broadcastView(cond, shape),
    a: broadcastView(at, shape),
    b: broadcastView(bt, shape),
    out: viewOf(out),
  });
  return record(out, "where", [ta, tb], (g) => [
    ta?.requiresGrad ? sumTo(where(cond, g, 0), ta.shape) : null,
    tb?.requiresGrad ? sumTo(where(cond, 0, g), tb.shape) : null,
  ]);
}

/** x with `value` where mask is true (mask broadcasts to x). Gradient is 0 where filled. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  requireDType("maskedFill", mask, "bool", "mask");
  const shape = broadcastShapes("maskedFill", x.shape, mask.shape);
  if (!sameShape(shape, x.shape)) {
    throw new RangeError(
      `maskedFill: mask of shape ${shapeString(mask.shape)} cannot be broadcast to input shape ${shapeString(x.shape)}`,
    );
  }
  const backend = backendOf("maskedFill", x, mask);
  const out = empty(x.shape, x.dtype, backend);
  backend.run("maskedFill", { x: viewOf(x), mask: broadcastView(mask, x.shape), value, out: viewOf(out) });
  return record(out, "maskedFill", [x], (g) => [maskedFill(g, mask, 0)]);
}

/** min(max(x, min), max); the gradient passes where min <= x <= max. */
export function clamp(x: Tensor, min: number | null = null, max: number | null = null): Tensor {
  let out = x;
  if (min !== null) out = runBinary("maximum", out, min);
  if (max !== null) out = runBinary("minimum", out, max);
  if (out === x) out = clone(x).detach();
  return record(out, "clamp", [x], (g) => {
    let outside: Tensor | null = null;
    if (min !== null) outside = lt(x, min);
    if (max !== null) outside = outside ? logicalOr(outside, gt(x, max)) : gt(x, max);
    return [outside ? maskedFill(g, outside, 0) : g];
  });
}
