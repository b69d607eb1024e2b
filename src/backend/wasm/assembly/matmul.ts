// Matrix products (as ../../js/matmul.ts): packed GEMM and the few-row products.
import { DType, MatmulSlot } from "./spec";
import { fma, k } from "./simd-math";
import { ai, base, cur, dt, ld, packA, packB, rowsBegin, rowsNext, scratch, st, step } from "./rows";

// ---- matmul ----
// Batches walk as rows of operands a (0), b (1), out (2). EXTRA: M, N, K, sam, sak, sbk, sbn, som, son.
export const KC = 256;
export const NC = 512;
export const MC = 128;

export const PACK_A_BYTES: i32 = MC * KC * 4;
export const PACK_B_BYTES: i32 = KC * NC * 4;

/** Columns c0..c3 (four k each) stored as four rows of four at dst, dst + 32, dst + 64, dst + 96 (a panel's rows). */
@inline export function transpose4(dst: usize, c0: v128, c1: v128, c2: v128, c3: v128): void {
  const t0 = v128.shuffle<i32>(c0, c1, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(c2, c3, 0, 4, 1, 5);
  const t2 = v128.shuffle<i32>(c0, c1, 2, 6, 3, 7);
  const t3 = v128.shuffle<i32>(c2, c3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + 32, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 64, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 96, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7));
}

/** Pack b[k0:k0+kc, j0:j0+nc] into 8-wide column panels, each [kc][8], zero-padded. */
export function packPanelsB(pb: usize, sbk: i32, sbn: i32, kc: i32, nc: i32): void {
  let dst = packB;
  for (let j = 0; j < nc; j += 8) {
    const w = min(8, nc - j);
    if (w == 8 && sbn == 1) {
      for (let k = 0; k < kc; k++) {
        const src = pb + (<usize>(k * sbk + j) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst + 16, v128.load(src + 16));
        dst += 32;
      }
    } else if (w == 8 && sbk == 1) {
      // A transposed operand (x @ Wᵀ): each column runs along k, so four k of eight columns are
      // eight vector loads and two 4×4 transposes (element by element this was ~5 GB/s).
      const step = <usize>sbn << 2;
      const p0 = pb + (<usize>(j * sbn) << 2);
      const k4 = kc & ~3;
      let k = 0;
      for (; k < k4; k += 4) {
        const o = p0 + (<usize>k << 2);
        transpose4(dst, v128.load(o), v128.load(o + step), v128.load(o + 2 * step), v128.load(o + 3 * step));
        transpose4(dst + 16, v128.load(o + 4 * step), v128.load(o + 5 * step), v128.load(o + 6 * step), v128.load(o + 7 * step));
        dst += 128;
      }
      for (; k < kc; k++, dst += 32)
        for (let c = 0; c < 8; c++) store<f32>(dst + (<usize>c << 2), load<f32>(p0 + <usize>c * step + (<usize>k << 2)));
    } else {
      // Zero the panel, then copy its w columns one by one: b's rows of a transposed operand
      // (sbk = 1) read in order, and no test per element.
      const zero = f32x4.splat(0);
      for (let k = 0; k < kc; k++) {
        v128.store(dst + (<usize>k << 5), zero);
        v128.store(dst + (<usize>k << 5) + 16, zero);
      }
      for (let c = 0; c < w; c++) {
        let src = pb + (<usize>((j + c) * sbn) << 2);
        const step = <usize>sbk << 2;
        let d = dst + (<usize>c << 2);
        for (let k = 0; k < kc; k++, src += step, d += 32) store<f32>(d, load<f32>(src));
      }
      dst += <usize>kc << 5;
    }
  }
}

/** Pack a[i0:i0+mc, k0:k0+kc] into 4-row panels, each [kc][4], zero-padded. */
export function packPanelsA(pa: usize, sam: i32, sak: i32, mc: i32, kc: i32): void {
  let dst = packA;
  for (let i = 0; i < mc; i += 4) {
    const h = min(4, mc - i);
    if (h == 4 && sam == 1) {
      // A transposed operand: the 4 rows' elements at one k sit side by side.
      let src = pa + (<usize>i << 2);
      const step = <usize>sak << 2;
      for (let k = 0; k < kc; k++, src += step, dst += 16) v128.store(dst, v128.load(src));
    } else if (h == 4) {
      const r0 = pa + (<usize>(i * sam) << 2);
      const r1 = r0 + (<usize>sam << 2);
      const r2 = r1 + (<usize>sam << 2);
      const r3 = r2 + (<usize>sam << 2);
      for (let k = 0; k < kc; k++) {
        const o = <usize>(k * sak) << 2;
        store<f32>(dst, load<f32>(r0 + o));
        store<f32>(dst + 4, load<f32>(r1 + o));
        store<f32>(dst + 8, load<f32>(r2 + o));
        store<f32>(dst + 12, load<f32>(r3 + o));
        dst += 16;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < 4; r++) {
          const v: f32 = r < h ? load<f32>(pa + (<usize>((i + r) * sam + k * sak) << 2)) : 0;
          store<f32>(dst + (<usize>r << 2), v);
        }
        dst += 16;
      }
    }
  }
}

/** C[4×8] += Apanel · Bpanel over kc; partial tiles (h rows, w cols) go through scratch. */
export function micro(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, h: i32, w: i32, add: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp + 16);
    const a0 = v128.load32_splat(ap);
    const a1 = v128.load32_splat(ap + 4);
    const a2 = v128.load32_splat(ap + 8);
    const a3 = v128.load32_splat(ap + 12);
    c00 = fma(a0, b0, c00);
    c01 = fma(a0, b1, c01);
    c10 = fma(a1, b0, c10);
    c11 = fma(a1, b1, c11);
    c20 = fma(a2, b0, c20);
    c21 = fma(a2, b1, c21);
    c30 = fma(a3, b0, c30);
    c31 = fma(a3, b1, c31);
    ap += 16;
    bp += 32;
  }
  const ld4 = <usize>ldc << 2;
  if (!add && h == 4 && w == 8) {
    // The first k block writes C (no zeroing pass, no read).
    v128.store(c, c00);
    v128.store(c + 16, c01);
    v128.store(c + ld4, c10);
    v128.store(c + ld4 + 16, c11);
    v128.store(c + 2 * ld4, c20);
    v128.store(c + 2 * ld4 + 16, c21);
    v128.store(c + 3 * ld4, c30);
    v128.store(c + 3 * ld4 + 16, c31);
    return;
  }
  if (h == 4 && w == 8) {
    v128.store(c, f32x4.add(v128.load(c), c00));
    v128.store(c + 16, f32x4.add(v128.load(c + 16), c01));
    c += ld4;
    v128.store(c, f32x4.add(v128.load(c), c10));
    v128.store(c + 16, f32x4.add(v128.load(c + 16), c11));
    c += ld4;
    v128.store(c, f32x4.add(v128.load(c), c20));
    v128.store(c + 16, f32x4.add(v128.load(c + 16), c21));
    c += ld4;
    v128.store(c, f32x4.add(v128.load(c), c30));
    v128.store(c + 16, f32x4.add(v128.load(c + 16), c31));
    return;
  }
  const t = scratch + 128;
  v128.store(t, c00);
  v128.store(t + 16, c01);
  v128.store(t + 32, c10);
  v128.store(t + 48, c11);
  v128.store(t + 64, c20);
  v128.store(t + 80, c21);
  v128.store(t + 96, c30);
  v128.store(t + 112, c31);
  for (let r = 0; r < h; r++) {
    for (let j = 0; j < w; j++) {
      const p = c + (<usize>r * ld4) + (<usize>j << 2);
      const v = load<f32>(t + (<usize>(r * 8 + j) << 2));
      store<f32>(p, add ? load<f32>(p) + v : v);
    }
  }
}

/** One float32 matrix product, rows m0..m1 of C (C row stride ldc, unit column stride). */
export function gemmF32(pa: usize, sam: i32, sak: i32, pb: usize, sbk: i32, sbn: i32, pc: usize, ldc: i32, m0: i32, m1: i32, N: i32, K: i32): void {
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = min(KC, K - k0);
      packPanelsB(pb + (<usize>(k0 * sbk + jc * sbn) << 2), sbk, sbn, kc, nc);
      for (let ic = m0; ic < m1; ic += MC) {
        const mc = min(MC, m1 - ic);
        packPanelsA(pa + (<usize>(ic * sam + k0 * sak) << 2), sam, sak, mc, kc);
        // Along C's rows: walking down a column of tiles instead touched rows ldc apart, which
        // for ldc = 1024 all fall in one L1 set (1024³: 22 → 35 GFLOPS best-of on one thread).
        for (let ir = 0; ir < mc; ir += 4) {
          const ap = packA + (<usize>((ir >> 2) * kc) << 4);
          for (let jr = 0; jr < nc; jr += 8) {
            const bp = packB + (<usize>((jr >> 3) * kc) << 5);
            const c = pc + (<usize>((ic + ir) * ldc + jc + jr) << 2);
            micro(ap, bp, kc, c, ldc, min(4, mc - ir), min(8, nc - jr), k0 > 0);
          }
        }
      }
    }
  }
}

/** Batches b0..b1, rows m0..m1 of each (threads split either). Generic dtypes: f64 dot products. */
export function matmul(b0: i32, b1: i32, m0: i32, m1: i32): void {
  const M = ai(MatmulSlot.M);
  const N = ai(MatmulSlot.N);
  const K = ai(MatmulSlot.K);
  const sam = ai(MatmulSlot.A_ROW);
  const sak = ai(MatmulSlot.A_COL);
  const sbk = ai(MatmulSlot.B_ROW);
  const sbn = ai(MatmulSlot.B_COL);
  const som = ai(MatmulSlot.OUT_ROW);
  const son = ai(MatmulSlot.OUT_COL);
  const d = dt(0);
  const f32 = d == DType.float32 && dt(2) == DType.float32 && son == 1;
  if (m1 > M) m1 = M;
  rowsBegin(b0);
  for (let r = b0; r < b1; r++) {
    const pa = cur(0);
    const pb = cur(1);
    const po = cur(2);
    if (f32) {
      if (K == 0) {
        for (let i = m0; i < m1; i++) memory.fill(base(2) + (<usize>(po + i * som) << 2), 0, <usize>N << 2);
      } else {
        gemmF32(base(0) + (<usize>pa << 2), sam, sak, base(1) + (<usize>pb << 2), sbk, sbn, base(2) + (<usize>po << 2), som, m0, m1, N, K);
      }
    } else {
      for (let i = m0; i < m1; i++) {
        for (let j = 0; j < N; j++) {
          let s: f64 = 0;
          for (let k = 0; k < K; k++) s += ld(d, base(0), pa + i * sam + k * sak) * ld(dt(1), base(1), pb + k * sbk + j * sbn);
          st(dt(2), base(2), po + i * som + j * son, s);
        }
      }
    }
    rowsNext();
  }
}

// ---- matrix-vector products: a few rows of A, no packing ----
// Decoding one token multiplies a row by every weight matrix; packing B would read and write
// each weight once more than the product reads it. Columns n0..n1 (threads split N).

/** Σ of a vector's four lanes. */
@inline export function lanesSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** out[i, j] = a[i, :] · b[:, j] where b's columns run along k (x @ Wᵀ, W row-major) and a's rows too. */
export function gemvDotF32(pa: usize, sam: i32, pb: usize, sbn: i32, pc: usize, som: i32, M: i32, n0: i32, n1: i32, K: i32): void {
  const K4 = K & ~3;
  let j = n0;
  // Four columns at a time: each row of a is loaded once per four weight rows.
  for (; j + 4 <= n1; j += 4) {
    const w0 = pb + (<usize>(j * sbn) << 2);
    const w1 = w0 + (<usize>sbn << 2);
    const w2 = w1 + (<usize>sbn << 2);
    const w3 = w2 + (<usize>sbn << 2);
    for (let i = 0; i < M; i++) {
      const x = pa + (<usize>(i * sam) << 2);
      let s0 = f32x4.splat(0);
      let s1 = s0;
      let s2 = s0;
      let s3 = s0;
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        const xv = v128.load(x + o);
        s0 = fma(xv, v128.load(w0 + o), s0);
        s1 = fma(xv, v128.load(w1 + o), s1);
        s2 = fma(xv, v128.load(w2 + o), s2);
        s3 = fma(xv, v128.load(w3 + o), s3);
      }
      let d0 = lanesSum(s0);
      let d1 = lanesSum(s1);
      let d2 = lanesSum(s2);
      let d3 = lanesSum(s3);
      for (let k = K4; k < K; k++) {
        const o = <usize>k << 2;
        const xk = load<f32>(x + o);
        d0 += xk * load<f32>(w0 + o);
        d1 += xk * load<f32>(w1 + o);
        d2 += xk * load<f32>(w2 + o);
        d3 += xk * load<f32>(w3 + o);
      }
      const c = pc + (<usize>(i * som + j) << 2);
      store<f32>(c, d0);
      store<f32>(c + 4, d1);
      store<f32>(c + 8, d2);
      store<f32>(c + 12, d3);
    }
  }
  for (; j < n1; j++) {
    const w = pb + (<usize>(j * sbn) << 2);
    for (let i = 0; i < M; i++) {
      const x = pa + (<usize>(i * sam) << 2);
      let s = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) s = fma(v128.load(x + (<usize>k << 2)), v128.load(w + (<usize>k << 2)), s);
      let d = lanesSum(s);
      for (let k = K4; k < K; k++) d += load<f32>(x + (<usize>k << 2)) * load<f32>(w + (<usize>k << 2));
      store<f32>(pc + (<usize>(i * som + j) << 2), d);
    }
  }
}

export const GEMV_CHUNK = 512; // columns of C kept in L1 while b's rows stream past

/** out[i, j] = Σₖ a[i, k]·b[k, j] where b's rows are contiguous (x @ W): four rows of b per pass over a chunk of C. */
export function gemvRowsF32(pa: usize, sam: i32, sak: i32, pb: usize, sbk: i32, pc: usize, som: i32, M: i32, n0: i32, n1: i32, K: i32): void {
  const bk = <usize>sbk << 2;
  for (let i = 0; i < M; i++) {
    const x = pa + (<usize>(i * sam) << 2);
    const xs = <usize>sak << 2;
    for (let j0 = n0; j0 < n1; j0 += GEMV_CHUNK) {
      const j1 = min(n1, j0 + GEMV_CHUNK);
      const j4 = j0 + ((j1 - j0) & ~3);
      const c = pc + (<usize>(i * som) << 2);
      memory.fill(c + (<usize>j0 << 2), 0, <usize>(j1 - j0) << 2);
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const a0 = load<f32>(x + <usize>k * xs);
        const a1 = load<f32>(x + <usize>(k + 1) * xs);
        const a2 = load<f32>(x + <usize>(k + 2) * xs);
        const a3 = load<f32>(x + <usize>(k + 3) * xs);
        const v0 = f32x4.splat(a0);
        const v1 = f32x4.splat(a1);
        const v2 = f32x4.splat(a2);
        const v3 = f32x4.splat(a3);
        const r0 = pb + <usize>k * bk;
        const r1 = r0 + bk;
        const r2 = r1 + bk;
        const r3 = r2 + bk;
        for (let j = j0; j < j4; j += 4) {
          const o = <usize>j << 2;
          let acc = v128.load(c + o);
          acc = fma(v0, v128.load(r0 + o), acc);
          acc = fma(v1, v128.load(r1 + o), acc);
          acc = fma(v2, v128.load(r2 + o), acc);
          acc = fma(v3, v128.load(r3 + o), acc);
          v128.store(c + o, acc);
        }
        for (let j = j4; j < j1; j++) {
          const o = <usize>j << 2;
          let acc = load<f32>(c + o);
          acc += a0 * load<f32>(r0 + o);
          acc += a1 * load<f32>(r1 + o);
          acc += a2 * load<f32>(r2 + o);
          acc += a3 * load<f32>(r3 + o);
          store<f32>(c + o, acc);
        }
      }
      for (; k < K; k++) {
        const ak = load<f32>(x + <usize>k * xs);
        const v = f32x4.splat(ak);
        const r = pb + <usize>k * bk;
        for (let j = j0; j < j4; j += 4) {
          const o = <usize>j << 2;
          v128.store(c + o, fma(v, v128.load(r + o), v128.load(c + o)));
        }
        for (let j = j4; j < j1; j++) {
          const o = <usize>j << 2;
          store<f32>(c + o, load<f32>(c + o) + ak * load<f32>(r + o));
        }
      }
    }
  }
}

/**
 * Float32 batches b0..b1, columns n0..n1 of every row, for products with few rows (the host
 * checks: float32, C's columns contiguous, and either a's and b's k contiguous or b's rows).
 */
export function gemv(b0: i32, b1: i32, n0: i32, n1: i32): void {
  const M = ai(MatmulSlot.M);
  const N = ai(MatmulSlot.N);
  const K = ai(MatmulSlot.K);
  const sam = ai(MatmulSlot.A_ROW);
  const sak = ai(MatmulSlot.A_COL);
  const sbk = ai(MatmulSlot.B_ROW);
  const sbn = ai(MatmulSlot.B_COL);
  const som = ai(MatmulSlot.OUT_ROW);
  if (n1 > N) n1 = N;
  rowsBegin(b0);
  for (let r = b0; r < b1; r++) {
    const pa = base(0) + (<usize>cur(0) << 2);
    const pb = base(1) + (<usize>cur(1) << 2);
    const pc = base(2) + (<usize>cur(2) << 2);
    if (K == 0) {
      for (let i = 0; i < M; i++) memory.fill(pc + (<usize>(i * som + n0) << 2), 0, <usize>(n1 - n0) << 2);
    } else if (sbk == 1 && sak == 1) gemvDotF32(pa, sam, pb, sbn, pc, som, M, n0, n1, K);
    else gemvRowsF32(pa, sam, sak, pb, sbk, pc, som, M, n0, n1, K);
    rowsNext();
  }
}
