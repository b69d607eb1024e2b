// float32 SIMD math of the hot kernels: exp, tanh, erf, GELU and their constants.
import { DType } from "./spec";

/** a·b + c: one fused instruction in the relaxed-SIMD build, a multiply and an add otherwise. */
@inline export function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// V8 rebuilds a v128 constant (4-5 instructions) at each use inside a loop; a splat load from
// static data is one instruction. The SIMD math below takes its constants from this table.
export const KF = memory.data<f32>([
  88.72, // EXP_HI
  -87.33, // EXP_LO
  1.44269504088896341, // LOG2E
  12582912.0, // ROUND_MAGIC
  0.693359375, // LN2_HI
  -2.12194440e-4, // LN2_LO
  1.9875691500e-4, // EXP_P0
  1.3981999507e-3, // EXP_P1
  8.3334519073e-3, // EXP_P2
  4.1665795894e-2, // EXP_P3
  1.6666665459e-1, // EXP_P4
  5.0000001201e-1, // EXP_P5
  1, // ONE
  Infinity, // INF
  -0.0, // NEG_ZERO
  0.7978845608028654, // GELU_C
  0.044715, // GELU_A
  0.134145, // GELU_3A
  -2, // MINUS_TWO
  80, // GELU_CLAMP
  -5.70498872745e-3, // TANH_P0
  2.06390887954e-2, // TANH_P1
  -5.37397155531e-2, // TANH_P2
  1.33314422036e-1, // TANH_P3
  -3.33332819422e-1, // TANH_P4
  2, // TWO
  0.625, // TANH_SMALL
  4, // ERF_CLAMP
  -2.72614225801306e-10, // ERF_A13
  2.77068142495902e-08, // ERF_A11
  -2.10102402082508e-06, // ERF_A9
  -5.69250639462346e-05, // ERF_A7
  -7.34990630326855e-04, // ERF_A5
  -2.95459980854025e-03, // ERF_A3
  -1.60960333262415e-02, // ERF_A1
  -1.45660718464996e-05, // ERF_B8
  -2.13374055278905e-04, // ERF_B6
  -1.68282697438203e-03, // ERF_B4
  -7.37332916720468e-03, // ERF_B2
  -1.42647390514189e-02, // ERF_B0
  0.5, // HALF
  0.7071067811865476, // INV_SQRT2
  0.3989422804014327, // K_INV_SQRT_2PI
  -0.5, // MINUS_HALF
  2.326819970068386e-2, // ERFC_P0
  -1.387039388740657e-1, // ERFC_P1
  3.687424674597105e-1, // ERFC_P2
  -5.824733027278666e-1, // ERFC_P3
  6.210004621745983e-1, // ERFC_P4
  -4.944515323274145e-1, // ERFC_P5
  3.404879937665872e-1, // ERFC_P6
  -2.741127028184656e-1, // ERFC_P7
  5.638259427386472e-1, // ERFC_P8
  -1.047766399936249e1, // ERFC_R0
  1.297719955372516e1, // ERFC_R1
  -7.495518717768503, // ERFC_R2
  2.921019019210786, // ERFC_R3
  -1.015265279202700, // ERFC_R4
  4.218463358204948e-1, // ERFC_R5
  -2.820767439740514e-1, // ERFC_R6
  5.641895067754075e-1, // ERFC_R7
  2, // TWO_F
  7.90531110763549805, // TANH_CLAMP
  0.0004, // TANH_TINY
  -2.76076847742355e-16, // TANH_A13
  2.00018790482477e-13, // TANH_A11
  -8.60467152213735e-11, // TANH_A9
  5.12229709037114e-8, // TANH_A7
  1.48572235717979e-5, // TANH_A5
  6.37261928875436e-4, // TANH_A3
  4.89352455891786e-3, // TANH_A1
  1.19825839466702e-6, // TANH_B6
  1.18534705686654e-4, // TANH_B4
  2.26843463243900e-3, // TANH_B2
  4.89352518554385e-3, // TANH_B0
]);
export const EXP_HI: usize = KF + 0;
export const EXP_LO: usize = KF + 4;
export const LOG2E: usize = KF + 8;
export const ROUND_MAGIC: usize = KF + 12;
export const LN2_HI: usize = KF + 16;
export const LN2_LO: usize = KF + 20;
export const EXP_P0: usize = KF + 24;
export const EXP_P1: usize = KF + 28;
export const EXP_P2: usize = KF + 32;
export const EXP_P3: usize = KF + 36;
export const EXP_P4: usize = KF + 40;
export const EXP_P5: usize = KF + 44;
export const ONE: usize = KF + 48;
export const INF: usize = KF + 52;
export const NEG_ZERO: usize = KF + 56;
export const GELU_C: usize = KF + 60;
export const GELU_A: usize = KF + 64;
export const GELU_3A: usize = KF + 68;
export const MINUS_TWO: usize = KF + 72;
export const GELU_CLAMP: usize = KF + 76;
export const TANH_P0: usize = KF + 80;
export const TANH_P1: usize = KF + 84;
export const TANH_P2: usize = KF + 88;
export const TANH_P3: usize = KF + 92;
export const TANH_P4: usize = KF + 96;
export const TWO: usize = KF + 100;
export const TANH_SMALL: usize = KF + 104;
export const ERF_CLAMP: usize = KF + 108;
export const ERF_A13: usize = KF + 112;
export const ERF_A11: usize = KF + 116;
export const ERF_A9: usize = KF + 120;
export const ERF_A7: usize = KF + 124;
export const ERF_A5: usize = KF + 128;
export const ERF_A3: usize = KF + 132;
export const ERF_A1: usize = KF + 136;
export const ERF_B8: usize = KF + 140;
export const ERF_B6: usize = KF + 144;
export const ERF_B4: usize = KF + 148;
export const ERF_B2: usize = KF + 152;
export const ERF_B0: usize = KF + 156;
export const HALF: usize = KF + 160;
export const INV_SQRT2: usize = KF + 164;
export const K_INV_SQRT_2PI: usize = KF + 168;
export const MINUS_HALF: usize = KF + 172;
export const ERFC_P0: usize = KF + 176;
export const ERFC_P1: usize = KF + 180;
export const ERFC_P2: usize = KF + 184;
export const ERFC_P3: usize = KF + 188;
export const ERFC_P4: usize = KF + 192;
export const ERFC_P5: usize = KF + 196;
export const ERFC_P6: usize = KF + 200;
export const ERFC_P7: usize = KF + 204;
export const ERFC_P8: usize = KF + 208;
export const ERFC_R0: usize = KF + 212;
export const ERFC_R1: usize = KF + 216;
export const ERFC_R2: usize = KF + 220;
export const ERFC_R3: usize = KF + 224;
export const ERFC_R4: usize = KF + 228;
export const ERFC_R5: usize = KF + 232;
export const ERFC_R6: usize = KF + 236;
export const ERFC_R7: usize = KF + 240;
export const TWO_F: usize = KF + 244;
export const TANH_CLAMP: usize = KF + 248;
export const TANH_TINY: usize = KF + 252;
export const TANH_A13: usize = KF + 256;
export const TANH_A11: usize = KF + 260;
export const TANH_A9: usize = KF + 264;
export const TANH_A7: usize = KF + 268;
export const TANH_A5: usize = KF + 272;
export const TANH_A3: usize = KF + 276;
export const TANH_A1: usize = KF + 280;
export const TANH_B6: usize = KF + 284;
export const TANH_B4: usize = KF + 288;
export const TANH_B2: usize = KF + 292;
export const TANH_B0: usize = KF + 296;
@inline export function k(p: usize): v128 {
  return v128.load32_splat(p);
}

// float32 exp and tanh on four lanes (Cephes expf / tanhf, ~1e-7 relative). AssemblyScript's
// Mathf functions measured 30-180 ns per element here. pmin/pmax, not min/max: V8 lowers the
// NaN-exact min/max to long sequences (a NaN input still comes out NaN).
@inline export function expV(x: v128): v128 {
  const big = f32x4.gt(x, k(EXP_HI));
  const tiny = f32x4.lt(x, k(EXP_LO));
  const xc = f32x4.pmin(f32x4.pmax(x, k(EXP_LO)), k(EXP_HI));
  // Round x·log2(e) to the nearest integer by adding 1.5·2^23: n sits in the low mantissa bits.
  const magic = k(ROUND_MAGIC);
  const shifted = f32x4.add(f32x4.mul(xc, k(LOG2E)), magic);
  const fx = f32x4.sub(shifted, magic);
  let r = f32x4.sub(xc, f32x4.mul(fx, k(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fx, k(LN2_LO)));
  let y = k(EXP_P0);
  y = fma(y, r, k(EXP_P1));
  y = fma(y, r, k(EXP_P2));
  y = fma(y, r, k(EXP_P3));
  y = fma(y, r, k(EXP_P4));
  y = fma(y, r, k(EXP_P5));
  const one = k(ONE);
  y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(y, r), r), r), one);
  // 2^n: n + 127 in the exponent field, i.e. (n << 23) + the bits of 1.0.
  const scale = i32x4.add(i32x4.shl(i32x4.sub(shifted, magic), 23), one);
  let out = f32x4.mul(y, scale);
  out = v128.bitselect(k(INF), out, big);
  return v128.andnot(out, tiny);
}

/**
 * GELU, tanh approximation: 0.5·x·(1 + tanh u) = x·σ(2u), u = √(2/π)(x + 0.044715x³), with
 * e = exp(−2u) (clamped so that 1 + e stays finite) and r = 1/(1 + e): value x·r, derivative
 * r + 2x·e·r²·√(2/π)(1 + 3·0.044715x²). No 1 ± tanh cancellation in either.
 */
@inline export function geluExpV(x: v128, x2: v128): v128 {
  const u = f32x4.mul(k(GELU_C), f32x4.add(x, f32x4.mul(k(GELU_A), f32x4.mul(x2, x))));
  return expV(f32x4.pmin(f32x4.mul(u, k(MINUS_TWO)), k(GELU_CLAMP)));
}

@inline export function geluTanhV(x: v128): v128 {
  const e = geluExpV(x, f32x4.mul(x, x));
  return f32x4.div(x, f32x4.add(e, k(ONE)));
}

@inline export function geluTanhGradV(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const e = geluExpV(x, x2);
  const one = k(ONE);
  const r = f32x4.div(one, f32x4.add(e, one));
  const du = f32x4.mul(k(GELU_C), f32x4.add(one, f32x4.mul(k(GELU_3A), x2)));
  return f32x4.add(r, f32x4.mul(f32x4.mul(f32x4.add(x, x), f32x4.mul(e, f32x4.mul(r, r))), du));
}

/**
 * erf on four lanes: Eigen's float rational approximation x·P(x²)/Q(x²) on x clamped to ±4
 * (erf is ±1 in float32 beyond); within 4e-7 of the float64 erf everywhere.
 */
@inline export function erfV(a: v128): v128 {
  const x = f32x4.pmin(f32x4.pmax(a, f32x4.neg(k(ERF_CLAMP))), k(ERF_CLAMP));
  const x2 = f32x4.mul(x, x);
  let p = k(ERF_A13);
  p = fma(x2, p, k(ERF_A11));
  p = fma(x2, p, k(ERF_A9));
  p = fma(x2, p, k(ERF_A7));
  p = fma(x2, p, k(ERF_A5));
  p = fma(x2, p, k(ERF_A3));
  p = fma(x2, p, k(ERF_A1));
  let q = k(ERF_B8);
  q = fma(x2, q, k(ERF_B6));
  q = fma(x2, q, k(ERF_B4));
  q = fma(x2, q, k(ERF_B2));
  q = fma(x2, q, k(ERF_B0));
  return f32x4.div(f32x4.mul(x, p), q);
}

/**
 * erfc(t) for t ≥ 1 (smaller t are clamped to 1): Cephes erfcf, exp(−t²)/t·P(1/t²), with P on
 * [1, 2) and R beyond; within 2e-6 relative (the float32 t² in the exponent).
 */
@inline export function erfcTailV(a: v128): v128 {
  const t = f32x4.pmax(a, k(ONE));
  const q = f32x4.div(k(ONE), t);
  const y = f32x4.mul(q, q);
  let p = k(ERFC_P0);
  p = fma(p, y, k(ERFC_P1));
  p = fma(p, y, k(ERFC_P2));
  p = fma(p, y, k(ERFC_P3));
  p = fma(p, y, k(ERFC_P4));
  p = fma(p, y, k(ERFC_P5));
  p = fma(p, y, k(ERFC_P6));
  p = fma(p, y, k(ERFC_P7));
  p = fma(p, y, k(ERFC_P8));
  let r = k(ERFC_R0);
  r = fma(r, y, k(ERFC_R1));
  r = fma(r, y, k(ERFC_R2));
  r = fma(r, y, k(ERFC_R3));
  r = fma(r, y, k(ERFC_R4));
  r = fma(r, y, k(ERFC_R5));
  r = fma(r, y, k(ERFC_R6));
  r = fma(r, y, k(ERFC_R7));
  const poly = v128.bitselect(p, r, f32x4.lt(t, k(TWO_F)));
  return f32x4.mul(f32x4.mul(expV(f32x4.neg(f32x4.mul(t, t))), q), poly);
}

/**
 * Φ(x) = 0.5·(1 + erf(x/√2)), the normal CDF; below x = −√2 as 0.5·erfc(−x/√2), which keeps
 * its relative precision in the tail where 1 + erf cancels.
 */
@inline export function normalCdfV(x: v128): v128 {
  const z = f32x4.mul(x, k(INV_SQRT2));
  let cdf = f32x4.add(k(ONE), erfV(z));
  // Most activations are above −√2: the tail's exp and divisions only when a lane needs them.
  const inTail = f32x4.lt(z, f32x4.neg(k(ONE)));
  if (v128.any_true(inTail)) cdf = v128.bitselect(erfcTailV(f32x4.neg(z)), cdf, inTail);
  return f32x4.mul(k(HALF), cdf);
}

/** GELU, exact (erf) form: x·Φ(x). */
@inline export function geluV(x: v128): v128 {
  return f32x4.mul(x, normalCdfV(x));
}

/** Its derivative: Φ(x) + x·exp(−x²/2)/√(2π). */
@inline export function geluGradV(x: v128): v128 {
  const cdf = normalCdfV(x);
  const pdf = f32x4.mul(k(K_INV_SQRT_2PI), expV(f32x4.mul(k(MINUS_HALF), f32x4.mul(x, x))));
  return f32x4.add(cdf, f32x4.mul(x, pdf));
}

/**
 * tanh on four lanes: Eigen's float rational approximation x·P(x²)/Q(x²) on x clamped to ±7.9
 * (tanh is ±1 in float32 beyond), x itself below 4e-4; within 4e-7 relative of float64 tanh.
 * Half the operations of exp-based forms.
 */
@inline export function tanhV(a: v128): v128 {
  const x = f32x4.pmin(f32x4.pmax(a, f32x4.neg(k(TANH_CLAMP))), k(TANH_CLAMP));
  const x2 = f32x4.mul(x, x);
  let p = k(TANH_A13);
  p = fma(x2, p, k(TANH_A11));
  p = fma(x2, p, k(TANH_A9));
  p = fma(x2, p, k(TANH_A7));
  p = fma(x2, p, k(TANH_A5));
  p = fma(x2, p, k(TANH_A3));
  p = fma(x2, p, k(TANH_A1));
  let q = k(TANH_B6);
  q = fma(x2, q, k(TANH_B4));
  q = fma(x2, q, k(TANH_B2));
  q = fma(x2, q, k(TANH_B0));
  const y = f32x4.div(f32x4.mul(x, p), q);
  // NaN fails both comparisons of the clamp and the tiny test: it comes through `a`.
  const keep = v128.or(f32x4.lt(f32x4.abs(a), k(TANH_TINY)), f32x4.ne(a, a));
  return v128.bitselect(a, y, keep);
}

@inline export function expf(x: f32): f32 {
  return f32x4.extract_lane(expV(f32x4.splat(x)), 0);
}

/** exp at the precision of dtype d: float32 data need no f64 exp. */
@inline export function expOf(d: i32, v: f64): f64 {
  return d == DType.float32 ? <f64>expf(<f32>v) : Math.exp(v);
}
