// The per-instance state, the argument block (slots: ./spec.ts) and the row walk every
// elementwise kernel shares; element loads and stores by dtype.
import { DType, F_BASE_BYTES, MAX_OPERANDS, Slot } from "./spec";
import { k } from "./simd-math";

// ---- per-instance state (each worker instantiates the module over the same shared memory) ----
export let args: usize = 0; // argument block (shared: the caller writes it before a job)
export let scratch: usize = 0; // this instance's row-walk state and small temporaries
export let packA: usize = 0; // this instance's matmul packing buffers
export let packB: usize = 0;

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
@inline export function ai(i: i32): i32 {
  return load<i32>(args + (<usize>i << 2));
}
@inline export function af(i: i32): f64 {
  return load<f64>(args + <usize>F_BASE_BYTES + (<usize>i << 3));
}
@inline export function setErr(code: i32, value: i32): void {
  store<i32>(args + (<usize>Slot.ERR << 2), code);
  store<i32>(args + (<usize>(Slot.ERR + 1) << 2), value);
}

// ---- row walk: cur[q] = element offset of operand q at the current row ----
@inline export function cur(q: i32): i32 {
  return load<i32>(scratch + (<usize>q << 2));
}

export function rowsBegin(r0: i32): void {
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

export function rowsNext(): void {
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
@inline export function ld(dt: i32, base: usize, i: i32): f64 {
  if (dt == DType.float32) return <f64>load<f32>(base + (<usize>i << 2));
  if (dt == DType.float64) return load<f64>(base + (<usize>i << 3));
  if (dt == DType.int32) return <f64>load<i32>(base + (<usize>i << 2));
  return <f64>load<u8>(base + <usize>i);
}

@inline export function toInt(v: f64): i64 {
  // JS ToInt32/ToUint8 (modular); NaN and ±Infinity give 0.
  if (!(v - v == 0)) return 0;
  if (Math.abs(v) >= 9.2e18) return 0;
  return <i64>v;
}

@inline export function st(dt: i32, base: usize, i: i32, v: f64): void {
  if (dt == DType.float32) store<f32>(base + (<usize>i << 2), <f32>v);
  else if (dt == DType.float64) store<f64>(base + (<usize>i << 3), v);
  else if (dt == DType.int32) store<i32>(base + (<usize>i << 2), <i32>toInt(v));
  else store<u8>(base + <usize>i, <u8>toInt(v));
}

@inline export function dt(q: i32): i32 {
  return ai(Slot.DT + q);
}
@inline export function base(q: i32): usize {
  return <usize>ai(Slot.BASE + q);
}
@inline export function step(q: i32): i32 {
  return ai(Slot.STEP + q);
}
