// herograd wasm kernels (AssemblyScript). Built by scripts/build-wasm.mjs into four variants:
// relaxed-SIMD or plain SIMD, shared (threads) or unshared memory. The host (../index.ts) owns
// allocation; kernels read an argument block it writes (its slots and the op codes are named in
// ./spec.ts, generated from src/backend/spec/abi.ts) and walk strided views row by row, as the js
// reference does.

import {
  AdamwF,
  ArgReduceOp,
  ArgReduceSlot,
  BatchNormSlot,
  BinaryOp,
  BinaryScalarSlot,
  CrossEntropySlot,
  DType,
  F,
  F_BASE_BYTES,
  GatherMode,
  GatherScatterSlot,
  GeluBackwardSlot,
  isRelational,
  KernelError,
  LayerNormSlot,
  MAX_OPERANDS,
  MatmulSlot,
  mirrored,
  Reduction,
  ReduceOp,
  ReduceSlot,
  Slot,
  SoftmaxSlot,
  TopkSlot,
  TriangleSlot,
  UnaryOp,
  unaryF,
  binaryF,
} from "./spec";
import { erf, INV_SQRT_2, INV_SQRT_2PI, SQRT_2_OVER_PI } from "./math";

// ---- per-instance state (each worker instantiates the module over the same shared memory) ----
let args: usize = 0; // argument block (shared: the caller writes it before a job)
let scratch: usize = 0; // this instance's row-walk state and small temporaries
let packA: usize = 0; // this instance's matmul packing buffers
let packB: usize = 0;

export function init(argsPtr: usize, scratchPtr: usize, packAPtr: usize, packBPtr: usize): void {
  args = argsPtr;
  scratch = scratchPtr;
  packA = packAPtr;
  packB = packBPtr;
}

/** Point this instance at another argument block (a thread's share of a split op). */
export function useArgs(argsPtr: usize): void {
  args = argsPtr;
}

/** First byte after the module's static data: the host allocator starts above it. */
export function heapBase(): usize {
  return __heap_base;
}

// ---- argument block (slots and codes: ./spec.ts, generated from src/backend/spec/abi.ts) ----
@inline function ai(i: i32): i32 {
  return load<i32>(args + (<usize>i << 2));
}
@inline function af(i: i32): f64 {
  return load<f64>(args + <usize>F_BASE_BYTES + (<usize>i << 3));
}
@inline function setErr(code: i32, value: i32): void {
  store<i32>(args + (<usize>Slot.ERR << 2), code);
  store<i32>(args + (<usize>(Slot.ERR + 1) << 2), value);
}

// ---- row walk: cur[q] = element offset of operand q at the current row ----
@inline function cur(q: i32): i32 {
  return load<i32>(scratch + (<usize>q << 2));
}

function rowsBegin(r0: i32): void {
  const k = ai(Slot.K);
  const nd = ai(Slot.ND);
  for (let q = 0; q < k; q++) store<i32>(scratch + (<usize>q << 2), ai(Slot.OFF + q));
  let r = r0;
  for (let d = nd - 1; d >= 0; d--) {
    const s = ai(Slot.SHAPE + d);
    const i = r % s;
    r = r / s;
    store<i32>(scratch + 16 + (<usize>d << 2), i);
    for (let q = 0; q < k; q++) {
      const p = scratch + (<usize>q << 2);
      store<i32>(p, load<i32>(p) + i * ai(Slot.STRIDES + d * MAX_OPERANDS + q));
    }
  }
}

function rowsNext(): void {
  const k = ai(Slot.K);
  for (let d = ai(Slot.ND) - 1; d >= 0; d--) {
    const ip = scratch + 16 + (<usize>d << 2);
    const i = load<i32>(ip) + 1;
    const size = ai(Slot.SHAPE + d);
    if (i < size) {
      store<i32>(ip, i);
      for (let q = 0; q < k; q++) {
        const p = scratch + (<usize>q << 2);
        store<i32>(p, load<i32>(p) + ai(Slot.STRIDES + d * MAX_OPERANDS + q));
      }
      return;
    }
    store<i32>(ip, 0);
    for (let q = 0; q < k; q++) {
      const p = scratch + (<usize>q << 2);
      store<i32>(p, load<i32>(p) - ai(Slot.STRIDES + d * MAX_OPERANDS + q) * (size - 1));
    }
  }
}

// ---- element access by dtype (the generic path computes in f64, like the js backend) ----
@inline function ld(dt: i32, base: usize, i: i32): f64 {
  if (dt == DType.float32) return <f64>load<f32>(base + (<usize>i << 2));
  if (dt == DType.float64) return load<f64>(base + (<usize>i << 3));
  if (dt == DType.int32) return <f64>load<i32>(base + (<usize>i << 2));
  return <f64>load<u8>(base + <usize>i);
}

@inline function toInt(v: f64): i64 {
  // JS ToInt32/ToUint8 (modular); NaN and ±Infinity give 0.
  if (!(v - v == 0)) return 0;
  if (Math.abs(v) >= 9.2e18) return 0;
  return <i64>v;
}

@inline function st(dt: i32, base: usize, i: i32, v: f64): void {
  if (dt == DType.float32) store<f32>(base + (<usize>i << 2), <f32>v);
  else if (dt == DType.float64) store<f64>(base + (<usize>i << 3), v);
  else if (dt == DType.int32) store<i32>(base + (<usize>i << 2), <i32>toInt(v));
  else store<u8>(base + <usize>i, <u8>toInt(v));
}

@inline function dt(q: i32): i32 {
  return ai(Slot.DT + q);
}
@inline function base(q: i32): usize {
  return <usize>ai(Slot.BASE + q);
}
@inline function step(q: i32): i32 {
  return ai(Slot.STEP + q);
}

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

/** a·b + c: one fused instruction in the relaxed-SIMD build, a multiply and an add otherwise. */
@inline function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// V8 rebuilds a v128 constant (4-5 instructions) at each use inside a loop; a splat load from
// static data is one instruction. The SIMD math below takes its constants from this table.
const KF = memory.data<f32>([
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
const EXP_HI: usize = KF + 0;
const EXP_LO: usize = KF + 4;
const LOG2E: usize = KF + 8;
const ROUND_MAGIC: usize = KF + 12;
const LN2_HI: usize = KF + 16;
const LN2_LO: usize = KF + 20;
const EXP_P0: usize = KF + 24;
const EXP_P1: usize = KF + 28;
const EXP_P2: usize = KF + 32;
const EXP_P3: usize = KF + 36;
const EXP_P4: usize = KF + 40;
const EXP_P5: usize = KF + 44;
const ONE: usize = KF + 48;
const INF: usize = KF + 52;
const NEG_ZERO: usize = KF + 56;
const GELU_C: usize = KF + 60;
const GELU_A: usize = KF + 64;
const GELU_3A: usize = KF + 68;
const MINUS_TWO: usize = KF + 72;
const GELU_CLAMP: usize = KF + 76;
const TANH_P0: usize = KF + 80;
const TANH_P1: usize = KF + 84;
const TANH_P2: usize = KF + 88;
const TANH_P3: usize = KF + 92;
const TANH_P4: usize = KF + 96;
const TWO: usize = KF + 100;
const TANH_SMALL: usize = KF + 104;
const ERF_CLAMP: usize = KF + 108;
const ERF_A13: usize = KF + 112;
const ERF_A11: usize = KF + 116;
const ERF_A9: usize = KF + 120;
const ERF_A7: usize = KF + 124;
const ERF_A5: usize = KF + 128;
const ERF_A3: usize = KF + 132;
const ERF_A1: usize = KF + 136;
const ERF_B8: usize = KF + 140;
const ERF_B6: usize = KF + 144;
const ERF_B4: usize = KF + 148;
const ERF_B2: usize = KF + 152;
const ERF_B0: usize = KF + 156;
const HALF: usize = KF + 160;
const INV_SQRT2: usize = KF + 164;
const K_INV_SQRT_2PI: usize = KF + 168;
const MINUS_HALF: usize = KF + 172;
const ERFC_P0: usize = KF + 176;
const ERFC_P1: usize = KF + 180;
const ERFC_P2: usize = KF + 184;
const ERFC_P3: usize = KF + 188;
const ERFC_P4: usize = KF + 192;
const ERFC_P5: usize = KF + 196;
const ERFC_P6: usize = KF + 200;
const ERFC_P7: usize = KF + 204;
const ERFC_P8: usize = KF + 208;
const ERFC_R0: usize = KF + 212;
const ERFC_R1: usize = KF + 216;
const ERFC_R2: usize = KF + 220;
const ERFC_R3: usize = KF + 224;
const ERFC_R4: usize = KF + 228;
const ERFC_R5: usize = KF + 232;
const ERFC_R6: usize = KF + 236;
const ERFC_R7: usize = KF + 240;
const TWO_F: usize = KF + 244;
const TANH_CLAMP: usize = KF + 248;
const TANH_TINY: usize = KF + 252;
const TANH_A13: usize = KF + 256;
const TANH_A11: usize = KF + 260;
const TANH_A9: usize = KF + 264;
const TANH_A7: usize = KF + 268;
const TANH_A5: usize = KF + 272;
const TANH_A3: usize = KF + 276;
const TANH_A1: usize = KF + 280;
const TANH_B6: usize = KF + 284;
const TANH_B4: usize = KF + 288;
const TANH_B2: usize = KF + 292;
const TANH_B0: usize = KF + 296;
@inline function k(p: usize): v128 {
  return v128.load32_splat(p);
}

// float32 exp and tanh on four lanes (Cephes expf / tanhf, ~1e-7 relative). AssemblyScript's
// Mathf functions measured 30-180 ns per element here. pmin/pmax, not min/max: V8 lowers the
// NaN-exact min/max to long sequences (a NaN input still comes out NaN).
@inline function expV(x: v128): v128 {
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
@inline function geluExpV(x: v128, x2: v128): v128 {
  const u = f32x4.mul(k(GELU_C), f32x4.add(x, f32x4.mul(k(GELU_A), f32x4.mul(x2, x))));
  return expV(f32x4.pmin(f32x4.mul(u, k(MINUS_TWO)), k(GELU_CLAMP)));
}

@inline function geluTanhV(x: v128): v128 {
  const e = geluExpV(x, f32x4.mul(x, x));
  return f32x4.div(x, f32x4.add(e, k(ONE)));
}

@inline function geluTanhGradV(x: v128): v128 {
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
@inline function erfV(a: v128): v128 {
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
@inline function erfcTailV(a: v128): v128 {
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
@inline function normalCdfV(x: v128): v128 {
  const z = f32x4.mul(x, k(INV_SQRT2));
  let cdf = f32x4.add(k(ONE), erfV(z));
  // Most activations are above −√2: the tail's exp and divisions only when a lane needs them.
  const inTail = f32x4.lt(z, f32x4.neg(k(ONE)));
  if (v128.any_true(inTail)) cdf = v128.bitselect(erfcTailV(f32x4.neg(z)), cdf, inTail);
  return f32x4.mul(k(HALF), cdf);
}

/** GELU, exact (erf) form: x·Φ(x). */
@inline function geluV(x: v128): v128 {
  return f32x4.mul(x, normalCdfV(x));
}

/** Its derivative: Φ(x) + x·exp(−x²/2)/√(2π). */
@inline function geluGradV(x: v128): v128 {
  const cdf = normalCdfV(x);
  const pdf = f32x4.mul(k(K_INV_SQRT_2PI), expV(f32x4.mul(k(MINUS_HALF), f32x4.mul(x, x))));
  return f32x4.add(cdf, f32x4.mul(x, pdf));
}

/**
 * tanh on four lanes: Eigen's float rational approximation x·P(x²)/Q(x²) on x clamped to ±7.9
 * (tanh is ±1 in float32 beyond), x itself below 4e-4; within 4e-7 relative of float64 tanh.
 * Half the operations of exp-based forms.
 */
@inline function tanhV(a: v128): v128 {
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

@inline function expf(x: f32): f32 {
  return f32x4.extract_lane(expV(f32x4.splat(x)), 0);
}

/** exp at the precision of dtype d: float32 data need no f64 exp. */
@inline function expOf(d: i32, v: f64): f64 {
  return d == DType.float32 ? <f64>expf(<f32>v) : Math.exp(v);
}

/** f32 lanes `fn` applied over a strided row, four at a time (gathering when strided). */
@inline function mapRowF32(kind: UnaryOp, bx: usize, sx: i32, bo: usize, so: i32, n: i32): void {
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

function unaryRowF32(op: i32, bx: usize, sx: i32, bo: usize, so: i32, n: i32): bool {
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

@inline function binaryV(op: i32, a: v128, b: v128): v128 {
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
@inline function binaryLoop(op: i32, aRow: i32, bRow: i32, pa: usize, pb: usize, po: usize, n: i32): void {
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

@inline function binaryRowsOp(op: i32, pa: usize, sa: i32, pb: usize, sb: i32, po: usize, n: i32): void {
  if (sa == 1 && sb == 1) binaryLoop(op, 1, 1, pa, pb, po, n);
  else if (sa == 1) binaryLoop(op, 1, 0, pa, pb, po, n);
  else if (sb == 1) binaryLoop(op, 0, 1, pa, pb, po, n);
  else binaryLoop(op, 0, 0, pa, pb, po, n);
}

/** float32 add/sub/mul/div rows; a or b may be a scalar (step 0). */
function binaryRowF32(op: i32, pa: usize, sa: i32, pb: usize, sb: i32, po: usize, so: i32, n: i32): bool {
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
 * a OP b for the comparison ops (eq, ne, lt, le, gt, ge) in f64, as JavaScript
 * compares (float32 and int32 widen exactly; NaN: only != holds).
 */
@inline function cmpOne(op: i32, a: f64, b: f64): u8 {
  if (op == BinaryOp.eq) return a == b ? 1 : 0;
  if (op == BinaryOp.ne) return a != b ? 1 : 0;
  if (op == BinaryOp.lt) return a < b ? 1 : 0;
  if (op == BinaryOp.le) return a <= b ? 1 : 0;
  if (op == BinaryOp.gt) return a > b ? 1 : 0;
  return a >= b ? 1 : 0; // BinaryOp.ge
}

/** One comparison op over a row of TA against a row of TB into bool; the op is fixed per loop. */
@inline function cmpLoop<TA, TB>(op: i32, ba: usize, pa: i32, sa: i32, bb: usize, pb: i32, sb: i32, bo: usize, po: i32, so: i32, n: i32): void {
  for (let j = 0; j < n; j++, pa += sa, pb += sb, po += so) {
    const a = <f64>load<TA>(ba + <usize>pa * sizeof<TA>());
    store<u8>(bo + <usize>po, cmpOne(op, a, <f64>load<TB>(bb + <usize>pb * sizeof<TB>())));
  }
}

/** The op as a constant in each loop: no per-element switch. */
@inline function cmpRow<TA, TB>(op: i32, ba: usize, pa: i32, sa: i32, bb: usize, pb: i32, sb: i32, bo: usize, po: i32, so: i32, n: i32): void {
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
function compareRow(op: i32, da: i32, db: i32, ba: usize, pa: i32, sa: i32, bb: usize, pb: i32, sb: i32, bo: usize, po: i32, so: i32, n: i32): bool {
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
@inline function scalarOpF64x2(op: i32, first: bool, x: v128, s: v128): v128 {
  if (op == BinaryOp.add) return f64x2.add(x, s);
  if (op == BinaryOp.mul) return f64x2.mul(x, s);
  if (op == BinaryOp.sub) return first ? f64x2.sub(s, x) : f64x2.sub(x, s);
  return first ? f64x2.div(s, x) : f64x2.div(x, s); // BinaryOp.div
}

/** A contiguous float32 row OP a float64 scalar, four at a time: promoted, computed, rounded once. */
@inline function scalarRowF64Lanes(op: i32, first: bool, s: f64, px: usize, po: usize, n: i32): i32 {
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
function scalarRowF32(op: i32, first: bool, s: f64, px: usize, sx: i32, po: usize, so: i32, n: i32): bool {
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
@inline function geluBackwardRowF32(tanhForm: bool, px: usize, pg: usize, sg: i32, po: usize, n: i32): void {
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
@inline function highHalf(v: v128): v128 {
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

// ---- reductions ----

/** Columns 0..n of `rows` float32 rows (row stride sr elements) added into float64 sums. */
function sumRowsF32(px: usize, sr: i32, rows: i32, pacc: usize, n: i32): void {
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

/** The general reduction: each row of x into its accumulators (see reduce). */
function reduceRows(rows: i32, n: i32, op: i32, dx: i32, bx: usize, bacc: usize, sx: i32, sa: i32): void {
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let px = cur(0);
    let pa = cur(1);
    if (op == ReduceOp.sum || op == ReduceOp.mean) {
      if (sa == 0) {
        let s: f64 = 0;
        if (dx == DType.float32) for (let j = 0; j < n; j++, px += sx) s += <f64>load<f32>(bx + (<usize>px << 2));
        else for (let j = 0; j < n; j++, px += sx) s += ld(dx, bx, px);
        const p = bacc + (<usize>pa << 3);
        store<f64>(p, load<f64>(p) + s);
      } else if (dx == DType.float32 && sx == 1 && sa == 1) {
        // Sum float32 rows into float64 accumulators, two lanes at a time.
        const xp = bx + (<usize>px << 2);
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
      } else if (dx == DType.float32) {
        for (let j = 0; j < n; j++, px += sx, pa += sa) {
          const p = bacc + (<usize>pa << 3);
          store<f64>(p, load<f64>(p) + <f64>load<f32>(bx + (<usize>px << 2)));
        }
      } else {
        for (let j = 0; j < n; j++, px += sx, pa += sa) {
          const p = bacc + (<usize>pa << 3);
          store<f64>(p, load<f64>(p) + ld(dx, bx, px));
        }
      }
    } else {
      for (let j = 0; j < n; j++, px += sx, pa += sa) {
        const p = bacc + (<usize>pa << 3);
        const v = ld(dx, bx, px);
        const a = load<f64>(p);
        if (op == ReduceOp.prod) store<f64>(p, a * v);
        else if (op == ReduceOp.max ? v > a || v != v : v < a || v != v) store<f64>(p, v);
      }
    }
    rowsNext();
  }
}

/**
 * Operand 0 = x, operand 1 = a float64 accumulator (stride 0 on reduced axes), operand 2 = out
 * (contiguous, as big as the accumulator: P1 elements). OP: 0 sum 1 mean 2 max 3 min 4 prod;
 * f[0] = 1/count for mean.
 */
export function reduce(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const op = ai(Slot.OP);
  const outSize = ai(ReduceSlot.OUT_SIZE);
  const dx = dt(0);
  const bx = base(0);
  const bacc = base(1);
  const sx = step(0);
  const sa = step(1);
  const init: f64 = op == ReduceOp.max ? -Infinity : op == ReduceOp.min ? Infinity : op == ReduceOp.prod ? 1 : 0;
  for (let i = 0; i < outSize; i++) store<f64>(bacc + (<usize>i << 3), init);
  // float32 [rows, n] summed over its rows (a batch mean, a bias gradient): eight columns at a
  // time in registers across all rows, instead of loading and storing the sums for every row.
  if ((op == ReduceOp.sum || op == ReduceOp.mean) && dx == DType.float32 && sx == 1 && sa == 1 && ai(Slot.ND) == 1 && ai(Slot.STRIDES + 1) == 0 && ai(Slot.R0) == 0) {
    sumRowsF32(bx + (<usize>ai(Slot.OFF) << 2), ai(Slot.STRIDES), rows, bacc + (<usize>ai(Slot.OFF + 1) << 3), n);
  } else {
    reduceRows(rows, n, op, dx, bx, bacc, sx, sa);
  }
  const scale = af(F.SCALE);
  const dout = dt(2);
  const bo = base(2);
  const off = ai(Slot.OFF + 2);
  for (let i = 0; i < outSize; i++) {
    const a = load<f64>(bacc + (<usize>i << 3));
    st(dout, bo, off + i, op == ReduceOp.mean ? a * scale : a);
  }
}

/** Lanes of x (operand 0) along dim; indices operand 1 (int32, contiguous), values operand 2 or P2 = 0. */
export function argReduce(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const isMax = ai(Slot.OP) == ArgReduceOp.max;
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
      if ((isMax ? v > best : v < best) || v != v) {
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
function sortLane(lane: usize, order: usize, tmp: usize, n: i32, largest: bool): void {
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

// ---- fused nn kernels ----

/** Max of a contiguous float32 row (NaN if any element is NaN, as Math.max). */
function rowMaxF32(p: usize, n: i32): f32 {
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
function rowExpSumF32(p: usize, n: i32, shift: f32, to: usize): f64 {
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
function rowScaleShiftF32(from: usize, to: usize, n: i32, a: f32, b: f32): void {
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

function rowLogSumExp(bx: usize, d: i32, p: i32, sc: i32, C: i32): f64 {
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
function rowSumF64(p: usize, n: i32): f64 {
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
function rowSquaredDeviationF64(p: usize, n: i32, m: f64): f64 {
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
function layerNormRowF32(xp: usize, D: i32, eps: f64, r: i32, wp: usize, bp: usize, hasW: bool, hasB: bool, op: usize): void {
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

// ---- batch norm (training; float32 [R, C], contiguous, channels last) ----
// EXTRA: 0 R, 1 C, then byte addresses: 2 x, 3 out (dx), 4 mean, 5 rstd, 6 weight, 7 bias,
// 8 running mean, 9 running var (0 = none), 10 g, 11 dweight, 12 dbias, 13 temp (5·C f64).
// F0 eps, F1 momentum. The float64 expressions and their order are the js kernels'.

@inline function f64At(p: usize, c: i32): f64 {
  return load<f64>(p + (<usize>c << 3));
}
@inline function f32At(p: usize, c: i32): f64 {
  return <f64>load<f32>(p + (<usize>c << 2));
}
@inline function twoF32(p: usize, c: i32): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p + (<usize>c << 2)));
}
@inline function storeTwoF32(p: usize, c: i32, v: v128): void {
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

// ---- gathers and scatters ----
// Operands as the js kernels build them. OP = GatherMode.gather for indexSelect/gather (0 = x,
// 1 = index, 2 = out), GatherMode.scatter for indexAdd/scatterAdd (0 = src, 1 = index, 2 = out,
// zero-filled by the host). Errors: KernelError.indexOutOfRange, value = the bad index.
export function gatherScatter(): void {
  const rows = ai(Slot.ROWS);
  const n = ai(Slot.LEN);
  const size = ai(GatherScatterSlot.DIM_SIZE);
  const sd = ai(GatherScatterSlot.DIM_STRIDE);
  const scatter = ai(Slot.OP) == GatherMode.scatter;
  const d0 = dt(0);
  const d2 = dt(2);
  const b0 = base(0);
  const bi = base(1);
  const b2 = base(2);
  const s0 = step(0);
  const si = step(1);
  const s2 = step(2);
  const f32 = d0 == DType.float32 && d2 == DType.float32;
  rowsBegin(ai(Slot.R0));
  for (let r = 0; r < rows; r++) {
    let p0 = cur(0);
    let pi = cur(1);
    let p2 = cur(2);
    for (let j = 0; j < n; j++, p0 += s0, pi += si, p2 += s2) {
      const i = load<i32>(bi + (<usize>pi << 2));
      if (i < 0 || i >= size) {
        setErr(KernelError.indexOutOfRange, i);
        return;
      }
      if (scatter) {
        const q = p2 + i * sd;
        if (f32) {
          const a = b2 + (<usize>q << 2);
          store<f32>(a, <f32>(<f64>load<f32>(a) + <f64>load<f32>(b0 + (<usize>p0 << 2))));
        } else st(d2, b2, q, ld(d2, b2, q) + ld(d0, b0, p0));
      } else {
        const q = p0 + i * sd;
        if (f32) store<f32>(b2 + (<usize>p2 << 2), load<f32>(b0 + (<usize>q << 2)));
        else st(d2, b2, p2, ld(d0, b0, q));
      }
    }
    rowsNext();
  }
}

// ---- matmul ----
// Batches walk as rows of operands a (0), b (1), out (2). EXTRA: M, N, K, sam, sak, sbk, sbn, som, son.
const KC = 256;
const NC = 512;
const MC = 128;

export const PACK_A_BYTES: i32 = MC * KC * 4;
export const PACK_B_BYTES: i32 = KC * NC * 4;

/** Columns c0..c3 (four k each) stored as four rows of four at dst, dst + 32, dst + 64, dst + 96 (a panel's rows). */
@inline function transpose4(dst: usize, c0: v128, c1: v128, c2: v128, c3: v128): void {
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
function packPanelsB(pb: usize, sbk: i32, sbn: i32, kc: i32, nc: i32): void {
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
function packPanelsA(pa: usize, sam: i32, sak: i32, mc: i32, kc: i32): void {
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
function micro(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, h: i32, w: i32, add: bool): void {
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
function gemmF32(pa: usize, sam: i32, sak: i32, pb: usize, sbk: i32, sbn: i32, pc: usize, ldc: i32, m0: i32, m1: i32, N: i32, K: i32): void {
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
@inline function lanesSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** out[i, j] = a[i, :] · b[:, j] where b's columns run along k (x @ Wᵀ, W row-major) and a's rows too. */
function gemvDotF32(pa: usize, sam: i32, pb: usize, sbn: i32, pc: usize, som: i32, M: i32, n0: i32, n1: i32, K: i32): void {
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

const GEMV_CHUNK = 512; // columns of C kept in L1 while b's rows stream past

/** out[i, j] = Σₖ a[i, k]·b[k, j] where b's rows are contiguous (x @ W): four rows of b per pass over a chunk of C. */
function gemvRowsF32(pa: usize, sam: i32, sak: i32, pb: usize, sbk: i32, pc: usize, som: i32, M: i32, n0: i32, n1: i32, K: i32): void {
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
