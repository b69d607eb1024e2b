/** Softmax, cross-entropy and layer norm (as ../js/nn.ts). */
import type { KernelArgs, View } from "../types.js";
import { type KernelContext, type LaneOperand, runLanes } from "./dispatch.js";
import { checkFloat } from "./indexing.js";
import { laneSplit } from "./reduce.js";

// ---- softmax, cross-entropy, layer norm --------------------------------------------------

export function softmax(ctx: KernelContext, { x, dim, log, out }: KernelArgs["softmax"]): void {
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

export function softmaxBackward(
  ctx: KernelContext,
  { y, g, dim, log, out }: KernelArgs["softmaxBackward"],
): void {
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
export const ROW_LSE = `  var m = neg_inf();
  for (var j = lid; j < n; j += WG) { m = max_(m, b0[px + inner(0u, j)]); }
  m = wmax(m, lid);
  if (m == neg_inf()) { m = 0.0; }
  var s = 0.0;
  for (var j = lid; j < n; j += WG) { s += exp(b0[px + inner(0u, j)] - m); }
  s = wsum(s, lid);`;

export function crossEntropy(ctx: KernelContext, a: KernelArgs["crossEntropy"]): void {
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

export function crossEntropyBackward(ctx: KernelContext, a: KernelArgs["crossEntropyBackward"]): void {
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

export function layerNorm(
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

export function layerNormBackward(ctx: KernelContext, a: KernelArgs["layerNormBackward"]): void {
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
