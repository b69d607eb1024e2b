// Batch norm (as ../../js/batchnorm.ts).
import { BatchNormSlot, F } from "./spec";
import { k } from "./simd-math";
import { af, ai } from "./rows";

// ---- batch norm (training; float32 [R, C], contiguous, channels last) ----
// EXTRA: 0 R, 1 C, then byte addresses: 2 x, 3 out (dx), 4 mean, 5 rstd, 6 weight, 7 bias,
// 8 running mean, 9 running var (0 = none), 10 g, 11 dweight, 12 dbias, 13 temp (5·C f64).
// F0 eps, F1 momentum. The float64 expressions and their order are the js kernels'.

@inline export function f64At(p: usize, c: i32): f64 {
  return load<f64>(p + (<usize>c << 3));
}
@inline export function f32At(p: usize, c: i32): f64 {
  return <f64>load<f32>(p + (<usize>c << 2));
}
@inline export function twoF32(p: usize, c: i32): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p + (<usize>c << 2)));
}
@inline export function storeTwoF32(p: usize, c: i32, v: v128): void {
  v128.store64_lane(p + (<usize>c << 2), f32x4.demote_f64x2_zero(v), 0);
}

export function batchNorm(): void {
  const R = ai(BatchNormSlot.R);
  const C = ai(BatchNormSlot.C);
  const px = <usize>ai(BatchNormSlot.X);
  const po = <usize>ai(BatchNormSlot.OUT);
  const pw = <usize>ai(BatchNormSlot.WEIGHT);
  const pb = <usize>ai(BatchNormSlot.BIAS);
  const prm = <usize>ai(BatchNormSlot.RUNNING_MEAN);
  const prv = <usize>ai(BatchNormSlot.RUNNING_VAR);
  const eps = af(F.EPS);
  const momentum = af(F.MOMENTUM);
  const mean = <usize>ai(BatchNormSlot.TEMP);
  const sq = mean + (<usize>C << 3);
  memory.fill(mean, 0, <usize>C << 4);
  const rowBytes = <usize>C << 2;
  for (let r = 0, row = px; r < R; r++, row += rowBytes) {
    let c = 0;
    for (; c + 2 <= C; c += 2) v128.store(mean + (<usize>c << 3), f64x2.add(v128.load(mean + (<usize>c << 3)), twoF32(row, c)));
    for (; c < C; c++) store<f64>(mean + (<usize>c << 3), f64At(mean, c) + f32At(row, c));
  }
  for (let c = 0; c < C; c++) store<f64>(mean + (<usize>c << 3), f64At(mean, c) / <f64>R);
  for (let r = 0, row = px; r < R; r++, row += rowBytes) {
    let c = 0;
    for (; c + 2 <= C; c += 2) {
      const o = <usize>c << 3;
      const d = f64x2.sub(twoF32(row, c), v128.load(mean + o));
      v128.store(sq + o, f64x2.add(v128.load(sq + o), f64x2.mul(d, d)));
    }
    for (; c < C; c++) {
      const d = f32At(row, c) - f64At(mean, c);
      store<f64>(sq + (<usize>c << 3), f64At(sq, c) + d * d);
    }
  }
  const unbias = <f64>R / <f64>max(R - 1, 1);
  for (let c = 0; c < C; c++) {
    const v = f64At(sq, c) / <f64>R;
    const rs = 1 / Math.sqrt(v + eps);
    store<f32>(<usize>ai(BatchNormSlot.MEAN) + (<usize>c << 2), <f32>f64At(mean, c));
    store<f32>(<usize>ai(BatchNormSlot.RSTD) + (<usize>c << 2), <f32>rs);
    if (prm) store<f32>(prm + (<usize>c << 2), <f32>((1 - momentum) * f32At(prm, c) + momentum * f64At(mean, c)));
    if (prv) store<f32>(prv + (<usize>c << 2), <f32>((1 - momentum) * f32At(prv, c) + momentum * (v * unbias)));
    store<f64>(sq + (<usize>c << 3), rs);
  }
  for (let r = 0, row = px, out = po; r < R; r++, row += rowBytes, out += rowBytes) {
    let c = 0;
    for (; c + 2 <= C; c += 2) {
      const o = <usize>c << 3;
      let y = f64x2.mul(f64x2.sub(twoF32(row, c), v128.load(mean + o)), v128.load(sq + o));
      if (pw) y = f64x2.mul(y, twoF32(pw, c));
      if (pb) y = f64x2.add(y, twoF32(pb, c));
      storeTwoF32(out, c, y);
    }
    for (; c < C; c++) {
      let y = (f32At(row, c) - f64At(mean, c)) * f64At(sq, c);
      if (pw) y *= f32At(pw, c);
      if (pb) y += f32At(pb, c);
      store<f32>(out + (<usize>c << 2), <f32>y);
    }
  }
}

export function batchNormBackward(): void {
  const R = ai(BatchNormSlot.R);
  const C = ai(BatchNormSlot.C);
  const px = <usize>ai(BatchNormSlot.X);
  const pdx = <usize>ai(BatchNormSlot.OUT);
  const pm = <usize>ai(BatchNormSlot.MEAN);
  const pr = <usize>ai(BatchNormSlot.RSTD);
  const pw = <usize>ai(BatchNormSlot.WEIGHT);
  const pg = <usize>ai(BatchNormSlot.G);
  const pdw = <usize>ai(BatchNormSlot.DWEIGHT);
  const pdb = <usize>ai(BatchNormSlot.DBIAS);
  const sumG = <usize>ai(BatchNormSlot.TEMP);
  const sumGX = sumG + (<usize>C << 3);
  const mean = sumGX + (<usize>C << 3);
  const rstd = mean + (<usize>C << 3);
  const k = rstd + (<usize>C << 3);
  memory.fill(sumG, 0, <usize>C << 4);
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 3;
    const rs = f32At(pr, c);
    store<f64>(mean + o, f32At(pm, c));
    store<f64>(rstd + o, rs);
    store<f64>(k + o, ((pw ? f32At(pw, c) : 1) * rs) / <f64>R);
  }
  const rowBytes = <usize>C << 2;
  for (let r = 0, row = px, grow = pg; r < R; r++, row += rowBytes, grow += rowBytes) {
    let c = 0;
    for (; c + 2 <= C; c += 2) {
      const o = <usize>c << 3;
      const g = twoF32(grow, c);
      const xhat = f64x2.mul(f64x2.sub(twoF32(row, c), v128.load(mean + o)), v128.load(rstd + o));
      v128.store(sumG + o, f64x2.add(v128.load(sumG + o), g));
      v128.store(sumGX + o, f64x2.add(v128.load(sumGX + o), f64x2.mul(g, xhat)));
    }
    for (; c < C; c++) {
      const o = <usize>c << 3;
      const g = f32At(grow, c);
      store<f64>(sumG + o, load<f64>(sumG + o) + g);
      store<f64>(sumGX + o, load<f64>(sumGX + o) + g * ((f32At(row, c) - load<f64>(mean + o)) * load<f64>(rstd + o)));
    }
  }
  const rv = f64x2.splat(<f64>R);
  for (let r = 0, row = px, grow = pg, out = pdx; r < R; r++, row += rowBytes, grow += rowBytes, out += rowBytes) {
    let c = 0;
    for (; c + 2 <= C; c += 2) {
      const o = <usize>c << 3;
      const xhat = f64x2.mul(f64x2.sub(twoF32(row, c), v128.load(mean + o)), v128.load(rstd + o));
      const inner = f64x2.sub(f64x2.sub(f64x2.mul(rv, twoF32(grow, c)), v128.load(sumG + o)), f64x2.mul(xhat, v128.load(sumGX + o)));
      storeTwoF32(out, c, f64x2.mul(v128.load(k + o), inner));
    }
    for (; c < C; c++) {
      const o = <usize>c << 3;
      const xhat = (f32At(row, c) - load<f64>(mean + o)) * load<f64>(rstd + o);
      store<f32>(out + (<usize>c << 2), <f32>(load<f64>(k + o) * (<f64>R * f32At(grow, c) - load<f64>(sumG + o) - xhat * load<f64>(sumGX + o))));
    }
  }
  if (pdw) for (let c = 0; c < C; c++) store<f32>(pdw + (<usize>c << 2), <f32>f64At(sumGX, c));
  if (pdb) for (let c = 0; c < C; c++) store<f32>(pdb + (<usize>c << 2), <f32>f64At(sumG, c));
}
