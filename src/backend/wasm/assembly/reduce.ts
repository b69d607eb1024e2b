// Reductions (as ../../js/reduce.ts): sum, mean, max, min, prod, argmax, topk.
import {
  argBeats,
  ArgReduceSlot,
  checkArgReduceOp,
  checkReduceOp,
  DType,
  F,
  reduceF,
  reduceFinal,
  reduceInit,
  ReduceOp,
  ReduceSlot,
  Slot,
  TopkSlot,
} from "./spec";
import { k } from "./simd-math";
import { af, ai, base, cur, dt, init, ld, rowsBegin, rowsNext, st, step } from "./rows";

// ---- reductions ----

/** Columns 0..n of `rows` float32 rows (row stride sr elements) added into float64 sums. */
export function sumRowsF32(px: usize, sr: i32, rows: i32, pacc: usize, n: i32): void {
  const rowBytes = <usize>sr << 2;
  let j = 0;
  for (; j + 8 <= n; j += 8) {
    let s0 = f64x2.splat(0);
    let s1 = s0;
    let s2 = s0;
    let s3 = s0;
    let p = px + (<usize>j << 2);
    for (let r = 0; r < rows; r++, p += rowBytes) {
      const v = v128.load(p);
      const w = v128.load(p, 16);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<u8>(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
      s2 = f64x2.add(s2, f64x2.promote_low_f32x4(w));
      s3 = f64x2.add(s3, f64x2.promote_low_f32x4(v128.shuffle<u8>(w, w, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
    }
    const acc = pacc + (<usize>j << 3);
    v128.store(acc, f64x2.add(v128.load(acc), s0));
    v128.store(acc, f64x2.add(v128.load(acc, 16), s1), 16);
    v128.store(acc, f64x2.add(v128.load(acc, 32), s2), 32);
    v128.store(acc, f64x2.add(v128.load(acc, 48), s3), 48);
  }
  for (; j < n; j++) {
    let t: f64 = 0;
    let p = px + (<usize>j << 2);
    for (let r = 0; r < rows; r++, p += rowBytes) t += <f64>load<f32>(p);
    const acc = pacc + (<usize>j << 3);
    store<f64>(acc, load<f64>(acc) + t);
  }
}

/** sum and mean: float32 rows into float64 accumulators, two lanes at a time; false: not such a row. */
@inline function sumRowF32(dx: i32, bx: usize, px: i32, sx: i32, bacc: usize, pa: i32, sa: i32, n: i32): bool {
  if (dx != DType.float32 || sx != 1) return false;
  const xp = bx + (<usize>px << 2);
  if (sa == 0) {
    let s: f64 = 0;
    for (let j = 0; j < n; j++) s += <f64>load<f32>(xp + (<usize>j << 2));
    const p = bacc + (<usize>pa << 3);
    store<f64>(p, load<f64>(p) + s);
    return true;
  }
  if (sa != 1) return false;
  const ap = bacc + (<usize>pa << 3);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const v = v128.load(xp + (<usize>j << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<u8>(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    const a = ap + (<usize>j << 3);
    v128.store(a, f64x2.add(v128.load(a), lo));
    v128.store(a + 16, f64x2.add(v128.load(a + 16), hi));
  }
  for (; j < n; j++) {
    const a = ap + (<usize>j << 3);
    store<f64>(a, load<f64>(a) + <f64>load<f32>(xp + (<usize>j << 2)));
  }
  return true;
}

/** One row of x into its accumulators by the table's combine; op is a constant at each call, so reduceF folds. */
@inline function reduceRowOp(op: i32, dx: i32, bx: usize, px: i32, sx: i32, bacc: usize, pa: i32, sa: i32, n: i32): void {
  if (sa == 0) {
    // One accumulator for the row: in a register.
    const p = bacc + (<usize>pa << 3);
    let a = load<f64>(p);
    if (dx == DType.float32) for (let j = 0; j < n; j++, px += sx) a = reduceF(op, a, <f64>load<f32>(bx + (<usize>px << 2)));
    else for (let j = 0; j < n; j++, px += sx) a = reduceF(op, a, ld(dx, bx, px));
    store<f64>(p, a);
  } else if (dx == DType.float32) {
    for (let j = 0; j < n; j++, px += sx, pa += sa) {
      const p = bacc + (<usize>pa << 3);
      store<f64>(p, reduceF(op, load<f64>(p), <f64>load<f32>(bx + (<usize>px << 2))));
    }
  } else {
    for (let j = 0; j < n; j++, px += sx, pa += sa) {
      const p = bacc + (<usize>pa << 3);
      store<f64>(p, reduceF(op, load<f64>(p), ld(dx, bx, px)));
    }
  }
}

/** Each row of x into its accumulators (see reduce): contiguous float32 sums by hand, the rest by the table. */
export function reduceRows(rows: i32, n: i32, op: i32, dx: i32, bx: usize, bacc: usize, sx: i32, sa: i32): void {
  const sums = op == ReduceOp.sum || op == ReduceOp.mean;
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    const px = cur(0);
    const pa = cur(1);
    if (!(sums && sumRowF32(dx, bx, px, sx, bacc, pa, sa, n))) {
      // A loop per op, each with the op's expression only; an op not named here (a new entry of
      // the table) runs the same loop choosing its expression per value.
      if (op == ReduceOp.sum) reduceRowOp(ReduceOp.sum, dx, bx, px, sx, bacc, pa, sa, n);
      else if (op == ReduceOp.mean) reduceRowOp(ReduceOp.mean, dx, bx, px, sx, bacc, pa, sa, n);
      else if (op == ReduceOp.max) reduceRowOp(ReduceOp.max, dx, bx, px, sx, bacc, pa, sa, n);
      else if (op == ReduceOp.min) reduceRowOp(ReduceOp.min, dx, bx, px, sx, bacc, pa, sa, n);
      else if (op == ReduceOp.prod) reduceRowOp(ReduceOp.prod, dx, bx, px, sx, bacc, pa, sa, n);
      else reduceRowOp(op, dx, bx, px, sx, bacc, pa, sa, n);
    }
    rowsNext();
  }
}

/**
 * Operand 0 = x, operand 1 = a float64 accumulator (stride 0 on reduced axes), operand 2 = out
 * (contiguous, as big as the accumulator: P1 elements). OP: a ReduceOp; f[0] = the number of
 * values reduced into each accumulator.
 */
export function reduce(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const op = ai(Slot.OP);
  checkReduceOp(op);
  const outSize = ai(ReduceSlot.OUT_SIZE);
  const dx = dt(0);
  const bx = base(0);
  const bacc = base(1);
  const sx = step(0);
  const sa = step(1);
  const init = reduceInit(op);
  for (let i = 0; i < outSize; i++) store<f64>(bacc + (<usize>i << 3), init);
  // float32 [rows, n] summed over its rows (a batch mean, a bias gradient): eight columns at a
  // time in registers across all rows, instead of loading and storing the sums for every row.
  if ((op == ReduceOp.sum || op == ReduceOp.mean) && dx == DType.float32 && sx == 1 && sa == 1 && ai(Slot.ND) == 1 && ai(Slot.STRIDES + 1) == 0 && ai(Slot.R0) == 0) {
    sumRowsF32(bx + (<usize>ai(Slot.OFF) << 2), ai(Slot.STRIDES), rows, bacc + (<usize>ai(Slot.OFF + 1) << 3), n);
  } else {
    reduceRows(rows, n, op, dx, bx, bacc, sx, sa);
  }
  const count = af(F.COUNT);
  const dout = dt(2);
  const bo = base(2);
  const off = ai(Slot.OFF + 2);
  for (let i = 0; i < outSize; i++) st(dout, bo, off + i, reduceFinal(op, load<f64>(bacc + (<usize>i << 3)), count));
}

/**
 * Lanes of x (operand 0) along dim, the winner by the table's argBeats (NaN wins, then the
 * first); indices operand 1 (int32, contiguous), values operand 2 or P2 = 0.
 */
export function argReduce(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const op = ai(Slot.OP);
  checkArgReduceOp(op);
  const hasValues = ai(ArgReduceSlot.HAS_VALUES) != 0;
  const dx = dt(0);
  const bx = base(0);
  const sx = step(0);
  const offI = ai(ArgReduceSlot.INDICES_OFFSET);
  const offV = ai(ArgReduceSlot.VALUES_OFFSET);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let p = cur(0);
    let best = ld(dx, bx, p);
    let bestIndex = 0;
    for (let j = 1; j < n; j++) {
      p += sx;
      const v = ld(dx, bx, p);
      if (best != best) break;
      if (argBeats(op, v, best) || v != v) {
        best = v;
        bestIndex = j;
      }
    }
    store<i32>(base(1) + (<usize>(offI + r) << 2), bestIndex);
    if (hasValues) st(dt(2), base(2), offV + r, best);
    rowsNext();
  }
}

/** Stable merge sort of order[0..n) by lane values (descending when largest). */
export function sortLane(lane: usize, order: usize, tmp: usize, n: i32, largest: bool): void {
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = min(lo + width, n);
      const hi = min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        const a = load<i32>(order + (<usize>i << 2));
        const b = load<i32>(order + (<usize>j << 2));
        const va = load<f64>(lane + (<usize>a << 3));
        const vb = load<f64>(lane + (<usize>b << 3));
        const takeB = largest ? vb > va : vb < va;
        if (takeB) {
          store<i32>(tmp + (<usize>k << 2), b);
          j++;
        } else {
          store<i32>(tmp + (<usize>k << 2), a);
          i++;
        }
        k++;
      }
      for (; i < mid; i++, k++) store<i32>(tmp + (<usize>k << 2), load<i32>(order + (<usize>i << 2)));
      for (; j < hi; j++, k++) store<i32>(tmp + (<usize>k << 2), load<i32>(order + (<usize>j << 2)));
    }
    memory.copy(order, tmp, <usize>n << 2);
  }
}

/** Operands x, values, indices as lanes; P1 = k, P2 = largest; EXTRA[0] = temp buffer (16·n bytes). */
export function topk(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const k = ai(TopkSlot.K);
  const largest = ai(TopkSlot.LARGEST) != 0;
  const lane = <usize>ai(TopkSlot.TEMP);
  const order = lane + (<usize>n << 3);
  const tmp = order + (<usize>n << 2);
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    const px = cur(0);
    const pv = cur(1);
    const pi = cur(2);
    for (let j = 0; j < n; j++) {
      store<f64>(lane + (<usize>j << 3), ld(dt(0), base(0), px + j * step(0)));
      store<i32>(order + (<usize>j << 2), j);
    }
    sortLane(lane, order, tmp, n, largest);
    for (let j = 0; j < k; j++) {
      const o = load<i32>(order + (<usize>j << 2));
      st(dt(1), base(1), pv + j * step(1), load<f64>(lane + (<usize>o << 3)));
      store<i32>(base(2) + (<usize>(pi + j * step(2)) << 2), o);
    }
    rowsNext();
  }
}
