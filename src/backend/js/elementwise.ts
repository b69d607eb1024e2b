/** Elementwise kernels: one switch per row, a plain strided loop per op. */
import type { BinaryOp, KernelArgs, UnaryOp } from "../types.js";
import { dataOf, Rows } from "./strided.js";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = 1 / Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/** The error function, to about 1e-15: Taylor series below 3, a continued fraction for erfc above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 2 * INV_SQRT_PI * sum;
  }
  if (!Number.isFinite(ax)) return Number.isNaN(x) ? x : Math.sign(x);
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = (Math.exp(-ax * ax) * INV_SQRT_PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

export function fill({ out, value }: KernelArgs["fill"]): void {
  const o = dataOf(out);
  const it = new Rows(out.shape, [out.strides], [out.offset]);
  const n = it.length;
  const step = it.steps[0]!;
  for (let r = 0; r < it.rows; r++, it.next()) {
    for (let j = 0, p = it.offsets[0]!; j < n; j++, p += step) o[p] = value;
  }
}

export function copy({ x, out }: KernelArgs["copy"]): void {
  const xs = dataOf(x);
  const o = dataOf(out);
  const toBool = out.storage.dtype === "bool";
  const it = new Rows(out.shape, [x.strides, out.strides], [x.offset, out.offset]);
  const n = it.length;
  const [sx, so] = it.steps as [number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let px = it.offsets[0]!;
    let po = it.offsets[1]!;
    if (toBool) for (let j = 0; j < n; j++, px += sx, po += so) o[po] = xs[px] !== 0 ? 1 : 0;
    else for (let j = 0; j < n; j++, px += sx, po += so) o[po] = xs[px]!;
  }
}

export function unary({ op, x, out }: KernelArgs["unary"]): void {
  const xs = dataOf(x);
  const o = dataOf(out);
  const it = new Rows(out.shape, [x.strides, out.strides], [x.offset, out.offset]);
  const n = it.length;
  const [sx, so] = it.steps as [number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    const px = it.offsets[0]!;
    const po = it.offsets[1]!;
    unaryRow(op, xs, px, sx, o, po, so, n);
  }
}

function unaryRow(
  op: UnaryOp,
  xs: ArrayLike<number>,
  px: number,
  sx: number,
  o: { [i: number]: number },
  po: number,
  so: number,
  n: number,
): void {
  switch (op) {
    case "neg":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = -xs[px]!;
      return;
    case "exp":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.exp(xs[px]!);
      return;
    case "log":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.log(xs[px]!);
      return;
    case "sqrt":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.sqrt(xs[px]!);
      return;
    case "rsqrt":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = 1 / Math.sqrt(xs[px]!);
      return;
    case "square":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = xs[px]! * xs[px]!;
      return;
    case "reciprocal":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = 1 / xs[px]!;
      return;
    case "tanh":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.tanh(xs[px]!);
      return;
    case "relu":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.max(xs[px]!, 0);
      return;
    case "sigmoid":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = 1 / (1 + Math.exp(-xs[px]!));
      return;
    case "abs":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.abs(xs[px]!);
      return;
    case "sign":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.sign(xs[px]!);
      return;
    case "gelu":
      for (let j = 0; j < n; j++, px += sx, po += so) {
        const v = xs[px]!;
        o[po] = 0.5 * v * (1 + erf(v * INV_SQRT_2));
      }
      return;
    case "geluTanh":
      for (let j = 0; j < n; j++, px += sx, po += so) {
        const v = xs[px]!;
        o[po] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
      }
      return;
    case "sin":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.sin(xs[px]!);
      return;
    case "cos":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.cos(xs[px]!);
      return;
    case "floor":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.floor(xs[px]!);
      return;
    case "ceil":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = Math.ceil(xs[px]!);
      return;
    case "round":
      // Round half to even, like torch.round.
      for (let j = 0; j < n; j++, px += sx, po += so) {
        const v = xs[px]!;
        const r = Math.round(v);
        o[po] = r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
      }
      return;
    case "logicalNot":
      for (let j = 0; j < n; j++, px += sx, po += so) o[po] = xs[px]! === 0 ? 1 : 0;
      return;
    default:
      throw unknownOp("unary", op);
  }
}

/** A loud error for an op code no kernel knows (never a silent zero). */
export function unknownOp(kind: string, op: never): Error {
  return new Error(`js backend: unknown ${kind} op ${JSON.stringify(op)}`);
}

/** One row of a OP b, where a and b step by sa and sb (0 for a broadcast or scalar operand). */
function binaryRow(
  op: BinaryOp,
  as: ArrayLike<number>,
  pa: number,
  sa: number,
  bs: ArrayLike<number>,
  pb: number,
  sb: number,
  o: { [i: number]: number },
  po: number,
  so: number,
  n: number,
): void {
  switch (op) {
    case "add":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa]! + bs[pb]!;
      return;
    case "sub":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa]! - bs[pb]!;
      return;
    case "mul":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa]! * bs[pb]!;
      return;
    case "div":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa]! / bs[pb]!;
      return;
    case "pow":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa]! ** bs[pb]!;
      return;
    case "maximum":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) {
        const a = as[pa]!;
        const b = bs[pb]!;
        o[po] = a > b || Number.isNaN(a) ? a : b;
      }
      return;
    case "minimum":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) {
        const a = as[pa]!;
        const b = bs[pb]!;
        o[po] = a < b || Number.isNaN(a) ? a : b;
      }
      return;
    case "eq":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa] === bs[pb] ? 1 : 0;
      return;
    case "ne":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa] !== bs[pb] ? 1 : 0;
      return;
    case "lt":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa]! < bs[pb]! ? 1 : 0;
      return;
    case "le":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa]! <= bs[pb]! ? 1 : 0;
      return;
    case "gt":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa]! > bs[pb]! ? 1 : 0;
      return;
    case "ge":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa]! >= bs[pb]! ? 1 : 0;
      return;
    case "and":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa] && bs[pb] ? 1 : 0;
      return;
    case "or":
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) o[po] = as[pa] || bs[pb] ? 1 : 0;
      return;
    default:
      throw unknownOp("binary", op);
  }
}

export function binary({ op, a, b, out }: KernelArgs["binary"]): void {
  const as = dataOf(a);
  const bs = dataOf(b);
  const o = dataOf(out);
  const it = new Rows(out.shape, [a.strides, b.strides, out.strides], [a.offset, b.offset, out.offset]);
  const [sa, sb, so] = it.steps as [number, number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    const [pa, pb, po] = it.offsets as [number, number, number];
    binaryRow(op, as, pa, sa, bs, pb, sb, o, po, so, it.length);
  }
}

export function binaryScalar({ op, x, scalar, scalarFirst, out }: KernelArgs["binaryScalar"]): void {
  const xs = dataOf(x);
  const o = dataOf(out);
  const s = [scalar];
  const it = new Rows(out.shape, [x.strides, out.strides], [x.offset, out.offset]);
  const [sx, so] = it.steps as [number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    const [px, po] = it.offsets as [number, number];
    if (scalarFirst) binaryRow(op, s, 0, 0, xs, px, sx, o, po, so, it.length);
    else binaryRow(op, xs, px, sx, s, 0, 0, o, po, so, it.length);
  }
}

export function where({ cond, a, b, out }: KernelArgs["where"]): void {
  const cs = dataOf(cond);
  const as = dataOf(a);
  const bs = dataOf(b);
  const o = dataOf(out);
  const it = new Rows(
    out.shape,
    [cond.strides, a.strides, b.strides, out.strides],
    [cond.offset, a.offset, b.offset, out.offset],
  );
  const [sc, sa, sb, so] = it.steps as [number, number, number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [pc, pa, pb, po] = it.offsets as [number, number, number, number];
    for (let j = 0; j < it.length; j++, pc += sc, pa += sa, pb += sb, po += so) {
      o[po] = cs[pc] ? as[pa]! : bs[pb]!;
    }
  }
}

export function maskedFill({ x, mask, value, out }: KernelArgs["maskedFill"]): void {
  const xs = dataOf(x);
  const ms = dataOf(mask);
  const o = dataOf(out);
  const it = new Rows(out.shape, [x.strides, mask.strides, out.strides], [x.offset, mask.offset, out.offset]);
  const [sx, sm, so] = it.steps as [number, number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [px, pm, po] = it.offsets as [number, number, number];
    for (let j = 0; j < it.length; j++, px += sx, pm += sm, po += so) o[po] = ms[pm] ? value : xs[px]!;
  }
}

export function geluBackward({ approximate, x, g, out }: KernelArgs["geluBackward"]): void {
  const xs = dataOf(x);
  const gs = dataOf(g);
  const o = dataOf(out);
  const it = new Rows(out.shape, [x.strides, g.strides, out.strides], [x.offset, g.offset, out.offset]);
  const [sx, sg, so] = it.steps as [number, number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    let [px, pg, po] = it.offsets as [number, number, number];
    for (let j = 0; j < it.length; j++, px += sx, pg += sg, po += so) {
      const v = xs[px]!;
      let d: number;
      if (approximate) {
        const inner = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
        const t = Math.tanh(inner);
        d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
      } else {
        d = 0.5 * (1 + erf(v * INV_SQRT_2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v);
      }
      o[po] = d * gs[pg]!;
    }
  }
}

export function triangle({ x, diagonal, upper, out }: KernelArgs["triangle"]): void {
  const xs = dataOf(x);
  const o = dataOf(out);
  const nd = out.shape.length;
  const rowsPerMatrix = out.shape[nd - 2]!;
  const it = new Rows(out.shape, [x.strides, out.strides], [x.offset, out.offset], true);
  const [sx, so] = it.steps as [number, number];
  for (let r = 0; r < it.rows; r++, it.next()) {
    const i = r % rowsPerMatrix;
    let [px, po] = it.offsets as [number, number];
    for (let j = 0; j < it.length; j++, px += sx, po += so) {
      const keep = upper ? j - i >= diagonal : j - i <= diagonal;
      o[po] = keep ? xs[px]! : 0;
    }
  }
}
