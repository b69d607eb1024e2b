/**
 * Host side of each kernel: merge dims, lay out the meta block, pick (generate) the shader and
 * record the dispatch. The js kernels (../js) are the spec; each function here mirrors one.
 */

import { contiguousStrides, mergeDims, product } from "../layout.js";
import { BINARY, type BinarySpec, binarySpec, COMPARISON_OPS, UNARY, type UnarySpec } from "../spec/ops.js";
import type {
  BinaryOp,
  DType,
  KernelArgs,
  KernelName,
  OptionalKernelArgs,
  OptionalKernelName,
  Storage,
  View,
} from "../types.js";
import type { GpuBuffer, GpuDevice, Meta, Shader } from "./device.js";
import {
  type Epilogue,
  GEMV_ROWS,
  type MatmulPlan,
  matmulGroups,
  matmulMeta,
  matmulShader,
  matmulShape,
  planMatmul,
  splitSumMeta,
  splitSumShader,
  transposedShape,
} from "./matmul.js";
import {
  type Binding,
  convert,
  type LaneOptions,
  laneShader,
  MAP_WORKGROUP,
  mapShader,
  type Scalar,
  wgslType,
  workgroupBest,
  workgroupReduce,
} from "./wgsl.js";

export interface WebGpuStorage extends Storage {
  readonly gpu: GpuBuffer;
  freed: boolean;
}

/** What kernels need from the backend: the device, and temporaries that free themselves. */
export interface KernelContext {
  readonly device: GpuDevice;
  alloc(dtype: DType, size: number): WebGpuStorage;
  free(storage: Storage): void;
}

const MAX_GROUPS = 65535;

function bufferOf(view: View): GPUBuffer {
  return (view.storage as WebGpuStorage).gpu.buffer;
}

/** Workgroup counts for `n` groups: 2-D past the 65535 limit per dimension. */
function groupsFor(n: number): [number, number, number] {
  if (n <= MAX_GROUPS) return [n, 1, 1];
  const y = Math.ceil(n / MAX_GROUPS);
  return [Math.ceil(n / y), y, 1];
}

interface Operand {
  view: View;
  write?: boolean;
  /** Override the view's strides (broadcast index tensors, dims left out). */
  strides?: readonly number[];
}

/**
 * The buffers to bind. A buffer both written and read in one dispatch is not allowed in WebGPU:
 * the read side then gets a copy (copy/assign from a view of the same storage).
 */
function bindBuffers(ctx: KernelContext, operands: readonly { view: View; write?: boolean }[]) {
  const written = new Set(operands.filter((o) => o.write).map((o) => bufferOf(o.view)));
  const temps: WebGpuStorage[] = [];
  const buffers = operands.map((o) => {
    const b = bufferOf(o.view);
    if (o.write || !written.has(b)) return b;
    const s = o.view.storage as WebGpuStorage;
    const temp = ctx.alloc(s.dtype, s.size);
    ctx.device.copy(b, 0, temp.gpu.buffer, 0, s.size * 4);
    temps.push(temp);
    return temp.gpu.buffer;
  });
  return {
    buffers,
    done: () => {
      for (const t of temps) ctx.free(t);
    },
  };
}

/** The bindings in a few characters, for a shader's key. */
function bindingsKey(list: readonly Binding[]): string {
  return list.map((b) => `${b.type}${b.write ? "w" : "r"}`).join(",");
}

function bindingsOf(operands: readonly Operand[]): Binding[] {
  return operands.map((o) => ({ type: wgslType(o.view.storage.dtype), write: !!o.write }));
}

/** Elementwise over `shape`: body sees p0.. offsets (see mapShader). */
function runMap(
  ctx: KernelContext,
  shape: readonly number[],
  operands: Operand[],
  body: string,
  scalars: Meta = [],
): void {
  const total = product(shape);
  if (total === 0) return;
  const merged = mergeDims(
    shape,
    operands.map((o) => o.strides ?? o.view.strides),
  );
  const nd = merged.shape.length;
  const meta: Meta = [total, nd, ...merged.shape];
  operands.forEach((o, k) => {
    meta.push(o.view.offset, ...merged.strides[k]!);
  });
  meta.push(...scalars);
  const list = bindingsOf(operands);
  const source = { key: `map ${nd} ${bindingsKey(list)} ${body}`, source: () => mapShader(list, nd, body) };
  const { buffers, done } = bindBuffers(ctx, operands);
  ctx.device.dispatch(source, buffers, meta, groupsFor(Math.ceil(total / MAP_WORKGROUP)));
  done();
}

interface LaneOperand {
  view: View;
  write?: boolean;
  outer: readonly number[];
  inner: readonly number[];
}

/** Lanes at least this long get 256 threads (cross-entropy over a vocabulary), shorter ones 64. */
const LONG_LANE = 2048;

/** One workgroup per lane over `outerShape`; inner positions over `innerShape` (see laneShader). */
function runLanes(
  ctx: KernelContext,
  outerShape: readonly number[],
  innerShape: readonly number[],
  operands: LaneOperand[],
  body: string,
  scalars: Meta = [],
  extra: (o: LaneOptions) => string = () => "",
): void {
  const lanes = product(outerShape);
  if (lanes === 0) return;
  const o = mergeDims(
    outerShape,
    operands.map((op) => op.outer),
  );
  const i = mergeDims(
    innerShape,
    operands.map((op) => op.inner),
  );
  const n = product(innerShape);
  const meta: Meta = [lanes, n, ...o.shape, ...i.shape];
  operands.forEach((op, k) => {
    meta.push(op.view.offset, ...o.strides[k]!, ...i.strides[k]!);
  });
  meta.push(...scalars);
  const options: LaneOptions = { wg: n >= LONG_LANE ? 256 : 64, subgroups: ctx.device.subgroups };
  const list = bindingsOf(operands);
  const more = extra(options);
  const source = {
    key: `lane ${o.shape.length} ${i.shape.length} ${options.wg} ${options.subgroups} ${bindingsKey(list)} ${body} ${more}`,
    source: () => laneShader(list, o.shape.length, i.shape.length, body, more, options),
  };
  const { buffers, done } = bindBuffers(ctx, operands);
  ctx.device.dispatch(source, buffers, meta, groupsFor(lanes));
  done();
}

// ---- elementwise -------------------------------------------------------------------------

function load(k: number, from: Scalar, to: Scalar): string {
  return convert(`b${k}[p${k}]`, from, to);
}

/** Store a value of type `from` (or a WGSL bool when `isBool`) into operand k. */
function store(k: number, to: Scalar, expr: string, from: Scalar | "bool"): string {
  if (from === "bool") {
    const one = to === "f32" ? "1.0" : to === "i32" ? "1" : "1u";
    const zero = to === "f32" ? "0.0" : to === "i32" ? "0" : "0u";
    return `b${k}[p${k}] = select(${zero}, ${one}, ${expr});`;
  }
  return `b${k}[p${k}] = ${convert(expr, from, to)};`;
}

/** Host number → the meta word of a `t` scalar. */
function scalarWord(value: number, t: Scalar): number | { f32: number } {
  if (t === "f32") return { f32: value };
  if (t === "i32") return Number.isFinite(value) ? Math.trunc(value) | 0 : 0;
  return value !== 0 ? 1 : 0;
}

function fill(ctx: KernelContext, { out, value }: KernelArgs["fill"]): void {
  const t = wgslType(out.storage.dtype);
  const read = t === "f32" ? "scf(0u)" : t === "i32" ? "sci(0u)" : "sc(0u)";
  runMap(ctx, out.shape, [{ view: out, write: true }], `  b0[p0] = ${read};`, [scalarWord(value, t)]);
}

function copy(ctx: KernelContext, { x, out }: KernelArgs["copy"]): void {
  const tx = wgslType(x.storage.dtype);
  const to = wgslType(out.storage.dtype);
  runMap(ctx, out.shape, [{ view: x }, { view: out, write: true }], `  ${store(1, to, `b0[p0]`, tx)}`);
}

function unary(ctx: KernelContext, { op, x, out }: KernelArgs["unary"]): void {
  const tx = wgslType(x.storage.dtype);
  const to = wgslType(out.storage.dtype);
  const spec = UNARY[op] as UnarySpec | undefined;
  if (!spec) throw new Error(`webgpu backend: unknown unary op ${JSON.stringify(op)}`);
  const intExpr = tx === "i32" ? spec.wgslInt : undefined;
  const ct: Scalar = intExpr ? "i32" : "f32";
  const expr = intExpr ?? spec.wgsl;
  runMap(
    ctx,
    out.shape,
    [{ view: x }, { view: out, write: true }],
    `  let x = ${load(0, tx, ct)};\n  ${store(1, to, expr, ct)}`,
  );
}

function binaryBody(op: BinaryOp, ct: Scalar, to: Scalar, out: number): string {
  const spec = BINARY[op] as BinarySpec | undefined;
  if (!spec) throw new Error(`webgpu backend: unknown binary op ${JSON.stringify(op)}`);
  const expr = (ct === "i32" ? spec.wgslInt : undefined) ?? spec.wgsl;
  const from: Scalar | "bool" = COMPARISON_OPS.has(op) ? "bool" : ct;
  return store(out, to, expr, from);
}

function computeType(dtype: DType, op: BinaryOp): Scalar {
  return dtype === "int32" && binarySpec(op).wgslInt ? "i32" : "f32";
}

function binary(ctx: KernelContext, { op, a, b, out }: KernelArgs["binary"]): void {
  const ta = wgslType(a.storage.dtype);
  const tb = wgslType(b.storage.dtype);
  const ct = computeType(a.storage.dtype, op);
  const body = `  let a = ${load(0, ta, ct)};\n  let b = ${load(1, tb, ct)};\n  ${binaryBody(op, ct, wgslType(out.storage.dtype), 2)}`;
  runMap(ctx, out.shape, [{ view: a }, { view: b }, { view: out, write: true }], body);
}

function binaryScalar(
  ctx: KernelContext,
  { op, x, scalar, scalarFirst, out }: KernelArgs["binaryScalar"],
): void {
  const tx = wgslType(x.storage.dtype);
  // int32 with a fractional scalar computes in float (as the js kernel does in float64).
  const ct = Number.isInteger(scalar) ? computeType(x.storage.dtype, op) : "f32";
  const s = ct === "i32" ? "sci(0u)" : "scf(0u)";
  const [a, b] = scalarFirst ? [s, load(0, tx, ct)] : [load(0, tx, ct), s];
  const body = `  let a = ${a};\n  let b = ${b};\n  ${binaryBody(op, ct, wgslType(out.storage.dtype), 1)}`;
  runMap(ctx, out.shape, [{ view: x }, { view: out, write: true }], body, [scalarWord(scalar, ct)]);
}

function where(ctx: KernelContext, { cond, a, b, out }: KernelArgs["where"]): void {
  const to = wgslType(out.storage.dtype);
  const body = `  if (b0[p0] != 0u) { ${store(3, to, "b1[p1]", wgslType(a.storage.dtype))} } else { ${store(3, to, "b2[p2]", wgslType(b.storage.dtype))} }`;
  runMap(ctx, out.shape, [{ view: cond }, { view: a }, { view: b }, { view: out, write: true }], body);
}

function maskedFill(ctx: KernelContext, { x, mask, value, out }: KernelArgs["maskedFill"]): void {
  const to = wgslType(out.storage.dtype);
  const read = to === "f32" ? "scf(0u)" : to === "i32" ? "sci(0u)" : "sc(0u)";
  const body = `  if (b1[p1] != 0u) { b2[p2] = ${read}; } else { ${store(2, to, "b0[p0]", wgslType(x.storage.dtype))} }`;
  runMap(ctx, out.shape, [{ view: x }, { view: mask }, { view: out, write: true }], body, [
    scalarWord(value, to),
  ]);
}

function geluBackward(ctx: KernelContext, { approximate, x, g, out }: KernelArgs["geluBackward"]): void {
  const d = approximate
    ? `let inner = 0.7978845608028654 * (v + 0.044715 * v * v * v);
  let t = tanh_(inner);
  let d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * v * v);`
    : "let d = 0.5 * (1.0 + erf_(v * 0.7071067811865476)) + v * 0.3989422804014327 * exp(-0.5 * v * v);";
  const body = `  let v = b0[p0];\n  ${d}\n  b2[p2] = d * b1[p1];`;
  runMap(ctx, out.shape, [{ view: x }, { view: g }, { view: out, write: true }], body);
}

function triangle(ctx: KernelContext, { x, diagonal, upper, out }: KernelArgs["triangle"]): void {
  const nd = out.shape.length;
  const rows = out.shape[nd - 2]!;
  const cols = out.shape[nd - 1]!;
  const keep = upper ? "j - i >= sci(2u)" : "j - i <= sci(2u)";
  const t = wgslType(out.storage.dtype);
  const zero = t === "f32" ? "0.0" : t === "i32" ? "0" : "0u";
  const body = `  let j = i32(idx % sc(1u));
  let i = i32((idx / sc(1u)) % sc(0u));
  if (${keep}) { ${store(1, t, "b0[p0]", wgslType(x.storage.dtype))} } else { b1[p1] = ${zero}; }`;
  runMap(ctx, out.shape, [{ view: x }, { view: out, write: true }], body, [rows, cols, diagonal]);
}

function adamw(ctx: KernelContext, a: KernelArgs["adamw"]): void {
  for (const [name, v] of Object.entries({ param: a.param, grad: a.grad, m: a.m, v: a.v })) {
    if (v.storage.dtype !== "float32") throw new Error(`webgpu adamw: ${name} must be float32`);
  }
  const decay = 1 - a.lr * a.weightDecay;
  const stepSize = a.lr / (1 - a.beta1 ** a.step);
  const bc2 = Math.sqrt(1 - a.beta2 ** a.step);
  const body = `  let g = b1[p1];
  let m = scf(1u) * b2[p2] + (1.0 - scf(1u)) * g;
  let v = scf(2u) * b3[p3] + (1.0 - scf(2u)) * g * g;
  b2[p2] = m;
  b3[p3] = v;
  b0[p0] = b0[p0] * scf(0u) - (m / (sqrt(v) / scf(3u) + scf(4u))) * scf(5u);`;
  runMap(
    ctx,
    a.param.shape,
    [
      { view: a.param, write: true },
      { view: a.grad },
      { view: a.m, write: true },
      { view: a.v, write: true },
    ],
    body,
    [{ f32: decay }, { f32: a.beta1 }, { f32: a.beta2 }, { f32: bc2 }, { f32: a.eps }, { f32: stepSize }],
  );
}

/** x ← x + alpha·y in place (gradient accumulation): one pass, where add then copy was two. */
function axpy(ctx: KernelContext, { x, y, alpha }: OptionalKernelArgs["axpy"]): void {
  checkFloat("axpy", x, y);
  // fma rounds once, as the js kernel's float64 sum rounded to float32 does.
  runMap(ctx, x.shape, [{ view: x, write: true }, { view: y }], "  b0[p0] = fma(scf(0u), b1[p1], b0[p0]);", [
    { f32: alpha },
  ]);
}

// ---- indexing ----------------------------------------------------------------------------

function withoutDim(strides: readonly number[], dim: number): number[] {
  const out = strides.slice();
  out[dim] = 0;
  return out;
}

function indexAlong(index: View, rank: number, dim: number): number[] {
  const strides = new Array<number>(rank).fill(0);
  strides[dim] = index.strides[0]!;
  return strides;
}

/** out[p] = x[p without dim + index·stride]; an index out of range reads 0 (no exceptions on a GPU). */
function gatherBody(x: View, out: View, dim: number): { body: string; scalars: Meta } {
  const to = wgslType(out.storage.dtype);
  const zero = to === "f32" ? "0.0" : to === "i32" ? "0" : "0u";
  const body = `  let i = b1[p1];
  if (i < 0 || i >= sci(0u)) { b2[p2] = ${zero}; return; }
  ${store(2, to, "b0[p0 + i * sci(1u)]", wgslType(x.storage.dtype)).replace("b2[p2] =", "b2[p2] =")}`;
  return { body, scalars: [x.shape[dim]!, x.strides[dim]!] };
}

function indexSelect(ctx: KernelContext, { x, dim, index, out }: KernelArgs["indexSelect"]): void {
  const { body, scalars } = gatherBody(x, out, dim);
  runMap(
    ctx,
    out.shape,
    [
      { view: x, strides: withoutDim(x.strides, dim) },
      { view: index, strides: indexAlong(index, out.shape.length, dim) },
      { view: out, write: true },
    ],
    body,
    scalars,
  );
}

function gather(ctx: KernelContext, { x, dim, index, out }: KernelArgs["gather"]): void {
  const { body, scalars } = gatherBody(x, out, dim);
  runMap(
    ctx,
    out.shape,
    [{ view: x, strides: withoutDim(x.strides, dim) }, { view: index }, { view: out, write: true }],
    body,
    scalars,
  );
}

/** Threads a scatter aims at: an embedding's gradient has few positions off the scatter dim. */
const SCATTER_THREADS = 65536;

/**
 * out = 0, then out[.., index[j], ..] += src[.., j, ..]: one thread per position off `dim` and
 * range of out's rows along it, looping over `dim` in order and taking the indices in its range,
 * so sums are deterministic (the same order as the js kernel) and need no atomics. The ranges
 * give an embedding's backward (768 positions, 50,304 rows) tens of thousands of threads, not 768.
 */
function scatterAlong(
  ctx: KernelContext,
  src: View,
  srcStrides: readonly number[],
  index: View,
  indexStrides: readonly number[],
  walk: readonly number[],
  dim: number,
  out: View,
): void {
  fill(ctx, { out, value: 0 });
  const shape = walk.slice();
  const n = shape[dim]!;
  shape[dim] = 1;
  const positions = product(shape);
  const rows = out.shape[dim]!;
  const range = Math.ceil(rows / Math.min(rows, Math.max(1, Math.ceil(SCATTER_THREADS / positions))));
  const chunks = Math.ceil(rows / range);
  // Chunk c (the outermost map dim) takes out rows [c·range, (c + 1)·range).
  const body = `  let lo = i32(idx / sc(5u)) * sci(6u);
  let hi = min(lo + sci(6u), sci(4u));
  for (var j = 0u; j < sc(0u); j++) {
    let i = b1[p1 + i32(j) * sci(2u)];
    if (i < lo || i >= hi) { continue; }
    let o = p2 + i * sci(3u);
    b2[o] = b2[o] + b0[p0 + i32(j) * sci(1u)];
  }`;
  runMap(
    ctx,
    [chunks, ...shape],
    [
      { view: src, strides: [0, ...withoutDim(srcStrides, dim)] },
      { view: index, strides: [0, ...withoutDim(indexStrides, dim)] },
      { view: out, write: true, strides: [0, ...withoutDim(out.strides, dim)] },
    ],
    body,
    [n, srcStrides[dim]!, indexStrides[dim]!, out.strides[dim]!, rows, positions, range],
  );
}

function indexAdd(ctx: KernelContext, { src, dim, index, out }: KernelArgs["indexAdd"]): void {
  checkSameNumeric("indexAdd", src, out);
  scatterAlong(ctx, src, src.strides, index, indexAlong(index, src.shape.length, dim), src.shape, dim, out);
}

function scatterAdd(ctx: KernelContext, { src, dim, index, out }: KernelArgs["scatterAdd"]): void {
  checkSameNumeric("scatterAdd", src, out);
  scatterAlong(ctx, src, src.strides, index, index.strides, index.shape, dim, out);
}

/** Sums in place need src and out of one numeric dtype (float32 or int32). */
function checkSameNumeric(kernel: string, src: View, out: View): void {
  const d = out.storage.dtype;
  if (src.storage.dtype !== d || (d !== "float32" && d !== "int32")) {
    throw new Error(
      `webgpu ${kernel}: src and out must both be float32 or int32 (got ${src.storage.dtype}, ${d})`,
    );
  }
}

function checkFloat(kernel: string, ...views: View[]): void {
  for (const v of views) {
    if (v.storage.dtype !== "float32") {
      throw new Error(`webgpu ${kernel}: float32 only (got ${v.storage.dtype})`);
    }
  }
}

// ---- reductions --------------------------------------------------------------------------

function splitAxes(shape: readonly number[], strides: readonly number[], axes: readonly number[]) {
  const outer: number[] = [];
  const outerStrides: number[] = [];
  const inner: number[] = [];
  const innerStrides: number[] = [];
  shape.forEach((s, d) => {
    if (axes.includes(d)) {
      inner.push(s);
      innerStrides.push(strides[d]!);
    } else {
      outer.push(s);
      outerStrides.push(strides[d]!);
    }
  });
  return { outer, outerStrides, inner, innerStrides };
}

const REDUCE_INIT = { sum: "0.0", mean: "0.0", prod: "1.0", max: "neg_inf()", min: "pos_inf()" } as const;
const REDUCE_COMBINE = {
  sum: "a + b",
  mean: "a + b",
  prod: "a * b",
  max: "select(max_(a, b), a, isnan_(a))",
  min: "select(min_(a, b), a, isnan_(a))",
} as const;

function reduce(ctx: KernelContext, { op, x, axes, out }: KernelArgs["reduce"]): void {
  const tx = wgslType(x.storage.dtype);
  const to = wgslType(out.storage.dtype);
  const xs = splitAxes(x.shape, x.strides, axes);
  const os = splitAxes(out.shape, out.strides, axes);
  const extra = (o: LaneOptions) =>
    `fn comb(a: f32, b: f32) -> f32 { return ${REDUCE_COMBINE[op]}; }\n${workgroupReduce("wcomb", "comb(a, b)", o)}`;
  const body = `  let px = outer(0u, lane);
  var acc = ${REDUCE_INIT[op]};
  for (var j = lid; j < n; j += WG) { acc = comb(acc, ${convert("b0[px + inner(0u, j)]", tx, "f32")}); }
  acc = wcomb(acc, lid);
  ${op === "mean" ? "acc = acc / f32(n);" : ""}
  if (lid == 0u) { let p1 = outer(1u, lane); ${store(1, to, "acc", "f32")} }`;
  runLanes(
    ctx,
    xs.outer,
    xs.inner,
    [
      { view: x, outer: xs.outerStrides, inner: xs.innerStrides },
      { view: out, write: true, outer: os.outerStrides, inner: os.innerStrides.map(() => 0) },
    ],
    body,
    [],
    extra,
  );
}

/** Pair reduction: (value, index), `better` decides; ties and NaNs as the js kernels. */
function pairReduceFns(largest: boolean): (o: LaneOptions) => string {
  return (o) => `fn better(v1: f32, i1: u32, v2: f32, i2: u32) -> bool {
  let n1 = isnan_(v1); let n2 = isnan_(v2);
  if (n1 && n2) { return i1 < i2; }
  if (n1) { return true; }
  if (n2) { return false; }
  if (v1 == v2) { return i1 < i2; }
  return v1 ${largest ? ">" : "<"} v2;
}
${workgroupBest(o)}`;
}

function laneSplit(view: View, dim: number) {
  return splitAxes(view.shape, view.strides, [dim]);
}

function argReduce(ctx: KernelContext, { op, x, dim, values, indices }: KernelArgs["argReduce"]): void {
  const tx = wgslType(x.storage.dtype);
  const xs = laneSplit(x, dim);
  const operands: LaneOperand[] = [
    { view: x, outer: xs.outerStrides, inner: xs.innerStrides },
    { view: indices, write: true, outer: laneSplit(indices, dim).outerStrides, inner: [0] },
  ];
  if (values)
    operands.push({ view: values, write: true, outer: laneSplit(values, dim).outerStrides, inner: [0] });
  const v = (j: string) => convert(`b0[px + inner(0u, ${j})]`, tx, "f32");
  const body = `  let px = outer(0u, lane);
  var bv = neg_inf(); var bi = 0xffffffffu;
  for (var j = lid; j < n; j += WG) {
    let v = ${v("j")};
    if (bi == 0xffffffffu || better(v, j, bv, bi)) { bv = v; bi = j; }
  }
  if (bi == 0xffffffffu) { bv = select(pos_inf(), neg_inf(), ${op === "max"}); }
  let best = wbest(bv, bi, lid);
  if (lid == 0u) {
    b1[outer(1u, lane)] = i32(best);
    ${values ? `b2[outer(2u, lane)] = ${convert(v("best"), "f32", wgslType(values.storage.dtype))};` : ""}
  }`;
  runLanes(ctx, xs.outer, xs.inner, operands, body, [], pairReduceFns(op === "max"));
}

function topk(ctx: KernelContext, { x, k, dim, largest, values, indices }: KernelArgs["topk"]): void {
  const tx = wgslType(x.storage.dtype);
  const xs = laneSplit(x, dim);
  const v = (j: string) => convert(`b0[px + inner(0u, ${j})]`, tx, "f32");
  // Round r picks the best element ordered after the previous pick (value, then index).
  const body = `  let px = outer(0u, lane);
  let pv = outer(1u, lane);
  let pi = outer(2u, lane);
  var prevV = 0.0; var prevI = 0xffffffffu;
  for (var r = 0u; r < sc(0u); r++) {
    var bv = 0.0; var bi = 0xffffffffu;
    for (var j = lid; j < n; j += WG) {
      let v = ${v("j")};
      let after = prevI == 0xffffffffu || better(prevV, prevI, v, j);
      if (after && (bi == 0xffffffffu || better(v, j, bv, bi))) { bv = v; bi = j; }
    }
    if (bi == 0xffffffffu) { bv = select(pos_inf(), neg_inf(), ${largest}); }
    let best = wbest(bv, bi, lid);
    prevI = best;
    prevV = ${v("best")};
    if (lid == 0u) {
      b1[pv + i32(r) * sci(1u)] = ${convert("prevV", "f32", wgslType(values.storage.dtype))};
      b2[pi + i32(r) * sci(2u)] = i32(best);
    }
  }`;
  runLanes(
    ctx,
    xs.outer,
    xs.inner,
    [
      { view: x, outer: xs.outerStrides, inner: xs.innerStrides },
      { view: values, write: true, outer: laneSplit(values, dim).outerStrides, inner: [0] },
      { view: indices, write: true, outer: laneSplit(indices, dim).outerStrides, inner: [0] },
    ],
    body,
    [k, values.strides[dim]!, indices.strides[dim]!],
    pairReduceFns(largest),
  );
}

// ---- matmul ------------------------------------------------------------------------------

/**
 * The product as the kernel sees it: batch dims merged, and transposed (outᵀ = bᵀ·aᵀ, `swapped`)
 * when out has only a few columns, so the matrix-vector kernel takes it; then the kernel's plan.
 */
export function matmulPlanOf(a: View, b: View, out: View, workgroupBytes: number) {
  const nd = out.shape.length;
  const batch = mergeDims(
    out.shape.slice(0, nd - 2),
    [a, b, out].map((v) => v.strides.slice(0, nd - 2)),
  );
  let shape = matmulShape(a, b, out, batch);
  const swapped = shape.N <= GEMV_ROWS && shape.M > GEMV_ROWS;
  if (swapped) shape = transposedShape(shape);
  return { shape, swapped, batchDims: batch.shape.length, plan: planMatmul(shape, workgroupBytes) };
}

function matmulKernel(batchDims: number, plan: MatmulPlan, epilogue: Epilogue | null): Shader {
  return {
    key: `matmul ${batchDims} ${JSON.stringify(plan)} ${JSON.stringify(epilogue)}`,
    source: () => matmulShader(batchDims, plan, epilogue),
  };
}

/**
 * Record a planned product: x, y as the kernel's a and b (already swapped when transposed), the
 * epilogue's views (bias, kept sum) and meta words after. A split product is two dispatches:
 * partial sums into a temporary, then their sum (with the epilogue) into out.
 */
function dispatchMatmul(
  ctx: KernelContext,
  planned: ReturnType<typeof matmulPlanOf>,
  x: View,
  y: View,
  out: View,
  epilogue: Epilogue | null = null,
  extra: { view: View; write?: boolean }[] = [],
  extraMeta: number[] = [],
): void {
  const { shape, batchDims, plan } = planned;
  const groups = matmulGroups(shape, plan);
  if (groups[2] > MAX_GROUPS)
    throw new Error(`webgpu matmul: ${groups[2]} batch matrices (at most ${MAX_GROUPS})`);
  if (plan.kind === "tiled" && plan.splitK > 1) {
    const partial = ctx.alloc("float32", plan.splitK * shape.M * shape.N);
    const partialView: View = { storage: partial, shape: [partial.size], strides: [1], offset: 0 };
    const first = bindBuffers(ctx, [{ view: x }, { view: y }, { view: partialView, write: true }]);
    ctx.device.dispatch(matmulKernel(batchDims, plan, null), first.buffers, matmulMeta(shape), groups);
    first.done();
    const second = bindBuffers(ctx, [{ view: partialView }, { view: out, write: true }, ...extra]);
    ctx.device.dispatch(
      { key: `split-sum ${JSON.stringify(epilogue)}`, source: () => splitSumShader(epilogue) },
      second.buffers,
      [...splitSumMeta(shape, plan), ...extraMeta],
      groupsFor(Math.ceil((shape.M * shape.N) / 256)),
    );
    second.done();
    ctx.free(partial);
    return;
  }
  const { buffers, done } = bindBuffers(ctx, [
    { view: x },
    { view: y },
    { view: out, write: true },
    ...extra,
  ]);
  ctx.device.dispatch(
    matmulKernel(batchDims, plan, epilogue),
    buffers,
    [...matmulMeta(shape), ...extraMeta],
    groups,
  );
  done();
}

function matmul(ctx: KernelContext, { a, b, out }: KernelArgs["matmul"]): void {
  checkFloat("matmul", a, b, out);
  const nd = out.shape.length;
  if (out.shape[nd - 2] === 0 || out.shape[nd - 1] === 0) return;
  if (a.shape[nd - 1] === 0) {
    fill(ctx, { out, value: 0 });
    return;
  }
  const planned = matmulPlanOf(a, b, out, ctx.device.workgroupBytes);
  if (planned.swapped) dispatchMatmul(ctx, planned, b, a, out);
  else dispatchMatmul(ctx, planned, a, b, out);
}

/** nn.Linear in one dispatch: x·weightᵀ with the bias, the kept sum and GELU applied as it is written. */
function linear(ctx: KernelContext, a: OptionalKernelArgs["linear"]): void {
  const { x, weight, bias, gelu, out, preActivation: pre } = a;
  checkFloat("linear", x, weight, out, ...(bias ? [bias] : []), ...(pre ? [pre] : []));
  const wT: View = { ...weight, shape: swapLast(weight.shape), strides: swapLast(weight.strides) };
  if (pre && (pre.offset !== out.offset || pre.strides.some((s, i) => s !== out.strides[i])))
    throw new Error("webgpu linear: preActivation must have out's layout");
  const planned = matmulPlanOf(x, wT, out, ctx.device.workgroupBytes);
  const epilogue: Epilogue = { bias: bias ? (planned.swapped ? "m" : "n") : null, pre: pre !== null, gelu };
  const extra: { view: View; write?: boolean }[] = [];
  if (bias) extra.push({ view: bias });
  if (pre) extra.push({ view: pre, write: true });
  const meta = bias ? [bias.offset, bias.strides[0]!] : [];
  const [first, second] = planned.swapped ? [wT, x] : [x, wT];
  dispatchMatmul(ctx, planned, first, second, out, epilogue, extra, meta);
}

// ---- softmax, cross-entropy, layer norm --------------------------------------------------

function softmax(ctx: KernelContext, { x, dim, log, out }: KernelArgs["softmax"]): void {
  checkFloat("softmax", x, out);
  const xs = laneSplit(x, dim);
  const os = laneSplit(out, dim);
  const body = `  let px = outer(0u, lane);
  let po = outer(1u, lane);
  var m = neg_inf();
  for (var j = lid; j < n; j += WG) { m = max_(m, b0[px + inner(0u, j)]); }
  m = wmax(m, lid);
  if (m == neg_inf()) { m = 0.0; }
  var s = 0.0;
  for (var j = lid; j < n; j += WG) { s += exp(b0[px + inner(0u, j)] - m); }
  s = wsum(s, lid);
  ${
    log
      ? `let lse = log(s) + m;
  for (var j = lid; j < n; j += WG) { b1[po + inner(1u, j)] = b0[px + inner(0u, j)] - lse; }`
      : `for (var j = lid; j < n; j += WG) { b1[po + inner(1u, j)] = exp(b0[px + inner(0u, j)] - m) / s; }`
  }`;
  runLanes(
    ctx,
    xs.outer,
    xs.inner,
    [
      { view: x, outer: xs.outerStrides, inner: xs.innerStrides },
      { view: out, write: true, outer: os.outerStrides, inner: os.innerStrides },
    ],
    body,
  );
}

function softmaxBackward(ctx: KernelContext, { y, g, dim, log, out }: KernelArgs["softmaxBackward"]): void {
  checkFloat("softmaxBackward", y, g, out);
  const ys = laneSplit(y, dim);
  const gs = laneSplit(g, dim);
  const os = laneSplit(out, dim);
  const body = `  let py = outer(0u, lane);
  let pg = outer(1u, lane);
  let po = outer(2u, lane);
  var dot = 0.0;
  for (var j = lid; j < n; j += WG) { dot += b1[pg + inner(1u, j)]${log ? "" : " * b0[py + inner(0u, j)]"}; }
  dot = wsum(dot, lid);
  for (var j = lid; j < n; j += WG) {
    let yj = b0[py + inner(0u, j)];
    let gj = b1[pg + inner(1u, j)];
    b2[po + inner(2u, j)] = ${log ? "gj - exp(yj) * dot" : "yj * (gj - dot)"};
  }`;
  runLanes(
    ctx,
    ys.outer,
    ys.inner,
    [
      { view: y, outer: ys.outerStrides, inner: ys.innerStrides },
      { view: g, outer: gs.outerStrides, inner: gs.innerStrides },
      { view: out, write: true, outer: os.outerStrides, inner: os.innerStrides },
    ],
    body,
  );
}

/** WGSL computing `lse` (log-sum-exp of row px of logits b0) across the workgroup. */
const ROW_LSE = `  var m = neg_inf();
  for (var j = lid; j < n; j += WG) { m = max_(m, b0[px + inner(0u, j)]); }
  m = wmax(m, lid);
  if (m == neg_inf()) { m = 0.0; }
  var s = 0.0;
  for (var j = lid; j < n; j += WG) { s += exp(b0[px + inner(0u, j)] - m); }
  s = wsum(s, lid);`;

function crossEntropy(ctx: KernelContext, a: KernelArgs["crossEntropy"]): void {
  const { logits, target, ignoreIndex, reduction, out } = a;
  checkFloat("crossEntropy", logits, out);
  const [N, C] = logits.shape as [number, number];
  const [sn, sc] = logits.strides as [number, number];
  // Per row: loss and whether it counts (a temporary [N, 2] unless reduction is none).
  const rows = reduction === "none" ? null : ctx.alloc("float32", N * 2);
  const rowView: View = rows
    ? { storage: rows, shape: [N], strides: [2], offset: 0 }
    : { storage: out.storage, shape: [N], strides: [out.strides[0] ?? 1], offset: out.offset };
  const body = `  let px = outer(0u, lane);
  let t = b1[outer(1u, lane)];
${ROW_LSE}
  if (lid == 0u) {
    let ignored = t == sci(0u);
    var loss = 0.0;
    if (!ignored) {
      if (t < 0 || t >= i32(n)) { loss = nan_(); }
      else { loss = log(s) + m - b0[px + t * sci(1u)]; }
    }
    let po = outer(2u, lane);
    b2[po] = loss;
    ${rows ? "b2[po + 1] = select(1.0, 0.0, ignored);" : ""}
  }`;
  runLanes(
    ctx,
    [N],
    [C],
    [
      { view: logits, outer: [sn], inner: [sc] },
      { view: target, outer: [target.strides[0]!], inner: [0] },
      { view: rowView, write: true, outer: rowView.strides, inner: [0] },
    ],
    body,
    [ignoreIndex, sc],
  );
  if (!rows) return;
  // Sum the rows' losses and counts in one workgroup.
  const sumBody = `  var total = 0.0; var count = 0.0;
  for (var j = lid; j < n; j += WG) { total += b0[2u * j]; count += b0[2u * j + 1u]; }
  total = wsum(total, lid);
  count = wsum(count, lid);
  if (lid == 0u) { b1[outer(1u, 0u)] = ${reduction === "mean" ? "total / count" : "total"}; }`;
  runLanes(
    ctx,
    [1],
    [N],
    [
      { view: { storage: rows, shape: [N * 2], strides: [1], offset: 0 }, outer: [0], inner: [1] },
      { view: out, write: true, outer: [0], inner: [0] },
    ],
    sumBody,
  );
  ctx.free(rows);
}

function crossEntropyBackward(ctx: KernelContext, a: KernelArgs["crossEntropyBackward"]): void {
  const { logits, target, g, ignoreIndex, reduction, out } = a;
  checkFloat("crossEntropyBackward", logits, g, out);
  const [N, C] = logits.shape as [number, number];
  const [sn, sc] = logits.strides as [number, number];
  const count = reduction === "mean" ? ctx.alloc("float32", 1) : null;
  if (count) {
    const countBody = `  var c = 0.0;
  for (var j = lid; j < n; j += WG) { c += select(1.0, 0.0, b0[outer(0u, 0u) + inner(0u, j)] == sci(0u)); }
  c = wsum(c, lid);
  if (lid == 0u) { b1[0] = c; }`;
    runLanes(
      ctx,
      [1],
      [N],
      [
        { view: target, outer: [0], inner: [target.strides[0]!] },
        {
          view: { storage: count, shape: [1], strides: [1], offset: 0 },
          write: true,
          outer: [0],
          inner: [0],
        },
      ],
      countBody,
      [ignoreIndex],
    );
  }
  const scale =
    reduction === "none"
      ? "b2[outer(2u, lane)]"
      : reduction === "mean"
        ? "b2[outer(2u, lane)] / b4[0]"
        : "b2[outer(2u, lane)]";
  const body = `  let px = outer(0u, lane);
  let t = b1[outer(1u, lane)];
  let po = outer(3u, lane);
${ROW_LSE}
  if (t == sci(0u)) {
    for (var j = lid; j < n; j += WG) { b3[po + inner(3u, j)] = 0.0; }
  } else {
    let scale = ${scale};
    for (var j = lid; j < n; j += WG) {
      let prob = exp(b0[px + inner(0u, j)] - m) / s;
      b3[po + inner(3u, j)] = scale * (prob - select(0.0, 1.0, i32(j) == t));
    }
  }`;
  const operands: LaneOperand[] = [
    { view: logits, outer: [sn], inner: [sc] },
    { view: target, outer: [target.strides[0]!], inner: [0] },
    { view: g, outer: [reduction === "none" ? g.strides[0]! : 0], inner: [0] },
    { view: out, write: true, outer: [C], inner: [1] },
  ];
  if (count)
    operands.push({ view: { storage: count, shape: [1], strides: [1], offset: 0 }, outer: [0], inner: [0] });
  runLanes(ctx, [N], [C], operands, body, [ignoreIndex]);
  if (count) ctx.free(count);
}

function layerNorm(
  ctx: KernelContext,
  { x, weight, bias, eps, out, mean, rstd }: KernelArgs["layerNorm"],
): void {
  checkFloat("layerNorm", x, out);
  const [R, D] = x.shape as [number, number];
  const operands: LaneOperand[] = [
    { view: x, outer: [x.strides[0]!], inner: [x.strides[1]!] },
    { view: out, write: true, outer: [D], inner: [1] },
    { view: mean, write: true, outer: [mean.strides[0] ?? 1], inner: [0] },
    { view: rstd, write: true, outer: [rstd.strides[0] ?? 1], inner: [0] },
  ];
  let affine = "";
  if (weight) {
    operands.push({ view: weight, outer: [0], inner: [weight.strides[0]!] });
    affine += ` * b${operands.length - 1}[outer(${operands.length - 1}u, lane) + inner(${operands.length - 1}u, j)]`;
  }
  if (bias) {
    operands.push({ view: bias, outer: [0], inner: [bias.strides[0]!] });
    affine += ` + b${operands.length - 1}[outer(${operands.length - 1}u, lane) + inner(${operands.length - 1}u, j)]`;
  }
  const body = `  let px = outer(0u, lane);
  let po = outer(1u, lane);
  var m = 0.0;
  for (var j = lid; j < n; j += WG) { m += b0[px + inner(0u, j)]; }
  m = wsum(m, lid) / f32(n);
  var v = 0.0;
  for (var j = lid; j < n; j += WG) { let c = b0[px + inner(0u, j)] - m; v += c * c; }
  v = wsum(v, lid) / f32(n);
  let rs = 1.0 / sqrt(v + scf(0u));
  if (lid == 0u) { b2[outer(2u, lane)] = m; b3[outer(3u, lane)] = rs; }
  for (var j = lid; j < n; j += WG) { b1[po + inner(1u, j)] = (b0[px + inner(0u, j)] - m) * rs${affine}; }`;
  runLanes(ctx, [R], [D], operands, body, [{ f32: eps }]);
}

function layerNormBackward(ctx: KernelContext, a: KernelArgs["layerNormBackward"]): void {
  const { x, weight, mean, rstd, g, dx, dweight, dbias } = a;
  checkFloat("layerNormBackward", x, g, dx);
  const [R, D] = x.shape as [number, number];
  const ms = mean.strides[0] ?? 1;
  const rss = rstd.strides[0] ?? 1;
  const operands: LaneOperand[] = [
    { view: x, outer: [x.strides[0]!], inner: [x.strides[1]!] },
    { view: g, outer: [g.strides[0]!], inner: [g.strides[1]!] },
    { view: mean, outer: [ms], inner: [0] },
    { view: rstd, outer: [rss], inner: [0] },
    { view: dx, write: true, outer: [D], inner: [1] },
  ];
  if (weight) operands.push({ view: weight, outer: [0], inner: [weight.strides[0]!] });
  const gh = weight ? "b1[pg + inner(1u, j)] * b5[pw + inner(5u, j)]" : "b1[pg + inner(1u, j)]";
  const body = `  let px = outer(0u, lane);
  let pg = outer(1u, lane);
  let pd = outer(4u, lane);
  ${weight ? "let pw = outer(5u, lane);" : ""}
  let m = b2[outer(2u, lane)];
  let rs = b3[outer(3u, lane)];
  var sg = 0.0; var sgx = 0.0;
  for (var j = lid; j < n; j += WG) {
    let xh = (b0[px + inner(0u, j)] - m) * rs;
    let gh = ${gh};
    sg += gh; sgx += gh * xh;
  }
  let meanG = wsum(sg, lid) / f32(n);
  let meanGX = wsum(sgx, lid) / f32(n);
  for (var j = lid; j < n; j += WG) {
    let xh = (b0[px + inner(0u, j)] - m) * rs;
    let gh = ${gh};
    b4[pd + inner(4u, j)] = rs * (gh - meanG - xh * meanGX);
  }`;
  runLanes(ctx, [R], [D], operands, body);
  if (!dweight && !dbias) return;
  // Column sums over rows: one lane per column.
  const cols: LaneOperand[] = [
    { view: x, outer: [x.strides[1]!], inner: [x.strides[0]!] },
    { view: g, outer: [g.strides[1]!], inner: [g.strides[0]!] },
    { view: mean, outer: [0], inner: [ms] },
    { view: rstd, outer: [0], inner: [rss] },
  ];
  const writes: string[] = [];
  if (dweight) {
    cols.push({ view: dweight, write: true, outer: [dweight.strides[0]!], inner: [0] });
    writes.push(`b${cols.length - 1}[outer(${cols.length - 1}u, lane)] = dw;`);
  }
  if (dbias) {
    cols.push({ view: dbias, write: true, outer: [dbias.strides[0]!], inner: [0] });
    writes.push(`b${cols.length - 1}[outer(${cols.length - 1}u, lane)] = db;`);
  }
  const colBody = `  let px = outer(0u, lane);
  let pg = outer(1u, lane);
  var dw = 0.0; var db = 0.0;
  for (var j = lid; j < n; j += WG) {
    let gv = b1[pg + inner(1u, j)];
    let xh = (b0[px + inner(0u, j)] - b2[outer(2u, lane) + inner(2u, j)]) * b3[outer(3u, lane) + inner(3u, j)];
    dw += gv * xh; db += gv;
  }
  dw = wsum(dw, lid);
  db = wsum(db, lid);
  if (lid == 0u) { ${writes.join(" ")} }`;
  runLanes(ctx, [D], [R], cols, colBody);
}

// ---- attention (fused from the kernels above, with temporaries freed after the batch) -----

function attention(ctx: KernelContext, a: OptionalKernelArgs["attention"]): void {
  const { q, k, v, scale, causal, out, weights } = a;
  const nd = q.shape.length;
  const T = q.shape[nd - 2]!;
  const Tk = k.shape[nd - 2]!;
  const kT: View = { ...k, shape: swapLast(k.shape), strides: swapLast(k.strides) };
  matmul(ctx, { a: q, b: kT, out: weights });
  // Scale, mask and softmax in place over the weights' last dim.
  const ws = laneSplit(weights, nd - 1);
  const body = `  let pw = outer(0u, lane);
  let row = i32(lane % sc(0u));
  let limit = select(i32(n), row + sci(1u) + 1, ${causal});
  var m = neg_inf();
  for (var j = lid; j < n; j += WG) { if (i32(j) < limit) { m = max_(m, b0[pw + inner(0u, j)] * scf(2u)); } }
  m = wmax(m, lid);
  if (m == neg_inf()) { m = 0.0; }
  var s = 0.0;
  for (var j = lid; j < n; j += WG) { if (i32(j) < limit) { s += exp(b0[pw + inner(0u, j)] * scf(2u) - m); } }
  s = wsum(s, lid);
  for (var j = lid; j < n; j += WG) {
    let e = select(0.0, exp(b0[pw + inner(0u, j)] * scf(2u) - m) / s, i32(j) < limit);
    b0[pw + inner(0u, j)] = e;
  }`;
  runLanes(
    ctx,
    ws.outer,
    ws.inner,
    [{ view: weights, write: true, outer: ws.outerStrides, inner: ws.innerStrides }],
    body,
    [T, Tk - T, { f32: scale }],
  );
  matmul(ctx, { a: weights, b: v, out });
}

function swapLast(values: readonly number[]): number[] {
  const out = values.slice();
  const n = out.length;
  [out[n - 2], out[n - 1]] = [out[n - 1]!, out[n - 2]!];
  return out;
}

function contiguousTemp(ctx: KernelContext, shape: readonly number[]): View {
  const storage = ctx.alloc("float32", product(shape));
  return { storage, shape, strides: contiguousStrides(shape), offset: 0 };
}

function transposed(view: View): View {
  return { ...view, shape: swapLast(view.shape), strides: swapLast(view.strides) };
}

function attentionBackward(ctx: KernelContext, a: OptionalKernelArgs["attentionBackward"]): void {
  const { q, k, v, weights, g, scale, dq, dk, dv } = a;
  const nd = q.shape.length;
  matmul(ctx, { a: transposed(weights), b: g, out: dv });
  const dP = contiguousTemp(ctx, weights.shape);
  matmul(ctx, { a: g, b: transposed(v), out: dP });
  // dS = scale · P ⊙ (dP − rowsum(P ⊙ dP)), in place in dP.
  const ps = laneSplit(weights, nd - 1);
  const ds = laneSplit(dP, nd - 1);
  const body = `  let pp = outer(0u, lane);
  let pd = outer(1u, lane);
  var dot = 0.0;
  for (var j = lid; j < n; j += WG) { dot += b0[pp + inner(0u, j)] * b1[pd + inner(1u, j)]; }
  dot = wsum(dot, lid);
  for (var j = lid; j < n; j += WG) {
    let p = b0[pp + inner(0u, j)];
    b1[pd + inner(1u, j)] = scf(0u) * p * (b1[pd + inner(1u, j)] - dot);
  }`;
  runLanes(
    ctx,
    ps.outer,
    ps.inner,
    [
      { view: weights, outer: ps.outerStrides, inner: ps.innerStrides },
      { view: dP, write: true, outer: ds.outerStrides, inner: ds.innerStrides },
    ],
    body,
    [{ f32: scale }],
  );
  matmul(ctx, { a: dP, b: k, out: dq });
  matmul(ctx, { a: transposed(dP), b: q, out: dk });
  ctx.free(dP.storage);
}

type KernelTable = { [K in KernelName]: (ctx: KernelContext, args: KernelArgs[K]) => void };
/** The fused kernels this backend has (the front end composes the others from required ones). */
type OptionalKernelTable = {
  [K in OptionalKernelName]?: (ctx: KernelContext, args: OptionalKernelArgs[K]) => void;
};

export const webgpuKernels: KernelTable = {
  fill,
  copy,
  unary,
  binary,
  binaryScalar,
  where,
  maskedFill,
  geluBackward,
  reduce,
  argReduce,
  matmul,
  softmax,
  softmaxBackward,
  crossEntropy,
  crossEntropyBackward,
  layerNorm,
  layerNormBackward,
  indexSelect,
  indexAdd,
  gather,
  scatterAdd,
  topk,
  triangle,
  adamw,
};

export const webgpuOptionalKernels: OptionalKernelTable = { attention, attentionBackward, axpy, linear };
