/** Elementwise kernels (as ../js/elementwise.ts): WGSL from the op table (../spec/ops.ts). */
import { BINARY, type BinarySpec, binarySpec, COMPARISON_OPS, UNARY, type UnarySpec } from "../spec/ops.js";
import type { BinaryOp, DType, KernelArgs } from "../types.js";
import { type KernelContext, runMap } from "./dispatch.js";
import { convert, type Scalar, wgslType } from "./wgsl.js";

// ---- elementwise -------------------------------------------------------------------------

export function load(k: number, from: Scalar, to: Scalar): string {
  return convert(`b${k}[p${k}]`, from, to);
}

/** Store a value of type `from` (or a WGSL bool when `isBool`) into operand k. */
export function store(k: number, to: Scalar, expr: string, from: Scalar | "bool"): string {
  if (from === "bool") {
    const one = to === "f32" ? "1.0" : to === "i32" ? "1" : "1u";
    const zero = to === "f32" ? "0.0" : to === "i32" ? "0" : "0u";
    return `b${k}[p${k}] = select(${zero}, ${one}, ${expr});`;
  }
  return `b${k}[p${k}] = ${convert(expr, from, to)};`;
}

/** Host number → the meta word of a `t` scalar. */
export function scalarWord(value: number, t: Scalar): number | { f32: number } {
  if (t === "f32") return { f32: value };
  if (t === "i32") return Number.isFinite(value) ? Math.trunc(value) | 0 : 0;
  return value !== 0 ? 1 : 0;
}

export function fill(ctx: KernelContext, { out, value }: KernelArgs["fill"]): void {
  const t = wgslType(out.storage.dtype);
  const read = t === "f32" ? "scf(0u)" : t === "i32" ? "sci(0u)" : "sc(0u)";
  runMap(ctx, out.shape, [{ view: out, write: true }], `  b0[p0] = ${read};`, [scalarWord(value, t)]);
}

export function copy(ctx: KernelContext, { x, out }: KernelArgs["copy"]): void {
  const tx = wgslType(x.storage.dtype);
  const to = wgslType(out.storage.dtype);
  runMap(ctx, out.shape, [{ view: x }, { view: out, write: true }], `  ${store(1, to, `b0[p0]`, tx)}`);
}

export function unary(ctx: KernelContext, { op, x, out }: KernelArgs["unary"]): void {
  const tx = wgslType(x.storage.dtype);
  const to = wgslType(out.storage.dtype);
  const spec = UNARY[op] as UnarySpec | undefined;
  if (!spec) throw new Error(`webgpu backend: unknown unary op ${JSON.stringify(op)}`);
  const intExpr = tx === "i32" ? spec.wgslInt : undefined;
  const ct: Scalar = intExpr ? "i32" : "f32";
  const expr = intExpr ?? spec.wgsl;
  runMap(
    ctx,
    out.shape,
    [{ view: x }, { view: out, write: true }],
    `  let x = ${load(0, tx, ct)};\n  ${store(1, to, expr, ct)}`,
  );
}

export function binaryBody(op: BinaryOp, ct: Scalar, to: Scalar, out: number): string {
  const spec = BINARY[op] as BinarySpec | undefined;
  if (!spec) throw new Error(`webgpu backend: unknown binary op ${JSON.stringify(op)}`);
  const expr = (ct === "i32" ? spec.wgslInt : undefined) ?? spec.wgsl;
  const from: Scalar | "bool" = COMPARISON_OPS.has(op) ? "bool" : ct;
  return store(out, to, expr, from);
}

export function computeType(dtype: DType, op: BinaryOp): Scalar {
  return dtype === "int32" && binarySpec(op).wgslInt ? "i32" : "f32";
}

export function binary(ctx: KernelContext, { op, a, b, out }: KernelArgs["binary"]): void {
  const ta = wgslType(a.storage.dtype);
  const tb = wgslType(b.storage.dtype);
  const ct = computeType(a.storage.dtype, op);
  const body = `  let a = ${load(0, ta, ct)};\n  let b = ${load(1, tb, ct)};\n  ${binaryBody(op, ct, wgslType(out.storage.dtype), 2)}`;
  runMap(ctx, out.shape, [{ view: a }, { view: b }, { view: out, write: true }], body);
}

export function binaryScalar(
  ctx: KernelContext,
  { op, x, scalar, scalarFirst, out }: KernelArgs["binaryScalar"],
): void {
  const tx = wgslType(x.storage.dtype);
  // int32 with a fractional scalar computes in float (as the js kernel does in float64).
  const ct = Number.isInteger(scalar) ? computeType(x.storage.dtype, op) : "f32";
  const s = ct === "i32" ? "sci(0u)" : "scf(0u)";
  const [a, b] = scalarFirst ? [s, load(0, tx, ct)] : [load(0, tx, ct), s];
  const body = `  let a = ${a};\n  let b = ${b};\n  ${binaryBody(op, ct, wgslType(out.storage.dtype), 1)}`;
  runMap(ctx, out.shape, [{ view: x }, { view: out, write: true }], body, [scalarWord(scalar, ct)]);
}

export function where(ctx: KernelContext, { cond, a, b, out }: KernelArgs["where"]): void {
  const to = wgslType(out.storage.dtype);
  const body = `  if (b0[p0] != 0u) { ${store(3, to, "b1[p1]", wgslType(a.storage.dtype))} } else { ${store(3, to, "b2[p2]", wgslType(b.storage.dtype))} }`;
  runMap(ctx, out.shape, [{ view: cond }, { view: a }, { view: b }, { view: out, write: true }], body);
}

export function maskedFill(ctx: KernelContext, { x, mask, value, out }: KernelArgs["maskedFill"]): void {
  const to = wgslType(out.storage.dtype);
  const read = to === "f32" ? "scf(0u)" : to === "i32" ? "sci(0u)" : "sc(0u)";
  const body = `  if (b1[p1] != 0u) { b2[p2] = ${read}; } else { ${store(2, to, "b0[p0]", wgslType(x.storage.dtype))} }`;
  runMap(ctx, out.shape, [{ view: x }, { view: mask }, { view: out, write: true }], body, [
    scalarWord(value, to),
  ]);
}

export function geluBackward(
  ctx: KernelContext,
  { approximate, x, g, out }: KernelArgs["geluBackward"],
): void {
  const d = approximate
    ? `let inner = 0.7978845608028654 * (v + 0.044715 * v * v * v);
  let t = tanh_(inner);
  let d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * v * v);`
    : "let d = 0.5 * (1.0 + erf_(v * 0.7071067811865476)) + v * 0.3989422804014327 * exp(-0.5 * v * v);";
  const body = `  let v = b0[p0];\n  ${d}\n  b2[p2] = d * b1[p1];`;
  runMap(ctx, out.shape, [{ view: x }, { view: g }, { view: out, write: true }], body);
}

export function triangle(ctx: KernelContext, { x, diagonal, upper, out }: KernelArgs["triangle"]): void {
  const nd = out.shape.length;
  const rows = out.shape[nd - 2]!;
  const cols = out.shape[nd - 1]!;
  const keep = upper ? "j - i >= sci(2u)" : "j - i <= sci(2u)";
  const t = wgslType(out.storage.dtype);
  const zero = t === "f32" ? "0.0" : t === "i32" ? "0" : "0u";
  const body = `  let j = i32(idx % sc(1u));
  let i = i32((idx / sc(1u)) % sc(0u));
  if (${keep}) { ${store(1, t, "b0[p0]", wgslType(x.storage.dtype))} } else { b1[p1] = ${zero}; }`;
  runMap(ctx, out.shape, [{ view: x }, { view: out, write: true }], body, [rows, cols, diagonal]);
}
