// Fused nn kernels (as ../../js/nn.ts): softmax, cross-entropy, layer norm.
import {
  checkReduction,
  CrossEntropySlot,
  DType,
  F,
  KernelError,
  LayerNormSlot,
  Reduction,
  Slot,
  SoftmaxSlot,
} from "./spec";
import { expf, expOf, expV } from "./simd-math";
import { af, ai, base, cur, dt, ld, rowsBegin, rowsNext, setErr, st, step } from "./rows";

// ---- fused nn kernels ----

/** Max of a contiguous float32 row (NaN if any element is NaN, as Math.max). */
export function rowMaxF32(p: usize, n: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let nan = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const v = v128.load(p + (<usize>j << 2));
    m = f32x4.pmax(m, v);
    nan = v128.or(nan, f32x4.ne(v, v));
  }
  let out = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; j < n; j++) out = max(out, load<f32>(p + (<usize>j << 2)));
  return v128.any_true(nan) ? NaN : out;
}

/**
 * exp(x − shift) over a contiguous float32 row, written to `to` (may be the input) when `to` is
 * not 0; returns the sum, accumulated in float64 (a 50K-class row loses no digits).
 */
export function rowExpSumF32(p: usize, n: i32, shift: f32, to: usize): f64 {
  const sv = f32x4.splat(shift);
  let acc = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const e = expV(f32x4.sub(v128.load(p + (<usize>j << 2)), sv));
    if (to) v128.store(to + (<usize>j << 2), e);
    acc = f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(e), f64x2.promote_low_f32x4(v128.shuffle<u8>(e, e, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7))));
  }
  let sum = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; j < n; j++) {
    const e = expf(load<f32>(p + (<usize>j << 2)) - shift);
    if (to) store<f32>(to + (<usize>j << 2), e);
    sum += <f64>e;
  }
  return sum;
}

/** to[j] = from[j]·a + b over contiguous float32 rows (to may be from). */
export function rowScaleShiftF32(from: usize, to: usize, n: i32, a: f32, b: f32): void {
  const av = f32x4.splat(a);
  const bv = f32x4.splat(b);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const off = <usize>j << 2;
    v128.store(to + off, f32x4.add(f32x4.mul(v128.load(from + off), av), bv));
  }
  for (; j < n; j++) {
    const off = <usize>j << 2;
    store<f32>(to + off, load<f32>(from + off) * a + b);
  }
}

/** Lanes of x (0) and out (1) along dim; P1 = log. */
export function softmax(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const log = ai(SoftmaxSlot.LOG) != 0;
  const dx = dt(0);
  const bx = base(0);
  const sx = step(0);
  const dout = dt(1);
  const bo = base(1);
  const so = step(1);
  const f32 = dx == DType.float32 && dout == DType.float32 && sx == 1 && so == 1;
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    const px = cur(0);
    const po = cur(1);
    if (f32) {
      const xp = bx + (<usize>px << 2);
      const op = bo + (<usize>po << 2);
      let m = rowMaxF32(xp, n);
      if (m == -Infinity) m = 0;
      const sum = rowExpSumF32(xp, n, m, log ? 0 : op);
      if (log) rowScaleShiftF32(xp, op, n, 1, <f32>-(Math.log(sum) + <f64>m));
      else rowScaleShiftF32(op, op, n, <f32>(1 / sum), 0);
      rowsNext();
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, ld(dx, bx, px + j * sx));
    if (max == -Infinity) max = 0;
    let sum: f64 = 0;
    for (let j = 0; j < n; j++) sum += expOf(dx, ld(dx, bx, px + j * sx) - max);
    if (log) {
      const logSum = Math.log(sum) + max;
      for (let j = 0; j < n; j++) st(dout, bo, po + j * so, ld(dx, bx, px + j * sx) - logSum);
    } else {
      const inv = 1 / sum;
      for (let j = 0; j < n; j++) st(dout, bo, po + j * so, expOf(dx, ld(dx, bx, px + j * sx) - max) * inv);
    }
    rowsNext();
  }
}

/** Lanes of y (0), g (1), out (2); P1 = log. */
export function softmaxBackward(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const log = ai(SoftmaxSlot.LOG) != 0;
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    const py = cur(0);
    const pg = cur(1);
    const po = cur(2);
    let dot: f64 = 0;
    if (log) for (let j = 0; j < n; j++) dot += ld(dt(1), base(1), pg + j * step(1));
    else
      for (let j = 0; j < n; j++)
        dot += ld(dt(1), base(1), pg + j * step(1)) * ld(dt(0), base(0), py + j * step(0));
    for (let j = 0; j < n; j++) {
      const yj = ld(dt(0), base(0), py + j * step(0));
      const gj = ld(dt(1), base(1), pg + j * step(1));
      st(dt(2), base(2), po + j * step(2), log ? gj - Math.exp(yj) * dot : yj * (gj - dot));
    }
    rowsNext();
  }
}

// Cross-entropy: operand 0 logits (offset in OFF, strides sn = EXTRA[0], sc = EXTRA[1]),
// 1 target (EXTRA[2] stride), 2 out, 3 g (backward). N = P1, C = P2, ignoreIndex = P3,
// OP = the Reduction. Errors: KernelError.targetOutOfRange, value = the bad target.

export function rowLogSumExp(bx: usize, d: i32, p: i32, sc: i32, C: i32): f64 {
  if (d == DType.float32 && sc == 1) {
    const xp = bx + (<usize>p << 2);
    const m = rowMaxF32(xp, C);
    return Math.log(rowExpSumF32(xp, C, m, 0)) + <f64>m;
  }
  let max = -Infinity;
  for (let c = 0; c < C; c++) max = Math.max(max, ld(d, bx, p + c * sc));
  let sum: f64 = 0;
  for (let c = 0; c < C; c++) sum += expOf(d, ld(d, bx, p + c * sc) - max);
  return Math.log(sum) + max;
}

export function crossEntropy(): void {
  const N = ai(CrossEntropySlot.N);
  const C = ai(CrossEntropySlot.C);
  const ignore = ai(CrossEntropySlot.IGNORE_INDEX);
  const reduction = ai(Slot.OP);
  checkReduction(reduction);
  const sn = ai(CrossEntropySlot.LOGITS_ROW);
  const sc = ai(CrossEntropySlot.LOGITS_COL);
  const st1 = ai(CrossEntropySlot.TARGET_STRIDE);
  const d = dt(0);
  let total: f64 = 0;
  let count = 0;
  for (let n = 0; n < N; n++) {
    const t = load<i32>(base(1) + (<usize>(ai(Slot.OFF + 1) + n * st1) << 2));
    let loss: f64 = 0;
    if (t != ignore) {
      if (t < 0 || t >= C) {
        setErr(KernelError.targetOutOfRange, t);
        return;
      }
      const p = ai(Slot.OFF) + n * sn;
      loss = rowLogSumExp(base(0), d, p, sc, C) - ld(d, base(0), p + t * sc);
      total += loss;
      count++;
    }
    if (reduction == Reduction.none) st(dt(2), base(2), ai(Slot.OFF + 2) + n, loss);
  }
  if (reduction == Reduction.sum) st(dt(2), base(2), ai(Slot.OFF + 2), total);
  if (reduction == Reduction.mean) st(dt(2), base(2), ai(Slot.OFF + 2), total / <f64>count);
}

export function crossEntropyBackward(): void {
  const N = ai(CrossEntropySlot.N);
  const C = ai(CrossEntropySlot.C);
  const ignore = ai(CrossEntropySlot.IGNORE_INDEX);
  const reduction = ai(Slot.OP);
  checkReduction(reduction);
  const sn = ai(CrossEntropySlot.LOGITS_ROW);
  const sc = ai(CrossEntropySlot.LOGITS_COL);
  const st1 = ai(CrossEntropySlot.TARGET_STRIDE);
  const sg = ai(CrossEntropySlot.G_STRIDE);
  const d = dt(0);
  const bx = base(0);
  let count = 0;
  for (let n = 0; n < N; n++) {
    if (load<i32>(base(1) + (<usize>(ai(Slot.OFF + 1) + n * st1) << 2)) != ignore) count++;
  }
  for (let n = 0; n < N; n++) {
    const t = load<i32>(base(1) + (<usize>(ai(Slot.OFF + 1) + n * st1) << 2));
    const po = ai(Slot.OFF + 2) + n * C;
    if (t == ignore) {
      for (let c = 0; c < C; c++) st(dt(2), base(2), po + c, 0);
      continue;
    }
    if (t < 0 || t >= C) {
      setErr(KernelError.targetOutOfRange, t);
      return;
    }
    let scale: f64;
    if (reduction == Reduction.none) scale = ld(dt(3), base(3), ai(Slot.OFF + 3) + n * sg);
    else scale = reduction == Reduction.mean ? ld(dt(3), base(3), ai(Slot.OFF + 3)) / <f64>count : ld(dt(3), base(3), ai(Slot.OFF + 3));
    const p = ai(Slot.OFF) + n * sn;
    if (d == DType.float32 && sc == 1 && dt(2) == DType.float32) {
      // float32 rows: probabilities into out, then scaled, minus scale at the target.
      const xp = bx + (<usize>p << 2);
      const op = base(2) + (<usize>po << 2);
      const m = rowMaxF32(xp, C);
      const sum = rowExpSumF32(xp, C, m, op);
      rowScaleShiftF32(op, op, C, <f32>(scale / sum), 0);
      const tp = op + (<usize>t << 2);
      store<f32>(tp, load<f32>(tp) - <f32>scale);
      continue;
    }
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, ld(d, bx, p + c * sc));
    let sum: f64 = 0;
    for (let c = 0; c < C; c++) sum += expOf(d, ld(d, bx, p + c * sc) - max);
    const inv = 1 / sum;
    for (let c = 0; c < C; c++) {
      const prob = expOf(d, ld(d, bx, p + c * sc) - max) * inv;
      st(dt(2), base(2), po + c, scale * (prob - (c == t ? 1 : 0)));
    }
  }
}

// Layer norm: operands 0 x (strides EXTRA[0], EXTRA[1]), 1 out, 2 mean, 3 rstd; weight and bias
// as byte bases EXTRA[4], EXTRA[5] (0 = none), offsets EXTRA[6], EXTRA[7], strides EXTRA[8], EXTRA[9],
// dtype = x's. R = P1, D = P2, eps = f[0].
/** Sum of a contiguous float32 row, in float64. */
export function rowSumF64(p: usize, n: i32): f64 {
  let acc = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const v = v128.load(p + (<usize>j << 2));
    acc = f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(v128.shuffle<u8>(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7))));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; j < n; j++) s += <f64>load<f32>(p + (<usize>j << 2));
  return s;
}

/** Σ (x − m)² over a contiguous float32 row, in float64. */
export function rowSquaredDeviationF64(p: usize, n: i32, m: f64): f64 {
  const mv = f64x2.splat(m);
  let acc = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const v = v128.load(p + (<usize>j << 2));
    const lo = f64x2.sub(f64x2.promote_low_f32x4(v), mv);
    const hi = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<u8>(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)), mv);
    acc = f64x2.add(acc, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; j < n; j++) {
    const c = <f64>load<f32>(p + (<usize>j << 2)) - m;
    s += c * c;
  }
  return s;
}

/** One float32 row of layer norm: statistics in float64, (x − mean)·rstd·w + b in SIMD. */
export function layerNormRowF32(xp: usize, D: i32, eps: f64, r: i32, wp: usize, bp: usize, hasW: bool, hasB: bool, op: usize): void {
  const m = rowSumF64(xp, D) / <f64>D;
  const rs = 1 / Math.sqrt(rowSquaredDeviationF64(xp, D, m) / <f64>D + eps);
  st(dt(2), base(2), ai(Slot.OFF + 2) + r, m);
  st(dt(3), base(3), ai(Slot.OFF + 3) + r, rs);
  const mv = f32x4.splat(<f32>m);
  const rv = f32x4.splat(<f32>rs);
  let j = 0;
  for (; j + 4 <= D; j += 4) {
    const o = <usize>j << 2;
    let y = f32x4.mul(f32x4.sub(v128.load(xp + o), mv), rv);
    if (hasW) y = f32x4.mul(y, v128.load(wp + o));
    if (hasB) y = f32x4.add(y, v128.load(bp + o));
    v128.store(op + o, y);
  }
  for (; j < D; j++) {
    const o = <usize>j << 2;
    let y = (load<f32>(xp + o) - <f32>m) * <f32>rs;
    if (hasW) y *= load<f32>(wp + o);
    if (hasB) y += load<f32>(bp + o);
    store<f32>(op + o, y);
  }
}

export function layerNorm(): void {
  const D = ai(LayerNormSlot.D);
  const eps = af(F.EPS);
  const sr = ai(LayerNormSlot.X_ROW);
  const sd = ai(LayerNormSlot.X_COL);
  const d = dt(0);
  const bx = base(0);
  const bw = <usize>ai(LayerNormSlot.WEIGHT);
  const bb = <usize>ai(LayerNormSlot.BIAS);
  const ow = ai(LayerNormSlot.WEIGHT_OFFSET);
  const ob = ai(LayerNormSlot.BIAS_OFFSET);
  const sw = ai(LayerNormSlot.WEIGHT_STRIDE);
  const sb = ai(LayerNormSlot.BIAS_STRIDE);
  // Threads split the rows: this share is rows r0 .. r0 + ROWS (ROWS = R unsplit).
  const r0 = ai(Slot.R0);
  const r1 = r0 + ai(Slot.ROWS);
  const f32 = d == DType.float32 && sd == 1 && dt(1) == DType.float32 && (bw == 0 || sw == 1) && (bb == 0 || sb == 1);
  for (let r = r0; r < r1; r++) {
    const p = ai(Slot.OFF) + r * sr;
    if (f32) {
      layerNormRowF32(bx + (<usize>p << 2), D, eps, r, bw + (<usize>ow << 2), bb + (<usize>ob << 2), bw != 0, bb != 0, base(1) + (<usize>(ai(Slot.OFF + 1) + r * D) << 2));
      continue;
    }
    let m: f64 = 0;
    for (let i = 0; i < D; i++) m += ld(d, bx, p + i * sd);
    m /= <f64>D;
    let v: f64 = 0;
    for (let i = 0; i < D; i++) {
      const c = ld(d, bx, p + i * sd) - m;
      v += c * c;
    }
    const rs = 1 / Math.sqrt(v / <f64>D + eps);
    st(dt(2), base(2), ai(Slot.OFF + 2) + r, m);
    st(dt(3), base(3), ai(Slot.OFF + 3) + r, rs);
    const po = ai(Slot.OFF + 1) + r * D;
    for (let i = 0; i < D; i++) {
      let y = (ld(d, bx, p + i * sd) - m) * rs;
      if (bw) y *= ld(d, bw, ow + i * sw);
      if (bb) y += ld(d, bb, ob + i * sb);
      st(dt(1), base(1), po + i, y);
    }
  }
}

// Backward: operands 0 x (strides EXTRA[0..1]), 1 g (strides EXTRA[2..3]), 2 mean, 3 rstd;
// dx byte base EXTRA[10] offset EXTRA[11]; weight EXTRA[4] (0 = none), offset EXTRA[6], stride EXTRA[8];
// dweight EXTRA[12]/[13], dbias EXTRA[14]/[15] (base/offset, 0 = none); temp (4·D f64) EXTRA[16].
export function layerNormBackward(): void {
  const R = ai(LayerNormSlot.R);
  const D = ai(LayerNormSlot.D);
  const sr = ai(LayerNormSlot.X_ROW);
  const sd = ai(LayerNormSlot.X_COL);
  const gr = ai(LayerNormSlot.G_ROW);
  const gd = ai(LayerNormSlot.G_COL);
  const d = dt(0);
  const bw = <usize>ai(LayerNormSlot.WEIGHT);
  const ow = ai(LayerNormSlot.WEIGHT_OFFSET);
  const sw = ai(LayerNormSlot.WEIGHT_STRIDE);
  const bdx = <usize>ai(LayerNormSlot.DX);
  const odx = ai(LayerNormSlot.DX_OFFSET);
  const tmp = <usize>ai(LayerNormSlot.TEMP);
  const dw = tmp;
  const db = tmp + (<usize>D << 3);
  const xhat = db + (<usize>D << 3);
  const ghat = xhat + (<usize>D << 3);
  memory.fill(tmp, 0, <usize>D << 4);
  for (let r = 0; r < R; r++) {
    const m = ld(dt(2), base(2), ai(Slot.OFF + 2) + r);
    const rs = ld(dt(3), base(3), ai(Slot.OFF + 3) + r);
    let meanG: f64 = 0;
    let meanGX: f64 = 0;
    for (let i = 0; i < D; i++) {
      const gv = ld(dt(1), base(1), ai(Slot.OFF + 1) + r * gr + i * gd);
      const xh = (ld(d, base(0), ai(Slot.OFF) + r * sr + i * sd) - m) * rs;
      const gh = bw ? gv * ld(d, bw, ow + i * sw) : gv;
      const o = <usize>i << 3;
      store<f64>(xhat + o, xh);
      store<f64>(ghat + o, gh);
      meanG += gh;
      meanGX += gh * xh;
      store<f64>(dw + o, load<f64>(dw + o) + gv * xh);
      store<f64>(db + o, load<f64>(db + o) + gv);
    }
    meanG /= <f64>D;
    meanGX /= <f64>D;
    const po = odx + r * D;
    for (let i = 0; i < D; i++) {
      const o = <usize>i << 3;
      st(d, bdx, po + i, rs * (load<f64>(ghat + o) - meanG - load<f64>(xhat + o) * meanGX));
    }
  }
  const bdw = <usize>ai(LayerNormSlot.DWEIGHT);
  const bdb = <usize>ai(LayerNormSlot.DBIAS);
  if (bdw) for (let i = 0; i < D; i++) st(d, bdw, ai(LayerNormSlot.DWEIGHT_OFFSET) + i, load<f64>(dw + (<usize>i << 3)));
  if (bdb) for (let i = 0; i < D; i++) st(d, bdb, ai(LayerNormSlot.DBIAS_OFFSET) + i, load<f64>(db + (<usize>i << 3)));
}
