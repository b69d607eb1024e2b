/**
 * Matmul on the GPU: out[m, n] = Σ_k a[m, k]·b[k, n] over strided (and batched) views.
 *
 * Tiled: a workgroup of 16×16 threads computes a T×T block of out (T = 128: 8×8 values per
 * thread; T = 64: 4×4), stepping k by BK through two workgroup-memory buffers: while the
 * threads multiply out of one, the next slices of a and b are already in registers and go to the
 * other, so one barrier per step. Tiles are stored k-major as vec4s, so a thread reads its 4 or 8
 * values of a and of b per k as one or two vec4 loads, and neighbouring threads read neighbouring
 * vec4s (no bank conflicts). From global memory each operand is read as vec4s along whichever
 * of its dims is contiguous when sizes and offsets allow (`vk`, `vr`), else as scalars in the
 * order that keeps neighbouring threads on neighbouring addresses (`sk`, `sr`). So a, aᵀ, b and
 * bᵀ (linear's weight) all load coalesced, and no layout is copied first.
 *
 * Thin products (decode: one row against a weight matrix) are a matrix-vector kernel instead:
 * a workgroup takes a few columns, its threads split k and sum in workgroup memory; a product
 * with few columns is computed transposed the same way (outᵀ = bᵀ·aᵀ, a view, no copy).
 */
import type { View } from "../types.js";
import type { Meta } from "./device.js";
import { type Binding, bindings, HELPERS } from "./wgsl.js";

/** How one operand's tile is read: vec4 along k, vec4 along its row dim, or scalars k- or row-fast. */
export type TileLoad = "vk" | "vr" | "sk" | "sr";

export interface TiledMatmul {
  kind: "tiled";
  tile: 64 | 128;
  /** k per step: workgroup memory holds 2 buffers × (a and b) × T × BK floats. */
  bk: number;
  a: TileLoad;
  b: TileLoad;
  /** out written as vec4 rows (contiguous, aligned). */
  outVec: boolean;
  /**
   * Split-K: k is cut into this many chunks, one workgroup each (z), writing partial sums to a
   * temporary [splitK, M, N] that a second pass adds up (and applies the epilogue). For products
   * with few tiles and a long k (the output layer's backward: [1024, 50304]·[50304, 768]), which
   * would leave most of a large GPU idle. 1: no split.
   */
  splitK: number;
  /** k per chunk (a multiple of bk) when split. */
  chunk: number;
}

/** Rows at most GEMV_ROWS: each thread keeps one sum per row. */
export const GEMV_ROWS = 4;

export interface GemvMatmul {
  kind: "gemv";
  /** Columns of out per workgroup; 256 / cols threads split k for each. */
  cols: number;
  /** Consecutive threads take consecutive k (b contiguous along k) rather than columns. */
  kFast: boolean;
}

export type MatmulPlan = TiledMatmul | GemvMatmul;

/**
 * What happens to each sum as it is written (nn.Linear fused): + bias (indexed by the column n,
 * or by the row m when the product was transposed), the sum kept in `pre` (same layout as out),
 * then GELU. Its arguments follow the batch dims in the meta block: bias offset, bias stride.
 */
export interface Epilogue {
  bias: "n" | "m" | null;
  pre: boolean;
  gelu: "none" | "tanh" | null;
}

/** Strides and offsets of one product, batch dims already merged (see kernels.ts). */
export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  /** a[m, k] at pa + m·sam + k·sak; b[k, n] at pb + k·sbk + n·sbn; out[m, n] at po + m·som + n·son. */
  sam: number;
  sak: number;
  sbk: number;
  sbn: number;
  som: number;
  son: number;
  pa: number;
  pb: number;
  po: number;
  /** Merged batch dims: size and the a, b, out strides of each. */
  batch: { size: number; a: number; b: number; out: number }[];
}

const aligned = (...values: number[]) => values.every((v) => v % 4 === 0);

/** How an operand with element (r, k) at p + r·sr + k·sk (r < R, k < K) loads its tiles. */
function tileLoad(R: number, K: number, sr: number, sk: number, p: number, batchStrides: number[]): TileLoad {
  if (sk === 1 && aligned(K, sr, p, ...batchStrides)) return "vk";
  if (sr === 1 && sk !== 1 && aligned(R, sk, p, ...batchStrides)) return "vr";
  return sr === 1 && sk !== 1 ? "sr" : "sk";
}

/**
 * The kernel for a product: tiles of 128 where there are enough of them to fill a large GPU
 * (at least 128 workgroups), else 64; the matrix-vector kernel for M ≤ 4 (the caller transposes
 * a product with N ≤ 4 first). `workgroupBytes` is the device's limit (16 KiB in compatibility mode).
 */
export function planMatmul(s: MatmulShape, workgroupBytes: number): MatmulPlan {
  if (s.M <= GEMV_ROWS) {
    const kFast = s.sbk === 1 && s.sbn !== 1;
    return { kind: "gemv", cols: kFast ? 8 : 64, kFast };
  }
  const batches = s.batch.reduce((n, d) => n * d.size, 1);
  const tiles128 = Math.ceil(s.M / 128) * Math.ceil(s.N / 128) * batches;
  const tile = s.M >= 128 && s.N >= 128 && tiles128 >= 128 ? 128 : 64;
  // Two buffers of a and b tiles: 16·T·BK bytes; BK ≥ 8 fits 16 KiB at T = 128.
  // k steps of 16: longer ones do not pay for their compile time (SwiftShader unrolls them).
  const bk = Math.min(16, 2 ** Math.floor(Math.log2(workgroupBytes / (16 * tile))));
  // Up to SPLIT_TARGET workgroups from chunks of at least SPLIT_MIN_K (2-D products only).
  const tiles = Math.ceil(s.M / tile) * Math.ceil(s.N / tile) * batches;
  let splitK = 1;
  if (batches === 1 && tiles < SPLIT_TARGET)
    splitK = Math.max(1, Math.min(16, Math.ceil(SPLIT_TARGET / tiles), Math.floor(s.K / SPLIT_MIN_K)));
  const chunk = Math.ceil(s.K / splitK / bk) * bk;
  splitK = Math.ceil(s.K / chunk);
  return {
    splitK,
    chunk,
    kind: "tiled",
    tile,
    bk,
    a: tileLoad(
      s.M,
      s.K,
      s.sam,
      s.sak,
      s.pa,
      s.batch.map((d) => d.a),
    ),
    b: tileLoad(
      s.N,
      s.K,
      s.sbn,
      s.sbk,
      s.pb,
      s.batch.map((d) => d.b),
    ),
    // Split: partial sums go to a contiguous temporary.
    outVec:
      splitK > 1 ? aligned(s.N) : s.son === 1 && aligned(s.N, s.som, s.po, ...s.batch.map((d) => d.out)),
  };
}

/** Split-K aims at this many workgroups (a large GPU holds a few hundred at once). */
const SPLIT_TARGET = 512;
/** ...with chunks of k at least this long. */
const SPLIT_MIN_K = 512;

/** The meta block: sizes, strides, offsets, then (size, a, b, out strides) per batch dim. */
export function matmulMeta(s: MatmulShape): Meta {
  const meta: Meta = [s.M, s.N, s.K, s.sam, s.sak, s.sbk, s.sbn, s.som, s.son, s.pa, s.pb, s.po];
  for (const d of s.batch) meta.push(d.size, d.a, d.b, d.out);
  return meta;
}

export function matmulGroups(s: MatmulShape, plan: MatmulPlan): [number, number, number] {
  const batches = s.batch.reduce((n, d) => n * d.size, 1);
  if (plan.kind === "gemv") return [Math.ceil(s.N / plan.cols), Math.ceil(s.M / GEMV_ROWS), batches];
  return [Math.ceil(s.N / plan.tile), Math.ceil(s.M / plan.tile), plan.splitK > 1 ? plan.splitK : batches];
}

/**
 * The second pass of a split product: out[m, n] = fin(Σ_s partial[s, m, n]), one thread per
 * element. Meta: M, N, splits, som, son, po, then the epilogue's bias offset and stride.
 */
export function splitSumShader(epilogue: Epilogue | null): string {
  const ep = epilogueCode(6, epilogue, 2);
  const list: Binding[] = [{ type: "f32", write: false }, { type: "f32", write: true }, ...ep.list];
  return `${bindings(list)}
${ep.code}
fn m_(i: u32) -> i32 { return bitcast<i32>(args[i]); }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let M = args[0]; let N = args[1]; let S = args[2];
  let som = m_(3u); let son = m_(4u); let po = m_(5u);
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= M * N) { return; }
  let m = i / N;
  let n = i % N;
  var v = 0.0;
  for (var s = 0u; s < S; s++) { v += b0[s * M * N + i]; }
  b1[po + i32(m) * som + i32(n) * son] = ${ep.used ? "fin(v, m, n, po, som, son)" : "v"};
}
`;
}

export function splitSumMeta(s: MatmulShape, plan: TiledMatmul): Meta {
  return [s.M, s.N, plan.splitK, s.som, s.son, s.po];
}

/** WGSL that reads the meta block and moves pa, pb, po to this workgroup's batch matrix. */
function prologue(nb: number): string {
  return `  let M = args[0]; let N = args[1]; let K = args[2];
  let sam = m_(3u); let sak = m_(4u); let sbk = m_(5u); let sbn = m_(6u); var som = m_(7u); var son = m_(8u);
  var pa = m_(9u); var pb = m_(10u); var po = m_(11u);
  var rem = wid.z;
  for (var d = ${nb - 1}; d >= 0; d--) {
    let base = 12u + u32(d) * 4u;
    let c = i32(rem % args[base]);
    rem = rem / args[base];
    pa += c * m_(base + 1u); pb += c * m_(base + 2u); po += c * m_(base + 3u);
  }`;
}

/**
 * Loading one operand's T×BK tile (rows r from r0, k from k0) into registers (`load`) and from
 * there into workgroup memory `tile` at buffer `buf` (`store`). Element (r, k) of the operand is
 * at p + r·sr + k·sk of binding `b`; rows at or past `rows`, and k at or past K, read 0. Each
 * thread's share (4 or 8 values) is unrolled into registers xr0, xr1, ...
 */
function tileLoader(
  x: string,
  b: string,
  mode: TileLoad,
  T: number,
  BK: number,
  names: { p: string; sr: string; sk: string; rows: string },
) {
  const T4 = T / 4;
  const perThread = (T * BK) / 256;
  const { p, sr, sk, rows } = names;
  const vector = mode === "vk" || mode === "vr";
  const count = vector ? perThread / 4 : perThread;
  const index =
    mode === "vk"
      ? `let r = e / ${BK / 4}u; let kk = (e % ${BK / 4}u) * 4u;`
      : mode === "vr"
        ? `let kk = e / ${T4}u; let r = (e % ${T4}u) * 4u;`
        : mode === "sk"
          ? `let r = e / ${BK}u; let kk = e % ${BK}u;`
          : `let r = e % ${T}u; let kk = e / ${T}u;`;
  const where =
    mode === "vk"
      ? `(${p} + i32(r0 + r) * ${sr} + i32(k0 + kk)) / 4`
      : mode === "vr"
        ? `(${p} + i32(k0 + kk) * ${sk} + i32(r0 + r)) / 4`
        : `${p} + i32(r0 + r) * ${sr} + i32(k0 + kk) * ${sk}`;
  const zero = vector ? "vec4<f32>(0.0)" : "0.0";
  const each = (body: (reg: string) => string) =>
    Array.from(
      { length: count },
      (_, l) => `{
      let e = t + ${l * 256}u;
      ${index}
      ${body(`${x}r${l}`)}
    }`,
    ).join("\n    ");
  const store = (reg: string) =>
    mode === "vk"
      ? [0, 1, 2, 3]
          .map((i) => `${x}s[buf + (kk + ${i}u) * ${T4}u + r / 4u][r % 4u] = ${reg}[${i}];`)
          .join(" ")
      : mode === "vr"
        ? `${x}s[buf + kk * ${T4}u + r / 4u] = ${reg};`
        : `${x}s[buf + kk * ${T4}u + r / 4u][r % 4u] = ${reg};`;
  return {
    regs: Array.from({ length: count }, (_, l) => `var ${x}r${l} = ${zero};`).join(" "),
    load: each(
      (reg) => `${reg} = ${zero};\n      if (r0 + r < ${rows} && k0 + kk < KE) { ${reg} = ${b}[${where}]; }`,
    ),
    store: each(store),
  };
}

function tiledShader(nb: number, plan: TiledMatmul, epilogue: Epilogue | null): string {
  const { tile: T, bk: BK } = plan;
  const T4 = T / 4;
  const RV = T / 64; // vec4s of a (and of b) per thread per k
  const vecBinding = (mode: TileLoad): Binding => ({
    type: mode[0] === "v" ? "vec4<f32>" : "f32",
    write: false,
  });
  const list: Binding[] = [
    vecBinding(plan.a),
    vecBinding(plan.b),
    { type: plan.outVec ? "vec4<f32>" : "f32", write: true },
  ];
  // A split product's first pass writes plain partial sums; the second applies the epilogue.
  const ep = epilogueCode(12 + 4 * nb, plan.splitK > 1 ? null : epilogue);
  list.push(...ep.list);
  const fin = (v: string, n: string) => (ep.used ? `fin(${v}, m, ${n}, po, som, son)` : v);
  const A = tileLoader("A", "b0", plan.a, T, BK, { p: "pa", sr: "sam", sk: "sak", rows: "M" });
  const B = tileLoader("B", "b1", plan.b, T, BK, { p: "pb", sr: "sbn", sk: "sbk", rows: "N" });
  // Fully unrolled (accumulators c0.., operands ra0.., rb0..: constant names, so they stay in
  // registers whatever the shader compiler unrolls).
  const acc = (v: number, c: number, w: number) => `c${(v * 4 + c) * RV + w}`;
  const lanes = ["x", "y", "z", "w"];
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const multiply = range(RV)
    .flatMap((v) =>
      range(4).flatMap((c) =>
        range(RV).map(
          (w) => `      ${acc(v, c, w)} = fma(vec4<f32>(ra${v}.${lanes[c]}), rb${w}, ${acc(v, c, w)});`,
        ),
      ),
    )
    .join("\n");
  const operands = range(RV)
    .map(
      (v) => `      let ra${v} = As[row + ty + ${16 * v}u];\n      let rb${v} = Bs[row + tx + ${16 * v}u];`,
    )
    .join("\n");
  const storeOne = (name: string) =>
    plan.outVec
      ? `if (n < N) { b2[(po + i32(m) * som + i32(n)) / 4] = ${
          ep.used
            ? `vec4<f32>(${range(4)
                .map((j) => fin(`${name}.${lanes[j]}`, `n + ${j}u`))
                .join(", ")})`
            : name
        }; }`
      : range(4)
          .map(
            (j) =>
              `if (n + ${j}u < N) { b2[po + i32(m) * som + i32(n + ${j}u) * son] = ${fin(`${name}.${lanes[j]}`, `n + ${j}u`)}; }`,
          )
          .join("\n        ");
  const stores = range(RV)
    .flatMap((v) =>
      range(4).map((c) => {
        const cols = range(RV)
          .map(
            (w) =>
              `{\n        let n = n0 + (tx + ${16 * w}u) * 4u;\n        ${storeOne(acc(v, c, w))}\n      }`,
          )
          .join("\n      ");
        return `  {\n    let m = m0 + (ty + ${16 * v}u) * 4u + ${c}u;\n    if (m < M) {\n      ${cols}\n    }\n  }`;
      }),
    )
    .join("\n");
  const declare = range(4 * RV * RV)
    .map((i) => `  var c${i} = vec4<f32>(0.0);`)
    .join("\n");
  return `${bindings(list)}
${ep.code}
const BUF = ${BK * T4}u;
var<workgroup> As: array<vec4<f32>, ${2 * BK * T4}>;
var<workgroup> Bs: array<vec4<f32>, ${2 * BK * T4}>;
fn m_(i: u32) -> i32 { return bitcast<i32>(args[i]); }
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
${prologue(nb)}
  let m0 = wid.y * ${T}u;
  let n0 = wid.x * ${T}u;
${
  plan.splitK > 1
    ? `  // Chunk wid.z of k; its partial sums go to a contiguous [splits, M, N] temporary.
  let kBegin = wid.z * ${plan.chunk}u;
  let KE = min(K, kBegin + ${plan.chunk}u);
  po = i32(wid.z * M * N); som = i32(N); son = 1;`
    : "  let kBegin = 0u;\n  let KE = K;"
}
  let tx = lid.x;
  let ty = lid.y;
  let t = ty * 16u + tx;
${declare}
  ${A.regs}
  ${B.regs}
  var k0 = kBegin;
  var buf = 0u;
  {
    let r0 = m0;
    ${A.load}
    ${A.store}
  }
  {
    let r0 = n0;
    ${B.load}
    ${B.store}
  }
  workgroupBarrier();
  loop {
    if (k0 >= KE) { break; }
    let cur = buf;
    let more = k0 + ${BK}u < KE;
    k0 += ${BK}u;
    buf = BUF - buf;
    // The next slices go to registers before this one is multiplied.
    if (more) {
      { let r0 = m0; ${A.load} }
      { let r0 = n0; ${B.load} }
    }
    for (var kk = 0u; kk < ${BK}u; kk++) {
      let row = cur + kk * ${T4}u;
${operands}
${multiply}
    }
    if (more) {
      { ${A.store} }
      { ${B.store} }
    }
    workgroupBarrier();
  }
${stores}
}
`;
}

function gemvShader(nb: number, plan: GemvMatmul, epilogue: Epilogue | null): string {
  const list: Binding[] = [
    { type: "f32", write: false },
    { type: "f32", write: false },
    { type: "f32", write: true },
  ];
  const ep = epilogueCode(12 + 4 * nb, epilogue);
  list.push(...ep.list);
  const C = plan.cols;
  const L = 256 / C; // threads along k per column
  const slot = (c: string, l: string) => (plan.kFast ? `${c} * ${L}u + (${l})` : `(${l}) * ${C}u + ${c}`);
  const sum = `red[i * 256u + ${slot("c", "0u")}]`;
  return `${bindings(list)}
${ep.code}
const R = ${GEMV_ROWS}u;
var<workgroup> red: array<f32, ${256 * GEMV_ROWS}>;
fn m_(i: u32) -> i32 { return bitcast<i32>(args[i]); }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
${prologue(nb)}
  let t = lid.x;
  let c = ${plan.kFast ? `t / ${L}u` : `t % ${C}u`};
  let l = ${plan.kFast ? `t % ${L}u` : `t / ${C}u`};
  let n = wid.x * ${C}u + c;
  let m0 = wid.y * R;
  var acc: array<f32, ${GEMV_ROWS}>;
  for (var i = 0u; i < R; i++) { acc[i] = 0.0; }
  if (n < N) {
    for (var k = l; k < K; k += ${L}u) {
      let bv = b1[pb + i32(k) * sbk + i32(n) * sbn];
      for (var i = 0u; i < R; i++) {
        if (m0 + i < M) { acc[i] = fma(b0[pa + i32(m0 + i) * sam + i32(k) * sak], bv, acc[i]); }
      }
    }
  }
  for (var i = 0u; i < R; i++) { red[i * 256u + ${slot("c", "l")}] = acc[i]; }
  workgroupBarrier();
  for (var s = ${L / 2}u; s > 0u; s = s / 2u) {
    if (l < s) {
      for (var i = 0u; i < R; i++) {
        red[i * 256u + ${slot("c", "l")}] += red[i * 256u + ${slot("c", "l + s")}];
      }
    }
    workgroupBarrier();
  }
  if (l == 0u && n < N) {
    for (var i = 0u; i < R; i++) {
      let m = m0 + i;
      if (m < M) { b2[po + i32(m) * som + i32(n) * son] = ${ep.used ? `fin(${sum}, m, n, po, som, son)` : sum}; }
    }
  }
}
`;
}

export function matmulShader(nb: number, plan: MatmulPlan, epilogue: Epilogue | null = null): string {
  return plan.kind === "gemv" ? gemvShader(nb, plan, epilogue) : tiledShader(nb, plan, epilogue);
}

/** The epilogue's bindings (after a, b, out) and `fn fin(v, m, n, po, som, son) -> f32`. */
function epilogueCode(
  metaBase: number,
  e: Epilogue | null,
  firstBinding = 3,
): { list: Binding[]; code: string; used: boolean } {
  if (!e || (!e.bias && !e.pre && e.gelu === null)) return { list: [], code: "", used: false };
  const list: Binding[] = [];
  const lines: string[] = ["  var v = v0;"];
  if (e.bias) {
    const at = firstBinding + list.length;
    list.push({ type: "f32", write: false });
    const base = metaBase;
    lines.push(`  v = v + b${at}[m_(${base}u) + i32(${e.bias}) * m_(${base + 1}u)];`);
  }
  if (e.pre) {
    const at = firstBinding + list.length;
    list.push({ type: "f32", write: true });
    lines.push(`  b${at}[po + i32(m) * som + i32(n) * son] = v;`);
  }
  if (e.gelu === "none") lines.push("  v = 0.5 * v * (1.0 + erf_(v * 0.7071067811865476));");
  if (e.gelu === "tanh")
    lines.push("  v = 0.5 * v * (1.0 + tanh_(0.7978845608028654 * (v + 0.044715 * v * v * v)));");
  const code = `${HELPERS}
fn fin(v0: f32, m: u32, n: u32, po: i32, som: i32, son: i32) -> f32 {
${lines.join("\n")}
  return v;
}`;
  return { list, code, used: true };
}

/** The product as MatmulShape from views whose batch dims are merged by the caller. */
export function matmulShape(
  a: View,
  b: View,
  out: View,
  batch: { shape: number[]; strides: number[][] },
): MatmulShape {
  const nd = out.shape.length;
  return {
    M: out.shape[nd - 2]!,
    N: out.shape[nd - 1]!,
    K: a.shape[nd - 1]!,
    sam: a.strides[nd - 2]!,
    sak: a.strides[nd - 1]!,
    sbk: b.strides[nd - 2]!,
    sbn: b.strides[nd - 1]!,
    som: out.strides[nd - 2]!,
    son: out.strides[nd - 1]!,
    pa: a.offset,
    pb: b.offset,
    po: out.offset,
    batch: batch.shape.map((size, d) => ({
      size,
      a: batch.strides[0]![d]!,
      b: batch.strides[1]![d]!,
      out: batch.strides[2]![d]!,
    })),
  };
}

/** outᵀ = bᵀ·aᵀ: the same product with the roles of a and b (and of M and N) swapped. */
export function transposedShape(s: MatmulShape): MatmulShape {
  return {
    M: s.N,
    N: s.M,
    K: s.K,
    sam: s.sbn,
    sak: s.sbk,
    sbk: s.sak,
    sbn: s.sam,
    som: s.son,
    son: s.som,
    pa: s.pb,
    pb: s.pa,
    po: s.po,
    batch: s.batch.map((d) => ({ size: d.size, a: d.b, b: d.a, out: d.out })),
  };
}
