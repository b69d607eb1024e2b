// Optimizer kernels (as ../../js/optim.ts): AdamW and axpy.
import { AdamwF, DType, F, Slot } from "./spec";
import { af, ai, base, cur, dt, ld, rowsBegin, rowsNext, st, step } from "./rows";

/** AdamW on (p, g, m, v), all one float dtype. f[0..5] = lr, beta1, beta2, eps, weightDecay, t. */
export function adamw(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const lr = af(AdamwF.LR);
  const beta1 = af(AdamwF.BETA1);
  const beta2 = af(AdamwF.BETA2);
  const eps = af(AdamwF.EPS);
  const wd = af(AdamwF.WEIGHT_DECAY);
  const t = af(AdamwF.STEP);
  const decay = 1 - lr * wd;
  const stepSize = lr / (1 - beta1 ** t);
  const bc2 = Math.sqrt(1 - beta2 ** t);
  const d = dt(0);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let pp = cur(0);
    let pg = cur(1);
    let pm = cur(2);
    let pv = cur(3);
    for (let j = 0; j < n; j++, pp += step(0), pg += step(1), pm += step(2), pv += step(3)) {
      let p = ld(d, base(0), pp);
      const g = ld(d, base(1), pg);
      let m = ld(d, base(2), pm);
      let v = ld(d, base(3), pv);
      if (wd != 0) p = d == DType.float32 ? <f64>(<f32>(p * decay)) : p * decay;
      m = beta1 * m + (1 - beta1) * g;
      v = beta2 * v + (1 - beta2) * g * g;
      if (d == DType.float32) {
        m = <f64>(<f32>m);
        v = <f64>(<f32>v);
      }
      p = p - (m / (Math.sqrt(v) / bc2 + eps)) * stepSize;
      st(d, base(0), pp, p);
      st(d, base(2), pm, m);
      st(d, base(3), pv, v);
    }
    rowsNext();
  }
}

/** Lanes 2 and 3 of a float32 vector moved to lanes 0 and 1 (for promote_low). */
@inline export function highHalf(v: v128): v128 {
  return v128.shuffle<u8>(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
}

/** x ← x + alpha·y in place (operand 0 x, 1 y; F0 alpha): float64 arithmetic, one rounding. */
export function axpy(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const alpha = af(F.ALPHA);
  const d = dt(0);
  const sx = step(0);
  const sy = step(1);
  const av = f64x2.splat(alpha);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let px = cur(0);
    let py = cur(1);
    let j = 0;
    if (d == DType.float32 && sx == 1 && sy == 1) {
      const bx = base(0) + (<usize>px << 2);
      const by = base(1) + (<usize>py << 2);
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        const x = v128.load(bx + o);
        const y = v128.load(by + o);
        const lo = f64x2.add(f64x2.promote_low_f32x4(x), f64x2.mul(av, f64x2.promote_low_f32x4(y)));
        const hi = f64x2.add(f64x2.promote_low_f32x4(highHalf(x)), f64x2.mul(av, f64x2.promote_low_f32x4(highHalf(y))));
        v128.store(bx + o, v128.shuffle<u8>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
      }
      px += j;
      py += j;
    }
    for (; j < n; j++, px += sx, py += sy) st(d, base(0), px, ld(d, base(0), px) + alpha * ld(d, base(1), py));
    rowsNext();
  }
}
