/**
 * Training-mode batch norm over the rows of a contiguous float32 [R, C], forward and backward, as
 * one pass each over the data (the wasm kernels compute the same float64 expressions in the same
 * order, so the two agree exactly).
 */
import type { OptionalKernelArgs } from "../types.js";
import { dataOf } from "./strided.js";

/** Per channel sums of the rows of x [R, C] (float64). */
function columnSums(xs: ArrayLike<number>, x0: number, R: number, C: number): Float64Array {
  const sums = new Float64Array(C);
  for (let r = 0, p = x0; r < R; r++, p += C) for (let c = 0; c < C; c++) sums[c]! += xs[p + c]!;
  return sums;
}

export function batchNorm(args: OptionalKernelArgs["batchNorm"]): void {
  const { x, weight, bias, eps, momentum, runningMean, runningVar, out, mean, rstd } = args;
  const [R, C] = x.shape as [number, number];
  const xs = dataOf(x);
  const ys = dataOf(out);
  const means = columnSums(xs, x.offset, R, C);
  for (let c = 0; c < C; c++) means[c]! /= R;
  const vars = new Float64Array(C);
  for (let r = 0, p = x.offset; r < R; r++, p += C) {
    for (let c = 0; c < C; c++) {
      const d = xs[p + c]! - means[c]!;
      vars[c]! += d * d;
    }
  }
  const ws = weight ? dataOf(weight) : null;
  const bs = bias ? dataOf(bias) : null;
  const rs = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    vars[c]! /= R;
    rs[c] = 1 / Math.sqrt(vars[c]! + eps);
    dataOf(mean)[mean.offset + c] = means[c]!;
    dataOf(rstd)[rstd.offset + c] = rs[c]!;
  }
  for (let r = 0, p = x.offset, q = out.offset; r < R; r++, p += C, q += C) {
    for (let c = 0; c < C; c++) {
      let y = (xs[p + c]! - means[c]!) * rs[c]!;
      if (ws) y *= ws[weight!.offset + c]!;
      if (bs) y += bs[bias!.offset + c]!;
      ys[q + c] = y;
    }
  }
  const unbias = R / Math.max(R - 1, 1);
  for (let c = 0; c < C; c++) {
    if (runningMean) {
      const rm = dataOf(runningMean);
      const i = runningMean.offset + c;
      rm[i] = (1 - momentum) * rm[i]! + momentum * means[c]!;
    }
    if (runningVar) {
      const rv = dataOf(runningVar);
      const i = runningVar.offset + c;
      rv[i] = (1 - momentum) * rv[i]! + momentum * (vars[c]! * unbias);
    }
  }
}

export function batchNormBackward(args: OptionalKernelArgs["batchNormBackward"]): void {
  const { x, weight, mean, rstd, g, dx, dweight, dbias } = args;
  const [R, C] = x.shape as [number, number];
  const xs = dataOf(x);
  const gs = dataOf(g);
  const ms = dataOf(mean);
  const rss = dataOf(rstd);
  const ws = weight ? dataOf(weight) : null;
  const sumG = columnSums(gs, g.offset, R, C);
  const sumGX = new Float64Array(C);
  for (let r = 0, p = x.offset, q = g.offset; r < R; r++, p += C, q += C) {
    for (let c = 0; c < C; c++)
      sumGX[c]! += gs[q + c]! * ((xs[p + c]! - ms[mean.offset + c]!) * rss[rstd.offset + c]!);
  }
  const dxs = dataOf(dx);
  for (let r = 0, p = x.offset, q = g.offset, o = dx.offset; r < R; r++, p += C, q += C, o += C) {
    for (let c = 0; c < C; c++) {
      const rs = rss[rstd.offset + c]!;
      const xhat = (xs[p + c]! - ms[mean.offset + c]!) * rs;
      const k = ((ws ? ws[weight!.offset + c]! : 1) * rs) / R;
      dxs[o + c] = k * (R * gs[q + c]! - sumG[c]! - xhat * sumGX[c]!);
    }
  }
  if (dweight) for (let c = 0; c < C; c++) dataOf(dweight)[dweight.offset + c] = sumGX[c]!;
  if (dbias) for (let c = 0; c < C; c++) dataOf(dbias)[dbias.offset + c] = sumG[c]!;
}
