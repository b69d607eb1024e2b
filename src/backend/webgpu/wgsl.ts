/**
 * WGSL sources. Every kernel reads its arguments from a meta block (binding 0, u32 words; floats
 * bitcast) and its tensors from bindings 1..; strided views are walked by decoding a linear index
 * over (merged) dims, so one shader serves every layout of the same rank. Sizes the compiler
 * should see (dim counts, tile shapes) are baked in as constants; a pipeline is cached per source.
 * Everything stays within WebGPU compatibility mode: ≤ 256 invocations per workgroup, ≤ 8 storage
 * buffers per stage, 16 KiB of workgroup memory (matmul.ts takes more where the device has it).
 * Subgroup operations only where the device has them (LaneOptions).
 */
import type { DType } from "../types.js";

export type Scalar = "f32" | "i32" | "u32";

/** bool is stored as one u32 per element on the GPU. */
export function wgslType(dtype: DType): Scalar {
  switch (dtype) {
    case "float32":
      return "f32";
    case "int32":
      return "i32";
    case "bool":
      return "u32";
    case "float64":
      throw new Error("webgpu has no float64 (WGSL has no f64): use float32, or the wasm or js backend");
  }
}

/** A number of the op table as a WGSL f32 (the infinities through helpers: WGSL has no literal). */
export function wgslNumber(value: number): string {
  if (value === Infinity) return "pos_inf()";
  if (value === -Infinity) return "neg_inf()";
  if (!Number.isFinite(value)) throw new Error(`wgslNumber: no WGSL literal for ${value}`);
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

export const MAP_WORKGROUP = 256;

export const HELPERS = /* wgsl */ `
fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough for float32 GELU.
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return select(y, -y, x < 0.0);
}
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isnan_(a) || isnan_(b)) { return nan_(); }
  let r = pow(abs(a), b);
  if (a >= 0.0) { return r; }
  if (fract(b) != 0.0) { return nan_(); }
  return select(r, -r, fract(b * 0.5) != 0.0);
}
fn max_(a: f32, b: f32) -> f32 { return select(b, a, a > b || isnan_(a)); }
fn min_(a: f32, b: f32) -> f32 { return select(b, a, a < b || isnan_(a)); }
// Runtime bit patterns: WGSL constant expressions cannot hold NaN or infinities.
fn bits_(u: u32) -> f32 { var v = u; return bitcast<f32>(v); }
fn nan_() -> f32 { return bits_(0x7fc00000u); }
fn neg_inf() -> f32 { return bits_(0xff800000u); }
fn pos_inf() -> f32 { return bits_(0x7f800000u); }
`;

export interface Binding {
  /** vec4<f32>: float32 storage read four at a time (aligned matmul tiles). */
  type: Scalar | "vec4<f32>";
  write: boolean;
}

export function bindings(list: readonly Binding[]): string {
  const lines = ["@group(0) @binding(0) var<storage, read> args: array<u32>;"];
  list.forEach((b, i) => {
    lines.push(
      `@group(0) @binding(${i + 1}) var<storage, ${b.write ? "read_write" : "read"}> b${i}: array<${b.type}>;`,
    );
  });
  return lines.join("\n");
}

/** `expr` (of type `from`) as `to`; to u32 (bool) means ≠ 0. */
export function convert(expr: string, from: Scalar, to: Scalar): string {
  if (from === to) return expr;
  if (to === "u32")
    return `select(0u, 1u, (${expr}) != ${from === "f32" ? "0.0" : from === "i32" ? "0" : "0u"})`;
  return `${to}(${expr})`;
}

/**
 * Elementwise over `nd` merged dims with `operands` views: thread i decodes its position and
 * sets p0.. (element offsets of each operand), then runs `body`. Scalars follow the operand
 * blocks: `sc(i)` (u32), `scf(i)` (f32), `sci(i)` (i32).
 */
export function mapShader(list: readonly Binding[], nd: number, body: string): string {
  const k = list.length;
  const decl = list
    .map((_, i) => `  var p${i}: i32 = bitcast<i32>(args[OPS + ${i}u * (ND + 1u)]);`)
    .join("\n");
  const step = list
    .map((_, i) => `      p${i} += c * bitcast<i32>(args[OPS + ${i}u * (ND + 1u) + 1u + u32(d)]);`)
    .join("\n");
  return `${bindings(list)}
${HELPERS}
const ND = ${nd}u;
const OPS = 2u + ND;
const SC = OPS + ${k}u * (ND + 1u);
fn sc(i: u32) -> u32 { return args[SC + i]; }
fn scf(i: u32) -> f32 { return bitcast<f32>(args[SC + i]); }
fn sci(i: u32) -> i32 { return bitcast<i32>(args[SC + i]); }
@compute @workgroup_size(${MAP_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * ${MAP_WORKGROUP}u;
  if (idx >= args[0]) { return; }
${decl}
  var rem = idx;
  for (var d = i32(ND) - 1; d >= 0; d--) {
    let s = args[2u + u32(d)];
    let c = i32(rem % s);
    rem = rem / s;
${step}
  }
${body}
}
`;
}

/** How lane kernels reduce: threads per lane, and whether subgroup operations are used. */
export interface LaneOptions {
  wg: 64 | 256;
  /**
   * The largest subgroup size where lane reductions use subgroup operations (the device has the
   * `subgroups` feature, laid out contiguously: see index.ts), else 0.
   */
  subgroups: number;
}

/**
 * WGSL `fn name(v: f32, lid: u32) -> f32`: v combined over the workgroup by `combine` (an
 * expression of `a` and `b`), the same result in every thread. With subgroups: a butterfly of
 * shuffles inside each subgroup, then one value per subgroup through workgroup memory (two
 * barriers instead of one per halving). Every call begins with a barrier (see README: llvmpipe).
 */
export function workgroupReduce(name: string, combine: string, o: LaneOptions): string {
  if (!o.subgroups) {
    return `fn ${name}(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { let a = red[lid]; let b = red[lid + s]; red[lid] = ${combine}; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
  }
  // Shuffles stay in uniform control flow (WGSL requires it): a constant number of steps, each
  // past the subgroup's size discarded by select.
  return `fn ${name}(v: f32, lid: u32) -> f32 {
  var r = v;
  for (var o = 1u; o < ${o.subgroups}u; o = o * 2u) {
    let a = r;
    let b = subgroupShuffleXor(r, o);
    r = select(a, ${combine}, o < sg_size);
  }
  workgroupBarrier();
  if (sg_id == 0u) { red[lid / sg_size] = r; }
  workgroupBarrier();
  var acc = red[0];
  for (var i = 1u; i < WG / sg_size; i++) { let a = acc; let b = red[i]; acc = ${combine}; }
  return acc;
}`;
}

/**
 * WGSL `fn wbest(v: f32, i: u32, lid: u32) -> u32`: the index of the best (value, index) pair
 * of the workgroup by a `better(v1, i1, v2, i2)` the caller defines.
 */
export function workgroupBest(o: LaneOptions): string {
  if (!o.subgroups) {
    return `fn wbest(v: f32, i: u32, lid: u32) -> u32 {
  workgroupBarrier();
  red[lid] = v; redi[lid] = i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s && better(red[lid + s], redi[lid + s], red[lid], redi[lid])) {
      red[lid] = red[lid + s]; redi[lid] = redi[lid + s];
    }
    workgroupBarrier();
  }
  let r = redi[0];
  workgroupBarrier();
  return r;
}`;
  }
  return `fn wbest(v: f32, i: u32, lid: u32) -> u32 {
  var bv = v; var bi = i;
  for (var o = 1u; o < ${o.subgroups}u; o = o * 2u) {
    let ov = subgroupShuffleXor(bv, o);
    let oi = subgroupShuffleXor(bi, o);
    let take = o < sg_size && better(ov, oi, bv, bi);
    bv = select(bv, ov, take);
    bi = select(bi, oi, take);
  }
  workgroupBarrier();
  if (sg_id == 0u) { red[lid / sg_size] = bv; redi[lid / sg_size] = bi; }
  workgroupBarrier();
  var rv = red[0]; var ri = redi[0];
  for (var k = 1u; k < WG / sg_size; k++) {
    if (better(red[k], redi[k], rv, ri)) { rv = red[k]; ri = redi[k]; }
  }
  return ri;
}`;
}

/**
 * One workgroup per lane (a row of a reduction, softmax, layer norm...). Lanes are decoded over
 * `no` outer dims, positions within a lane over `ni` inner dims: `outer(k, lane)` and `inner(k, j)`
 * give operand k's element offsets. `wsum`/`wmax` reduce across the workgroup; `extra` may add
 * more (workgroupReduce, workgroupBest).
 */
export function laneShader(
  list: readonly Binding[],
  no: number,
  ni: number,
  body: string,
  extra: string,
  o: LaneOptions,
): string {
  const k = list.length;
  return `${o.subgroups ? "enable subgroups;\n" : ""}${bindings(list)}
${HELPERS}
const NO = ${no}u;
const NI = ${ni}u;
const K = ${k}u;
const OPS = 2u + NO + NI;
const SC = OPS + K * (1u + NO + NI);
const WG = ${o.wg}u;
fn sc(i: u32) -> u32 { return args[SC + i]; }
fn scf(i: u32) -> f32 { return bitcast<f32>(args[SC + i]); }
fn sci(i: u32) -> i32 { return bitcast<i32>(args[SC + i]); }
fn outer(k: u32, lane: u32) -> i32 {
  let base = OPS + k * (1u + NO + NI);
  var p = bitcast<i32>(args[base]);
  var rem = lane;
  for (var d = i32(NO) - 1; d >= 0; d--) {
    let s = args[2u + u32(d)];
    p += i32(rem % s) * bitcast<i32>(args[base + 1u + u32(d)]);
    rem = rem / s;
  }
  return p;
}
fn inner(k: u32, j: u32) -> i32 {
  let base = OPS + k * (1u + NO + NI) + 1u + NO;
  var p = 0;
  var rem = j;
  for (var d = i32(NI) - 1; d >= 0; d--) {
    let s = args[2u + NO + u32(d)];
    p += i32(rem % s) * bitcast<i32>(args[base + u32(d)]);
    rem = rem / s;
  }
  return p;
}
var<workgroup> red: array<f32, ${o.wg}>;
var<workgroup> redi: array<u32, ${o.wg}>;
var<private> sg_id: u32;
var<private> sg_size: u32;
${workgroupReduce("wsum", "a + b", o)}
${workgroupReduce("wmax", "max_(a, b)", o)}
${extra}
@compute @workgroup_size(${o.wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid3: vec3<u32>${
          o.subgroups
            ? ",\n        @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32"
            : ""
        }) {
  ${o.subgroups ? "sg_id = sgi; sg_size = sgs;" : ""}
  let lane = wid.x + wid.y * nwg.x;
  if (lane >= args[0]) { return; }
  let lid = lid3.x;
  let n = args[1];
${body}
}
`;
}
