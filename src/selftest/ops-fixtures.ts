/**
 * Runs reference cases in the ops.json format (test/fixtures/README.md): builds the inputs,
 * applies the op, back-propagates the stored upstream gradient, and compares output, aux results
 * and every input gradient within the case's tolerance. Takes parsed JSON, so it runs in browsers.
 */
import type { Backend, DType } from "../backend/index.js";
import { isFloatDType } from "../backend/index.js";
import * as ops from "../tensor/index.js";
import { shapeString, type Tensor } from "../tensor/index.js";

export interface FixtureTensor {
  shape: number[];
  dtype: string;
  data: (number | string)[];
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface OpsCase {
  name: string;
  op: string;
  inputs: FixtureTensor[];
  params: Record<string, unknown>;
  output: FixtureTensor;
  aux?: Record<string, FixtureTensor>;
  upstream: FixtureTensor | null;
  grads: (FixtureTensor | null)[];
  tol?: Tolerance;
}

export interface OpsFixtureFile {
  default_tol?: Tolerance;
  cases: OpsCase[];
}

export interface CaseResult {
  name: string;
  op: string;
  passed: boolean;
  /** Largest |actual − expected| over everything compared. */
  maxError: number;
  /** What failed (or threw), empty when passed. */
  problems: string[];
}

export interface FixtureReport {
  results: CaseResult[];
  passed: number;
  failed: number;
}

export interface RunFixtureOptions {
  backend?: Backend | string;
  /** Compute in float64 instead of the fixtures' float32. */
  floatDType?: "float32" | "float64";
  /** Run only cases whose name matches. */
  filter?: (c: OpsCase) => boolean;
}

function parseValue(v: number | string): number {
  if (typeof v === "number") return v;
  if (v === "inf") return Number.POSITIVE_INFINITY;
  if (v === "-inf") return Number.NEGATIVE_INFINITY;
  if (v === "nan") return Number.NaN;
  throw new TypeError(`fixture value "${v}" is not a number`);
}

function toTensor(f: FixtureTensor, floatDType: DType, backend: Backend | string | undefined): Tensor {
  const dtype: DType = f.dtype === "float32" || f.dtype === "float64" ? floatDType : (f.dtype as DType);
  return ops.fromValues(f.data.map(parseValue), f.shape, { dtype, ...(backend ? { backend } : {}) });
}

type OpResult = { output: Tensor; aux?: Record<string, Tensor> };
type Params = Record<string, unknown>;
type OpImpl = (inputs: Tensor[], p: Params) => OpResult;

const num = (v: unknown): number => (v === "-inf" ? -Infinity : v === "inf" ? Infinity : (v as number));
const dims = (v: unknown) => v as number | number[] | null;

function binary(fn: (a: ops.TensorLike, b: ops.TensorLike) => Tensor): OpImpl {
  return ([a, b], p) => {
    if (b) return { output: fn(a!, b) };
    const s = p.scalar as number;
    return { output: p.scalar_side === "left" ? fn(s, a!) : fn(a!, s) };
  };
}

function unary(fn: (x: Tensor) => Tensor): OpImpl {
  return ([x]) => ({ output: fn(x!) });
}

/** Single-input ops, also used by `chain`. */
const VIEW_OPS: Record<string, (x: Tensor, p: Params) => Tensor> = {
  transpose: (x, p) => ops.transpose(x, p.dim0 as number, p.dim1 as number),
  permute: (x, p) => ops.permute(x, p.dims as number[]),
  reshape: (x, p) => ops.reshape(x, p.shape as number[]),
  view: (x, p) => ops.view(x, p.shape as number[]),
  contiguous: (x) => ops.contiguous(x),
  unsqueeze: (x, p) => ops.unsqueeze(x, p.dim as number),
  squeeze: (x, p) => ops.squeeze(x, p.dim as number),
  slice: (x, p) =>
    ops.slice(x, p.dim as number, p.start as number | null, p.end as number | null, (p.step as number) ?? 1),
  expand: (x, p) => ops.expand(x, p.shape as number[]),
  tril: (x, p) => ops.tril(x, (p.diagonal as number) ?? 0),
};

export const fixtureOps: Record<string, OpImpl> = {
  add: binary(ops.add),
  sub: binary(ops.sub),
  mul: binary(ops.mul),
  div: binary(ops.div),
  pow: binary(ops.pow),
  add_self: ([x]) => ({ output: ops.add(x!, x!) }),
  mul_self: ([x]) => ({ output: ops.mul(x!, x!) }),
  neg: unary(ops.neg),
  exp: unary(ops.exp),
  log: unary(ops.log),
  sqrt: unary(ops.sqrt),
  tanh: unary(ops.tanh),
  relu: unary(ops.relu),
  sigmoid: unary(ops.sigmoid),
  erf: unary(ops.erf),
  abs: unary(ops.abs),
  gelu: ([x], p) => ({ output: ops.gelu(x!, p.approximate === "tanh" ? "tanh" : "none") }),
  clamp: ([x], p) => ({ output: ops.clamp(x!, p.min as number | null, p.max as number | null) }),
  matmul: ([a, b]) => ({ output: ops.matmul(a!, b!) }),
  linear: ([x, w, b]) => ({ output: ops.linear(x!, w!, b) }),
  sum: ([x], p) => ({ output: ops.sum(x!, dims(p.dim), p.keepdim as boolean) }),
  mean: ([x], p) => ({ output: ops.mean(x!, dims(p.dim), p.keepdim as boolean) }),
  max: ([x], p) => extremeCase(ops.max, x!, p),
  min: ([x], p) => extremeCase(ops.min, x!, p),
  var: ([x], p) => ({
    output: ops.variance(x!, dims(p.dim), { unbiased: p.unbiased as boolean, keepdim: p.keepdim as boolean }),
  }),
  std: ([x], p) => ({
    output: ops.std(x!, dims(p.dim), { unbiased: p.unbiased as boolean, keepdim: p.keepdim as boolean }),
  }),
  logsumexp: ([x], p) => ({ output: ops.logsumexp(x!, dims(p.dim), p.keepdim as boolean) }),
  argmax: ([x], p) => ({ output: ops.argmax(x!, p.dim as number | null, p.keepdim as boolean) }),
  softmax: ([x], p) => ({ output: ops.softmax(x!, p.dim as number) }),
  log_softmax: ([x], p) => ({ output: ops.logSoftmax(x!, p.dim as number) }),
  cross_entropy: ([logits, target], p) => ({
    output: ops.crossEntropy(logits!, target!, {
      reduction: p.reduction as "mean" | "sum" | "none",
      ignoreIndex: p.ignore_index as number,
    }),
  }),
  embedding: ([w, ids]) => ({ output: ops.embedding(w!, ids!) }),
  one_hot: ([ids], p) => ({ output: ops.oneHot(ids!, p.num_classes as number) }),
  index_select: ([x, index], p) => ({ output: ops.indexSelect(x!, p.dim as number, index!) }),
  gather: ([x, index], p) => ({ output: ops.gather(x!, p.dim as number, index!) }),
  index_tensors: ([x, ...indices]) => ({ output: ops.index(x!, ...indices) }),
  cat: (xs, p) => ({ output: ops.cat(xs, p.dim as number) }),
  stack: (xs, p) => ({ output: ops.stack(xs, p.dim as number) }),
  masked_fill: ([x, mask], p) => ({ output: ops.maskedFill(x!, mask!, num(p.value)) }),
  where: ([cond, a, b]) => ({ output: ops.where(cond!, a!, b!) }),
  topk: ([x], p) => {
    const { values, indices } = ops.topk(x!, p.k as number, {
      dim: p.dim as number,
      largest: p.largest as boolean,
    });
    return { output: values, aux: { indices } };
  },
  causal_attention_weights: ([q, k], p) => ({
    output: ops.causalAttentionWeights(q!, k!, p.scale as number),
  }),
  causal_attention: ([q, k, v], p) => ({ output: ops.causalAttention(q!, k!, v!, p.scale as number) }),
  layer_norm: ([x, w, b], p) => ({
    output: ops.layerNorm(x!, p.normalized_shape as number[], w ?? null, b ?? null, p.eps as number),
  }),
  batch_norm: ([x, w, b], p) => {
    const C = x!.shape.at(-1)!;
    const runningMean = ops.zeros([C], { dtype: x!.dtype, backend: x!.backend });
    const runningVar = ops.ones([C], { dtype: x!.dtype, backend: x!.backend });
    const output = ops.batchNorm(x!, {
      runningMean,
      runningVar,
      weight: w ?? null,
      bias: b ?? null,
      training: p.training as boolean,
      momentum: p.momentum as number,
      eps: p.eps as number,
    });
    return { output, aux: { running_mean: runningMean, running_var: runningVar } };
  },
  batchnorm_manual: ([x, gamma, beta], p) => {
    const d = p.dims as number[];
    const mean = ops.mean(x!, d, true);
    const variance = ops.variance(x!, d, { keepdim: true, unbiased: p.unbiased as boolean });
    const xhat = ops.div(ops.sub(x!, mean), ops.sqrt(ops.add(variance, p.eps as number)));
    return {
      output: ops.add(ops.mul(gamma!, xhat), beta!),
      aux: { batch_mean: mean, batch_var: variance },
    };
  },
  chain: ([x], p) => {
    let y = x!;
    for (const step of p.steps as { op: string; params: Params }[]) {
      const f = VIEW_OPS[step.op];
      if (!f) throw new Error(`chain: unknown step op "${step.op}"`);
      y = f(y, step.params);
    }
    return { output: y };
  },
};
for (const [name, f] of Object.entries(VIEW_OPS)) fixtureOps[name] ??= ([x], p) => ({ output: f(x!, p) });

function extremeCase(fn: typeof ops.max, x: Tensor, p: Params): OpResult {
  if (p.dim === null || p.dim === undefined) return { output: fn(x) };
  const { values, indices } = fn(x, p.dim as number, p.keepdim as boolean);
  return { output: values, aux: { indices } };
}

interface Comparison {
  maxError: number;
  problem: string | null;
}

async function compare(
  what: string,
  actual: Tensor | null,
  expected: FixtureTensor,
  tol: Tolerance,
): Promise<Comparison> {
  if (!actual) return { maxError: Infinity, problem: `${what}: missing` };
  if (shapeString(actual.shape) !== shapeString(expected.shape)) {
    return {
      maxError: Infinity,
      problem: `${what}: shape ${shapeString(actual.shape)}, expected ${shapeString(expected.shape)}`,
    };
  }
  const exact = expected.dtype === "int32" || expected.dtype === "bool";
  if (exact === isFloatDType(actual.dtype)) {
    return { maxError: Infinity, problem: `${what}: dtype ${actual.dtype}, expected ${expected.dtype}` };
  }
  const values = await actual.data();
  let maxError = 0;
  let worst: string | null = null;
  let worstExcess = 0;
  expected.data.forEach((raw, i) => {
    const e = parseValue(raw);
    const a = values[i]!;
    let ok: boolean;
    let error: number;
    if (exact) {
      error = Math.abs(a - e);
      ok = error === 0;
    } else if (!Number.isFinite(e)) {
      error = Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)) ? 0 : Infinity;
      ok = error === 0;
    } else {
      error = Math.abs(a - e);
      ok = error <= tol.atol + tol.rtol * Math.abs(e);
    }
    if (Number.isNaN(error)) error = Infinity;
    maxError = Math.max(maxError, error);
    const excess = error / (tol.atol + tol.rtol * Math.abs(Number.isFinite(e) ? e : 0));
    if (!ok && excess >= worstExcess) {
      worstExcess = excess;
      worst = `${what}: element ${i} is ${a}, expected ${e} (error ${error.toExponential(2)})`;
    }
  });
  return { maxError, problem: worst };
}

/** Run one case. Never throws: an exception becomes a failed result that names it. */
export async function runOpsCase(
  c: OpsCase,
  options: RunFixtureOptions = {},
  defaultTol?: Tolerance,
): Promise<CaseResult> {
  const tol = c.tol ?? defaultTol ?? { atol: 1e-5, rtol: 1e-4 };
  const result: CaseResult = { name: c.name, op: c.op, passed: false, maxError: 0, problems: [] };
  try {
    const impl = fixtureOps[c.op];
    if (!impl) throw new Error(`unknown op "${c.op}"`);
    const floatDType = options.floatDType ?? "float32";
    const inputs = c.inputs.map((f) => toTensor(f, floatDType, options.backend));
    const differentiable = c.upstream !== null;
    if (differentiable) for (const t of inputs) if (isFloatDType(t.dtype)) t.requiresGrad = true;
    const { output, aux } = impl(inputs, c.params);
    const checks: Promise<Comparison>[] = [compare("output", output, c.output, tol)];
    for (const [key, expected] of Object.entries(c.aux ?? {}))
      checks.push(compare(`aux.${key}`, aux?.[key] ?? null, expected, tol));
    if (differentiable && c.upstream) {
      output.backward(toTensor(c.upstream, output.dtype, options.backend));
      c.grads.forEach((expected, i) => {
        if (!expected) return;
        const t = inputs[i]!;
        checks.push(compare(`grad[${i}]`, t.grad ?? ops.zerosLike(t), expected, tol));
      });
    }
    for (const check of await Promise.all(checks)) {
      result.maxError = Math.max(result.maxError, check.maxError);
      if (check.problem) result.problems.push(check.problem);
    }
  } catch (error) {
    result.maxError = Infinity;
    result.problems.push(`threw: ${error instanceof Error ? error.message : String(error)}`);
  }
  result.passed = result.problems.length === 0;
  return result;
}

/** Run every case of a parsed ops.json-format file. */
export async function runOpsFixtures(
  file: OpsFixtureFile,
  options: RunFixtureOptions = {},
): Promise<FixtureReport> {
  const results: CaseResult[] = [];
  for (const c of file.cases) {
    if (options.filter && !options.filter(c)) continue;
    results.push(await runOpsCase(c, options, file.default_tol));
  }
  const passed = results.filter((r) => r.passed).length;
  return { results, passed, failed: results.length - passed };
}
