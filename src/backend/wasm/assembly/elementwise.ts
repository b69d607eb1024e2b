// Elementwise kernels (as ../../js/elementwise.ts): fill, copy, unary, binary, where, GELU backward.
import {
  binaryF,
  BinaryOp,
  BinaryScalarSlot,
  compareF,
  checkBinaryOp,
  checkUnaryOp,
  DType,
  F,
  GeluBackwardSlot,
  isRelational,
  mirrored,
  Slot,
  TriangleSlot,
  unaryF,
  UnaryOp,
} from "./spec";
import { erf, INV_SQRT_2, INV_SQRT_2PI, SQRT_2_OVER_PI } from "./math";
import { expV, geluGradV, geluTanhGradV, geluTanhV, geluV, k, ONE, tanhV } from "./simd-math";
import { af, ai, base, cur, dt, ld, rowsBegin, rowsNext, scratch, st, step } from "./rows";

// ---- elementwise ----

export function fill(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const d0 = dt(0);
  const b0 = base(0);
  const s0 = step(0);
  const value = af(F.VALUE);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let p = cur(0);
    if (d0 == DType.float32 && s0 == 1) {
      const v = <f32>value;
      const vv = f32x4.splat(v);
      const ptr = b0 + (<usize>p << 2);
      let j = 0;
      for (; j + 4 <= n; j += 4) v128.store(ptr + (<usize>j << 2), vv);
      for (; j < n; j++) store<f32>(ptr + (<usize>j << 2), v);
    } else {
      for (let j = 0; j < n; j++, p += s0) st(d0, b0, p, value);
    }
    rowsNext();
  }
}

export function copy(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const dx = dt(0);
  const dout = dt(1);
  const bx = base(0);
  const bo = base(1);
  const sx = step(0);
  const so = step(1);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let px = cur(0);
    let po = cur(1);
    if (dx == DType.float32 && dout == DType.float32) {
      if (sx == 1 && so == 1) memory.copy(bo + (<usize>po << 2), bx + (<usize>px << 2), <usize>n << 2);
      else
        for (let j = 0; j < n; j++, px += sx, po += so)
          store<f32>(bo + (<usize>po << 2), load<f32>(bx + (<usize>px << 2)));
    } else if (dout == DType.bool) {
      for (let j = 0; j < n; j++, px += sx, po += so) store<u8>(bo + <usize>po, ld(dx, bx, px) != 0 ? 1 : 0);
    } else if (dx == DType.bool && dout == DType.int32) {
      // Masks to int32 and int32 to float32 (oneHot, .float()) are exact: no rounding rules needed.
      for (let j = 0; j < n; j++, px += sx, po += so) store<i32>(bo + (<usize>po << 2), <i32>load<u8>(bx + <usize>px));
    } else if (dx == DType.bool && dout == DType.float32) {
      for (let j = 0; j < n; j++, px += sx, po += so) store<f32>(bo + (<usize>po << 2), <f32>load<u8>(bx + <usize>px));
    } else if (dx == DType.int32 && dout == DType.float32) {
      for (let j = 0; j < n; j++, px += sx, po += so) store<f32>(bo + (<usize>po << 2), <f32>load<i32>(bx + (<usize>px << 2)));
    } else {
      for (let j = 0; j < n; j++, px += sx, po += so) st(dout, bo, po, ld(dx, bx, px));
    }
    rowsNext();
  }
}


/** f32 lanes `fn` applied over a strided row, four at a time (gathering when strided). */
@inline export function mapRowF32(kind: UnaryOp, bx: usize, sx: i32, bo: usize, so: i32, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let v: v128;
    if (sx == 1) v = v128.load(bx + (<usize>j << 2));
    else {
      v = f32x4.splat(load<f32>(bx + (<usize>(j * sx) << 2)));
      v = f32x4.replace_lane(v, 1, load<f32>(bx + (<usize>((j + 1) * sx) << 2)));
      v = f32x4.replace_lane(v, 2, load<f32>(bx + (<usize>((j + 2) * sx) << 2)));
      v = f32x4.replace_lane(v, 3, load<f32>(bx + (<usize>((j + 3) * sx) << 2)));
    }
    let y: v128;
    if (kind == UnaryOp.exp) y = expV(v);
    else if (kind == UnaryOp.tanh) y = tanhV(v);
    else if (kind == UnaryOp.gelu) y = geluV(v);
    else if (kind == UnaryOp.geluTanh) y = geluTanhV(v);
    else y = f32x4.div(k(ONE), f32x4.add(k(ONE), expV(f32x4.neg(v)))); // sigmoid
    if (so == 1) v128.store(bo + (<usize>j << 2), y);
    else {
      store<f32>(bo + (<usize>(j * so) << 2), f32x4.extract_lane(y, 0));
      store<f32>(bo + (<usize>((j + 1) * so) << 2), f32x4.extract_lane(y, 1));
      store<f32>(bo + (<usize>((j + 2) * so) << 2), f32x4.extract_lane(y, 2));
      store<f32>(bo + (<usize>((j + 3) * so) << 2), f32x4.extract_lane(y, 3));
    }
  }
  for (; j < n; j++) {
    const v = f32x4.splat(load<f32>(bx + (<usize>(j * sx) << 2)));
    let y: v128;
    if (kind == UnaryOp.exp) y = expV(v);
    else if (kind == UnaryOp.tanh) y = tanhV(v);
    else if (kind == UnaryOp.gelu) y = geluV(v);
    else if (kind == UnaryOp.geluTanh) y = geluTanhV(v);
    else y = f32x4.div(k(ONE), f32x4.add(k(ONE), expV(f32x4.neg(v)))); // sigmoid
    store<f32>(bo + (<usize>(j * so) << 2), f32x4.extract_lane(y, 0));
  }
}

export function unaryRowF32(op: i32, bx: usize, sx: i32, bo: usize, so: i32, n: i32): bool {
  // Hot float32 ops; returns false for the others (the generic path runs them).
  if (op == UnaryOp.neg || op == UnaryOp.square || op == UnaryOp.relu || op == UnaryOp.abs) {
    if (sx == 1 && so == 1) {
      let j = 0;
      const zero = f32x4.splat(0);
      for (; j + 4 <= n; j += 4) {
        const v = v128.load(bx + (<usize>j << 2));
        let y: v128;
        if (op == UnaryOp.neg) y = f32x4.neg(v);
        else if (op == UnaryOp.square) y = f32x4.mul(v, v);
        else if (op == UnaryOp.relu) y = v128.bitselect(v, zero, f32x4.gt(v, zero));
        else y = f32x4.abs(v);
        v128.store(bo + (<usize>j << 2), y);
      }
      for (; j < n; j++) {
        const v = load<f32>(bx + (<usize>j << 2));
        store<f32>(bo + (<usize>j << 2), <f32>unaryF(op, v));
      }
      return true;
    }
    return false;
  }
  if (op == UnaryOp.exp) mapRowF32(UnaryOp.exp, bx, sx, bo, so, n);
  else if (op == UnaryOp.tanh) mapRowF32(UnaryOp.tanh, bx, sx, bo, so, n);
  else if (op == UnaryOp.sigmoid) mapRowF32(UnaryOp.sigmoid, bx, sx, bo, so, n);
  else if (op == UnaryOp.gelu) mapRowF32(UnaryOp.gelu, bx, sx, bo, so, n);
  else if (op == UnaryOp.geluTanh) mapRowF32(UnaryOp.geluTanh, bx, sx, bo, so, n);
  else return false;
  return true;
  return false;
}

export function unary(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const op = ai(Slot.OP);
  checkUnaryOp(op);
  const dx = dt(0);
  const dout = dt(1);
  const bx = base(0);
  const bo = base(1);
  const sx = step(0);
  const so = step(1);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let px = cur(0);
    let po = cur(1);
    if (!(dx == DType.float32 && dout == DType.float32 && unaryRowF32(op, bx + (<usize>px << 2), sx, bo + (<usize>po << 2), so, n))) {
      for (let j = 0; j < n; j++, px += sx, po += so) st(dout, bo, po, unaryF(op, ld(dx, bx, px)));
    }
    rowsNext();
  }
}

@inline export function binaryV(op: i32, a: v128, b: v128): v128 {
  if (op == BinaryOp.add) return f32x4.add(a, b);
  if (op == BinaryOp.sub) return f32x4.sub(a, b);
  if (op == BinaryOp.mul) return f32x4.mul(a, b);
  return f32x4.div(a, b); // BinaryOp.div
}

/**
 * One contiguous float32 row, op and broadcast pattern fixed by the (constant) arguments: binaryen
 * folds them after inlining, so each call site is its own branch-free loop. aRow/bRow: 1 = a
 * row, 0 = a scalar splat.
 */
@inline export function binaryLoop(op: i32, aRow: i32, bRow: i32, pa: usize, pb: usize, po: usize, n: i32): void {
  const va = f32x4.splat(load<f32>(pa));
  const vb = f32x4.splat(load<f32>(pb));
  // Four vectors per trip (loop overhead was a third of the time), then single vectors.
  const end16 = po + (<usize>(n & ~15) << 2);
  const end4 = po + (<usize>(n & ~3) << 2);
  let o = po;
  let a = pa;
  let b = pb;
  while (o < end16) {
    v128.store(o, binaryV(op, aRow ? v128.load(a) : va, bRow ? v128.load(b) : vb));
    v128.store(o, binaryV(op, aRow ? v128.load(a, 16) : va, bRow ? v128.load(b, 16) : vb), 16);
    v128.store(o, binaryV(op, aRow ? v128.load(a, 32) : va, bRow ? v128.load(b, 32) : vb), 32);
    v128.store(o, binaryV(op, aRow ? v128.load(a, 48) : va, bRow ? v128.load(b, 48) : vb), 48);
    o += 64;
    if (aRow) a += 64;
    if (bRow) b += 64;
  }
  while (o < end4) {
    v128.store(o, binaryV(op, aRow ? v128.load(a) : va, bRow ? v128.load(b) : vb));
    o += 16;
    if (aRow) a += 16;
    if (bRow) b += 16;
  }
  for (let j = n & ~3; j < n; j++) {
    const x = load<f32>(pa + (aRow ? <usize>j << 2 : 0));
    const y = load<f32>(pb + (bRow ? <usize>j << 2 : 0));
    store<f32>(po + (<usize>j << 2), f32x4.extract_lane(binaryV(op, f32x4.splat(x), f32x4.splat(y)), 0));
  }
}

@inline export function binaryRowsOp(op: i32, pa: usize, sa: i32, pb: usize, sb: i32, po: usize, n: i32): void {
  if (sa == 1 && sb == 1) binaryLoop(op, 1, 1, pa, pb, po, n);
  else if (sa == 1) binaryLoop(op, 1, 0, pa, pb, po, n);
  else if (sb == 1) binaryLoop(op, 0, 1, pa, pb, po, n);
  else binaryLoop(op, 0, 0, pa, pb, po, n);
}

/** float32 add/sub/mul/div rows; a or b may be a scalar (step 0). */
export function binaryRowF32(op: i32, pa: usize, sa: i32, pb: usize, sb: i32, po: usize, so: i32, n: i32): bool {
  if (op != BinaryOp.add && op != BinaryOp.sub && op != BinaryOp.mul && op != BinaryOp.div) return false;
  if (so == 1 && (sa == 1 || sa == 0) && (sb == 1 || sb == 0)) {
    if (op == BinaryOp.add) binaryRowsOp(BinaryOp.add, pa, sa, pb, sb, po, n);
    else if (op == BinaryOp.sub) binaryRowsOp(BinaryOp.sub, pa, sa, pb, sb, po, n);
    else if (op == BinaryOp.mul) binaryRowsOp(BinaryOp.mul, pa, sa, pb, sb, po, n);
    else binaryRowsOp(BinaryOp.div, pa, sa, pb, sb, po, n);
    return true;
  }
  // Strided (a transposed operand): one loop per op, no switch per element.
  const sa4 = <usize>sa << 2;
  const sb4 = <usize>sb << 2;
  const so4 = <usize>so << 2;
  if (op == BinaryOp.add) for (let j = 0; j < n; j++, pa += sa4, pb += sb4, po += so4) store<f32>(po, load<f32>(pa) + load<f32>(pb));
  else if (op == BinaryOp.sub) for (let j = 0; j < n; j++, pa += sa4, pb += sb4, po += so4) store<f32>(po, load<f32>(pa) - load<f32>(pb));
  else if (op == BinaryOp.mul) for (let j = 0; j < n; j++, pa += sa4, pb += sb4, po += so4) store<f32>(po, load<f32>(pa) * load<f32>(pb));
  else for (let j = 0; j < n; j++, pa += sa4, pb += sb4, po += so4) store<f32>(po, load<f32>(pa) / load<f32>(pb));
  return true;
}

/**
 * One comparison op over a row of TA against a row of TB into bool, compared in f64 as
 * JavaScript compares (float32 and int32 widen exactly; NaN: only != holds), by the table's
 * condition (compareF, spec.ts).
 */
@inline export function cmpLoop<TA, TB>(op: i32, ba: usize, pa: i32, sa: i32, bb: usize, pb: i32, sb: i32, bo: usize, po: i32, so: i32, n: i32): void {
  for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) {
    const a = <f64>load<TA>(ba + <usize>pa * sizeof<TA>());
    store<u8>(bo + <usize>po, compareF(op, a, <f64>load<TB>(bb + <usize>pb * sizeof<TB>())) ? 1 : 0);
  }
}

/** The op as a constant in each loop: no per-element switch. */
@inline export function cmpRow<TA, TB>(op: i32, ba: usize, pa: i32, sa: i32, bb: usize, pb: i32, sb: i32, bo: usize, po: i32, so: i32, n: i32): void {
  if (op == BinaryOp.eq) cmpLoop<TA, TB>(BinaryOp.eq, ba, pa, sa, bb, pb, sb, bo, po, so, n);
  else if (op == BinaryOp.ne) cmpLoop<TA, TB>(BinaryOp.ne, ba, pa, sa, bb, pb, sb, bo, po, so, n);
  else if (op == BinaryOp.lt) cmpLoop<TA, TB>(BinaryOp.lt, ba, pa, sa, bb, pb, sb, bo, po, so, n);
  else if (op == BinaryOp.le) cmpLoop<TA, TB>(BinaryOp.le, ba, pa, sa, bb, pb, sb, bo, po, so, n);
  else if (op == BinaryOp.gt) cmpLoop<TA, TB>(BinaryOp.gt, ba, pa, sa, bb, pb, sb, bo, po, so, n);
  else cmpLoop<TA, TB>(BinaryOp.ge, ba, pa, sa, bb, pb, sb, bo, po, so, n);
}

/**
 * A float32 or int32 row compared into bool (masks, oneHot, ReLU's backward) with a row of the
 * same type, or with a float64 scalar (db = 1, sb = 0); false: not one of these cases.
 */
export function compareRow(op: i32, da: i32, db: i32, ba: usize, pa: i32, sa: i32, bb: usize, pb: i32, sb: i32, bo: usize, po: i32, so: i32, n: i32): bool {
  if (!isRelational(op)) return false;
  if (da == DType.float32 && db == DType.float32) cmpRow<f32, f32>(op, ba, pa, sa, bb, pb, sb, bo, po, so, n);
  else if (da == DType.int32 && db == DType.int32) cmpRow<i32, i32>(op, ba, pa, sa, bb, pb, sb, bo, po, so, n);
  else if (da == DType.float32 && db == DType.float64) cmpRow<f32, f64>(op, ba, pa, sa, bb, pb, sb, bo, po, so, n);
  else if (da == DType.int32 && db == DType.float64) cmpRow<i32, f64>(op, ba, pa, sa, bb, pb, sb, bo, po, so, n);
  else return false;
  return true;
}

export function binary(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const op = ai(Slot.OP);
  checkBinaryOp(op);
  const da = dt(0);
  const db = dt(1);
  const dout = dt(2);
  const ba = base(0);
  const bb = base(1);
  const bo = base(2);
  const sa = step(0);
  const sb = step(1);
  const so = step(2);
  const f32 = da == DType.float32 && db == DType.float32 && dout == DType.float32;
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let pa = cur(0);
    let pb = cur(1);
    let po = cur(2);
    if (
      !(
        f32 &&
        binaryRowF32(op, ba + (<usize>pa << 2), sa, bb + (<usize>pb << 2), sb, bo + (<usize>po << 2), so, n)
      ) &&
      !(dout == DType.bool && compareRow(op, da, db, ba, pa, sa, bb, pb, sb, bo, po, so, n))
    ) {
      for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so)
        st(dout, bo, po, binaryF(op, ld(da, ba, pa), ld(db, bb, pb)));
    }
    rowsNext();
  }
}

/** x OP s (or s OP x when first) on two float64 lanes. */
@inline export function scalarOpF64x2(op: i32, first: bool, x: v128, s: v128): v128 {
  if (op == BinaryOp.add) return f64x2.add(x, s);
  if (op == BinaryOp.mul) return f64x2.mul(x, s);
  if (op == BinaryOp.sub) return first ? f64x2.sub(s, x) : f64x2.sub(x, s);
  return first ? f64x2.div(s, x) : f64x2.div(x, s); // BinaryOp.div
}

/** A contiguous float32 row OP a float64 scalar, four at a time: promoted, computed, rounded once. */
@inline export function scalarRowF64Lanes(op: i32, first: bool, s: f64, px: usize, po: usize, n: i32): i32 {
  const sv = f64x2.splat(s);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const v = v128.load(px + (<usize>j << 2));
    const lo = scalarOpF64x2(op, first, f64x2.promote_low_f32x4(v), sv);
    const hi = scalarOpF64x2(op, first, f64x2.promote_low_f32x4(v128.shuffle<u8>(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)), sv);
    const a = f32x4.demote_f64x2_zero(lo);
    const b = f32x4.demote_f64x2_zero(hi);
    v128.store(po + (<usize>j << 2), v128.shuffle<u8>(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
  }
  return j;
}

/** float32 rows with a scalar that float32 cannot hold: each element in f64, rounded once (as js). */
export function scalarRowF32(op: i32, first: bool, s: f64, px: usize, sx: i32, po: usize, so: i32, n: i32): bool {
  if ((op == BinaryOp.add || op == BinaryOp.sub || op == BinaryOp.mul || op == BinaryOp.div) && sx == 1 && so == 1) {
    // SIMD body (SGD's lr·g, BatchNorm's var + eps), then the scalar loops below finish the tail.
    let j: i32;
    if (op == BinaryOp.add) j = scalarRowF64Lanes(BinaryOp.add, false, s, px, po, n);
    else if (op == BinaryOp.mul) j = scalarRowF64Lanes(BinaryOp.mul, false, s, px, po, n);
    else if (op == BinaryOp.sub) j = first ? scalarRowF64Lanes(BinaryOp.sub, true, s, px, po, n) : scalarRowF64Lanes(BinaryOp.sub, false, s, px, po, n);
    else j = first ? scalarRowF64Lanes(BinaryOp.div, true, s, px, po, n) : scalarRowF64Lanes(BinaryOp.div, false, s, px, po, n);
    px += <usize>j << 2;
    po += <usize>j << 2;
    n -= j;
  }
  const sx4 = <usize>sx << 2;
  const so4 = <usize>so << 2;
  if (op == BinaryOp.mul) {
    for (let j = 0; j < n; j++, px += sx4, po += so4) store<f32>(po, <f32>(<f64>load<f32>(px) * s));
  } else if (op == BinaryOp.add) {
    for (let j = 0; j < n; j++, px += sx4, po += so4) store<f32>(po, <f32>(<f64>load<f32>(px) + s));
  } else if (op == BinaryOp.sub) {
    if (first) for (let j = 0; j < n; j++, px += sx4, po += so4) store<f32>(po, <f32>(s - <f64>load<f32>(px)));
    else for (let j = 0; j < n; j++, px += sx4, po += so4) store<f32>(po, <f32>(<f64>load<f32>(px) - s));
  } else if (op == BinaryOp.div) {
    if (first) for (let j = 0; j < n; j++, px += sx4, po += so4) store<f32>(po, <f32>(s / <f64>load<f32>(px)));
    else for (let j = 0; j < n; j++, px += sx4, po += so4) store<f32>(po, <f32>(<f64>load<f32>(px) / s));
  } else return false;
  return true;
}

/** x OP scalar (P1 = 0) or scalar OP x (P1 = 1); the scalar is f[0]. */
export function binaryScalar(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const op = ai(Slot.OP);
  checkBinaryOp(op);
  const first = ai(BinaryScalarSlot.SCALAR_FIRST) != 0;
  const s = af(F.SCALAR);
  const dx = dt(0);
  const dout = dt(1);
  const bx = base(0);
  const bo = base(1);
  const sx = step(0);
  const so = step(1);
  const sf = <f32>s;
  // The f32 fast path only when the scalar is exactly a float32 (as the js kernel computes in f64).
  const f32 = dx == DType.float32 && dout == DType.float32 && <f64>sf == s;
  const sp = scratch + 64;
  store<f32>(sp, sf);
  // Comparisons read the scalar as a float64 row of stride 0, the row on the left: s < x is x > s.
  const sp64 = scratch + 72;
  store<f64>(sp64, s);
  const cmpOp = first ? mirrored(op) : op;
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let px = cur(0);
    let po = cur(1);
    const xp = bx + (<usize>px << 2);
    const op_ = bo + (<usize>po << 2);
    let done = f32 && (first ? binaryRowF32(op, sp, 0, xp, sx, op_, so, n) : binaryRowF32(op, xp, sx, sp, 0, op_, so, n));
    if (!done && dx == DType.float32 && dout == DType.float32) done = scalarRowF32(op, first, s, xp, sx, op_, so, n);
    if (!done && dout == DType.bool) done = compareRow(cmpOp, dx, 1, bx, px, sx, sp64, 0, 0, bo, po, so, n);
    if (!done) {
      if (first) for (let j = 0; j < n; j++, px += sx, po += so) st(dout, bo, po, binaryF(op, s, ld(dx, bx, px)));
      else for (let j = 0; j < n; j++, px += sx, po += so) st(dout, bo, po, binaryF(op, ld(dx, bx, px), s));
    }
    rowsNext();
  }
}

export function where(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let pc = cur(0);
    let pa = cur(1);
    let pb = cur(2);
    let po = cur(3);
    for (let j = 0; j < n; j++, pc += step(0), pa += step(1), pb += step(2), po += step(3)) {
      const v = load<u8>(base(0) + <usize>pc) != 0 ? ld(dt(1), base(1), pa) : ld(dt(2), base(2), pb);
      st(dt(3), base(3), po, v);
    }
    rowsNext();
  }
}

export function maskedFill(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const value = af(F.VALUE);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let px = cur(0);
    let pm = cur(1);
    let po = cur(2);
    for (let j = 0; j < n; j++, px += step(0), pm += step(1), po += step(2)) {
      const v = load<u8>(base(1) + <usize>pm) != 0 ? value : ld(dt(0), base(0), px);
      st(dt(2), base(2), po, v);
    }
    rowsNext();
  }
}

/** float32 GELU backward over a contiguous row (tanh form or exact); g may be a scalar (sg = 0). */
@inline export function geluBackwardRowF32(tanhForm: bool, px: usize, pg: usize, sg: i32, po: usize, n: i32): void {
  let j = 0;
  const gs = f32x4.splat(load<f32>(pg));
  for (; j + 4 <= n; j += 4) {
    const off = <usize>j << 2;
    const g = sg == 1 ? v128.load(pg + off) : gs;
    const x = v128.load(px + off);
    v128.store(po + off, f32x4.mul(tanhForm ? geluTanhGradV(x) : geluGradV(x), g));
  }
  for (; j < n; j++) {
    const x = f32x4.splat(load<f32>(px + (<usize>j << 2)));
    const d = f32x4.extract_lane(tanhForm ? geluTanhGradV(x) : geluGradV(x), 0);
    store<f32>(po + (<usize>j << 2), d * load<f32>(pg + (<usize>(j * sg) << 2)));
  }
}

export function geluBackward(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const approximate = ai(GeluBackwardSlot.APPROXIMATE) != 0;
  const f32 = dt(0) == DType.float32 && dt(1) == DType.float32 && dt(2) == DType.float32 && step(2) == 1;
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let px = cur(0);
    let pg = cur(1);
    let po = cur(2);
    if (f32 && step(0) == 1 && (step(1) == 1 || step(1) == 0)) {
      const xp = base(0) + (<usize>px << 2);
      const gp = base(1) + (<usize>pg << 2);
      const op = base(2) + (<usize>po << 2);
      if (approximate) geluBackwardRowF32(true, xp, gp, step(1), op, n);
      else geluBackwardRowF32(false, xp, gp, step(1), op, n);
      rowsNext();
      continue;
    }
    for (let j = 0; j < n; j++, px += step(0), pg += step(1), po += step(2)) {
      const v = ld(dt(0), base(0), px);
      let d: f64;
      if (approximate) {
        const inner = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
        const t = Math.tanh(inner);
        d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
      } else {
        d = 0.5 * (1 + erf(v * INV_SQRT_2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v);
      }
      st(dt(2), base(2), po, d * ld(dt(1), base(1), pg));
    }
    rowsNext();
  }
}

/** P1 = diagonal, P2 = upper, P3 = rows per matrix. */
export function triangle(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const diagonal = ai(TriangleSlot.DIAGONAL);
  const upper = ai(TriangleSlot.UPPER) != 0;
  const perMatrix = ai(TriangleSlot.ROWS_PER_MATRIX);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    const i = r % perMatrix;
    let px = cur(0);
    let po = cur(1);
    for (let j = 0; j < n; j++, px += step(0), po += step(1)) {
      const keep = upper ? j - i >= diagonal : j - i <= diagonal;
      st(dt(1), base(1), po, keep ? ld(dt(0), base(0), px) : 0);
    }
    rowsNext();
  }
}
