/** Reductions (as ../js/reduce.ts): WGSL from the reduction table (../spec/ops.ts). */
import { ARG_REDUCE, type ArgReduceOp, type ArgReduceSpec, REDUCE, type ReduceSpec } from "../spec/ops.js";
import type { KernelArgs, View } from "../types.js";
import { type KernelContext, type LaneOperand, runLanes } from "./dispatch.js";
import { store } from "./elementwise.js";
import { convert, type LaneOptions, wgslNumber, wgslType, workgroupBest, workgroupReduce } from "./wgsl.js";

// ---- reductions --------------------------------------------------------------------------

export function splitAxes(shape: readonly number[], strides: readonly number[], axes: readonly number[]) {
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

export function reduce(ctx: KernelContext, { op, x, axes, out }: KernelArgs["reduce"]): void {
  const spec = REDUCE[op] as ReduceSpec | undefined;
  if (!spec) throw new Error(`webgpu backend: unknown reduce op ${JSON.stringify(op)}`);
  const tx = wgslType(x.storage.dtype);
  const to = wgslType(out.storage.dtype);
  const xs = splitAxes(x.shape, x.strides, axes);
  const os = splitAxes(out.shape, out.strides, axes);
  const extra = (o: LaneOptions) =>
    `fn comb(a: f32, b: f32) -> f32 { return ${spec.wgsl}; }\n${workgroupReduce("wcomb", "comb(a, b)", o)}`;
  const final = spec.final ? `{ let a = acc; let count = f32(n); acc = ${spec.final.wgsl}; }` : "";
  const body = `  let px = outer(0u, lane);
  var acc = ${wgslNumber(spec.init)};
  for (var j = lid; j < n; j += WG) { acc = comb(acc, ${convert("b0[px + inner(0u, j)]", tx, "f32")}); }
  acc = wcomb(acc, lid);
  ${final}
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

/** Pair reduction: (value, index), `better` decides: the table's `beats`, ties and NaNs as the js kernels. */
export function pairReduceFns(op: ArgReduceOp): (o: LaneOptions) => string {
  const spec = ARG_REDUCE[op] as ArgReduceSpec | undefined;
  if (!spec) throw new Error(`webgpu backend: unknown argReduce op ${JSON.stringify(op)}`);
  return (o) => `fn beats(b: f32, a: f32) -> bool { return ${spec.wgsl}; }
fn better(v1: f32, i1: u32, v2: f32, i2: u32) -> bool {
  let n1 = isnan_(v1); let n2 = isnan_(v2);
  if (n1 && n2) { return i1 < i2; }
  if (n1) { return true; }
  if (n2) { return false; }
  if (v1 == v2) { return i1 < i2; }
  return beats(v1, v2);
}
${workgroupBest(o)}`;
}

export function laneSplit(view: View, dim: number) {
  return splitAxes(view.shape, view.strides, [dim]);
}

export function argReduce(
  ctx: KernelContext,
  { op, x, dim, values, indices }: KernelArgs["argReduce"],
): void {
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
  runLanes(ctx, xs.outer, xs.inner, operands, body, [], pairReduceFns(op));
}

export function topk(ctx: KernelContext, { x, k, dim, largest, values, indices }: KernelArgs["topk"]): void {
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
    pairReduceFns(largest ? "max" : "min"),
  );
}
