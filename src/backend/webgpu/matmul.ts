/** Matrix products and the fused linear (as ../js/matmul.ts); the shaders are in matmul-wgsl.ts. */
import { mergeDims } from "../layout.js";
import type { KernelArgs, OptionalKernelArgs, View } from "../types.js";
import { swapLast } from "./attention.js";
import type { Shader } from "./device.js";
import { bindBuffers, groupsFor, type KernelContext, MAX_GROUPS } from "./dispatch.js";
import { fill } from "./elementwise.js";
import { checkFloat } from "./indexing.js";
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
} from "./matmul-wgsl.js";

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

export function matmulKernel(batchDims: number, plan: MatmulPlan, epilogue: Epilogue | null): Shader {
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
export function dispatchMatmul(
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

export function matmul(ctx: KernelContext, { a, b, out }: KernelArgs["matmul"]): void {
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
export function linear(ctx: KernelContext, a: OptionalKernelArgs["linear"]): void {
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
