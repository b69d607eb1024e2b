/** Elementwise kernels: one switch per row, a plain strided loop per op (the ops' loops: ./elementwise-ops.ts). */
import type { KernelArgs } from "../types.js";
import { binaryRow, unaryRow } from "./elementwise-ops.js";
import { erf, INV_SQRT_2, INV_SQRT_2PI, SQRT_2_OVER_PI } from "./math.js";
import { dataOf, Rows } from "./strided.js";

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
