/** Fused kernels of the nn layer: (log-)softmax, cross-entropy and layer norm, with their backward. */
import type { KernelArgs } from "../types.js";
import { dataOf, lanes } from "./strided.js";

export function softmax({ x, dim, log, out }: KernelArgs["softmax"]): void {
  const xs = dataOf(x);
  const o = dataOf(out);
  const it = lanes(x.shape, dim, [x, out]);
  const [sx, so] = it.steps as [number, number];
  const n = it.length;
  for (let r = 0; r < it.rows; r++, it.next()) {
    const [px, po] = it.offsets as [number, number];
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, xs[px + j * sx]!);
    // A lane of -inf only: keep max finite so exp gives 0s (and 0/0 = NaN, as PyTorch).
    if (max === -Infinity) max = 0;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(xs[px + j * sx]! - max);
    if (log) {
      const logSum = Math.log(sum) + max;
      for (let j = 0; j < n; j++) o[po + j * so] = xs[px + j * sx]! - logSum;
    } else {
      for (let j = 0; j < n; j++) o[po + j * so] = Math.exp(xs[px + j * sx]! - max) / sum;
    }
  }
}

/** softmax: dx = y·(g − Σ g·y); log-softmax: dx = g − exp(y)·Σ g. */
export function softmaxBackward({ y, g, dim, log, out }: KernelArgs["softmaxBackward"]): void {
  const ys = dataOf(y);
  const gs = dataOf(g);
  const o = dataOf(out);
  const it = lanes(y.shape, dim, [y, g, out]);
  const [sy, sg, so] = it.steps as [number, number, number];
  const n = it.length;
  for (let r = 0; r < it.rows; r++, it.next()) {
    const [py, pg, po] = it.offsets as [number, number, number];
    let dot = 0;
    if (log) for (let j = 0; j < n; j++) dot += gs[pg + j * sg]!;
    else for (let j = 0; j < n; j++) dot += gs[pg + j * sg]! * ys[py + j * sy]!;
    for (let j = 0; j < n; j++) {
      const yj = ys[py + j * sy]!;
      const gj = gs[pg + j * sg]!;
      o[po + j * so] = log ? gj - Math.exp(yj) * dot : yj * (gj - dot);
    }
  }
}

function checkTarget(t: number, classes: number): void {
  if (!(t >= 0 && t < classes)) {
    throw new RangeError(`crossEntropy: target ${t} is out of range for ${classes} classes`);
  }
}

export function crossEntropy({
  logits,
  target,
  ignoreIndex,
  reduction,
  out,
}: KernelArgs["crossEntropy"]): void {
  const xs = dataOf(logits);
  const ts = dataOf(target);
  const o = dataOf(out);
  const [N, C] = logits.shape as [number, number];
  const [sn, sc] = logits.strides as [number, number];
  let total = 0;
  let count = 0;
  for (let n = 0; n < N; n++) {
    const t = ts[target.offset + n * target.strides[0]!]!;
    let loss = 0;
    if (t !== ignoreIndex) {
      checkTarget(t, C);
      const p = logits.offset + n * sn;
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, xs[p + c * sc]!);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(xs[p + c * sc]! - max);
      loss = Math.log(sum) + max - xs[p + t * sc]!;
      total += loss;
      count++;
    }
    if (reduction === "none") o[out.offset + n] = loss;
  }
  if (reduction === "sum") o[out.offset] = total;
  if (reduction === "mean") o[out.offset] = total / count; // all ignored: 0/0 = NaN, as PyTorch
}

/** d loss / d logits[n, c] = scale_n · (softmax(logits[n])_c − [c = target_n]). */
export function crossEntropyBackward({
  logits,
  target,
  g,
  ignoreIndex,
  reduction,
  out,
}: KernelArgs["crossEntropyBackward"]): void {
  const xs = dataOf(logits);
  const ts = dataOf(target);
  const gs = dataOf(g);
  const o = dataOf(out);
  const [N, C] = logits.shape as [number, number];
  const [sn, sc] = logits.strides as [number, number];
  const targetAt = (n: number) => ts[target.offset + n * target.strides[0]!]!;
  let count = 0;
  for (let n = 0; n < N; n++) if (targetAt(n) !== ignoreIndex) count++;
  for (let n = 0; n < N; n++) {
    const t = targetAt(n);
    const po = out.offset + n * C;
    if (t === ignoreIndex) {
      for (let c = 0; c < C; c++) o[po + c] = 0;
      continue;
    }
    checkTarget(t, C);
    let scale: number;
    if (reduction === "none") scale = gs[g.offset + n * g.strides[0]!]!;
    else scale = reduction === "mean" ? gs[g.offset]! / count : gs[g.offset]!;
    const p = logits.offset + n * sn;
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, xs[p + c * sc]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(xs[p + c * sc]! - max);
    for (let c = 0; c < C; c++) {
      const prob = Math.exp(xs[p + c * sc]! - max) / sum;
      o[po + c] = scale * (prob - (c === t ? 1 : 0));
    }
  }
}

export function layerNorm({ x, weight, bias, eps, out, mean, rstd }: KernelArgs["layerNorm"]): void {
  const xs = dataOf(x);
  const o = dataOf(out);
  const ms = dataOf(mean);
  const rs = dataOf(rstd);
  const ws = weight ? dataOf(weight) : null;
  const bs = bias ? dataOf(bias) : null;
  const [R, D] = x.shape as [number, number];
  const [sr, sd] = x.strides as [number, number];
  for (let r = 0; r < R; r++) {
    const p = x.offset + r * sr;
    let m = 0;
    for (let d = 0; d < D; d++) m += xs[p + d * sd]!;
    m /= D;
    let v = 0;
    for (let d = 0; d < D; d++) {
      const c = xs[p + d * sd]! - m;
      v += c * c;
    }
    const rs_ = 1 / Math.sqrt(v / D + eps);
    ms[mean.offset + r] = m;
    rs[rstd.offset + r] = rs_;
    const po = out.offset + r * D;
    for (let d = 0; d < D; d++) {
      let y = (xs[p + d * sd]! - m) * rs_;
      if (ws) y *= ws[weight!.offset + d * weight!.strides[0]!]!;
      if (bs) y += bs[bias!.offset + d * bias!.strides[0]!]!;
      o[po + d] = y;
    }
  }
}

/**
 * With x̂ = (x − mean)·rstd and ĝ = g·weight:
 * dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dweight = Σrows g·x̂, dbias = Σrows g.
 */
export function layerNormBackward({
  x,
  weight,
  mean,
  rstd,
  g,
  dx,
  dweight,
  dbias,
}: KernelArgs["layerNormBackward"]): void {
  const xs = dataOf(x);
  const gs = dataOf(g);
  const ms = dataOf(mean);
  const rs = dataOf(rstd);
  const ws = weight ? dataOf(weight) : null;
  const dxs = dataOf(dx);
  const [R, D] = x.shape as [number, number];
  const [sr, sd] = x.strides as [number, number];
  const [gr, gd] = g.strides as [number, number];
  const dw = new Float64Array(D);
  const db = new Float64Array(D);
  const xhat = new Float64Array(D);
  const ghat = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    const m = ms[mean.offset + r]!;
    const rs_ = rs[rstd.offset + r]!;
    let meanG = 0;
    let meanGX = 0;
    for (let d = 0; d < D; d++) {
      const gv = gs[g.offset + r * gr + d * gd]!;
      const xh = (xs[x.offset + r * sr + d * sd]! - m) * rs_;
      const gh = ws ? gv * ws[weight!.offset + d * weight!.strides[0]!]! : gv;
      xhat[d] = xh;
      ghat[d] = gh;
      meanG += gh;
      meanGX += gh * xh;
      dw[d]! += gv * xh;
      db[d]! += gv;
    }
    meanG /= D;
    meanGX /= D;
    const po = dx.offset + r * D;
    for (let d = 0; d < D; d++) dxs[po + d] = rs_ * (ghat[d]! - meanG - xhat[d]! * meanGX);
  }
  if (dweight) dataOf(dweight).set(dw, dweight.offset);
  if (dbias) dataOf(dbias).set(db, dbias.offset);
}
